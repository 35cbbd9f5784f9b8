//! `ragd models fetch`: download and verify the offline models ahead of first use.

use clap::Subcommand;

use crate::config::{Config, PredefinedModel};

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download (if missing) and verify ONNX Runtime, the configured embedding model and every
    /// pinned one, then load each once.
    Fetch,
}

impl ModelsCommand {
    pub async fn execute(self, config: Config) -> anyhow::Result<()> {
        match self {
            ModelsCommand::Fetch => {
                let all = tokio::task::spawn_blocking(move || {
                    let mut all = vec![crate::models::model_files(
                        &config.models,
                        &config.embedding,
                        true,
                    )?];
                    // Datasets may choose any pinned model, so all of them are fetched.
                    for model in PredefinedModel::ALL {
                        let files =
                            crate::models::predefined_files(&config.models, &config.embedding, model, true)?;
                        if all.iter().all(|f| f.model_id != files.model_id) {
                            all.push(files);
                        }
                    }
                    for files in &all {
                        // Loading proves the files work together, not just that they hash right.
                        let embedder = pipelines::embed::OnnxEmbedder::load(files.clone())?;
                        let probe = pipelines::Embedder::embed_query(&embedder, "ragd model check")?;
                        anyhow::ensure!(
                            probe.len() == files.dimension,
                            "{} returned {} dimensions",
                            files.model_id,
                            probe.len()
                        );
                    }
                    anyhow::Ok(all)
                })
                .await??;
                if let Some(files) = all.first() {
                    println!("onnx runtime   {}", files.runtime_library.display());
                }
                for files in &all {
                    println!("model          {} ({} dims)", files.model_id, files.dimension);
                    println!("model file     {}", files.onnx.display());
                    println!("tokenizer dir  {}", files.tokenizer_dir.display());
                }
                Ok(())
            }
        }
    }
}
