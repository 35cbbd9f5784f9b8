//! Documents as the knowledge API creates and shows them: an uploaded file, a document row and a
//! job, created together; full rows with stage timestamps and segment progress.

use sqlx::{Any, Row, Transaction};

use super::jobs::JobKind;
use super::{Store, StoreError, get_bool, now};

/// A file kept in the file store.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadFile {
    pub id: String,
    pub name: String,
    pub size: i64,
    pub extension: String,
    pub mime_type: String,
    pub hash: String,
    /// Path relative to the data dir's file store.
    pub storage_key: String,
    pub created_at: i64,
}

/// A document to create from an uploaded file.
#[derive(Debug, Clone)]
pub struct NewApiDocument {
    pub tenant_id: String,
    pub dataset_id: String,
    pub name: String,
    pub batch: String,
    pub doc_form: String,
    pub doc_language: String,
    pub process_rule: serde_json::Value,
    pub file: UploadFile,
}

/// Where a website document came from.
#[derive(Debug, Clone)]
pub struct WebsiteOrigin {
    pub url: String,
    /// Dify's data_source_info of a crawled page.
    pub info: serde_json::Value,
}

/// Changes to an existing document (update-by-text / update-by-file).
#[derive(Debug, Clone, Default)]
pub struct DocumentUpdate {
    pub name: Option<String>,
    /// New content: the document is re-indexed from this file.
    pub file: Option<UploadFile>,
    /// New process rule: the document is re-split with it.
    pub process_rule: Option<serde_json::Value>,
    pub doc_language: Option<String>,
    /// Batch the re-indexing is reported under.
    pub batch: String,
    /// `file` is an upload the workspace already stored (the console's re-upload of a file of
    /// the same name): its row is not inserted again, and the previous file stays, as in Dify.
    pub file_already_uploaded: bool,
}

impl DocumentUpdate {
    /// Whether the change needs the document indexed again.
    pub fn reindexes(&self) -> bool {
        self.file.is_some() || self.process_rule.is_some()
    }
}

/// A document with everything the API reports about it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentRow {
    pub id: String,
    pub dataset_id: String,
    pub position: i64,
    pub name: String,
    pub data_source_type: String,
    pub batch: String,
    pub indexing_status: String,
    pub error: Option<String>,
    pub enabled: bool,
    pub archived: bool,
    pub is_paused: bool,
    pub word_count: i64,
    pub tokens: i64,
    pub doc_form: String,
    pub doc_language: String,
    pub process_rule: Option<String>,
    pub created_from: String,
    pub doc_metadata: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub processing_started_at: Option<i64>,
    pub parsing_completed_at: Option<i64>,
    pub cleaning_completed_at: Option<i64>,
    pub splitting_completed_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub stopped_at: Option<i64>,
    pub paused_at: Option<i64>,
    pub disabled_at: Option<i64>,
    pub indexing_latency: Option<f64>,
    /// Where a document that is no uploaded file came from (a website page: Dify's
    /// `{url, provider, job_id, only_main_content, mode}`), as JSON text.
    pub data_source_info: Option<String>,
    pub file: Option<UploadFile>,
    pub segment_count: i64,
    pub completed_segments: i64,
    pub hit_count: i64,
}

pub(super) const DOCUMENT_SELECT: &str = "SELECT d.id, d.dataset_id, d.position, d.name, d.data_source_type, d.batch, \
    d.indexing_status, d.error, CAST(d.enabled AS INTEGER) AS enabled, \
    CAST(d.archived AS INTEGER) AS archived, CAST(d.is_paused AS INTEGER) AS is_paused, d.word_count, d.tokens, d.doc_form, \
    d.doc_language, d.process_rule, d.created_from, d.doc_metadata, d.created_at, d.updated_at, \
    d.processing_started_at, d.parsing_completed_at, d.cleaning_completed_at, d.splitting_completed_at, \
    d.completed_at, d.stopped_at, d.paused_at, d.disabled_at, d.indexing_latency, d.data_source_info, \
    f.id AS file_id, f.name AS file_name, f.size AS file_size, f.extension AS file_extension, \
    f.mime_type AS file_mime_type, f.hash AS file_hash, f.storage_key AS file_storage_key, \
    f.created_at AS file_created_at, \
    (SELECT COUNT(*) FROM document_segments s WHERE s.document_id = d.id) AS segment_count, \
    (SELECT COUNT(*) FROM document_segments s WHERE s.document_id = d.id AND s.status = 'completed') AS completed_segments, \
    (SELECT CAST(COALESCE(SUM(s.hit_count), 0) AS BIGINT) FROM document_segments s WHERE s.document_id = d.id) AS hit_count \
    FROM documents d LEFT JOIN upload_files f ON f.id = d.upload_file_id";

