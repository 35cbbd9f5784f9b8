//! Bulk ingestion: inputs -> parse and chunk on rayon -> embed in large batches -> write the
//! indexes and SQL.
//!
//! Stages are connected by a bounded channel, so parsing runs ahead of embedding by at most two
//! groups of documents and memory stays bounded. A document becomes visible only when its segments
//! and its `completed` status are committed in one SQL transaction, after its index rows are
//! written; a run killed midway leaves documents in `indexing`, which the next run removes from
//! both indexes and redoes, so nothing is lost or duplicated.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indexes::{DatasetIndex, IndexRow};
use indicatif::{ProgressBar, ProgressStyle};
use pipelines::Embedder;
use pipelines::chunk::{Chunker, ProcessRule};
use pipelines::embed::EmbedCost;
use rayon::prelude::*;

use super::prepare::{PreparedDocument, prepare};
use super::source::{SkippedInput, SourceDocument, discover};
use super::{Engine, EngineError};
use crate::store::{CompletedDocument, Dataset, IndexingStatus, NewChildChunk, NewDocument, NewSegment};

/// What to ingest, and where.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub tenant_id: String,
    /// Dataset name; created with `template` when it does not exist.
    pub dataset: String,
    pub paths: Vec<PathBuf>,
    /// Pipeline template for a new dataset (default from config).
    pub template: Option<String>,
    /// Create a new dataset in economy mode: BM25 only, nothing embedded.
    pub economy: bool,
    /// Language of a new dataset's documents (Dify's `doc_language`: picks its full-text analyzer).
    pub doc_language: Option<String>,
    /// Embedding model of a new dataset (default: the default model for `doc_language`); an
    /// existing dataset keeps its own (`ragd reindex --embedding-model` changes it).
    pub embedding_model: Option<String>,
    pub progress: bool,
}

/// Where an ingest run spent its time. `prepare` is thread time (wall time per document) summed
/// over the rayon threads (reading, parsing, cleaning, chunking); `embed` and `write` are wall
/// time of the embedding calls and of the index and SQL writes, which overlap each other.
/// `embed_model` and `embed_tokenize` split the embedding calls as the embedder timed them.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    pub prepare: Duration,
    pub embed: Duration,
    pub embed_model: Duration,
    pub embed_tokenize: Duration,
    pub write: Duration,
}

/// Summary printed at the end of `ragd ingest`.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub dataset_id: String,
    /// Documents indexed in this run.
    pub documents: usize,
    /// Inputs already indexed with the same content.
    pub unchanged: usize,
    /// Documents that failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// Files that were not taken (unsupported type).
    pub skipped_inputs: Vec<SkippedInput>,
    /// Segments written.
    pub chunks: usize,
    /// Texts embedded (segments, or child chunks in parent-child datasets).
    pub embedded: usize,
    /// Tokens of the segments written (Dify's `tokens`).
    pub tokens: usize,
    /// Token positions the model computed, padding included (0: not reported by the embedder).
    pub positions: usize,
    pub stages: StageTimes,
    pub elapsed: Duration,
}

