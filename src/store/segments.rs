//! Segment and child chunk rows.

use std::collections::HashMap;

use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError, get_bool, now, numbered_placeholders};

/// A segment about to be written.
#[derive(Debug, Clone)]
pub struct NewSegment {
    pub id: String,
    pub position: usize,
    pub content: String,
    pub tokens: usize,
    pub page: Option<u32>,
    pub keywords: Vec<String>,
}

/// A child chunk about to be written (hierarchical datasets).
#[derive(Debug, Clone)]
pub struct NewChildChunk {
    pub id: String,
    pub segment_id: String,
    pub position: usize,
    pub content: String,
}

/// What a search result shows about a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentHit {
    pub id: String,
    pub document_id: String,
    pub document_name: String,
    pub position: i64,
    pub content: String,
    pub page: Option<i64>,
    pub word_count: i64,
    pub tokens: i64,
    pub hit_count: i64,
    pub enabled: bool,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
    pub data_source_type: String,
    pub doc_metadata: Option<String>,
    pub keywords: Vec<String>,
}

pub(super) async fn insert_segments(
    tx: &mut Transaction<'_, Any>,
    tenant_id: &str,
    dataset_id: &str,
    document_id: &str,
    segments: &[NewSegment],
    children: &[NewChildChunk],
) -> Result<(), StoreError> {
    let ts = now();
    for segment in segments {
        sqlx::query(
            "INSERT INTO document_segments (id, tenant_id, dataset_id, document_id, position, content, \
             word_count, tokens, page, keywords, created_at, updated_at, completed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&segment.id)
        .bind(tenant_id)
        .bind(dataset_id)
        .bind(document_id)
        .bind(segment.position as i64)
        .bind(&segment.content)
        .bind(segment.content.chars().count() as i64)
        .bind(segment.tokens as i64)
        .bind(segment.page.map(i64::from))
        .bind(super::segment_edits::keywords_to_text(&segment.keywords))
        .bind(ts)
        .bind(ts)
        .bind(ts)
        .execute(&mut **tx)
        .await?;
    }
    for child in children {
        sqlx::query(
            "INSERT INTO child_chunks (id, tenant_id, dataset_id, document_id, segment_id, position, content, \
             word_count, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&child.id)
        .bind(tenant_id)
        .bind(dataset_id)
        .bind(document_id)
        .bind(&child.segment_id)
        .bind(child.position as i64)
        .bind(&child.content)
        .bind(child.content.chars().count() as i64)
        .bind(ts)
        .bind(ts)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Looks up segments of a dataset by id, with their document names.
    pub async fn segments_for_hits(
        &self,
        dataset_id: &str,
        ids: &[String],
    ) -> Result<HashMap<String, SegmentHit>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let placeholders = numbered_placeholders(2, chunk.len());
            let sql = format!(
                "SELECT s.id, s.document_id, d.name AS document_name, s.position, s.content, s.page, \
                 s.word_count, s.tokens, s.hit_count, CAST(s.enabled AS INTEGER) AS enabled, s.status, s.created_at, s.updated_at, \
                 s.completed_at, d.data_source_type, d.doc_metadata, s.keywords FROM document_segments s JOIN documents d ON d.id = s.document_id \
                 WHERE s.dataset_id = $1 AND s.id IN ({placeholders})"
            );
            // Built from a constant and numbered placeholders only.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(dataset_id);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let hit = SegmentHit {
                    id: row.try_get("id")?,
                    document_id: row.try_get("document_id")?,
                    document_name: row.try_get("document_name")?,
                    position: row.try_get("position")?,
                    content: row.try_get("content")?,
                    page: row.try_get("page")?,
                    word_count: row.try_get("word_count")?,
                    tokens: row.try_get("tokens")?,
                    hit_count: row.try_get("hit_count")?,
                    enabled: get_bool(&row, "enabled")?,
                    status: row.try_get("status")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                    completed_at: row.try_get("completed_at")?,
                    data_source_type: row.try_get("data_source_type")?,
                    doc_metadata: row.try_get("doc_metadata")?,
                    keywords: super::segment_edits::keywords_from_text(row.try_get("keywords")?)?,
                };
                out.insert(hit.id.clone(), hit);
            }
        }
        Ok(out)
    }

    /// Counts one more retrieval hit on each segment.
    pub async fn increment_hit_counts(&self, dataset_id: &str, ids: &[String]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query(
                "UPDATE document_segments SET hit_count = hit_count + 1 WHERE dataset_id = $1 AND id = $2",
            )
            .bind(dataset_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Number of segments in a dataset.
    pub async fn count_segments(&self, dataset_id: &str) -> Result<usize, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM document_segments WHERE dataset_id = $1")
            .bind(dataset_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as usize)
    }
}
