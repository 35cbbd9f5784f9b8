//! `ragd reindex --rechunk`: re-parse and re-chunk a dataset's documents from their original
//! content with the current process rule, into a new index generation beside the live one.
//!
//! Documents are walked page by page in id order. A page's new segments get new ids; their index
//! rows go to the new generation and the segments themselves are staged in SQL beside the live
//! ones, with the page recorded as done, in one transaction. A killed run resumes after the last
//! recorded page; the page it was in is redone after its rows in the new generation are removed,
//! so nothing is duplicated. The switch replaces the live segments with the staged ones in the
//! same transaction that moves the dataset to the new generation, so queries see either the old
//! segments with the old index or the new segments with the new index.
//!
//! Original content: the stored upload file (text documents are stored as `.txt` uploads), or
//! the `ragd ingest` input when it still exists with the content that was indexed. A document
//! without one (or changed meanwhile, or that no longer parses) keeps its segments: they are
//! re-embedded as a plain rebuild does. So do documents changed while the rebuild runs (their
//! edits win over the re-chunk).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indexes::{DatasetIndex, IndexRow};
use indicatif::{ProgressBar, ProgressStyle};
use pipelines::Embedder;
use pipelines::chunk::{Chunker, ProcessRule};
use rayon::prelude::*;

use super::ingest::{embed_rows, segment_rows};
use super::prepare::prepare;
use super::reindex::{ReindexOptions, ReindexReport, write_rows};
use super::source::{SourceContent, SourceDocument, discover};
use super::{Engine, EngineError};
use crate::store::{CompletedDocument, Dataset, IndexingStatus, RechunkSource, ReindexRun, now};

/// A document of a page: re-chunked (its new segments and index rows) or kept as it is.
enum PageDocument {
    Rechunked {
        rows: Vec<IndexRow>,
        segments: CompletedDocument,
    },
    Kept(String),
}

