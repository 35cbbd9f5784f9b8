//! Retrieval over one dataset: embed the query, search the hybrid index, join segment text, and
//! rerank the fused candidates when a rerank model is asked for.

use std::sync::Arc;

use indexes::{Filter, Fusion, SearchMethod, SearchRequest};
use pipelines::Reranker;

use super::metadata_filter::MetadataFilter;
use super::{Engine, EngineError};
use crate::rerank::RerankModel;
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
    /// Rescore the fused candidates with this rerank model (Dify's `reranking_model`); the
    /// score threshold then applies to its scores.
    pub rerank: Option<RerankModel>,
}

/// One retrieved segment with its scores.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    pub segment: SegmentHit,
    pub score: f32,
    pub vector_score: Option<f32>,
    pub keyword_score: Option<f32>,
    /// In parent-child documents, the child chunks that matched, best first; the segment scores
    /// as its best child. Empty for plain segments.
    pub child_chunks: Vec<MatchedChildChunk>,
}

/// A child chunk whose row matched a query.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedChildChunk {
    pub id: String,
    pub content: String,
    pub position: i64,
    pub score: f32,
}

/// Longest query accepted, in characters (Dify refuses retrieval queries over 250).
pub const MAX_QUERY_CHARS: usize = 250;
/// Largest top_k accepted.
pub const MAX_TOP_K: usize = 100;
/// Largest top_k of [`Engine::search_dataset_deep`]: evaluation scores the first 100 documents,
/// and a document may have several segments.
pub const MAX_DEEP_TOP_K: usize = 400;

impl Engine {
    /// Runs a query, embedded with the dataset's own model.
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
        // Resolved first: a request naming a model this server lacks changes nothing.
        let reranker = match &options.rerank {
            Some(model) => Some(self.reranker(model).await?),
            None => None,
        };
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
        if options.method != SearchMethod::FullText && dataset.embedding_dimension.is_none() {
            // Keyword-only (economy) datasets have no vectors to search.
            return Err(EngineError::Index(indexes::IndexError::NoVectorIndex));
        }
        // A hybrid query in a script the dataset's model never learned (Korean against an
        // English model) is matched by its words alone: fusing vectors that carry almost no
        // meaning for it only pushes good keyword hits down (Korean: hybrid nDCG@5 0.118 against
        // 0.813 for full text). Semantic search still does what it was asked.
        let keyword_only =
            options.method == SearchMethod::Hybrid && !self.dataset_model_reads(dataset, query);
        let method = if keyword_only {
            SearchMethod::FullText
        } else {
            options.method
        };
        let query_vector = match method {
            SearchMethod::FullText => None,
            SearchMethod::Semantic | SearchMethod::Hybrid => {
                let embedder = self.embedder_for(dataset).await?;
                self.check_model(dataset, embedder.as_ref())?;
                Some(self.query_compute.embed_query(embedder, query).await?)
            }
        };
        let Some(index) = self.existing_index(dataset).await? else {
            // Nothing was ever indexed into this dataset.
            return Ok(Vec::new());
        };
        let request = SearchRequest {
            query: query.to_string(),
            method,
            // The reranker sees a larger candidate list, and the threshold applies to its scores.
            top_k: match reranker {
                Some(_) => options.top_k.max(self.config.rerank.candidates).min(max_top_k),
                None => options.top_k,
            },
            score_threshold: options.score_threshold.filter(|_| reranker.is_none()),
            fusion: options.fusion,
            filter: Filter { document_ids },
        };
        let mut hits = index.search(&request, query_vector.as_deref()).await?;
        if keyword_only {
            // Scored as hybrid search scores its keyword half (BM25 over the best BM25), so the
            // scores and the threshold mean what they mean for any hybrid query.
            for hit in &mut hits {
                hit.score = hit.keyword_score.unwrap_or(0.0);
            }
            if let Some(threshold) = request.score_threshold {
                hits.retain(|hit| threshold.is_nan() || hit.score >= threshold);
            }
        }
        let ids: Vec<String> = hits.iter().map(|h| h.segment_id.clone()).collect();
        let mut segments = self.store.segments_for_hits(&dataset.id, &ids).await?;
        // Rows that are not their segment's own are child chunks.
        let child_ids: Vec<String> = hits
            .iter()
            .flat_map(|hit| {
                hit.matched_rows
                    .iter()
                    .filter(|(id, _)| id != &hit.segment_id)
                    .map(|(id, _)| id.clone())
            })
            .collect();
        let children = if child_ids.is_empty() {
            Default::default()
        } else {
            self.store.child_chunks_by_id(&dataset.id, &child_ids).await?
        };
        // A hit whose segment is not in SQL belongs to a document that is not committed (yet), and
        // a disabled segment is hidden in SQL before its index rows are: skip both.
        let results: Vec<SearchResult> = hits
            .into_iter()
            .filter_map(|hit| {
                let segment = segments.remove(&hit.segment_id).filter(|s| s.enabled)?;
                let child_chunks = hit
                    .matched_rows
                    .iter()
                    .filter_map(|(id, score)| {
                        children.get(id).map(|child| MatchedChildChunk {
                            id: child.id.clone(),
                            content: child.content.clone(),
                            position: child.position,
                            score: *score,
                        })
                    })
                    .collect();
                Some(SearchResult {
                    segment,
                    score: hit.score,
                    vector_score: hit.vector_score,
                    keyword_score: hit.keyword_score,
                    child_chunks,
                })
            })
            .collect();
        match reranker {
            Some(reranker) => {
                let scores = self.rerank_scores(reranker, query, &results).await?;
                Ok(reranked(results, scores, options.score_threshold, options.top_k))
            }
            None => Ok(results),
        }
    }

    /// The reranker of a configured rerank model, loaded on first use; a model this server
    /// lacks is an input error that says what it has.
    pub async fn reranker(&self, wanted: &RerankModel) -> Result<Arc<dyn Reranker>, EngineError> {
        let models = self.rerankers.clone();
        if models.configured().next().is_none() {
            return Err(EngineError::Input(
                "Rerank model is not available: no rerank model is configured on this server. \
                 Disable reranking_enable or use reranking_mode weighted_score."
                    .into(),
            ));
        }
        if models.find(wanted).is_none() {
            let known: Vec<String> = models
                .configured()
                .map(|m| format!("{}/{}", m.provider, m.model))
                .collect();
            return Err(EngineError::Input(format!(
                "Rerank model {}/{} is not available on this server; configured: {}",
                wanted.provider,
                wanted.model,
                known.join(", ")
            )));
        }
        let wanted = wanted.clone();
        let loaded = tokio::task::spawn_blocking(move || models.load(&wanted))
            .await
            .map_err(|e| EngineError::Task(e.to_string()))?;
        let reranker = loaded.ok_or_else(|| EngineError::Task("rerank model vanished".into()))??;
        Ok(reranker)
    }
}

