//! Datasets in the console: list (filtered by who may see them), create, get, change, delete,
//! and what the console shows around a dataset (use, related apps, indexing progress, failed
//! documents, query history, process-rule defaults, retrieval methods, built-in metadata).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use crate::api::caller::{Access, find_dataset};
use crate::api::extract::{ApiJson, ApiQuery, uuid_path};
use crate::api::knowledge::datasets::{
    apply_embedding_model_change, check_description, check_embedding_model_change, check_name,
    check_permission, check_technique, dataset_json, embedding_model, partial_member_ids,
};
use crate::api::knowledge::external;
use crate::api::knowledge::retrieve::parse_retrieval_model;
use crate::api::knowledge::views;
use crate::api::{ApiError, AppState};
use crate::store::{
    BUILT_IN_FIELDS, Dataset, DatasetChanges, DatasetListFilter, EXTERNAL_PROVIDER, ListVisibility,
    NewDataset, ONLY_ME, PARTIAL_TEAM, Role,
};

/// Dify's default process rule for the console (`DocumentService.DEFAULT_RULES`).
pub fn default_process_rule() -> Value {
    json!({
        "mode": "custom",
        "rules": {
            "pre_processing_rules": [
                {"id": "remove_extra_spaces", "enabled": true},
                {"id": "remove_urls_emails", "enabled": false},
            ],
            "segmentation": {"delimiter": "\n", "max_tokens": 1024, "chunk_overlap": 50},
        },
    })
}

/// Dify's `INDEXING_MAX_SEGMENTATION_TOKENS_LENGTH`.
const MAX_SEGMENTATION_TOKENS: u32 = 4000;

/// The apps that use a dataset, as the console lists them (`{id, name, description, mode, icon_type,
/// icon, icon_background, icon_url}`); `use-check` and deletion follow it.
pub async fn related_apps(state: &AppState, dataset: &Dataset) -> Result<Vec<Value>, ApiError> {
    let apps = state
        .engine
        .store()
        .apps_using_dataset(&dataset.tenant_id, &dataset.id)
        .await?;
    Ok(apps
        .iter()
        .map(|app| {
            json!({
                "id": app.id,
                "name": app.name,
                "description": app.description,
                "mode": app.mode,
                "icon_type": app.icon_type,
                "icon": app.icon,
                "icon_background": app.icon_background,
                "icon_url": null,
            })
        })
        .collect())
}

/// The dataset object of the console: the knowledge API's, with its partial member list.
async fn console_dataset(state: &AppState, dataset: &Dataset) -> Result<Value, ApiError> {
    let mut value = dataset_json(state, dataset).await?;
    if value.get("partial_member_list").is_none() {
        value["partial_member_list"] = json!([]);
    }
    value["app_count"] = json!(related_apps(state, dataset).await?.len());
    Ok(value)
}

/// A whole page or limit number, 400 when it is not one.
fn number(name: &str, value: &str) -> Result<u32, ApiError> {
    value
        .trim()
        .parse::<u32>()
        .map_err(|_| ApiError::invalid(format!("{name} must be a positive integer")))
}

