//! `/apps/annotations` and `/apps/annotation-reply/...` (Dify's `service_api/app/annotation.py`):
//! the app's annotations and turning annotation reply on and off, with Dify's shapes. The views
//! here serve the console's routes too.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppKey;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::{ApiError, AppState};
use crate::apps::annotations::{self, ReplySettings};
use crate::store::{Annotation, AnnotationHit, AnnotationJob, AnnotationSetting};

pub(crate) const ANNOTATION_NOT_FOUND: &str = "Annotation not found";
const JOB_NOT_FOUND: &str = "The job does not exist.";

/// Dify's `annotation_fields`.
pub(crate) fn annotation_view(annotation: &Annotation) -> Value {
    json!({
        "id": annotation.id,
        "question": annotation.question,
        "answer": annotation.content,
        "hit_count": annotation.hit_count,
        "created_at": annotation.created_at,
    })
}

/// Dify's `annotation_hit_history_fields`.
pub(crate) fn hit_view(hit: &AnnotationHit) -> Value {
    json!({
        "id": hit.id,
        "source": hit.source,
        "score": hit.score,
        "question": hit.question,
        "created_at": hit.created_at,
        "match": hit.annotation_question,
        "response": hit.annotation_content,
    })
}

/// Dify's `annotation-setting` answer.
pub(crate) fn setting_view(setting: Option<&AnnotationSetting>) -> Value {
    match setting {
        Some(setting) => json!({
            "id": setting.id,
            "enabled": true,
            "score_threshold": setting.score_threshold,
            "embedding_model": {
                "embedding_provider_name": setting.embedding_provider_name,
                "embedding_model_name": setting.embedding_model_name,
            },
        }),
        None => json!({"enabled": false}),
    }
}

/// An enable or disable job as the action route answers it.
pub(crate) fn job_view(job: &AnnotationJob) -> Value {
    json!({"job_id": job.id, "job_status": job.status})
}

/// A job as the status route answers it.
pub(crate) fn job_status_view(job: &AnnotationJob) -> Value {
    json!({"job_id": job.id, "job_status": job.status, "error_msg": job.error_msg})
}

/// `page` and `limit` of a list (Dify: page from 1, at most 100 per page, 20 by default).
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
    keyword: Option<String>,
}

pub(crate) fn page_arg(text: Option<&str>, name: &str, default: u32, max: u32) -> Result<u32, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid(format!("{name} must be an integer between 1 and {max}"))),
    }
}

/// A page of the app's annotations, Dify's list shape.
pub(crate) async fn list_page(state: &AppState, app_id: &str, query: &ListQuery) -> Result<Value, ApiError> {
    let page = page_arg(query.page.as_deref(), "page", 1, 99999)?;
    let limit = page_arg(query.limit.as_deref(), "limit", 20, 100)?;
    let keyword = query.keyword.as_deref().unwrap_or("").trim();
    let (annotations, total) = state
        .engine
        .store()
        .list_annotations(app_id, keyword, page, limit)
        .await?;
    Ok(json!({
        "data": annotations.iter().map(annotation_view).collect::<Vec<_>>(),
        "has_more": annotations.len() == limit as usize,
        "limit": limit,
        "total": total,
        "page": page,
    }))
}

/// `question` and `answer` of a body, both required strings.
pub(crate) fn pair(body: &Value) -> Result<(String, String), ApiError> {
    let field = |name: &str| match &body[name] {
        Value::String(text) => Ok(text.clone()),
        Value::Null => Err(ApiError::invalid(format!("{name} is required"))),
        _ => Err(ApiError::invalid(format!("{name} must be a string"))),
    };
    if !body.is_object() {
        return Err(ApiError::invalid("The request body must be a JSON object."));
    }
    Ok((field("question")?, field("answer")?))
}

