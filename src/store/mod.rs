//! Metadata in SQL: datasets, documents, segments and child chunks, the source of truth that the
//! vector and full-text indexes are derived from. Every query is scoped by dataset (and so by
//! tenant); nothing outside this module writes SQL.

mod api_documents;
mod api_tokens;
mod datasets;
mod documents;
mod jobs;
mod segments;

use std::path::Path;
use std::str::FromStr;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use self::api_documents::{DocumentRow, NewApiDocument, Stage, UploadFile};
pub use self::api_tokens::{ApiToken, TokenType};
pub use self::datasets::{Dataset, DatasetChanges, DatasetCounts, NewDataset};
pub use self::documents::{CompletedDocument, Document, IndexingStatus, NewDocument};
pub use self::jobs::{Job, JobStatus, MAX_ATTEMPTS};
pub use self::segments::{NewChildChunk, NewSegment, SegmentHit};

/// The workspace that CLI commands act in until workspaces are managed through the API.
pub const DEFAULT_TENANT: &str = "00000000-0000-0000-0000-000000000001";

/// The account that service-API requests act as in the default workspace (Dify runs them as the
/// workspace owner); reported as `created_by`.
pub const DEFAULT_OWNER: &str = "00000000-0000-0000-0000-000000000002";

/// Why a metadata operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a dataset named {0:?} already exists")]
    DuplicateDatasetName(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// Handle to the metadata database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and applies migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }
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
}
