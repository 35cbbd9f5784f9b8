#!/usr/bin/env bash
# Quick start: build ragd, fetch and verify the models, load the demo corpus, show a query, then
# run the service (Dify's knowledge API on http://127.0.0.1:5001/v1) with a fresh dataset API key.
# Data goes to ./data (override with RAGD_DATA_DIR), models to the user's cache dir.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ragd-target}"
cargo build --bin ragd
ragd="$CARGO_TARGET_DIR/debug/ragd"
"$ragd" models fetch
"$ragd" ingest datasets/demo --dataset demo
"$ragd" search --dataset demo "how do bees tell each other where flowers are"
key=$("$ragd" api-key create --type dataset 2>/dev/null | tail -n 1)
echo
echo "dataset API key: $key"
echo "try: curl -H \"Authorization: Bearer $key\" http://127.0.0.1:5001/v1/datasets"
exec "$ragd" serve
