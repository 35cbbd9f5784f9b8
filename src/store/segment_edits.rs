//! Segments and child chunks as the segment API reads and edits them: one segment with its
//! children, pages of segments and of child chunks, adds, content changes, enabling and deletes.
//!
//! Every change to a segment's text moves its document's `word_count` and `tokens` by the
//! difference in the same transaction, so document and dataset totals stay right. Queries are
//! portable SQL (numbered placeholders, no backend-specific functions).

use std::collections::HashMap;

use sqlx::Row;

use super::segments::{NewChildChunk, NewSegment};
use super::{Store, StoreError, get_bool, like_pattern, now, numbered_placeholders};

/// A segment with everything the API reports about it.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    pub id: String,
    pub document_id: String,
    pub position: i64,
    pub content: String,
    pub answer: Option<String>,
    pub keywords: Vec<String>,
    pub word_count: i64,
    pub tokens: i64,
    pub hit_count: i64,
    pub enabled: bool,
    pub disabled_at: Option<i64>,
    pub disabled_by: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: Option<String>,
    pub indexing_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub stopped_at: Option<i64>,
    /// In position order; empty outside parent-child documents.
    pub child_chunks: Vec<ChildChunkRow>,
}

/// A child chunk of a parent segment.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildChunkRow {
    pub id: String,
    pub segment_id: String,
    pub content: String,
    pub position: i64,
    pub word_count: i64,
    /// `automatic` (cut by the process rule) or `customized` (written through the API).
    pub chunk_type: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where a segment lives: every segment and child chunk row carries these ids.
#[derive(Debug, Clone, Copy)]
pub struct SegmentScope<'a> {
    pub tenant_id: &'a str,
    pub dataset_id: &'a str,
    pub document_id: &'a str,
}

/// A segment added through the API, with the fields chunking does not produce.
#[derive(Debug, Clone)]
pub struct AddedSegment {
    /// Position is 1-based within the request; rows go after the document's last segment.
    pub segment: NewSegment,
    pub answer: Option<String>,
    pub keywords: Vec<String>,
    /// Characters of content and answer (Dify's `word_count`).
    pub word_count: usize,
}

/// New text of an existing segment.
#[derive(Debug, Clone)]
pub struct SegmentText {
    pub content: String,
    pub answer: Option<String>,
    pub keywords: Vec<String>,
    pub word_count: usize,
    pub tokens: usize,
    /// Set when the text was indexed again: `indexing_at` and `completed_at` move to now.
    pub reindexed: bool,
}

/// Which segments of a document a list shows.
#[derive(Debug, Clone, Default)]
pub struct SegmentFilter {
    /// Only these statuses; all when empty.
    pub statuses: Vec<String>,
    /// Only segments whose content contains this, ignoring case.
    pub keyword: Option<String>,
    /// Only enabled (true) or disabled (false) segments; all when None.
    pub enabled: Option<bool>,
    /// Only segments hit at least this often.
    pub min_hit_count: Option<i64>,
}

const SEGMENT_COLUMNS: &str = "id, document_id, position, content, answer, keywords, word_count, tokens, \
    hit_count, CAST(enabled AS INTEGER) AS enabled, disabled_at, disabled_by, status, error, created_by, created_at, updated_at, \
    updated_by, indexing_at, completed_at, stopped_at";

const CHILD_CHUNK_COLUMNS: &str =
    "id, segment_id, content, position, word_count, type, created_at, updated_at";

fn segment_from_row(row: &sqlx::any::AnyRow) -> Result<SegmentRow, StoreError> {
    Ok(SegmentRow {
        id: row.try_get("id")?,
        document_id: row.try_get("document_id")?,
        position: row.try_get("position")?,
        content: row.try_get("content")?,
        answer: row.try_get("answer")?,
        keywords: keywords_from_text(row.try_get("keywords")?)?,
        word_count: row.try_get("word_count")?,
        tokens: row.try_get("tokens")?,
        hit_count: row.try_get("hit_count")?,
        enabled: get_bool(row, "enabled")?,
        disabled_at: row.try_get("disabled_at")?,
        disabled_by: row.try_get("disabled_by")?,
        status: row.try_get("status")?,
        error: row.try_get("error")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
        indexing_at: row.try_get("indexing_at")?,
        completed_at: row.try_get("completed_at")?,
        stopped_at: row.try_get("stopped_at")?,
        child_chunks: Vec::new(),
    })
}

