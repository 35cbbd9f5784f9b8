//! Bounded compute for queries: query embedding and reranking run on a few dedicated threads
//! fed by a queue of fixed length, instead of one blocking thread per request.
//!
//! A burst of `/retrieve` calls used to park up to 512 blocking threads on the model's session
//! lock. Here at most `threads` model calls run at once, at most `queue` more wait, and a request
//! that finds the queue full is refused at once ([`EngineError::Busy`], 429) so the client can
//! back off. The pool wraps whatever embedder or reranker the engine hands it: the dataset's
//! model, whose session indexing hands on per batch, so a query waits for one batch at most.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use pipelines::{Embedder, Reranker};
use tokio::sync::oneshot;

use super::EngineError;

type Work = Box<dyn FnOnce() + Send>;

/// The query compute pool of one process.
pub struct QueryCompute {
    queue: SyncSender<Work>,
    threads: usize,
    capacity: usize,
}

impl std::fmt::Debug for QueryCompute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryCompute")
            .field("threads", &self.threads)
            .field("queue", &self.capacity)
            .finish()
    }
}

impl QueryCompute {
    /// A pool of `threads` compute threads (at least one) and room for `queue` waiting calls.
    /// The threads end when the pool is dropped.
    pub fn new(threads: usize, queue: usize) -> Self {
        let threads = threads.max(1);
        let (sender, receiver) = sync_channel::<Work>(queue);
        let receiver = Arc::new(std::sync::Mutex::new(receiver));
        for n in 0..threads {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("query-compute-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking the next call, not while running it.
                        let next = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        match next {
                            Ok(work) => work(),
                            Err(_) => break,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a query compute thread");
            }
        }
        Self {
            queue: sender,
            threads,
            capacity: queue,
        }
    }

    /// Runs `work` on a compute thread; Busy when the queue is full. A panic in `work` is an
    /// error of this call only (logged), not of the thread.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, EngineError> {
        let (done, result) = oneshot::channel();
        // The caller's runtime, entered on the compute thread: a reranker that calls an HTTP
        // provider bridges into it (as it does from spawn_blocking).
        let runtime = tokio::runtime::Handle::try_current().ok();
        let job: Work = Box::new(move || {
            let _entered = runtime.as_ref().map(tokio::runtime::Handle::enter);
            let outcome = catch_unwind(AssertUnwindSafe(work));
            // The caller may have gone (its request was cancelled): nothing to hand back then.
            let _ = done.send(outcome);
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(EngineError::Busy(
                    "The server is busy with other queries; retry shortly.".into(),
                ));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(EngineError::Task("the query compute threads are gone".into()));
            }
        }
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => {
                let message = panic_message(panic.as_ref());
                tracing::error!(panic = %message, "a query computation panicked");
                Err(EngineError::Task("a query computation panicked".into()))
            }
            Err(_) => Err(EngineError::Task("a query compute thread stopped".into())),
        }
    }

    /// The query's vector from `embedder`.
    pub async fn embed_query(
        &self,
        embedder: Arc<dyn Embedder>,
        query: &str,
    ) -> Result<Vec<f32>, EngineError> {
        let query = query.to_string();
        Ok(self.run(move || embedder.embed_query(&query)).await??)
    }

    /// The reranker's score of each text against the query, in text order.
    pub async fn rerank(
        &self,
        reranker: Arc<dyn Reranker>,
        query: &str,
        texts: Vec<String>,
    ) -> Result<Vec<f32>, EngineError> {
        let query = query.to_string();
        let scores = self
            .run(move || {
                let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
                reranker.rerank(&query, &texts)
            })
            .await??;
        Ok(scores)
    }
}

/// The error of a blocking task that did not finish; a panic goes on in the caller, so that an
/// indexing worker dies of it and its supervisor fails the job with a message rather than
/// retrying a bug as if it were a passing failure.
pub(crate) fn resume_panic(error: tokio::task::JoinError) -> EngineError {
    match error.try_into_panic() {
        Ok(panic) => std::panic::resume_unwind(panic),
        Err(error) => EngineError::Task(error.to_string()),
    }
}

/// The text of a panic payload (a `&str` or `String`; anything else is described as such).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_a_panic_is_an_error() {
        let pool = Arc::new(QueryCompute::new(1, 1));
        let (started, on_start) = oneshot::channel::<()>();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        // One call runs (held until released), one waits in the queue: a third is refused.
        let running = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move || {
                    let _ = started.send(());
                    let _ = wait.recv();
                    1
                })
                .await
            })
        };
        on_start.await.expect("the first call starts");
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let refused = pool.run(|| 3).await;
        assert!(matches!(refused, Err(EngineError::Busy(_))), "{refused:?}");
        release.send(()).expect("release");
        assert_eq!(running.await.ok().and_then(Result::ok), Some(1));
        assert_eq!(queued.await.ok().and_then(Result::ok), Some(2));
        let panicked = pool.run(|| -> u8 { panic!("boom") }).await;
        assert!(matches!(panicked, Err(EngineError::Task(_))), "{panicked:?}");
        assert_eq!(pool.run(|| 4).await.ok(), Some(4), "the thread survives a panic");
    }
}
