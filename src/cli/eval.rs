//! `ragd eval`: ingest (or reuse) a BEIR-layout set and score each search method and fusion
//! setting with nDCG@10, recall@100 and MRR@10.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use indexes::fusion::DEFAULT_RRF_K;
use indexes::{Fusion, SearchMethod};

use crate::config::Config;
use crate::engine::IngestOptions;
use crate::eval::{BeirSet, EvalRun};
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
        let set = BeirSet::open(&self.dir, self.split.as_deref())?;
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
        let runs = self.runs(&reranks);
        eprintln!(
            "scoring {} queries of split {} with {} settings",
            set.queries.len(),
            set.split,
            runs.len()
        );
        let results = crate::eval::evaluate(&engine, &dataset, &set, &runs).await?;
        let report = serde_json::json!({
            "dataset": name,
            "corpus": set.corpus.display().to_string(),
            "split": set.split,
            "queries": set.queries.len(),
            "runs": crate::eval::runs_json(&results),
        });
        if let Some(path) = &self.output {
            std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
        }
        if self.json {
            println!("{report}");
        } else {
            print!("{}", crate::eval::table(&results));
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
