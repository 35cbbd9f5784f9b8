//! `GET /parameters`, `/meta`, `/info` and `/site`: what a client needs to show an app.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{AppKey, app_config};
use crate::api::{ApiError, AppState};
use crate::store::DEFAULT_OWNER_NAME;

pub async fn parameters(State(state): State<AppState>, key: AppKey) -> Result<Json<Value>, ApiError> {
    let config = app_config(&key)?;
    Ok(Json(
        config.parameters(state.engine.config().upload.file_size_limit_mb),
    ))
}

pub async fn meta(_key: AppKey) -> Json<Value> {
    // Chat and completion apps have no tools.
    Json(json!({"tool_icons": {}}))
}

pub async fn info(key: AppKey) -> Json<Value> {
    Json(json!({
        "name": key.app.name,
        "description": key.app.description,
        "tags": [],
        "mode": key.app.mode,
        "author_name": DEFAULT_OWNER_NAME,
    }))
}

pub async fn site(key: AppKey) -> Json<Value> {
    let app = &key.app;
    Json(json!({
        "title": app.name,
        "chat_color_theme": null,
        "chat_color_theme_inverted": false,
        "icon_type": app.icon_type,
        "icon": app.icon,
        "icon_background": app.icon_background,
        "icon_url": null,
        "description": app.description,
        "copyright": null,
        "privacy_policy": null,
        "custom_disclaimer": "",
        "default_language": "en-US",
        "show_workflow_steps": false,
        "use_icon_as_answer_icon": false,
    }))
}
