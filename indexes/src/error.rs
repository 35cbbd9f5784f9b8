//! Errors of the index layer.

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("vector store error: {0}")]
    Vector(String),
    #[error("full-text index error: {0}")]
    FullText(String),
    #[error("vector has {got} dimensions, the index expects {expected}")]
    Dimension { expected: usize, got: usize },
    #[error("semantic search needs a query vector")]
    MissingQueryVector,
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
}
