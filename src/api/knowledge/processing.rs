//! Pause, resume and retry of document indexing, on Dify's console paths (`PATCH
//! .../documents/{id}/processing/pause|resume`, `POST /datasets/{id}/retry`), served under `/v1`
//! with a dataset key. Each answers 204 with no body, as Dify does.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::api::caller::{Access, Caller, find_document_dataset as find_dataset};
use crate::api::extract::ApiJson;
use crate::api::{ApiError, AppState};

#[derive(Debug, Deserialize)]
pub struct RetryBody {
    document_ids: Vec<String>,
}

pub async fn pause<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let dataset = find_dataset(&state, &caller, &dataset_id, Access::Write).await?;
    state.engine.pause_document(&dataset, &document_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn resume<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let dataset = find_dataset(&state, &caller, &dataset_id, Access::Write).await?;
    state.engine.resume_document(&dataset, &document_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues failed documents again. Dify skips ids it cannot retry and answers 204 anyway; ragd
/// checks them all first and refuses the request (changing nothing) if one is unknown (404),
/// archived (403) or already indexed (400 `document_already_finished`).
pub async fn retry<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path(dataset_id): Path<String>,
    ApiJson(body): ApiJson<RetryBody>,
) -> Result<StatusCode, ApiError> {
    let dataset = find_dataset(&state, &caller, &dataset_id, Access::Write).await?;
    state.engine.retry_documents(&dataset, &body.document_ids).await?;
    Ok(StatusCode::NO_CONTENT)
}
