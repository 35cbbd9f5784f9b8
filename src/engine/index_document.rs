//! Indexing one uploaded document for a job: parse, chunk, embed, write, with Dify's stages.
//!
//! Idempotent: whatever an earlier, interrupted attempt left in the indexes or SQL for this
//! document is removed before the new segments are written, and the segments become visible with
//! the `completed` status in one transaction, so a retried job never duplicates anything.

use std::path::PathBuf;

use indicatif::ProgressBar;
use pipelines::chunk::{Chunker, ProcessRule};

use super::ingest::{embed_rows, segment_rows};
use super::prepare::prepare;
use super::source::{SourceContent, SourceDocument};
use super::{Engine, EngineError};
use crate::store::{Job, Stage};

/// How an indexing attempt ended, when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum IndexJobError {
    /// The document itself cannot be indexed (unreadable file, bad rule): retrying will not help.
    #[error("{0}")]
    Document(String),
    /// Something else failed (model, disk, database): worth retrying.
    #[error(transparent)]
    Transient(#[from] EngineError),
}

impl Engine {
    /// Where uploaded files are kept.
    pub fn file_store(&self) -> PathBuf {
        self.config.data_dir.join("files")
    }

    /// Indexes the document of `job`.
    pub async fn index_document(&self, job: &Job) -> Result<(), IndexJobError> {
        let store = &self.store;
        let dataset = store
            .dataset(&job.tenant_id, &job.dataset_id)
            .await
            .map_err(EngineError::from)?
            .ok_or_else(|| IndexJobError::Document("the dataset no longer exists".into()))?;
        let document = store
            .api_document(&job.dataset_id, &job.document_id)
            .await
            .map_err(EngineError::from)?
            .ok_or_else(|| IndexJobError::Document("the document no longer exists".into()))?;
        let file = document
            .file
            .clone()
            .ok_or_else(|| IndexJobError::Document("the document has no file".into()))?;
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
        let embedder = self.embedder().await?;
        self.check_model(&dataset, embedder.as_ref())?;
        let chunker = Chunker::new(&rule, embedder.token_counter(), embedder.max_tokens())
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
        let limits = self.config.ingest.parse_limits();
        let prepared = tokio::task::spawn_blocking(move || prepare(source, &chunker, &limits, None))
            .await
            .map_err(|e| EngineError::Task(e.to_string()))?
            .ok_or_else(|| IndexJobError::Document("nothing to index".into()))?;
        let text = prepared.outcome.map_err(IndexJobError::Document)?;
        store
            .set_document_stage(&document.id, Stage::Splitting)
            .await
            .map_err(EngineError::from)?;
        let (mut rows, completed) = segment_rows(&document.id, text.chunks, text.word_count);
        store
            .set_document_stage(&document.id, Stage::Indexing)
            .await
            .map_err(EngineError::from)?;

        // Remove what an interrupted attempt may have left, then write the new version.
        let index = self.index(&dataset).await?;
        index
            .delete_documents(std::slice::from_ref(&document.id))
            .await
            .map_err(EngineError::from)?;
        store
            .delete_document_segments(&document.id)
            .await
            .map_err(EngineError::from)?;
        embed_rows(&embedder, &mut rows, &ProgressBar::hidden()).await?;
        index.upsert(rows).await.map_err(EngineError::from)?;
        store
            .complete_documents(&job.tenant_id, &dataset.id, std::slice::from_ref(&completed))
            .await
            .map_err(EngineError::from)?;
        // A document disabled or archived while it was indexed stays out of search. Checked after
        // the rows are written, so a status change racing with this job is never lost.
        let current = store
            .api_document(&dataset.id, &document.id)
            .await
            .map_err(EngineError::from)?;
        if current.is_some_and(|d| !d.enabled || d.archived) {
            index
                .set_documents_enabled(std::slice::from_ref(&document.id), false)
                .await
                .map_err(EngineError::from)?;
        }
        Ok(())
    }
}
