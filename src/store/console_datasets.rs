//! What the console asks of datasets beyond the knowledge API: lists filtered by who may see
//! them, document lists sorted and filtered by display status, the API switch, uploaded files
//! of a workspace, and segment import jobs.

use sqlx::Row;

use super::api_documents::{DOCUMENT_SELECT, document_from_row};
use super::datasets::{DATASET_COLUMNS, DatasetViewer, dataset_from_row, visibility_condition};
use super::tags::KNOWLEDGE_TAG;
use super::{Dataset, DocumentRow, Store, StoreError, UploadFile, like_pattern, now, numbered_placeholders};

/// Which datasets a list shows.
#[derive(Debug, Clone, Default)]
pub struct DatasetListFilter {
    pub keyword: Option<String>,
    /// Only datasets bound to one of these knowledge tags (none: no tag filter).
    pub tag_ids: Vec<String>,
    /// Only these datasets (none: no id filter).
    pub ids: Vec<String>,
    /// Only datasets this viewer may see ([`Dataset::visible_to`]). None: all.
    pub visibility: Option<ListVisibility>,
}

/// Who a list is for, as [`visibility_condition`] takes it.
#[derive(Debug, Clone)]
pub struct ListVisibility {
    pub viewer: DatasetViewer,
    /// Datasets without a creator (made with a dataset key) count as the viewer's.
    pub keyless_own: bool,
    /// The owner sees what a member would (Dify's list without `include_all`).
    pub as_member: bool,
}

/// How a document list is ordered (Dify's `sort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentSort {
    CreatedAt { descending: bool },
    HitCount { descending: bool },
}

impl DocumentSort {
    /// Dify's values: `created_at`, `hit_count`, each with an optional leading `-` (descending).
    pub fn parse(text: &str) -> Option<DocumentSort> {
        let (descending, key) = match text.strip_prefix('-') {
            Some(key) => (true, key),
            None => (false, text),
        };
        match key {
            "created_at" => Some(DocumentSort::CreatedAt { descending }),
            "hit_count" => Some(DocumentSort::HitCount { descending }),
            _ => None,
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            DocumentSort::CreatedAt { descending: true } => "d.created_at DESC, d.position DESC",
            DocumentSort::CreatedAt { descending: false } => "d.created_at, d.position",
            DocumentSort::HitCount { descending: true } => "hit_count DESC, d.position DESC",
            DocumentSort::HitCount { descending: false } => "hit_count, d.position",
        }
    }
}

/// The SQL condition for a Dify display status (A.5), or None for a value that is not one.
pub fn display_status_condition(status: &str) -> Option<&'static str> {
    Some(match status {
        "queuing" => "d.indexing_status = 'waiting' AND CAST(d.is_paused AS INTEGER) = 0",
        "paused" => {
            "CAST(d.is_paused AS INTEGER) = 1 AND d.indexing_status IN \
             ('waiting', 'parsing', 'cleaning', 'splitting', 'indexing')"
        }
        "indexing" => {
            "d.indexing_status IN ('parsing', 'cleaning', 'splitting', 'indexing') \
             AND CAST(d.is_paused AS INTEGER) = 0"
        }
        "error" => "d.indexing_status = 'error'",
        "available" | "active" | "enabled" => {
            "d.indexing_status = 'completed' AND CAST(d.enabled AS INTEGER) = 1 \
             AND CAST(d.archived AS INTEGER) = 0"
        }
        "disabled" => {
            "d.indexing_status = 'completed' AND CAST(d.enabled AS INTEGER) = 0 \
             AND CAST(d.archived AS INTEGER) = 0"
        }
        "archived" => "d.indexing_status = 'completed' AND CAST(d.archived AS INTEGER) = 1",
        _ => return None,
    })
}

/// A segment import (the console's CSV batch import).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentImportJob {
    pub id: String,
    pub dataset_id: String,
    pub document_id: String,
    /// `completed` or `error`.
    pub status: String,
    pub segments: i64,
    pub error: Option<String>,
    pub created_at: i64,
}

