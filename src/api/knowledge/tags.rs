//! Knowledge tags: CRUD, binding to datasets, a dataset's tags (API.md A.1 #28-#31).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::datasets::find_dataset;
use super::views;
use crate::api::auth::DatasetKey;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::{ApiError, AppState};
use crate::store::KNOWLEDGE_TAG;

/// Longest tag name accepted, in characters.
const MAX_TAG_NAME_CHARS: usize = 50;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    keyword: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CreateTag {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UpdateTag {
    tag_id: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DeleteTag {
    tag_id: Option<String>,
}

/// A binding request; unbinding also takes the legacy single `tag_id`.
#[derive(Debug, Deserialize)]
pub struct Binding {
    #[serde(default)]
    tag_ids: Option<Vec<String>>,
    #[serde(default)]
    tag_id: Option<String>,
    target_id: Option<String>,
}

pub(crate) fn check_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.map(str::trim).unwrap_or("");
    if name.is_empty() || name.chars().count() > MAX_TAG_NAME_CHARS {
        return Err(ApiError::invalid("Name must be between 1 to 50 characters."));
    }
    Ok(name.to_string())
}

/// A tag id from a body; one that cannot name a tag is a 404 like an unknown one.
pub(crate) fn tag_id(id: Option<&str>) -> Result<String, ApiError> {
    let id = id.ok_or_else(|| ApiError::invalid("Tag ID is required."))?;
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("Tag not found"))
}

/// The dataset a binding targets, in the key's workspace.
async fn target(state: &AppState, key: &DatasetKey, target_id: Option<&str>) -> Result<String, ApiError> {
    let id = target_id.ok_or_else(|| ApiError::invalid("Target Dataset ID is required."))?;
    let id = uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("Dataset not found."))?;
    state
        .engine
        .store()
        .dataset(&key.0.tenant_id, &id)
        .await?
        .map(|dataset| dataset.id)
        .ok_or_else(|| ApiError::not_found("Dataset not found."))
}

pub async fn list(
    State(state): State<AppState>,
    key: DatasetKey,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let tags = state
        .engine
        .store()
        .tags(&key.0.tenant_id, KNOWLEDGE_TAG, query.keyword.as_deref())
        .await?;
    Ok(Json(Value::Array(tags.iter().map(views::tag).collect())))
}

pub async fn create(
    State(state): State<AppState>,
    key: DatasetKey,
    ApiJson(body): ApiJson<CreateTag>,
) -> Result<Json<Value>, ApiError> {
    let name = check_name(body.name.as_deref())?;
    let tag = state
        .engine
        .store()
        .create_tag(&key.0.tenant_id, KNOWLEDGE_TAG, &name)
        .await?;
    Ok(Json(views::tag(&tag)))
}

pub async fn update(
    State(state): State<AppState>,
    key: DatasetKey,
    ApiJson(body): ApiJson<UpdateTag>,
) -> Result<Json<Value>, ApiError> {
    let name = check_name(body.name.as_deref())?;
    let id = tag_id(body.tag_id.as_deref())?;
    let tag = state
        .engine
        .store()
        .rename_tag(&key.0.tenant_id, KNOWLEDGE_TAG, &id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("Tag not found"))?;
    Ok(Json(views::tag(&tag)))
}

pub async fn delete(
    State(state): State<AppState>,
    key: DatasetKey,
    ApiJson(body): ApiJson<DeleteTag>,
) -> Result<Response, ApiError> {
    let id = tag_id(body.tag_id.as_deref())?;
    let deleted = state
        .engine
        .store()
        .delete_tag(&key.0.tenant_id, KNOWLEDGE_TAG, &id)
        .await?;
    if !deleted {
        return Err(ApiError::not_found("Tag not found"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn bind(
    State(state): State<AppState>,
    key: DatasetKey,
    ApiJson(body): ApiJson<Binding>,
) -> Result<Response, ApiError> {
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
    let target = target(&state, &key, body.target_id.as_deref()).await?;
    let store = state.engine.store();
    let known = store.tags_by_ids(&key.0.tenant_id, KNOWLEDGE_TAG, &ids).await?;
    if known.len() != ids.len() {
        return Err(ApiError::not_found("Tag not found"));
    }
    store.bind_tags(&key.0.tenant_id, &ids, &target).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn unbind(
    State(state): State<AppState>,
    key: DatasetKey,
    ApiJson(body): ApiJson<Binding>,
) -> Result<Response, ApiError> {
    let mut ids: Vec<String> = body.tag_ids.unwrap_or_default();
    ids.extend(body.tag_id);
    if ids.is_empty() {
        return Err(ApiError::invalid("Tag ID is required."));
    }
    let target = target(&state, &key, body.target_id.as_deref()).await?;
    // Ids that name no tag have no binding to remove.
    let ids: Vec<String> = ids
        .iter()
        .filter_map(|id| uuid::Uuid::parse_str(id).ok().map(|u| u.to_string()))
        .collect();
    state
        .engine
        .store()
        .unbind_tags(&key.0.tenant_id, &ids, &target)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn dataset_tags(
    State(state): State<AppState>,
    key: DatasetKey,
    Path(dataset_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let tags = state
        .engine
        .store()
        .target_tags(&key.0.tenant_id, KNOWLEDGE_TAG, &dataset.id)
        .await?;
    let data: Vec<Value> = tags.iter().map(|t| json!({"id": t.id, "name": t.name})).collect();
    Ok(Json(json!({"data": data, "total": tags.len()})))
}
