"""Makes the dynamically quantized (int8 MatMulInteger) variant of an ONNX embedding model.

Run by `ragd models fetch` in a venv with pinned onnx and onnxruntime; the output is verified
against a pinned SHA-256, so the same inputs and versions must give the same bytes.

The shipped model stores int8 weights but dequantizes them to fp32 (Cast, Mul) and computes in
fp32. ONNX Runtime's basic graph optimizations fold those into fp32 constants first; dynamic
quantization then rewrites every MatMul to MatMulInteger with per-channel int8 weights
(per-tensor weights cost too much accuracy: cosine 0.93 against 0.995 to the shipped model).
"""
import os
import sys
import tempfile

import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic


def main(source: str, target: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folded = os.path.join(tmp, "folded.onnx")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = folded
        options.intra_op_num_threads = 1
        ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        quantize_dynamic(folded, target, weight_type=QuantType.QInt8, per_channel=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: quantize.py SOURCE.onnx TARGET.onnx")
    main(sys.argv[1], sys.argv[2])
