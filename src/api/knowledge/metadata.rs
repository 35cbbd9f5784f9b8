//! Document metadata: a dataset's fields, its built-in fields, and documents' values (API.md A.1
//! #32-#37).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::views;
use crate::api::caller::{Access, Caller, find_dataset};
use crate::api::extract::{ApiJson, uuid_path};
use crate::api::{ApiError, AppState, ErrorCode};
use crate::store::{BUILT_IN_FIELDS, DocumentMetadataUpdate, MAX_METADATA_NAME_CHARS, MetadataType};

#[derive(Debug, Deserialize)]
pub struct CreateField {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RenameField {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OperationData {
    operation_data: Vec<Operation>,
}

#[derive(Debug, Deserialize)]
pub struct Operation {
    document_id: String,
    #[serde(default)]
    metadata_list: Vec<MetadataValue>,
    #[serde(default)]
    partial_update: Option<bool>,
}

/// One value; its `name` is not read: Dify keys values by the name the client sends, ragd by the
/// field's current name, found by `id`, so a stale name cannot create a stray key.
#[derive(Debug, Deserialize)]
pub struct MetadataValue {
    id: String,
    #[serde(default)]
    value: Value,
}

fn check_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Err(ApiError::invalid("Metadata name is required."));
    }
    if name.chars().count() > MAX_METADATA_NAME_CHARS {
        return Err(ApiError::invalid(format!(
            "Metadata name cannot exceed {MAX_METADATA_NAME_CHARS} characters."
        )));
    }
    Ok(name.to_string())
}

pub async fn create<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path(dataset_id): Path<String>,
    ApiJson(body): ApiJson<CreateField>,
) -> Result<Response, ApiError> {
    let dataset = find_dataset(&state, &caller, &dataset_id, Access::Write).await?;
    let kind = body
        .kind
        .as_deref()
        .and_then(MetadataType::parse)
        .ok_or_else(|| ApiError::invalid("Metadata type must be one of string, number, time."))?;
    let name = check_name(body.name.as_deref())?;
    let field = state
        .engine
        .store()
        .create_metadata_field(caller.tenant_id(), &dataset.id, &name, kind)
        .await?;
    Ok((StatusCode::CREATED, Json(views::metadata_field(&field))).into_response())
}

pub async fn list<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path(dataset_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &caller, &dataset_id, Access::Read).await?;
    let store = state.engine.store();
    let schema = store.metadata_schema(caller.tenant_id(), &dataset.id).await?;
    let counts = store
        .metadata_value_counts(caller.tenant_id(), &dataset.id)
        .await?;
    let fields: Vec<Value> = schema
        .fields
        .iter()
        .map(|field| {
            let count = counts.get(&field.name).copied().unwrap_or(0);
            // `count` is Dify's name; `use_count` is what dify-knowledge-sdk reads.
            json!({
                "id": field.id,
                "name": field.name,
                "type": field.kind.as_str(),
                "count": count,
                "use_count": count,
            })
        })
        .collect();
    Ok(Json(json!({
        "doc_metadata": fields,
        "built_in_field_enabled": schema.built_in_field_enabled,
    })))
}

pub async fn rename<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, metadata_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<RenameField>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &caller, &dataset_id, Access::Write).await?;
    let id = uuid_path(&metadata_id, "Metadata")?;
    let name = check_name(body.name.as_deref())?;
    let field = state
        .engine
        .store()
        .rename_metadata_field(caller.tenant_id(), &dataset.id, &id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("Metadata not found."))?;
    Ok(Json(views::metadata_field(&field)))
}

pub async fn delete<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, metadata_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let dataset = find_dataset(&state, &caller, &dataset_id, Access::Write).await?;
    let id = uuid_path(&metadata_id, "Metadata")?;
    let deleted = state
        .engine
        .store()
        .delete_metadata_field(caller.tenant_id(), &dataset.id, &id)
        .await?;
    if !deleted {
        return Err(ApiError::not_found("Metadata not found."));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn built_in_fields<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path(dataset_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    find_dataset(&state, &caller, &dataset_id, Access::Read).await?;
    let fields: Vec<Value> = BUILT_IN_FIELDS
        .iter()
        .map(|(name, kind)| json!({"name": name, "type": kind.as_str()}))
        .collect();
    Ok(Json(json!({ "fields": fields })))
}

pub async fn built_in_action<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, action)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &caller, &dataset_id, Access::Write).await?;
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(ApiError::new(ErrorCode::InvalidAction, "Invalid action.")),
    };
    state
        .engine
        .store()
        .set_built_in_field_enabled(caller.tenant_id(), &dataset.id, enabled)
        .await?;
    Ok(Json(json!({"result": "success"})))
}

pub async fn update_documents<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path(dataset_id): Path<String>,
    ApiJson(body): ApiJson<OperationData>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &caller, &dataset_id, Access::Write).await?;
    let mut updates = Vec::with_capacity(body.operation_data.len());
    for operation in body.operation_data {
        let document_id = uuid_path(&operation.document_id, "Document")?;
        let mut values = Vec::with_capacity(operation.metadata_list.len());
        for item in operation.metadata_list {
            // Built-in values are derived from the document; clients echoing them back change nothing.
            if item.id == "built-in" {
                continue;
            }
            if !matches!(item.value, Value::String(_) | Value::Number(_) | Value::Null) {
                return Err(ApiError::invalid(
                    "A metadata value must be a string, a number or null.",
                ));
            }
            values.push((uuid_path(&item.id, "Metadata")?, item.value));
        }
        updates.push(DocumentMetadataUpdate {
            document_id,
            values,
            partial: operation.partial_update.unwrap_or(false),
        });
    }
    state
        .engine
        .store()
        .update_documents_metadata(caller.tenant_id(), &dataset.id, &updates)
        .await?;
    Ok(Json(json!({"result": "success"})))
}
