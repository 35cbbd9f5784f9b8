//! Rerankers: score (query, document) pairs after retrieval, jointly, which a bi-encoder cannot.
//! One trait; the local ONNX cross-encoder lives here, remote providers in the service.

use std::path::PathBuf;
use std::sync::Mutex;

use fastembed::{RerankInitOptionsUserDefined, TextRerank, UserDefinedRerankingModel};

use crate::embed::onnx::{init_runtime, read_file, read_tokenizer_files};

/// Why reranking failed.
#[derive(Debug, thiserror::Error)]
pub enum RerankError {
    #[error("cannot load the rerank model: {0}")]
    Load(String),
    #[error("rerank model failed: {0}")]
    Inference(String),
    /// A remote provider refused or failed the call; `status` is its HTTP status, None when it
    /// could not be reached or its answer made no sense.
    #[error("rerank provider failed{}: {message}", .status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Provider { status: Option<u16>, message: String },
    #[error("rerank provider did not answer within {0} s")]
    Timeout(u64),
}

/// Scores documents against a query.
pub trait Reranker: Send + Sync {
    /// The relevance of each document to `query`, in input order, in 0..=1 (higher is better).
    fn rerank(&self, query: &str, documents: &[&str]) -> Result<Vec<f32>, RerankError>;
}

/// Everything needed to load an ONNX cross-encoder from local files.
#[derive(Debug, Clone)]
pub struct OnnxRerankerFiles {
    /// The ONNX Runtime shared library (`libonnxruntime.so.*`).
    pub runtime_library: PathBuf,
    /// A cross-encoder with inputs `input_ids`, `attention_mask` (and optionally
    /// `token_type_ids`) and an output `logits` of shape [batch, 1].
    pub onnx: PathBuf,
    /// Folder with `tokenizer.json`, `config.json`, `special_tokens_map.json`, `tokenizer_config.json`.
    pub tokenizer_dir: PathBuf,
    /// Tokens of the (query, document) pair the model reads, special tokens included.
    pub max_length: usize,
    /// ONNX Runtime intra-op threads; None uses every core.
    pub intra_threads: Option<usize>,
    /// Pairs per model call.
    pub batch_size: usize,
}

/// A local cross-encoder through fastembed's user-defined reranking model. Its logits become
/// relevance in 0..=1 through the logistic function, as sentence-transformers' CrossEncoder does
/// for one-label models. One session behind a mutex, like the embedder.
pub struct OnnxReranker {
    session: Mutex<TextRerank>,
    batch_size: usize,
}

impl OnnxReranker {
    /// Loads the model; fails with a message naming the missing or broken file.
    pub fn load(files: &OnnxRerankerFiles) -> Result<Self, RerankError> {
        let environment =
            init_runtime(&files.runtime_library).map_err(|e| RerankError::Load(e.to_string()))?;
        let tokenizer_files = read_tokenizer_files(&files.tokenizer_dir).map_err(RerankError::Load)?;
        let model = UserDefinedRerankingModel::new(
            read_file(&files.onnx).map_err(RerankError::Load)?,
            tokenizer_files,
        );
        let mut options = RerankInitOptionsUserDefined::new()
            .with_max_length(files.max_length)
            .with_environment(environment);
        if let Some(threads) = files.intra_threads {
            options = options.with_intra_threads(threads);
        }
        let session = TextRerank::try_new_from_user_defined(model, options)
            .map_err(|e| RerankError::Load(format!("{}: {e}", files.onnx.display())))?;
        Ok(Self {
            session: Mutex::new(session),
            batch_size: files.batch_size.max(1),
        })
    }
}

impl Reranker for OnnxReranker {
    fn rerank(&self, query: &str, documents: &[&str]) -> Result<Vec<f32>, RerankError> {
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        let results = self
            .session
            .lock()
            .map_err(|_| RerankError::Inference("rerank session poisoned".into()))?
            .rerank(query, documents, false, Some(self.batch_size))
            .map_err(|e| RerankError::Inference(e.to_string()))?;
        let mut scores = vec![0.0; documents.len()];
        for result in results {
            if let Some(slot) = scores.get_mut(result.index) {
                *slot = logistic(result.score);
            }
        }
        Ok(scores)
    }
}

/// The logistic function, mapping a logit to 0..=1 (NaN becomes 0).
pub fn logistic(logit: f32) -> f32 {
    if logit.is_nan() {
        0.0
    } else {
        1.0 / (1.0 + (-logit).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_maps_logits_to_unit_range_in_order() {
        assert_eq!(logistic(0.0), 0.5);
        assert!(logistic(-50.0) >= 0.0 && logistic(-50.0) < 1e-6);
        assert!(logistic(50.0) <= 1.0 && logistic(50.0) > 0.999_999);
        assert!(logistic(1.0) > logistic(0.5));
        assert_eq!(logistic(f32::NAN), 0.0);
    }
}