impl Engine {
    /// The reranker's score of each result's segment text, in result order (on the query compute
    /// pool: a local model computes, a provider is waited for).
    async fn rerank_scores(
        &self,
        reranker: Arc<dyn Reranker>,
        query: &str,
        results: &[SearchResult],
    ) -> Result<Vec<f32>, EngineError> {
        if results.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<String> = results.iter().map(|r| r.segment.content.clone()).collect();
        let scores = self.query_compute.rerank(reranker, query, texts).await?;
        if scores.len() != results.len() {
            return Err(EngineError::Task(format!(
                "the reranker scored {} of {} candidates",
                scores.len(),
                results.len()
            )));
        }
        Ok(scores)
    }
}

/// Results rescored by the reranker: the threshold applies to the new scores, then the best
/// `top_k` (ties keep the fused order). The per-index scores stay as they were.
fn reranked(
    results: Vec<SearchResult>,
    scores: Vec<f32>,
    threshold: Option<f32>,
    top_k: usize,
) -> Vec<SearchResult> {
    let mut rescored: Vec<SearchResult> = results
        .into_iter()
        .zip(scores)
        .map(|(result, score)| SearchResult { score, ..result })
        .filter(|r| threshold.is_none_or(|t| t.is_nan() || r.score >= t))
        .collect();
    rescored.sort_by(|a, b| b.score.total_cmp(&a.score));
    rescored.truncate(top_k);
    rescored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, score: f32) -> SearchResult {
        SearchResult {
            segment: SegmentHit {
                id: id.into(),
                document_id: "d".into(),
                document_name: "d".into(),
                position: 1,
                content: id.into(),
                page: None,
                word_count: 1,
                tokens: 1,
                hit_count: 0,
                enabled: true,
                status: "completed".into(),
                created_at: 0,
                updated_at: 0,
                completed_at: None,
                data_source_type: "upload_file".into(),
                doc_metadata: None,
                keywords: Vec::new(),
            },
            score,
            vector_score: Some(score),
            keyword_score: None,
            child_chunks: Vec::new(),
        }
    }

    fn ids(results: &[SearchResult]) -> Vec<&str> {
        results.iter().map(|r| r.segment.id.as_str()).collect()
    }

    #[test]
    fn reranking_reorders_then_thresholds_then_cuts() {
        let fused = vec![
            result("a", 0.9),
            result("b", 0.8),
            result("c", 0.7),
            result("d", 0.6),
        ];
        let out = reranked(fused.clone(), vec![0.1, 0.95, 0.5, 0.5], None, 3);
        // c and d tie at 0.5: the fused order decides.
        assert_eq!(ids(&out), ["b", "c", "d"]);
        assert_eq!(out[0].score, 0.95);
        assert_eq!(out[0].vector_score, Some(0.8), "per-index scores are kept");
        let out = reranked(fused, vec![0.1, 0.95, 0.5, 0.4], Some(0.5), 10);
        assert_eq!(ids(&out), ["b", "c"]);
    }
}
