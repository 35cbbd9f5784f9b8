//! Control of indexing that the knowledge API (and later the console) exposes: pause, resume and
//! retry of documents, and switching a dataset between keyword-only (`economy`) and vector
//! (`high_quality`) indexing.

use indexes::DatasetIndex;

use super::{Engine, EngineError};
use crate::store::{Dataset, DocumentRow, ProcessingOutcome};

/// Dify's message for a document id that names no document of the dataset.
const NOT_FOUND: &str = "Document Not Exists.";

/// Dify's `indexing_technique` values.
pub const HIGH_QUALITY: &str = "high_quality";
pub const ECONOMY: &str = "economy";

impl Engine {
    async fn processing_document(
        &self,
        dataset: &Dataset,
        document_id: &str,
    ) -> Result<DocumentRow, EngineError> {
        let id = uuid::Uuid::parse_str(document_id).map_err(|_| EngineError::NotFound(NOT_FOUND.into()))?;
        let document = self
            .store
            .api_document(&dataset.id, &id.to_string())
            .await?
            .ok_or_else(|| EngineError::NotFound(NOT_FOUND.into()))?;
        if document.archived {
            return Err(EngineError::ArchivedDocument);
        }
        Ok(document)
    }

    /// Pauses a queued or indexing document: workers leave its job alone until it is resumed.
    pub async fn pause_document(&self, dataset: &Dataset, document_id: &str) -> Result<(), EngineError> {
        let document = self.processing_document(dataset, document_id).await?;
        match self.store.pause_document(&dataset.id, &document.id).await? {
            ProcessingOutcome::Done => Ok(()),
            ProcessingOutcome::NotFound => Err(EngineError::NotFound(NOT_FOUND.into())),
            ProcessingOutcome::WrongState => Err(EngineError::DocumentIndexing(
                "Cannot pause completed document.".into(),
            )),
        }
    }

    /// Resumes a paused document: its job is queued again and redone from the start.
    pub async fn resume_document(&self, dataset: &Dataset, document_id: &str) -> Result<(), EngineError> {
        let document = self.processing_document(dataset, document_id).await?;
        match self.store.resume_document(&dataset.id, &document.id).await? {
            ProcessingOutcome::Done => Ok(()),
            ProcessingOutcome::NotFound => Err(EngineError::NotFound(NOT_FOUND.into())),
            ProcessingOutcome::WrongState => Err(EngineError::DocumentIndexing(
                "Document is not in paused status.".into(),
            )),
        }
    }

    /// Queues failed documents again. Every id is checked before anything changes (unknown: not
    /// found; archived; completed: already finished); documents still queued or indexing are left
    /// as they are. Returns the ids queued again.
    pub async fn retry_documents(
        &self,
        dataset: &Dataset,
        document_ids: &[String],
    ) -> Result<Vec<String>, EngineError> {
        let mut ids = Vec::with_capacity(document_ids.len());
        for id in document_ids {
            let document = self.processing_document(dataset, id).await?;
            if document.indexing_status == "completed" {
                return Err(EngineError::DocumentAlreadyFinished);
            }
            ids.push(document.id);
        }
        Ok(self
            .store
            .retry_documents(&dataset.tenant_id, &dataset.id, &ids)
            .await?)
    }

    /// Switches a dataset to `technique`. To `high_quality`: the requested embedding model (else
    /// the default for the dataset's language) is recorded and every completed document goes back through indexing, which embeds its
    /// existing segments (edits kept). To `economy`: the vector table is dropped and search is
    /// BM25 only. Returns the dataset as it is now.
    pub async fn set_indexing_technique(
        &self,
        dataset: &Dataset,
        technique: &str,
        requested_model: Option<&str>,
    ) -> Result<Dataset, EngineError> {
        let model = match technique {
            // A dataset that already records a model keeps it (a change of model is a rebuild,
            // see `change_embedding_model`); one that records none gets the requested model.
            HIGH_QUALITY => Some(match (&dataset.embedding_model, dataset.embedding_dimension) {
                (Some(model), Some(dimension)) => (model.clone(), dimension),
                _ => match requested_model.filter(|m| !m.is_empty()) {
                    Some(id) => {
                        let info = self
                            .installed_model(id)
                            .ok_or_else(|| EngineError::UnknownModel(id.to_string()))?;
                        (info.id, info.dimension)
                    }
                    None => self.default_model_for_language(Some(&dataset.doc_language)),
                },
            }),
            ECONOMY => None,
            other => {
                return Err(EngineError::Input(format!(
                    "Indexing technique {other:?} is invalid."
                )));
            }
        };
        let unchanged = dataset.indexing_technique.as_deref() == Some(technique)
            && dataset.embedding_model.is_some() == model.is_some();
        if unchanged {
            return Ok(dataset.clone());
        }
        let dir = self.index_dir(dataset);
        if model.is_some() && dataset.embedding_model.is_none() {
            // A clean vector table: anything a failed earlier switch left is gone before any
            // document is embedded into it (nothing writes vectors while the dataset has none).
            DatasetIndex::remove_vector_table(&dir).await?;
        }
        let model_ref = model.as_ref().map(|(id, dimension)| (id.as_str(), *dimension));
        let switched = self
            .store
            .switch_indexing_technique(dataset, technique, model_ref)
            .await?
            .ok_or_else(|| {
                EngineError::Input("The dataset was changed by another request; try again.".into())
            })?;
        if model.is_none() && dataset.embedding_model.is_some() {
            // After the switch is committed: jobs that still hold the old handle find the table
            // gone and are redone as keyword-only.
            DatasetIndex::remove_vector_table(&dir).await?;
        }
        Ok(switched)
    }
}
