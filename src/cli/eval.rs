//! `ragd eval`: ingest (or reuse) a BEIR-layout set and score each search method and fusion
//! setting (see `crate::eval` for the metrics), optionally choosing the hybrid setting by
//! cross-validation.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use indexes::fusion::DEFAULT_RRF_K;
use indexes::{Fusion, SearchMethod};

use crate::config::Config;
use crate::engine::IngestOptions;
use crate::eval::{BeirSet, EvalRun, Selection};
use crate::rerank::RerankModel;
use crate::store::DEFAULT_TENANT;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Folder in BEIR layout: corpus.jsonl, queries[-<split>].jsonl, qrels/<split>.tsv.
    dir: PathBuf,
    /// Dataset holding the corpus (default: the folder name); created and ingested if needed,
    /// reused when its documents are already indexed.
    #[arg(long)]
    dataset: Option<String>,
    /// Qrels split (default: the only one, or `test`).
    #[arg(long)]
    split: Option<String>,
    /// Pipeline template for a new dataset.
    #[arg(long)]
    template: Option<String>,
    /// Language of the documents of a new dataset (Dify's `doc_language`, e.g. Korean): picks the
    /// full-text analyzer.
    #[arg(long)]
    doc_language: Option<String>,
    /// Embedding model of a new dataset (an installed model id; default: by language).
    #[arg(long)]
    embedding_model: Option<String>,
    /// Search methods to score (semantic, full_text, hybrid).
    #[arg(long, value_delimiter = ',', default_value = "semantic,full_text,hybrid")]
    methods: Vec<String>,
    /// Score only the first N queries of the split.
    #[arg(long)]
    max_queries: Option<usize>,
    /// Also choose the hybrid setting by cross-validation over this many folds of the queries
    /// (needs two or more hybrid settings), so a weight tuned on the queries it is scored on shows.
    #[arg(long)]
    folds: Option<usize>,
    /// Metric that chooses the setting in cross-validation: ndcg@5, ndcg@10 or page@10 (nDCG@10
    /// of the documents on the first page of 10 segments).
    #[arg(long, default_value = "page@10")]
    select_by: String,
    /// Do not ingest: score the dataset as it is.
    #[arg(long)]
    no_ingest: bool,
    /// Semantic weights of the weighted-fusion runs (keyword weight = 1 - weight).
    #[arg(long, value_delimiter = ',', default_value = "0.7")]
    vector_weights: Vec<f32>,
    /// RRF constants of the RRF runs (none: no RRF run).
    #[arg(long, value_delimiter = ',', default_value = "60")]
    rrf_k: Vec<f32>,
    /// Also score hybrid search (default fusion) reranked by this configured rerank model,
    /// named `PROVIDER/MODEL` (repeatable).
    #[arg(long, value_name = "PROVIDER/MODEL")]
    rerank: Vec<String>,
    /// Print the results as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the JSON results to this file.
    #[arg(long)]
    output: Option<PathBuf>,
}

