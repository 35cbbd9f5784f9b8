//! The core that the CLI and the HTTP APIs share: datasets, ingestion and retrieval over the SQL
//! store, the pipelines and the hybrid index.

pub mod compute;
mod embed_document;
mod estimate;
pub mod external;
mod index_document;
mod ingest;
pub mod language;
pub mod metadata_filter;
mod prepare;
mod processing;
mod rechunk;
mod reindex;
mod search;
mod segments;
pub mod source;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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
use crate::config::{Config, PredefinedModel};
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
    #[error("embedding model {0:?} is not installed on this server")]
    UnknownModel(String),
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
pub(crate) fn index_options(dataset: &Dataset, config: &Config) -> IndexOptions {
    let analyzer = match Analyzer::for_language(&dataset.doc_language) {
        Analyzer::CjkBigram if config.ingest.cjk_unigrams => Analyzer::CjkUnigramBigram,
        analyzer => analyzer,
    };
    IndexOptions {
        analyzer,
        ..IndexOptions::default()
    }
}

/// The language of a new document, as Dify names languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLanguage {
    pub name: String,
    /// Told from the document's text, not named by the client.
    pub detected: bool,
}

/// An installed embedding model as the model-types API describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingModelInfo {
    pub id: String,
    pub dimension: usize,
    /// Tokens the model reads at most.
    pub context_size: usize,
    /// Texts embedded per model call.
    pub max_chunks: usize,
    /// A pinned model (true) or a model configured from local files.
    pub predefined: bool,
}

/// Loads the model with the given id (one the engine lists as installed).
type EmbedderLoader = Arc<dyn Fn(&str) -> Result<Arc<dyn Embedder>, EngineError> + Send + Sync>;

/// Shared state of one ragd process: the store, the embedding models (each loaded on first use
/// and kept), and the open dataset indexes.
pub struct Engine {
    config: Config,
    store: Store,
    /// Id and dimension of the model datasets get when they name none.
    default_model: (String, usize),
    embedders: tokio::sync::Mutex<HashMap<String, Arc<dyn Embedder>>>,
    load_embedder: EmbedderLoader,
    indexes: Mutex<HashMap<IndexKey, Arc<DatasetIndex>>>,
    rerankers: Arc<RerankModels>,
    outbound: crate::outbound::Outbound,
    /// The slots every parse of this process takes: indexing waits for one, API requests get 429
    /// when none is free.
    parse_pool: ParsePool,
    /// The bounded pool that query embeddings and reranks run on.
    query_compute: QueryCompute,
    /// Datasets whose embedding model is being changed by a background rebuild.
    model_changes: Mutex<HashSet<String>>,
}

/// An open index: dataset id, index generation and vector dimension (None: keyword-only). The
/// dimension is part of the key because switching a dataset between keyword-only and vector
/// indexing keeps its generation but adds or removes the vector table.
type IndexKey = (String, i64, Option<usize>);

/// The model a config gives datasets that name none: its id and dimension.
fn configured_default(config: &Config) -> (String, usize) {
    match &config.embedding.onnx {
        None => {
            let info = crate::models::predefined_info(config.embedding.model, config.embedding.variant);
            (info.id.to_string(), info.dimension)
        }
        Some(_) => (
            config.embedding.model_id.clone().unwrap_or_default(),
            config.embedding.dimension.unwrap_or_default(),
        ),
    }
}

/// A loader of the configured model (custom or pinned) and of every other pinned model.
fn loader(config: &Config, progress: bool) -> EmbedderLoader {
    let models = config.models.clone();
    let embedding = config.embedding.clone();
    let default_id = configured_default(config).0;
    Arc::new(move |id: &str| {
        let embedder = if id == default_id {
            crate::models::load_embedder(&models, &embedding, progress)?
        } else {
            let model = PredefinedModel::ALL
                .into_iter()
                .find(|m| crate::models::predefined_info(*m, embedding.variant).id == id)
                .ok_or_else(|| EngineError::UnknownModel(id.to_string()))?;
            crate::models::load_predefined(&models, &embedding, model, progress)?
        };
        Ok(Arc::new(embedder) as Arc<dyn Embedder>)
    })
}

impl Engine {
    /// An engine that loads each embedding model (fetching it if needed) on first use.
    pub fn new(config: Config, store: Store, progress: bool) -> Self {
        let outbound = crate::outbound::Outbound::new(&config.security.outbound_allow);
        Self {
            query_compute: QueryCompute::new(config.server.query_threads, config.server.query_queue),
            parse_pool: ParsePool::new(config_parse_slots(&config)),
            rerankers: Arc::new(RerankModels::new(&config.rerank, &config.models, &outbound)),
            outbound,
            default_model: configured_default(&config),
            load_embedder: loader(&config, progress),
            config,
            store,
            embedders: tokio::sync::Mutex::new(HashMap::new()),
            indexes: Mutex::new(HashMap::new()),
            model_changes: Mutex::new(HashSet::new()),
        }
    }

