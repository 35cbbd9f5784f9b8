//! Segments and child chunks of a document, and the document status actions
//! (API.md A.1 #14 and #18-#26, rules in A.5).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::datasets::find_document_dataset as find_dataset;
use super::views;
use crate::api::auth::DatasetKey;
use crate::api::caller::{self, Access, Caller};
use crate::api::extract::{ApiJson, ApiQuery, uuid_path};
use crate::api::{ApiError, AppState, ErrorCode};
use crate::engine::{SegmentInput, SegmentUpdate};
use crate::store::Dataset;
use crate::store::{DocumentAction, SegmentFilter};

/// Largest page of segments or child chunks (Dify's `max_per_page`).
const MAX_LIMIT: u32 = 100;
const DEFAULT_LIMIT: u32 = 20;

#[derive(Debug, Deserialize)]
pub struct CreateSegments {
    #[serde(default)]
    segments: Option<Vec<NewSegmentBody>>,
}

#[derive(Debug, Deserialize)]
struct NewSegmentBody {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    keywords: Option<Vec<String>>,
    #[serde(default)]
    attachment_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct UpdateSegment {
    #[serde(default)]
    segment: Option<SegmentChanges>,
}

#[derive(Debug, Deserialize)]
struct SegmentChanges {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    keywords: Option<Vec<String>>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    regenerate_child_chunks: bool,
    #[serde(default)]
    attachment_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct ChildChunkBody {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ChildChunkQuery {
    #[serde(default = "first_page")]
    page: u32,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    keyword: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct StatusBody {
    #[serde(default)]
    document_ids: Vec<String>,
}

fn first_page() -> u32 {
    1
}

fn default_limit() -> u32 {
    DEFAULT_LIMIT
}

/// ragd keeps no attachments yet; refusing them beats dropping them silently.
fn refuse_attachments(ids: Option<&Vec<String>>) -> Result<(), ApiError> {
    if ids.is_some_and(|ids| !ids.is_empty()) {
        return Err(ApiError::invalid("Attachments are not supported by this server."));
    }
    Ok(())
}

/// Reads a segment list query as Dify does: `page` and `limit` fall back to 1 and 20 when they
/// are not numbers or below 1, `limit` is capped at 100, and `status` may repeat.
fn segment_list_query(pairs: Vec<(String, String)>) -> (SegmentFilter, u32, u32) {
    let mut filter = SegmentFilter::default();
    let (mut page, mut limit) = (1, DEFAULT_LIMIT);
    for (key, value) in pairs {
        match key.as_str() {
            "page" => page = value.trim().parse().ok().filter(|&p| p >= 1).unwrap_or(1),
            "limit" => {
                limit = value
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .map(|l| l.min(MAX_LIMIT))
                    .filter(|&l| l >= 1)
                    .unwrap_or(DEFAULT_LIMIT)
            }
            "status" if !value.is_empty() => filter.statuses.push(value),
            "keyword" if !value.is_empty() => filter.keyword = Some(value),
            _ => {}
        }
    }
    (filter, page, limit)
}

pub async fn create(
    State(state): State<AppState>,
    key: DatasetKey,
    Path((dataset_id, document_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<CreateSegments>,
) -> Result<Response, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let document_id = uuid_path(&document_id, "Document")?;
    let document = state
        .engine
        .document_accepting_segments(&dataset, &document_id)
        .await?;
    let Some(items) = body.segments else {
        // Dify answers this one case without its error envelope.
        let body = Json(json!({"error": "Segments is required"}));
        return Ok((StatusCode::BAD_REQUEST, body).into_response());
    };
    let mut inputs = Vec::with_capacity(items.len());
    for item in items {
        refuse_attachments(item.attachment_ids.as_ref())?;
        inputs.push(SegmentInput {
            content: item.content,
            answer: item.answer,
            keywords: item.keywords,
        });
    }
    let segments = state.engine.add_segments(&dataset, &document, inputs).await?;
    let data: Vec<Value> = segments.iter().map(views::segment).collect();
    Ok(Json(json!({"data": data, "doc_form": document.doc_form})).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    key: DatasetKey,
    Path((dataset_id, document_id)): Path<(String, String)>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let document_id = uuid_path(&document_id, "Document")?;
    let (filter, page, limit) = segment_list_query(pairs);
    let (doc_form, segments, total) = state
        .engine
        .segment_page(&dataset, &document_id, &filter, page, limit)
        .await?;
    Ok(Json(json!({
        "data": segments.iter().map(views::segment).collect::<Vec<_>>(),
        "doc_form": doc_form,
        "total": total,
        "has_more": i64::from(page) * i64::from(limit) < total,
        "limit": limit,
        "page": page,
    })))
}

/// The dataset and the checked document and segment ids every segment route starts from.
async fn segment_scope<C: Caller>(
    state: &AppState,
    caller: &C,
    access: Access,
    ids: (&str, &str, &str),
) -> Result<(Dataset, String, String), ApiError> {
    let (dataset_id, document_id, segment_id) = ids;
    let dataset = caller::find_document_dataset(state, caller, dataset_id, access).await?;
    Ok((
        dataset,
        uuid_path(document_id, "Document")?,
        uuid_path(segment_id, "Segment")?,
    ))
}

pub async fn get<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id, segment_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id, segment_id) = segment_scope(
        &state,
        &caller,
        Access::Read,
        (&dataset_id, &document_id, &segment_id),
    )
    .await?;
    let (doc_form, segment) = state.engine.segment(&dataset, &document_id, &segment_id).await?;
    Ok(Json(
        json!({"data": views::segment(&segment), "doc_form": doc_form}),
    ))
}

pub async fn update<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id, segment_id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<UpdateSegment>,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id, segment_id) = segment_scope(
        &state,
        &caller,
        Access::Write,
        (&dataset_id, &document_id, &segment_id),
    )
    .await?;
    let changes = body
        .segment
        .ok_or_else(|| ApiError::invalid("segment is required."))?;
    refuse_attachments(changes.attachment_ids.as_ref())?;
    let update = SegmentUpdate {
        content: changes.content,
        answer: changes.answer,
        keywords: changes.keywords,
        enabled: changes.enabled,
        regenerate_child_chunks: changes.regenerate_child_chunks,
    };
    let (doc_form, segment) = state
        .engine
        .update_segment(&dataset, &document_id, &segment_id, update)
        .await?;
    Ok(Json(
        json!({"data": views::segment(&segment), "doc_form": doc_form}),
    ))
}

pub async fn delete<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id, segment_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (dataset, document_id, segment_id) = segment_scope(
        &state,
        &caller,
        Access::Write,
        (&dataset_id, &document_id, &segment_id),
    )
    .await?;
    state
        .engine
        .delete_segment(&dataset, &document_id, &segment_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn list_child_chunks<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id, segment_id)): Path<(String, String, String)>,
    ApiQuery(query): ApiQuery<ChildChunkQuery>,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id, segment_id) = segment_scope(
        &state,
        &caller,
        Access::Read,
        (&dataset_id, &document_id, &segment_id),
    )
    .await?;
    if query.page < 1 || query.limit < 1 {
        return Err(ApiError::invalid("page and limit must be at least 1"));
    }
    let limit = query.limit.min(MAX_LIMIT);
    let keyword = query.keyword.as_deref().filter(|k| !k.is_empty());
    let (chunks, total) = state
        .engine
        .child_chunk_page(&dataset, &document_id, &segment_id, keyword, query.page, limit)
        .await?;
    Ok(Json(json!({
        "data": chunks.iter().map(views::child_chunk).collect::<Vec<_>>(),
        "total": total,
        "total_pages": (total + i64::from(limit) - 1) / i64::from(limit),
        "page": query.page,
        "limit": limit,
    })))
}

