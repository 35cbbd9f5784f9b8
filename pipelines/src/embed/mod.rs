//! Embedders: text -> vectors. One trait, a closed set of implementations.

pub(crate) mod onnx;

pub use onnx::{OnnxEmbedder, OnnxModelFiles, Pooling};

use std::time::Duration;

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot load the embedding model: {0}")]
    Load(String),
    #[error("embedding failed: {0}")]
    Inference(String),
}

/// What one embedding call cost: for throughput metrics and `ragd bench`, without counting the
/// tokens a second time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EmbedCost {
    /// Texts embedded.
    pub texts: usize,
    /// Tokens read by the model, special tokens excluded.
    pub tokens: usize,
    /// Model inputs: one per text, more for texts longer than the window.
    pub windows: usize,
    /// Token positions the model computed: special tokens and padding included (0: unknown).
    pub positions: usize,
    /// Time spent tokenizing.
    pub tokenize: Duration,
    /// Time spent in the model (and pooling).
    pub model: Duration,
}

impl std::ops::AddAssign for EmbedCost {
    fn add_assign(&mut self, other: Self) {
        self.texts += other.texts;
        self.tokens += other.tokens;
        self.windows += other.windows;
        self.positions += other.positions;
        self.tokenize += other.tokenize;
        self.model += other.model;
    }
}

/// Vectors in input order, and what they cost.
#[derive(Debug, Clone, Default)]
pub struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    pub cost: EmbedCost,
}

/// Turns text into vectors of a fixed dimension. Documents and queries are separate calls because
/// some models embed them differently (instruction prefixes).
pub trait Embedder: Send + Sync {
    /// Stable id of the model, recorded on every dataset it embeds.
    fn model_id(&self) -> &str;
    fn dimension(&self) -> usize;
    /// Tokens the model reads at most, special tokens excluded.
    fn max_tokens(&self) -> usize;
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError>;
    /// [`Self::embed_documents`] with its cost. Implementations that cannot tell report the
    /// whole call as model time.
    fn embed_batch(&self, texts: &[&str]) -> Result<Embedded, EmbedError> {
        let started = std::time::Instant::now();
        let vectors = self.embed_documents(texts)?;
        let counter = self.token_counter();
        Ok(Embedded {
            vectors,
            cost: EmbedCost {
                texts: texts.len(),
                tokens: texts.iter().map(|t| counter.count(t)).sum(),
                windows: texts.len(),
                positions: 0,
                tokenize: Duration::ZERO,
                model: started.elapsed(),
            },
        })
    }
    /// Counts tokens as this model does, so chunk sizes match what it reads.
    fn token_counter(&self) -> crate::tokens::TokenCounter {
        crate::tokens::TokenCounter::Characters
    }
}

/// Deterministic embedder for unit tests of plumbing: hashes words into buckets.
/// Never used for real retrieval.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    pub dimension: usize,
}

impl Embedder for HashEmbedder {
    fn model_id(&self) -> &str {
        "test/hash-embedder"
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn max_tokens(&self) -> usize {
        usize::MAX
    }

    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.embed_one(text))
    }
}

impl HashEmbedder {
    fn embed_one(&self, text: &str) -> Vec<f32> {
        use std::hash::{Hash, Hasher};
        let mut v = vec![0f32; self.dimension];
        for word in text.split_whitespace() {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            word.to_lowercase().hash(&mut h);
            v[(h.finish() as usize) % self.dimension] += 1.0;
        }
        normalize(&mut v);
        v
    }
}

/// Scales `v` to unit length (no-op for the zero vector).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