pub(super) fn document_from_row(row: &sqlx::any::AnyRow) -> Result<DocumentRow, StoreError> {
    let file_id: Option<String> = row.try_get("file_id")?;
    let file = match file_id {
        Some(id) => Some(UploadFile {
            id,
            name: row.try_get("file_name")?,
            size: row.try_get("file_size")?,
            extension: row.try_get("file_extension")?,
            mime_type: row.try_get("file_mime_type")?,
            hash: row.try_get("file_hash")?,
            storage_key: row.try_get("file_storage_key")?,
            created_at: row.try_get("file_created_at")?,
        }),
        None => None,
    };
    Ok(DocumentRow {
        id: row.try_get("id")?,
        dataset_id: row.try_get("dataset_id")?,
        position: row.try_get("position")?,
        name: row.try_get("name")?,
        data_source_type: row.try_get("data_source_type")?,
        batch: row.try_get("batch")?,
        indexing_status: row.try_get("indexing_status")?,
        error: row.try_get("error")?,
        enabled: get_bool(row, "enabled")?,
        archived: get_bool(row, "archived")?,
        is_paused: get_bool(row, "is_paused")?,
        word_count: row.try_get("word_count")?,
        tokens: row.try_get("tokens")?,
        doc_form: row.try_get("doc_form")?,
        doc_language: row.try_get("doc_language")?,
        process_rule: row.try_get("process_rule")?,
        created_from: row.try_get("created_from")?,
        doc_metadata: row.try_get("doc_metadata")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        processing_started_at: row.try_get("processing_started_at")?,
        parsing_completed_at: row.try_get("parsing_completed_at")?,
        cleaning_completed_at: row.try_get("cleaning_completed_at")?,
        splitting_completed_at: row.try_get("splitting_completed_at")?,
        completed_at: row.try_get("completed_at")?,
        stopped_at: row.try_get("stopped_at")?,
        paused_at: row.try_get("paused_at")?,
        disabled_at: row.try_get("disabled_at")?,
        indexing_latency: row.try_get("indexing_latency")?,
        data_source_info: row.try_get("data_source_info")?,
        file,
        segment_count: row.try_get("segment_count")?,
        completed_segments: row.try_get("completed_segments")?,
        hit_count: row.try_get("hit_count")?,
    })
}

/// How an update ended.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    Updated {
        replaced_storage_key: Option<String>,
    },
    NotFound,
    /// The document is queued or being indexed; content changes must wait.
    Busy,
}

