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
}

impl ServeArgs {
    pub async fn execute(self, mut config: Config) -> anyhow::Result<()> {
        if let Some(listen) = self.listen {
            config.server.listen = listen;
        }
        let listen = config.server.listen;
        let engine = Arc::new(super::open_engine(config, false).await?);
        crate::api::serve(engine, listen).await
    }
}