pub async fn create_child_chunk<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id, segment_id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<ChildChunkBody>,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id, segment_id) = segment_scope(
        &state,
        &caller,
        Access::Write,
        (&dataset_id, &document_id, &segment_id),
    )
    .await?;
    let content = body.content.unwrap_or_default();
    let chunk = state
        .engine
        .add_child_chunk(&dataset, &document_id, &segment_id, &content)
        .await?;
    Ok(Json(json!({"data": views::child_chunk(&chunk)})))
}

pub async fn update_child_chunk<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id, segment_id, child_chunk_id)): Path<(String, String, String, String)>,
    ApiJson(body): ApiJson<ChildChunkBody>,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id, segment_id) = segment_scope(
        &state,
        &caller,
        Access::Write,
        (&dataset_id, &document_id, &segment_id),
    )
    .await?;
    let child_chunk_id = uuid_path(&child_chunk_id, "Child chunk")?;
    let content = body.content.unwrap_or_default();
    let chunk = state
        .engine
        .update_child_chunk(&dataset, (&document_id, &segment_id, &child_chunk_id), &content)
        .await?;
    Ok(Json(json!({"data": views::child_chunk(&chunk)})))
}

pub async fn delete_child_chunk<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id, segment_id, child_chunk_id)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let (dataset, document_id, segment_id) = segment_scope(
        &state,
        &caller,
        Access::Write,
        (&dataset_id, &document_id, &segment_id),
    )
    .await?;
    let child_chunk_id = uuid_path(&child_chunk_id, "Child chunk")?;
    state
        .engine
        .delete_child_chunk(&dataset, (&document_id, &segment_id, &child_chunk_id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn document_status(
    State(state): State<AppState>,
    key: DatasetKey,
    Path((dataset_id, action)): Path<(String, String)>,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let action: DocumentAction = action
        .parse()
        .map_err(|e: crate::store::UnknownAction| ApiError::new(ErrorCode::InvalidAction, e.to_string()))?;
    state
        .engine
        .set_document_status(&dataset, action, &body.document_ids)
        .await?;
    Ok(Json(json!({"result": "success"})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn segment_lists_read_pages_like_dify() {
        let (filter, page, limit) = segment_list_query(Vec::new());
        assert_eq!((page, limit), (1, 20));
        assert!(filter.statuses.is_empty() && filter.keyword.is_none());
        let (filter, page, limit) = segment_list_query(pairs(&[
            ("page", "3"),
            ("limit", "500"),
            ("status", "completed"),
            ("status", "error"),
            ("keyword", "tea"),
        ]));
        assert_eq!((page, limit), (3, 100));
        assert_eq!(filter.statuses, ["completed", "error"]);
        assert_eq!(filter.keyword.as_deref(), Some("tea"));
        let (filter, page, limit) =
            segment_list_query(pairs(&[("page", "0"), ("limit", "x"), ("status", "")]));
        assert_eq!((page, limit), (1, 20));
        assert!(filter.statuses.is_empty());
    }
}