impl IngestReport {
    pub fn documents_per_second(&self) -> f64 {
        self.documents as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn chunks_per_second(&self) -> f64 {
        self.chunks as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn tokens_per_second(&self) -> f64 {
        self.tokens as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn add(&mut self, other: IngestReport) {
        self.documents += other.documents;
        self.chunks += other.chunks;
        self.embedded += other.embedded;
        self.tokens += other.tokens;
        self.positions += other.positions;
        self.failed.extend(other.failed);
        self.stages.embed += other.stages.embed;
        self.stages.embed_model += other.stages.embed_model;
        self.stages.embed_tokenize += other.stages.embed_tokenize;
        self.stages.write += other.stages.write;
    }
}

/// A group of documents whose rows are embedded, waiting to be written.
struct EmbeddedGroup {
    rows: Vec<IndexRow>,
    finished: Vec<CompletedDocument>,
    report: IngestReport,
}

/// Texts sent to the model per call from the ingest loop (the embedder batches further inside).
const EMBED_CALL_TEXTS: usize = 256;

impl Engine {
    /// Ingests files, folders and JSONL corpora into a dataset.
    pub async fn ingest(&self, options: IngestOptions) -> Result<IngestReport, EngineError> {
        let started = Instant::now();
        let (sources, skipped_inputs) = discover(&options.paths).map_err(EngineError::Input)?;
        let template_name = options
            .template
            .clone()
            .unwrap_or_else(|| self.config.ingest.template.clone());
        let template = pipelines::template::builtin_template(&template_name).ok_or_else(|| {
            let known: Vec<String> = pipelines::template::builtin_templates()
                .into_iter()
                .map(|t| t.name)
                .collect();
            EngineError::Input(format!(
                "unknown pipeline template {template_name:?}; known: {}",
                known.join(", ")
            ))
        })?;
        let rule_json = serde_json::to_value(&template.process_rule)
            .map_err(|e| EngineError::Input(format!("template {template_name}: {e}")))?;
        let model = match (&options.embedding_model, options.economy) {
            (_, true) => None,
            (Some(id), false) => {
                let info = self
                    .installed_model(id)
                    .ok_or_else(|| EngineError::UnknownModel(id.clone()))?;
                Some((info.id, info.dimension))
            }
            (None, false) => Some(self.default_model_for_language(options.doc_language.as_deref())),
        };
        let mut dataset = self
            .dataset_or_create(&options.tenant_id, &options.dataset, rule_json, model)
            .await?;
        if let (Some(named), Some(recorded)) = (&options.embedding_model, &dataset.embedding_model)
            && named != recorded
        {
            return Err(EngineError::Input(format!(
                "dataset {} is embedded with {recorded}; change its model with \
                 `ragd reindex --dataset {} --embedding-model {named}`",
                dataset.name, dataset.name
            )));
        }
        if let Some(language) = &options.doc_language {
            // Recorded only while the dataset has no document (the index analyzes with it).
            self.store.set_dataset_language(&dataset.id, language).await?;
            dataset = self.dataset_by_name(&options.tenant_id, &options.dataset).await?;
        }
        // Economy (keyword-only) datasets still chunk by the model's tokens, but nothing is embedded.
        let economy = dataset.indexing_technique.as_deref() == Some(super::ECONOMY);
        let embedder = self.embedder_for(&dataset).await?;
        if !economy {
            self.check_model(&dataset, embedder.as_ref())?;
        }
        let dataset = if !economy && dataset.embedding_model.is_none() {
            self.store
                .set_dataset_embedding(&dataset.id, embedder.model_id(), embedder.dimension())
                .await?;
            self.dataset_by_name(&options.tenant_id, &options.dataset).await?
        } else {
            dataset
        };
        let rule: ProcessRule = serde_json::from_value(dataset.process_rule.clone())
            .map_err(|e| EngineError::Input(format!("stored process rule of {}: {e}", dataset.name)))?;
        let chunker = Chunker::new(
            &rule,
            embedder.token_counter(),
            self.automatic_chunk_cap(embedder.max_tokens()),
        )?;
        let index = self.index(&dataset).await?;

        // Resume: documents of these inputs that never completed are removed and redone; completed
        // ones with the same content are skipped; completed ones whose content changed are replaced.
        let existing = self.store.documents_by_source(&dataset.id).await?;
        let wanted: HashSet<&str> = sources.iter().map(|s| s.source.as_str()).collect();
        let unfinished: Vec<String> = existing
            .values()
            .filter(|d| d.indexing_status != IndexingStatus::Completed && wanted.contains(d.source.as_str()))
            .map(|d| d.id.clone())
            .collect();
        if !unfinished.is_empty() {
            tracing::info!(
                documents = unfinished.len(),
                "removing documents left unfinished by an earlier run"
            );
            index.delete_documents(&unfinished).await?;
            self.store.delete_documents(&dataset.id, &unfinished).await?;
        }
        let completed: HashMap<String, (String, String)> = existing
            .into_values()
            .filter(|d| d.indexing_status == IndexingStatus::Completed)
            .map(|d| (d.source, (d.id, d.content_hash)))
            .collect();

        let mut report = IngestReport {
            dataset_id: dataset.id.clone(),
            skipped_inputs,
            ..Default::default()
        };
        let bar = progress_bar(options.progress, sources.len() as u64);
        let limits = self.parse_limits();
        let analyzer = index.analyzer();
        let hashes: HashMap<String, String> = completed
            .iter()
            .map(|(source, (_, hash))| (source.clone(), hash.clone()))
            .collect();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(Vec<PreparedDocument>, usize)>(2);
        let group_size = self.config.ingest.documents_per_batch.max(1);
        let pool = prepare_pool(self.config.ingest.prepare_threads)?;
        let prepare_nanos = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let prepare_clock = prepare_nanos.clone();
        let producer = std::thread::Builder::new()
            .name("ingest-prepare".into())
            .spawn(move || {
                let mut sources = sources;
                let mut size = 0;
                while !sources.is_empty() {
                    size = next_group_size(size, group_size);
                    let rest = sources.split_off(size.min(sources.len()));
                    let group: Vec<SourceDocument> = std::mem::replace(&mut sources, rest);
                    let total = group.len();
                    let prepared: Vec<PreparedDocument> = pool.install(|| {
                        group
                            .into_par_iter()
                            .filter_map(|doc| {
                                let started = Instant::now();
                                let unchanged = hashes.get(&doc.source).map(String::as_str);
                                let prepared = prepare(doc, &chunker, analyzer, &limits, unchanged);
                                let nanos = started.elapsed().as_nanos() as u64;
                                prepare_clock.fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
                                prepared
                            })
                            .collect()
                    });
                    let unchanged = total - prepared.len();
                    if tx.blocking_send((prepared, unchanged)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| EngineError::Task(format!("cannot start the prepare thread: {e}")))?;

        let batch = format!(
            "{}{:06}",
            chrono::Utc::now().format("%Y%m%d%H%M%S"),
            rand_suffix()
        );
        // Three stages overlap: the prepare thread runs ahead, and group N is written to the
        // indexes and SQL while group N+1 is embedded, so the model never waits for the writes.
        let model = (!economy).then_some(&embedder);
        let mut embedded: Option<EmbeddedGroup> = None;
        loop {
            let write = async {
                match embedded.take() {
                    Some(group) => {
                        self.write_group(&options.tenant_id, &dataset, &index, group, &bar)
                            .await
                    }
                    None => Ok(IngestReport::default()),
                }
            };
            let next = async {
                let Some((group, unchanged)) = rx.recv().await else {
                    return Ok(None);
                };
                bar.inc(unchanged as u64);
                let group = self
                    .embed_group(
                        &options.tenant_id,
                        &dataset,
                        &index,
                        model,
                        &batch,
                        &completed,
                        group,
                        &bar,
                    )
                    .await?;
                Ok::<_, EngineError>(Some((group, unchanged)))
            };
            let (written, next) = futures::try_join!(write, next)?;
            report.add(written);
            match next {
                Some((group, unchanged)) => {
                    report.unchanged += unchanged;
                    embedded = Some(group);
                }
                None => break,
            }
        }
        report.stages.prepare =
            Duration::from_nanos(prepare_nanos.load(std::sync::atomic::Ordering::Relaxed));
        let joined = tokio::task::spawn_blocking(move || producer.join())
            .await
            .map_err(|e| EngineError::Task(e.to_string()))?;
        if joined.is_err() {
            return Err(EngineError::Task(
                "the prepare stage panicked; documents not yet written will be redone on the next run".into(),
            ));
        }
        // Each write added a table version and files; compact once at the end of the run.
        index.optimize().await?;
        bar.finish_and_clear();
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Registers one group of prepared documents in SQL and embeds their rows (unless `model`
    /// is None: economy). Failed documents are marked failed here.
    #[allow(clippy::too_many_arguments)]
    async fn embed_group(
        &self,
        tenant_id: &str,
        dataset: &Dataset,
        index: &Arc<DatasetIndex>,
        model: Option<&Arc<dyn Embedder>>,
        batch: &str,
        completed: &HashMap<String, (String, String)>,
        group: Vec<PreparedDocument>,
        bar: &ProgressBar,
    ) -> Result<EmbeddedGroup, EngineError> {
        let mut out = IngestReport::default();
        if group.is_empty() {
            return Ok(EmbeddedGroup {
                rows: Vec::new(),
                finished: Vec::new(),
                report: out,
            });
        }
        // Inputs whose content changed replace their earlier document.
        let replaced: Vec<String> = group
            .iter()
            .filter_map(|p| completed.get(&p.source.source).map(|(id, _)| id.clone()))
            .collect();
        if !replaced.is_empty() {
            index.delete_documents(&replaced).await?;
            self.store.delete_documents(&dataset.id, &replaced).await?;
        }

        let ids: Vec<String> = group.iter().map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let new_docs: Vec<NewDocument> = group
            .iter()
            .zip(&ids)
            .map(|(p, id)| NewDocument {
                id: id.clone(),
                name: p.source.name.clone(),
                source: p.source.source.clone(),
                content_hash: p.content_hash.clone(),
                data_source_type: "upload_file".into(),
                doc_metadata: p.source.metadata.clone(),
            })
            .collect();
        self.store
            .insert_documents(tenant_id, &dataset.id, batch, &new_docs)
            .await?;

        let mut rows: Vec<IndexRow> = Vec::new();
        let mut finished: Vec<CompletedDocument> = Vec::new();
        for (prepared, document_id) in group.into_iter().zip(ids) {
            let text = match prepared.outcome {
                Ok(text) => text,
                Err(message) => {
                    tracing::warn!(document = %prepared.source.source, error = %message, "document failed");
                    self.store
                        .fail_document(&dataset.id, &document_id, &message)
                        .await?;
                    out.failed.push((prepared.source.source, message));
                    continue;
                }
            };
            let (doc_rows, doc) = segment_rows(&document_id, text.chunks, text.keywords, text.word_count);
            rows.extend(doc_rows);
            out.chunks += doc.segments.len();
            out.tokens += doc.tokens;
            finished.push(doc);
        }

        if let Some(model) = model {
            let started = Instant::now();
            let cost = embed_rows(model, &mut rows, bar).await?;
            out.embedded += cost.texts;
            out.positions += cost.positions;
            out.stages.embed = started.elapsed();
            out.stages.embed_model = cost.model;
            out.stages.embed_tokenize = cost.tokenize;
        }
        Ok(EmbeddedGroup {
            rows,
            finished,
            report: out,
        })
    }

    /// Writes an embedded group: index rows first, then the segments and `completed` status in
    /// one SQL transaction (so a crash in between leaves the documents to be redone).
    async fn write_group(
        &self,
        tenant_id: &str,
        dataset: &Dataset,
        index: &Arc<DatasetIndex>,
        group: EmbeddedGroup,
        bar: &ProgressBar,
    ) -> Result<IngestReport, EngineError> {
        let started = Instant::now();
        let mut out = group.report;
        if !group.rows.is_empty() {
            index.upsert(group.rows).await?;
        }
        if !group.finished.is_empty() {
            self.store
                .complete_documents(tenant_id, &dataset.id, &group.finished)
                .await?;
        }
        out.documents = group.finished.len();
        out.stages.write = started.elapsed();
        bar.inc((out.documents + out.failed.len()) as u64);
        Ok(out)
    }
}

/// Documents in the first group: small, so the model starts working after a few documents are
/// prepared instead of a whole group (on 400 documents, filling the pipeline with a full group of
/// 256 kept the model idle for a sizeable share of the run).
const FIRST_GROUP: usize = 8;

/// Size of the next group of documents after one of `previous` (0: none yet): groups start
/// small and double up to `max`.
fn next_group_size(previous: usize, max: usize) -> usize {
    let max = max.max(1);
    if previous == 0 {
        FIRST_GROUP.min(max)
    } else {
        previous.saturating_mul(2).min(max)
    }
}

/// Segment rows, child chunk rows and index rows (without vectors) for a document's chunks.
///
/// `keywords` (per chunk, missing ones empty) are stored with the segments; the index rows carry
/// none, as keywords extracted from a chunk are all in its text.
pub(super) fn segment_rows(
    document_id: &str,
    chunks: Vec<pipelines::Chunk>,
    keywords: Vec<Vec<String>>,
    word_count: usize,
) -> (Vec<IndexRow>, CompletedDocument) {
    let mut keywords = keywords.into_iter();
    let mut rows = Vec::with_capacity(chunks.len());
    let mut doc = CompletedDocument {
        document_id: document_id.to_string(),
        word_count,
        tokens: 0,
        segments: Vec::with_capacity(chunks.len()),
        children: Vec::new(),
    };
    for (position, chunk) in chunks.into_iter().enumerate() {
        let segment_id = uuid::Uuid::new_v4().to_string();
        doc.tokens += chunk.tokens;
        if chunk.children.is_empty() {
            rows.push(index_row(&segment_id, &segment_id, document_id, &chunk.text));
        }
        let (child_index_rows, children) = child_rows(&segment_id, document_id, chunk.children);
        rows.extend(child_index_rows);
        doc.children.extend(children);
        doc.segments.push(NewSegment {
            id: segment_id,
            position: position + 1,
            content: chunk.text,
            tokens: chunk.tokens,
            page: chunk.page,
            keywords: keywords.next().unwrap_or_default(),
        });
    }
    (rows, doc)
}

/// Child chunk rows (new ids, positions from 1) and their index rows for a parent segment.
/// In parent-child datasets the children are embedded and a hit returns their parent.
pub(super) fn child_rows(
    segment_id: &str,
    document_id: &str,
    children: Vec<pipelines::ChildChunk>,
) -> (Vec<IndexRow>, Vec<NewChildChunk>) {
    children
        .into_iter()
        .enumerate()
        .map(|(position, child)| {
            let child_id = uuid::Uuid::new_v4().to_string();
            let row = index_row(&child_id, segment_id, document_id, &child.text);
            let chunk = NewChildChunk {
                id: child_id,
                segment_id: segment_id.to_string(),
                position: position + 1,
                content: child.text,
            };
            (row, chunk)
        })
        .unzip()
}

/// An enabled index row without its vector: a segment (`id == segment_id`) or a child chunk.
pub(super) fn index_row(id: &str, segment_id: &str, document_id: &str, text: &str) -> IndexRow {
    IndexRow {
        id: id.to_string(),
        segment_id: segment_id.to_string(),
        document_id: document_id.to_string(),
        text: text.to_string(),
        keywords: Vec::new(),
        vector: None,
        enabled: true,
    }
}

/// Embeds the rows' texts off the async runtime, in calls of `EMBED_CALL_TEXTS`; returns what
/// that cost.
pub(super) async fn embed_rows(
    embedder: &Arc<dyn Embedder>,
    rows: &mut [IndexRow],
    bar: &ProgressBar,
) -> Result<EmbedCost, EngineError> {
    let mut total = EmbedCost::default();
    // Rows of similar length go to the same call (the rows keep their order): the embedder sorts
    // each call by tokens, but a call of rows in document order still spans every length, so its
    // batches were padded more (SciFact ingest: 229 s before, 213 s after).
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].text.len());
    for call in order.chunks(EMBED_CALL_TEXTS) {
        let texts: Vec<String> = call.iter().map(|&i| rows[i].text.clone()).collect();
        let model = embedder.clone();
        let embedded = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let embedded = model.embed_batch(&refs)?;
            let cost = embedded.cost;
            crate::metrics::embedding().record(refs.len(), cost.tokens, cost.tokenize + cost.model);
            Ok::<_, pipelines::EmbedError>(embedded)
        })
        .await
        .map_err(super::compute::resume_panic)??;
        for (&i, vector) in call.iter().zip(embedded.vectors) {
            rows[i].vector = Some(vector);
        }
        total += embedded.cost;
        bar.set_message(format!("{} texts embedded", total.texts));
    }
    Ok(total)
}

/// The rayon pool of the prepare stage: `threads` (default every core) at nice 10, below the
/// embedding model's threads. On 2 cores the model uses both; preparing runs ahead only in the
/// gaps, so it never slows embedding down (a preempted ONNX Runtime thread stalls every thread
/// of its operator).
fn prepare_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, EngineError> {
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|n| format!("ingest-prepare-{n}"))
        .start_handler(|_| lower_thread_priority())
        .build()
        .map_err(|e| EngineError::Task(format!("cannot start the prepare threads: {e}")))
}

/// Lowers the calling thread's scheduling priority (Linux threads have their own nice value).
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread's own id has no memory effects; failure
    // (e.g. a sandbox forbidding it) only leaves the priority unchanged.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

fn rand_suffix() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32 % 1_000_000
}

fn progress_bar(enabled: bool, total: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} documents ({per_sec}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_start_small_and_double_up_to_the_configured_size() {
        let mut sizes = Vec::new();
        let mut size = 0;
        for _ in 0..8 {
            size = next_group_size(size, 256);
            sizes.push(size);
        }
        assert_eq!(sizes, [8, 16, 32, 64, 128, 256, 256, 256]);
        assert_eq!(next_group_size(0, 4), 4);
        assert_eq!(next_group_size(0, 0), 1);
    }
}