fn child_chunk_from_row(row: &sqlx::any::AnyRow) -> Result<ChildChunkRow, StoreError> {
    Ok(ChildChunkRow {
        id: row.try_get("id")?,
        segment_id: row.try_get("segment_id")?,
        content: row.try_get("content")?,
        position: row.try_get("position")?,
        word_count: row.try_get("word_count")?,
        chunk_type: row.try_get("type")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Keywords are kept as a JSON list; rows written by ingestion have none.
pub(super) fn keywords_from_text(text: Option<String>) -> Result<Vec<String>, StoreError> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("segment keywords: {e}")))
        }
    }
}

pub(super) fn keywords_to_text(keywords: &[String]) -> String {
    serde_json::Value::from(keywords.to_vec()).to_string()
}

/// `$first, $first+1, ...`: `count` numbered placeholders.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The WHERE clause of a segment list; binds `document_id`, the statuses, then the pattern.
fn segment_filter_sql(filter: &SegmentFilter) -> String {
    let mut sql = String::from("document_id = $1");
    if !filter.statuses.is_empty() {
        sql.push_str(&format!(
            " AND status IN ({})",
            placeholders(2, filter.statuses.len())
        ));
    }
    let mut n = 2 + filter.statuses.len();
    if filter.keyword.is_some() {
        sql.push_str(&format!(" AND LOWER(content) LIKE LOWER(${n}) ESCAPE '\\'"));
        n += 1;
    }
    if filter.enabled.is_some() {
        sql.push_str(&format!(" AND CAST(enabled AS INTEGER) = ${n}"));
        n += 1;
    }
    if filter.min_hit_count.is_some() {
        sql.push_str(&format!(" AND hit_count >= ${n}"));
    }
    sql
}

