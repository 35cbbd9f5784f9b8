//! The multipart body of create/update-by-file: one `file` and a `data` JSON string, with the
//! upload checks of API.md D (`pipelines::upload`) applied before anything is stored.
//!
//! The name and type are checked as soon as the file part starts, and its bytes are counted as
//! they arrive, so an oversized or refused upload is answered without buffering all of it.

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use pipelines::upload::FileClass;
use pipelines::{UploadError, UploadErrorKind, UploadPurpose, UploadRules};

use super::documents::DocumentOptions;
use crate::api::{ApiError, ErrorCode};

/// An uploaded file that passed every check.
pub struct AcceptedFile {
    /// The name to store (trimmed, shortened to 200 characters keeping the extension).
    pub name: String,
    /// Lowercase extension without the dot.
    pub extension: String,
    pub bytes: Vec<u8>,
}

/// The parts of a create/update-by-file request.
pub struct FileForm {
    pub file: Option<AcceptedFile>,
    pub options: DocumentOptions,
}

/// Reads `file` (at most one) and `data` from a multipart body, checking the file against `rules`.
pub async fn read_file_form(mut multipart: Multipart, rules: &UploadRules) -> Result<FileForm, ApiError> {
    let mut form = FileForm {
        file: None,
        options: DocumentOptions::default(),
    };
    while let Some(field) = multipart.next_field().await.map_err(body_error)? {
        match field.name() {
            Some("file") => {
                if form.file.is_some() {
                    return Err(ApiError::new(
                        ErrorCode::TooManyFiles,
                        "Only one file is allowed.",
                    ));
                }
                form.file = Some(read_file(field, rules, UploadPurpose::Dataset).await?);
            }
            Some("data") => {
                let text = field.text().await.map_err(body_error)?;
                form.options = serde_json::from_str(&text)
                    .map_err(|e| ApiError::invalid(format!("data is not valid JSON: {e}")))?;
            }
            Some(_) | None => {}
        }
    }
    Ok(form)
}

/// Checks the name and type, reads the bytes within the size limit, then checks the content.
pub(crate) async fn read_file(
    mut field: Field<'_>,
    rules: &UploadRules,
    purpose: UploadPurpose,
) -> Result<AcceptedFile, ApiError> {
    let given = field.file_name().unwrap_or_default().to_string();
    if given.trim().is_empty() {
        return Err(ApiError::of(ErrorCode::FilenameNotExists));
    }
    let (_, extension) = pipelines::check_name_and_type(&given, purpose, rules).map_err(upload_error)?;
    let class = FileClass::of_extension(&extension);
    let limit = rules.max_bytes(class);
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| file_error(e, limit))? {
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(too_large(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    let accepted = pipelines::check_upload(&given, &bytes, purpose, rules).map_err(upload_error)?;
    Ok(AcceptedFile {
        name: accepted.name,
        extension: accepted.extension,
        bytes,
    })
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::FileTooLarge,
        format!(
            "File size exceeded. The largest file accepted is {} MB.",
            limit / (1024 * 1024)
        ),
    )
}

/// A multipart error while reading the file: past the body limit it is the file that is too large.
fn file_error(error: MultipartError, limit: u64) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        body_error(error)
    }
}

/// A multipart error outside the file part.
pub(crate) fn body_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::of(ErrorCode::PayloadTooLarge)
    } else {
        ApiError::invalid(format!("invalid multipart body: {}", error.body_text()))
    }
}

/// Dify's answers to refused uploads: 400 for names and blocked extensions, 415 for types and
/// content, 413 for size.
pub fn upload_error(error: UploadError) -> ApiError {
    let message = capitalized(&error.to_string());
    match error.kind() {
        UploadErrorKind::BadName | UploadErrorKind::Blocked => ApiError::invalid(message),
        // Dify's fixed text first (clients match on it), then why, as Dify's `file_too_large` does.
        UploadErrorKind::UnsupportedType => ApiError::new(
            ErrorCode::UnsupportedFileType,
            format!("File type not allowed. {message}"),
        ),
        UploadErrorKind::TooLarge => {
            ApiError::new(ErrorCode::FileTooLarge, format!("File size exceeded. {message}"))
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_get_difys_codes() {
        let cases = [
            (
                UploadError::ForbiddenCharacter {
                    name: "a?.pdf".into(),
                    found: '?',
                },
                StatusCode::BAD_REQUEST,
            ),
            (
                UploadError::BlockedExtension("exe".into()),
                StatusCode::BAD_REQUEST,
            ),
            (
                UploadError::UnsupportedType {
                    extension: "png".into(),
                },
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                UploadError::ContentMismatch("not a pdf".into()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                UploadError::TooLarge {
                    size: 20 << 20,
                    limit: 15 << 20,
                    class: FileClass::Document,
                },
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
        ];
        for (error, status) in cases {
            let api = upload_error(error);
            assert_eq!(api.code.status(), status, "{api:?}");
            assert!(api.message.chars().next().unwrap().is_uppercase(), "{api:?}");
        }
        assert_eq!(
            upload_error(UploadError::BlockedExtension("exe".into())).message,
            "Files with the extension .exe are not allowed for security reasons"
        );
    }
}
