//! The job queue: one row per unit of indexing work, claimed with a lease.
//!
//! A claim is a guarded UPDATE, so two workers never hold the same job; a worker renews its lease
//! while it works, and a job whose lease ran out (its worker died) is claimable again. Document
//! status changes that a job transition causes happen in the same transaction.

use std::fmt;
use std::str::FromStr;

use sqlx::Row;

use super::{Store, StoreError, now};

/// State of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Enqueued,
    Processing,
    Succeeded,
    Failed,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Enqueued => "enqueued",
            JobStatus::Processing => "processing",
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
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            "canceled" => JobStatus::Canceled,
            other => return Err(StoreError::Corrupt(format!("unknown job status {other:?}"))),
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
             RETURNING id, tenant_id, dataset_id, document_id, attempts",
        )
        .bind(worker)
        .bind(ts + lease_secs)
        .bind(ts)
        .bind(ts)
        .bind(ts)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Job {
                id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                dataset_id: row.try_get("dataset_id")?,
                document_id: row.try_get("document_id")?,
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

    /// Jobs waiting or running (queue depth).
    pub async fn pending_jobs(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('enqueued', 'processing')")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_status_round_trips() {
        for status in [
            JobStatus::Enqueued,
            JobStatus::Processing,
            JobStatus::Succeeded,
            JobStatus::Failed,
            JobStatus::Canceled,
        ] {
            assert_eq!(status.to_string().parse::<JobStatus>().unwrap(), status);
        }
    }
}
