//! Retrieval evaluation on BEIR-layout sets (`ragd eval`): every query goes through the engine's
//! own search (the path the retrieve API takes), its segments are mapped back to corpus
//! documents, and the rankings are scored with nDCG@5, nDCG@10, recall@100, MRR@10, hit
//! rate@1, and nDCG@10 of the documents on the first page of segments (what a client asking
//! for `top_k` 10 sees). Fusion weights can be chosen by cross-validation over folds of the
//! queries ([`cross_validate`]), so a weight tuned on the queries it is scored on shows.
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
pub use self::metrics::{QueryScores, ScoreSum, Scores};
use crate::engine::{Engine, EngineError, MAX_DEEP_TOP_K, SearchOptions};
use crate::rerank::RerankModel;
use crate::store::Dataset;

/// Documents scored per query (recall@100 needs 100).
pub const RANKING_DEPTH: usize = 100;
/// Segments on the first page a client asks for (Dify's default `top_k` is 4 in apps; clients of
/// the retrieve API and the held-out checks ask for 10).
pub const PAGE_SEGMENTS: usize = 10;
/// Queries in flight at once: the query embedding and both index searches overlap a little,
/// without one run starving the others on a small machine.
const CONCURRENT_QUERIES: usize = 4;

/// One query's document rankings: the deep one, and the first page's.
type Rankings = (Vec<String>, Vec<String>);

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
    /// Each judged query's scores, in query order (None for a query without judgements).
    pub per_query: Vec<Option<QueryScores>>,
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
        let rankings: Vec<Result<Rankings, EvalError>> = futures::stream::iter(&set.queries)
            .map(|query| async {
                let deep = rank_documents(engine, dataset, query, run, &corpus_ids, MAX_DEEP_TOP_K);
                let page = rank_documents(engine, dataset, query, run, &corpus_ids, PAGE_SEGMENTS);
                Ok((deep.await?, page.await?))
            })
            .buffered(CONCURRENT_QUERIES)
            .collect()
            .await;
        let mut sum = ScoreSum::default();
        let mut per_query = Vec::with_capacity(set.queries.len());
        for (query, ranking) in set.queries.iter().zip(rankings) {
            let (ranking, page) = ranking?;
            let scores = set
                .qrels
                .get(&query.id)
                .filter(|judgements| metrics::has_relevant(judgements))
                .map(|judgements| QueryScores::of(&ranking, &page, judgements));
            if let Some(scores) = &scores {
                sum.add_scores(scores);
            }
            per_query.push(scores);
        }
        out.push(RunScores {
            run: run.clone(),
            scores: sum.mean(),
            per_query,
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

/// The corpus documents of the first `top_k` segments retrieved for one query, best first,
/// each once (where its first segment ranks), at most [`RANKING_DEPTH`].
async fn rank_documents(
    engine: &Engine,
    dataset: &Dataset,
    query: &Query,
    run: &EvalRun,
    corpus_ids: &HashMap<String, String>,
    top_k: usize,
) -> Result<Vec<String>, EvalError> {
    let options = SearchOptions {
        tenant_id: dataset.tenant_id.clone(),
        dataset: dataset.name.clone(),
        query: truncate_query(&query.text),
        method: run.method,
        top_k,
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
        "{:<18} {:<20} {:<16} {:>7} {:>8} {:>8} {:>6} {:>11} {:>7} {:>8} {:>8}\n",
        "method",
        "fusion",
        "rerank",
        "nDCG@5",
        "nDCG@10",
        "page@10",
        "hit@1",
        "recall@100",
        "MRR@10",
        "queries",
        "seconds"
    );
    for r in results {
        out.push_str(&format!(
            "{:<18} {:<20} {:<16} {:>7.4} {:>8.4} {:>8.4} {:>6.4} {:>11.4} {:>7.4} {:>8} {:>8.1}\n",
            r.run.method_name(),
            r.run.fusion_label(),
            r.run.rerank_label(),
            r.scores.ndcg_at_5,
            r.scores.ndcg_at_10,
            r.scores.page_ndcg_at_10,
            r.scores.hit_at_1,
            r.scores.recall_at_100,
            r.scores.mrr_at_10,
            r.scores.queries,
            r.seconds,
        ));
    }
    out
}

fn scores_json(scores: &Scores) -> Value {
    json!({
        "ndcg_at_5": scores.ndcg_at_5,
        "ndcg_at_10": scores.ndcg_at_10,
        "page_ndcg_at_10": scores.page_ndcg_at_10,
        "hit_at_1": scores.hit_at_1,
        "recall_at_100": scores.recall_at_100,
        "mrr_at_10": scores.mrr_at_10,
        "queries": scores.queries,
    })
}

/// The scores as JSON: one object per run.
pub fn runs_json(results: &[RunScores]) -> Value {
    Value::Array(
        results
            .iter()
            .map(|r| {
                let mut run = json!({
                    "method": r.run.method_name(),
                    "fusion": r.run.fusion_json(),
                    "rerank": r.run.rerank.as_ref().map(|m| json!({"provider": m.provider, "model": m.model})),
                    "seconds": r.seconds,
                });
                if let (Value::Object(run), Value::Object(scores)) = (&mut run, scores_json(&r.scores)) {
                    run.extend(scores);
                }
                run
            })
            .collect(),
    )
}

/// The metric that picks a setting in [`cross_validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    NdcgAt5,
    NdcgAt10,
    PageNdcgAt10,
}

impl Selection {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ndcg@5" => Some(Selection::NdcgAt5),
            "ndcg@10" => Some(Selection::NdcgAt10),
            "page@10" => Some(Selection::PageNdcgAt10),
            _ => None,
        }
    }

    fn of(self, q: &QueryScores) -> f64 {
        match self {
            Selection::NdcgAt5 => q.ndcg_at_5,
            Selection::NdcgAt10 => q.ndcg_at_10,
            Selection::PageNdcgAt10 => q.page_ndcg_at_10,
        }
    }
}

