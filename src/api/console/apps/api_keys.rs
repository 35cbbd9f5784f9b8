//! `GET/POST /apps/{id}/api-keys`, `DELETE /apps/{id}/api-keys/{key_id}`: an app's `app-...`
//! keys, at most 10 per app (Dify's `AppApiKeyListResource.max_keys`). Keys are stored hashed:
//! the key is in the creation answer only, lists show a hint. Editors see the hints; only owners
//! and admins make and remove keys (Dify's `apikey.py`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::find_app;
use crate::api::console::session::ConsoleUser;
use crate::api::{ApiError, AppState, ErrorCode};
use crate::store::TokenType;

/// Keys one app may have at once.
pub const MAX_APP_KEYS: usize = 10;

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let keys = state
        .engine
        .store()
        .app_api_keys(&user.tenant_id, &app.id)
        .await?;
    Ok(Json(json!({
        "data": keys.iter().map(|key| json!({
            "id": key.id,
            "type": "app",
            "token": key.token_hint,
            "last_used_at": key.last_used_at,
            "created_at": key.created_at,
        })).collect::<Vec<_>>(),
    })))
}

pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    user.require_admin()?;
    let app = find_app(&state, &user, &app_id).await?;
    let created = state
        .engine
        .store()
        .issue_api_token(&user.tenant_id, TokenType::App, Some(&app.id), Some(MAX_APP_KEYS))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::MaxKeysExceeded,
                format!("Cannot create more than {MAX_APP_KEYS} API keys for this resource type."),
            )
        })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": created.id,
            "type": "app",
            "token": created.key,
            "last_used_at": null,
            "created_at": created.created_at,
        })),
    ))
}

pub async fn remove(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((app_id, key_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    user.require_admin()?;
    let app = find_app(&state, &user, &app_id).await?;
    if !state
        .engine
        .store()
        .delete_app_api_key(&user.tenant_id, &app.id, &key_id)
        .await?
    {
        return Err(ApiError::not_found("API key not found."));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
