//! Indexing one uploaded document for a job: parse, chunk, embed, write, with Dify's stages.
//!
//! Idempotent: whatever an earlier, interrupted attempt left in the indexes or SQL for this
//! document is removed before the new segments are written, and the segments become visible with
//! the `completed` status in one transaction, so a retried job never duplicates anything.
//!
//! A paused document stops at the next stage (the job waits for a resume, then starts over). In a
//! keyword-only (`economy`) dataset nothing is embedded; the model's tokenizer still sizes the
//! chunks. If the dataset switches between keyword-only and vector indexing while a job runs,
//! its result is not recorded and the job runs again under the new setting.

use std::path::PathBuf;

use indexes::IndexRow;
use indicatif::ProgressBar;
use pipelines::chunk::{Chunker, ProcessRule};

use super::ingest::{embed_rows, segment_rows};
use super::prepare::prepare;
use super::source::{SourceContent, SourceDocument};
use super::{Engine, EngineError};
use crate::store::{CompletedDocument, Completion, Dataset, DocumentRow, Job, Stage};

/// A document parsed and chunked for its job, waiting for vectors (if its dataset has them)
/// and its writes.
struct SplitDocument {
    dataset: Dataset,
    document_id: String,
    rows: Vec<IndexRow>,
    completed: CompletedDocument,
    vectors: bool,
}

/// How an indexing attempt ended, when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum IndexJobError {
    /// The document itself cannot be indexed (unreadable file, bad rule): retrying will not help.
    #[error("{0}")]
    Document(String),
    /// The document was paused: the job waits until it is resumed.
    #[error("the document was paused")]
    Paused,
    /// The dataset switched between keyword-only and vector indexing while the job ran: its
    /// result was not recorded and the job must run again (not a failed attempt).
    #[error("the dataset's indexing technique changed while the document was indexed")]
    Superseded,
    /// Something else failed (model, disk, database): worth retrying.
    #[error(transparent)]
    Transient(EngineError),
}

impl From<EngineError> for IndexJobError {
    fn from(error: EngineError) -> Self {
        match error {
            // The handle's vector table was dropped by a switch to keyword-only.
            EngineError::Index(indexes::IndexError::Stale) => IndexJobError::Superseded,
            other => IndexJobError::Transient(other),
        }
    }
}

/// A job's end as its completion in SQL decided it.
pub(super) fn completion_result(completion: Completion) -> Result<(), IndexJobError> {
    match completion {
        Completion::Completed => Ok(()),
        Completion::Paused => Err(IndexJobError::Paused),
        Completion::ModelChanged => Err(IndexJobError::Superseded),
    }
}

impl Engine {
    /// Where uploaded files are kept.
    pub fn file_store(&self) -> PathBuf {
        self.config.data_dir.join("files")
    }

    /// The dataset and document a job works on.
    pub(super) async fn job_subjects(&self, job: &Job) -> Result<(Dataset, DocumentRow), IndexJobError> {
        let dataset = self
            .store
            .dataset(&job.tenant_id, &job.dataset_id)
            .await
            .map_err(EngineError::from)?
            .ok_or_else(|| IndexJobError::Document("the dataset no longer exists".into()))?;
        let document = self
            .store
            .api_document(&job.dataset_id, &job.document_id)
            .await
            .map_err(EngineError::from)?
            .ok_or_else(|| IndexJobError::Document("the document no longer exists".into()))?;
        Ok((dataset, document))
    }

    /// Stops a job at a stage boundary if its document was paused.
    pub(super) async fn stop_if_paused(&self, document_id: &str) -> Result<(), IndexJobError> {
        if self
            .store
            .document_paused(document_id)
            .await
            .map_err(EngineError::from)?
        {
            return Err(IndexJobError::Paused);
        }
        Ok(())
    }

    /// Indexes the document of `job`.
    pub async fn index_document(&self, job: &Job) -> Result<(), IndexJobError> {
        let mut results = self.index_documents(std::slice::from_ref(job)).await;
        results.pop().unwrap_or(Ok(()))
    }

    /// Indexes the documents of several jobs of one dataset: each is parsed and chunked on its
    /// own, their chunks are embedded together (so many small uploads share model batches), and
    /// each is written and completed on its own. Results come back in job order; one document's
    /// failure is its own.
    pub async fn index_documents(&self, jobs: &[Job]) -> Vec<Result<(), IndexJobError>> {
        let split = futures::future::join_all(jobs.iter().map(|job| self.split_document(job))).await;
        let mut results: Vec<Option<Result<(), IndexJobError>>> = Vec::with_capacity(jobs.len());
        let mut ready: Vec<(usize, SplitDocument)> = Vec::new();
        for (n, outcome) in split.into_iter().enumerate() {
            match outcome {
                Ok(document) => {
                    results.push(None);
                    ready.push((n, document));
                }
                Err(error) => results.push(Some(Err(error))),
            }
        }
        // One embedding pass over the chunks of every document that needs vectors.
        let mut rows: Vec<IndexRow> = Vec::new();
        let mut spans = Vec::new();
        for (_, document) in ready.iter_mut().filter(|(_, d)| d.vectors) {
            spans.push(document.rows.len());
            rows.append(&mut document.rows);
        }
        // The jobs are of one dataset, so of one model.
        let model_of = ready
            .iter()
            .find(|(_, d)| d.vectors)
            .map(|(_, d)| d.dataset.clone());
        let embedded = match model_of.filter(|_| !rows.is_empty()) {
            None => Ok(()),
            Some(dataset) => match self.embedder_for(&dataset).await {
                Ok(embedder) => embed_rows(&embedder, &mut rows, &ProgressBar::hidden())
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            },
        };
        let failure = embedded.err().map(|e| e.to_string());
        let mut rows = rows.into_iter();
        let mut spans = spans.into_iter();
        for (_, document) in ready.iter_mut().filter(|(_, d)| d.vectors) {
            let span = spans.next().unwrap_or(0);
            document.rows = rows.by_ref().take(span).collect();
        }
        for (n, document) in ready {
            results[n] = Some(match &failure {
                Some(message) if document.vectors => Err(IndexJobError::Transient(EngineError::Task(
                    format!("embedding failed: {message}"),
                ))),
                _ => self.write_document(&jobs[n], document).await,
            });
        }
        results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
    }

