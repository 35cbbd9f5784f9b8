//! A workspace's model settings: which embedding and rerank models its new knowledge bases
//! default to, and the OpenAI-compatible chat model its apps answer with. The provider key is
//! sealed at rest and only ever shown masked.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::knowledge::models::{llm_provider_entry, models_of_type as provider_entries};
use crate::api::sealing::mask;
use crate::api::{ApiError, AppState};
use crate::store::{LlmProvider, StoredModelSettings};

/// The provider name the console shows for OpenAI-compatible chat models.
pub const LLM_PROVIDER: &str = "openai_api_compatible";
/// The context window assumed when none is configured.
pub const DEFAULT_CONTEXT_WINDOW: u32 = 4096;

/// The chat model apps of `tenant_id` answer with: the workspace's own, else the server's
/// default from config `[llm]`, else none (apps then quote passages with the extractive answerer).
pub async fn llm_provider(state: &AppState, tenant_id: &str) -> Result<Option<LlmProvider>, ApiError> {
    let stored = state.engine.store().model_settings(tenant_id).await?;
    if let (Some(base_url), Some(model)) = (stored.llm_base_url, stored.llm_model) {
        let api_key = stored
            .llm_api_key_sealed
            .map(|sealed| state.console.sealer.open(&sealed))
            .transpose()
            .map_err(ApiError::internal)?;
        return Ok(Some(LlmProvider {
            base_url,
            api_key,
            model,
            parameters: stored.llm_parameters.unwrap_or_else(|| json!({})),
            context_window: stored.llm_context_window,
        }));
    }
    let config = &state.engine.config().llm;
    Ok(match (&config.base_url, &config.model) {
        (Some(base_url), Some(model)) => Some(LlmProvider {
            base_url: base_url.clone(),
            api_key: config.api_key.as_ref().map(|k| k.0.clone()),
            model: model.clone(),
            parameters: json!({}),
            context_window: config.context_window,
        }),
        _ => None,
    })
}

/// The settings as the console shows them: what is chosen, what could be, and whether the
/// chat model comes from the workspace or the server.
async fn view(state: &AppState, tenant_id: &str) -> Result<Value, ApiError> {
    let stored = state.engine.store().model_settings(tenant_id).await?;
    let embedding = state.engine.embedding_model_info();
    let rerank_available: Vec<Value> = state
        .engine
        .rerank_models()
        .configured()
        .map(|m| json!({"provider": m.provider, "model": m.model}))
        .collect();
    let own_llm = stored.llm_base_url.is_some() && stored.llm_model.is_some();
    let api_key_hint = stored
        .llm_api_key_sealed
        .as_deref()
        .and_then(|sealed| state.console.sealer.open(sealed).ok())
        .map(|key| mask(&key));
    let server = &state.engine.config().llm;
    let llm = if own_llm {
        json!({
            "source": "workspace",
            "provider": LLM_PROVIDER,
            "base_url": stored.llm_base_url,
            "model": stored.llm_model,
            "parameters": stored.llm_parameters.clone().unwrap_or_else(|| json!({})),
            "context_window": stored.llm_context_window,
            "api_key_set": stored.llm_api_key_sealed.is_some(),
            "api_key": api_key_hint,
        })
    } else if let (Some(base_url), Some(model)) = (&server.base_url, &server.model) {
        json!({
            "source": "server",
            "provider": LLM_PROVIDER,
            "base_url": base_url,
            "model": model,
            "parameters": {},
            "context_window": server.context_window,
            "api_key_set": server.api_key.is_some(),
            "api_key": server.api_key.as_ref().map(|k| mask(&k.0)),
        })
    } else {
        json!({"source": "extractive", "provider": null, "model": null, "api_key_set": false, "api_key": null})
    };
    Ok(json!({
        "embedding": {
            "model": stored.embedding_model.clone().unwrap_or_else(|| embedding.id.clone()),
            "available": state.engine.installed_models().into_iter().map(|m| m.id).collect::<Vec<_>>(),
        },
        "rerank": {
            "provider": stored.rerank_provider,
            "model": stored.rerank_model,
            "available": rerank_available,
        },
        "llm": llm,
        "updated_at": stored.updated_at,
    }))
}

