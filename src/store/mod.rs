//! Metadata in SQL: datasets, documents, segments and child chunks, the source of truth that the
//! vector and full-text indexes are derived from. Every query is scoped by dataset (and so by
//! tenant); nothing outside this module writes SQL.

mod accounts;
mod annotations;
mod api_documents;
mod api_tokens;
mod app_logs;
mod apps;
mod console_datasets;
mod conversations;
mod dataset_permissions;
mod datasets;
mod document_status;
mod documents;
mod external_knowledge;
mod jobs;
mod metadata;
mod model_settings;
mod processing;
mod queries;
mod rechunk;
mod reindex;
mod segment_edits;
mod segments;
mod stats;
mod tags;
mod upload_files;
mod website;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Connection, Executor, Row};

pub use self::accounts::{
    ACCOUNT_ACTIVE, ACCOUNT_PENDING, Account, AccountField, Invitation, Invited, Member, Role, Workspace,
    normalize_email,
};
pub use self::annotations::{
    Annotation, AnnotationHit, AnnotationJob, AnnotationSetting, NewAnnotation, NewAnnotationHit,
};
pub use self::api_documents::{
    DocumentRow, DocumentUpdate, NewApiDocument, Stage, UpdateOutcome, UploadFile, WebsiteOrigin,
};
pub use self::api_tokens::{ApiToken, ApiTokenInfo, IssuedApiToken, TokenType};
pub use self::app_logs::{AnnotationStatus, ConversationLog, LogFilter};
pub use self::apps::{App, AppApiKey, AppChanges, NewApp};
pub use self::console_datasets::{
    DatasetListFilter, DocumentSort, ListVisibility, SegmentImportJob, display_status_condition,
};
pub use self::conversations::{
    Conversation, ConversationOrder, EndUser, Feedback, Message, NewConversation, NewMessage, PageStart,
};
pub use self::datasets::{
    ALL_TEAM, Dataset, DatasetChanges, DatasetCounts, DatasetViewer, EXTERNAL_PROVIDER, NewDataset, ONLY_ME,
    PARTIAL_TEAM, visibility_condition,
};
pub use self::document_status::{DocumentAction, UnknownAction};
pub use self::documents::{CompletedDocument, Document, IndexingStatus, NewDocument};
pub use self::external_knowledge::{
    ExternalApiFields, ExternalBinding, ExternalKnowledgeApi, NewExternalDataset,
};
pub use self::jobs::{Job, JobKind, JobStatus, MAX_ATTEMPTS};
pub use self::metadata::{
    BUILT_IN_FIELDS, DocumentMetadataUpdate, DocumentSelection, MAX_METADATA_NAME_CHARS, MetadataField,
    MetadataSchema, MetadataType, built_in_values, metadata_source,
};
pub use self::model_settings::{LlmProvider, StoredModelSettings};
pub use self::processing::{Completion, ProcessingOutcome};
pub use self::queries::{DatasetQuery, NewDatasetQuery, QuerySource};
pub use self::rechunk::RechunkSource;
pub use self::reindex::{ReindexRun, SegmentSource};
pub use self::segment_edits::{
    AddedSegment, ChildChunkRow, SegmentFilter, SegmentRow, SegmentScope, SegmentText,
};
pub use self::segments::{NewChildChunk, NewSegment, SegmentHit};
pub use self::stats::QueueDepth;
pub use self::tags::{APP_TAG, KNOWLEDGE_TAG, Tag};
pub use self::upload_files::StoredFile;
pub use self::website::{CrawlPage, CrawlRow, WebsiteDocument};

/// The workspace that CLI commands act in until workspaces are managed through the API.
pub const DEFAULT_TENANT: &str = "00000000-0000-0000-0000-000000000001";

/// The account that service-API requests act as in the default workspace (Dify runs them as the
/// workspace owner); reported as `created_by`.
pub const DEFAULT_OWNER: &str = "00000000-0000-0000-0000-000000000002";

/// Display name of [`DEFAULT_OWNER`] (a dataset's `author_name`, a document's `uploader`).
pub const DEFAULT_OWNER_NAME: &str = "owner";

/// Why a metadata operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a dataset named {0:?} already exists")]
    DuplicateDatasetName(String),
    #[error("a metadata field named {name:?} already exists (built-in: {built_in})")]
    DuplicateMetadataName { name: String, built_in: bool },
    #[error("a tag named {0:?} already exists")]
    DuplicateTagName(String),
    #[error("document {0} not found")]
    DocumentNotFound(String),
    /// A document's `doc_form` differs from its dataset's (set by the dataset's first document).
    #[error("doc_form is different from the dataset doc_form")]
    DocFormMismatch,
    #[error("metadata field {0} not found")]
    MetadataNotFound(String),
    #[error("an external knowledge API named {0:?} already exists")]
    DuplicateExternalApiName(String),
    #[error("external knowledge API not found")]
    ExternalApiNotFound,
    /// Datasets still read the API.
    #[error("the external knowledge API is used by {0} datasets")]
    ExternalApiInUse(i64),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: expected sqlite://... or postgres://...")]
    UnsupportedUrl(String),
}

/// Which SQL engine holds the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file in the data dir: the single-node default.
    Sqlite,
    /// A shared server, for several processes or machines.
    Postgres,
}

/// Handle to the metadata database.
///
/// Queries go through sqlx's `Any` driver so one set of SQL serves both backends; they use
/// numbered placeholders (`$1`, which SQLite also reads) and only portable SQL.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens the database `url` names (`sqlite://path` or `postgres://...`), creating a SQLite
    /// file if needed, and applies migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Self::open_sqlite(Path::new(path.split('?').next().unwrap_or(path))).await;
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        }
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        Self::migrated(pool, Backend::Postgres).await
    }

    /// Opens (creating if needed) the SQLite database at `path` and applies migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let options: AnyConnectOptions = format!("sqlite://{}?mode=rwc", path.display()).parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            // WAL lets readers run beside the one writer; NORMAL sync is durable in WAL mode
            // across process crashes (only an OS crash can lose the last commits).
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Self::migrated(pool, Backend::Sqlite).await
    }

    async fn migrated(pool: AnyPool, backend: Backend) -> Result<Self, StoreError> {
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails at once with
    /// "database is locked" when another connection committed meanwhile (WAL mode cannot upgrade
    /// a stale read snapshot, and busy_timeout does not apply), which made concurrent API writes
    /// fail with 500 while workers indexed.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Checks the database answers (for health checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Reads a BOOLEAN column, selected as `CAST(col AS INTEGER) AS col`: sqlx's Any driver cannot
/// carry SQLite's BOOLEAN type, so a bare boolean column fails the whole row on SQLite.
pub(crate) fn get_bool(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

/// `$first, $first+1, ...`: `count` numbered placeholders for an `IN (...)` list.
pub(crate) fn numbered_placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A `LIKE ... ESCAPE '\\'` pattern matching names that contain `keyword` literally.
pub(crate) fn like_pattern(keyword: Option<&str>) -> String {
    let escaped = keyword
        .unwrap_or("")
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Current time in Unix seconds, the unit of every timestamp column.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_keywords_literally() {
        assert_eq!(like_pattern(None), "%%");
        assert_eq!(like_pattern(Some("50%_off\\")), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn placeholders_are_numbered_from_first() {
        assert_eq!(numbered_placeholders(2, 3), "$2, $3, $4");
        assert_eq!(numbered_placeholders(1, 0), "");
    }
}
