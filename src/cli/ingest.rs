//! `ragd ingest`: bulk-load inputs into a dataset and print a summary.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use crate::config::Config;
use crate::engine::IngestOptions;
use crate::store::DEFAULT_TENANT;

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files, folders or JSONL corpora (`_id`, `title`, `text` per line).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Dataset name; created if it does not exist.
    #[arg(long)]
    dataset: String,
    /// Pipeline template for a new dataset (see pipelines/templates).
    #[arg(long)]
    template: Option<String>,
    /// Create a new dataset in economy mode (BM25 only, no embeddings).
    #[arg(long)]
    economy: bool,
    /// Language of a new dataset's documents (Dify's `doc_language`, e.g. Korean): picks its
    /// full-text analyzer and, when not English, the multilingual model.
    #[arg(long)]
    doc_language: Option<String>,
    /// Embedding model of a new dataset (an installed model id; default: by language).
    #[arg(long)]
    embedding_model: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

impl IngestArgs {
    pub async fn execute(self, config: Config) -> anyhow::Result<()> {
        let progress = std::io::stderr().is_terminal();
        let engine = super::open_engine(config, true).await?;
        let report = engine
            .ingest(IngestOptions {
                tenant_id: DEFAULT_TENANT.into(),
                dataset: self.dataset.clone(),
                paths: self.paths,
                template: self.template,
                economy: self.economy,
                doc_language: self.doc_language,
                embedding_model: self.embedding_model,
                progress,
            })
            .await?;
        if self.json {
            let failed: Vec<_> = report
                .failed
                .iter()
                .map(|(s, e)| serde_json::json!({"source": s, "error": e}))
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "dataset": self.dataset,
                    "dataset_id": report.dataset_id,
                    "documents": report.documents,
                    "unchanged": report.unchanged,
                    "failed": failed,
                    "skipped_inputs": report.skipped_inputs.len(),
                    "chunks": report.chunks,
                    "embedded": report.embedded,
                    "tokens": report.tokens,
                    "seconds": report.elapsed.as_secs_f64(),
                    "documents_per_second": report.documents_per_second(),
                    "chunks_per_second": report.chunks_per_second(),
                })
            );
            return Ok(());
        }
        for skipped in &report.skipped_inputs {
            eprintln!("skipped {}: {}", skipped.path.display(), skipped.reason);
        }
        for (source, error) in &report.failed {
            eprintln!("failed  {source}: {error}");
        }
        println!(
            "dataset {}: {} documents indexed, {} unchanged, {} failed, {} chunks in {:.1}s ({:.1} docs/s, {:.1} chunks/s)",
            self.dataset,
            report.documents,
            report.unchanged,
            report.failed.len(),
            report.chunks,
            report.elapsed.as_secs_f64(),
            report.documents_per_second(),
            report.chunks_per_second(),
        );
        Ok(())
    }
}
