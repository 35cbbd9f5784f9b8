//! Retrieval over one dataset: embed the query, search the hybrid index, join segment text.

use indexes::{Filter, Fusion, SearchMethod, SearchRequest};

use super::metadata_filter::MetadataFilter;
use super::{Engine, EngineError};
use crate::store::{Dataset, SegmentHit};

/// A retrieval query against one dataset.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub tenant_id: String,
    pub dataset: String,
    pub query: String,
    pub method: SearchMethod,
    pub top_k: usize,
    pub score_threshold: Option<f32>,
    pub fusion: Fusion,
    /// Restrict to these documents.
    pub document_ids: Option<Vec<String>>,
    /// Restrict to available documents whose metadata passes these conditions (Dify's
    /// `metadata_filtering_conditions`); resolved to document ids before either index is searched.
    pub metadata_filter: Option<MetadataFilter>,
}

/// One retrieved segment with its scores.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    pub segment: SegmentHit,
    pub score: f32,
    pub vector_score: Option<f32>,
    pub keyword_score: Option<f32>,
}

/// Longest query accepted, in characters (Dify refuses retrieval queries over 250).
pub const MAX_QUERY_CHARS: usize = 250;
/// Largest top_k accepted.
pub const MAX_TOP_K: usize = 100;
/// Largest top_k of [`Engine::search_dataset_deep`]: evaluation scores the first 100 documents,
/// and a document may have several segments.
pub const MAX_DEEP_TOP_K: usize = 400;

impl Engine {
    /// Runs a query; the dataset's own embedding model must be the configured one.
    pub async fn search(&self, options: SearchOptions) -> Result<Vec<SearchResult>, EngineError> {
        let dataset = self.dataset_by_name(&options.tenant_id, &options.dataset).await?;
        self.search_dataset(&dataset, &options).await
    }

    /// Runs a query against a dataset already looked up (the API resolves datasets by id).
    pub async fn search_dataset(
        &self,
        dataset: &Dataset,
        options: &SearchOptions,
    ) -> Result<Vec<SearchResult>, EngineError> {
        self.search_with_limit(dataset, options, MAX_TOP_K).await
    }

    /// [`Self::search_dataset`] allowing a top_k up to [`MAX_DEEP_TOP_K`]: the same retrieval,
    /// for `ragd eval`, which needs rankings deeper than the API hands out.
    pub async fn search_dataset_deep(
        &self,
        dataset: &Dataset,
        options: &SearchOptions,
    ) -> Result<Vec<SearchResult>, EngineError> {
        self.search_with_limit(dataset, options, MAX_DEEP_TOP_K).await
    }

    async fn search_with_limit(
        &self,
        dataset: &Dataset,
        options: &SearchOptions,
        max_top_k: usize,
    ) -> Result<Vec<SearchResult>, EngineError> {
        let query = options.query.trim();
        if query.is_empty() {
            return Err(EngineError::Input("query must not be empty".into()));
        }
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(EngineError::Input(format!(
                "query cannot exceed {MAX_QUERY_CHARS} characters"
            )));
        }
        if options.top_k == 0 || options.top_k > max_top_k {
            return Err(EngineError::Input(format!(
                "top_k must be between 1 and {max_top_k}"
            )));
        }
        let document_ids = match &options.metadata_filter {
            None => options.document_ids.clone(),
            Some(filter) => {
                let mut ids = self.documents_matching(dataset, filter).await?;
                if let Some(only) = &options.document_ids {
                    ids.retain(|id| only.contains(id));
                }
                if ids.is_empty() {
                    // Dify answers an empty record list when the conditions match no document.
                    return Ok(Vec::new());
                }
                Some(ids)
            }
        };
        let query_vector = match options.method {
            SearchMethod::FullText => None,
            SearchMethod::Semantic | SearchMethod::Hybrid => {
                let embedder = self.embedder().await?;
                self.check_model(dataset, embedder.as_ref())?;
                let text = query.to_string();
                let vector = tokio::task::spawn_blocking(move || embedder.embed_query(&text))
                    .await
                    .map_err(|e| EngineError::Task(e.to_string()))??;
                Some(vector)
            }
        };
        let Some(index) = self.existing_index(dataset).await? else {
            // Nothing was ever indexed into this dataset.
            return Ok(Vec::new());
        };
        let request = SearchRequest {
            query: query.to_string(),
            method: options.method,
            top_k: options.top_k,
            score_threshold: options.score_threshold,
            fusion: options.fusion,
            filter: Filter { document_ids },
        };
        let hits = index.search(&request, query_vector.as_deref()).await?;
        let ids: Vec<String> = hits.iter().map(|h| h.segment_id.clone()).collect();
        let mut segments = self.store.segments_for_hits(&dataset.id, &ids).await?;
        // A hit whose segment is not in SQL belongs to a document that is not committed (yet), and
        // a disabled segment is hidden in SQL before its index rows are: skip both.
        Ok(hits
            .into_iter()
            .filter_map(|hit| {
                let segment = segments.remove(&hit.segment_id).filter(|s| s.enabled);
                segment.map(|segment| SearchResult {
                    segment,
                    score: hit.score,
                    vector_score: hit.vector_score,
                    keyword_score: hit.keyword_score,
                })
            })
            .collect())
    }
}
