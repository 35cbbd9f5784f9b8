#!/usr/bin/env bash
# Runs tests/dify_client/flow.py (a real Dify SDK from PyPI, dify-knowledge-sdk) and
# tests/dify_client/dataset_sdk_flow.py (dify-dataset-sdk) against a live `ragd serve` with a
# fresh data dir, then tests/dify_client/apps_flow.py (Dify's own app client, dify-client, driving
# chat and completion apps whose model is a local OpenAI-compatible stub), then the kill -9 crash
# test (tests/dify_client/kill_restart.py). Expects the ragd binary to be built; the SDKs go into a
# venv in the cache dir.
set -euo pipefail
cd "$(dirname "$0")/.."
ragd="${CARGO_TARGET_DIR:-$HOME/.cache/ragd-target}/debug/ragd"
venv="${RAGD_TEST_VENV:-$HOME/.cache/ragd-test-venv}"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import dify_knowledge_sdk, dify_client, dify_dataset_sdk" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "dify-knowledge-sdk==0.2.0" "dify-client==0.1.10" "dify-dataset-sdk==0.6.3"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The SDK flow against a fresh server; $1 is a DATABASE_URL (empty: SQLite in the data dir).
run_flow() {
  local data server key
  data=$(mktemp -d)
  key=$(DATABASE_URL="$1" "$ragd" --data-dir "$data" api-key create --type dataset 2>/dev/null | tail -n 1)
  DATABASE_URL="$1" "$ragd" --data-dir "$data" serve --listen "127.0.0.1:$port" 2>"$data/serve.log" &
  server=$!
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  RAGD_URL="http://127.0.0.1:$port" RAGD_KEY="$key" RAGD_REPO="$PWD" "$venv/bin/python" tests/dify_client/flow.py || {
    echo "--- server log" >&2; tail -n 50 "$data/serve.log" >&2; kill "$server"; exit 1; }
  RAGD_URL="http://127.0.0.1:$port" RAGD_KEY="$key" "$venv/bin/python" tests/dify_client/dataset_sdk_flow.py || {
    echo "--- server log" >&2; tail -n 50 "$data/serve.log" >&2; kill "$server"; exit 1; }
  kill "$server"; wait "$server" 2>/dev/null || true
  rm -rf "$data"
}

echo "Dify SDK flow on SQLite" >&2
run_flow ""
if [[ -n "${RAGD_TEST_POSTGRES_URL:-}" ]]; then
  database="ragd_sdk_$$"
  psql -q "$RAGD_TEST_POSTGRES_URL" -c "CREATE DATABASE $database"
  echo "Dify SDK flow on PostgreSQL" >&2
  run_flow "${RAGD_TEST_POSTGRES_URL%/*}/$database"
  psql -q "$RAGD_TEST_POSTGRES_URL" -c "DROP DATABASE $database WITH (FORCE)"
fi

# Apps through dify-client: the workspace's model is the stub the flow starts on $llm_port.
apps=$(mktemp -d)
llm_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key=$("$ragd" --data-dir "$apps" api-key create --type dataset 2>/dev/null | tail -n 1)
# The stub is on loopback, which only the operator's allow-list opens (README, "Security").
RAGD_LLM_BASE_URL="http://127.0.0.1:$llm_port/v1" RAGD_LLM_MODEL="stub-model" RAGD_OUTBOUND_ALLOW=127.0.0.1 \
  "$ragd" --data-dir "$apps" serve --listen "127.0.0.1:$port" 2>"$apps/serve.log" &
server=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "Dify app client flow" >&2
RAGD_URL="http://127.0.0.1:$port" RAGD_KEY="$key" RAGD_REPO="$PWD" RAGD_BIN="$ragd" RAGD_DATA="$apps" \
  RAGD_LLM_PORT="$llm_port" "$venv/bin/python" tests/dify_client/apps_flow.py || {
  echo "--- server log" >&2; tail -n 50 "$apps/serve.log" >&2; kill "$server"; exit 1; }
kill "$server"; wait "$server" 2>/dev/null || true
rm -rf "$apps"

# Crash safety: kill -9 while indexing, restart, compare with an uninterrupted run.
crash=$(mktemp -d)
trap 'rm -rf "$crash"' EXIT
key=$("$ragd" --data-dir "$crash" api-key create --type dataset 2>/dev/null | tail -n 1)
RAGD_BIN="$ragd" RAGD_DATA="$crash" RAGD_KEY="$key" RAGD_PORT="$port" RAGD_REPO="$PWD" \
  "$venv/bin/python" tests/dify_client/kill_restart.py || {
  echo "--- server log" >&2; tail -n 50 "$crash/kill-serve.log" >&2; exit 1; }
