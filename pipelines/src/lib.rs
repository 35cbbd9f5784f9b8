//! Document -> chunks -> embeddings.
//!
//! Pure, CPU-bound building blocks: parsers per format, upload checks, Dify's cleaner, token-aware chunkers,
//! embedders and the local reranker. Rayon inside where it pays; no HTTP, no SQL, no knowledge of datasets or jobs.

pub mod chunk;
pub mod clean;
pub mod document;
pub mod embed;
pub mod parse;
pub mod rerank;
pub mod template;
pub mod tokens;
pub mod upload;

pub use chunk::{ChildChunk, Chunk, ProcessRule};
pub use clean::Cleaner;
pub use document::{ParsedDocument, Section};
pub use embed::{EmbedError, Embedder};
pub use parse::{Format, ParseError, ParseLimits};
pub use rerank::{RerankError, Reranker};
pub use tokens::TokenCounter;
pub use upload::{
    UploadError, UploadErrorKind, UploadPurpose, UploadRules, check_name_and_type, check_upload,
};
