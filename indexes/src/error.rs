//! Errors of the index layer.
//!
//! Messages carry the underlying library's text: the service maps every variant to a stable code
//! and decides what a client may see (a store failure is a 500 whose detail only goes to the log).

/// An index operation failed; nothing is half-written unless the message says a store failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The LanceDB vector table failed (or holds something other than what was asked).
    #[error("vector store error: {0}")]
    Vector(String),
    /// The tantivy full-text index failed.
    #[error("full-text index error: {0}")]
    FullText(String),
    /// A row or query vector does not have the dimension of the dataset's embedding model.
    #[error("vector has {got} dimensions, the index expects {expected}")]
    Dimension { expected: usize, got: usize },
    /// Semantic or hybrid search was asked for without a query embedding.
    #[error("semantic search needs a query vector")]
    MissingQueryVector,
    /// Semantic or hybrid search was asked of a keyword-only (economy) dataset.
    #[error("this dataset has no vector index: it is keyword-only, use full-text search")]
    NoVectorIndex,
    /// Another writer (usually another process) kept the generation locked for too long.
    #[error("index busy: {0}")]
    Busy(String),
    /// This handle's idea of the dataset's layout is out of date: its vector table was removed
    /// (the dataset became keyword-only). Open the index again from the dataset's current state.
    #[error("the vector table of this index was removed; reopen the index")]
    Stale,
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
}

/// Wraps a LanceDB or Arrow failure.
pub(crate) fn vector_error(err: impl std::fmt::Display) -> IndexError {
    IndexError::Vector(err.to_string())
}

/// Wraps a tantivy failure.
pub(crate) fn fulltext_error(err: impl std::fmt::Display) -> IndexError {
    IndexError::FullText(err.to_string())
}
