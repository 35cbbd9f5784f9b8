//! The job queue: one row per unit of indexing work, claimed with a lease.
//!
//! A claim is a guarded UPDATE, so two workers never hold the same job; a worker renews its lease
//! while it works, and a job whose lease ran out (its worker died) is claimable again. Document
//! status changes that a job transition causes happen in the same transaction; transactions that
//! change a document and its jobs lock the document row first (see `processing`), so they never
//! deadlock one another.
//!
//! States: `enqueued` -> `processing` -> `succeeded` | `failed`, back to `enqueued` for a retry,
//! and `paused` while its document is paused (workers skip it until it is resumed).

use std::fmt;
use std::str::FromStr;

use sqlx::Row;

use super::{Store, StoreError, now};

/// State of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Enqueued,
    Processing,
    /// Its document is paused: no worker claims it until the document is resumed.
    Paused,
    Succeeded,
    Failed,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Enqueued => "enqueued",
            JobStatus::Processing => "processing",
            JobStatus::Paused => "paused",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "enqueued" => JobStatus::Enqueued,
            "processing" => JobStatus::Processing,
            "paused" => JobStatus::Paused,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            "canceled" => JobStatus::Canceled,
            other => return Err(StoreError::Corrupt(format!("unknown job status {other:?}"))),
        })
    }
}

/// What a job does to its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Parse, clean, split and index the document's file (its segments are replaced).
    IndexDocument,
    /// Embed the document's existing segments into the vector table (the dataset switched from
    /// keyword-only to vector indexing); segments and their edits are kept.
    EmbedSegments,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::IndexDocument => "index_document",
            JobKind::EmbedSegments => "embed_segments",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobKind {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "index_document" => JobKind::IndexDocument,
            "embed_segments" => JobKind::EmbedSegments,
            other => return Err(StoreError::Corrupt(format!("unknown job kind {other:?}"))),
        })
    }
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub tenant_id: String,
    pub dataset_id: String,
    pub document_id: String,
    pub kind: JobKind,
    pub attempts: i64,
}

/// Jobs are tried this many times before their document is marked failed.
pub const MAX_ATTEMPTS: i64 = 3;

