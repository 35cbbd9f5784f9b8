//! Tags in the console (Dify's `controllers/console/tag/tags.py`): knowledge and app tags of the
//! workspace, and their bindings to datasets and apps. The same store and name rules as the
//! knowledge API's dataset tags; a target must be one the account may change.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use crate::api::caller::{Access, find_dataset};
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::knowledge::tags::{check_name, tag_id};
use crate::api::knowledge::views;
use crate::api::{ApiError, AppState};
use crate::store::{APP_TAG, KNOWLEDGE_TAG};

/// `knowledge` or `app`, 400 otherwise.
fn tag_type(value: Option<&str>) -> Result<&'static str, ApiError> {
    match value {
        Some(KNOWLEDGE_TAG) => Ok(KNOWLEDGE_TAG),
        Some(APP_TAG) => Ok(APP_TAG),
        _ => Err(ApiError::invalid("Invalid tag type.")),
    }
}

/// Who may create, rename, bind and unbind tags (Dify: editors and dataset operators).
fn require_tag_editor(user: &ConsoleUser) -> Result<(), ApiError> {
    user.require_dataset_editor()
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    keyword: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    // Dify lists no tags for a missing type.
    let Some(kind) = query.kind.as_deref().filter(|k| !k.is_empty()) else {
        return Ok(Json(json!([])));
    };
    let kind = tag_type(Some(kind))?;
    let tags = state
        .engine
        .store()
        .tags(
            &user.tenant_id,
            kind,
            query.keyword.as_deref().filter(|k| !k.is_empty()),
        )
        .await?;
    Ok(Json(Value::Array(tags.iter().map(views::tag).collect())))
}

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Json<Value>, ApiError> {
    require_tag_editor(&user)?;
    let name = check_name(body.name.as_deref())?;
    let kind = tag_type(body.kind.as_deref())?;
    if kind == APP_TAG {
        user.require_editor()?;
    }
    let tag = state
        .engine
        .store()
        .create_tag(&user.tenant_id, kind, &name)
        .await?;
    Ok(Json(views::tag(&tag)))
}

#[derive(Debug, Deserialize)]
pub struct RenameBody {
    name: Option<String>,
}

/// The type of the tag named by a path id, in the workspace (404 otherwise).
async fn kind_of(state: &AppState, user: &ConsoleUser, id: &str) -> Result<(String, String), ApiError> {
    let id = tag_id(Some(id))?;
    let kind = state
        .engine
        .store()
        .tag_kind(&user.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Tag not found."))?;
    Ok((id, kind))
}

pub async fn rename(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RenameBody>,
) -> Result<Json<Value>, ApiError> {
    require_tag_editor(&user)?;
    let name = check_name(body.name.as_deref())?;
    let (id, kind) = kind_of(&state, &user, &id).await?;
    let tag = state
        .engine
        .store()
        .rename_tag(&user.tenant_id, &kind, &id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("Tag not found."))?;
    Ok(Json(views::tag(&tag)))
}

pub async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // Dify: editors only (not dataset operators).
    user.require_editor()?;
    let (id, kind) = kind_of(&state, &user, &id).await?;
    if !state
        .engine
        .store()
        .delete_tag(&user.tenant_id, &kind, &id)
        .await?
    {
        return Err(ApiError::not_found("Tag not found."));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub struct BindingBody {
    #[serde(default)]
    tag_ids: Option<Vec<String>>,
    #[serde(default)]
    tag_id: Option<String>,
    target_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// The target of a binding: a dataset the account may change, or an app of the workspace
/// (for an account that may change apps).
async fn target(
    state: &AppState,
    user: &ConsoleUser,
    kind: &str,
    target_id: Option<&str>,
) -> Result<String, ApiError> {
    let id = target_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::invalid("Target ID is required."))?;
    if kind == KNOWLEDGE_TAG {
        return Ok(find_dataset(state, user, id, Access::Write).await?.id);
    }
    user.require_editor()?;
    let id = uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("App not found."))?;
    state
        .engine
        .store()
        .app(&user.tenant_id, &id)
        .await?
        .map(|app| app.id)
        .ok_or_else(|| ApiError::not_found("App not found."))
}

pub async fn bind(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<BindingBody>,
) -> Result<Json<Value>, ApiError> {
    require_tag_editor(&user)?;
    let kind = tag_type(body.kind.as_deref())?;
    let ids = body.tag_ids.unwrap_or_default();
    if ids.is_empty() {
        return Err(ApiError::invalid("Tag IDs is required."));
    }
    let mut ids = ids
        .iter()
        .map(|id| tag_id(Some(id)))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort();
    ids.dedup();
    let target = target(&state, &user, kind, body.target_id.as_deref()).await?;
    let store = state.engine.store();
    // Every tag must be one of this workspace, of the target's type.
    if store.tags_by_ids(&user.tenant_id, kind, &ids).await?.len() != ids.len() {
        return Err(ApiError::not_found("Tag not found."));
    }
    store.bind_tags(&user.tenant_id, &ids, &target).await?;
    Ok(Json(json!({"result": "success"})))
}

pub async fn unbind(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<BindingBody>,
) -> Result<Json<Value>, ApiError> {
    require_tag_editor(&user)?;
    let kind = tag_type(body.kind.as_deref())?;
    let mut ids = body.tag_ids.unwrap_or_default();
    ids.extend(body.tag_id);
    if ids.is_empty() {
        return Err(ApiError::invalid("Tag ID is required."));
    }
    let target = target(&state, &user, kind, body.target_id.as_deref()).await?;
    // Ids that name no tag have no binding to remove.
    let ids: Vec<String> = ids
        .iter()
        .filter_map(|id| uuid::Uuid::parse_str(id).ok().map(|u| u.to_string()))
        .collect();
    state
        .engine
        .store()
        .unbind_tags(&user.tenant_id, &ids, &target)
        .await?;
    Ok(Json(json!({"result": "success"})))
}
