//! `POST /files/upload`: a file an end user attaches to a message (`files` of type `document`
//! are read as extra context). Multipart `file` and optional `user`; answers 201 with the file.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pipelines::UploadPurpose;
use pipelines::upload::FileClass;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{AppKey, optional_user};
use crate::api::extract::ApiMultipart;
use crate::api::knowledge::uploads::upload_error;
use crate::api::{ApiError, AppState, ErrorCode};
use crate::store::UploadFile;

fn body_error(error: axum::extract::multipart::MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ErrorCode::FileTooLarge,
            "File size exceeded. The request body is too large.",
        )
    } else {
        ApiError::invalid(format!("invalid multipart body: {}", error.body_text()))
    }
}

pub async fn upload(
    State(state): State<AppState>,
    key: AppKey,
    ApiMultipart(mut multipart): ApiMultipart,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let rules = state.engine.config().upload.rules();
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut user = None;
    while let Some(mut field) = multipart.next_field().await.map_err(body_error)? {
        match field.name() {
            Some("file") => {
                if file.is_some() {
                    return Err(ApiError::new(
                        ErrorCode::TooManyFiles,
                        "Only one file is allowed.",
                    ));
                }
                let name = field.file_name().unwrap_or_default().to_string();
                if name.trim().is_empty() {
                    return Err(ApiError::of(ErrorCode::FilenameNotExists));
                }
                let (_, extension) = pipelines::check_name_and_type(&name, UploadPurpose::AppFile, &rules)
                    .map_err(upload_error)?;
                let limit = rules.max_bytes(FileClass::of_extension(&extension));
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(body_error)? {
                    if (bytes.len() + chunk.len()) as u64 > limit {
                        return Err(ApiError::new(
                            ErrorCode::FileTooLarge,
                            format!(
                                "File size exceeded. The largest file accepted is {} MB.",
                                limit >> 20
                            ),
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((name, bytes));
            }
            Some("user") => user = Some(Value::String(field.text().await.map_err(body_error)?)),
            Some(_) | None => {}
        }
    }
    let (name, bytes) = file.ok_or_else(|| ApiError::of(ErrorCode::NoFileUploaded))?;
    let end_user = optional_user(&state, &key, user.as_ref()).await?;
    let accepted =
        pipelines::check_upload(&name, &bytes, UploadPurpose::AppFile, &rules).map_err(upload_error)?;
    let id = uuid::Uuid::new_v4().to_string();
    let storage_key = if accepted.extension.is_empty() {
        format!("{}/{id}", key.app.tenant_id)
    } else {
        format!("{}/{id}.{}", key.app.tenant_id, accepted.extension)
    };
    let stored = UploadFile {
        id: id.clone(),
        name: accepted.name.clone(),
        size: bytes.len() as i64,
        mime_type: mime_type(&accepted.extension).to_string(),
        extension: accepted.extension.clone(),
        hash: hex::encode(Sha256::digest(&bytes)),
        storage_key: storage_key.clone(),
        created_at: crate::store::now(),
    };
    let path = state.engine.file_store().join(&storage_key);
    tokio::task::spawn_blocking(move || crate::models::fetch::write_atomic(&path, &bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    if let Err(error) = state
        .engine
        .store()
        .record_upload_file(&key.app.tenant_id, &end_user.id, &stored)
        .await
    {
        // Losing this removal only leaves a stray file behind.
        let _ = tokio::fs::remove_file(state.engine.file_store().join(&storage_key)).await;
        return Err(error.into());
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": stored.id,
            "name": stored.name,
            "size": stored.size,
            "extension": stored.extension,
            "mime_type": stored.mime_type,
            "created_by": end_user.id,
            "created_at": stored.created_at,
            "preview_url": null,
            "source_url": null,
            "original_url": null,
            "user_id": end_user.id,
            "tenant_id": key.app.tenant_id,
            "conversation_id": null,
            "file_key": null,
        })),
    ))
}

fn mime_type(extension: &str) -> &'static str {
    match extension {
        "pdf" => "application/pdf",
        "html" | "htm" => "text/html",
        "md" | "markdown" | "mdx" => "text/markdown",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv" => "text/csv",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct PreviewQuery {
    as_attachment: Option<String>,
}

/// `GET /files/{file_id}/preview` (Dify's service API file preview): a file uploaded in the app
/// key's workspace, inline when safe, or as a download with `as_attachment=true`. A file of
/// another workspace is not found.
pub async fn preview(
    State(state): State<AppState>,
    key: AppKey,
    axum::extract::Path(file_id): axum::extract::Path<String>,
    crate::api::extract::ApiQuery(query): crate::api::extract::ApiQuery<PreviewQuery>,
) -> Result<axum::response::Response, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, "File not found");
    let id = uuid::Uuid::parse_str(&file_id)
        .map_err(|_| not_found())?
        .to_string();
    let attachment = match query.as_attachment.as_deref() {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::invalid("as_attachment must be true or false")),
    };
    let stored = state
        .engine
        .store()
        .upload_file(&id)
        .await?
        .filter(|stored| stored.tenant_id == key.app.tenant_id)
        .ok_or_else(not_found)?;
    crate::api::files::serve(&state, &stored, attachment).await
}
