//! `ragd app create`: make a chat or completion app bound to datasets, and its API key; the key
//! is the last line of the output.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::apps::manage::{self, AppDraft};
use crate::config::Config;
use crate::store::{DEFAULT_TENANT, TokenType};

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an app in the default workspace and print its id and a new API key.
    Create(CreateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    name: String,
    /// `chat` or `completion`.
    #[arg(long, default_value = "chat")]
    mode: String,
    #[arg(long, default_value = "")]
    description: String,
    /// A dataset (by id) the app answers from; repeat for several.
    #[arg(long = "dataset")]
    datasets: Vec<String>,
    /// The app's instructions, with `{{variables}}` from the input form.
    #[arg(long)]
    pre_prompt: Option<String>,
    /// The model name to ask (the workspace's provider answers; empty: its default model).
    #[arg(long)]
    model: Option<String>,
    /// A full easy-UI model config (JSON file, Dify's `model-config` body); the options above
    /// are applied on top of it.
    #[arg(long)]
    model_config: Option<PathBuf>,
}

impl AppCommand {
    pub async fn execute(self, config: Config) -> anyhow::Result<()> {
        match self {
            AppCommand::Create(args) => {
                let mut model_config: Value = match &args.model_config {
                    Some(path) => serde_json::from_str(&std::fs::read_to_string(path)?)?,
                    None => crate::apps::AppConfig::default_json(),
                };
                if let Some(pre_prompt) = args.pre_prompt {
                    model_config["pre_prompt"] = json!(pre_prompt);
                }
                if let Some(model) = args.model {
                    model_config["model"] = json!({"provider": "openai_api_compatible", "name": model,
                                                   "mode": "chat", "completion_params": {}});
                }
                if !args.datasets.is_empty() {
                    if !model_config["dataset_configs"].is_object() {
                        model_config["dataset_configs"] = json!({});
                    }
                    model_config["dataset_configs"]["datasets"] = json!({"datasets": args.datasets.iter()
                        .map(|id| json!({"dataset": {"enabled": true, "id": id}})).collect::<Vec<_>>()});
                }
                let engine = super::open_engine(config, false).await?;
                let app = manage::create(
                    &engine,
                    DEFAULT_TENANT,
                    AppDraft {
                        name: args.name,
                        description: args.description,
                        mode: args.mode,
                        model_config: Some(model_config),
                        ..AppDraft::default()
                    },
                )
                .await?;
                let key = engine
                    .store()
                    .create_api_token(DEFAULT_TENANT, TokenType::App, Some(&app.id))
                    .await?;
                eprintln!(
                    "created {} app {} ({}); its API key is shown only once:",
                    app.mode, app.name, app.id
                );
                println!("{}", app.id);
                println!("{key}");
                Ok(())
            }
        }
    }
}
