//! `GET /workspaces/current/models/model-types/{model_type}` (API.md A.1 #38): the models this
//! server has, in Dify's provider-with-models shape.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::views::MODEL_PROVIDER;
use crate::api::auth::DatasetKey;
use crate::api::{ApiError, AppState};
use crate::engine::EmbeddingModelInfo;

/// Dify's model types; ragd has models of the first only.
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

/// The provider entry holding the configured embedding model.
fn embedding_provider(tenant_id: &str, model: &EmbeddingModelInfo) -> Value {
    json!({
        "tenant_id": tenant_id,
        "provider": MODEL_PROVIDER,
        "label": i18n(MODEL_PROVIDER),
        "icon_small": null,
        "icon_small_dark": null,
        "icon_large": null,
        "status": "active",
        "models": [{
            "model": model.id,
            "label": i18n(&model.id),
            "model_type": "text-embedding",
            "features": null,
            "fetch_from": if model.predefined { "predefined-model" } else { "customizable-model" },
            "model_properties": {"context_size": model.context_size, "max_chunks": model.max_chunks},
            "deprecated": false,
            "status": "active",
            "load_balancing_enabled": false,
            "has_invalid_load_balancing_configs": false,
        }],
    })
}

pub async fn by_type(
    State(state): State<AppState>,
    key: DatasetKey,
    Path(model_type): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !MODEL_TYPES.contains(&model_type.as_str()) {
        return Err(ApiError::invalid(format!(
            "Invalid model type: {model_type}. It must be one of {}.",
            MODEL_TYPES.join(", ")
        )));
    }
    // No rerank model (or any other type) can be configured on this server yet, so only
    // text-embedding has an entry.
    let data = if model_type == "text-embedding" {
        vec![embedding_provider(
            &key.0.tenant_id,
            &state.engine.embedding_model_info(),
        )]
    } else {
        Vec::new()
    };
    Ok(Json(json!({ "data": data })))
}