/// What `/annotation-reply/enable` asks for (Dify requires all three, even to disable).
pub(crate) fn reply_settings(body: &Value) -> Result<ReplySettings, ApiError> {
    if !body.is_object() {
        return Err(ApiError::invalid("The request body must be a JSON object."));
    }
    let score_threshold = match &body["score_threshold"] {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| ApiError::invalid("score_threshold must be a number"))?,
        Value::Null => return Err(ApiError::invalid("score_threshold is required")),
        _ => return Err(ApiError::invalid("score_threshold must be a number")),
    };
    let name = |field: &str| match &body[field] {
        Value::String(text) => Ok(text.clone()),
        Value::Null => Err(ApiError::invalid(format!("{field} is required"))),
        _ => Err(ApiError::invalid(format!("{field} must be a string"))),
    };
    Ok(ReplySettings {
        score_threshold,
        embedding_provider_name: name("embedding_provider_name")?,
        embedding_model_name: name("embedding_model_name")?,
    })
}

/// Enables or disables reply for an app; the job as Dify answers it.
pub(crate) async fn reply_action(
    state: &AppState,
    app: &crate::store::App,
    action: &str,
    body: &Value,
    account_id: Option<&str>,
) -> Result<Value, ApiError> {
    if action != "enable" && action != "disable" {
        return Err(ApiError::invalid("Unsupported annotation reply action"));
    }
    let settings = reply_settings(body)?;
    let job = if action == "enable" {
        annotations::enable(
            state.engine.clone(),
            &app.tenant_id,
            &app.id,
            account_id,
            settings,
        )
        .await?
    } else {
        annotations::disable(&state.engine, &app.tenant_id, &app.id).await?
    };
    Ok(job_view(&job))
}

/// A job's status; an unknown job (or one of another app) is Dify's ValueError.
pub(crate) async fn reply_status(
    state: &AppState,
    app_id: &str,
    action: &str,
    job_id: &str,
) -> Result<Value, ApiError> {
    let job_id = uuid::Uuid::parse_str(job_id)
        .map_err(|_| ApiError::not_found("The requested URL was not found on the server."))?
        .to_string();
    let job = state
        .engine
        .store()
        .annotation_job(app_id, action, &job_id)
        .await?
        .ok_or_else(|| ApiError::invalid(JOB_NOT_FOUND))?;
    Ok(job_status_view(&job))
}

/// An annotation id from the path: anything but a UUID names no annotation.
pub(crate) fn annotation_id(id: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found(ANNOTATION_NOT_FOUND))
}

pub async fn list(
    State(state): State<AppState>,
    key: AppKey,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(list_page(&state, &key.app.id, &query).await?))
}

pub async fn create(
    State(state): State<AppState>,
    key: AppKey,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (question, answer) = pair(&body)?;
    // Dify runs the service API as the workspace's owner; the app's creator stands in here.
    let annotation = annotations::create(
        &state.engine,
        &key.app.tenant_id,
        &key.app.id,
        &question,
        &answer,
        key.app.created_by.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(annotation_view(&annotation))))
}

pub async fn update(
    State(state): State<AppState>,
    key: AppKey,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let id = annotation_id(&id)?;
    let (question, answer) = pair(&body)?;
    let annotation = annotations::update(&state.engine, &key.app.id, &id, &question, &answer)
        .await?
        .ok_or_else(|| ApiError::not_found(ANNOTATION_NOT_FOUND))?;
    Ok(Json(annotation_view(&annotation)))
}

pub async fn delete(
    State(state): State<AppState>,
    key: AppKey,
    Path(id): Path<String>,
    _body: Bytes,
) -> Result<Response, ApiError> {
    let id = annotation_id(&id)?;
    if !state.engine.store().delete_annotation(&key.app.id, &id).await? {
        return Err(ApiError::not_found(ANNOTATION_NOT_FOUND));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn reply(
    State(state): State<AppState>,
    key: AppKey,
    Path(action): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let account = key.app.created_by.clone();
    Ok(Json(
        reply_action(&state, &key.app, &action, &body, account.as_deref()).await?,
    ))
}

pub async fn reply_job(
    State(state): State<AppState>,
    key: AppKey,
    Path((action, job_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(reply_status(&state, &key.app.id, &action, &job_id).await?))
}