pub async fn get(State(state): State<AppState>, user: ConsoleUser) -> Result<Json<Value>, ApiError> {
    Ok(Json(view(&state, &user.tenant_id).await?))
}

/// A field that may be absent (keep), `null` (clear) or set.
#[derive(Debug, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Change<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Change::Set(value),
            None => Change::Clear,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerankChoice {
    provider: String,
    model: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmChoice {
    base_url: String,
    model: String,
    /// Absent keeps the stored key (unless `base_url` moves to another server, which removes
    /// it); `null` or "" removes it.
    #[serde(default)]
    api_key: Change<String>,
    #[serde(default)]
    parameters: Option<Value>,
    #[serde(default)]
    context_window: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[serde(default)]
    embedding_model: Change<String>,
    #[serde(default)]
    rerank: Change<RerankChoice>,
    #[serde(default)]
    llm: Change<LlmChoice>,
}

/// Parameters of a chat completion request the console may set, with their ranges.
const LLM_PARAMETERS: [(&str, f64, f64); 5] = [
    ("temperature", 0.0, 2.0),
    ("top_p", 0.0, 1.0),
    ("max_tokens", 1.0, 1_000_000.0),
    ("presence_penalty", -2.0, 2.0),
    ("frequency_penalty", -2.0, 2.0),
];

fn check_parameters(parameters: &Value) -> Result<(), ApiError> {
    let object = parameters
        .as_object()
        .ok_or_else(|| ApiError::invalid("llm.parameters must be an object."))?;
    for (name, value) in object {
        let (_, low, high) = LLM_PARAMETERS
            .iter()
            .find(|(known, _, _)| known == name)
            .ok_or_else(|| {
                ApiError::invalid(format!("llm.parameters.{name} is not a supported parameter."))
            })?;
        let number = value
            .as_f64()
            .filter(|v| (*low..=*high).contains(v))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "llm.parameters.{name} must be a number from {low} to {high}."
                ))
            })?;
        if *name == "max_tokens" && number.fract() != 0.0 {
            return Err(ApiError::invalid(
                "llm.parameters.max_tokens must be a whole number.",
            ));
        }
    }
    Ok(())
}

/// The base URL as stored (no trailing slash), once it is an http(s) URL whose host the
/// server may reach: the early, clear refusal. Every request checks the address again when it
/// connects (`outbound`).
async fn check_base_url(state: &AppState, url: &str) -> Result<String, ApiError> {
    let url = url.trim().trim_end_matches('/');
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    let host = url.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    if !scheme_ok || host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid(
            "llm.base_url must be an http:// or https:// URL.",
        ));
    }
    state
        .engine
        .outbound()
        .policy()
        .check_destination(url)
        .await
        .map_err(|e| ApiError::invalid(format!("llm.base_url is not allowed: {e}.")))?;
    Ok(url.to_string())
}

/// Whether two URLs name the same server (scheme, host and port).
fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        (Err(_), _) | (_, Err(_)) => false,
    }
}

