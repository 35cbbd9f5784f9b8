//! Dataset API keys in the console (workspace-wide `dataset-...` keys, at most 10 per
//! workspace; listed masked, shown in full once at creation), the per-dataset API switch the
//! knowledge API honours, and the API's base URL.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ConsoleUser;
use crate::api::caller::{Access, find_dataset};
use crate::api::extract::uuid_path;
use crate::api::{ApiError, AppState, ErrorCode};
use crate::store::TokenType;

/// Dify's `DatasetApiKeyApi.max_keys`.
pub const MAX_DATASET_KEYS: usize = 10;

pub async fn list(State(state): State<AppState>, user: ConsoleUser) -> Result<Json<Value>, ApiError> {
    let keys = state
        .engine
        .store()
        .list_api_tokens(&user.tenant_id, TokenType::Dataset, None)
        .await?;
    let data: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({
                "id": key.id,
                "type": key.token_type,
                "token": key.hint,
                "last_used_at": key.last_used_at,
                "created_at": key.created_at,
            })
        })
        .collect();
    Ok(Json(json!({ "data": data })))
}

pub async fn create(State(state): State<AppState>, user: ConsoleUser) -> Result<Json<Value>, ApiError> {
    user.require_admin()?;
    let issued = state
        .engine
        .store()
        .issue_api_token(&user.tenant_id, TokenType::Dataset, None, Some(MAX_DATASET_KEYS))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::MaxKeysExceeded,
                format!("Cannot create more than {MAX_DATASET_KEYS} API keys for this resource type."),
            )
        })?;
    Ok(Json(json!({
        "id": issued.id,
        "type": TokenType::Dataset.as_str(),
        "token": issued.key,
        "last_used_at": null,
        "created_at": issued.created_at,
    })))
}

pub async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(api_key_id): Path<String>,
) -> Result<Response, ApiError> {
    user.require_admin()?;
    let id = uuid_path(&api_key_id, "API key")?;
    let deleted = state
        .engine
        .store()
        .delete_api_token(&user.tenant_id, TokenType::Dataset, None, &id)
        .await?;
    if !deleted {
        return Err(ApiError::not_found("API key not found"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /datasets/{id}/api-keys/{enable|disable}`: whether dataset keys reach this dataset.
pub async fn set_api_status(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, status)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Write).await?;
    let enabled = match status.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(ApiError::new(ErrorCode::InvalidAction, "Invalid action.")),
    };
    state
        .engine
        .store()
        .set_dataset_api_enabled(&user.tenant_id, &dataset.id, enabled)
        .await?;
    Ok(Json(json!({"result": "success"})))
}

/// `GET /datasets/api-base-info`: where the knowledge API is served.
pub async fn api_base_info(State(state): State<AppState>, _user: ConsoleUser) -> Json<Value> {
    let base = state.engine.config().server.files_base_url();
    Json(json!({ "api_base_url": format!("{}/v1", base.trim_end_matches('/')) }))
}