    /// Parses and chunks the document of `job` (stages parsing and splitting).
    async fn split_document(&self, job: &Job) -> Result<SplitDocument, IndexJobError> {
        let store = &self.store;
        let (dataset, document) = self.job_subjects(job).await?;
        let file = document
            .file
            .clone()
            .ok_or_else(|| IndexJobError::Document("the document has no file".into()))?;
        self.stop_if_paused(&document.id).await?;
        store
            .set_document_stage(&document.id, Stage::Parsing)
            .await
            .map_err(EngineError::from)?;

        let rule_json = match &document.process_rule {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| IndexJobError::Document(format!("process rule: {e}")))?,
            None => dataset.process_rule.clone(),
        };
        let rule = ProcessRule::from_json(&rule_json).map_err(|e| IndexJobError::Document(e.to_string()))?;
        let embedder = self.embedder_for(&dataset).await?;
        let vectors = dataset.embedding_dimension.is_some();
        if vectors {
            self.check_model(&dataset, embedder.as_ref())?;
        }
        let chunker = Chunker::new(
            &rule,
            embedder.token_counter(),
            self.automatic_chunk_cap(embedder.max_tokens()),
        )
        .map_err(|e| IndexJobError::Document(e.to_string()))?;
        let format = pipelines::Format::from_extension(&file.extension)
            .ok_or_else(|| IndexJobError::Document(format!("unsupported file type .{}", file.extension)))?;
        let source = SourceDocument {
            source: document.id.clone(),
            name: document.name.clone(),
            content: SourceContent::File {
                path: self.file_store().join(&file.storage_key),
                format,
            },
            metadata: None,
        };
        let limits = self.parse_limits();
        let analyzer = self.dataset_analyzer(&dataset).await?;
        let prepared =
            tokio::task::spawn_blocking(move || prepare(source, &chunker, analyzer, &limits, None))
                .await
                .map_err(|e| EngineError::Task(e.to_string()))?
                .ok_or_else(|| IndexJobError::Document("nothing to index".into()))?;
        let text = prepared.outcome.map_err(IndexJobError::Document)?;
        self.stop_if_paused(&document.id).await?;
        store
            .set_document_stage(&document.id, Stage::Splitting)
            .await
            .map_err(EngineError::from)?;
        let (rows, completed) = segment_rows(&document.id, text.chunks, text.keywords, text.word_count);
        self.stop_if_paused(&document.id).await?;
        store
            .set_document_stage(&document.id, Stage::Indexing)
            .await
            .map_err(EngineError::from)?;
        Ok(SplitDocument {
            dataset,
            document_id: document.id,
            rows,
            completed,
            vectors,
        })
    }

    /// Writes a split (and, with vectors, embedded) document to the indexes and completes it.
    async fn write_document(&self, job: &Job, split: SplitDocument) -> Result<(), IndexJobError> {
        let store = &self.store;
        let SplitDocument {
            dataset,
            document_id,
            rows,
            completed,
            ..
        } = split;

        // Remove what an interrupted attempt may have left, then write the new version.
        let index = self.index(&dataset).await?;
        index
            .delete_documents(std::slice::from_ref(&document_id))
            .await
            .map_err(EngineError::from)?;
        index.upsert(rows).await.map_err(EngineError::from)?;
        // Replaces the old segments and completes in one transaction, unless paused or switched.
        let completion = store
            .complete_indexed_document(
                &job.tenant_id,
                &dataset.id,
                &completed,
                dataset.embedding_model.as_deref(),
            )
            .await
            .map_err(EngineError::from)?;
        completion_result(completion)?;
        // A document disabled or archived while it was indexed stays out of search. Checked after
        // the rows are written, so a status change racing with this job is never lost.
        let current = store
            .api_document(&dataset.id, &document_id)
            .await
            .map_err(EngineError::from)?;
        if current.is_some_and(|d| !d.enabled || d.archived) {
            index
                .set_documents_enabled(std::slice::from_ref(&document_id), false)
                .await
                .map_err(EngineError::from)?;
        }
        Ok(())
    }
}
