//! Embedding a document's existing segments (jobs of kind `embed_segments`): when a keyword-only
//! dataset switches to vector indexing, its documents keep their segments, with every edit made
//! to them, and gain vectors. Dify does the same (its `deal_dataset_vector_index_task` "add").

use indicatif::ProgressBar;

use super::index_document::{IndexJobError, completion_result};
use super::reindex::write_rows;
use super::{Engine, EngineError};
use crate::store::{Job, now};

impl Engine {
    /// Embeds the segments (or, in parent-child documents, the child chunks) of `job`'s document
    /// into the dataset's vector table, then marks the document completed again.
    pub async fn embed_document(&self, job: &Job) -> Result<(), IndexJobError> {
        let (dataset, document) = self.job_subjects(job).await?;
        self.stop_if_paused(&document.id).await?;
        let store = &self.store;
        if dataset.embedding_dimension.is_none() {
            // Switched back to keyword-only before this ran: the full-text rows are all it needs.
            let completion = store
                .complete_embedded_document(&dataset.id, &document.id, None)
                .await
                .map_err(EngineError::from)?;
            return completion_result(completion);
        }
        store
            .set_embedding_started(&document.id)
            .await
            .map_err(EngineError::from)?;
        let embedder = self.embedder_for(&dataset).await?;
        self.check_model(&dataset, embedder.as_ref())?;
        let index = self.index(&dataset).await?;
        let started = now();
        let sources = store
            .document_segment_sources(&document.id, 0)
            .await
            .map_err(EngineError::from)?;
        let bar = ProgressBar::hidden();
        write_rows(&index, Some(&embedder), &sources, &bar).await?;
        // Segment edits made meanwhile wrote their own rows, which the older text just written
        // may have replaced: write what changed since the start again.
        let changed = store
            .document_segment_sources(&document.id, started)
            .await
            .map_err(EngineError::from)?;
        write_rows(&index, Some(&embedder), &changed, &bar).await?;
        // The document may have been archived or un-archived meanwhile.
        match store
            .api_document(&dataset.id, &document.id)
            .await
            .map_err(EngineError::from)?
        {
            Some(current) if !current.enabled || current.archived => {
                index
                    .set_documents_enabled(std::slice::from_ref(&current.id), false)
                    .await
                    .map_err(EngineError::from)?;
            }
            Some(current) => self.show_document_rows(&index, &current.id).await?,
            None => return Err(IndexJobError::Document("the document no longer exists".into())),
        }
        let completion = store
            .complete_embedded_document(&dataset.id, &document.id, dataset.embedding_model.as_deref())
            .await
            .map_err(EngineError::from)?;
        completion_result(completion)
    }
}