/// Hybrid settings chosen by cross-validation: for each of `folds` folds of the queries (query
/// `i` is in fold `i % folds`), the candidate run with the best mean `selection` on the other
/// folds is scored on this fold; the held-out scores of all folds are averaged. Candidates are
/// the hybrid runs without rerank. None with fewer than two candidates or folds.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossValidation {
    pub folds: usize,
    /// The run chosen for each fold (index into the results).
    pub chosen: Vec<usize>,
    /// Mean held-out scores.
    pub held_out: Scores,
}

pub fn cross_validate(results: &[RunScores], folds: usize, selection: Selection) -> Option<CrossValidation> {
    let candidates: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].run.method == SearchMethod::Hybrid && results[i].run.rerank.is_none())
        .collect();
    if candidates.len() < 2 || folds < 2 {
        return None;
    }
    let mean_on = |run: usize, keep: &dyn Fn(usize) -> bool| {
        let (sum, n) = results[run]
            .per_query
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .filter_map(|(_, q)| q.as_ref())
            .fold((0.0, 0usize), |(s, n), q| (s + selection.of(q), n + 1));
        if n == 0 { 0.0 } else { sum / n as f64 }
    };
    let mut chosen = Vec::with_capacity(folds);
    let mut held_out = ScoreSum::default();
    for fold in 0..folds {
        let train = |i: usize| i % folds != fold;
        let best = *candidates
            .iter()
            .max_by(|&&a, &&b| mean_on(a, &train).total_cmp(&mean_on(b, &train)))?;
        chosen.push(best);
        for (i, q) in results[best].per_query.iter().enumerate() {
            if let Some(q) = q.filter(|_| i % folds == fold) {
                held_out.add_scores(&q);
            }
        }
    }
    Some(CrossValidation {
        folds,
        chosen,
        held_out: held_out.mean(),
    })
}

/// The cross-validation as text: the chosen setting of each fold and the held-out scores.
pub fn cross_validation_text(results: &[RunScores], cv: &CrossValidation) -> String {
    let chosen: Vec<String> = cv.chosen.iter().map(|&i| results[i].run.fusion_label()).collect();
    let s = &cv.held_out;
    format!(
        "cross-validated hybrid ({} folds; chosen per fold: {}): nDCG@5 {:.4}, nDCG@10 {:.4}, \
         page@10 {:.4}, hit@1 {:.4}, recall@100 {:.4}, MRR@10 {:.4} over {} queries\n",
        cv.folds,
        chosen.join(", "),
        s.ndcg_at_5,
        s.ndcg_at_10,
        s.page_ndcg_at_10,
        s.hit_at_1,
        s.recall_at_100,
        s.mrr_at_10,
        s.queries
    )
}

/// The cross-validation as JSON.
pub fn cross_validation_json(results: &[RunScores], cv: &CrossValidation) -> Value {
    json!({
        "folds": cv.folds,
        "chosen": cv.chosen.iter().map(|&i| results[i].run.fusion_json()).collect::<Vec<_>>(),
        "held_out": scores_json(&cv.held_out),
    })
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
                    ..Scores::default()
                },
                per_query: Vec::new(),
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
                per_query: Vec::new(),
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

    fn hybrid(weight: f32, page: &[f64]) -> RunScores {
        RunScores {
            run: EvalRun {
                method: SearchMethod::Hybrid,
                fusion: Fusion::Weighted {
                    vector_weight: weight,
                    keyword_weight: 1.0 - weight,
                },
                rerank: None,
            },
            scores: Scores::default(),
            per_query: page
                .iter()
                .map(|&p| {
                    Some(QueryScores {
                        page_ndcg_at_10: p,
                        ..QueryScores::default()
                    })
                })
                .collect(),
            seconds: 0.0,
        }
    }

    #[test]
    fn cross_validation_scores_each_fold_with_the_setting_chosen_on_the_others() {
        // Two folds: queries 0, 2 (fold 0) and 1, 3 (fold 1). Setting a wins on fold 1's
        // queries, setting b on fold 0's: each fold is scored with the other's winner.
        let a = hybrid(0.3, &[0.0, 1.0, 0.0, 1.0]);
        let b = hybrid(0.7, &[1.0, 0.0, 1.0, 0.0]);
        let results = vec![a, b];
        let cv = cross_validate(&results, 2, Selection::PageNdcgAt10).unwrap();
        assert_eq!(
            cv.chosen,
            [0, 1],
            "fold 0 is chosen on fold 1 (a), fold 1 on fold 0 (b)"
        );
        assert_eq!(
            cv.held_out.page_ndcg_at_10, 0.0,
            "overfitting shows as a held-out zero"
        );
        assert_eq!(cv.held_out.queries, 4);
        // One setting better everywhere is chosen for every fold.
        let weak = hybrid(0.3, &[0.0, 0.5, 0.0, 0.5]);
        let c = hybrid(0.5, &[1.0, 1.0, 1.0, 0.5]);
        let results = vec![weak, c];
        let cv = cross_validate(&results, 2, Selection::PageNdcgAt10).unwrap();
        assert_eq!(cv.chosen, [1, 1]);
        assert_eq!(cv.held_out.page_ndcg_at_10, 0.875);
        assert!(cross_validate(&results[..1], 2, Selection::PageNdcgAt10).is_none());
        assert!(cross_validation_text(&results, &cv).contains("weighted 0.50/0.50"));
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
