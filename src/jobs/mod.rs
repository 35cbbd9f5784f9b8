//! Indexing workers: claim jobs from the SQL queue, index their documents, renew leases.
//!
//! Workers run inside `ragd serve` and in separate `ragd worker` processes against the same
//! database and data dir. A killed worker loses nothing: its lease runs out and another worker
//! redoes the job; indexing a document is idempotent. A job whose document is paused is set aside
//! until the document is resumed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, IndexJobError};
use crate::store::{Job, JobKind, JobStatus, MAX_ATTEMPTS};

/// Seconds a claim lasts without renewal.
pub const LEASE_SECS: i64 = 60;
/// How long an idle worker waits before looking for work again.
const IDLE_POLL: Duration = Duration::from_millis(300);
/// Waiting documents of one dataset a worker indexes together, so that many small uploads share
/// embedding batches (the model's batches are 32 texts; a few large documents fill them anyway).
const DOCUMENTS_PER_BATCH: usize = 16;

/// How long a supervisor waits before restarting a worker that died, so a worker that panics at
/// once cannot spin.
const RESTART_DELAY: Duration = Duration::from_secs(1);
/// What a job whose worker died while running it ends with (its document shows it).
pub const PANIC_MESSAGE: &str =
    "Indexing stopped on an internal error; see the server log. Retry the document.";

/// Starts `count` workers; they stop when `shutdown` is cancelled (after their current job).
/// Each runs under a supervisor that fails the jobs of a worker that died (a panic) and starts
/// it again; the handles are the supervisors'.
pub fn spawn_workers(engine: Arc<Engine>, count: usize, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    (0..count)
        .map(|n| {
            let engine = engine.clone();
            let shutdown = shutdown.clone();
            let name = format!("{}-{}-{n}", hostname(), std::process::id());
            tokio::spawn(async move { supervise(engine, name, shutdown).await })
        })
        .collect()
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "ragd".into())
}

/// The jobs a worker holds, shared with its supervisor: after a panic nobody else knows them.
type Held = Arc<Mutex<Vec<Job>>>;

fn set_held(held: &Held, jobs: &[Job]) {
    // A worker that panicked while holding the lock cannot have left a half-written list: it
    // only assigns whole lists.
    let mut guard = held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *guard = jobs.to_vec();
}

/// Runs one worker, and again whenever it dies, until `shutdown`.
async fn supervise(engine: Arc<Engine>, name: String, shutdown: CancellationToken) {
    loop {
        let held: Held = Arc::default();
        let worker = tokio::spawn(run_worker(
            engine.clone(),
            name.clone(),
            held.clone(),
            shutdown.clone(),
        ));
        let ended = worker.await;
        let reason = match ended {
            Ok(()) => return,
            Err(e) if e.is_panic() => crate::engine::compute::panic_message(e.into_panic().as_ref()),
            Err(e) => e.to_string(),
        };
        let jobs = std::mem::take(&mut *held.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        tracing::error!(worker = %name, reason = %reason, jobs = jobs.len(), "indexing worker died; failing its jobs and restarting it");
        for job in jobs {
            record(
                &engine,
                &name,
                job,
                Err(IndexJobError::Document(PANIC_MESSAGE.into())),
            )
            .await;
        }
        if shutdown.is_cancelled() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(RESTART_DELAY) => {},
            () = shutdown.cancelled() => return,
        }
        tracing::info!(worker = %name, "indexing worker restarted");
    }
}

async fn run_worker(engine: Arc<Engine>, name: String, held: Held, shutdown: CancellationToken) {
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
                let jobs = with_waiting_jobs(&engine, &name, job).await;
                let count = jobs.len();
                set_held(&held, &jobs);
                process(&engine, &name, jobs).await;
                set_held(&held, &[]);
                if compaction.indexed(dataset, count) {
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
    /// Notes `jobs` documents indexed in `dataset`; true when compaction is due despite a busy
    /// queue.
    fn indexed(&mut self, dataset: (String, String), jobs: usize) -> bool {
        self.datasets.insert(dataset);
        self.jobs += jobs;
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

/// `job` and, when it indexes a document, up to `DOCUMENTS_PER_BATCH - 1` more waiting
/// documents of the same dataset, claimed by this worker too.
async fn with_waiting_jobs(engine: &Engine, worker: &str, job: Job) -> Vec<Job> {
    let mut jobs = vec![job];
    if jobs[0].kind != JobKind::IndexDocument {
        return jobs;
    }
    let dataset_id = jobs[0].dataset_id.clone();
    while jobs.len() < DOCUMENTS_PER_BATCH {
        match engine
            .store()
            .claim_job_in(worker, LEASE_SECS, JobKind::IndexDocument, &dataset_id)
            .await
        {
            Ok(Some(more)) => jobs.push(more),
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(worker = %worker, error = %e, "cannot claim more jobs");
                break;
            }
        }
    }
    jobs
}

/// Runs jobs (several only when they index documents of one dataset) with their leases renewed
/// in the background, and records how each ended.
async fn process(engine: &Arc<Engine>, worker: &str, jobs: Vec<Job>) {
    // Aborted when this future ends or unwinds: a dead worker's leases must run out.
    let renewer = AbortOnDrop(renew_leases(engine, worker, &jobs));
    let results = match jobs[0].kind {
        JobKind::IndexDocument => engine.index_documents(&jobs).await,
        JobKind::EmbedSegments => {
            let mut results = Vec::with_capacity(jobs.len());
            for job in &jobs {
                results.push(engine.embed_document(job).await);
            }
            results
        }
    };
    drop(renewer);
    for (job, result) in jobs.into_iter().zip(results) {
        record(engine, worker, job, result).await;
    }
}

/// Aborts its task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews the leases of `jobs` in the background until each is no longer this worker's.
fn renew_leases(engine: &Arc<Engine>, worker: &str, jobs: &[Job]) -> JoinHandle<()> {
    {
        let engine = engine.clone();
        let ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
        let worker = worker.to_string();
        tokio::spawn(async move {
            let mut held = ids;
            while !held.is_empty() {
                tokio::time::sleep(Duration::from_secs((LEASE_SECS / 3) as u64)).await;
                let mut still = Vec::with_capacity(held.len());
                for job_id in held {
                    match engine.store().renew_lease(&job_id, &worker, LEASE_SECS).await {
                        Ok(true) => still.push(job_id),
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(job_id = %job_id, error = %e, "cannot renew lease");
                            still.push(job_id);
                        }
                    }
                }
                held = still;
            }
        })
    }
}

/// Records how one job ended.
async fn record(engine: &Engine, worker: &str, job: Job, result: Result<(), IndexJobError>) {
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
