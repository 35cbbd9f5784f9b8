//! `ragd reindex --rechunk`: the documents to re-parse, page by page in id order, and their new
//! segments, staged beside the live ones until the transaction that switches generations puts
//! them in place.

use sqlx::Row;

use super::{CompletedDocument, ReindexRun, Store, StoreError, get_bool, now, numbered_placeholders};

/// What re-chunking a document needs: where its original content is and which rule cuts it.
#[derive(Debug, Clone, PartialEq)]
pub struct RechunkSource {
    pub id: String,
    pub name: String,
    /// The `ragd ingest` input key (a path, or `<corpus>#<_id>`), or `upload_file:<id>`.
    pub source: String,
    pub content_hash: String,
    /// The document's own process rule (JSON), when it has one; else the dataset's applies.
    pub process_rule: Option<String>,
    /// The uploaded file (storage key under the file store, extension), for API documents.
    pub file: Option<(String, String)>,
    pub doc_metadata: Option<String>,
    /// Searchable: enabled and not archived.
    pub visible: bool,
}

impl Store {
    /// The next `limit` completed documents after `cursor` in id order.
    pub async fn rechunk_sources_after(
        &self,
        dataset_id: &str,
        cursor: &str,
        limit: i64,
    ) -> Result<Vec<RechunkSource>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.name, d.source, d.content_hash, d.process_rule, d.doc_metadata, \
             CAST(CASE WHEN d.enabled AND NOT d.archived THEN 1 ELSE 0 END AS INTEGER) AS visible, \
             f.storage_key, f.extension FROM documents d LEFT JOIN upload_files f ON f.id = d.upload_file_id \
             WHERE d.dataset_id = $1 AND d.indexing_status = 'completed' AND d.id > $2 ORDER BY d.id LIMIT $3",
        )
        .bind(dataset_id)
        .bind(cursor)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let key: Option<String> = row.try_get("storage_key")?;
                let extension: Option<String> = row.try_get("extension")?;
                Ok(RechunkSource {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    source: row.try_get("source")?,
                    content_hash: row.try_get("content_hash")?,
                    process_rule: row.try_get("process_rule")?,
                    file: key.zip(extension),
                    doc_metadata: row.try_get("doc_metadata")?,
                    visible: get_bool(row, "visible")?,
                })
            })
            .collect()
    }

    /// Stages the new segments of one page of documents (replacing what an interrupted attempt
    /// staged for them) and records the page as done, in one transaction. `page` is every
    /// document of the page, `docs` those that were re-chunked (the others keep their segments).
    pub async fn stage_rechunk(
        &self,
        run: &ReindexRun,
        tenant_id: &str,
        page: &[String],
        docs: &[CompletedDocument],
        cursor: &str,
        rows: i64,
    ) -> Result<(), StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        unstage(&mut tx, &run.dataset_id, page).await?;
        for doc in docs {
            for segment in &doc.segments {
                sqlx::query(
                    "INSERT INTO rechunk_segments (id, tenant_id, dataset_id, document_id, position, content, \
                     word_count, tokens, page, keywords, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&segment.id)
                .bind(tenant_id)
                .bind(&run.dataset_id)
                .bind(&doc.document_id)
                .bind(segment.position as i64)
                .bind(&segment.content)
                .bind(segment.content.chars().count() as i64)
                .bind(segment.tokens as i64)
                .bind(segment.page.map(i64::from))
                .bind(super::segment_edits::keywords_to_text(&segment.keywords))
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            }
            for child in &doc.children {
                sqlx::query(
                    "INSERT INTO rechunk_child_chunks (id, tenant_id, dataset_id, document_id, segment_id, position, \
                     content, word_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&child.id)
                .bind(tenant_id)
                .bind(&run.dataset_id)
                .bind(&doc.document_id)
                .bind(&child.segment_id)
                .bind(child.position as i64)
                .bind(&child.content)
                .bind(child.content.chars().count() as i64)
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query(
            "UPDATE reindex_runs SET last_document_id = $1, rows_written = rows_written + $2, updated_at = $3 \
             WHERE dataset_id = $4",
        )
        .bind(cursor)
        .bind(rows)
        .bind(ts)
        .bind(&run.dataset_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drops the staged segments of these documents: they keep their live segments.
    pub async fn unstage_rechunk(&self, dataset_id: &str, document_ids: &[String]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        unstage(&mut tx, dataset_id, document_ids).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Documents that changed after `since` (their own row, or one of their segments written or
    /// edited): a re-chunk keeps what the live generation has for them. Strictly after: changes
    /// within the run's first second are what the walk itself reads.
    pub async fn documents_changed_since(
        &self,
        dataset_id: &str,
        since: i64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT d.id FROM documents d WHERE d.dataset_id = $1 \
             AND (d.updated_at > $2 OR EXISTS (SELECT 1 FROM document_segments s WHERE s.document_id = d.id \
             AND (s.updated_at > $2 OR s.created_at > $2))) ORDER BY d.id",
        )
        .bind(dataset_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Documents of a dataset hidden from retrieval (disabled or archived).
    pub async fn hidden_documents(&self, dataset_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM documents WHERE dataset_id = $1 AND (NOT enabled OR archived) ORDER BY id",
        )
        .bind(dataset_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Documents and segments staged for a dataset (what the switch will put in place).
    pub async fn count_staged(&self, dataset_id: &str) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT document_id) AS documents, COUNT(*) AS segments FROM rechunk_segments \
             WHERE dataset_id = $1",
        )
        .bind(dataset_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("documents")?, row.try_get("segments")?))
    }

    /// Switches the dataset to the rebuilt generation and, in the same transaction, replaces the
    /// segments of every re-chunked document with its staged ones; false (nothing changed) if the
    /// dataset moved on meanwhile.
    pub async fn finish_rechunk(&self, run: &ReindexRun) -> Result<bool, StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        let switched = super::reindex::switch_generation(&mut tx, run, ts).await?;
        if !switched {
            tx.rollback().await?;
            return Ok(false);
        }
        let dataset = run.dataset_id.as_str();
        const STAGED: &str = "SELECT DISTINCT document_id FROM rechunk_segments WHERE dataset_id = $1";
        // Built from constants only.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM child_chunks WHERE dataset_id = $1 AND document_id IN ({STAGED})"
        )))
        .bind(dataset)
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM document_segments WHERE dataset_id = $1 AND document_id IN ({STAGED})"
        )))
        .bind(dataset)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO document_segments (id, tenant_id, dataset_id, document_id, position, content, word_count, \
             tokens, page, keywords, created_at, updated_at, completed_at) SELECT id, tenant_id, dataset_id, \
             document_id, position, content, word_count, tokens, page, keywords, $2, $2, $2 FROM rechunk_segments \
             WHERE dataset_id = $1",
        )
        .bind(dataset)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO child_chunks (id, tenant_id, dataset_id, document_id, segment_id, position, content, \
             word_count, created_at, updated_at) SELECT id, tenant_id, dataset_id, document_id, segment_id, \
             position, content, word_count, $2, $2 FROM rechunk_child_chunks WHERE dataset_id = $1",
        )
        .bind(dataset)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE documents SET tokens = (SELECT CAST(COALESCE(SUM(r.tokens), 0) AS BIGINT) FROM rechunk_segments r \
             WHERE r.document_id = documents.id), updated_at = $2 WHERE dataset_id = $1 AND id IN ({STAGED})"
        )))
        .bind(dataset)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM rechunk_child_chunks WHERE dataset_id = $1")
            .bind(dataset)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM rechunk_segments WHERE dataset_id = $1")
            .bind(dataset)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM reindex_runs WHERE dataset_id = $1")
            .bind(dataset)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn unstage(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dataset_id: &str,
    document_ids: &[String],
) -> Result<(), StoreError> {
    for chunk in document_ids.chunks(500) {
        let placeholders = numbered_placeholders(2, chunk.len());
        for table in ["rechunk_child_chunks", "rechunk_segments"] {
            let sql =
                format!("DELETE FROM {table} WHERE dataset_id = $1 AND document_id IN ({placeholders})");
            // Built from constant table names and numbered placeholders only.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(dataset_id);
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(&mut **tx).await?;
        }
    }
    Ok(())
}
