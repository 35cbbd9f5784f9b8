//! Index rebuilds: the segments to re-embed, page by page in id order, and the run record that
//! makes a rebuild resumable and its switch to the new generation atomic.

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, StoreError, get_bool, now, numbered_placeholders};

/// A rebuild of one dataset's indexes into `target_generation`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReindexRun {
    pub dataset_id: String,
    pub target_generation: i64,
    /// Model the new generation is embedded with (None: keyword-only dataset).
    pub embedding_model: Option<String>,
    pub embedding_dimension: Option<usize>,
    /// Last segment id written to the new generation ('' before the first page).
    pub cursor: String,
    pub rows_written: i64,
    pub started_at: i64,
    /// Documents are re-parsed and re-chunked (`--rechunk`) rather than segments re-embedded.
    pub rechunk: bool,
    /// Last document id re-chunked into the new generation ('' before the first page).
    pub document_cursor: String,
}

/// What the index needs of a segment: its text or, in parent-child datasets, its children's.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSource {
    pub id: String,
    pub document_id: String,
    pub content: String,
    /// Hidden from retrieval: the segment or its document is disabled, or the document archived.
    pub enabled: bool,
    /// (child chunk id, content) in position order; empty for plain segments.
    pub children: Vec<(String, String)>,
    /// The segment's keywords (extracted or edited).
    pub keywords: Vec<String>,
}

const SOURCE_COLUMNS: &str = "SELECT s.id, s.document_id, s.content, s.keywords, \
    CAST(CASE WHEN s.enabled AND d.enabled AND NOT d.archived THEN 1 ELSE 0 END AS INTEGER) AS visible \
    FROM document_segments s JOIN documents d ON d.id = s.document_id";

const SOURCE_SELECT: &str = "SELECT s.id, s.document_id, s.content, s.keywords, \
    CAST(CASE WHEN s.enabled AND d.enabled AND NOT d.archived THEN 1 ELSE 0 END AS INTEGER) AS visible \
    FROM document_segments s JOIN documents d ON d.id = s.document_id \
    WHERE s.dataset_id = $1 AND d.indexing_status = 'completed'";

impl Store {
    /// Every dataset of a tenant, oldest first.
    pub async fn all_datasets(&self, tenant_id: &str) -> Result<Vec<super::Dataset>, StoreError> {
        let (mut all, mut page) = (Vec::new(), 1);
        loop {
            let (datasets, total) = self.list_datasets(tenant_id, None, page, 100).await?;
            let done = datasets.is_empty() || (all.len() + datasets.len()) as i64 >= total;
            all.extend(datasets);
            if done {
                all.reverse();
                return Ok(all);
            }
            page += 1;
        }
    }