/// Changes the settings (owners and admins). Everything is checked before anything is saved.
pub async fn update(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    user.require_admin()?;
    let store = state.engine.store();
    let mut settings: StoredModelSettings = store.model_settings(&user.tenant_id).await?;
    match body.embedding_model {
        Change::Keep => {}
        Change::Clear => settings.embedding_model = None,
        Change::Set(model) => {
            if state.engine.installed_model(&model).is_none() {
                let available: Vec<String> = state
                    .engine
                    .installed_models()
                    .into_iter()
                    .map(|m| m.id)
                    .collect();
                return Err(ApiError::invalid(format!(
                    "Embedding model {model:?} is not available; this server has {}.",
                    available.join(", ")
                )));
            }
            settings.embedding_model = Some(model);
        }
    }
    match body.rerank {
        Change::Keep => {}
        Change::Clear => (settings.rerank_provider, settings.rerank_model) = (None, None),
        Change::Set(choice) => {
            let known = state
                .engine
                .rerank_models()
                .configured()
                .any(|m| m.provider == choice.provider && m.model == choice.model);
            if !known {
                return Err(ApiError::invalid(format!(
                    "Rerank model {}/{} is not configured on this server.",
                    choice.provider, choice.model
                )));
            }
            (settings.rerank_provider, settings.rerank_model) = (Some(choice.provider), Some(choice.model));
        }
    }
    match body.llm {
        Change::Keep => {}
        Change::Clear => {
            settings.llm_base_url = None;
            settings.llm_api_key_sealed = None;
            settings.llm_model = None;
            settings.llm_parameters = None;
            settings.llm_context_window = None;
        }
        Change::Set(llm) => {
            let base_url = check_base_url(&state, &llm.base_url).await?;
            let model = llm.model.trim();
            if model.is_empty() || model.len() > 200 {
                return Err(ApiError::invalid("llm.model must be 1 to 200 characters."));
            }
            if let Some(parameters) = &llm.parameters {
                check_parameters(parameters)?;
            }
            if let Some(window) = llm.context_window
                && !(256..=10_000_000).contains(&window)
            {
                return Err(ApiError::invalid(
                    "llm.context_window must be from 256 to 10000000 tokens.",
                ));
            }
            // The key was given for one server: sent to another it could be read there, so
            // an admin who sees only the masked key cannot re-point it. A new key is needed.
            let moved = settings
                .llm_base_url
                .as_deref()
                .is_some_and(|old| !same_origin(old, &base_url));
            match llm.api_key {
                Change::Keep if moved => settings.llm_api_key_sealed = None,
                Change::Keep => {}
                Change::Clear => settings.llm_api_key_sealed = None,
                Change::Set(key) if key.trim().is_empty() => settings.llm_api_key_sealed = None,
                Change::Set(key) => settings.llm_api_key_sealed = Some(state.console.sealer.seal(key.trim())),
            }
            settings.llm_base_url = Some(base_url);
            settings.llm_model = Some(model.to_string());
            settings.llm_parameters = llm.parameters;
            settings.llm_context_window = llm.context_window;
        }
    }
    store
        .save_model_settings(&user.tenant_id, &user.account_id, &settings)
        .await?;
    Ok(Json(view(&state, &user.tenant_id).await?))
}

pub async fn models_of_type(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(model_type): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut data = provider_entries(&state, &user.tenant_id, &model_type)?;
    if model_type == "llm"
        && let Some(llm) = llm_provider(&state, &user.tenant_id).await?
    {
        data.push(llm_provider_entry(
            &user.tenant_id,
            LLM_PROVIDER,
            &llm.model,
            llm.context_window.unwrap_or(DEFAULT_CONTEXT_WINDOW),
        ));
    }
    Ok(Json(json!({ "data": data })))
}

#[derive(Debug, Deserialize)]
pub struct DefaultModelQuery {
    model_type: String,
}

/// The workspace's default model of a type (Dify's `default-model`), `data: null` when none.
pub async fn default_model(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiQuery(query): ApiQuery<DefaultModelQuery>,
) -> Result<Json<Value>, ApiError> {
    let stored = state.engine.store().model_settings(&user.tenant_id).await?;
    let entry = |provider: &str, model: &str| {
        json!({
            "model": model,
            "model_type": query.model_type,
            "provider": {"provider": provider, "label": {"en_US": provider, "zh_Hans": provider}},
        })
    };
    let data = match query.model_type.as_str() {
        "text-embedding" => {
            let model = stored
                .embedding_model
                .unwrap_or_else(|| state.engine.embedding_model_info().id);
            entry(crate::api::knowledge::models::MODEL_PROVIDER_NAME, &model)
        }
        "rerank" => match (stored.rerank_provider, stored.rerank_model) {
            (Some(provider), Some(model)) => entry(&provider, &model),
            _ => Value::Null,
        },
        "llm" => match llm_provider(&state, &user.tenant_id).await? {
            Some(llm) => entry(LLM_PROVIDER, &llm.model),
            None => Value::Null,
        },
        "speech2text" | "moderation" | "tts" => Value::Null,
        other => return Err(ApiError::invalid(format!("Invalid model type: {other}."))),
    };
    Ok(Json(json!({ "data": data })))
}
