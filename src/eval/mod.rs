//! Retrieval evaluation on BEIR-layout sets (`ragd eval`): every query goes through the engine's
//! own search (the path the retrieve API takes), its segments are mapped back to corpus
//! documents, and the rankings are scored with nDCG@10, recall@100 and MRR@10.
//!
//! A corpus document may be split into several segments; a document ranks where its best
//! segment ranks (BEIR's max-passage convention), so each query asks for a deeper segment list
//! than the 100 documents it scores.

pub mod beir;
pub mod metrics;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use futures::StreamExt;
use indexes::{Fusion, SearchMethod};
use serde_json::{Value, json};

pub use self::beir::{BeirError, BeirSet, Query};
pub use self::metrics::{ScoreSum, Scores};
use crate::engine::{Engine, EngineError, MAX_DEEP_TOP_K, SearchOptions};
use crate::rerank::RerankModel;
use crate::store::Dataset;

/// Documents scored per query (recall@100 needs 100).
pub const RANKING_DEPTH: usize = 100;
/// Queries in flight at once: the query embedding and both index searches overlap a little,
/// without one run starving the others on a small machine.
const CONCURRENT_QUERIES: usize = 4;

/// One retrieval setting to score.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRun {
    pub method: SearchMethod,
    /// Used by hybrid search only.
    pub fusion: Fusion,
    /// Rerank the fused candidates with this configured model.
    pub rerank: Option<RerankModel>,
}

impl EvalRun {
    /// Dify's name of the search method.
    pub fn method_name(&self) -> &'static str {
        match self.method {
            SearchMethod::Semantic => "semantic_search",
            SearchMethod::FullText => "full_text_search",
            SearchMethod::Hybrid => "hybrid_search",
        }
    }

    /// The fusion setting as shown in the table ("-" when the method does not fuse).
    pub fn fusion_label(&self) -> String {
        match (self.method, self.fusion) {
            (SearchMethod::Semantic | SearchMethod::FullText, _) => "-".into(),
            (
                SearchMethod::Hybrid,
                Fusion::Weighted {
                    vector_weight,
                    keyword_weight,
                },
            ) => format!("weighted {vector_weight:.2}/{keyword_weight:.2}"),
            (SearchMethod::Hybrid, Fusion::Rrf { k }) => format!("rrf k={k}"),
        }
    }

    /// The rerank model as shown in the table ("-" without one).
    pub fn rerank_label(&self) -> String {
        match &self.rerank {
            Some(model) => format!("{}/{}", model.provider, model.model),
            None => "-".into(),
        }
    }

    fn fusion_json(&self) -> Value {
        match (self.method, self.fusion) {
            (SearchMethod::Semantic | SearchMethod::FullText, _) => Value::Null,
            (
                SearchMethod::Hybrid,
                Fusion::Weighted {
                    vector_weight,
                    keyword_weight,
                },
            ) => {
                json!({"kind": "weighted", "vector_weight": vector_weight, "keyword_weight": keyword_weight})
            }
            (SearchMethod::Hybrid, Fusion::Rrf { k }) => json!({"kind": "rrf", "k": k}),
        }
    }
}

/// The scores of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunScores {
    pub run: EvalRun,
    pub scores: Scores,
    /// Wall time of the run, all queries.
    pub seconds: f64,
}

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Set(#[from] BeirError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("query {id}: {source}")]
    Query { id: String, source: EngineError },
    #[error("dataset {0:?} holds no document of the corpus {1}: ingest it first")]
    NotIngested(String, String),
}

