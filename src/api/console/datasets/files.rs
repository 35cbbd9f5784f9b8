//! Files in the console: upload (checked as the knowledge API checks uploads, before anything is
//! stored), the limits and accepted types, and a text preview. An uploaded file becomes documents
//! later, through its id (`file_info_list.file_ids`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipelines::ParseError;
use pipelines::parse::try_parse_guarded;
use pipelines::{Format, UploadPurpose};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use crate::api::extract::{ApiMultipart, ApiQuery, uuid_path};
use crate::api::knowledge::documents::{discard_file, store_file};
use crate::api::knowledge::uploads::{body_error, read_file, upload_error};
use crate::api::{ApiError, AppState, ErrorCode};
use crate::store::UploadFile;

/// Characters of text a preview shows (Dify's 3000).
const PREVIEW_CHARS: usize = 3000;

/// Files the console sends at once (Dify's `UPLOAD_FILE_BATCH_LIMIT`).
const UPLOAD_BATCH_LIMIT: u64 = 5;
/// Files one document request may name (Dify's `BATCH_UPLOAD_LIMIT`).
const DOCUMENTS_PER_REQUEST: u64 = 20;

const MIB: u64 = 1024 * 1024;

/// `GET /files/upload`: the upload limits, sizes in MB.
pub async fn limits(State(state): State<AppState>, _user: ConsoleUser) -> Json<Value> {
    let rules = state.engine.config().upload.rules();
    Json(json!({
        "file_size_limit": rules.max_document_bytes / MIB,
        "batch_count_limit": UPLOAD_BATCH_LIMIT,
        "file_upload_limit": DOCUMENTS_PER_REQUEST,
        "image_file_size_limit": rules.max_image_bytes / MIB,
        "video_file_size_limit": rules.max_video_bytes / MIB,
        "audio_file_size_limit": rules.max_audio_bytes / MIB,
        "workflow_file_upload_limit": 10,
        "image_file_batch_limit": 10,
        "single_chunk_attachment_limit": 10,
        "attachment_image_file_size_limit": 2,
    }))
}

/// `GET /files/support-type`: the extensions a knowledge base accepts.
pub async fn support_type(State(state): State<AppState>, _user: ConsoleUser) -> Json<Value> {
    let blocked = &state.engine.config().upload.blocked_extensions;
    let extensions: Vec<&str> = Format::ALL
        .iter()
        .flat_map(|format| format.extensions().iter().copied())
        .filter(|extension| !blocked.iter().any(|b| b.eq_ignore_ascii_case(extension)))
        .collect();
    Json(json!({ "allowed_extensions": extensions }))
}

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    source: Option<String>,
}

/// The upload file object (Dify's `file_fields`).
fn file_json(state: &AppState, file: &UploadFile, user: &ConsoleUser) -> Value {
    json!({
        "id": file.id,
        "name": file.name,
        "size": file.size,
        "extension": file.extension,
        "mime_type": file.mime_type,
        "created_by": user.account_id,
        "created_at": file.created_at,
        "preview_url": null,
        "source_url": state.files.signed_url(&file.id, false),
    })
}

/// `POST /files/upload`: one multipart `file`, and `source=datasets` (form field or query) for a
/// knowledge-base document, whose type must be one ragd indexes. Answers 201 with the file.
pub async fn upload(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiQuery(query): ApiQuery<UploadQuery>,
    ApiMultipart(mut multipart): ApiMultipart,
) -> Result<Response, ApiError> {
    let rules = state.engine.config().upload.rules();
    let mut source = query.source;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(body_error)? {
        match field.name() {
            Some("file") => {
                if file.is_some() {
                    return Err(ApiError::new(
                        ErrorCode::TooManyFiles,
                        "Only one file is allowed.",
                    ));
                }
                // The purpose may come after the file: any type is read here, documents are
                // checked below once the whole form is in.
                file = Some(read_file(field, &rules, UploadPurpose::AppFile).await?);
            }
            Some("source") => source = Some(field.text().await.map_err(body_error)?),
            Some(_) | None => {}
        }
    }
    let file = file.ok_or_else(|| ApiError::new(ErrorCode::NoFileUploaded, "Please upload your file."))?;
    if source.as_deref() == Some("datasets") {
        pipelines::check_upload(&file.name, &file.bytes, UploadPurpose::Dataset, &rules)
            .map_err(upload_error)?;
    }
    let stored = store_file(&state, &user.tenant_id, &file.name, &file.extension, file.bytes).await?;
    if let Err(error) = state
        .engine
        .store()
        .record_upload_file(&user.tenant_id, &user.account_id, &stored)
        .await
    {
        discard_file(&state, &stored.storage_key).await;
        return Err(error.into());
    }
    Ok((StatusCode::CREATED, Json(file_json(&state, &stored, &user))).into_response())
}

/// `GET /files/{file_id}/preview`: the first 3000 characters of a document file's text.
pub async fn preview(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(file_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = uuid_path(&file_id, "File")?;
    let file = state
        .engine
        .store()
        .workspace_upload_file(&user.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("File not found."))?;
    let format = Format::from_extension(&file.extension)
        .ok_or_else(|| ApiError::new(ErrorCode::UnsupportedFileType, "File type not allowed."))?;
    let bytes = tokio::fs::read(state.engine.file_store().join(&file.storage_key))
        .await
        .map_err(ApiError::internal)?;
    let limits = state.engine.parse_limits();
    let parsed = tokio::task::spawn_blocking(move || try_parse_guarded(bytes, format, &limits))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            ParseError::Busy => ApiError::new(ErrorCode::TooManyRequests, e.to_string()),
            other => ApiError::invalid(format!("The file cannot be read: {other}")),
        })?;
    let content: String = parsed.full_text().chars().take(PREVIEW_CHARS).collect();
    Ok(Json(json!({ "content": content })))
}
