//! `ragd worker`: indexing workers only, against the same database as `ragd serve`, for when
//! indexing should run in its own processes.

use std::sync::Arc;

use clap::Args;

use crate::config::Config;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Number of workers in this process (default: `server.workers`, at least 1).
    #[arg(long)]
    workers: Option<usize>,
}

impl WorkerArgs {
    pub async fn execute(self, config: Config) -> anyhow::Result<()> {
        let count = self.workers.unwrap_or(config.server.workers);
        if count == 0 {
            anyhow::bail!("ragd worker needs at least one worker (--workers N, N >= 1)");
        }
        let engine = Arc::new(super::open_engine(config, false).await?);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let handles = crate::jobs::spawn_workers(engine, count, shutdown.clone());
        eprintln!("ragd worker: {count} indexing worker(s) running; ctrl-c or SIGTERM stops them");
        crate::api::shutdown_signal().await;
        // Workers finish their current document; an interrupted one is redone by any worker.
        shutdown.cancel();
        for handle in handles {
            let _ = handle.await;
        }
        Ok(())
    }
}
