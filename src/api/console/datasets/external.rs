//! External knowledge in the console (Dify's `controllers/console/datasets/external.py`): the
//! workspace's External Knowledge APIs (list, create, get, change, delete, use-check), creating
//! a dataset that reads one, and hit testing it. Keys are sealed at rest and never shown; an
//! endpoint must pass the outbound address policy and answer before it is saved.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use super::dataset::page_and_limit;
use crate::api::caller::{Access, find_dataset};
use crate::api::extract::{ApiJson, ApiQuery, uuid_path};
use crate::api::knowledge::datasets::{check_description, dataset_json};
use crate::api::knowledge::external::{self, retrieval_model};
use crate::api::{ApiError, AppState};
use crate::engine::external::check_endpoint;
use crate::store::{EXTERNAL_PROVIDER, ExternalApiFields, ExternalKnowledgeApi, NewExternalDataset};

/// What Dify shows (and takes back unchanged) in place of a stored key.
const HIDDEN_VALUE: &str = "[__HIDDEN__]";
/// Dify's limit on API and external dataset names.
const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Deserialize)]
pub struct ApiBody {
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    settings: Option<Value>,
}

fn check_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.map(str::trim).unwrap_or("");
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid("Name must be between 1 to 100 characters."));
    }
    Ok(name.to_string())
}

/// `settings.endpoint` and `settings.api_key`, both required (Dify's `check_endpoint_and_api_key`).
fn settings(value: Option<&Value>) -> Result<(String, String), ApiError> {
    let settings = value
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::invalid("settings is required"))?;
    let text = |name: &str| {
        settings
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let endpoint = text("endpoint").ok_or_else(|| ApiError::invalid("endpoint is required"))?;
    let api_key = text("api_key").ok_or_else(|| ApiError::invalid("api_key is required"))?;
    if endpoint.len() > 2048 || api_key.len() > 4096 {
        return Err(ApiError::invalid("endpoint or api_key is too long"));
    }
    Ok((endpoint, api_key))
}

async fn api_view(state: &AppState, api: &ExternalKnowledgeApi) -> Result<Value, ApiError> {
    let bindings = state
        .engine
        .store()
        .external_api_datasets(&api.tenant_id, &api.id)
        .await?;
    let created_at = chrono::DateTime::from_timestamp(api.created_at, 0)
        .map(|t| t.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string());
    Ok(json!({
        "id": api.id,
        "tenant_id": api.tenant_id,
        "name": api.name,
        "description": api.description,
        "settings": {"endpoint": api.endpoint, "api_key": HIDDEN_VALUE},
        "dataset_bindings": bindings
            .iter()
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect::<Vec<_>>(),
        "created_by": api.created_by,
        "created_at": created_at,
    }))
}

async fn find_api(state: &AppState, user: &ConsoleUser, id: &str) -> Result<ExternalKnowledgeApi, ApiError> {
    let id = uuid_path(id, "External knowledge API")?;
    state
        .engine
        .store()
        .external_api(&user.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("API template not found."))
}

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let (page, limit) = page_and_limit(&pairs)?;
    let keyword = pairs
        .iter()
        .find(|(key, value)| key == "keyword" && !value.is_empty())
        .map(|(_, value)| value.as_str());
    let (apis, total) = state
        .engine
        .store()
        .external_apis(&user.tenant_id, keyword, page, limit)
        .await?;
    let mut data = Vec::with_capacity(apis.len());
    for api in &apis {
        data.push(api_view(&state, api).await?);
    }
    Ok(Json(json!({
        "data": data,
        "has_more": i64::from(page) * i64::from(limit) < total,
        "limit": limit,
        "total": total,
        "page": page,
    })))
}

/// The fields of a create or change, the endpoint checked (policy, then a live answer).
async fn fields(
    state: &AppState,
    body: &ApiBody,
    current: Option<&ExternalKnowledgeApi>,
) -> Result<ExternalApiFields, ApiError> {
    let name = check_name(body.name.as_deref())?;
    let description = body
        .description
        .clone()
        .or_else(|| current.map(|c| c.description.clone()))
        .unwrap_or_default();
    check_description(&description)?;
    let (endpoint, api_key) = settings(body.settings.as_ref())?;
    // The hidden value sent back keeps the stored key.
    let (api_key, sealed) = match (api_key.as_str(), current) {
        (HIDDEN_VALUE, Some(current)) => {
            let plain = state
                .console
                .sealer
                .open(&current.api_key_sealed)
                .map_err(|_| ApiError::invalid("The stored api_key cannot be read; enter it again."))?;
            (plain, current.api_key_sealed.clone())
        }
        (HIDDEN_VALUE, None) => return Err(ApiError::invalid("api_key is required")),
        (plain, _) => (plain.to_string(), state.console.sealer.seal(plain)),
    };
    // Saving checks the input: an endpoint that does not answer as one is a 400, like Dify's.
    check_endpoint(state.engine.outbound(), &endpoint, &api_key)
        .await
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(ExternalApiFields {
        name,
        description,
        endpoint: endpoint.trim_end_matches('/').to_string(),
        api_key_sealed: sealed,
    })
}

pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<ApiBody>,
) -> Result<Response, ApiError> {
    user.require_dataset_editor()?;
    let fields = fields(&state, &body, None).await?;
    let api = state
        .engine
        .store()
        .create_external_api(&user.tenant_id, Some(&user.account_id), &fields)
        .await?;
    Ok((StatusCode::CREATED, Json(api_view(&state, &api).await?)).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(api_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let api = find_api(&state, &user, &api_id).await?;
    Ok(Json(api_view(&state, &api).await?))
}

pub async fn update(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(api_id): Path<String>,
    ApiJson(body): ApiJson<ApiBody>,
) -> Result<Json<Value>, ApiError> {
    user.require_dataset_editor()?;
    let current = find_api(&state, &user, &api_id).await?;
    let fields = fields(&state, &body, Some(&current)).await?;
    let api = state
        .engine
        .store()
        .update_external_api(&user.tenant_id, &current.id, &fields)
        .await?
        .ok_or_else(|| ApiError::not_found("API template not found."))?;
    Ok(Json(api_view(&state, &api).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(api_id): Path<String>,
) -> Result<Response, ApiError> {
    user.require_dataset_editor()?;
    let api = find_api(&state, &user, &api_id).await?;
    if !state
        .engine
        .store()
        .delete_external_api(&user.tenant_id, &api.id)
        .await?
    {
        return Err(ApiError::not_found("API template not found."));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn use_check(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(api_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let api = find_api(&state, &user, &api_id).await?;
    let count = state
        .engine
        .store()
        .external_api_datasets(&user.tenant_id, &api.id)
        .await?
        .len();
    Ok(Json(json!({"is_using": count > 0, "count": count})))
}

#[derive(Debug, Deserialize)]
pub struct CreateExternalDataset {
    external_knowledge_api_id: Option<String>,
    external_knowledge_id: Option<String>,
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    external_retrieval_model: Option<Value>,
}

/// `POST /datasets/external`: a dataset whose knowledge an External Knowledge API holds.
pub async fn create_dataset(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<CreateExternalDataset>,
) -> Result<Response, ApiError> {
    user.require_dataset_editor()?;
    let name = check_name(body.name.as_deref())?;
    let description = body.description.unwrap_or_default();
    check_description(&description)?;
    let api_id = body
        .external_knowledge_api_id
        .as_deref()
        .ok_or_else(|| ApiError::invalid("external_knowledge_api_id is required"))?;
    let api_id = uuid::Uuid::parse_str(api_id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("API template not found."))?;
    let knowledge_id = body
        .external_knowledge_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= 1024)
        .ok_or_else(|| ApiError::invalid("external_knowledge_id is required"))?
        .to_string();
    let model = retrieval_model(body.external_retrieval_model.as_ref())?;
    let dataset = state
        .engine
        .store()
        .create_external_dataset(NewExternalDataset {
            tenant_id: user.tenant_id.clone(),
            name,
            description,
            created_by: Some(user.account_id.clone()),
            api_id,
            knowledge_id,
            retrieval_model: model,
        })
        .await
        .map_err(|e| match e {
            crate::store::StoreError::ExternalApiNotFound => ApiError::not_found("API template not found."),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(dataset_json(&state, &dataset).await?)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct HitTestingBody {
    query: Option<String>,
    #[serde(default)]
    external_retrieval_model: Option<Value>,
}

/// `POST /datasets/{id}/external-hit-testing`.
pub async fn hit_testing(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
    ApiJson(body): ApiJson<HitTestingBody>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    if dataset.provider != EXTERNAL_PROVIDER {
        return Err(ApiError::invalid(
            "The dataset is not an external knowledge base.",
        ));
    }
    let query = body.query.unwrap_or_default();
    if query.trim().is_empty() {
        return Err(ApiError::invalid("Query is required"));
    }
    if query.chars().count() > crate::engine::MAX_QUERY_CHARS {
        return Err(ApiError::invalid("Query cannot exceed 250 characters"));
    }
    Ok(Json(
        external::retrieve(
            &state,
            &dataset,
            &query,
            body.external_retrieval_model.as_ref(),
            None,
        )
        .await?,
    ))
}