/// `page` (from 1) and `limit` (1..=100) of a list query.
pub(super) fn page_and_limit(pairs: &[(String, String)]) -> Result<(u32, u32), ApiError> {
    let (mut page, mut limit) = (1, 20);
    for (key, value) in pairs {
        match key.as_str() {
            "page" => page = number("page", value)?,
            "limit" => limit = number("limit", value)?,
            _ => {}
        }
    }
    if page == 0 {
        return Err(ApiError::invalid("page must be at least 1"));
    }
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit must be between 1 and 100"));
    }
    Ok((page, limit))
}

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let (page, limit) = page_and_limit(&pairs)?;
    let mut filter = DatasetListFilter::default();
    let mut include_all = false;
    for (key, value) in pairs {
        match key.as_str() {
            "keyword" if !value.is_empty() => filter.keyword = Some(value),
            // Repeated, or comma-separated as Dify's console sends it.
            "tag_ids" => filter.tag_ids.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_string),
            ),
            "ids" if !value.is_empty() => filter.ids.push(value),
            "include_all" => include_all = value == "true",
            _ => {}
        }
    }
    // The owner sees every dataset with include_all; everyone else only what they may open.
    filter.visibility = Some(ListVisibility {
        viewer: user.dataset_viewer(),
        // Datasets made with a dataset key act as the owner's (Dify runs those requests so).
        keyless_own: user.role == Role::Owner,
        as_member: !include_all,
    });
    let (datasets, total) = state
        .engine
        .store()
        .filtered_datasets(&user.tenant_id, &filter, page, limit)
        .await?;
    let mut data = Vec::with_capacity(datasets.len());
    for dataset in &datasets {
        data.push(console_dataset(&state, dataset).await?);
    }
    Ok(Json(json!({
        "data": data,
        "has_more": i64::from(page) * i64::from(limit) < total,
        "limit": limit,
        "total": total,
        "page": page,
    })))
}

#[derive(Debug, Deserialize)]
pub struct CreateDataset {
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    indexing_technique: Option<String>,
    #[serde(default)]
    permission: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    /// An installed model's id (Dify's field); a dataset whose technique the first document
    /// decides records it then.
    #[serde(default)]
    embedding_model: Option<String>,
    #[serde(default)]
    partial_member_list: Option<Value>,
}

pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<CreateDataset>,
) -> Result<Response, ApiError> {
    user.require_dataset_editor()?;
    let name = check_name(body.name.as_deref().unwrap_or(""))?;
    let description = body.description.unwrap_or_default();
    check_description(&description)?;
    if let Some(technique) = &body.indexing_technique {
        check_technique(technique)?;
    }
    let permission = body.permission.unwrap_or_else(|| ONLY_ME.into());
    check_permission(&permission)?;
    let members = partial_member_ids(
        &state,
        &user.tenant_id,
        Some(&permission),
        body.partial_member_list.as_ref(),
    )
    .await?;
    if body.provider.as_deref().is_some_and(|p| p != "vendor") {
        return Err(ApiError::invalid("External datasets are not supported."));
    }
    let requested = body.embedding_model.as_deref();
    let (model, dimension) = match body.indexing_technique.as_deref() {
        Some("high_quality") => {
            let (model, dimension) = embedding_model(&state, requested)?;
            (Some(model), Some(dimension))
        }
        // Economy, or decided by the first document; a named model must still be installed.
        Some(_) | None => {
            if requested.is_some() {
                embedding_model(&state, requested)?;
            }
            (None, None)
        }
    };
    let dataset = state
        .engine
        .store()
        .create_dataset(NewDataset {
            tenant_id: user.tenant_id.clone(),
            name,
            embedding_model: model,
            embedding_dimension: dimension,
            doc_form: "text_model".into(),
            process_rule: json!({"mode": "automatic"}),
            description,
            indexing_technique: body.indexing_technique,
            permission,
            retrieval_model: None,
            created_by: Some(user.account_id.clone()),
        })
        .await?;
    if let Some(members) = members {
        state
            .engine
            .store()
            .set_partial_members(&dataset.tenant_id, &dataset.id, &members)
            .await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(console_dataset(&state, &dataset).await?),
    )
        .into_response())
}

pub async fn get(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    Ok(Json(console_dataset(&state, &dataset).await?))
}

#[derive(Debug, Deserialize, Default)]
pub struct UpdateDataset {
    name: Option<String>,
    description: Option<String>,
    indexing_technique: Option<String>,
    permission: Option<String>,
    embedding_model: Option<String>,
    retrieval_model: Option<Value>,
    partial_member_list: Option<Value>,
    /// An external dataset's settings (`{top_k, score_threshold, score_threshold_enabled}`).
    external_retrieval_model: Option<Value>,
}

