//! Fusion of semantic and full-text result lists.

/// How hybrid search merges its two lists.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Dify's weighted score: `vector_weight * cosine + keyword_weight * normalized bm25`.
    Weighted { vector_weight: f32, keyword_weight: f32 },
    /// Reciprocal rank fusion with constant `k`, rescaled to 0..=1.
    Rrf { k: f32 },
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion::Weighted { vector_weight: 0.7, keyword_weight: 0.3 }
    }
}