/// Scores each run over every query of `set`, against `dataset` (which holds `set.corpus`).
pub async fn evaluate(
    engine: &Engine,
    dataset: &Dataset,
    set: &BeirSet,
    runs: &[EvalRun],
) -> Result<Vec<RunScores>, EvalError> {
    let corpus_ids = corpus_ids_by_document(engine, dataset, set).await?;
    let mut out = Vec::with_capacity(runs.len());
    for run in runs {
        let started = Instant::now();
        let rankings: Vec<Result<Vec<String>, EvalError>> = futures::stream::iter(&set.queries)
            .map(|query| rank_documents(engine, dataset, query, run, &corpus_ids))
            .buffered(CONCURRENT_QUERIES)
            .collect()
            .await;
        let mut sum = ScoreSum::default();
        for (query, ranking) in set.queries.iter().zip(rankings) {
            let ranking = ranking?;
            if let Some(judgements) = set.qrels.get(&query.id) {
                sum.add(&ranking, judgements);
            }
        }
        out.push(RunScores {
            run: run.clone(),
            scores: sum.mean(),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    Ok(out)
}

/// Dataset document id -> corpus `_id`, from the document sources `ragd ingest` records
/// (`<corpus path>#<_id>`).
async fn corpus_ids_by_document(
    engine: &Engine,
    dataset: &Dataset,
    set: &BeirSet,
) -> Result<HashMap<String, String>, EvalError> {
    let prefix = format!("{}#", set.corpus.display());
    let documents = engine
        .store()
        .documents_by_source(&dataset.id)
        .await
        .map_err(EngineError::from)?;
    let ids: HashMap<String, String> = documents
        .into_iter()
        .filter_map(|(source, doc)| {
            let corpus_id = source.strip_prefix(&prefix)?.to_string();
            Some((doc.id, corpus_id))
        })
        .collect();
    if ids.is_empty() {
        return Err(EvalError::NotIngested(
            dataset.name.clone(),
            set.corpus.display().to_string(),
        ));
    }
    Ok(ids)
}

/// The corpus documents retrieved for one query, best first, each once, at most
/// [`RANKING_DEPTH`].
async fn rank_documents(
    engine: &Engine,
    dataset: &Dataset,
    query: &Query,
    run: &EvalRun,
    corpus_ids: &HashMap<String, String>,
) -> Result<Vec<String>, EvalError> {
    let options = SearchOptions {
        tenant_id: dataset.tenant_id.clone(),
        dataset: dataset.name.clone(),
        query: truncate_query(&query.text),
        method: run.method,
        top_k: MAX_DEEP_TOP_K,
        score_threshold: None,
        fusion: run.fusion,
        document_ids: None,
        metadata_filter: None,
        rerank: run.rerank.clone(),
    };
    let results = engine
        .search_dataset_deep(dataset, &options)
        .await
        .map_err(|source| EvalError::Query {
            id: query.id.clone(),
            source,
        })?;
    let mut seen = HashSet::new();
    Ok(results
        .into_iter()
        .filter_map(|r| corpus_ids.get(&r.segment.document_id).cloned())
        .filter(|id| seen.insert(id.clone()))
        .take(RANKING_DEPTH)
        .collect())
}

/// Queries longer than the API accepts are cut at a character boundary (a client would have to
/// do the same).
fn truncate_query(text: &str) -> String {
    text.chars().take(crate::engine::MAX_QUERY_CHARS).collect()
}

/// The scores as a fixed-width text table.
pub fn table(results: &[RunScores]) -> String {
    let mut out = format!(
        "{:<18} {:<20} {:<16} {:>8} {:>11} {:>7} {:>8} {:>8}\n",
        "method", "fusion", "rerank", "nDCG@10", "recall@100", "MRR@10", "queries", "seconds"
    );
    for r in results {
        out.push_str(&format!(
            "{:<18} {:<20} {:<16} {:>8.4} {:>11.4} {:>7.4} {:>8} {:>8.1}\n",
            r.run.method_name(),
            r.run.fusion_label(),
            r.run.rerank_label(),
            r.scores.ndcg_at_10,
            r.scores.recall_at_100,
            r.scores.mrr_at_10,
            r.scores.queries,
            r.seconds,
        ));
    }
    out
}

/// The scores as JSON: one object per run.
pub fn runs_json(results: &[RunScores]) -> Value {
    Value::Array(
        results
            .iter()
            .map(|r| {
                json!({
                    "method": r.run.method_name(),
                    "fusion": r.run.fusion_json(),
                    "rerank": r.run.rerank.as_ref().map(|m| json!({"provider": m.provider, "model": m.model})),
                    "ndcg_at_10": r.scores.ndcg_at_10,
                    "recall_at_100": r.scores.recall_at_100,
                    "mrr_at_10": r.scores.mrr_at_10,
                    "queries": r.scores.queries,
                    "seconds": r.seconds,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_json_name_method_and_fusion() {
        let results = vec![
            RunScores {
                run: EvalRun {
                    method: SearchMethod::FullText,
                    fusion: Fusion::default(),
                    rerank: None,
                },
                scores: Scores {
                    ndcg_at_10: 0.5,
                    recall_at_100: 1.0,
                    mrr_at_10: 0.25,
                    queries: 3,
                },
                seconds: 1.0,
            },
            RunScores {
                run: EvalRun {
                    method: SearchMethod::Hybrid,
                    fusion: Fusion::Rrf { k: 60.0 },
                    rerank: Some(RerankModel {
                        provider: "local".into(),
                        model: "ce".into(),
                    }),
                },
                scores: Scores::default(),
                seconds: 2.0,
            },
        ];
        let table = table(&results);
        assert!(table.lines().nth(1).unwrap().starts_with("full_text_search   -"));
        assert!(table.contains("rrf k=60"), "{table}");
        assert!(table.contains("local/ce"), "{table}");
        assert!(table.contains("0.5000"), "{table}");
        let json = runs_json(&results);
        assert_eq!(json[0]["fusion"], Value::Null);
        assert_eq!(json[1]["fusion"]["kind"], "rrf");
        assert_eq!(json[0]["mrr_at_10"], 0.25);
        assert_eq!(json[0]["rerank"], Value::Null);
        assert_eq!(json[1]["rerank"]["model"], "ce");
    }

    #[test]
    fn long_queries_are_cut_at_a_character_boundary() {
        let long = "é".repeat(300);
        assert_eq!(
            truncate_query(&long).chars().count(),
            crate::engine::MAX_QUERY_CHARS
        );
        assert_eq!(truncate_query("short"), "short");
    }
}
