//! Whole-database counts for monitoring: documents per indexing status and the job queue.

use sqlx::Row;

use super::{Store, StoreError, now};

/// Jobs waiting for a worker and jobs a worker holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Enqueued jobs, and claimed jobs whose lease ran out (a worker died): claimable now.
    pub waiting: i64,
    /// Jobs a live worker holds.
    pub processing: i64,
}

impl Store {
    /// Documents per `indexing_status`, across every dataset.
    pub async fn document_status_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT indexing_status, COUNT(*) AS n FROM documents GROUP BY indexing_status ORDER BY indexing_status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("indexing_status")?, row.try_get("n")?)))
            .collect()
    }

    /// How many jobs wait in the queue and how many are being worked on.
    pub async fn queue_depth(&self) -> Result<QueueDepth, StoreError> {
        let ts = now();
        let row = sqlx::query(
            "SELECT \
             CAST(COALESCE(SUM(CASE WHEN status = 'enqueued' OR locked_until < $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS waiting, \
             CAST(COALESCE(SUM(CASE WHEN status = 'processing' AND locked_until >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS processing \
             FROM jobs WHERE status IN ('enqueued', 'processing')",
        )
        .bind(ts)
        .bind(ts)
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueDepth {
            waiting: row.try_get("waiting")?,
            processing: row.try_get("processing")?,
        })
    }
}
