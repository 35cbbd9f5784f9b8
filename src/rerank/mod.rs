//! Rerank models that Dify's `reranking_model` selects: HTTP providers speaking the common
//! `/rerank` protocol and local ONNX cross-encoders, configured under `[rerank]`, each loaded on
//! first use.

pub mod http;

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pipelines::rerank::{OnnxReranker, OnnxRerankerFiles};
use pipelines::{RerankError, Reranker};

use crate::config::{ModelsConfig, RerankConfig, RerankModelConfig};
use crate::outbound::Outbound;

/// A rerank model as a request names it (Dify's `reranking_model`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RerankModel {
    /// `reranking_provider_name`; empty matches any provider.
    pub provider: String,
    /// `reranking_model_name`.
    pub model: String,
}

/// The configured rerank models.
pub struct RerankModels {
    entries: Vec<Entry>,
    models: ModelsConfig,
    outbound: Outbound,
}

struct Entry {
    config: RerankModelConfig,
    loaded: OnceLock<Arc<dyn Reranker>>,
}

impl RerankModels {
    pub fn new(config: &RerankConfig, models: &ModelsConfig, outbound: &Outbound) -> Self {
        Self {
            entries: config
                .models
                .iter()
                .map(|config| Entry {
                    config: config.clone(),
                    loaded: OnceLock::new(),
                })
                .collect(),
            models: models.clone(),
            outbound: outbound.clone(),
        }
    }

    /// Every configured model, in config order.
    pub fn configured(&self) -> impl Iterator<Item = &RerankModelConfig> {
        self.entries.iter().map(|e| &e.config)
    }

    /// The configured model a request names, if any.
    pub fn find(&self, wanted: &RerankModel) -> Option<&RerankModelConfig> {
        self.entry(wanted).map(|e| &e.config)
    }

    fn entry(&self, wanted: &RerankModel) -> Option<&Entry> {
        self.entries.iter().find(|e| {
            e.config.model == wanted.model && provider_matches(&e.config.provider, &wanted.provider)
        })
    }

    /// The reranker of a configured model, loaded (or connected) on first use; blocking (a local
    /// model may fetch the ONNX Runtime and read its files). None if the model is not configured.
    pub fn load(&self, wanted: &RerankModel) -> Option<Result<Arc<dyn Reranker>, RerankError>> {
        let entry = self.entry(wanted)?;
        if let Some(reranker) = entry.loaded.get() {
            return Some(Ok(reranker.clone()));
        }
        Some(
            build(&entry.config, &self.models, &self.outbound)
                .map(|reranker| entry.loaded.get_or_init(|| reranker).clone()),
        )
    }
}

/// Whether a configured provider name answers to the name a request sends: equal (ignoring
/// case), or equal to the last part of a plugin id (`langgenius/jina/jina` is `jina`).
fn provider_matches(configured: &str, sent: &str) -> bool {
    let last = |name: &str| name.rsplit('/').next().unwrap_or(name).trim().to_lowercase();
    sent.trim().is_empty() || configured.eq_ignore_ascii_case(sent.trim()) || last(configured) == last(sent)
}

fn build(
    config: &RerankModelConfig,
    models: &ModelsConfig,
    outbound: &Outbound,
) -> Result<Arc<dyn Reranker>, RerankError> {
    let name = format!("{}/{}", config.provider, config.model);
    match (&config.url, &config.onnx) {
        (Some(url), None) => Ok(Arc::new(http::HttpReranker::new(
            url,
            &config.model,
            config.api_key.as_deref(),
            Duration::from_secs(config.timeout_secs.max(1)),
            outbound.clone(),
        ))),
        (None, Some(onnx)) => {
            let runtime_library = match &models.onnxruntime {
                Some(path) => path.clone(),
                None => crate::models::ModelCache::new(models, false)
                    .ensure_runtime()
                    .map_err(|e| RerankError::Load(e.to_string()))?,
            };
            let tokenizer_dir = config
                .tokenizer_dir
                .clone()
                .or_else(|| onnx.parent().map(Path::to_path_buf))
                .ok_or_else(|| RerankError::Load(format!("rerank model {name} needs `tokenizer_dir`")))?;
            let reranker = OnnxReranker::load(&OnnxRerankerFiles {
                runtime_library,
                onnx: onnx.clone(),
                tokenizer_dir,
                max_length: config.max_length,
                intra_threads: None,
                batch_size: 32,
            })?;
            Ok(Arc::new(reranker))
        }
        _ => Err(RerankError::Load(format!(
            "rerank model {name} needs exactly one of `url` (an HTTP provider) or `onnx` (a local model)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(provider: &str, model: &str) -> RerankModel {
        RerankModel {
            provider: provider.into(),
            model: model.into(),
        }
    }

    #[test]
    fn requests_find_models_by_provider_and_name() {
        let config = RerankConfig {
            candidates: 50,
            models: vec![RerankModelConfig {
                provider: "jina".into(),
                model: "jina-reranker-v2".into(),
                url: Some("http://127.0.0.1:9/rerank".into()),
                api_key: None,
                timeout_secs: 10,
                onnx: None,
                tokenizer_dir: None,
                max_length: 512,
            }],
        };
        let models = RerankModels::new(&config, &ModelsConfig::default(), &Outbound::new(&[]));
        for provider in ["jina", "JINA", "langgenius/jina/jina", ""] {
            assert!(
                models.find(&model(provider, "jina-reranker-v2")).is_some(),
                "{provider}"
            );
        }
        assert!(models.find(&model("cohere", "jina-reranker-v2")).is_none());
        assert!(models.find(&model("jina", "other")).is_none());
        assert!(models.load(&model("jina", "other")).is_none());
        assert!(models.load(&model("jina", "jina-reranker-v2")).unwrap().is_ok());
    }

    #[test]
    fn a_model_needs_a_url_or_a_local_file() {
        let mut config = RerankModelConfig {
            provider: "p".into(),
            model: "m".into(),
            url: None,
            api_key: None,
            timeout_secs: 10,
            onnx: None,
            tokenizer_dir: None,
            max_length: 512,
        };
        let err = build(&config, &ModelsConfig::default(), &Outbound::new(&[]))
            .err()
            .unwrap();
        assert!(err.to_string().contains("exactly one"), "{err}");
        config.url = Some("http://x/rerank".into());
        config.onnx = Some("/m.onnx".into());
        assert!(build(&config, &ModelsConfig::default(), &Outbound::new(&[])).is_err());
    }
}
