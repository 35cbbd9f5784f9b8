//! [`DatasetIndex`]: one dataset generation's vector table and full-text index behind one API.

use std::path::Path;

use crate::{Filter, Fusion, IndexError};

/// One indexed piece of text: a segment, or a child chunk of a parent segment.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// Unique row id: the segment id, or the child chunk id in hierarchical datasets.
    pub id: String,
    /// The segment a hit on this row returns (equal to `id` for plain segments).
    pub segment_id: String,
    pub document_id: String,
    pub text: String,
    /// Embedding; None in keyword-only (economy) datasets.
    pub vector: Option<Vec<f32>>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMethod {
    Semantic,
    FullText,
    Hybrid,
}

/// A query against one dataset index.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub query: String,
    pub method: SearchMethod,
    pub top_k: usize,
    /// Hits scoring below this are dropped (after fusion).
    pub score_threshold: Option<f32>,
    pub fusion: Fusion,
    pub filter: Filter,
}

/// One result: a segment with its fused score and the per-index scores behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub segment_id: String,
    pub document_id: String,
    /// Final score in 0..=1, higher is better.
    pub score: f32,
    pub vector_score: Option<f32>,
    pub keyword_score: Option<f32>,
    /// Ids of the matching child rows with their scores, best first (hierarchical datasets).
    pub matched_rows: Vec<(String, f32)>,
}

/// The vector table and full-text index of one dataset generation.
pub struct DatasetIndex {
    _private: (),
}

impl DatasetIndex {
    /// Opens or creates the index in `dir`. `dimension` is None for keyword-only datasets.
    pub async fn open(dir: &Path, dimension: Option<usize>) -> Result<Self, IndexError> {
        let _ = (dir, dimension);
        unimplemented!()
    }

    /// Adds or replaces rows (by `id`) and commits both indexes.
    pub async fn upsert(&self, rows: Vec<IndexRow>) -> Result<(), IndexError> {
        let _ = rows;
        unimplemented!()
    }

    pub async fn delete_segments(&self, segment_ids: &[String]) -> Result<(), IndexError> {
        let _ = segment_ids;
        unimplemented!()
    }

    pub async fn delete_documents(&self, document_ids: &[String]) -> Result<(), IndexError> {
        let _ = document_ids;
        unimplemented!()
    }

    pub async fn set_segments_enabled(
        &self,
        segment_ids: &[String],
        enabled: bool,
    ) -> Result<(), IndexError> {
        let _ = (segment_ids, enabled);
        unimplemented!()
    }

    pub async fn set_documents_enabled(
        &self,
        document_ids: &[String],
        enabled: bool,
    ) -> Result<(), IndexError> {
        let _ = (document_ids, enabled);
        unimplemented!()
    }

    /// Runs `request`; `query_vector` is required for semantic and hybrid search.
    pub async fn search(
        &self,
        request: &SearchRequest,
        query_vector: Option<&[f32]>,
    ) -> Result<Vec<Hit>, IndexError> {
        let _ = (request, query_vector);
        unimplemented!()
    }

    /// Number of rows in the full-text index (for reports and tests).
    pub async fn count_rows(&self) -> Result<usize, IndexError> {
        unimplemented!()
    }
}
