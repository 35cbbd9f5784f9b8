//! `ragd reindex`: rebuild a dataset's indexes from its stored segments into a new generation
//! beside the live one, which keeps serving queries; switch atomically at the end. Re-chunking
//! from the original content (`--rechunk`) lives in `rechunk.rs`.
//!
//! Resumable: segments are re-embedded page by page in id order and the last id written is
//! recorded after every page, so a killed rebuild continues where it stopped (rows are upserted
//! by id, so a replayed page duplicates nothing). Edits that reach the live generation while the
//! rebuild runs are applied again to the new one just before the switch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indexes::{DatasetIndex, IndexRow};
use indicatif::{ProgressBar, ProgressStyle};
use pipelines::Embedder;

use super::ingest::{embed_rows, index_row};
use super::{Engine, EngineError};
use crate::store::{Dataset, SegmentSource, now};

/// How a rebuild runs.
#[derive(Debug, Clone)]
pub struct ReindexOptions {
    /// Re-parse and re-chunk the documents from their original content with the current
    /// process rule, instead of re-embedding the stored segments.
    pub rechunk: bool,
    /// Model to embed into (an installed model's id); None: the dataset's own model if it is
    /// installed, else the default model.
    pub embedding_model: Option<String>,
    /// Segments re-embedded per page; progress is recorded after each page.
    pub page_segments: usize,
    /// Documents re-chunked per page (`rechunk`); progress is recorded after each page.
    pub page_documents: usize,
    /// Stop after this many pages, leaving the run to be resumed (bounds one invocation's time).
    pub max_pages: Option<usize>,
    pub progress: bool,
}

