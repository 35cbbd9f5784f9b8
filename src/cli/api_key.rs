//! `ragd api-key create`: make an API key; the key is the last line of the output.

use clap::{Args, Subcommand, ValueEnum};

use crate::config::Config;
use crate::store::{DEFAULT_TENANT, Store, TokenType};

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it (it is stored hashed and cannot be shown again).
    Create(CreateArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KeyType {
    Dataset,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long = "type", value_enum, default_value = "dataset")]
    key_type: KeyType,
}

impl ApiKeyCommand {
    pub async fn execute(self, config: Config) -> anyhow::Result<()> {
        match self {
            ApiKeyCommand::Create(args) => {
                let store = Store::open(&config.database_url()).await?;
                let token_type = match args.key_type {
                    KeyType::Dataset => TokenType::Dataset,
                };
                let key = store.create_api_token(DEFAULT_TENANT, token_type, None).await?;
                eprintln!(
                    "created a {} key for the default workspace; it is shown only once:",
                    token_type.as_str()
                );
                println!("{key}");
                Ok(())
            }
        }
    }
}
