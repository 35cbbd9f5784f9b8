//! ONNX embedding models through fastembed's user-defined model API.
//!
//! The ONNX Runtime shared library is loaded dynamically from a path (it comes from the
//! `onnxruntime` PyPI wheel, see `ragd models fetch`), once per process.
//!
//! Long texts are never silently truncated: a text longer than the model's window is embedded in
//! consecutive token windows whose vectors are averaged (weighted by tokens) and re-normalised.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use fastembed::{InitOptionsUserDefined, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel};

use super::{EmbedError, Embedder, normalize};
use crate::tokens::TokenCounter;

/// How token vectors become one text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    Mean,
    Cls,
}

/// Everything needed to load an ONNX embedding model from local files.
#[derive(Debug, Clone)]
pub struct OnnxModelFiles {
    /// Stable id recorded on datasets, e.g. `sentence-transformers/all-MiniLM-L6-v2`.
    pub model_id: String,
    /// The ONNX Runtime shared library (`libonnxruntime.so.*`).
    pub runtime_library: PathBuf,
    pub onnx: PathBuf,
    /// Folder with `tokenizer.json`, `config.json`, `special_tokens_map.json`, `tokenizer_config.json`.
    pub tokenizer_dir: PathBuf,
    pub dimension: usize,
    pub pooling: Pooling,
    /// Window of the model in tokens, special tokens included (256 for all-MiniLM-L6-v2).
    pub max_length: usize,
    /// ONNX Runtime intra-op threads; None uses every core.
    pub intra_threads: Option<usize>,
    /// Texts per model call.
    pub batch_size: usize,
}

/// An ONNX embedding model. One session behind a mutex: ONNX Runtime already spreads one call
/// over its intra-op threads, so concurrent callers queue instead of oversubscribing the cores.
pub struct OnnxEmbedder {
    files: OnnxModelFiles,
    session: Mutex<TextEmbedding>,
    counter: TokenCounter,
}

static RUNTIME: OnceLock<Result<(), String>> = OnceLock::new();

/// Loads the ONNX Runtime library once per process; later calls reuse the first result.
pub(crate) fn init_runtime(library: &Path) -> Result<(), EmbedError> {
    let result = RUNTIME.get_or_init(|| {
        if !library.is_file() {
            return Err(format!("ONNX Runtime library not found at {}", library.display()));
        }
        // Loads the library now; fastembed creates the environment itself when it builds a session.
        let _builder = ort::init_from(library)
            .map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", library.display()))?;
        Ok(())
    });
    result.clone().map_err(EmbedError::Load)
}

impl OnnxEmbedder {
    /// Loads the model; fails with a message naming the missing or broken file.
    pub fn load(files: OnnxModelFiles) -> Result<Self, EmbedError> {
        init_runtime(&files.runtime_library)?;
        let tokenizer_files = read_tokenizer_files(&files.tokenizer_dir).map_err(EmbedError::Load)?;
        let pooling = match files.pooling {
            Pooling::Mean => fastembed::Pooling::Mean,
            Pooling::Cls => fastembed::Pooling::Cls,
        };
        let model = UserDefinedEmbeddingModel::new(
            read_file(&files.onnx).map_err(EmbedError::Load)?,
            tokenizer_files,
        )
        .with_pooling(pooling);
        // fastembed replaces the tokenizer's own padding (fixed 128 in this model's file) and
        // truncation with batch-longest padding and truncation at `max_length`.
        let mut options = InitOptionsUserDefined::new().with_max_length(files.max_length);
        if let Some(threads) = files.intra_threads {
            options = options.with_intra_threads(threads);
        }
        let session = TextEmbedding::try_new_from_user_defined(model, options)
            .map_err(|e| EmbedError::Load(format!("{}: {e}", files.onnx.display())))?;
        let counter =
            TokenCounter::from_file(&files.tokenizer_dir.join("tokenizer.json")).map_err(EmbedError::Load)?;
        Ok(Self {
            files,
            session: Mutex::new(session),
            counter,
        })
    }

