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
        warn_about_refused_providers(&engine).await;
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

/// The operator's own provider URLs (`[llm]`, `[[rerank.models]]`) go through the outbound
/// policy like a workspace's: say at start when one will be refused, rather than on first use.
async fn warn_about_refused_providers(engine: &crate::engine::Engine) {
    let config = engine.config();
    let urls = config.llm.base_url.iter().map(|url| ("llm.base_url", url)).chain(
        config
            .rerank
            .models
            .iter()
            .filter_map(|m| m.url.as_ref().map(|url| ("rerank.models.url", url))),
    );
    for (setting, url) in urls {
        if let Err(error) = engine.outbound().policy().check_destination(url).await {
            tracing::warn!(setting, url = %url, %error, "this provider will be refused: add it to security.outbound_allow");
        }
    }
}