impl Engine {
    /// Re-chunks `dataset` into `run`'s generation (opened as `index`) and switches to it.
    pub(super) async fn rechunk_into(
        &self,
        dataset: &Dataset,
        options: &ReindexOptions,
        run: ReindexRun,
        index: Arc<DatasetIndex>,
        embedder: Option<Arc<dyn Embedder>>,
    ) -> Result<ReindexReport, EngineError> {
        let started = Instant::now();
        // Chunks are sized by the model's tokens even in keyword-only datasets.
        let tokens = match &embedder {
            Some(embedder) => embedder.clone(),
            None => self.embedder_for(dataset).await?,
        };
        let limits = self.parse_limits();
        let mut chunkers: HashMap<String, Arc<Chunker>> = HashMap::new();
        let counts = self.store.count_documents(&dataset.id).await?;
        let total = counts.get(&IndexingStatus::Completed).copied().unwrap_or(0);
        let bar = progress_bar(options.progress, total as u64);
        let mut report = ReindexReport {
            dataset: dataset.name.clone(),
            generation: dataset.index_generation,
            model: run.embedding_model.clone(),
            resumed_rows: run.rows_written,
            ..ReindexReport::default()
        };

        let mut cursor = run.document_cursor.clone();
        let mut pages = 0usize;
        loop {
            if options.max_pages.is_some_and(|max| pages >= max) {
                bar.finish_and_clear();
                report.elapsed = started.elapsed();
                return Ok(report);
            }
            let page = self
                .store
                .rechunk_sources_after(&dataset.id, &cursor, options.page_documents.max(1) as i64)
                .await?;
            let Some(last) = page.last() else { break };
            let last_id = last.id.clone();
            let ids: Vec<String> = page.iter().map(|d| d.id.clone()).collect();

            // Each document is cut by its own rule when it has one, else by the dataset's.
            let mut work = Vec::with_capacity(page.len());
            for doc in &page {
                let rule = doc
                    .process_rule
                    .clone()
                    .unwrap_or_else(|| dataset.process_rule.to_string());
                let chunker = match chunkers.get(&rule) {
                    Some(chunker) => chunker.clone(),
                    None => {
                        let value: serde_json::Value = serde_json::from_str(&rule)
                            .map_err(|e| EngineError::Input(format!("stored process rule: {e}")))?;
                        let parsed = ProcessRule::from_json(&value)?;
                        let chunker = Arc::new(Chunker::new(
                            &parsed,
                            tokens.token_counter(),
                            self.automatic_chunk_cap(tokens.max_tokens()),
                        )?);
                        chunkers.insert(rule, chunker.clone());
                        chunker
                    }
                };
                work.push((doc.clone(), chunker));
            }
            let inputs = original_inputs(&page, &self.file_store());
            let limits = limits.clone();
            let analyzer = index.analyzer();
            let prepared = tokio::task::spawn_blocking(move || {
                work.into_par_iter()
                    .zip(inputs)
                    .map(|((doc, chunker), input)| rechunk_document(doc, input, &chunker, analyzer, &limits))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| EngineError::Task(e.to_string()))?;

            // Whatever an interrupted attempt at this page left in the new generation goes first.
            index.delete_documents(&ids).await?;
            let (mut rows, mut staged, mut kept) = (Vec::new(), Vec::new(), Vec::new());
            for document in prepared {
                match document {
                    PageDocument::Rechunked { rows: r, segments } => {
                        rows.extend(r);
                        staged.push(segments);
                    }
                    PageDocument::Kept(id) => kept.push(id),
                }
            }
            if let Some(embedder) = &embedder {
                embed_rows(embedder, &mut rows, &bar).await?;
            }
            let mut written = rows.len();
            if !rows.is_empty() {
                index.upsert(rows).await?;
            }
            written += self
                .keep_documents(&index, embedder.as_ref(), &kept, &bar)
                .await?;
            self.store
                .stage_rechunk(&run, &dataset.tenant_id, &ids, &staged, &last_id, written as i64)
                .await?;
            report.documents_rechunked += staged.len();
            report.documents_kept += kept.len();
            report.segments += staged.iter().map(|d| d.segments.len()).sum::<usize>();
            report.rows += written;
            bar.inc(page.len() as u64);
            cursor = last_id;
            pages += 1;
        }

        // Documents changed while the rebuild ran keep what the live generation has for them.
        let changed = self
            .store
            .documents_changed_since(&dataset.id, run.started_at)
            .await?;
        report.rows += self
            .keep_changed(&dataset.id, &index, embedder.as_ref(), &changed, &bar)
            .await?;
        index.optimize().await?;
        let switch_started = now();
        let late = self
            .store
            .documents_changed_since(&dataset.id, switch_started)
            .await?;
        report.rows += self
            .keep_changed(&dataset.id, &index, embedder.as_ref(), &late, &bar)
            .await?;
        // Whatever was disabled or archived meanwhile stays hidden in the new generation.
        let hidden = self.store.hidden_documents(&dataset.id).await?;
        if !hidden.is_empty() {
            index.set_documents_enabled(&hidden, false).await?;
        }
        // Counted over the whole run, resumed pages included.
        let (documents, segments) = self.store.count_staged(&dataset.id).await?;
        report.documents_rechunked = documents as usize;
        report.documents_kept = total.saturating_sub(report.documents_rechunked);
        report.segments = segments as usize;
        if !self.store.finish_rechunk(&run).await? {
            return Err(EngineError::Input(format!(
                "dataset {:?} was switched to another index generation while rebuilding; run reindex again",
                dataset.name
            )));
        }
        bar.finish_and_clear();
        self.remove_old_generations(dataset, run.target_generation).await;
        report.generation = run.target_generation;
        report.switched = true;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Writes the live segments of `documents` to the new generation (re-embedded); returns rows.
    async fn keep_documents(
        &self,
        index: &DatasetIndex,
        embedder: Option<&Arc<dyn Embedder>>,
        documents: &[String],
        bar: &ProgressBar,
    ) -> Result<usize, EngineError> {
        let mut written = 0;
        for document_id in documents {
            let sources = self.store.document_segment_sources(document_id, 0).await?;
            written += write_rows(index, embedder, &sources, bar).await?;
        }
        Ok(written)
    }

    /// Drops the staged segments and new rows of `documents`, then keeps their live ones.
    async fn keep_changed(
        &self,
        dataset_id: &str,
        index: &DatasetIndex,
        embedder: Option<&Arc<dyn Embedder>>,
        documents: &[String],
        bar: &ProgressBar,
    ) -> Result<usize, EngineError> {
        if documents.is_empty() {
            return Ok(0);
        }
        self.store.unstage_rechunk(dataset_id, documents).await?;
        index.delete_documents(documents).await?;
        self.keep_documents(index, embedder, documents, bar).await
    }
}

/// The original content of each document of a page, if it can still be had. Corpus lines are
/// read with one pass over each corpus file the page names.
fn original_inputs(page: &[RechunkSource], file_store: &Path) -> Vec<Option<SourceDocument>> {
    let mut corpora: HashMap<PathBuf, HashMap<String, SourceDocument>> = HashMap::new();
    for doc in page {
        if doc.file.is_none()
            && let Some(corpus) = corpus_path(&doc.source)
            && !corpora.contains_key(&corpus)
        {
            let lines = match discover(std::slice::from_ref(&corpus)) {
                Ok((docs, _)) => docs.into_iter().map(|d| (d.source.clone(), d)).collect(),
                Err(e) => {
                    tracing::warn!(corpus = %corpus.display(), error = %e, "cannot read a corpus to re-chunk");
                    HashMap::new()
                }
            };
            corpora.insert(corpus, lines);
        }
    }
    page.iter()
        .map(|doc| {
            let name = doc.name.clone();
            let metadata = doc
                .doc_metadata
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok());
            if let Some((key, extension)) = &doc.file {
                let format = pipelines::Format::from_extension(extension)?;
                return Some(SourceDocument {
                    source: doc.source.clone(),
                    name,
                    content: SourceContent::File {
                        path: file_store.join(key),
                        format,
                    },
                    metadata,
                });
            }
            if let Some(corpus) = corpus_path(&doc.source) {
                return corpora.get(&corpus)?.get(&doc.source).cloned();
            }
            let path = PathBuf::from(&doc.source);
            let extension = path.extension()?.to_str()?.to_ascii_lowercase();
            let format = pipelines::Format::from_extension(&extension)?;
            path.is_file().then(|| SourceDocument {
                source: doc.source.clone(),
                name,
                content: SourceContent::File { path, format },
                metadata,
            })
        })
        .collect()
}

/// `<path>.jsonl` of a `<path>.jsonl#<_id>` source whose corpus file exists.
fn corpus_path(source: &str) -> Option<PathBuf> {
    let (path, _) = source.rsplit_once('#')?;
    let path = PathBuf::from(path);
    (path.extension().is_some_and(|e| e.eq_ignore_ascii_case("jsonl")) && path.is_file()).then_some(path)
}

/// Parses and chunks one document from its original content; keeps it when that content is
/// gone, changed since it was indexed, or no longer parses.
fn rechunk_document(
    doc: RechunkSource,
    input: Option<SourceDocument>,
    chunker: &Chunker,
    analyzer: indexes::Analyzer,
    limits: &pipelines::parse::ParseLimits,
) -> PageDocument {
    let Some(input) = input else {
        return PageDocument::Kept(doc.id);
    };
    let Some(prepared) = prepare(input, chunker, analyzer, limits, None) else {
        return PageDocument::Kept(doc.id);
    };
    // Uploads are immutable; an ingest input may have been edited since it was indexed.
    if doc.file.is_none() && prepared.content_hash != doc.content_hash {
        tracing::info!(document = %doc.source, "input changed since it was indexed; keeping its segments");
        return PageDocument::Kept(doc.id);
    }
    match prepared.outcome {
        Ok(text) => {
            let (mut rows, segments) = segment_rows(&doc.id, text.chunks, text.keywords, text.word_count);
            for row in &mut rows {
                row.enabled = doc.visible;
            }
            PageDocument::Rechunked { rows, segments }
        }
        Err(message) => {
            tracing::warn!(document = %doc.source, error = %message, "cannot re-chunk; keeping its segments");
            PageDocument::Kept(doc.id)
        }
    }
}

fn progress_bar(enabled: bool, total: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} rechunk [{bar:30}] {pos}/{len} documents {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