impl Store {
    /// A page of a workspace's datasets, newest first, and the total, as `filter` selects them.
    pub async fn filtered_datasets(
        &self,
        tenant_id: &str,
        filter: &DatasetListFilter,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<Dataset>, i64), StoreError> {
        let mut condition = String::from("tenant_id = $1 AND LOWER(name) LIKE LOWER($2) ESCAPE '\\'");
        let mut next = 3;
        if !filter.tag_ids.is_empty() {
            condition.push_str(&format!(
                " AND id IN (SELECT b.target_id FROM tag_bindings b JOIN tags t ON t.id = b.tag_id \
                 WHERE b.tenant_id = $1 AND t.type = '{KNOWLEDGE_TAG}' AND b.tag_id IN ({}))",
                numbered_placeholders(next, filter.tag_ids.len())
            ));
            next += filter.tag_ids.len();
        }
        if !filter.ids.is_empty() {
            condition.push_str(&format!(
                " AND id IN ({})",
                numbered_placeholders(next, filter.ids.len())
            ));
            next += filter.ids.len();
        }
        // The viewer's id and granted datasets, when the viewer does not see everything.
        let mut visibility_values: Vec<&String> = Vec::new();
        if let Some(list) = &filter.visibility
            && let Some(visible) =
                visibility_condition(&list.viewer, next, next + 1, list.keyless_own, list.as_member)
        {
            condition.push_str(" AND ");
            condition.push_str(&visible);
            visibility_values.push(&list.viewer.account_id);
            visibility_values.extend(&list.viewer.granted);
            next += visibility_values.len();
        }
        let pattern = like_pattern(filter.keyword.as_deref());
        let count_sql = format!("SELECT COUNT(*) FROM datasets WHERE {condition}");
        let page_sql = format!(
            "SELECT {DATASET_COLUMNS} FROM datasets WHERE {condition} \
             ORDER BY created_at DESC, id LIMIT ${next} OFFSET ${}",
            next + 1
        );
        // Both built from constants and numbered placeholders only.
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql))
            .bind(tenant_id)
            .bind(&pattern);
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(page_sql))
            .bind(tenant_id)
            .bind(&pattern);
        for id in filter.tag_ids.iter().chain(&filter.ids) {
            count = count.bind(id);
            rows = rows.bind(id);
        }
        for value in visibility_values {
            count = count.bind(value);
            rows = rows.bind(value);
        }
        let total = count.fetch_one(&self.pool).await?;
        let rows = rows
            .bind(i64::from(limit))
            .bind(i64::from(page.saturating_sub(1)) * i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let datasets = rows.iter().map(dataset_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok((datasets, total))
    }

    /// Turns the knowledge API on or off for a dataset; false if it does not exist.
    pub async fn set_dataset_api_enabled(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        enabled: bool,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE datasets SET enable_api = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(enabled)
        .bind(now())
        .bind(tenant_id)
        .bind(dataset_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    /// A page of a dataset's documents, filtered by name keyword and display status, in `sort`
    /// order; and the total.
    pub async fn filtered_documents(
        &self,
        dataset_id: &str,
        keyword: Option<&str>,
        status: Option<&'static str>,
        sort: DocumentSort,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<DocumentRow>, i64), StoreError> {
        let mut condition = String::from("d.dataset_id = $1 AND LOWER(d.name) LIKE LOWER($2) ESCAPE '\\'");
        if let Some(status) = status {
            condition.push_str(&format!(" AND ({status})"));
        }
        let pattern = like_pattern(keyword);
        let count_sql = format!("SELECT COUNT(*) FROM documents d WHERE {condition}");
        // Built from constants only (the status condition is one of a fixed set).
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
            .bind(dataset_id)
            .bind(&pattern)
            .fetch_one(&self.pool)
            .await?;
        let sql = format!(
            "{DOCUMENT_SELECT} WHERE {condition} ORDER BY {} LIMIT $3 OFFSET $4",
            sort.order_by()
        );
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(dataset_id)
            .bind(&pattern)
            .bind(i64::from(limit))
            .bind(i64::from(page.saturating_sub(1)) * i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok((
            rows.iter().map(document_from_row).collect::<Result<_, _>>()?,
            total,
        ))
    }

    /// Every document of a dataset in position order, or only those with `indexing_status`.
    pub async fn dataset_documents(
        &self,
        dataset_id: &str,
        indexing_status: Option<&str>,
    ) -> Result<Vec<DocumentRow>, StoreError> {
        let sql = format!(
            "{DOCUMENT_SELECT} WHERE d.dataset_id = $1 AND ($2 = '' OR d.indexing_status = $2) ORDER BY d.position"
        );
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(dataset_id)
            .bind(indexing_status.unwrap_or(""))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(document_from_row).collect()
    }

    /// The dataset of a document of this workspace.
    pub async fn document_dataset(
        &self,
        tenant_id: &str,
        document_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT dataset_id FROM documents WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(document_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Renames a document; false if it does not exist.
    pub async fn rename_document(
        &self,
        dataset_id: &str,
        document_id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let changed =
            sqlx::query("UPDATE documents SET name = $1, updated_at = $2 WHERE dataset_id = $3 AND id = $4")
                .bind(name)
                .bind(now())
                .bind(dataset_id)
                .bind(document_id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(changed > 0)
    }

    /// Records a file uploaded through the console (before any document uses it).
    pub async fn record_upload_file(
        &self,
        tenant_id: &str,
        created_by: &str,
        file: &UploadFile,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO upload_files (id, tenant_id, name, size, extension, mime_type, hash, storage_key, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&file.id)
        .bind(tenant_id)
        .bind(&file.name)
        .bind(file.size)
        .bind(&file.extension)
        .bind(&file.mime_type)
        .bind(&file.hash)
        .bind(&file.storage_key)
        .bind(created_by)
        .bind(file.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An uploaded file of this workspace (another workspace's id finds nothing).
    pub async fn workspace_upload_file(
        &self,
        tenant_id: &str,
        file_id: &str,
    ) -> Result<Option<UploadFile>, StoreError> {
        Ok(self
            .upload_file(file_id)
            .await?
            .filter(|stored| stored.tenant_id == tenant_id)
            .map(|stored| stored.file))
    }

    /// Records a finished segment import.
    pub async fn record_segment_import(
        &self,
        tenant_id: &str,
        job: &SegmentImportJob,
        created_by: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO segment_import_jobs (id, tenant_id, dataset_id, document_id, status, segments, error, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&job.id)
        .bind(tenant_id)
        .bind(&job.dataset_id)
        .bind(&job.document_id)
        .bind(&job.status)
        .bind(job.segments)
        .bind(&job.error)
        .bind(created_by)
        .bind(job.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A segment import of this workspace.
    pub async fn segment_import(
        &self,
        tenant_id: &str,
        job_id: &str,
    ) -> Result<Option<SegmentImportJob>, StoreError> {
        let row = sqlx::query(
            "SELECT id, dataset_id, document_id, status, segments, error, created_at FROM segment_import_jobs \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SegmentImportJob {
                id: row.try_get("id")?,
                dataset_id: row.try_get("dataset_id")?,
                document_id: row.try_get("document_id")?,
                status: row.try_get("status")?,
                segments: row.try_get("segments")?,
                error: row.try_get("error")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }
}