/// Moves a document's totals by the change in one of its segments, never below zero.
async fn shift_document_counts(
    conn: &mut sqlx::AnyConnection,
    document_id: &str,
    words: i64,
    tokens: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE documents SET \
         word_count = CASE WHEN word_count + $1 < 0 THEN 0 ELSE word_count + $1 END, \
         tokens = CASE WHEN tokens + $2 < 0 THEN 0 ELSE tokens + $2 END, updated_at = $3 WHERE id = $4",
    )
    .bind(words)
    .bind(tokens)
    .bind(now())
    .bind(document_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Word count and tokens of a segment of a document, if it exists.
async fn segment_counts(
    conn: &mut sqlx::AnyConnection,
    document_id: &str,
    segment_id: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    let row =
        sqlx::query("SELECT word_count, tokens FROM document_segments WHERE document_id = $1 AND id = $2")
            .bind(document_id)
            .bind(segment_id)
            .fetch_optional(conn)
            .await?;
    row.map(|row| Ok((row.try_get("word_count")?, row.try_get("tokens")?)))
        .transpose()
}

/// Writes child chunks of one or more segments of a document.
async fn insert_child_chunks(
    conn: &mut sqlx::AnyConnection,
    scope: SegmentScope<'_>,
    children: &[NewChildChunk],
    chunk_type: &str,
) -> Result<(), StoreError> {
    let ts = now();
    for child in children {
        sqlx::query(
            "INSERT INTO child_chunks (id, tenant_id, dataset_id, document_id, segment_id, position, content, \
             word_count, type, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&child.id)
        .bind(scope.tenant_id)
        .bind(scope.dataset_id)
        .bind(scope.document_id)
        .bind(&child.segment_id)
        .bind(child.position as i64)
        .bind(&child.content)
        .bind(child.content.chars().count() as i64)
        .bind(chunk_type)
        .bind(ts)
        .bind(ts)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Adds segments (and their automatic child chunks) after the document's last segment, and
    /// adds their words and tokens to the document, in one transaction. Returns the ids in order.
    pub async fn add_segments(
        &self,
        scope: SegmentScope<'_>,
        created_by: &str,
        segments: &[AddedSegment],
        children: &[NewChildChunk],
    ) -> Result<Vec<String>, StoreError> {
        let document_id = scope.document_id;
        let ts = now();
        let mut tx = self.begin_write().await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(position) FROM document_segments WHERE document_id = $1")
                .bind(document_id)
                .fetch_one(&mut *tx)
                .await?;
        for added in segments {
            let segment = &added.segment;
            sqlx::query(
                "INSERT INTO document_segments (id, tenant_id, dataset_id, document_id, position, content, answer, \
                 keywords, word_count, tokens, status, created_by, created_at, updated_at, indexing_at, completed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'completed', $11, $12, $12, $12, $12)",
            )
            .bind(&segment.id)
            .bind(scope.tenant_id)
            .bind(scope.dataset_id)
            .bind(document_id)
            .bind(last.unwrap_or(0) + segment.position as i64)
            .bind(&segment.content)
            .bind(&added.answer)
            .bind(keywords_to_text(&added.keywords))
            .bind(added.word_count as i64)
            .bind(segment.tokens as i64)
            .bind(created_by)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
        }
        insert_child_chunks(&mut tx, scope, children, "automatic").await?;
        let words: usize = segments.iter().map(|s| s.word_count).sum();
        let tokens: usize = segments.iter().map(|s| s.segment.tokens).sum();
        shift_document_counts(&mut tx, document_id, words as i64, tokens as i64).await?;
        tx.commit().await?;
        Ok(segments.iter().map(|s| s.segment.id.clone()).collect())
    }

    /// One segment of a document, with its child chunks.
    pub async fn segment(
        &self,
        document_id: &str,
        segment_id: &str,
    ) -> Result<Option<SegmentRow>, StoreError> {
        let mut rows = self
            .segments_by_id(document_id, &[segment_id.to_string()])
            .await?;
        Ok(rows.pop())
    }

    /// Segments of a document by id, in position order, with their child chunks.
    pub async fn segments_by_id(
        &self,
        document_id: &str,
        ids: &[String],
    ) -> Result<Vec<SegmentRow>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {SEGMENT_COLUMNS} FROM document_segments WHERE document_id = $1 AND id IN ({})",
                placeholders(2, chunk.len())
            );
            // Built from constants and numbered placeholders only.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(document_id);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                out.push(segment_from_row(&row)?);
            }
        }
        out.sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
        self.attach_child_chunks(&mut out).await?;
        Ok(out)
    }

    /// A page of a document's segments in position order, with their child chunks; and the total.
    pub async fn list_segments(
        &self,
        document_id: &str,
        filter: &SegmentFilter,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<SegmentRow>, i64), StoreError> {
        let clause = segment_filter_sql(filter);
        let pattern = filter.keyword.as_deref().map(|k| like_pattern(Some(k)));
        let n = 2
            + filter.statuses.len()
            + usize::from(pattern.is_some())
            + usize::from(filter.enabled.is_some())
            + usize::from(filter.min_hit_count.is_some());
        let count_sql = format!("SELECT COUNT(*) FROM document_segments WHERE {clause}");
        let page_sql = format!(
            "SELECT {SEGMENT_COLUMNS} FROM document_segments WHERE {clause} \
             ORDER BY position, id LIMIT ${n} OFFSET ${}",
            n + 1
        );
        // Both built from constants and numbered placeholders only.
        let mut count = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)).bind(document_id);
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(page_sql)).bind(document_id);
        for status in &filter.statuses {
            count = count.bind(status);
            rows = rows.bind(status);
        }
        if let Some(pattern) = &pattern {
            count = count.bind(pattern);
            rows = rows.bind(pattern);
        }
        if let Some(enabled) = filter.enabled {
            count = count.bind(i64::from(enabled));
            rows = rows.bind(i64::from(enabled));
        }
        if let Some(hits) = filter.min_hit_count {
            count = count.bind(hits);
            rows = rows.bind(hits);
        }
        let total: i64 = count.fetch_one(&self.pool).await?;
        let rows = rows
            .bind(i64::from(limit))
            .bind(i64::from(page.saturating_sub(1)) * i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut segments = rows.iter().map(segment_from_row).collect::<Result<Vec<_>, _>>()?;
        self.attach_child_chunks(&mut segments).await?;
        Ok((segments, total))
    }

    /// Fills in the child chunks of `segments`.
    async fn attach_child_chunks(&self, segments: &mut [SegmentRow]) -> Result<(), StoreError> {
        let ids: Vec<String> = segments.iter().map(|s| s.id.clone()).collect();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {CHILD_CHUNK_COLUMNS} FROM child_chunks WHERE segment_id IN ({}) ORDER BY position, id",
                placeholders(1, chunk.len())
            );
            // Built from constants and numbered placeholders only.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let child = child_chunk_from_row(&row)?;
                if let Some(segment) = segments.iter_mut().find(|s| s.id == child.segment_id) {
                    segment.child_chunks.push(child);
                }
            }
        }
        Ok(())
    }

    /// Replaces a segment's text (enabling it), optionally with new automatic child chunks, and
    /// moves the document's totals by the difference. False if the segment does not exist.
    pub async fn update_segment_text(
        &self,
        scope: SegmentScope<'_>,
        segment_id: &str,
        updated_by: &str,
        text: &SegmentText,
        children: Option<&[NewChildChunk]>,
    ) -> Result<bool, StoreError> {
        let document_id = scope.document_id;
        let ts = now();
        let mut tx = self.begin_write().await?;
        let Some((words, tokens)) = segment_counts(&mut tx, document_id, segment_id).await? else {
            return Ok(false);
        };
        let indexed_at = text.reindexed.then_some(ts);
        sqlx::query(
            "UPDATE document_segments SET content = $1, answer = $2, keywords = $3, word_count = $4, tokens = $5, \
             enabled = TRUE, disabled_at = NULL, disabled_by = NULL, status = 'completed', error = NULL, \
             updated_by = $6, updated_at = $7, indexing_at = COALESCE($8, indexing_at), \
             completed_at = COALESCE($8, completed_at) WHERE document_id = $9 AND id = $10",
        )
        .bind(&text.content)
        .bind(&text.answer)
        .bind(keywords_to_text(&text.keywords))
        .bind(text.word_count as i64)
        .bind(text.tokens as i64)
        .bind(updated_by)
        .bind(ts)
        .bind(indexed_at)
        .bind(document_id)
        .bind(segment_id)
        .execute(&mut *tx)
        .await?;
        if let Some(children) = children {
            sqlx::query("DELETE FROM child_chunks WHERE segment_id = $1")
                .bind(segment_id)
                .execute(&mut *tx)
                .await?;
            insert_child_chunks(&mut tx, scope, children, "automatic").await?;
        }
        let word_delta = text.word_count as i64 - words;
        let token_delta = text.tokens as i64 - tokens;
        shift_document_counts(&mut tx, document_id, word_delta, token_delta).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Enables or disables a segment, recording when and by whom it was disabled.
    pub async fn set_segment_enabled(
        &self,
        document_id: &str,
        segment_id: &str,
        enabled: bool,
        by: &str,
    ) -> Result<(), StoreError> {
        let ts = now();
        let (disabled_at, disabled_by) = if enabled {
            (None, None)
        } else {
            (Some(ts), Some(by))
        };
        sqlx::query(
            "UPDATE document_segments SET enabled = $1, disabled_at = $2, disabled_by = $3, updated_at = $4 \
             WHERE document_id = $5 AND id = $6",
        )
        .bind(enabled)
        .bind(disabled_at)
        .bind(disabled_by)
        .bind(ts)
        .bind(document_id)
        .bind(segment_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes a segment with its child chunks and takes its words and tokens off the document.
    /// False if it did not exist.
    pub async fn delete_segment(&self, document_id: &str, segment_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some((words, tokens)) = segment_counts(&mut tx, document_id, segment_id).await? else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM child_chunks WHERE segment_id = $1")
            .bind(segment_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM document_segments WHERE document_id = $1 AND id = $2")
            .bind(document_id)
            .bind(segment_id)
            .execute(&mut *tx)
            .await?;
        shift_document_counts(&mut tx, document_id, -words, -tokens).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ids of a document's segments, split into enabled and disabled ones.
    pub async fn segment_ids_by_enabled(
        &self,
        document_id: &str,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let rows = sqlx::query(
            "SELECT id, CAST(enabled AS INTEGER) AS enabled FROM document_segments WHERE document_id = $1",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?;
        let mut enabled = Vec::new();
        let mut disabled = Vec::new();
        for row in rows {
            let id: String = row.try_get("id")?;
            if get_bool(&row, "enabled")? {
                enabled.push(id);
            } else {
                disabled.push(id);
            }
        }
        Ok((enabled, disabled))
    }
}

impl Store {
    /// A page of a segment's child chunks in position order, optionally those containing
    /// `keyword` (ignoring case); and the total.
    pub async fn list_child_chunks(
        &self,
        segment_id: &str,
        keyword: Option<&str>,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<ChildChunkRow>, i64), StoreError> {
        let pattern = like_pattern(keyword);
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM child_chunks WHERE segment_id = $1 AND LOWER(content) LIKE LOWER($2) ESCAPE '\\'",
        )
        .bind(segment_id)
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await?;
        let sql = format!(
            "SELECT {CHILD_CHUNK_COLUMNS} FROM child_chunks WHERE segment_id = $1 \
             AND LOWER(content) LIKE LOWER($2) ESCAPE '\\' ORDER BY position, id LIMIT $3 OFFSET $4"
        );
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(segment_id)
            .bind(&pattern)
            .bind(i64::from(limit))
            .bind(i64::from(page.saturating_sub(1)) * i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let chunks = rows.iter().map(child_chunk_from_row).collect::<Result<_, _>>()?;
        Ok((chunks, total))
    }

    /// Child chunks of a dataset by id (the child rows a retrieval matched); unknown ids are
    /// left out.
    pub async fn child_chunks_by_id(
        &self,
        dataset_id: &str,
        ids: &[String],
    ) -> Result<HashMap<String, ChildChunkRow>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {CHILD_CHUNK_COLUMNS} FROM child_chunks WHERE dataset_id = $1 AND id IN ({})",
                numbered_placeholders(2, chunk.len())
            );
            // Built from constants and numbered placeholders only.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(dataset_id);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let child = child_chunk_from_row(&row)?;
                out.insert(child.id.clone(), child);
            }
        }
        Ok(out)
    }

    /// One child chunk of a segment.
    pub async fn child_chunk(&self, segment_id: &str, id: &str) -> Result<Option<ChildChunkRow>, StoreError> {
        let sql = format!("SELECT {CHILD_CHUNK_COLUMNS} FROM child_chunks WHERE segment_id = $1 AND id = $2");
        // Built from constants only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(segment_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(child_chunk_from_row).transpose()
    }

    /// Adds a customized child chunk after the segment's last one; returns it.
    pub async fn add_child_chunk(
        &self,
        scope: SegmentScope<'_>,
        segment_id: &str,
        id: &str,
        content: &str,
    ) -> Result<ChildChunkRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(position) FROM child_chunks WHERE segment_id = $1")
                .bind(segment_id)
                .fetch_one(&mut *tx)
                .await?;
        let child = NewChildChunk {
            id: id.to_string(),
            segment_id: segment_id.to_string(),
            position: (last.unwrap_or(0) + 1) as usize,
            content: content.to_string(),
        };
        insert_child_chunks(&mut tx, scope, std::slice::from_ref(&child), "customized").await?;
        tx.commit().await?;
        self.child_chunk(segment_id, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("child chunk vanished after insert".into()))
    }

    /// Replaces a child chunk's text; it becomes `customized`.
    pub async fn update_child_chunk(
        &self,
        segment_id: &str,
        id: &str,
        content: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE child_chunks SET content = $1, word_count = $2, type = 'customized', updated_at = $3 \
             WHERE segment_id = $4 AND id = $5",
        )
        .bind(content)
        .bind(content.chars().count() as i64)
        .bind(now())
        .bind(segment_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes a child chunk.
    pub async fn delete_child_chunk(&self, segment_id: &str, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM child_chunks WHERE segment_id = $1 AND id = $2")
            .bind(segment_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_number_their_placeholders_in_bind_order() {
        assert_eq!(segment_filter_sql(&SegmentFilter::default()), "document_id = $1");
        let filter = SegmentFilter {
            statuses: vec!["completed".into(), "error".into()],
            keyword: Some("tea".into()),
            ..SegmentFilter::default()
        };
        assert_eq!(
            segment_filter_sql(&filter),
            "document_id = $1 AND status IN ($2, $3) AND LOWER(content) LIKE LOWER($4) ESCAPE '\\'"
        );
        let filter = SegmentFilter {
            keyword: Some("tea".into()),
            enabled: Some(false),
            min_hit_count: Some(2),
            ..SegmentFilter::default()
        };
        assert_eq!(
            segment_filter_sql(&filter),
            "document_id = $1 AND LOWER(content) LIKE LOWER($2) ESCAPE '\\' AND CAST(enabled AS INTEGER) = $3 \
             AND hit_count >= $4"
        );
    }

    #[test]
    fn keywords_round_trip_as_a_json_list() {
        let keywords = vec!["green tea".to_string(), "\"quoted\"".to_string()];
        let text = keywords_to_text(&keywords);
        assert_eq!(keywords_from_text(Some(text)).unwrap(), keywords);
        assert!(keywords_from_text(None).unwrap().is_empty());
        assert!(keywords_from_text(Some("not json".into())).is_err());
    }
}
