//! `ragd search`: query a dataset from the command line.

use clap::{Args, ValueEnum};
use indexes::{Fusion, SearchMethod};

use crate::config::Config;
use crate::engine::SearchOptions;
use crate::store::DEFAULT_TENANT;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Method {
    Semantic,
    /// BM25 full text (also accepted as `full-text`).
    #[value(name = "full_text", alias = "full-text")]
    FullText,
    Hybrid,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FusionKind {
    Weighted,
    Rrf,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query text.
    query: String,
    #[arg(long)]
    dataset: String,
    #[arg(long, value_enum, default_value = "hybrid")]
    method: Method,
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Drop hits scoring below this (0..1).
    #[arg(long)]
    score_threshold: Option<f32>,
    /// How hybrid search merges its two lists.
    #[arg(long, value_enum, default_value = "weighted")]
    fusion: FusionKind,
    /// Weight of the semantic score in weighted fusion (the keyword weight is 1 minus this).
    #[arg(long, default_value_t = 0.7)]
    vector_weight: f32,
    /// Print results as JSON lines.
    #[arg(long)]
    json: bool,
}

impl SearchArgs {
    pub async fn execute(self, config: Config) -> anyhow::Result<()> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.vector_weight),
            "--vector-weight must be between 0 and 1"
        );
        let engine = super::open_engine(config, true).await?;
        let fusion = match self.fusion {
            FusionKind::Weighted => Fusion::Weighted {
                vector_weight: self.vector_weight,
                keyword_weight: 1.0 - self.vector_weight,
            },
            FusionKind::Rrf => Fusion::Rrf { k: 60.0 },
        };
        let results = engine
            .search(SearchOptions {
                tenant_id: DEFAULT_TENANT.into(),
                dataset: self.dataset,
                query: self.query,
                method: match self.method {
                    Method::Semantic => SearchMethod::Semantic,
                    Method::FullText => SearchMethod::FullText,
                    Method::Hybrid => SearchMethod::Hybrid,
                },
                top_k: self.top_k,
                score_threshold: self.score_threshold,
                fusion,
                document_ids: None,
                metadata_filter: None,
                rerank: None,
            })
            .await?;
        for (rank, result) in results.iter().enumerate() {
            if self.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "rank": rank + 1,
                        "score": result.score,
                        "vector_score": result.vector_score,
                        "keyword_score": result.keyword_score,
                        "segment_id": result.segment.id,
                        "document_id": result.segment.document_id,
                        "document": result.segment.document_name,
                        "page": result.segment.page,
                        "content": result.segment.content,
                    })
                );
            } else {
                let snippet: String = result
                    .segment
                    .content
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let snippet: String = snippet.chars().take(160).collect();
                let page = result.segment.page.map(|p| format!(" p.{p}")).unwrap_or_default();
                println!(
                    "{:>2}. {:.3}  {}{page}\n    {snippet}",
                    rank + 1,
                    result.score,
                    result.segment.document_name
                );
            }
        }
        if results.is_empty() && !self.json {
            println!("no results");
        }
        Ok(())
    }
}
