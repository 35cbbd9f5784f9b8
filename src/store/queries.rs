//! The query log (Dify's `dataset_queries`): what was asked of a dataset, where from and when.

use std::fmt;

use sqlx::Row;

use super::{Store, StoreError, now};

/// Where a retrieval came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuerySource {
    /// An app's chat or workflow retrieving from the dataset.
    App,
    /// The dataset's own retrieve/hit-testing endpoints (Dify records both service-API routes so).
    HitTesting,
    /// Dify (or another client) asking through the External Knowledge API, `/external/retrieval`.
    External,
}

impl QuerySource {
    pub fn as_str(self) -> &'static str {
        match self {
            QuerySource::App => "app",
            QuerySource::HitTesting => "hit_testing",
            QuerySource::External => "external",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "app" => Ok(QuerySource::App),
            "hit_testing" => Ok(QuerySource::HitTesting),
            "external" => Ok(QuerySource::External),
            other => Err(StoreError::Corrupt(format!("unknown query source {other:?}"))),
        }
    }
}

impl fmt::Display for QuerySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A query to record.
#[derive(Debug, Clone)]
pub struct NewDatasetQuery<'a> {
    pub tenant_id: &'a str,
    pub dataset_id: &'a str,
    pub content: &'a str,
    pub source: QuerySource,
    /// The app that asked, for [`QuerySource::App`].
    pub source_app_id: Option<&'a str>,
    /// `account` or `end_user`, as Dify records it.
    pub created_by_role: &'a str,
    pub created_by: &'a str,
}

/// A recorded query.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetQuery {
    pub id: String,
    pub tenant_id: String,
    pub dataset_id: String,
    pub content: String,
    pub source: QuerySource,
    pub source_app_id: Option<String>,
    pub created_by_role: String,
    pub created_by: String,
    pub created_at: i64,
}

impl Store {
    /// Records one query against a dataset.
    pub async fn record_dataset_query(&self, query: NewDatasetQuery<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dataset_queries (id, tenant_id, dataset_id, content, source, source_app_id, \
             created_by_role, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        // Time-ordered ids order queries made within the same second.
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(query.tenant_id)
        .bind(query.dataset_id)
        .bind(query.content)
        .bind(query.source.as_str())
        .bind(query.source_app_id)
        .bind(query.created_by_role)
        .bind(query.created_by)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A page of a dataset's queries, newest first, and how many there are in all.
    pub async fn dataset_queries(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<DatasetQuery>, i64), StoreError> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM dataset_queries WHERE tenant_id = $1 AND dataset_id = $2",
        )
        .bind(tenant_id)
        .bind(dataset_id)
        .fetch_one(&self.pool)
        .await?;
        // Queries made within one second are ordered by their time-ordered (v7) ids.
        let rows = sqlx::query(
            "SELECT id, tenant_id, dataset_id, content, source, source_app_id, created_by_role, created_by, \
             created_at FROM dataset_queries WHERE tenant_id = $1 AND dataset_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
        )
        .bind(tenant_id)
        .bind(dataset_id)
        .bind(i64::from(limit))
        .bind(i64::from(page.saturating_sub(1)) * i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let queries = rows
            .iter()
            .map(|row| {
                Ok(DatasetQuery {
                    id: row.try_get("id")?,
                    tenant_id: row.try_get("tenant_id")?,
                    dataset_id: row.try_get("dataset_id")?,
                    content: row.try_get("content")?,
                    source: QuerySource::parse(&row.try_get::<String, _>("source")?)?,
                    source_app_id: row.try_get("source_app_id")?,
                    created_by_role: row.try_get("created_by_role")?,
                    created_by: row.try_get("created_by")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((queries, total))
    }
}
