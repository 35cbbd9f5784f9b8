//! `ragd reindex`: rebuild datasets' indexes from their stored segments (after a model change,
//! or to compact them), or re-chunk their documents from the original content (after a process
//! rule change), beside the live indexes, which keep serving until the switch.

use clap::Args;

use crate::config::Config;
use crate::engine::{ReindexOptions, find_dataset};
use crate::store::DEFAULT_TENANT;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["dataset", "all"])))]
pub struct ReindexArgs {
    /// The dataset to rebuild (id or name).
    #[arg(long)]
    dataset: Option<String>,
    /// Rebuild every dataset of the workspace.
    #[arg(long)]
    all: bool,
    /// Re-parse and re-chunk the documents from their stored files with the current process rule.
    #[arg(long)]
    rechunk: bool,
    /// Segments re-embedded between progress records.
    #[arg(long, default_value_t = 256)]
    page_segments: usize,
    /// Documents re-chunked between progress records (`--rechunk`).
    #[arg(long, default_value_t = 64)]
    page_documents: usize,
    /// Stop after this many pages; the next run resumes where this one stopped.
    #[arg(long)]
    max_pages: Option<usize>,
    /// Embed with this installed model (its id, e.g. intfloat/multilingual-e5-small-q4) instead of
    /// the dataset's own (or, if that is not installed, the default).
    #[arg(long)]
    embedding_model: Option<String>,
}

impl ReindexArgs {
    pub async fn execute(self, config: Config) -> anyhow::Result<()> {
        let engine = super::open_engine(config, true).await?;
        let datasets = match &self.dataset {
            Some(name) => vec![find_dataset(&engine, DEFAULT_TENANT, name).await?],
            None => engine.store().all_datasets(DEFAULT_TENANT).await?,
        };
        let options = ReindexOptions {
            rechunk: self.rechunk,
            embedding_model: self.embedding_model.clone(),
            page_segments: self.page_segments,
            page_documents: self.page_documents,
            max_pages: self.max_pages,
            progress: true,
        };
        for dataset in datasets {
            let report = engine.reindex(&dataset, &options).await?;
            if !report.switched {
                println!(
                    "paused {:?} after {} segments; run reindex again to continue",
                    report.dataset, report.segments
                );
                continue;
            }
            if self.rechunk {
                println!(
                    "re-chunked {} documents of {:?} into {} segments ({} documents kept their segments)",
                    report.documents_rechunked, report.dataset, report.segments, report.documents_kept
                );
            }
            println!(
                "reindexed {:?}: generation {}, {} segments, {} index rows ({} written before a restart), \
                 model {}, {:.1}s ({:.1} rows/s)",
                report.dataset,
                report.generation,
                report.segments,
                report.rows,
                report.resumed_rows,
                report.model.as_deref().unwrap_or("none (keyword only)"),
                report.elapsed.as_secs_f64(),
                report.rows_per_second(),
            );
        }
        Ok(())
    }
}