impl Default for ReindexOptions {
    fn default() -> Self {
        Self {
            rechunk: false,
            embedding_model: None,
            page_segments: 256,
            page_documents: 64,
            max_pages: None,
            progress: false,
        }
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReindexReport {
    pub dataset: String,
    pub generation: i64,
    pub model: Option<String>,
    /// Segments written (re-chunked ones when re-chunking, over the whole run).
    pub segments: usize,
    /// Re-chunking: documents cut anew, and documents that kept their segments (no original
    /// content, or changed during the rebuild).
    pub documents_rechunked: usize,
    pub documents_kept: usize,
    pub rows: usize,
    /// Rows written by an earlier, interrupted run that this one continued.
    pub resumed_rows: i64,
    /// False when the run stopped at `max_pages`: the live generation is unchanged.
    pub switched: bool,
    pub elapsed: Duration,
}

impl ReindexReport {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl Engine {
    /// Rebuilds `dataset`'s indexes with `options.embedding_model` (default: its own model if
    /// installed, else the default model; keyword-only datasets get a fresh full-text index) and
    /// switches to them.
    pub async fn reindex(
        &self,
        dataset: &Dataset,
        options: &ReindexOptions,
    ) -> Result<ReindexReport, EngineError> {
        let started = Instant::now();
        let economy = dataset.indexing_technique.as_deref() == Some("economy");
        let embedder = match (economy, &options.embedding_model, &dataset.embedding_model) {
            (true, _, _) => None,
            (false, Some(id), _) => Some(self.embedder_of(id).await?),
            (false, None, Some(id)) if self.installed_model(id).is_some() => {
                Some(self.embedder_of(id).await?)
            }
            (false, None, _) => Some(self.embedder().await?),
        };
        let model = embedder
            .as_ref()
            .map(|e| (e.model_id().to_string(), e.dimension()));

        let target = dataset.index_generation + 1;
        let run = match self.store.reindex_run(&dataset.id).await? {
            Some(run)
                if run.target_generation == target
                    && run.rechunk == options.rechunk
                    && run.embedding_model == model.as_ref().map(|(id, _)| id.clone()) =>
            {
                run
            }
            _ => {
                // A fresh start: whatever a stale run left in the target folder goes first.
                let dir = self.generation_dir(dataset, target);
                if dir.exists() {
                    tokio::fs::remove_dir_all(&dir)
                        .await
                        .map_err(|e| EngineError::Task(format!("cannot clear {}: {e}", dir.display())))?;
                }
                self.store
                    .start_reindex(
                        &dataset.tenant_id,
                        &dataset.id,
                        target,
                        model.as_ref().map(|(id, d)| (id.as_str(), *d)),
                        options.rechunk,
                    )
                    .await?
            }
        };
        let resumed_rows = run.rows_written;
        let index = DatasetIndex::open_with_options(
            &self.generation_dir(dataset, target),
            run.embedding_dimension,
            super::index_options(dataset, &self.config),
        )
        .await?;
        if options.rechunk {
            return self
                .rechunk_into(dataset, options, run, Arc::new(index), embedder)
                .await;
        }

        let total = self.store.count_indexable_segments(&dataset.id).await?;
        let bar = if options.progress {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} reindex [{bar:30}] {pos}/{len} segments {msg} ({eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        } else {
            ProgressBar::hidden()
        };

        let mut cursor = run.cursor.clone();
        let (mut segments, mut rows, mut pages) = (0usize, 0usize, 0usize);
        loop {
            if options.max_pages.is_some_and(|max| pages >= max) {
                bar.finish_and_clear();
                return Ok(ReindexReport {
                    dataset: dataset.name.clone(),
                    generation: dataset.index_generation,
                    model: model.map(|(id, _)| id),
                    segments,
                    rows,
                    resumed_rows,
                    switched: false,
                    elapsed: started.elapsed(),
                    ..ReindexReport::default()
                });
            }
            let page = self
                .store
                .segment_sources_after(&dataset.id, &cursor, options.page_segments.max(1) as i64)
                .await?;
            let Some(last) = page.last() else { break };
            let last_id = last.id.clone();
            let written = write_rows(&index, embedder.as_ref(), &page, &bar).await?;
            self.store
                .advance_reindex(&dataset.id, &last_id, written as i64)
                .await?;
            segments += page.len();
            rows += written;
            bar.inc(page.len() as u64);
            cursor = last_id;
            pages += 1;
        }

        // The live generation kept taking edits; apply them again, then switch.
        let changed = self
            .store
            .segment_sources_changed_since(&dataset.id, run.started_at)
            .await?;
        rows += write_rows(&index, embedder.as_ref(), &changed, &bar).await?;
        index.optimize().await?;
        let switch_started = now();
        let late = self
            .store
            .segment_sources_changed_since(&dataset.id, switch_started)
            .await?;
        rows += write_rows(&index, embedder.as_ref(), &late, &bar).await?;
        if !self.store.finish_reindex(&run).await? {
            return Err(EngineError::Input(format!(
                "dataset {:?} was switched to another index generation while rebuilding; run reindex again",
                dataset.name
            )));
        }
        bar.finish_and_clear();
        self.remove_old_generations(dataset, target).await;
        Ok(ReindexReport {
            dataset: dataset.name.clone(),
            generation: target,
            model: model.map(|(id, _)| id),
            segments,
            rows,
            resumed_rows,
            switched: true,
            elapsed: started.elapsed(),
            ..ReindexReport::default()
        })
    }

    /// Removes generations older than the one before `current`: that one stays so queries that
    /// opened it before the switch can finish; the next rebuild removes it.
    pub(super) async fn remove_old_generations(&self, dataset: &Dataset, current: i64) {
        let root = self.config.index_root().join(&dataset.id);
        let Ok(mut entries) = tokio::fs::read_dir(&root).await else {
            return;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name();
            let generation = name
                .to_str()
                .and_then(|n| n.strip_prefix("gen-"))
                .and_then(|g| g.parse::<i64>().ok());
            if let Some(generation) = generation
                && generation < current - 1
                && let Err(e) = tokio::fs::remove_dir_all(entry.path()).await
            {
                tracing::warn!(dataset_id = %dataset.id, generation, error = %e, "cannot remove an old index generation");
            }
        }
    }
}

/// Index rows of `sources` (children in parent-child datasets), embedded unless keyword-only,
/// upserted into `index`; returns how many rows were written.
pub(super) async fn write_rows(
    index: &DatasetIndex,
    embedder: Option<&Arc<dyn Embedder>>,
    sources: &[SegmentSource],
    bar: &ProgressBar,
) -> Result<usize, EngineError> {
    let mut rows: Vec<IndexRow> = Vec::with_capacity(sources.len());
    let analyzer = index.analyzer();
    for source in sources {
        if source.children.is_empty() {
            rows.push(index_row(
                &source.id,
                &source.id,
                &source.document_id,
                &source.content,
            ));
        } else {
            for (child_id, content) in &source.children {
                rows.push(index_row(child_id, &source.id, &source.document_id, content));
            }
        }
        let visible = source.enabled;
        let keywords = indexes::extra_keywords(analyzer, &source.content, &source.keywords);
        let start = rows.len() - source.children.len().max(1);
        for row in &mut rows[start..] {
            row.enabled = visible;
            row.keywords.clone_from(&keywords);
        }
    }
    if rows.is_empty() {
        return Ok(0);
    }
    if let Some(embedder) = embedder {
        embed_rows(embedder, &mut rows, bar).await?;
    }
    let written = rows.len();
    index.upsert(rows).await?;
    Ok(written)
}

/// The dataset with this id, or else this name.
pub async fn find_dataset(
    engine: &Engine,
    tenant_id: &str,
    id_or_name: &str,
) -> Result<Dataset, EngineError> {
    if let Some(dataset) = engine.store().dataset(tenant_id, id_or_name).await? {
        return Ok(dataset);
    }
    engine.dataset_by_name(tenant_id, id_or_name).await
}

impl Engine {
    /// Moves a dataset to the installed embedding model `id`: the dataset keeps serving with its
    /// current model while a rebuild (as `ragd reindex --embedding-model`) embeds every segment
    /// into the next generation, which then becomes live with the new model recorded. Returns at
    /// once; the rebuild runs in the background. Keyword-only datasets and datasets that already
    /// use `id` are left as they are.
    pub fn change_embedding_model(
        self: &Arc<Self>,
        dataset: &Dataset,
        id: &str,
    ) -> Result<bool, EngineError> {
        if self.installed_model(id).is_none() {
            return Err(EngineError::UnknownModel(id.to_string()));
        }
        if dataset.embedding_model.is_none() || dataset.embedding_model.as_deref() == Some(id) {
            return Ok(false);
        }
        let running = self
            .model_changes
            .lock()
            .map_err(|_| EngineError::Task("model change registry poisoned".into()))?
            .insert(dataset.id.clone());
        if !running {
            return Err(EngineError::Input(
                "The embedding model of this dataset is already being changed; try again when it is done."
                    .into(),
            ));
        }
        let engine = self.clone();
        let dataset = dataset.clone();
        let options = ReindexOptions {
            embedding_model: Some(id.to_string()),
            ..ReindexOptions::default()
        };
        tokio::spawn(async move {
            match engine.reindex(&dataset, &options).await {
                Ok(report) => tracing::info!(
                    dataset_id = %dataset.id,
                    model = %options.embedding_model.unwrap_or_default(),
                    segments = report.segments,
                    "embedding model changed"
                ),
                Err(error) => tracing::error!(
                    dataset_id = %dataset.id,
                    error = %error,
                    "changing the embedding model failed; the dataset keeps its model"
                ),
            }
            if let Ok(mut running) = engine.model_changes.lock() {
                running.remove(&dataset.id);
            }
        });
        Ok(true)
    }
}
