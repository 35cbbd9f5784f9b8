//! Indexing workers: claim jobs from the SQL queue, index their documents, renew leases.
//!
//! Workers run inside `ragd serve` and in separate `ragd worker` processes against the same
//! database and data dir. A killed worker loses nothing: its lease runs out and another worker
//! redoes the job; indexing a document is idempotent. A job whose document is paused is set aside
//! until the document is resumed.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, IndexJobError};
use crate::store::{Job, JobKind, JobStatus, MAX_ATTEMPTS};

/// Seconds a claim lasts without renewal.
pub const LEASE_SECS: i64 = 60;
/// How long an idle worker waits before looking for work again.
const IDLE_POLL: Duration = Duration::from_millis(300);

/// Starts `count` workers; they stop when `shutdown` is cancelled (after their current job).
pub fn spawn_workers(engine: Arc<Engine>, count: usize, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    (0..count)
        .map(|n| {
            let engine = engine.clone();
            let shutdown = shutdown.clone();
            let name = format!("{}-{}-{n}", hostname(), std::process::id());
            tokio::spawn(async move { run_worker(engine, name, shutdown).await })
        })
        .collect()
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "ragd".into())
}

async fn run_worker(engine: Arc<Engine>, name: String, shutdown: CancellationToken) {
    let mut compaction = Compaction::default();
    while !shutdown.is_cancelled() {
        let job = match engine.store().claim_job(&name, LEASE_SECS).await {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(worker = %name, error = %e, "cannot claim a job");
                None
            }
        };
        match job {
            Some(job) => {
                let dataset = (job.tenant_id.clone(), job.dataset_id.clone());
                process(&engine, &name, job).await;
                if compaction.indexed(dataset) {
                    compaction.run(&engine).await;
                }
            }
            None => {
                compaction.run(&engine).await;
                tokio::select! {
                    () = tokio::time::sleep(IDLE_POLL) => {},
                    () = shutdown.cancelled() => {},
                }
            }
        }
    }
}

/// Every indexed document leaves small files in its dataset's vector table, which slow queries
/// down as they pile up; a worker compacts the datasets it wrote to when the queue runs dry, or
/// after `COMPACT_EVERY_JOBS` documents under continuous load.
#[derive(Debug, Default)]
struct Compaction {
    datasets: std::collections::HashSet<(String, String)>,
    jobs: usize,
}

const COMPACT_EVERY_JOBS: usize = 64;

impl Compaction {
    /// Notes a document indexed in `dataset`; true when compaction is due despite a busy queue.
    fn indexed(&mut self, dataset: (String, String)) -> bool {
        self.datasets.insert(dataset);
        self.jobs += 1;
        self.jobs >= COMPACT_EVERY_JOBS
    }

    async fn run(&mut self, engine: &Engine) {
        self.jobs = 0;
        for (tenant_id, dataset_id) in std::mem::take(&mut self.datasets) {
            let dataset = match engine.store().dataset(&tenant_id, &dataset_id).await {
                Ok(Some(dataset)) => dataset,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(dataset_id = %dataset_id, error = %e, "cannot load a dataset to compact");
                    continue;
                }
            };
            let result = match engine.index(&dataset).await {
                Ok(index) => index.optimize().await.map_err(crate::engine::EngineError::from),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                // Compaction is an optimisation: a failure costs query speed, not data.
                tracing::warn!(dataset_id = %dataset_id, error = %e, "index compaction failed");
            }
        }
    }
}

/// Runs one job with its lease renewed in the background, and records how it ended.
async fn process(engine: &Arc<Engine>, worker: &str, job: Job) {
    let renewer = {
        let engine = engine.clone();
        let (job_id, worker) = (job.id.clone(), worker.to_string());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs((LEASE_SECS / 3) as u64)).await;
                match engine.store().renew_lease(&job_id, &worker, LEASE_SECS).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => tracing::warn!(job_id = %job_id, error = %e, "cannot renew lease"),
                }
            }
        })
    };
    let result = match job.kind {
        JobKind::IndexDocument => engine.index_document(&job).await,
        JobKind::EmbedSegments => engine.embed_document(&job).await,
    };
    renewer.abort();
    let store = engine.store();
    let recorded = match result {
        Ok(()) => {
            store
                .finish_job(&job.id, worker, JobStatus::Succeeded, None)
                .await
        }
        // Set aside until resumed (or queued again at once if it was resumed meanwhile).
        Err(IndexJobError::Paused) => store.park_job(&job.id, worker).await,
        Err(IndexJobError::Superseded) => {
            tracing::info!(document_id = %job.document_id, "indexing technique changed; redoing the job");
            store.park_job(&job.id, worker).await
        }
        Err(IndexJobError::Document(message)) => {
            tracing::warn!(document_id = %job.document_id, error = %message, "document failed");
            store
                .finish_job(&job.id, worker, JobStatus::Failed, Some(&message))
                .await
        }
        Err(IndexJobError::Transient(error)) if job.attempts < MAX_ATTEMPTS => {
            tracing::warn!(document_id = %job.document_id, attempt = job.attempts, error = %error, "retrying");
            store
                .requeue_job(&job.id, worker, &error.to_string())
                .await
                .map(|()| true)
        }
        Err(IndexJobError::Transient(error)) => {
            tracing::error!(document_id = %job.document_id, error = %error, "giving up");
            let message = "Indexing failed after several attempts; see the server log.";
            store
                .finish_job(&job.id, worker, JobStatus::Failed, Some(message))
                .await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(job_id = %job.id, error = %e, "cannot record the job's end");
    }
}
