//! Console routes of an app's annotations (Dify's `console/app/annotation.py`): list, create,
//! update, delete, export, count, hit histories, the reply setting and turning reply on and
//! off. Editors only, as in Dify.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::find_app;
use crate::api::app::annotations::{
    ANNOTATION_NOT_FOUND, ListQuery, annotation_id, annotation_view, hit_view, list_page, page_arg, pair,
    reply_action, reply_status, setting_view,
};
use crate::api::console::session::ConsoleUser;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::{ApiError, AppState};
use crate::apps::annotations;

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    Ok(Json(list_page(&state, &app.id, &query).await?))
}

pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let (question, answer) = pair(&body)?;
    let annotation = annotations::create(
        &state.engine,
        &app.tenant_id,
        &app.id,
        &question,
        &answer,
        Some(&user.account_id),
    )
    .await?;
    Ok(Json(annotation_view(&annotation)))
}

pub async fn update(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((app_id, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let id = annotation_id(&id)?;
    let (question, answer) = pair(&body)?;
    let annotation = annotations::update(&state.engine, &app.id, &id, &question, &answer)
        .await?
        .ok_or_else(|| ApiError::not_found(ANNOTATION_NOT_FOUND))?;
    Ok(Json(annotation_view(&annotation)))
}

pub async fn remove(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((app_id, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let id = annotation_id(&id)?;
    if !state.engine.store().delete_annotation(&app.id, &id).await? {
        return Err(ApiError::not_found(ANNOTATION_NOT_FOUND));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Every annotation of the app (Dify's export), newest first.
pub async fn export(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let store = state.engine.store();
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let (annotations, _) = store.list_annotations(&app.id, "", page, 100).await?;
        let done = annotations.len() < 100;
        all.extend(annotations.iter().map(annotation_view));
        if done {
            break;
        }
        page += 1;
    }
    Ok(Json(json!({"data": all})))
}

pub async fn count(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    user.require_app_user()?;
    let app = find_app(&state, &user, &app_id).await?;
    let (_, total) = state.engine.store().list_annotations(&app.id, "", 1, 1).await?;
    Ok(Json(json!({"count": total})))
}

#[derive(Debug, Deserialize)]
pub struct HitsQuery {
    page: Option<String>,
    limit: Option<String>,
}

pub async fn hit_histories(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((app_id, id)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<HitsQuery>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let id = annotation_id(&id)?;
    let page = page_arg(query.page.as_deref(), "page", 1, 99999)?;
    let limit = page_arg(query.limit.as_deref(), "limit", 20, 100)?;
    let store = state.engine.store();
    store
        .annotation(&app.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(ANNOTATION_NOT_FOUND))?;
    let (hits, total) = store.annotation_hits(&app.id, &id, page, limit).await?;
    Ok(Json(json!({
        "data": hits.iter().map(hit_view).collect::<Vec<_>>(),
        "has_more": hits.len() == limit as usize,
        "limit": limit,
        "total": total,
        "page": page,
    })))
}

pub async fn setting(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let setting = state.engine.store().annotation_setting(&app.id).await?;
    Ok(Json(setting_view(setting.as_ref())))
}

/// Changes the threshold of the setting the app has on (Dify's `annotation-settings/{id}`).
pub async fn update_setting(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((app_id, setting_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let not_found = || ApiError::not_found("App annotation not found");
    let setting_id = uuid::Uuid::parse_str(&setting_id)
        .map_err(|_| not_found())?
        .to_string();
    let threshold = match &body["score_threshold"] {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::Null => return Err(ApiError::invalid("score_threshold is required")),
        _ => return Err(ApiError::invalid("score_threshold must be a number")),
    };
    annotations::check_threshold(threshold)?;
    let setting = state
        .engine
        .store()
        .set_annotation_threshold(&app.id, &setting_id, threshold, &user.account_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(setting_view(Some(&setting))))
}

pub async fn reply(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((app_id, action)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    Ok(Json(
        reply_action(&state, &app, &action, &body, Some(&user.account_id)).await?,
    ))
}

pub async fn reply_job(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((app_id, action, job_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    Ok(Json(reply_status(&state, &app.id, &action, &job_id).await?))
}

/// Largest import file read (Dify's annotation template is a small CSV).
const MAX_IMPORT_BYTES: usize = 5 << 20;

/// `POST /apps/{id}/annotations/batch-import`: a CSV of question/answer rows (multipart `file`),
/// imported as a job.
pub async fn batch_import(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
    crate::api::extract::ApiMultipart(mut multipart): crate::api::extract::ApiMultipart,
) -> Result<Json<Value>, ApiError> {
    use crate::api::ErrorCode;
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    let bad_body = |e: axum::extract::multipart::MultipartError| {
        ApiError::invalid(format!("invalid multipart body: {}", e.body_text()))
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad_body)? {
        if field.name() != Some("file") {
            continue;
        }
        if file.is_some() {
            return Err(ApiError::new(
                ErrorCode::TooManyFiles,
                "Only one file is allowed.",
            ));
        }
        let name = field.file_name().unwrap_or_default().to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad_body)? {
            if bytes.len() + chunk.len() > MAX_IMPORT_BYTES {
                return Err(ApiError::new(
                    ErrorCode::FileTooLarge,
                    "File size exceeded. The largest import accepted is 5 MB.",
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some((name, bytes));
    }
    let (name, bytes) =
        file.ok_or_else(|| ApiError::new(ErrorCode::NoFileUploaded, "Please upload your file."))?;
    if !name.to_ascii_lowercase().ends_with(".csv") {
        return Err(ApiError::invalid("Invalid file type. Only CSV files are allowed"));
    }
    let pairs = annotations::parse_import(&bytes)?;
    let count = pairs.len();
    let job = annotations::import(
        state.engine.clone(),
        &app.tenant_id,
        &app.id,
        &user.account_id,
        pairs,
    )
    .await?;
    Ok(Json(
        json!({"job_id": job.id, "job_status": job.status, "record_count": count}),
    ))
}

pub async fn batch_import_status(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((app_id, job_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, &app_id).await?;
    Ok(Json(
        reply_status(&state, &app.id, "batch-import", &job_id).await?,
    ))
}
