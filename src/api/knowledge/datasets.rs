//! Dataset CRUD (API.md A.1 #1-#5, A.2, A.3).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::views;
use crate::api::auth::DatasetKey;
use crate::api::caller::{self, Access};
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::{ApiError, AppState};
use crate::store::{
    ALL_TEAM, Dataset, DatasetChanges, DatasetListFilter, DatasetViewer, KNOWLEDGE_TAG, ListVisibility,
    NewDataset, ONLY_ME, PARTIAL_TEAM, Role,
};

#[derive(Debug, Deserialize)]
pub struct CreateDataset {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    indexing_technique: Option<String>,
    #[serde(default)]
    permission: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    embedding_model: Option<String>,
    #[serde(default)]
    retrieval_model: Option<Value>,
    #[serde(default)]
    partial_member_list: Option<Value>,
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
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default = "default_page")]
    page: u32,
    #[serde(default = "default_limit")]
    limit: u32,
    keyword: Option<String>,
    /// Dify: with `true` the owner (whom a dataset key acts as) lists every dataset; otherwise
    /// what a member would see.
    #[serde(default)]
    include_all: Option<String>,
}

fn default_page() -> u32 {
    1
}

fn default_limit() -> u32 {
    20
}

pub(crate) fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(ApiError::invalid("Name must be between 1 to 40 characters."));
    }
    Ok(name.to_string())
}

pub(crate) fn check_description(description: &str) -> Result<(), ApiError> {
    if description.chars().count() > 400 {
        return Err(ApiError::invalid("Description cannot exceed 400 characters."));
    }
    Ok(())
}

pub(crate) fn check_technique(technique: &str) -> Result<(), ApiError> {
    match technique {
        "high_quality" | "economy" => Ok(()),
        _ => Err(ApiError::invalid("Invalid indexing technique.")),
    }
}

pub(crate) fn check_permission(permission: &str) -> Result<(), ApiError> {
    match permission {
        ONLY_ME | ALL_TEAM | PARTIAL_TEAM => Ok(()),
        _ => Err(ApiError::invalid("Invalid permission.")),
    }
}

