#!/usr/bin/env python3
"""Writes tests/fixtures/rerank/overlap-cross-encoder.onnx: a tiny, deterministic ONNX
cross-encoder for testing ragd's local reranking path.

No real cross-encoder can be fetched from the package registries this project may use, so the
tests use this stand-in. It has the interface of a BERT cross-encoder as fastembed runs it: inputs
`input_ids`, `attention_mask`, `token_type_ids` (int64, [batch, seq]) for the pair
"[CLS] query [SEP] document [SEP]", output `logits` (float, [batch, 1]). Its logit is the number
of (query token, document token) pairs with the same id, counting only real word pieces (BERT ids
999 and up: not [CLS], [SEP], [PAD] or unused ids), minus 1.5: a document scores higher the more
of the query's word pieces it repeats. Use it with a BERT uncased tokenizer (for example the
all-MiniLM-L6-v2 tokenizer files ragd already fetches).

Requires the `onnx` package (PyPI). Run: python3 scripts/make_rerank_fixture.py
"""

import os

import onnx
from onnx import TensorProto, helper

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "tests",
    "fixtures",
    "rerank",
    "overlap-cross-encoder.onnx",
)


def const(name, value, dtype):
    return helper.make_node(
        "Constant",
        [],
        [name],
        value=helper.make_tensor(name + "_value", dtype, [len(value)] if isinstance(value, list) else [], value if isinstance(value, list) else [value]),
    )


def main():
    nodes = [
        const("first_real_id", 998, TensorProto.INT64),
        const("one", 1.0, TensorProto.FLOAT),
        const("offset", 1.5, TensorProto.FLOAT),
        const("axis1", [1], TensorProto.INT64),
        const("axis2", [2], TensorProto.INT64),
        const("axes12", [1, 2], TensorProto.INT64),
        helper.make_node("Greater", ["input_ids", "first_real_id"], ["is_real"]),
        helper.make_node("Cast", ["is_real"], ["real"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["token_type_ids"], ["is_document"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["one", "is_document"], ["is_query"]),
        helper.make_node("Mul", ["mask", "real"], ["counted"]),
        helper.make_node("Mul", ["counted", "is_query"], ["query_weight"]),
        helper.make_node("Mul", ["counted", "is_document"], ["document_weight"]),
        helper.make_node("Unsqueeze", ["input_ids", "axis2"], ["ids_rows"]),
        helper.make_node("Unsqueeze", ["input_ids", "axis1"], ["ids_columns"]),
        helper.make_node("Equal", ["ids_rows", "ids_columns"], ["same_id"]),
        helper.make_node("Cast", ["same_id"], ["same"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["query_weight", "axis2"], ["query_rows"]),
        helper.make_node("Unsqueeze", ["document_weight", "axis1"], ["document_columns"]),
        helper.make_node("Mul", ["same", "query_rows"], ["same_in_query"]),
        helper.make_node("Mul", ["same_in_query", "document_columns"], ["pairs"]),
        helper.make_node("ReduceSum", ["pairs", "axes12"], ["overlap"], keepdims=0),
        helper.make_node("Sub", ["overlap", "offset"], ["score"]),
        helper.make_node("Unsqueeze", ["score", "axis1"], ["logits"]),
    ]
    ids = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])
    graph = helper.make_graph(nodes, "overlap_cross_encoder", ids, [logits])
    model = helper.make_model(
        graph,
        producer_name="ragd-test-fixture",
        opset_imports=[helper.make_opsetid("", 13)],
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
    print(f"wrote {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
