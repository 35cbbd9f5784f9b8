#!/usr/bin/env bash
# Quick start: build ragd, fetch and verify the models, load the demo corpus and query it.
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
echo
echo "try: $ragd search --dataset demo --method full_text \"Eyjafjallajökull ash cloud\""
