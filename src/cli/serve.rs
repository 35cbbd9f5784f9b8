//! `ragd serve`: the HTTP service.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;

use crate::config::Config;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; overrides `server.listen` and $RAGD_LISTEN.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Indexing workers in this process; overrides `server.workers`. 0 serves the API only, for
    /// when separate `ragd worker` processes do the indexing.
    #[arg(long)]
    workers: Option<usize>,
}

impl ServeArgs {
    pub async fn execute(self, mut config: Config) -> anyhow::Result<()> {
        if let Some(listen) = self.listen {
            config.server.listen = listen;
        }
        if let Some(workers) = self.workers {
            config.server.workers = workers;
        }
        let listen = config.server.listen;
        let workers = config.server.workers;
        let engine = Arc::new(super::open_engine(config, false).await?);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let handles = crate::jobs::spawn_workers(engine.clone(), workers, shutdown.clone());
        let served = crate::api::serve(engine, listen).await;
        // Workers finish their current document; an interrupted one is redone after restart.
        shutdown.cancel();
        for handle in handles {
            let _ = handle.await;
        }
        served
    }
}
