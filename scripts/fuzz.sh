#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz, libFuzzer) for a bounded time each; not part of CI.
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]     (default: 120 s, every target)
#
# Installs cargo-fuzz if it is missing. Works on a stable toolchain: RUSTC_BOOTSTRAP=1 lets stable
# rustc take the -Z flags cargo-fuzz passes. FUZZ_SANITIZER=address|none (default address; falls
# back to none if the address-sanitized build fails). Corpora start from the repository's format
# fixtures (pipelines/tests/fixtures, fuzz/seeds) and, for PDF, the small files of ../shared/pdfs
# when present; they grow in fuzz/corpus/<target> (not committed). A crash, timeout or
# out-of-memory input lands in fuzz/artifacts/<target>/: fix the parser, then keep the input as a
# regression fixture in pipelines/tests/fixtures/fuzz/<target>/ (pipelines/tests/fuzz_regressions.rs
# runs them in every `cargo test`). Exits non-zero if any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${1:-120}
shift || true
all_targets=(pdf docx xlsx xls csv html markdown text vtt pptx epub eml xml json jsonl detect upload)
targets=("${@:-${all_targets[@]}}")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/ragd-target-fuzz}"
sanitizer=${FUZZ_SANITIZER:-address}
# Per-input limits: an input slower than this is a hang, bigger than this an out-of-memory.
input_timeout=${FUZZ_INPUT_TIMEOUT:-30}
rss_limit_mb=${FUZZ_RSS_LIMIT_MB:-2048}
# Parser threads get a 64 MiB stack in production (parse::PARSER_STACK_BYTES); give the fuzzing
# process's main thread the same, so only overflows that would happen there too are reported.
ulimit -s 65536 2>/dev/null || echo "fuzz.sh: cannot raise the stack limit; overflows may be false alarms" >&2

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

log_dir=$root/fuzz/logs
mkdir -p "$log_dir"
build_all() { (cd fuzz && cargo fuzz build -O -a --sanitizer "$1") >"$log_dir/build.log" 2>&1; }
if ! build_all "$sanitizer"; then
    if [ "$sanitizer" != none ]; then
        echo "fuzz.sh: the $sanitizer-sanitized build failed (see $log_dir/build.log); using --sanitizer none" >&2
        sanitizer=none
        build_all none || { tail -30 "$log_dir/build.log" >&2; exit 1; }
    else
        tail -30 "$log_dir/build.log" >&2
        exit 1
    fi
fi

# Seeds per target: fixture files (globs relative to the repository root).
seeds_for() {
    local f=pipelines/tests/fixtures
    case $1 in
        pdf) echo "$f/*.pdf" ;;
        docx) echo "$f/*.docx" ;;
        xlsx) echo "$f/*.xlsx" ;;
        xls) echo "$f/*.xls $f/*.xlsx" ;;
        csv) echo "$f/*.csv $f/*.tsv" ;;
        text) echo "$f/*.properties $f/*.csv $f/*.tsv $f/sample.vtt" ;;
        vtt) echo "$f/*.vtt" ;;
        pptx) echo "$f/*.pptx" ;;
        epub) echo "$f/*.epub" ;;
        eml) echo "$f/*.eml" ;;
        xml) echo "$f/*.xml" ;;
        json) echo "$f/sample.json" ;;  # not the large tokenizer and vector fixtures
        jsonl) echo "$f/*.jsonl" ;;
        detect | upload) echo "$f/sample.* $f/*.pdf" ;;
    esac
}

status=0
summary=()
for target in "${targets[@]}"; do
    corpus=fuzz/corpus/$target
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    for seed in $(seeds_for "$target") fuzz/seeds/"$target"/*; do
        [ -f "$seed" ] && cp -n "$seed" "$corpus/" 2>/dev/null || true
    done
    if [ "$target" = pdf ] && [ -d ../shared/pdfs ]; then
        # Real files make far better PDF seeds than anything small enough to commit.
        find ../shared/pdfs -name '*.pdf' -size -64k -exec cp -n {} "$corpus/" \; 2>/dev/null || true
    fi
    for fixture in pipelines/tests/fixtures/fuzz/"$target"/*; do
        [ -f "$fixture" ] && cp -n "$fixture" "$corpus/" 2>/dev/null || true
    done
    log=$log_dir/$target.log
    echo "fuzz.sh: $target for ${seconds}s ($sanitizer sanitizer)" >&2
    before=$(find "fuzz/artifacts/$target" -type f | wc -l)
    set +e
    # The binary built above, run directly: `cargo fuzz run` would rebuild whenever the sources
    # changed meanwhile, and every target would then fuzz different code.
    (cd fuzz && "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$target" "corpus/$target" \
        -artifact_prefix="artifacts/$target/" -max_total_time="$seconds" -timeout="$input_timeout" \
        -rss_limit_mb="$rss_limit_mb" -malloc_limit_mb="$rss_limit_mb" -print_final_stats=1) >"$log" 2>&1
    code=$?
    set -e
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    found=$(( $(find "fuzz/artifacts/$target" -type f | wc -l) - before ))
    summary+=("$(printf '%-9s %10s runs  exit %3s  new artifacts %s' "$target" "${runs:-?}" "$code" "$found")")
    if [ "$code" -ne 0 ] || [ "$found" -gt 0 ]; then
        status=1
        grep -E 'panic escaped|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -5 >&2 || true
    fi
done
printf '%s\n' "${summary[@]}"
exit $status
