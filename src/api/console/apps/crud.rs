//! `GET/POST /apps`, `GET/PUT/DELETE /apps/{id}`, `POST /apps/{id}/model-config`,
//! `/api-enable` and `/site-enable`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{app_view, find_app};
use crate::api::console::session::ConsoleUser;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::{ApiError, AppState};
use crate::apps::manage::{self, AppDraft};
use crate::store::AppChanges;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
    mode: Option<String>,
    name: Option<String>,
}

fn number(text: Option<&str>, default: u32, max: u32, name: &str) -> Result<u32, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid(format!("{name} must be an integer between 1 and {max}"))),
    }
}

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    user.require_app_user()?;
    // `tag_ids` repeats (`?tag_ids=a&tag_ids=b`) or comes comma-separated (Dify's console).
    let tag_ids: Vec<String> = pairs
        .iter()
        .filter(|(name, _)| name == "tag_ids")
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect();
    let page = number(query.page.as_deref(), 1, 99_999, "page")?;
    let limit = number(query.limit.as_deref(), 20, 100, "limit")?;
    let mode = match query.mode.as_deref() {
        None | Some("") | Some("all") => None,
        Some(mode @ ("chat" | "completion" | "agent-chat" | "advanced-chat" | "workflow" | "agent")) => {
            Some(mode)
        }
        Some(other) => return Err(ApiError::invalid(format!("Invalid mode {other:?}"))),
    };
    let (apps, total) = state
        .engine
        .store()
        .list_apps(
            &user.tenant_id,
            mode,
            query.name.as_deref(),
            &tag_ids,
            page,
            limit,
        )
        .await?;
    let mut data = Vec::with_capacity(apps.len());
    for app in &apps {
        data.push(app_view(&state, app, &user).await?);
    }
    Ok(Json(json!({
        "page": page,
        "limit": limit,
        "total": total,
        "has_more": i64::from(page) * i64::from(limit) < total,
        "data": data,
    })))
}

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    mode: Option<String>,
    icon_type: Option<String>,
    icon: Option<String>,
    icon_background: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    user.require_editor()?;
    let mode = body.mode.ok_or_else(|| ApiError::invalid("mode is required"))?;
    let app = manage::create(
        &state.engine,
        &user.tenant_id,
        AppDraft {
            name: body.name.unwrap_or_default(),
            description: body.description.unwrap_or_default(),
            mode,
            icon_type: body.icon_type,
            icon: body.icon,
            icon_background: body.icon_background,
            model_config: None,
            created_by: Some(user.account_id.clone()),
            viewer: Some(user.dataset_viewer()),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(app_view(&state, &app, &user).await?)))
}

pub async fn detail(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    user.require_app_user()?;
    let app = find_app(&state, &user, &app_id).await?;
    Ok(Json(app_view(&state, &app, &user).await?))
}

#[derive(Debug, Deserialize)]
pub struct UpdateBody {
    name: Option<String>,
    description: Option<String>,
    icon_type: Option<String>,
    icon: Option<String>,
    icon_background: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let name = match body.name {
        Some(name) => Some(manage::check_name(&name)?),
        None => None,
    };
    let changes = AppChanges {
        name,
        description: body.description,
        icon_type: body.icon_type,
        icon: body.icon,
        icon_background: body.icon_background,
        ..AppChanges::default()
    };
    let updated = state
        .engine
        .store()
        .update_app(&user.tenant_id, &app.id, changes)
        .await?
        .ok_or_else(|| ApiError::not_found("App not found."))?;
    Ok(Json(app_view(&state, &updated, &user).await?))
}

pub async fn remove(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
) -> Result<Response, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    state.engine.store().delete_app(&user.tenant_id, &app.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn model_config(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let viewer = user.dataset_viewer();
    if !manage::set_model_config(&state.engine, &user.tenant_id, &app.id, &body, Some(&viewer)).await? {
        return Err(ApiError::not_found("App not found."));
    }
    Ok(Json(json!({"result": "success"})))
}

/// A `{flag: bool}` body.
fn flag(body: &Value, name: &str) -> Result<bool, ApiError> {
    body[name]
        .as_bool()
        .ok_or_else(|| ApiError::invalid(format!("{name} is required and must be a boolean")))
}

pub async fn api_enable(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    set_switch(&state, &user, &app_id, &body, "enable_api", |on| AppChanges {
        enable_api: Some(on),
        ..AppChanges::default()
    })
    .await
}

pub async fn site_enable(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    set_switch(&state, &user, &app_id, &body, "enable_site", |on| AppChanges {
        enable_site: Some(on),
        ..AppChanges::default()
    })
    .await
}

/// Sets one on/off switch of an app from the body's boolean `name` (editors only; the role and
/// the app are checked before the body) and answers the app.
async fn set_switch(
    state: &AppState,
    user: &ConsoleUser,
    app_id: &str,
    body: &Value,
    name: &str,
    changes: impl FnOnce(bool) -> AppChanges,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(state, user, app_id).await?;
    let changes = changes(flag(body, name)?);
    let updated = state
        .engine
        .store()
        .update_app(&user.tenant_id, &app.id, changes)
        .await?
        .ok_or_else(|| ApiError::not_found("App not found."))?;
    Ok(Json(app_view(state, &updated, user).await?))
}
