#!/usr/bin/env bash
# Property-based fuzzing of the whole HTTP API from its own OpenAPI documents: schemathesis (pinned
# with hashes in tests/api_fuzz/requirements.txt, in a venv in the cache dir) against a fresh
# `ragd serve` with a fresh data dir. tests/api_fuzz/fuzz.py sets up two workspaces, fuzzes the
# knowledge, app and console APIs as workspace A (its own ids, then B's), and checks that nothing
# of workspace B changed. Expects the ragd binary to be built. Non-zero exit on any failure.
#   RAGD_FUZZ_EXAMPLES  examples per operation and phase (default 10)
#   RAGD_FUZZ_SEED      the run's seed (default 19: the same cases every run)
#   RAGD_FUZZ_DATABASE_URL  a PostgreSQL database (empty) to serve from instead of SQLite
set -euo pipefail
cd "$(dirname "$0")/.."
ragd="${CARGO_TARGET_DIR:-$HOME/.cache/ragd-target}/debug/ragd"
venv="${RAGD_FUZZ_VENV:-$HOME/.cache/ragd-fuzz-venv}"
requirements=tests/api_fuzz/requirements.txt
stamp="$venv/.requirements.sha256"
# CPython 3.11.7 now and then fails inside hypothesis ("AST constructor recursion depth
# mismatch", a parser bug fixed in 3.11.8): the fuzzer then runs on the system's Python if
# python3 is that release.
python=python3
if python3 -c 'import sys; sys.exit(sys.version_info[:3] != (3, 11, 7))' \
  && [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
  python=/usr/bin/python3
fi
want="$(sha256sum "$requirements" | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version.split()[0])')"
if [[ ! -x "$venv/bin/schemathesis" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --require-hashes --only-binary=:all: -r "$requirements"
  echo "$want" >"$stamp"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
server=
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$data"
}
trap cleanup EXIT
DATABASE_URL="${RAGD_FUZZ_DATABASE_URL:-}" "$ragd" --data-dir "$data" serve --listen "127.0.0.1:$port" 2>"$data/serve.log" &
server=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
RAGD_URL="http://127.0.0.1:$port" SCHEMATHESIS="$venv/bin/schemathesis" \
  "$venv/bin/python" tests/api_fuzz/fuzz.py || {
  status=$?
  echo "--- server log (errors)" >&2
  grep -E 'ERROR|WARN|panicked' "$data/serve.log" | tail -n 40 >&2 || true
  exit "$status"
}