async fn insert_upload_file(
    tx: &mut Transaction<'_, Any>,
    tenant_id: &str,
    file: &UploadFile,
    ts: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO upload_files (id, tenant_id, name, size, extension, mime_type, hash, storage_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&file.id)
    .bind(tenant_id)
    .bind(&file.name)
    .bind(file.size)
    .bind(&file.extension)
    .bind(&file.mime_type)
    .bind(&file.hash)
    .bind(&file.storage_key)
    .bind(ts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues a job for a document; any earlier job of it that is not running is dropped.
pub(super) async fn enqueue_job(
    tx: &mut Transaction<'_, Any>,
    tenant_id: &str,
    dataset_id: &str,
    document_id: &str,
    kind: JobKind,
    ts: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM jobs WHERE document_id = $1 AND status <> 'processing'")
        .bind(document_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, dataset_id, document_id, kind, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'enqueued', $6, $7)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(tenant_id)
    .bind(dataset_id)
    .bind(document_id)
    .bind(kind.as_str())
    .bind(ts)
    .bind(ts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Indexing stages a worker reports, each with the timestamp column it sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// waiting -> parsing: `processing_started_at`.
    Parsing,
    /// parsing -> splitting: `parsing_completed_at`.
    Splitting,
    /// splitting -> indexing: `cleaning_completed_at` and `splitting_completed_at`.
    Indexing,
}

impl Store {
    /// Creates the upload file row, the document (waiting) and its job in one transaction, the
    /// document positioned after the dataset's last one.
    ///
    /// The dataset's `doc_form` is set by its first document and must match for later ones
    /// (checked here again, in the transaction, against concurrent first documents); the
    /// document's process rule becomes the dataset's latest rule, the one later documents use
    /// when they bring none.
    pub async fn create_api_document(&self, new: NewApiDocument) -> Result<DocumentRow, StoreError> {
        self.create_document_row(new, false, "api", None).await
    }

    /// A document of a crawled web page: its content is a file stored for it (recorded here),
    /// its source the page's URL.
    pub async fn create_website_document(
        &self,
        new: NewApiDocument,
        origin: &WebsiteOrigin,
    ) -> Result<DocumentRow, StoreError> {
        self.create_document_row(new, false, "web", Some(origin)).await
    }

    /// [`Store::create_api_document`] for a file uploaded earlier (the console uploads files
    /// first, then makes documents of them): its upload row is already there and is shared.
    pub async fn create_document_from_upload(
        &self,
        new: NewApiDocument,
        created_from: &str,
    ) -> Result<DocumentRow, StoreError> {
        self.create_document_row(new, true, created_from, None).await
    }

    async fn create_document_row(
        &self,
        new: NewApiDocument,
        file_recorded: bool,
        created_from: &str,
        website: Option<&WebsiteOrigin>,
    ) -> Result<DocumentRow, StoreError> {
        let ts = now();
        let document_id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.begin_write().await?;
        // Written first: locks the dataset row, so concurrent first documents queue here.
        sqlx::query(
            "UPDATE datasets SET doc_form = CASE WHEN EXISTS (SELECT 1 FROM documents WHERE dataset_id = $1) \
             THEN doc_form ELSE $2 END, process_rule = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(&new.dataset_id)
        .bind(&new.doc_form)
        .bind(new.process_rule.to_string())
        .bind(ts)
        .bind(&new.dataset_id)
        .execute(&mut *tx)
        .await?;
        let doc_form: Option<String> = sqlx::query_scalar("SELECT doc_form FROM datasets WHERE id = $1")
            .bind(&new.dataset_id)
            .fetch_optional(&mut *tx)
            .await?;
        if doc_form.as_deref() != Some(new.doc_form.as_str()) {
            tx.rollback().await?;
            return Err(StoreError::DocFormMismatch);
        }
        if !file_recorded {
            insert_upload_file(&mut tx, &new.tenant_id, &new.file, ts).await?;
        }
        let max: Option<i64> =
            sqlx::query_scalar("SELECT MAX(position) FROM documents WHERE dataset_id = $1")
                .bind(&new.dataset_id)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO documents (id, tenant_id, dataset_id, position, name, data_source_type, source, content_hash, \
             batch, indexing_status, created_at, updated_at, upload_file_id, created_from, doc_form, doc_language, \
             process_rule, data_source_info) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'waiting', $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(&document_id)
        .bind(&new.tenant_id)
        .bind(&new.dataset_id)
        .bind(max.unwrap_or(0) + 1)
        .bind(&new.name)
        .bind(if website.is_some() { "website_crawl" } else { "upload_file" })
        .bind(match website {
            Some(origin) => origin.url.clone(),
            None => format!("upload_file:{}", new.file.id),
        })
        .bind(&new.file.hash)
        .bind(&new.batch)
        .bind(ts)
        .bind(ts)
        .bind(&new.file.id)
        .bind(created_from)
        .bind(&new.doc_form)
        .bind(&new.doc_language)
        .bind(new.process_rule.to_string())
        .bind(website.map(|origin| origin.info.to_string()))
        .execute(&mut *tx)
        .await?;
        enqueue_job(
            &mut tx,
            &new.tenant_id,
            &new.dataset_id,
            &document_id,
            JobKind::IndexDocument,
            ts,
        )
        .await?;
        tx.commit().await?;
        self.api_document(&new.dataset_id, &document_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("document vanished after insert".into()))
    }

    /// Applies `update` in one transaction. A change of content or rule puts the document back to
    /// `waiting` (stage timestamps and error cleared) and enqueues its indexing job, unless the
    /// document is being indexed right now (false is returned and nothing changes). The previous
    /// upload file's storage key is returned so the caller can remove it once it is unused.
    pub async fn update_api_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        document_id: &str,
        update: &DocumentUpdate,
    ) -> Result<UpdateOutcome, StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        let current = sqlx::query(
            "SELECT d.indexing_status, d.upload_file_id, f.storage_key FROM documents d \
             LEFT JOIN upload_files f ON f.id = d.upload_file_id WHERE d.id = $1 AND d.dataset_id = $2",
        )
        .bind(document_id)
        .bind(dataset_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(current) = current else {
            return Ok(UpdateOutcome::NotFound);
        };
        let status: String = current.try_get("indexing_status")?;
        if update.reindexes() && !matches!(status.as_str(), "completed" | "error") {
            return Ok(UpdateOutcome::Busy);
        }
        let old_storage_key: Option<String> = current.try_get("storage_key")?;
        if let Some(name) = &update.name {
            sqlx::query("UPDATE documents SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(name)
                .bind(ts)
                .bind(document_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(file) = &update.file {
            if !update.file_already_uploaded {
                insert_upload_file(&mut tx, tenant_id, file, ts).await?;
            }
            sqlx::query(
                // A web page's source stays its URL.
                "UPDATE documents SET upload_file_id = $1, \
                 source = CASE WHEN data_source_type = 'website_crawl' THEN source ELSE $2 END, \
                 content_hash = $3 WHERE id = $4",
            )
            .bind(&file.id)
            .bind(format!("upload_file:{}", file.id))
            .bind(&file.hash)
            .bind(document_id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(rule) = &update.process_rule {
            sqlx::query("UPDATE documents SET process_rule = $1 WHERE id = $2")
                .bind(rule.to_string())
                .bind(document_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(language) = &update.doc_language {
            sqlx::query("UPDATE documents SET doc_language = $1 WHERE id = $2")
                .bind(language)
                .bind(document_id)
                .execute(&mut *tx)
                .await?;
        }
        if update.reindexes() {
            sqlx::query(
                "UPDATE documents SET indexing_status = 'waiting', batch = $1, error = NULL, \
                 processing_started_at = NULL, parsing_completed_at = NULL, cleaning_completed_at = NULL, \
                 splitting_completed_at = NULL, completed_at = NULL, stopped_at = NULL, updated_at = $2 \
                 WHERE id = $3",
            )
            .bind(&update.batch)
            .bind(ts)
            .bind(document_id)
            .execute(&mut *tx)
            .await?;
            enqueue_job(
                &mut tx,
                tenant_id,
                dataset_id,
                document_id,
                JobKind::IndexDocument,
                ts,
            )
            .await?;
        }
        tx.commit().await?;
        let replaced = if update.file.is_some() && !update.file_already_uploaded {
            old_storage_key
        } else {
            None
        };
        Ok(UpdateOutcome::Updated {
            replaced_storage_key: replaced,
        })
    }

    /// The enabled document made from an uploaded file named `name` (Dify's test for a duplicate
    /// upload in the console), the earliest if several.
    pub async fn uploaded_document_named(
        &self,
        dataset_id: &str,
        name: &str,
    ) -> Result<Option<DocumentRow>, StoreError> {
        let sql = format!(
            "{DOCUMENT_SELECT} WHERE d.dataset_id = $1 AND d.name = $2 AND d.data_source_type = 'upload_file' \
             AND d.enabled = TRUE ORDER BY d.position LIMIT 1"
        );
        // Built from constants only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(dataset_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| document_from_row(&row)).transpose()
    }

    /// One document of a dataset.
    pub async fn api_document(
        &self,
        dataset_id: &str,
        document_id: &str,
    ) -> Result<Option<DocumentRow>, StoreError> {
        let sql = format!("{DOCUMENT_SELECT} WHERE d.dataset_id = $1 AND d.id = $2");
        // Built from constants only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(dataset_id)
            .bind(document_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(document_from_row).transpose()
    }

    /// Documents of one upload batch, in position order.
    pub async fn batch_documents(
        &self,
        dataset_id: &str,
        batch: &str,
    ) -> Result<Vec<DocumentRow>, StoreError> {
        let sql = format!("{DOCUMENT_SELECT} WHERE d.dataset_id = $1 AND d.batch = $2 ORDER BY d.position");
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(dataset_id)
            .bind(batch)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(document_from_row).collect()
    }

    /// Records that a document reached `stage`.
    pub async fn set_document_stage(&self, document_id: &str, stage: Stage) -> Result<(), StoreError> {
        let ts = now();
        let query = match stage {
            Stage::Parsing => sqlx::query(
                "UPDATE documents SET indexing_status = 'parsing', processing_started_at = $1, error = NULL, \
                 updated_at = $2 WHERE id = $3",
            )
            .bind(ts),
            Stage::Splitting => sqlx::query(
                "UPDATE documents SET indexing_status = 'splitting', parsing_completed_at = $1, updated_at = $2 \
                 WHERE id = $3",
            )
            .bind(ts),
            Stage::Indexing => sqlx::query(
                "UPDATE documents SET indexing_status = 'indexing', cleaning_completed_at = $1, \
                 splitting_completed_at = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(ts)
            .bind(ts),
        };
        query.bind(ts).bind(document_id).execute(&self.pool).await?;
        Ok(())
    }

    /// Removes a document's segments (before re-indexing it after an interrupted attempt).
    pub async fn delete_document_segments(&self, document_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM document_segments WHERE document_id = $1")
            .bind(document_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes a document with its segments and jobs.
    pub async fn delete_api_document(&self, dataset_id: &str, document_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM jobs WHERE document_id = $1")
            .bind(document_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM documents WHERE id = $1 AND dataset_id = $2")
            .bind(document_id)
            .bind(dataset_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