impl Store {
    /// Claims the oldest claimable job for `worker` with a lease of `lease_secs`.
    pub async fn claim_job(&self, worker: &str, lease_secs: i64) -> Result<Option<Job>, StoreError> {
        let ts = now();
        let row = sqlx::query(
            "UPDATE jobs SET status = 'processing', locked_by = $1, locked_until = $2, attempts = attempts + 1, \
             updated_at = $3 WHERE id = (SELECT id FROM jobs WHERE status = 'enqueued' \
             OR (status = 'processing' AND locked_until < $4) ORDER BY created_at, id LIMIT 1) \
             AND (status = 'enqueued' OR (status = 'processing' AND locked_until < $5)) \
             RETURNING id, tenant_id, dataset_id, document_id, kind, attempts",
        )
        .bind(worker)
        .bind(ts + lease_secs)
        .bind(ts)
        .bind(ts)
        .bind(ts)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let kind: String = row.try_get("kind")?;
            Ok(Job {
                id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                dataset_id: row.try_get("dataset_id")?,
                document_id: row.try_get("document_id")?,
                kind: kind.parse()?,
                attempts: row.try_get("attempts")?,
            })
        })
        .transpose()
    }

    /// Claims the oldest claimable job of `kind` in `dataset_id`, to share a batch with a job of
    /// the same kind and dataset this worker already holds.
    pub async fn claim_job_in(
        &self,
        worker: &str,
        lease_secs: i64,
        kind: JobKind,
        dataset_id: &str,
    ) -> Result<Option<Job>, StoreError> {
        let ts = now();
        let row = sqlx::query(
            "UPDATE jobs SET status = 'processing', locked_by = $1, locked_until = $2, attempts = attempts + 1, \
             updated_at = $3 WHERE id = (SELECT id FROM jobs WHERE kind = $4 AND dataset_id = $5 AND (status = 'enqueued' \
             OR (status = 'processing' AND locked_until < $6)) ORDER BY created_at, id LIMIT 1) \
             AND (status = 'enqueued' OR (status = 'processing' AND locked_until < $7)) \
             RETURNING id, tenant_id, dataset_id, document_id, kind, attempts",
        )
        .bind(worker)
        .bind(ts + lease_secs)
        .bind(ts)
        .bind(kind.as_str())
        .bind(dataset_id)
        .bind(ts)
        .bind(ts)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let kind: String = row.try_get("kind")?;
            Ok(Job {
                id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                dataset_id: row.try_get("dataset_id")?,
                document_id: row.try_get("document_id")?,
                kind: kind.parse()?,
                attempts: row.try_get("attempts")?,
            })
        })
        .transpose()
    }

    /// Extends the lease; false if the job is no longer this worker's (it expired and was taken).
    pub async fn renew_lease(&self, job_id: &str, worker: &str, lease_secs: i64) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE jobs SET locked_until = $1, updated_at = $2 WHERE id = $3 AND locked_by = $4 AND status = 'processing'",
        )
        .bind(now() + lease_secs)
        .bind(now())
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Ends a job this worker holds (guarded on the holder) and, when it failed, marks its document
    /// failed in the same transaction.
    pub async fn finish_job(
        &self,
        job_id: &str,
        worker: &str,
        status: JobStatus,
        document_error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let ts = now();
        lock_job_document(&mut tx, job_id).await?;
        let row = sqlx::query(
            "UPDATE jobs SET status = $1, error = $2, locked_by = NULL, locked_until = NULL, updated_at = $3 \
             WHERE id = $4 AND locked_by = $5 AND status = 'processing' RETURNING document_id, dataset_id",
        )
        .bind(status.as_str())
        .bind(document_error)
        .bind(ts)
        .bind(job_id)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        if let Some(error) = document_error {
            let document_id: String = row.try_get("document_id")?;
            sqlx::query(
                "UPDATE documents SET indexing_status = 'error', error = $1, stopped_at = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(error)
            .bind(ts)
            .bind(ts)
            .bind(&document_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Puts a job back in the queue after a failure worth retrying.
    pub async fn requeue_job(&self, job_id: &str, worker: &str, error: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET status = 'enqueued', error = $1, locked_by = NULL, locked_until = NULL, updated_at = $2 \
             WHERE id = $3 AND locked_by = $4",
        )
        .bind(error)
        .bind(now())
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets aside a job whose document was paused while this worker held it: `paused` if the
    /// document is still paused, else back to `enqueued` (it was resumed meanwhile). The attempt
    /// is not counted. False if the job is no longer this worker's.
    pub async fn park_job(&self, job_id: &str, worker: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        // Locked first, so a resume either committed before (seen below) or waits for this.
        let Some(document_id) = lock_job_document(&mut tx, job_id).await? else {
            return Ok(false);
        };
        let paused: Option<i64> =
            sqlx::query_scalar("SELECT CAST(is_paused AS INTEGER) FROM documents WHERE id = $1")
                .bind(&document_id)
                .fetch_optional(&mut *tx)
                .await?;
        let status = if paused.unwrap_or(0) != 0 {
            JobStatus::Paused
        } else {
            JobStatus::Enqueued
        };
        let parked = sqlx::query(
            "UPDATE jobs SET status = $1, attempts = attempts - 1, locked_by = NULL, locked_until = NULL, \
             updated_at = $2 WHERE id = $3 AND locked_by = $4 AND status = 'processing'",
        )
        .bind(status.as_str())
        .bind(now())
        .bind(job_id)
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(parked == 1)
    }

    /// Jobs waiting or running (queue depth).
    pub async fn pending_jobs(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('enqueued', 'processing')")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

/// Locks the row of a job's document (a no-op update), the first step of every transaction that
/// changes a document and its jobs; returns the document id, None if the job is gone.
///
/// The first statement of such a transaction must be the write: on SQLite a transaction that
/// reads first and writes later fails with `SQLITE_BUSY` if another connection wrote between.
pub(super) async fn lock_job_document(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    job_id: &str,
) -> Result<Option<String>, StoreError> {
    sqlx::query(
        "UPDATE documents SET updated_at = updated_at WHERE id = (SELECT document_id FROM jobs WHERE id = $1)",
    )
    .bind(job_id)
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query_scalar("SELECT document_id FROM jobs WHERE id = $1")
        .bind(job_id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Locks a document row with a no-op update (portable: SQLite has no `SELECT ... FOR UPDATE`,
/// and its write lock is taken by any write).
pub(super) async fn lock_document(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    document_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE documents SET updated_at = updated_at WHERE id = $1")
        .bind(document_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_status_round_trips() {
        for status in [
            JobStatus::Enqueued,
            JobStatus::Processing,
            JobStatus::Paused,
            JobStatus::Succeeded,
            JobStatus::Failed,
            JobStatus::Canceled,
        ] {
            assert_eq!(status.to_string().parse::<JobStatus>().unwrap(), status);
        }
        for kind in [JobKind::IndexDocument, JobKind::EmbedSegments] {
            assert_eq!(kind.to_string().parse::<JobKind>().unwrap(), kind);
        }
        assert!("reindex".parse::<JobKind>().is_err());
    }
}
