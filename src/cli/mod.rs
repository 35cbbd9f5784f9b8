//! Command line: one enum of subcommands, each with an `execute`.

mod api_key;
mod app;
mod bench;
mod eval;
mod ingest;
mod models;
mod reindex;
mod search;
mod serve;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::engine::Engine;
use crate::store::Store;

/// ragd: documents in, cited answers out. A knowledge-base service that speaks Dify's API.
#[derive(Debug, Parser)]
#[command(name = "ragd", version, about)]
pub struct Cli {
    /// Config file (TOML); also $RAGD_CONFIG.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (database, indexes); overrides the config file and $RAGD_DATA_DIR.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Model cache directory; overrides the config file and $RAGD_MODEL_DIR.
    #[arg(long, global = true)]
    model_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Bulk-load files, folders or BEIR-style JSONL corpora into a dataset.
    Ingest(ingest::IngestArgs),
    /// Query a dataset.
    Search(search::SearchArgs),
    /// Rebuild datasets' indexes (new model, compaction) while the live ones keep serving.
    Reindex(reindex::ReindexArgs),
    /// Score retrieval on a BEIR-layout set: nDCG@10, recall@100, MRR@10 per method and fusion.
    Eval(eval::EvalArgs),
    /// Benchmarks that print numbers: ingest throughput against the raw model, query latency.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Manage the offline models.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Run the HTTP service (Dify's knowledge API) with its indexing workers.
    Serve(serve::ServeArgs),
    /// Run indexing workers only, against the same database.
    Worker(worker::WorkerArgs),
    /// Manage API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(api_key::ApiKeyCommand),
    /// Manage chat and completion apps.
    #[command(subcommand)]
    App(app::AppCommand),
}

impl Cli {
    /// Runs the command and maps failure to a non-zero exit code with the error on stderr.
    pub fn run(self) -> ExitCode {
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::try_from_env("RAGD_LOG").unwrap_or_else(|_| EnvFilter::new("warn")))
            .with_writer(std::io::stderr)
            .init();
        let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        match runtime.block_on(self.execute()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }

    async fn execute(self) -> anyhow::Result<()> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(dir) = self.data_dir {
            config.data_dir = dir;
        }
        if let Some(dir) = self.model_dir {
            config.models.cache_dir = dir;
        }
        match self.command {
            Command::Ingest(args) => args.execute(config).await,
            Command::Search(args) => args.execute(config).await,
            Command::Reindex(args) => args.execute(config).await,
            Command::Eval(args) => args.execute(config).await,
            Command::Bench(command) => command.execute(config).await,
            Command::Models(command) => command.execute(config).await,
            Command::Serve(args) => args.execute(config).await,
            Command::Worker(args) => args.execute(config).await,
            Command::ApiKey(command) => command.execute(config).await,
            Command::App(command) => command.execute(config).await,
        }
    }
}

/// Opens the store and an engine over it.
async fn open_engine(config: Config, progress: bool) -> anyhow::Result<Engine> {
    let store = Store::open(&config.database_url()).await?;
    Ok(Engine::new(config, store, progress))
}
