//! `ragd models fetch`: download and verify the offline models ahead of first use.

use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download (if missing) and verify ONNX Runtime and the embedding model, then load it once.
    Fetch,
}

impl ModelsCommand {
    pub async fn execute(self, config: Config) -> anyhow::Result<()> {
        match self {
            ModelsCommand::Fetch => {
                let files = tokio::task::spawn_blocking(move || {
                    let files = crate::models::model_files(&config.models, &config.embedding, true)?;
                    // Loading proves the files work together, not just that they hash right.
                    let embedder = pipelines::embed::OnnxEmbedder::load(files.clone())?;
                    let probe = pipelines::Embedder::embed_query(&embedder, "ragd model check")?;
                    anyhow::ensure!(
                        probe.len() == files.dimension,
                        "model returned {} dimensions",
                        probe.len()
                    );
                    anyhow::Ok(files)
                })
                .await??;
                println!("onnx runtime   {}", files.runtime_library.display());
                println!("model          {} ({} dims)", files.model_id, files.dimension);
                println!("model file     {}", files.onnx.display());
                println!("tokenizer dir  {}", files.tokenizer_dir.display());
                Ok(())
            }
        }
    }
}
