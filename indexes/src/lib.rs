//! The hybrid index of one dataset: LanceDB vectors + tantivy BM25, fused at query time.
//!
//! Derived data only: everything here can be rebuilt from the segments in SQL. No HTTP, no SQL.
//! Each dataset generation lives in its own directory (`<root>/<dataset_id>/gen-<n>/`), so a
//! rebuild can happen beside the live generation and be switched atomically by the caller.
//!
//! [`DatasetIndex`] is the entry point; [`vector`], [`fulltext`] and [`fusion`] are its parts and
//! usable alone (benchmarks, diagnostics).

pub mod analyzer;
pub mod error;
pub mod filter;
pub mod fulltext;
pub mod fusion;
pub mod hybrid;
pub mod keywords;
mod lock;
pub mod vector;

pub use analyzer::Analyzer;
pub use error::IndexError;
pub use filter::Filter;
pub use fusion::Fusion;
pub use hybrid::{DatasetIndex, Hit, IndexOptions, IndexRow, SearchMethod, SearchRequest};
pub use keywords::{DEFAULT_KEYWORD_NUMBER, KeywordExtractor, extra_keywords};
pub use lock::{LOCK_FILE, WRITE_LOCK_TIMEOUT};
