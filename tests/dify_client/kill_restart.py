"""Crash test: `kill -9` the server while documents index, restart it, and check that every
document completes with exactly the segments an uninterrupted run produces.

Run by scripts/dify_client_test.sh; it passes RAGD_BIN, RAGD_DATA, RAGD_KEY, RAGD_PORT, RAGD_REPO.
"""
import os
import signal
import subprocess
import sys
import time

import httpx

BIN, DATA, KEY, PORT, REPO = (os.environ[k] for k in ("RAGD_BIN", "RAGD_DATA", "RAGD_KEY", "RAGD_PORT", "RAGD_REPO"))
URL = f"http://127.0.0.1:{PORT}"
HEADERS = {"Authorization": f"Bearer {KEY}"}
DEMO = ["account-help.txt", "tea.txt", "volcanoes.md", "solar-system.md"]


def start():
    log = open(os.path.join(DATA, "kill-serve.log"), "ab")
    server = subprocess.Popen([BIN, "--data-dir", DATA, "serve", "--listen", f"127.0.0.1:{PORT}"], stderr=log)
    for _ in range(200):
        try:
            httpx.get(f"{URL}/health", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    sys.exit("server did not start")


def call(method, path, **kwargs):
    response = httpx.request(method, f"{URL}/v1{path}", headers=HEADERS, timeout=60, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def upload(dataset_id, copies):
    batches = []
    for copy in range(copies):
        for name in DEMO:
            text = open(os.path.join(REPO, "datasets/demo", name), encoding="utf-8").read()
            answer = call("POST", f"/datasets/{dataset_id}/document/create-by-text",
                          json={"name": f"{copy}-{name}", "text": text * 6, "indexing_technique": "high_quality",
                                "process_rule": {"mode": "automatic"}})
            batches.append(answer["batch"])
    return batches


def statuses(dataset_id, batches):
    return [item for batch in batches for item in call("GET", f"/datasets/{dataset_id}/documents/{batch}/indexing-status")["data"]]


def wait_done(dataset_id, batches):
    for _ in range(3000):
        items = statuses(dataset_id, batches)
        if all(i["indexing_status"] in ("completed", "error") for i in items):
            return items
        time.sleep(0.2)
    sys.exit("documents did not finish after restart")


server = start()
crashed = call("POST", "/datasets", json={"name": "crash"})["id"]
batches = upload(crashed, copies=3)
# Kill as soon as the first document is done and others are still waiting or in flight.
for _ in range(3000):
    items = statuses(crashed, batches)
    if any(i["indexing_status"] == "completed" for i in items):
        break
    time.sleep(0.05)
in_flight = [i["indexing_status"] for i in items]
server.send_signal(signal.SIGKILL)
server.wait()
assert any(s != "completed" for s in in_flight), f"killed too late to prove anything: {in_flight}"

server = start()
try:
    items = wait_done(crashed, batches)
    assert all(i["indexing_status"] == "completed" for i in items), items
    # Reference: the same documents indexed without interruption.
    reference = call("POST", "/datasets", json={"name": "reference"})["id"]
    ref_items = wait_done(reference, upload(reference, copies=3))
    got = sorted(i["total_segments"] for i in items)
    want = sorted(i["total_segments"] for i in ref_items)
    assert got == want, f"segment counts after the crash {got} differ from an uninterrupted run {want}"
    assert all(i["completed_segments"] == i["total_segments"] for i in items)
    # Retrieval sees each segment once: no duplicate rows survive in the indexes.
    answer = call("POST", f"/datasets/{crashed}/retrieve",
                  json={"query": "Eyjafjallajökull ash cloud", "retrieval_model": {
                      "search_method": "full_text_search", "reranking_enable": False, "top_k": 100,
                      "score_threshold_enabled": False}})
    ids = [r["segment"]["id"] for r in answer["records"]]
    assert len(ids) == len(set(ids)) and ids, answer
    print(f"kill -9 test: ok (state at kill: {in_flight})")
finally:
    server.send_signal(signal.SIGTERM)
    server.wait()