    /// The rebuild in progress for a dataset, if any.
    pub async fn reindex_run(&self, dataset_id: &str) -> Result<Option<ReindexRun>, StoreError> {
        let row = sqlx::query(
            "SELECT dataset_id, target_generation, embedding_model, embedding_dimension, last_segment_id, rows_written, \
             started_at, CAST(rechunk AS INTEGER) AS rechunk, last_document_id FROM reindex_runs WHERE dataset_id = $1",
        )
        .bind(dataset_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ReindexRun {
                dataset_id: row.try_get("dataset_id")?,
                target_generation: row.try_get("target_generation")?,
                embedding_model: row.try_get("embedding_model")?,
                embedding_dimension: row
                    .try_get::<Option<i64>, _>("embedding_dimension")?
                    .map(|d| d as usize),
                cursor: row.try_get("last_segment_id")?,
                rows_written: row.try_get("rows_written")?,
                started_at: row.try_get("started_at")?,
                rechunk: get_bool(&row, "rechunk")?,
                document_cursor: row.try_get("last_document_id")?,
            })
        })
        .transpose()
    }

    /// Records the start of a rebuild (replacing a stale record of an older generation, and
    /// whatever segments it had staged).
    pub async fn start_reindex(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        target_generation: i64,
        model: Option<(&str, usize)>,
        rechunk: bool,
    ) -> Result<ReindexRun, StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        for table in ["reindex_runs", "rechunk_child_chunks", "rechunk_segments"] {
            // Built from constant table names only.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE dataset_id = $1"
            )))
            .bind(dataset_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO reindex_runs (dataset_id, tenant_id, target_generation, embedding_model, \
             embedding_dimension, started_at, updated_at, rechunk) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .bind(dataset_id)
        .bind(tenant_id)
        .bind(target_generation)
        .bind(model.map(|(id, _)| id.to_string()))
        .bind(model.map(|(_, d)| d as i64))
        .bind(ts)
        .bind(rechunk)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.reindex_run(dataset_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("reindex run vanished after insert".into()))
    }

    /// Records that every segment up to `cursor` (in id order) is in the new generation.
    pub async fn advance_reindex(&self, dataset_id: &str, cursor: &str, rows: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE reindex_runs SET last_segment_id = $1, rows_written = rows_written + $2, updated_at = $3 \
             WHERE dataset_id = $4",
        )
        .bind(cursor)
        .bind(rows)
        .bind(now())
        .bind(dataset_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Switches the dataset to the rebuilt generation (and its model) and ends the run, in one
    /// transaction; false if the dataset moved on meanwhile (another rebuild finished first).
    pub async fn finish_reindex(&self, run: &ReindexRun) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let switched = switch_generation(&mut tx, run, now()).await?;
        sqlx::query("DELETE FROM reindex_runs WHERE dataset_id = $1")
            .bind(&run.dataset_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(switched)
    }

    /// Segments of completed documents in a dataset.
    pub async fn count_indexable_segments(&self, dataset_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM document_segments s JOIN documents d ON d.id = s.document_id \
             WHERE s.dataset_id = $1 AND d.indexing_status = 'completed'",
        )
        .bind(dataset_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The next `limit` segments after `cursor` in id order, with their child chunks.
    pub async fn segment_sources_after(
        &self,
        dataset_id: &str,
        cursor: &str,
        limit: i64,
    ) -> Result<Vec<SegmentSource>, StoreError> {
        let sql = format!("{SOURCE_SELECT} AND s.id > $2 ORDER BY s.id LIMIT $3");
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(dataset_id)
            .bind(cursor)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        self.with_children(rows.iter().map(source_from_row).collect::<Result<_, _>>()?)
            .await
    }

    /// Segments written or changed since `since` (theirs or their document's update time): what a
    /// rebuild must apply again before switching, because the live generation took it meanwhile.
    pub async fn segment_sources_changed_since(
        &self,
        dataset_id: &str,
        since: i64,
    ) -> Result<Vec<SegmentSource>, StoreError> {
        let sql = format!(
            "{SOURCE_SELECT} AND (s.updated_at >= $2 OR s.created_at >= $2 OR d.updated_at >= $2) ORDER BY s.id"
        );
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(dataset_id)
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        self.with_children(rows.iter().map(source_from_row).collect::<Result<_, _>>()?)
            .await
    }

    /// Segments of one document (whatever its status) written or edited at or after `since` (0:
    /// all of them), in position order, with their child chunks: what embedding a document's
    /// existing segments reads. Changes of the document's own flags are not counted: the caller
    /// brings visibility up to date separately.
    pub async fn document_segment_sources(
        &self,
        document_id: &str,
        since: i64,
    ) -> Result<Vec<SegmentSource>, StoreError> {
        let sql = format!(
            "{SOURCE_COLUMNS} WHERE s.document_id = $1 \
             AND (s.updated_at >= $2 OR s.created_at >= $2) ORDER BY s.position, s.id"
        );
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(document_id)
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        self.with_children(rows.iter().map(source_from_row).collect::<Result<_, _>>()?)
            .await
    }

    async fn with_children(&self, mut sources: Vec<SegmentSource>) -> Result<Vec<SegmentSource>, StoreError> {
        let mut by_segment: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for chunk in sources.chunks(500) {
            let sql = format!(
                "SELECT id, segment_id, content FROM child_chunks WHERE segment_id IN ({}) \
                 ORDER BY segment_id, position",
                numbered_placeholders(1, chunk.len())
            );
            // Built from a constant and numbered placeholders only.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for source in chunk {
                query = query.bind(&source.id);
            }
            for row in query.fetch_all(&self.pool).await? {
                by_segment
                    .entry(row.try_get("segment_id")?)
                    .or_default()
                    .push((row.try_get("id")?, row.try_get("content")?));
            }
        }
        for source in &mut sources {
            source.children = by_segment.remove(&source.id).unwrap_or_default();
        }
        Ok(sources)
    }
}

fn source_from_row(row: &sqlx::any::AnyRow) -> Result<SegmentSource, StoreError> {
    Ok(SegmentSource {
        id: row.try_get("id")?,
        document_id: row.try_get("document_id")?,
        content: row.try_get("content")?,
        enabled: get_bool(row, "visible")?,
        children: Vec::new(),
        keywords: super::segment_edits::keywords_from_text(row.try_get("keywords")?)?,
    })
}

/// Moves the dataset to the run's generation (and its model) inside `tx`; false if the dataset is
/// no longer on the generation the run was built beside (another rebuild finished first).
pub(super) async fn switch_generation(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    run: &ReindexRun,
    ts: i64,
) -> Result<bool, StoreError> {
    let switched = sqlx::query(
        "UPDATE datasets SET index_generation = $1, embedding_model = COALESCE($2, embedding_model), \
         embedding_dimension = COALESCE($3, embedding_dimension), updated_at = $4 \
         WHERE id = $5 AND index_generation = $6",
    )
    .bind(run.target_generation)
    .bind(run.embedding_model.as_deref())
    .bind(run.embedding_dimension.map(|d| d as i64))
    .bind(ts)
    .bind(&run.dataset_id)
    .bind(run.target_generation - 1)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(switched == 1)
}
