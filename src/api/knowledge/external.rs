//! External datasets (provider `external`) as the dataset routes show and search them: their
//! `external_knowledge_info` and `external_retrieval_model`, and retrieval forwarded to their
//! External Knowledge API (`crate::engine::external`) with the API's key unsealed for the call.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::api::{ApiError, AppState, ErrorCode};
use crate::apps::retrieval::ExternalSource;
use crate::engine::MAX_TOP_K;
use crate::engine::external::{self, ExternalKnowledgeError, ExternalQuery};
use crate::store::{Dataset, EXTERNAL_PROVIDER};

/// Dify's settings of an external dataset that brings none.
pub fn default_retrieval_model() -> Value {
    json!({"top_k": 2, "score_threshold": 0.0, "score_threshold_enabled": false})
}

/// Checks and completes `{top_k, score_threshold, score_threshold_enabled}`; fields left out
/// take Dify's defaults.
pub fn retrieval_model(value: Option<&Value>) -> Result<Value, ApiError> {
    let mut model = default_retrieval_model();
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(model);
    };
    let fields = value
        .as_object()
        .ok_or_else(|| ApiError::invalid("external_retrieval_model must be an object"))?;
    if let Some(top_k) = fields.get("top_k").filter(|v| !v.is_null()) {
        let top_k = top_k
            .as_u64()
            .filter(|k| (1..=MAX_TOP_K as u64).contains(k))
            .ok_or_else(|| ApiError::invalid(format!("top_k must be an integer from 1 to {MAX_TOP_K}")))?;
        model["top_k"] = json!(top_k);
    }
    if let Some(threshold) = fields.get("score_threshold").filter(|v| !v.is_null()) {
        let threshold = threshold
            .as_f64()
            .filter(|t| (0.0..=1.0).contains(t))
            .ok_or_else(|| ApiError::invalid("score_threshold must be a number from 0 to 1"))?;
        model["score_threshold"] = json!(threshold);
    }
    if let Some(enabled) = fields.get("score_threshold_enabled").filter(|v| !v.is_null()) {
        let enabled = enabled
            .as_bool()
            .ok_or_else(|| ApiError::invalid("score_threshold_enabled must be true or false"))?;
        model["score_threshold_enabled"] = json!(enabled);
    }
    Ok(model)
}

impl From<ExternalKnowledgeError> for ApiError {
    fn from(error: ExternalKnowledgeError) -> Self {
        let code = match error {
            ExternalKnowledgeError::Refused(_) => ErrorCode::InvalidParam,
            ExternalKnowledgeError::Unauthorized(_) => ErrorCode::ProviderNotInitialize,
            ExternalKnowledgeError::Unreachable
            | ExternalKnowledgeError::Timeout(_)
            | ExternalKnowledgeError::Status(_)
            | ExternalKnowledgeError::Malformed => ErrorCode::ExternalKnowledgeUnavailable,
        };
        ApiError::new(code, error.to_string())
    }
}

/// Adds an external dataset's binding to its view (a dataset of ragd's own keeps the nulls).
pub async fn add_to_view(state: &AppState, dataset: &Dataset, view: &mut Value) -> Result<(), ApiError> {
    if dataset.provider != EXTERNAL_PROVIDER {
        return Ok(());
    }
    let store = state.engine.store();
    let Some(binding) = store.external_binding(&dataset.tenant_id, &dataset.id).await? else {
        return Ok(());
    };
    let api = store.external_api(&dataset.tenant_id, &binding.api_id).await?;
    view["external_knowledge_info"] = json!({
        "external_knowledge_id": binding.knowledge_id,
        "external_knowledge_api_id": binding.api_id,
        "external_knowledge_api_name": api.as_ref().map(|a| a.name.clone()),
        "external_knowledge_api_endpoint": api.as_ref().map(|a| a.endpoint.clone()),
    });
    view["external_retrieval_model"] = binding.retrieval_model;
    Ok(())
}

/// A retrieval against an external dataset, answered as Dify's hit testing answers it:
/// `{query: {content}, records: [{content, title, score, metadata}]}`. `requested` settings
/// replace the dataset's own for this call.
pub async fn retrieve(
    state: &AppState,
    dataset: &Dataset,
    query: &str,
    requested: Option<&Value>,
    metadata_condition: Option<Value>,
) -> Result<Value, ApiError> {
    let store = state.engine.store();
    let binding = store
        .external_binding(&dataset.tenant_id, &dataset.id)
        .await?
        .ok_or_else(|| ApiError::invalid("The external knowledge binding of this dataset is missing."))?;
    let settings = match requested.filter(|v| !v.is_null()) {
        Some(value) => retrieval_model(Some(value))?,
        None => retrieval_model(Some(&binding.retrieval_model))?,
    };
    let api = store
        .external_api(&dataset.tenant_id, &binding.api_id)
        .await?
        .ok_or_else(|| ApiError::not_found("External knowledge API not found."))?;
    let api_key = state.console.sealer.open(&api.api_key_sealed).map_err(|_| {
        ApiError::new(
            ErrorCode::ProviderNotInitialize,
            "The external knowledge API key cannot be read; enter it again.",
        )
    })?;
    let threshold_on = settings["score_threshold_enabled"].as_bool().unwrap_or(false);
    let records = external::retrieve(
        state.engine.outbound(),
        &ExternalQuery {
            endpoint: &api.endpoint,
            api_key: &api_key,
            knowledge_id: &binding.knowledge_id,
            query,
            top_k: settings["top_k"].as_u64().unwrap_or(2),
            score_threshold: if threshold_on {
                settings["score_threshold"].as_f64().unwrap_or(0.0)
            } else {
                0.0
            },
            metadata_condition,
        },
    )
    .await?;
    let records: Vec<Value> = records
        .into_iter()
        .map(|r| json!({"content": r.content, "title": r.title, "score": r.score, "metadata": r.metadata}))
        .collect();
    Ok(json!({"query": {"content": query}, "records": records}))
}

/// The External Knowledge APIs of the external datasets among `dataset_ids`, keys opened, for an
/// app's retrieval. A dataset whose API or key cannot be read is left out (logged).
pub async fn app_sources(
    state: &AppState,
    tenant_id: &str,
    dataset_ids: &[String],
) -> Result<HashMap<String, ExternalSource>, ApiError> {
    let store = state.engine.store();
    let mut sources = HashMap::new();
    for id in dataset_ids {
        let Some(binding) = store.external_binding(tenant_id, id).await? else {
            continue;
        };
        let Some(api) = store.external_api(tenant_id, &binding.api_id).await? else {
            continue;
        };
        let Ok(api_key) = state.console.sealer.open(&api.api_key_sealed) else {
            tracing::warn!(dataset_id = %id, "the external knowledge API key cannot be read");
            continue;
        };
        let settings = retrieval_model(Some(&binding.retrieval_model))?;
        let threshold_on = settings["score_threshold_enabled"].as_bool().unwrap_or(false);
        sources.insert(
            id.clone(),
            ExternalSource {
                endpoint: api.endpoint,
                api_key,
                knowledge_id: binding.knowledge_id,
                top_k: settings["top_k"].as_u64().unwrap_or(2),
                score_threshold: if threshold_on {
                    settings["score_threshold"].as_f64().unwrap_or(0.0)
                } else {
                    0.0
                },
            },
        );
    }
    Ok(sources)
}
