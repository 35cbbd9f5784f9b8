#!/usr/bin/env bash
# Load test of /retrieve against a live `ragd serve`: CLIENTS concurrent clients (default 64)
# send hybrid /retrieve calls for SECONDS (default 30) to a server over a fresh data dir holding
# one dataset (default datasets/demo). Reports answers by status, p50/p99 of the answered calls,
# and the server's thread count and memory (read from /proc/PID/status while the load runs). Fails when a
# call fails other than by a clean 429 `too_many_requests`.
#
#   scripts/load_test.sh [CORPUS]     env: CLIENTS, SECONDS_LOAD, RAGD_BIN (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
ragd="${RAGD_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/ragd-target}/debug/ragd}"
corpus="${1:-datasets/demo}"
clients="${CLIENTS:-64}"
seconds="${SECONDS_LOAD:-30}"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

"$ragd" --data-dir "$data" ingest --dataset loadtest "$corpus" >&2
key=$("$ragd" --data-dir "$data" api-key create --type dataset 2>/dev/null | tail -n 1)
"$ragd" --data-dir "$data" serve --listen "127.0.0.1:$port" 2>"$data/serve.log" &
server=$!
for _ in $(seq 300); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

RAGD_URL="127.0.0.1:$port" RAGD_KEY="$key" RAGD_PID="$server" CLIENTS="$clients" SECONDS_LOAD="$seconds" python3 - <<'EOF'
import http.client, json, os, threading, time

host, key, pid = os.environ["RAGD_URL"], os.environ["RAGD_KEY"], os.environ["RAGD_PID"]
clients, seconds = int(os.environ["CLIENTS"]), float(os.environ["SECONDS_LOAD"])
headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

def call(conn, method, path, body=None):
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    return response.status, response.read()

conn = http.client.HTTPConnection(host, timeout=120)
status, body = call(conn, "GET", "/v1/datasets?limit=100")
dataset = next(d["id"] for d in json.loads(body)["data"] if d["name"] == "loadtest")
queries = ["how is tea made", "honey bees pollen", "volcano eruption lava", "sourdough starter",
           "planets of the solar system", "reset my password", "green tea history", "magma chamber"]
# A first call loads the query model, so the load measures queries, not the model's start.
status, body = call(conn, "POST", f"/v1/datasets/{dataset}/retrieve", {"query": "warm up"})
assert status == 200, (status, body)

def status_field(name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])

def threads():
    return status_field("Threads")

lock = threading.Lock()
latencies, statuses, failures = [], {}, []
deadline = time.monotonic() + seconds

def client(n):
    conn = http.client.HTTPConnection(host, timeout=120)
    i = n
    while time.monotonic() < deadline:
        body = {"query": queries[i % len(queries)], "retrieval_model": {"search_method": "hybrid_search",
                "reranking_enable": False, "top_k": 5, "score_threshold_enabled": False}}
        i += 1
        started = time.monotonic()
        try:
            status, raw = call(conn, "POST", f"/v1/datasets/{dataset}/retrieve", body)
        except Exception as e:  # a dropped connection is a failure
            with lock:
                failures.append(repr(e))
            conn = http.client.HTTPConnection(host, timeout=120)
            continue
        elapsed = time.monotonic() - started
        with lock:
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                latencies.append(elapsed)
            elif status == 429 and json.loads(raw).get("code") == "too_many_requests":
                pass
            else:
                failures.append(f"{status} {raw[:200]!r}")

before = threads()
workers = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
for w in workers:
    w.start()
peak = before
while any(w.is_alive() for w in workers):
    peak = max(peak, threads() or 0)
    time.sleep(0.2)
latencies.sort()
def pct(q):
    return 1000 * latencies[min(len(latencies) - 1, max(0, int(round(q * len(latencies) + 0.5)) - 1))] if latencies else float("nan")
print(f"clients {clients}, {seconds:.0f} s: answers by status {dict(sorted(statuses.items()))}, "
      f"{len(latencies) / seconds:.1f} answered/s")
print(f"answered latency p50 {pct(0.50):.0f} ms, p99 {pct(0.99):.0f} ms")
print(f"server threads: {before} before the load, at most {peak} during it; "
      f"resident memory {status_field('VmRSS') // 1024} MiB, peak {status_field('VmHWM') // 1024} MiB")
if failures:
    print(f"{len(failures)} failures other than a clean 429, e.g. {failures[:3]}")
    raise SystemExit(1)
EOF