impl EvalArgs {
    pub async fn execute(self, config: Config) -> anyhow::Result<()> {
        for w in &self.vector_weights {
            anyhow::ensure!(
                (0.0..=1.0).contains(w),
                "--vector-weights must be between 0 and 1"
            );
        }
        for k in &self.rrf_k {
            anyhow::ensure!(k.is_finite() && *k >= 0.0, "--rrf-k must be 0 or more");
        }
        let reranks = self
            .rerank
            .iter()
            .map(|name| {
                let (provider, model) = name
                    .rsplit_once('/')
                    .ok_or_else(|| anyhow::anyhow!("--rerank wants PROVIDER/MODEL, got {name:?}"))?;
                Ok(RerankModel {
                    provider: provider.into(),
                    model: model.into(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let selection = Selection::parse(&self.select_by)
            .ok_or_else(|| anyhow::anyhow!("--select-by wants ndcg@5, ndcg@10 or page@10"))?;
        let methods = self
            .methods
            .iter()
            .map(|m| match m.as_str() {
                "semantic" | "semantic_search" => Ok(SearchMethod::Semantic),
                "full_text" | "full_text_search" => Ok(SearchMethod::FullText),
                "hybrid" | "hybrid_search" => Ok(SearchMethod::Hybrid),
                other => Err(anyhow::anyhow!(
                    "--methods: unknown method {other:?} (semantic, full_text, hybrid)"
                )),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut set = BeirSet::open(&self.dir, self.split.as_deref())?;
        if let Some(n) = self.max_queries {
            set.queries.truncate(n);
        }
        let name = match &self.dataset {
            Some(name) => name.clone(),
            None => self
                .dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "eval".into()),
        };
        let progress = std::io::stderr().is_terminal();
        let engine = super::open_engine(config, progress).await?;
        if !self.no_ingest {
            let report = engine
                .ingest(IngestOptions {
                    tenant_id: DEFAULT_TENANT.into(),
                    dataset: name.clone(),
                    paths: vec![set.corpus.clone()],
                    template: self.template.clone(),
                    economy: false,
                    doc_language: self.doc_language.clone(),
                    embedding_model: self.embedding_model.clone(),
                    progress,
                })
                .await?;
            eprintln!(
                "dataset {name}: {} documents indexed, {} unchanged, {} failed",
                report.documents,
                report.unchanged,
                report.failed.len()
            );
        }
        let dataset = engine.dataset_by_name(DEFAULT_TENANT, &name).await?;
        let runs: Vec<EvalRun> = self
            .runs(&reranks)
            .into_iter()
            .filter(|run| methods.contains(&run.method))
            .collect();
        eprintln!(
            "scoring {} queries of split {} with {} settings",
            set.queries.len(),
            set.split,
            runs.len()
        );
        let results = crate::eval::evaluate(&engine, &dataset, &set, &runs).await?;
        let cv = self
            .folds
            .and_then(|folds| crate::eval::cross_validate(&results, folds, selection));
        let report = serde_json::json!({
            "dataset": name,
            "embedding_model": dataset.embedding_model,
            "doc_language": dataset.doc_language,
            "corpus": set.corpus.display().to_string(),
            "split": set.split,
            "queries": set.queries.len(),
            "runs": crate::eval::runs_json(&results),
            "cross_validation": cv.as_ref().map(|cv| crate::eval::cross_validation_json(&results, cv)),
        });
        if let Some(path) = &self.output {
            std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
        }
        if self.json {
            println!("{report}");
        } else {
            print!("{}", crate::eval::table(&results));
            if let Some(cv) = &cv {
                print!("{}", crate::eval::cross_validation_text(&results, cv));
            }
        }
        Ok(())
    }

    /// Semantic, full text, hybrid with each weighted and each RRF setting, then hybrid with the
    /// default fusion and each rerank model.
    fn runs(&self, reranks: &[RerankModel]) -> Vec<EvalRun> {
        let run = |method, fusion| EvalRun {
            method,
            fusion,
            rerank: None,
        };
        let mut runs = vec![
            run(SearchMethod::Semantic, Fusion::default()),
            run(SearchMethod::FullText, Fusion::default()),
        ];
        runs.extend(self.vector_weights.iter().map(|w| {
            run(
                SearchMethod::Hybrid,
                Fusion::Weighted {
                    vector_weight: *w,
                    keyword_weight: 1.0 - w,
                },
            )
        }));
        runs.extend(self.rrf_k.iter().map(|k| {
            run(
                SearchMethod::Hybrid,
                Fusion::Rrf {
                    k: if k.is_finite() { *k } else { DEFAULT_RRF_K },
                },
            )
        }));
        runs.extend(reranks.iter().map(|model| EvalRun {
            rerank: Some(model.clone()),
            ..run(SearchMethod::Hybrid, Fusion::default())
        }));
        runs
    }
}