/// Dify's `partial_member_list` (`[{"user_id": ..., "role": ...}]`) as account ids, each a member
/// of the workspace (400 otherwise). Only read with `partial_members`, as Dify does; None when
/// the list is absent or not used (the stored list is then kept, or cleared by another permission).
pub(crate) async fn partial_member_ids(
    state: &AppState,
    tenant_id: &str,
    permission: Option<&str>,
    list: Option<&Value>,
) -> Result<Option<Vec<String>>, ApiError> {
    let (Some(PARTIAL_TEAM), Some(list)) = (permission, list) else {
        return Ok(None);
    };
    let invalid = || ApiError::invalid("partial_member_list must be a list of {\"user_id\": ...} objects.");
    let entries = list.as_array().ok_or_else(invalid)?;
    let mut ids = Vec::with_capacity(entries.len());
    for entry in entries {
        let id = entry.get("user_id").and_then(Value::as_str).ok_or_else(invalid)?;
        let id = uuid::Uuid::parse_str(id)
            .map(|u| u.to_string())
            .map_err(|_| ApiError::invalid(format!("Member {id} is not in this workspace.")))?;
        if state.engine.store().member_role(tenant_id, &id).await?.is_none() {
            return Err(ApiError::invalid(format!(
                "Member {id} is not in this workspace."
            )));
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(Some(ids))
}

/// Checks an update's `embedding_model`: it must be installed. A dataset that has a model and
/// names another is moved to it by a background rebuild ([`apply_embedding_model_change`]); a
/// keyword-only dataset records it when it switches to high_quality.
pub(crate) fn check_embedding_model_change(
    state: &AppState,
    _dataset: &Dataset,
    requested: &str,
) -> Result<(), ApiError> {
    embedding_model(state, Some(requested)).map(|_| ())
}

/// Starts moving `dataset` to `requested` (already checked) if it names another model than the
/// dataset's; the answer shows the dataset as it is until the rebuild switches it.
pub(crate) fn apply_embedding_model_change(
    state: &AppState,
    dataset: &Dataset,
    requested: Option<&str>,
) -> Result<(), ApiError> {
    match requested {
        Some(id) if !id.is_empty() => {
            state.engine.change_embedding_model(dataset, id)?;
            Ok(())
        }
        Some(_) | None => Ok(()),
    }
}

/// The embedding model a high-quality dataset gets: the requested one if ragd has it installed,
/// else the default for its document language.
pub(crate) fn embedding_model(
    state: &AppState,
    requested: Option<&str>,
) -> Result<(String, usize), ApiError> {
    embedding_model_for(state, requested, None)
}

/// [`embedding_model`] for a dataset whose documents are in `doc_language`.
pub(crate) fn embedding_model_for(
    state: &AppState,
    requested: Option<&str>,
    doc_language: Option<&str>,
) -> Result<(String, usize), ApiError> {
    match requested {
        None | Some("") => Ok(state.engine.default_model_for_language(doc_language)),
        Some(name) => match state.engine.installed_model(name) {
            Some(model) => Ok((model.id, model.dimension)),
            None => {
                let installed: Vec<String> = state
                    .engine
                    .installed_models()
                    .into_iter()
                    .map(|m| m.id)
                    .collect();
                Err(ApiError::invalid(format!(
                    "No Embedding Model available. Model {name:?} is not installed; installed models: {}.",
                    installed.join(", ")
                )))
            }
        },
    }
}

pub async fn dataset_json(state: &AppState, dataset: &Dataset) -> Result<Value, ApiError> {
    let store = state.engine.store();
    let counts = store.dataset_counts(&dataset.id).await?;
    let tags = store
        .target_tags(&dataset.tenant_id, KNOWLEDGE_TAG, &dataset.id)
        .await?;
    let schema = store.metadata_schema(&dataset.tenant_id, &dataset.id).await?;
    let mut value = views::dataset(dataset, counts, &tags, &schema);
    super::external::add_to_view(state, dataset, &mut value).await?;
    // Dify adds the list to a partial-members dataset's view.
    if dataset.permission == PARTIAL_TEAM {
        value["partial_member_list"] = json!(store.partial_members(&dataset.tenant_id, &dataset.id).await?);
    }
    Ok(value)
}

/// The dataset named by the path, in the key's workspace, with its API access on.
pub async fn find_dataset(state: &AppState, key: &DatasetKey, dataset_id: &str) -> Result<Dataset, ApiError> {
    caller::find_dataset(state, key, dataset_id, Access::Write).await
}

/// [`find_dataset`] for document and segment routes: an external dataset has none.
pub async fn find_document_dataset(
    state: &AppState,
    key: &DatasetKey,
    dataset_id: &str,
) -> Result<Dataset, ApiError> {
    caller::find_document_dataset(state, key, dataset_id, Access::Write).await
}

pub async fn create(
    State(state): State<AppState>,
    key: DatasetKey,
    ApiJson(body): ApiJson<CreateDataset>,
) -> Result<Json<Value>, ApiError> {
    let name = check_name(&body.name)?;
    let description = body.description.unwrap_or_default();
    check_description(&description)?;
    if let Some(technique) = &body.indexing_technique {
        check_technique(technique)?;
    }
    let permission = body.permission.unwrap_or_else(|| ONLY_ME.into());
    check_permission(&permission)?;
    let members = partial_member_ids(
        &state,
        &key.0.tenant_id,
        Some(&permission),
        body.partial_member_list.as_ref(),
    )
    .await?;
    if body.provider.as_deref().is_some_and(|p| p != "vendor") {
        return Err(ApiError::invalid("External datasets are not supported."));
    }
    let (model, dimension) = match body.indexing_technique.as_deref() {
        Some("economy") => (None, None),
        Some(_) | None => {
            let (model, dimension) = embedding_model(&state, body.embedding_model.as_deref())?;
            (Some(model), Some(dimension))
        }
    };
    if let Some(retrieval) = &body.retrieval_model {
        super::retrieve::parse_retrieval_model(retrieval)?;
    }
    let dataset = state
        .engine
        .store()
        .create_dataset(NewDataset {
            tenant_id: key.0.tenant_id.clone(),
            name,
            embedding_model: model,
            embedding_dimension: dimension,
            doc_form: "text_model".into(),
            process_rule: json!({"mode": "automatic"}),
            description,
            indexing_technique: body.indexing_technique,
            permission,
            retrieval_model: body.retrieval_model,
            created_by: None,
        })
        .await?;
    if let Some(members) = members {
        state
            .engine
            .store()
            .set_partial_members(&dataset.tenant_id, &dataset.id, &members)
            .await?;
    }
    Ok(Json(dataset_json(&state, &dataset).await?))
}

pub async fn list(
    State(state): State<AppState>,
    key: DatasetKey,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    if query.page == 0 {
        return Err(ApiError::invalid("page must be at least 1"));
    }
    if !(1..=100).contains(&query.limit) {
        return Err(ApiError::invalid("limit must be between 1 and 100"));
    }
    // `tag_ids` repeats (`?tag_ids=a&tag_ids=b`), which a struct cannot hold.
    let tag_ids: Vec<String> = pairs
        .into_iter()
        .filter(|(name, value)| name == "tag_ids" && !value.is_empty())
        .map(|(_, value)| value)
        .collect();
    let store = state.engine.store();
    let tenant = &key.0.tenant_id;
    let include_all = match query.include_all.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::invalid("include_all must be true or false")),
    };
    // A dataset key acts as the workspace owner, as Dify runs these requests.
    let owner = store.workspace_owner(tenant).await?.unwrap_or_default();
    let granted = store.granted_datasets(tenant, &owner).await?;
    let filter = DatasetListFilter {
        keyword: query.keyword.clone(),
        tag_ids: tag_ids.clone(),
        visibility: Some(ListVisibility {
            viewer: DatasetViewer {
                account_id: owner,
                role: Role::Owner,
                granted,
            },
            keyless_own: true,
            as_member: !include_all,
        }),
        ..DatasetListFilter::default()
    };
    // Unknown tags match nothing (the console's list ignores tag filtering the same way).
    let (datasets, total) = store
        .filtered_datasets(tenant, &filter, query.page, query.limit)
        .await?;
    let mut data = Vec::with_capacity(datasets.len());
    for dataset in &datasets {
        data.push(dataset_json(&state, dataset).await?);
    }
    Ok(Json(json!({
        "data": data,
        "has_more": i64::from(query.page) * i64::from(query.limit) < total,
        "limit": query.limit,
        "total": total,
        "page": query.page,
    })))
}

