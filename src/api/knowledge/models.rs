//! `GET /workspaces/current/models/model-types/{model_type}` (API.md A.1 #38): the models this
//! server has, in Dify's provider-with-models shape: the embedding model, and the configured
//! rerank models grouped by provider.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::views::MODEL_PROVIDER;

/// The provider name of this server's own models (the embedding model).
pub(crate) const MODEL_PROVIDER_NAME: &str = MODEL_PROVIDER;
use crate::api::auth::DatasetKey;
use crate::api::{ApiError, AppState};
use crate::config::RerankModelConfig;
use crate::engine::EmbeddingModelInfo;

/// Dify's model types; ragd has models of the first two only.
const MODEL_TYPES: [&str; 6] = [
    "text-embedding",
    "rerank",
    "llm",
    "speech2text",
    "moderation",
    "tts",
];

fn i18n(text: &str) -> Value {
    json!({"en_US": text, "zh_Hans": text})
}

/// A provider entry in Dify's shape.
fn provider_entry(tenant_id: &str, provider: &str, models: Vec<Value>) -> Value {
    json!({
        "tenant_id": tenant_id,
        "provider": provider,
        "label": i18n(provider),
        "icon_small": null,
        "icon_small_dark": null,
        "icon_large": null,
        "status": "active",
        "models": models,
    })
}

/// One model entry in Dify's shape.
fn model_entry(model: &str, model_type: &str, predefined: bool, properties: Value) -> Value {
    json!({
        "model": model,
        "label": i18n(model),
        "model_type": model_type,
        "features": null,
        "fetch_from": if predefined { "predefined-model" } else { "customizable-model" },
        "model_properties": properties,
        "deprecated": false,
        "status": "active",
        "load_balancing_enabled": false,
        "has_invalid_load_balancing_configs": false,
    })
}

/// The configured rerank models, one provider entry per provider in config order.
fn rerank_providers(tenant_id: &str, configured: &[&RerankModelConfig]) -> Vec<Value> {
    let mut providers: Vec<(&str, Vec<Value>)> = Vec::new();
    for model in configured {
        let entry = model_entry(
            &model.model,
            "rerank",
            false,
            json!({"context_size": model.onnx.as_ref().map(|_| model.max_length)}),
        );
        match providers.iter_mut().find(|(name, _)| *name == model.provider) {
            Some((_, models)) => models.push(entry),
            None => providers.push((&model.provider, vec![entry])),
        }
    }
    providers
        .into_iter()
        .map(|(name, models)| provider_entry(tenant_id, name, models))
        .collect()
}

/// The provider entry holding every installed embedding model, the default first.
fn embedding_provider(tenant_id: &str, models: &[EmbeddingModelInfo]) -> Value {
    provider_entry(
        tenant_id,
        MODEL_PROVIDER,
        models
            .iter()
            .map(|model| {
                model_entry(
                    &model.id,
                    "text-embedding",
                    model.predefined,
                    json!({"context_size": model.context_size, "max_chunks": model.max_chunks}),
                )
            })
            .collect(),
    )
}

pub async fn by_type(
    State(state): State<AppState>,
    key: DatasetKey,
    Path(model_type): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "data": models_of_type(&state, &key.0.tenant_id, &model_type)? }),
    ))
}

/// The provider entries of one model type, for the service and the console API alike.
pub(crate) fn models_of_type(
    state: &AppState,
    tenant_id: &str,
    model_type: &str,
) -> Result<Vec<Value>, ApiError> {
    if !MODEL_TYPES.contains(&model_type) {
        return Err(ApiError::invalid(format!(
            "Invalid model type: {model_type}. It must be one of {}.",
            MODEL_TYPES.join(", ")
        )));
    }
    // Chat models are per workspace (the console's model settings); the other types (tts, ...)
    // cannot be configured on this server.
    Ok(match model_type {
        "text-embedding" => vec![embedding_provider(tenant_id, &state.engine.installed_models())],
        "rerank" => {
            let configured: Vec<&RerankModelConfig> = state.engine.rerank_models().configured().collect();
            rerank_providers(tenant_id, &configured)
        }
        _ => Vec::new(),
    })
}

/// A chat model's provider entry (the console lists the workspace's configured model).
pub(crate) fn llm_provider_entry(tenant_id: &str, provider: &str, model: &str, context_window: u32) -> Value {
    provider_entry(
        tenant_id,
        provider,
        vec![model_entry(
            model,
            "llm",
            false,
            json!({"context_size": context_window, "mode": "chat"}),
        )],
    )
}
