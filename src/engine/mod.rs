//! The core that the CLI and the HTTP APIs share: datasets, ingestion and retrieval over the SQL
//! store, the pipelines and the hybrid index.

pub mod compute;
mod embed_document;
mod estimate;
mod index_document;
mod ingest;
pub mod metadata_filter;
mod prepare;
mod processing;
mod rechunk;
mod reindex;
mod search;
mod segments;
pub mod source;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use indexes::{Analyzer, DatasetIndex, IndexOptions};
use pipelines::Embedder;
use pipelines::parse::{ParseLimits, ParsePool};

pub use self::compute::QueryCompute;
pub use self::estimate::{ChunkEstimate, EstimateFile};
pub use self::index_document::IndexJobError;
pub use self::ingest::{IngestOptions, IngestReport};
pub use self::metadata_filter::MetadataFilter;
pub use self::processing::{ECONOMY, HIGH_QUALITY};
pub use self::reindex::{ReindexOptions, ReindexReport, find_dataset};
pub use self::search::{
    MAX_DEEP_TOP_K, MAX_QUERY_CHARS, MAX_TOP_K, MatchedChildChunk, SearchOptions, SearchResult,
};
pub use self::segments::{SegmentInput, SegmentUpdate};
use crate::config::Config;
use crate::rerank::RerankModels;
use crate::store::{Dataset, NewDataset, Store, StoreError};

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("dataset {0:?} not found")]
    DatasetNotFound(String),
    #[error(
        "dataset {dataset:?} was embedded with {dataset_model}, but the configured model is {configured}; \
         mixing models is refused (re-embed the dataset with `ragd reindex`, or configure its model)"
    )]
    ModelMismatch {
        dataset: String,
        dataset_model: String,
        configured: String,
    },
    #[error("invalid input: {0}")]
    Input(String),
    /// Something the request names does not exist, or is not in a state that allows the request
    /// (Dify answers 404 for both, e.g. "Document is not completed."); the text is Dify's message.
    #[error("{0}")]
    NotFound(String),
    /// Archived documents are read-only.
    #[error("the archived document is not editable")]
    ArchivedDocument,
    /// A document status action that is unknown or cannot apply; the text is Dify's message.
    #[error("{0}")]
    InvalidAction(String),
    /// The document's indexing state does not allow the request (Dify's `document_indexing`);
    /// the text is Dify's message.
    #[error("{0}")]
    DocumentIndexing(String),
    /// Retrying a document that indexed successfully (Dify's `document_already_finished`).
    #[error("the document has already been indexed")]
    DocumentAlreadyFinished,
    /// Deleting a dataset that apps are bound to (Dify's `dataset_in_use`).
    #[error("the dataset is used by apps")]
    DatasetInUse,
    #[error("invalid process rule: {0}")]
    Rule(#[from] pipelines::chunk::RuleError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] indexes::IndexError),
    #[error(transparent)]
    Embed(#[from] pipelines::EmbedError),
    #[error(transparent)]
    Model(#[from] crate::models::ModelError),
    #[error(transparent)]
    Rerank(#[from] pipelines::RerankError),
    #[error("background task failed: {0}")]
    Task(String),
    /// Every parse slot is taken (`ingest.parse_concurrency`); the request may be retried.
    #[error("{0}")]
    Busy(String),
}

/// Parse slots for `config`: `ingest.parse_concurrency`, or one per core.
fn config_parse_slots(config: &Config) -> usize {
    config
        .ingest
        .parse_concurrency
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
}

/// How a dataset's index generation is opened: its full-text analyzer follows the dataset's
/// document language.
pub(crate) fn index_options(dataset: &Dataset) -> IndexOptions {
    IndexOptions {
        analyzer: Analyzer::for_language(&dataset.doc_language),
        ..IndexOptions::default()
    }
}

/// The configured embedding model as the model-types API describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingModelInfo {
    pub id: String,
    pub dimension: usize,
    /// Tokens the model reads at most.
    pub context_size: usize,
    /// Texts embedded per model call.
    pub max_chunks: usize,
    /// The pinned default model (true) or a model configured from local files.
    pub predefined: bool,
}

type EmbedderLoader = Arc<dyn Fn() -> Result<Arc<dyn Embedder>, EngineError> + Send + Sync>;

/// Shared state of one ragd process: the store, the embedding model (loaded on first use) and
/// the open dataset indexes.
pub struct Engine {
    config: Config,
    store: Store,
    embedder: OnceLock<Arc<dyn Embedder>>,
    load_embedder: EmbedderLoader,
    indexes: Mutex<HashMap<IndexKey, Arc<DatasetIndex>>>,
    rerankers: Arc<RerankModels>,
    outbound: crate::outbound::Outbound,
    /// The slots every parse of this process takes: indexing waits for one, API requests get 429
    /// when none is free.
    parse_pool: ParsePool,
    /// The embedding model's instance for queries: its own sessions, so a query never waits for
    /// an ingest batch to let go of a session.
    query_embedder: OnceLock<Arc<dyn Embedder>>,
    load_query_embedder: EmbedderLoader,
    /// The bounded pool that query embeddings and reranks run on.
    query_compute: QueryCompute,
}

/// An open index: dataset id, index generation and vector dimension (None: keyword-only). The
/// dimension is part of the key because switching a dataset between keyword-only and vector
/// indexing keeps its generation but adds or removes the vector table.
type IndexKey = (String, i64, Option<usize>);

impl Engine {
    /// An engine that loads the configured embedding model (fetching it if needed) on first use.
    pub fn new(config: Config, store: Store, progress: bool) -> Self {
        let models = config.models.clone();
        let embedding = config.embedding.clone();
        let query_models = models.clone();
        let query_embedding = crate::config::EmbeddingConfig {
            sessions: Some(config.server.query_threads.max(1)),
            ..embedding.clone()
        };
        let load_embedder: EmbedderLoader = Arc::new(move || {
            let embedder = crate::models::load_embedder(&models, &embedding, progress)?;
            Ok(Arc::new(embedder) as Arc<dyn Embedder>)
        });
        let load_query_embedder: EmbedderLoader = Arc::new(move || {
            let embedder = crate::models::load_embedder(&query_models, &query_embedding, false)?;
            Ok(Arc::new(embedder) as Arc<dyn Embedder>)
        });
        let outbound = crate::outbound::Outbound::new(&config.security.outbound_allow);
        Self {
            query_compute: QueryCompute::new(config.server.query_threads, config.server.query_queue),
            query_embedder: OnceLock::new(),
            load_query_embedder,
            parse_pool: ParsePool::new(config_parse_slots(&config)),
            rerankers: Arc::new(RerankModels::new(&config.rerank, &config.models, &outbound)),
            outbound,
            config,
            store,
            embedder: OnceLock::new(),
            load_embedder,
            indexes: Mutex::new(HashMap::new()),
        }
    }

    /// An engine with a given embedder (tests, benchmarks); queries use it too.
    pub fn with_embedder(config: Config, store: Store, embedder: Arc<dyn Embedder>) -> Self {
        let outbound = crate::outbound::Outbound::new(&config.security.outbound_allow);
        let engine = Self {
            query_compute: QueryCompute::new(config.server.query_threads, config.server.query_queue),
            query_embedder: OnceLock::new(),
            load_query_embedder: Arc::new(|| Err(EngineError::Task("embedder already set".into()))),
            parse_pool: ParsePool::new(config_parse_slots(&config)),
            rerankers: Arc::new(RerankModels::new(&config.rerank, &config.models, &outbound)),
            outbound,
            config,
            store,
            embedder: OnceLock::new(),
            load_embedder: Arc::new(|| Err(EngineError::Task("embedder already set".into()))),
            indexes: Mutex::new(HashMap::new()),
        };
        let _ = engine.query_embedder.set(embedder.clone());
        let _ = engine.embedder.set(embedder);
        engine
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configured parser limits, with this process's parse pool: `parse_guarded` waits for
    /// a slot (indexing), `try_parse_guarded` answers [`pipelines::ParseError::Busy`] at once
    /// (parses a request waits for).
    pub fn parse_limits(&self) -> ParseLimits {
        ParseLimits {
            pool: Some(self.parse_pool.clone()),
            ..self.config.ingest.parse_limits()
        }
    }

    /// The parse pool (its occupancy, for tests and metrics).
    pub fn parse_pool(&self) -> &ParsePool {
        &self.parse_pool
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The client for requests to model providers (see `outbound`).
    pub fn outbound(&self) -> &crate::outbound::Outbound {
        &self.outbound
    }

    /// The configured rerank models.
    pub fn rerank_models(&self) -> &RerankModels {
        &self.rerankers
    }

    /// The embedding model, loaded on first call (off the async runtime's worker threads).
    pub async fn embedder(&self) -> Result<Arc<dyn Embedder>, EngineError> {
        if let Some(embedder) = self.embedder.get() {
            return Ok(embedder.clone());
        }
        let loader = self.load_embedder.clone();
        let loaded = tokio::task::spawn_blocking(move || loader())
            .await
            .map_err(|e| EngineError::Task(e.to_string()))??;
        Ok(self.embedder.get_or_init(|| loaded).clone())
    }

    /// The embedding model's instance for queries (its own sessions), loaded on first call.
    pub async fn query_embedder(&self) -> Result<Arc<dyn Embedder>, EngineError> {
        if let Some(embedder) = self.query_embedder.get() {
            return Ok(embedder.clone());
        }
        let loader = self.load_query_embedder.clone();
        let loaded = tokio::task::spawn_blocking(move || loader())
            .await
            .map_err(|e| EngineError::Task(e.to_string()))??;
        Ok(self.query_embedder.get_or_init(|| loaded).clone())
    }

    /// The bounded pool queries compute on.
    pub fn query_compute(&self) -> &QueryCompute {
        &self.query_compute
    }

    /// Id and dimension of the configured embedding model, without loading it.
    pub fn configured_model(&self) -> (String, usize) {
        if let Some(embedder) = self.embedder.get() {
            return (embedder.model_id().to_string(), embedder.dimension());
        }
        match &self.config.embedding.onnx {
            None => (
                crate::models::default_model_id(self.config.embedding.variant).to_string(),
                crate::models::registry::DEFAULT_MODEL_DIMENSION,
            ),
            Some(_) => (
                self.config.embedding.model_id.clone().unwrap_or_default(),
                self.config.embedding.dimension.unwrap_or_default(),
            ),
        }
    }

    /// What the model-types API reports about the configured embedding model, without loading it.
    pub fn embedding_model_info(&self) -> EmbeddingModelInfo {
        let (id, dimension) = self.configured_model();
        let predefined = self.config.embedding.onnx.is_none();
        let context_size = if predefined {
            crate::models::registry::DEFAULT_MODEL_MAX_LENGTH
        } else {
            self.config.embedding.max_length.unwrap_or(512)
        };
        EmbeddingModelInfo {
            id,
            dimension,
            context_size,
            max_chunks: self.config.embedding.batch_size,
            predefined,
        }
    }

    /// Deletes a dataset: its SQL rows first (the source of truth), then its index files.
    /// Deletes a dataset and its index files. A dataset that apps are bound to is refused, for
    /// every API alike (Dify: unbind it from the apps first).
    pub async fn delete_dataset(&self, dataset: &Dataset) -> Result<(), EngineError> {
        if !self
            .store
            .apps_using_dataset(&dataset.tenant_id, &dataset.id)
            .await?
            .is_empty()
        {
            return Err(EngineError::DatasetInUse);
        }
        self.store.delete_dataset(&dataset.tenant_id, &dataset.id).await?;
        self.indexes
            .lock()
            .map_err(|_| EngineError::Task("index cache poisoned".into()))?
            .retain(|(id, _, _), _| id != &dataset.id);
        let dir = self.config.index_root().join(&dataset.id);
        if dir.exists()
            && let Err(e) = tokio::fs::remove_dir_all(&dir).await
        {
            // The dataset is gone from SQL; leftover files are harmless and logged.
            tracing::warn!(dataset_id = %dataset.id, error = %e, "cannot remove index files");
        }
        Ok(())
    }

    /// Deletes a document: SQL first (a hit on a leftover index row is ignored by search), then
    /// both indexes, before the caller answers.
    pub async fn delete_document(&self, dataset: &Dataset, document_id: &str) -> Result<(), EngineError> {
        let ids = [document_id.to_string()];
        self.store.delete_api_document(&dataset.id, document_id).await?;
        self.index(dataset).await?.delete_documents(&ids).await?;
        Ok(())
    }

    /// Folder of a dataset's index generation.
    pub fn index_dir(&self, dataset: &Dataset) -> PathBuf {
        self.generation_dir(dataset, dataset.index_generation)
    }

    /// Folder of any generation of a dataset's indexes (a rebuild writes the next one).
    fn generation_dir(&self, dataset: &Dataset, generation: i64) -> PathBuf {
        self.config
            .index_root()
            .join(&dataset.id)
            .join(format!("gen-{generation}"))
    }

    /// The open index of a dataset's current generation, with a vector table unless the dataset
    /// is keyword-only.
    pub async fn index(&self, dataset: &Dataset) -> Result<Arc<DatasetIndex>, EngineError> {
        let key = (
            dataset.id.clone(),
            dataset.index_generation,
            dataset.embedding_dimension,
        );
        if let Some(index) = self
            .indexes
            .lock()
            .map_err(|_| EngineError::Task("index cache poisoned".into()))?
            .get(&key)
        {
            return Ok(index.clone());
        }
        let index = Arc::new(
            DatasetIndex::open_with_options(
                &self.index_dir(dataset),
                dataset.embedding_dimension,
                index_options(dataset),
            )
            .await?,
        );
        let mut cache = self
            .indexes
            .lock()
            .map_err(|_| EngineError::Task("index cache poisoned".into()))?;
        // A rebuild switched generations, or the dataset switched between keyword-only and vector
        // indexing: let go of the older handles (queries holding them finish).
        cache.retain(|(id, generation, dimension), _| {
            id != &dataset.id
                || *generation > dataset.index_generation
                || (*generation == dataset.index_generation && *dimension == dataset.embedding_dimension)
        });
        Ok(cache.entry(key).or_insert(index).clone())
    }

    /// The open index of a dataset's current generation, None when no document was ever indexed
    /// into it: reads do not create an index, so the first write builds it with the analyzer of
    /// the language the first document brought.
    pub async fn existing_index(&self, dataset: &Dataset) -> Result<Option<Arc<DatasetIndex>>, EngineError> {
        let cached = self
            .indexes
            .lock()
            .map_err(|_| EngineError::Task("index cache poisoned".into()))?
            .contains_key(&(
                dataset.id.clone(),
                dataset.index_generation,
                dataset.embedding_dimension,
            ));
        if !cached && !DatasetIndex::exists(&self.index_dir(dataset)) {
            return Ok(None);
        }
        self.index(dataset).await.map(Some)
    }

    /// The dataset with this name in the tenant.
    pub async fn dataset_by_name(&self, tenant_id: &str, name: &str) -> Result<Dataset, EngineError> {
        self.store
            .dataset_by_name(tenant_id, name)
            .await?
            .ok_or_else(|| EngineError::DatasetNotFound(name.to_string()))
    }

    /// The dataset with this name, created with the embedder's model and `process_rule` if new.
    pub async fn dataset_or_create(
        &self,
        tenant_id: &str,
        name: &str,
        process_rule: serde_json::Value,
        economy: bool,
    ) -> Result<Dataset, EngineError> {
        if let Some(dataset) = self.store.dataset_by_name(tenant_id, name).await? {
            return Ok(dataset);
        }
        let (embedding_model, embedding_dimension, technique) = if economy {
            (None, None, "economy")
        } else {
            let embedder = self.embedder().await?;
            (
                Some(embedder.model_id().to_string()),
                Some(embedder.dimension()),
                "high_quality",
            )
        };
        let new = NewDataset {
            tenant_id: tenant_id.to_string(),
            name: name.to_string(),
            embedding_model,
            embedding_dimension,
            doc_form: "text_model".into(),
            process_rule,
            description: String::new(),
            indexing_technique: Some(technique.into()),
            permission: "only_me".into(),
            retrieval_model: None,
            created_by: None,
        };
        match self.store.create_dataset(new).await {
            Ok(dataset) => Ok(dataset),
            // Created concurrently by another process: use theirs.
            Err(StoreError::DuplicateDatasetName(_)) => self.dataset_by_name(tenant_id, name).await,
            Err(e) => Err(e.into()),
        }
    }

    /// Refuses to embed into, or query, a dataset with a different model than the configured one.
    pub fn check_model(&self, dataset: &Dataset, embedder: &dyn Embedder) -> Result<(), EngineError> {
        match &dataset.embedding_model {
            Some(model) if model != embedder.model_id() => Err(EngineError::ModelMismatch {
                dataset: dataset.name.clone(),
                dataset_model: model.clone(),
                configured: embedder.model_id().to_string(),
            }),
            Some(_) | None => Ok(()),
        }
    }
}