/// Dify's `DatasetPermissionService.check_permission`: a dataset operator keeps a dataset's
/// permission and partial member list as they are.
async fn check_permission_change(
    state: &AppState,
    user: &ConsoleUser,
    dataset: &Dataset,
    permission: Option<&str>,
    members: Option<&[String]>,
) -> Result<(), ApiError> {
    if user.role != Role::DatasetOperator {
        return Ok(());
    }
    let Some(permission) = permission else {
        return Ok(());
    };
    if permission != dataset.permission {
        return Err(ApiError::forbidden(
            "Dataset operators cannot change the dataset permissions.",
        ));
    }
    if permission == PARTIAL_TEAM {
        let Some(requested) = members else {
            return Err(ApiError::invalid(
                "Partial member list is required when setting to partial members.",
            ));
        };
        let mut current = state
            .engine
            .store()
            .partial_members(&dataset.tenant_id, &dataset.id)
            .await?;
        let mut requested = requested.to_vec();
        current.sort();
        requested.sort();
        if current != requested {
            return Err(ApiError::forbidden(
                "Dataset operators cannot change the dataset permissions.",
            ));
        }
    }
    Ok(())
}

pub async fn update(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
    ApiJson(body): ApiJson<UpdateDataset>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Write).await?;
    let name = body.name.as_deref().map(check_name).transpose()?;
    if let Some(description) = &body.description {
        check_description(description)?;
    }
    if let Some(technique) = &body.indexing_technique {
        check_technique(technique)?;
    }
    if let Some(permission) = &body.permission {
        check_permission(permission)?;
        // Dify: only the creator (or the owner) changes who may see an only_me dataset.
        if dataset.permission == "only_me"
            && user.role != Role::Owner
            && dataset.created_by.as_deref() != Some(user.account_id.as_str())
        {
            return Err(ApiError::forbidden(
                "You do not have permission to access this dataset.",
            ));
        }
    }
    let partial_members = partial_member_ids(
        &state,
        &user.tenant_id,
        body.permission.as_deref(),
        body.partial_member_list.as_ref(),
    )
    .await?;
    check_permission_change(
        &state,
        &user,
        &dataset,
        body.permission.as_deref(),
        partial_members.as_deref(),
    )
    .await?;
    if let Some(retrieval) = &body.retrieval_model {
        parse_retrieval_model(retrieval)?;
    }
    if let Some(requested) = &body.embedding_model {
        check_embedding_model_change(&state, &dataset, requested)?;
    }
    let external_model = match &body.external_retrieval_model {
        Some(model) if dataset.provider == EXTERNAL_PROVIDER => Some(external::retrieval_model(Some(model))?),
        Some(_) | None => None,
    };
    let changes = DatasetChanges {
        name,
        description: body.description,
        permission: body.permission,
        retrieval_model: body.retrieval_model,
        partial_members,
    };
    let updated = state
        .engine
        .store()
        .update_dataset(&user.tenant_id, &dataset.id, changes)
        .await?
        .ok_or_else(|| ApiError::not_found("Dataset not found."))?;
    if let Some(model) = &external_model {
        state
            .engine
            .store()
            .set_external_retrieval_model(&user.tenant_id, &dataset.id, model)
            .await?;
    }
    let updated = match &body.indexing_technique {
        Some(technique) => {
            state
                .engine
                .set_indexing_technique(&updated, technique, body.embedding_model.as_deref())
                .await?
        }
        None => updated,
    };
    apply_embedding_model_change(&state, &updated, body.embedding_model.as_deref())?;
    Ok(Json(console_dataset(&state, &updated).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
) -> Result<Response, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Write).await?;
    state.engine.delete_dataset(&dataset).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The account ids on a dataset's partial member list (Dify's `permission-part-users`).
