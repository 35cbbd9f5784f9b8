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
    serve(&state, &stored, query.as_attachment.as_deref() == Some("true")).await
}

/// An uploaded file's bytes, served as `served_type` allows (inline only when safe and not
/// asked as an attachment). Callers have checked the caller may read it.
pub async fn serve(
    state: &AppState,
    stored: &crate::store::StoredFile,
    asked_attachment: bool,
) -> Result<Response, ApiError> {
    let path = state.engine.file_store().join(&stored.file.storage_key);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found("File not found"));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    let length = file.metadata().await.map_err(ApiError::internal)?.len();
    let (content_type, inline) = served_type(&stored.file.extension);
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                content_disposition(&stored.file.name, asked_attachment || !inline),
            ),
        ],
        file_body(file),
    )
        .into_response();
    protect(response.headers_mut());
    Ok(response)
}

/// What a file is served as: a type that cannot run script in a browser, and whether it may be
/// shown inline. PDFs, raster images and text (always as plain UTF-8 text, whatever markup it
/// holds) may; everything else (HTML, SVG, XML, office files, unknown types) is a download of
/// opaque bytes. The decision goes by the extension the server checked at upload, never by a
/// type a client sent.
pub fn served_type(extension: &str) -> (&'static str, bool) {
    match extension.to_ascii_lowercase().as_str() {
        "pdf" => ("application/pdf", true),
        "png" => ("image/png", true),
        "jpg" | "jpeg" => ("image/jpeg", true),
        "gif" => ("image/gif", true),
        "webp" => ("image/webp", true),
        "txt" | "text" | "md" | "markdown" | "mdx" | "csv" | "tsv" | "log" | "json" | "jsonl" | "yaml"
        | "yml" | "vtt" | "properties" => ("text/plain; charset=utf-8", true),
        _ => ("application/octet-stream", false),
    }
}

/// Headers on every served file: no type sniffing, and a sandbox with nothing allowed, so
/// even a file a browser does render cannot run script or load anything on this origin.
pub fn protect(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static("sandbox; default-src 'none'"),
    );
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
    fn only_types_that_cannot_run_script_are_inline() {
        for extension in ["html", "htm", "svg", "xml", "xhtml", "js", "docx", "", "exe"] {
            assert_eq!(
                served_type(extension),
                ("application/octet-stream", false),
                "{extension}"
            );
        }
        assert_eq!(served_type("PDF"), ("application/pdf", true));
        assert_eq!(served_type("md"), ("text/plain; charset=utf-8", true));
        assert_eq!(served_type("png"), ("image/png", true));
    }

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