    /// An engine whose default model is `embedder` (tests, benchmarks); other pinned models
    /// still load on first use.
    pub fn with_embedder(config: Config, store: Store, embedder: Arc<dyn Embedder>) -> Self {
        let id = embedder.model_id().to_string();
        let mut engine = Self::new(config, store, false);
        engine.default_model = (id.clone(), embedder.dimension());
        engine.embedders = tokio::sync::Mutex::new(HashMap::from([(id, embedder)]));
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

    /// The default embedding model, loaded on first call.
    pub async fn embedder(&self) -> Result<Arc<dyn Embedder>, EngineError> {
        self.embedder_of(&self.default_model.0.clone()).await
    }

    /// The model that embeds `dataset`: the one it records, or the default for one that records
    /// none (keyword-only datasets still chunk by a model's tokens).
    pub async fn embedder_for(&self, dataset: &Dataset) -> Result<Arc<dyn Embedder>, EngineError> {
        match &dataset.embedding_model {
            Some(id) => self.embedder_of(id).await.map_err(|e| match e {
                EngineError::UnknownModel(_) => EngineError::ModelMismatch {
                    dataset: dataset.name.clone(),
                    dataset_model: id.clone(),
                    configured: self.default_model.0.clone(),
                },
                other => other,
            }),
            None => self.embedder().await,
        }
    }

    /// The installed model `id`, loaded on first call (off the async runtime's worker threads)
    /// and kept; concurrent first calls load it once.
    pub async fn embedder_of(&self, id: &str) -> Result<Arc<dyn Embedder>, EngineError> {
        let mut loaded = self.embedders.lock().await;
        if let Some(embedder) = loaded.get(id) {
            return Ok(embedder.clone());
        }
        if self.installed_model(id).is_none() {
            return Err(EngineError::UnknownModel(id.to_string()));
        }
        let loader = self.load_embedder.clone();
        let name = id.to_string();
        let embedder = tokio::task::spawn_blocking(move || loader(&name))
            .await
            .map_err(|e| EngineError::Task(e.to_string()))??;
        loaded.insert(id.to_string(), embedder.clone());
        Ok(embedder)
    }

    /// The bounded pool queries compute on.
    pub fn query_compute(&self) -> &QueryCompute {
        &self.query_compute
    }

    /// Makes an already loaded model available under its id (tests and benchmarks share one
    /// copy between engines); it must be one the engine lists as installed.
    pub async fn register_embedder(&self, embedder: Arc<dyn Embedder>) -> Result<(), EngineError> {
        let id = embedder.model_id().to_string();
        if self.installed_model(&id).is_none() {
            return Err(EngineError::UnknownModel(id));
        }
        self.embedders.lock().await.insert(id, embedder);
        Ok(())
    }

    /// Id and dimension of the default embedding model, without loading it.
    pub fn configured_model(&self) -> (String, usize) {
        self.default_model.clone()
    }

    /// What the model-types API reports about the default embedding model, without loading it.
    pub fn embedding_model_info(&self) -> EmbeddingModelInfo {
        let (id, dimension) = self.configured_model();
        let predefined = self.config.embedding.onnx.is_none();
        let context_size = if predefined {
            crate::models::predefined_info(self.config.embedding.model, self.config.embedding.variant)
                .max_length
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

    /// Every model a dataset may choose: the default first, then the other pinned models.
    pub fn installed_models(&self) -> Vec<EmbeddingModelInfo> {
        let mut all = vec![self.embedding_model_info()];
        for model in PredefinedModel::ALL {
            let info = crate::models::predefined_info(model, self.config.embedding.variant);
            if all.iter().all(|m| m.id != info.id) {
                all.push(EmbeddingModelInfo {
                    id: info.id.to_string(),
                    dimension: info.dimension,
                    context_size: info.max_length,
                    max_chunks: self.config.embedding.batch_size,
                    predefined: true,
                });
            }
        }
        all
    }

    /// The installed model `id`, if there is one.
    pub fn installed_model(&self, id: &str) -> Option<EmbeddingModelInfo> {
        self.installed_models().into_iter().find(|m| m.id == id)
    }

    /// Whether `dataset`'s model can embed `query` meaningfully: a model that only learned
    /// English cannot read a query written in another script (see `language`). Models ragd does
    /// not know (a configured ONNX file) are trusted.
    pub fn dataset_model_reads(&self, dataset: &Dataset, query: &str) -> bool {
        match &dataset.embedding_model {
            Some(model) if self.english_only_model(model) => language::latin_model_reads(query),
            _ => true,
        }
    }

    /// Whether `model` is a pinned model that learned English only. A configured ONNX model
    /// recorded under the default id is not judged.
    fn english_only_model(&self, model: &str) -> bool {
        let custom = self.config.embedding.onnx.is_some() && model == self.default_model.0;
        !custom
            && PredefinedModel::ALL
                .into_iter()
                .map(|m| crate::models::predefined_info(m, self.config.embedding.variant))
                .any(|info| info.id == model && !info.multilingual)
    }

    /// The language of a dataset's next document: the one the client named, else, for the first
    /// document of a dataset, the one its text (`sample`, when there is one) is written in, else
    /// English (Dify's default).
    pub fn document_language(
        &self,
        named: Option<&str>,
        first: bool,
        sample: Option<&str>,
    ) -> DocumentLanguage {
        if let Some(language) = named.filter(|l| !l.trim().is_empty()) {
            return DocumentLanguage {
                name: language.to_string(),
                detected: false,
            };
        }
        match first
            .then(|| sample.and_then(language::detect_language))
            .flatten()
        {
            Some(language) => DocumentLanguage {
                name: language.to_string(),
                detected: true,
            },
            None => DocumentLanguage {
                name: "English".into(),
                detected: false,
            },
        }
    }

    /// The text at the start of a stored upload, for [`Self::document_language`]; None for a
    /// binary format or a file that cannot be read.
    pub async fn stored_text_sample(&self, storage_key: &str, extension: &str) -> Option<String> {
        use tokio::io::AsyncReadExt;
        if !language::is_text_format(extension) {
            return None;
        }
        let file = tokio::fs::File::open(self.file_store().join(storage_key))
            .await
            .ok()?;
        let mut head = Vec::with_capacity(language::SAMPLE_BYTES);
        file.take(language::SAMPLE_BYTES as u64)
            .read_to_end(&mut head)
            .await
            .ok()?;
        language::text_sample(extension, &head)
    }

    /// Lets a dataset that has no document yet follow the language detected in its first one: a
    /// dataset on a pinned English-only model moves to the multilingual model
    /// (`embedding.multilingual_model`) when that document is not in English. A language or a
    /// model the client named is its choice and changes nothing here; nor does anything once
    /// the dataset has a document.
    pub async fn follow_document_language(
        &self,
        dataset: &Dataset,
        language: &DocumentLanguage,
        named_model: Option<&str>,
    ) -> Result<(), EngineError> {
        if !language.detected || named_model.is_some_and(|m| !m.is_empty()) {
            return Ok(());
        }
        let language = language.name.as_str();
        let (Some(current), Some(dimension)) = (&dataset.embedding_model, dataset.embedding_dimension) else {
            return Ok(());
        };
        let (wanted, wanted_dimension) = self.default_model_for_language(Some(language));
        if current == &wanted || wanted_dimension != dimension {
            return Ok(());
        }
        if self.english_only_model(current) {
            self.store
                .adopt_dataset_model(&dataset.id, current, &wanted, dimension)
                .await?;
        }
        Ok(())
    }

    /// The window Dify's automatic chunk size is capped at for a model of `model_max_tokens`
    /// (see `ingest.automatic_chunks_within_window`).
    pub(crate) fn automatic_chunk_cap(&self, model_max_tokens: usize) -> usize {
        if self.config.ingest.automatic_chunks_within_window {
            model_max_tokens
        } else {
            usize::MAX
        }
    }

    /// The model a new dataset gets when it names none: the multilingual default for documents
    /// not in English (`embedding.multilingual_model`), else the default.
    pub fn default_model_for_language(&self, doc_language: Option<&str>) -> (String, usize) {
        let english = doc_language.is_none_or(|l| l.is_empty() || l.eq_ignore_ascii_case("english"));
        if english || self.config.embedding.onnx.is_some() {
            return self.configured_model();
        }
        let info = crate::models::predefined_info(
            self.config.embedding.multilingual_model,
            self.config.embedding.variant,
        );
        (info.id.to_string(), info.dimension)
    }

    /// The model that embeds app annotations: the multilingual one when it is on disk (questions
    /// come in any language), else the default. Never fetches.
    pub fn annotation_model_id(&self) -> String {
        if self.config.embedding.onnx.is_none() {
            let multilingual = crate::models::predefined_info(
                self.config.embedding.multilingual_model,
                self.config.embedding.variant,
            );
            let onnx = self
                .config
                .models
                .cache_dir
                .join(crate::models::registry::MULTILINGUAL_MODEL_DIR)
                .join(crate::models::registry::MULTILINGUAL_ONNX_FILE);
            if multilingual.id.contains("multilingual") && onnx.is_file() {
                return multilingual.id.to_string();
            }
        }
        self.configured_model().0
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
                index_options(dataset, &self.config),
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

    /// The full-text analyzer of a dataset: its index's, or the one its first write will build
    /// the index with. Keywords are extracted as this analyzer splits words.
    pub async fn dataset_analyzer(&self, dataset: &Dataset) -> Result<Analyzer, EngineError> {
        Ok(match self.existing_index(dataset).await? {
            Some(index) => index.analyzer(),
            None => index_options(dataset, &self.config).analyzer,
        })
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

    /// The dataset with this name, created with `model` (None: keyword-only) and `process_rule`
    /// if new.
    pub async fn dataset_or_create(
        &self,
        tenant_id: &str,
        name: &str,
        process_rule: serde_json::Value,
        model: Option<(String, usize)>,
    ) -> Result<Dataset, EngineError> {
        if let Some(dataset) = self.store.dataset_by_name(tenant_id, name).await? {
            return Ok(dataset);
        }
        let (embedding_model, embedding_dimension, technique) = match model {
            None => (None, None, "economy"),
            Some((id, dimension)) => (Some(id), Some(dimension), "high_quality"),
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