pub async fn permission_part_users(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    let members = state
        .engine
        .store()
        .partial_members(&dataset.tenant_id, &dataset.id)
        .await?;
    Ok(Json(json!({ "data": members })))
}

pub async fn use_check(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    let is_using = !related_apps(&state, &dataset).await?.is_empty();
    Ok(Json(json!({ "is_using": is_using })))
}

pub async fn related(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    let apps = related_apps(&state, &dataset).await?;
    Ok(Json(json!({ "total": apps.len(), "data": apps })))
}

pub async fn indexing_status(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    let documents = state.engine.store().dataset_documents(&dataset.id, None).await?;
    let data: Vec<Value> = documents.iter().map(views::indexing_status).collect();
    Ok(Json(json!({ "data": data })))
}

pub async fn error_docs(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    let documents = state
        .engine
        .store()
        .dataset_documents(&dataset.id, Some("error"))
        .await?;
    let data: Vec<Value> = documents.iter().map(views::indexing_status).collect();
    Ok(Json(json!({ "total": data.len(), "data": data })))
}

/// The hit-testing history (Dify's `dataset_queries`), newest first.
pub async fn queries(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    let (page, limit) = page_and_limit(&pairs)?;
    let (queries, total) = state
        .engine
        .store()
        .dataset_queries(&user.tenant_id, &dataset.id, page, limit)
        .await?;
    let data: Vec<Value> = queries
        .iter()
        .map(|q| {
            json!({
                "id": q.id,
                "content": q.content,
                "queries": [{"content_type": "text_query", "content": q.content, "file_info": null}],
                "source": q.source.as_str(),
                "source_app_id": q.source_app_id,
                "created_by_role": q.created_by_role,
                "created_by": q.created_by,
                "created_at": q.created_at,
            })
        })
        .collect();
    Ok(Json(json!({
        "data": data,
        "has_more": i64::from(page) * i64::from(limit) < total,
        "limit": limit,
        "total": total,
        "page": page,
    })))
}

#[derive(Debug, Deserialize)]
pub struct ProcessRuleQuery {
    document_id: Option<String>,
}

/// The process rule the console starts from: a document's own rule, or Dify's defaults.
pub async fn process_rule(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiQuery(query): ApiQuery<ProcessRuleQuery>,
) -> Result<Json<Value>, ApiError> {
    let limits = json!({"indexing_max_segmentation_tokens_length": MAX_SEGMENTATION_TOKENS});
    let mut rule = default_process_rule();
    if let Some(document_id) = query.document_id.as_deref().filter(|id| !id.is_empty()) {
        let document_id = uuid_path(document_id, "Document")?;
        let store = state.engine.store();
        let dataset_id = store
            .document_dataset(&user.tenant_id, &document_id)
            .await?
            .ok_or_else(|| ApiError::not_found("Document not found."))?;
        let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
        let document = store
            .api_document(&dataset.id, &document_id)
            .await?
            .ok_or_else(|| ApiError::not_found("Document not found."))?;
        if let Some(stored) = document
            .process_rule
            .as_deref()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
        {
            rule = stored;
        }
    }
    Ok(Json(json!({
        "mode": rule.get("mode").cloned().unwrap_or(Value::Null),
        "rules": rule.get("rules").cloned().unwrap_or(Value::Null),
        "limits": limits,
    })))
}

/// The search methods ragd's indexes answer (Dify lists them per vector store).
pub async fn retrieval_setting(_user: ConsoleUser) -> Json<Value> {
    Json(json!({
        "retrieval_method": ["semantic_search", "full_text_search", "hybrid_search"],
    }))
}

/// The built-in metadata fields (`GET /datasets/metadata/built-in`).
pub async fn built_in_fields(_user: ConsoleUser) -> Json<Value> {
    let fields: Vec<Value> = BUILT_IN_FIELDS
        .iter()
        .map(|(name, kind)| json!({"name": name, "type": kind.as_str()}))
        .collect();
    Json(json!({ "fields": fields }))
}
