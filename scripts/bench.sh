#!/usr/bin/env bash
# The batch-indexing benchmarks behind README "Performance", on a BEIR corpus (default: SciFact
# in ../shared/datasets, which is not part of the repository). Prints every figure; asserts none.
#
#   scripts/bench.sh [CORPUS_DIR]     # CORPUS_DIR holds corpus.jsonl and queries*.jsonl
#
# 1. high_quality ingest: throughput, stages, peak RSS, end-to-end / raw model ratio
# 2. economy ingest (BM25 only), for the economy / high_quality ratio
# 3. the corpus 4 times over under new ids: peak RSS against run 1
# 4. hybrid query latency with 1 and 8 clients, then with 4 clients during `ragd reindex`
set -euo pipefail
cd "$(dirname "$0")/.."
corpus_dir="${1:-../shared/datasets/scifact}"
corpus="$corpus_dir/corpus.jsonl"
queries="$(ls "$corpus_dir"/queries*.jsonl 2>/dev/null | head -1 || true)"
if [ ! -f "$corpus" ]; then
  echo "no corpus at $corpus; pass a folder with corpus.jsonl (BEIR format)" >&2
  exit 1
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ragd-target}"
cargo build --release --quiet --bin ragd
ragd="$CARGO_TARGET_DIR/release/ragd"
"$ragd" models fetch >/dev/null

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "== 1. high_quality ingest"
"$ragd" bench ingest "$corpus"
echo "== 2. economy ingest"
"$ragd" bench ingest --economy "$corpus"
echo "== 3. 4 x the corpus (peak RSS against run 1)"
"$ragd" bench ingest --repeat 4 --no-raw "$corpus"

if [ -z "$queries" ]; then
  echo "no queries*.jsonl in $corpus_dir: query benchmarks skipped"
  exit 0
fi
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
export RAGD_DATA_DIR="$data"
echo "== 4. hybrid queries: idle with 1 and 8 clients, then 4 clients during a reindex"
"$ragd" ingest "$corpus" --dataset bench >/dev/null
"$ragd" bench query --dataset bench --queries "$queries" --clients 1,8
"$ragd" bench query --dataset bench --queries "$queries" --clients 4 --during-reindex
