//! `GET /files/{file_id}/file-preview`: an uploaded file through a signed link (`api::signing`).
//! No API key: the signature is the authorisation, and it expires.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::io::AsyncReadExt;

use super::extract::ApiQuery;
use super::signing::SignedQuery;
use super::{ApiError, AppState, ErrorCode};

pub async fn file_preview(
    State(state): State<AppState>,
    Path(file_id): Path<String>,
    ApiQuery(query): ApiQuery<SignedQuery>,
) -> Result<Response, ApiError> {
    if !state.files.verify(&file_id, &query, crate::store::now()) {
        return Err(ApiError::new(ErrorCode::Forbidden, "Invalid request."));
    }
    let stored = state
        .engine
        .store()
        .upload_file(&file_id)
        .await?
        .ok_or_else(|| ApiError::not_found("File not found"))?;
    let path = state.engine.file_store().join(&stored.file.storage_key);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found("File not found"));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    let length = file.metadata().await.map_err(ApiError::internal)?.len();
    let attachment = query.as_attachment.as_deref() == Some("true");
    Ok((
        [
            (header::CONTENT_TYPE, stored.file.mime_type.clone()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                content_disposition(&stored.file.name, attachment),
            ),
        ],
        file_body(file),
    )
        .into_response())
}

/// Characters kept as they are in an RFC 5987 `filename*` value.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `inline` or `attachment`, with the name in UTF-8 (RFC 6266) so any name survives.
pub fn content_disposition(name: &str, attachment: bool) -> String {
    let kind = if attachment { "attachment" } else { "inline" };
    format!(
        "{kind}; filename*=UTF-8''{}",
        utf8_percent_encode(name, ATTR_CHAR)
    )
}

/// A response body that streams a file in 64 KiB reads; a read error ends it.
pub fn file_body(file: tokio::fs::File) -> Body {
    let chunks = futures::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buffer = vec![0u8; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(axum::body::Bytes::from(buffer)), Some(file)))
            }
            Err(e) => Some((Err::<axum::body::Bytes, _>(e), None)),
        }
    });
    Body::from_stream(chunks.boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_carry_any_name() {
        assert_eq!(
            content_disposition("report 2024.pdf", true),
            "attachment; filename*=UTF-8''report%202024.pdf"
        );
        assert_eq!(
            content_disposition("报告\";.txt", false),
            "inline; filename*=UTF-8''%E6%8A%A5%E5%91%8A%22%3B.txt"
        );
    }
}