pub async fn get(
    State(state): State<AppState>,
    key: DatasetKey,
    Path(dataset_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    Ok(Json(dataset_json(&state, &dataset).await?))
}

pub async fn update(
    State(state): State<AppState>,
    key: DatasetKey,
    Path(dataset_id): Path<String>,
    ApiJson(body): ApiJson<UpdateDataset>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let name = body.name.as_deref().map(check_name).transpose()?;
    if let Some(description) = &body.description {
        check_description(description)?;
    }
    if let Some(technique) = &body.indexing_technique {
        check_technique(technique)?;
    }
    if let Some(permission) = &body.permission {
        check_permission(permission)?;
    }
    let partial_members = partial_member_ids(
        &state,
        &key.0.tenant_id,
        body.permission.as_deref(),
        body.partial_member_list.as_ref(),
    )
    .await?;
    if let Some(retrieval) = &body.retrieval_model {
        super::retrieve::parse_retrieval_model(retrieval)?;
    }
    if let Some(requested) = &body.embedding_model {
        check_embedding_model_change(&state, &dataset, requested)?;
    }
    let changes = DatasetChanges {
        name,
        description: body.description,
        permission: body.permission,
        retrieval_model: body.retrieval_model,
        partial_members,
    };
    // Fields first: a refused name (409) leaves the technique as it was.
    let updated = state
        .engine
        .store()
        .update_dataset(&key.0.tenant_id, &dataset.id, changes)
        .await?
        .ok_or_else(|| ApiError::not_found("Dataset not found."))?;
    // economy <-> high_quality: documents are re-embedded, or the vectors dropped.
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
    Ok(Json(dataset_json(&state, &updated).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    key: DatasetKey,
    Path(dataset_id): Path<String>,
) -> Result<Response, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    state.engine.delete_dataset(&dataset).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