    /// Runs the model on texts that all fit the window, in batches sorted by token count so
    /// that batch-longest padding wastes little work (in corpus order about 13% of the model's
    /// time goes to padding); results come back in input order.
    fn embed_fitting(&self, texts: &[&str], tokens: &[usize]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| tokens[i]);
        let sorted: Vec<&str> = order.iter().map(|&i| texts[i]).collect();
        let vectors = {
            let mut session = self
                .session
                .lock()
                .map_err(|_| EmbedError::Inference("embedding session poisoned".into()))?;
            session
                .embed(&sorted, Some(self.files.batch_size))
                .map_err(|e| EmbedError::Inference(e.to_string()))?
        };
        let mut out = vec![Vec::new(); texts.len()];
        for (slot, vector) in order.into_iter().zip(vectors) {
            out[slot] = vector;
        }
        for v in &out {
            if v.len() != self.files.dimension {
                return Err(EmbedError::Inference(format!(
                    "model returned {} dimensions, configured {}",
                    v.len(),
                    self.files.dimension
                )));
            }
        }
        Ok(out)
    }
}

/// Reads a model file, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The four tokenizer files fastembed wants, from one folder.
pub(crate) fn read_tokenizer_files(dir: &Path) -> Result<TokenizerFiles, String> {
    Ok(TokenizerFiles {
        tokenizer_file: read_file(&dir.join("tokenizer.json"))?,
        config_file: read_file(&dir.join("config.json"))?,
        special_tokens_map_file: read_file(&dir.join("special_tokens_map.json"))?,
        tokenizer_config_file: read_file(&dir.join("tokenizer_config.json"))?,
    })
}

impl Embedder for OnnxEmbedder {
    fn model_id(&self) -> &str {
        &self.files.model_id
    }

    fn dimension(&self) -> usize {
        self.files.dimension
    }

    fn max_tokens(&self) -> usize {
        self.files.max_length.saturating_sub(2)
    }

    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let window = self.max_tokens().max(1);
        // Each text becomes one or more windows; remember which windows belong to which text.
        let mut pieces: Vec<&str> = Vec::with_capacity(texts.len());
        let mut owners: Vec<(usize, usize)> = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            for (piece, tokens) in token_windows(&self.counter, text, window) {
                pieces.push(piece);
                owners.push((i, tokens));
            }
        }
        let tokens: Vec<usize> = owners.iter().map(|&(_, tokens)| tokens).collect();
        let vectors = self.embed_fitting(&pieces, &tokens)?;
        let mut sums = vec![vec![0f32; self.files.dimension]; texts.len()];
        let mut windows = vec![0usize; texts.len()];
        for ((owner, tokens), vector) in owners.into_iter().zip(vectors) {
            let weight = tokens.max(1) as f32;
            for (s, x) in sums[owner].iter_mut().zip(vector) {
                *s += weight * x;
            }
            windows[owner] += 1;
        }
        for (sum, count) in sums.iter_mut().zip(windows) {
            if count > 1 {
                normalize(sum);
            }
        }
        Ok(sums)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.embed_documents(&[text])?.remove(0))
    }

    fn token_counter(&self) -> TokenCounter {
        self.counter.clone()
    }
}

/// Splits `text` into consecutive pieces of at most `window` tokens, cut at token boundaries.
/// A text that fits (the common case) comes back whole.
fn token_windows<'a>(counter: &TokenCounter, text: &'a str, window: usize) -> Vec<(&'a str, usize)> {
    let offsets = token_offsets(counter, text);
    if offsets.len() <= window {
        return vec![(text, offsets.len())];
    }
    offsets
        .chunks(window)
        .map(|chunk| {
            let start = chunk[0].0;
            let end = chunk[chunk.len() - 1].1;
            (&text[start..end], chunk.len())
        })
        .collect()
}

/// Byte ranges of the tokens of `text` (special tokens excluded).
fn token_offsets(counter: &TokenCounter, text: &str) -> Vec<(usize, usize)> {
    match counter {
        TokenCounter::Tokenizer(tokenizer) => match tokenizer.encode(text, false) {
            Ok(encoding) => encoding.get_offsets().to_vec(),
            // The tokenizer never fails on valid UTF-8; fall back to one window if it does.
            Err(_) => vec![(0, text.len())],
        },
        TokenCounter::Characters => text.char_indices().map(|(i, c)| (i, i + c.len_utf8())).collect(),
    }
}
