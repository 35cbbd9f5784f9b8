//! A document's uploaded file: a signed download link (A.1 #15), a zip of several (A.1 #16), and
//! the legacy upload-file object (A.1 #17). The bytes themselves are served by the signed
//! `/files/{file_id}/file-preview` route (`api::files`).

use std::collections::HashSet;
use std::path::PathBuf;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::datasets::find_document_dataset as find_dataset;
use super::documents::find_document;
use crate::api::auth::DatasetKey;
use crate::api::extract::ApiJson;
use crate::api::files::{file_body, protect};
use crate::api::{ApiError, AppState};
use crate::store::{DEFAULT_OWNER, DocumentRow, UploadFile};

/// Most documents one zip may hold (Dify's limit).
pub const MAX_ZIP_DOCUMENTS: usize = 100;

/// The document's file, or a 404 that says why there is none.
fn uploaded_file(document: &DocumentRow) -> Result<&UploadFile, ApiError> {
    document.file.as_ref().ok_or_else(|| {
        ApiError::not_found(format!(
            "Document {} has no uploaded file (it was not created from an upload).",
            document.id
        ))
    })
}

/// `GET /datasets/{id}/documents/{doc_id}/download`: a signed link that downloads the file.
pub async fn download(
    State(state): State<AppState>,
    key: DatasetKey,
    Path((dataset_id, document_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let document = find_document(&state, &dataset, &document_id).await?;
    let file = uploaded_file(&document)?;
    Ok(Json(json!({ "url": state.files.signed_url(&file.id, true) })))
}

/// `GET /datasets/{id}/documents/{doc_id}/upload-file` (legacy): the file with a preview link and
/// a download link.
pub async fn upload_file(
    State(state): State<AppState>,
    key: DatasetKey,
    Path((dataset_id, document_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let document = find_document(&state, &dataset, &document_id).await?;
    let file = uploaded_file(&document)?;
    let url = state.files.signed_url(&file.id, false);
    Ok(Json(json!({
        "id": file.id,
        "name": file.name,
        "size": file.size,
        "extension": file.extension,
        "url": url,
        "download_url": state.files.signed_url(&file.id, true),
        "mime_type": file.mime_type,
        "created_by": DEFAULT_OWNER,
        // Dify reports this one timestamp as a float.
        "created_at": file.created_at as f64,
    })))
}

#[derive(Debug, Deserialize)]
pub struct ZipBody {
    document_ids: Vec<String>,
}

/// `POST /datasets/{id}/documents/download-zip`: the uploaded files of up to 100 documents.
pub async fn download_zip(
    State(state): State<AppState>,
    key: DatasetKey,
    Path(dataset_id): Path<String>,
    ApiJson(body): ApiJson<ZipBody>,
) -> Result<Response, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let mut seen = HashSet::new();
    let ids: Vec<&String> = body.document_ids.iter().filter(|id| seen.insert(*id)).collect();
    if ids.is_empty() {
        return Err(ApiError::invalid("document_ids must not be empty."));
    }
    if ids.len() > MAX_ZIP_DOCUMENTS {
        return Err(ApiError::invalid(format!(
            "At most {MAX_ZIP_DOCUMENTS} documents can be downloaded at once."
        )));
    }
    let mut entries = Vec::with_capacity(ids.len());
    let mut names = ZipNames::default();
    for id in ids {
        let document = find_document(&state, &dataset, id).await?;
        let file = uploaded_file(&document)?;
        entries.push((
            names.unique(&file.name),
            state.engine.file_store().join(&file.storage_key),
        ));
    }
    let dir = state.engine.config().data_dir.join("tmp");
    let zip = tokio::task::spawn_blocking(move || write_zip(&dir, &entries))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let length = zip.metadata().map_err(ApiError::internal)?.len();
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"documents.zip\"".to_string(),
            ),
        ],
        file_body(tokio::fs::File::from_std(zip)),
    )
        .into_response();
    protect(response.headers_mut());
    Ok(response)
}

/// File names made unique within one zip: `a.pdf`, `a (1).pdf`, `a (2).pdf`...
#[derive(Debug, Default)]
struct ZipNames {
    used: HashSet<String>,
}

/// A stored name as a plain file name: its last path part (document names come from API
/// callers and may look like `../../x`), without control characters or drive colons, so that
/// unpacking the zip cannot write outside its directory.
fn plain_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() || c == ':' { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "document".to_string()
    } else {
        cleaned.to_string()
    }
}

impl ZipNames {
    fn unique(&mut self, name: &str) -> String {
        let name = plain_file_name(name);
        let name = name.as_str();
        let (stem, extension) = match name.rfind('.') {
            Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
            _ => (name, ""),
        };
        let mut candidate = name.to_string();
        let mut n = 0;
        // Compared case-insensitively: zips are often unpacked on case-insensitive file systems.
        while !self.used.insert(candidate.to_lowercase()) {
            n += 1;
            candidate = format!("{stem} ({n}){extension}");
        }
        candidate
    }
}

/// Writes the zip to a temporary file in `dir` and returns it open for reading, already unlinked,
/// so it disappears when the response has been sent (or dropped).
fn write_zip(dir: &std::path::Path, entries: &[(String, PathBuf)]) -> std::io::Result<std::fs::File> {
    use std::io::{Seek, SeekFrom};
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("download-{}.zip", uuid::Uuid::new_v4()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    let written = (|| {
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(false);
        for (name, source) in entries {
            zip.start_file(name.as_str(), options)
                .map_err(std::io::Error::other)?;
            let mut input = std::fs::File::open(source)?;
            std::io::copy(&mut input, &mut zip)?;
        }
        let mut file = zip.finish().map_err(std::io::Error::other)?;
        file.seek(SeekFrom::Start(0))?;
        Ok(file)
    })();
    // Unlinked either way: an open handle keeps the bytes readable until it is dropped.
    let _ = std::fs::remove_file(&path);
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_names_have_no_path_parts() {
        for (given, plain) in [
            ("../../../tmp/evil", "evil"),
            ("..\\..\\windows\\evil.txt", "evil.txt"),
            ("/etc/cron.d/evil", "evil"),
            ("..", "document"),
            ("dir/", "document"),
            ("C:evil\u{0}.txt", "C_evil_.txt"),
            ("report.pdf", "report.pdf"),
        ] {
            assert_eq!(plain_file_name(given), plain, "{given}");
        }
    }

    #[test]
    fn zip_names_are_deduplicated() {
        let mut names = ZipNames::default();
        let got: Vec<String> = ["a.pdf", "a.pdf", "A.PDF", "b", "b", "a (1).pdf", ".env", ".env"]
            .iter()
            .map(|n| names.unique(n))
            .collect();
        assert_eq!(
            got,
            [
                "a.pdf",
                "a (1).pdf",
                "A (2).PDF",
                "b",
                "b (1)",
                "a (1) (1).pdf",
                ".env",
                ".env (1)"
            ]
        );
    }

    #[test]
    fn zips_hold_every_file_under_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one");
        let two = dir.path().join("two");
        std::fs::write(&one, b"first file").unwrap();
        std::fs::write(&two, vec![b'x'; 100_000]).unwrap();
        let tmp = dir.path().join("tmp");
        let file = write_zip(&tmp, &[("a.txt".into(), one), ("a (1).txt".into(), two)]).unwrap();
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "unlinked at once");
        let mut archive = zip::ZipArchive::new(file).unwrap();
        assert_eq!(archive.len(), 2);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("a.txt").unwrap(), &mut text).unwrap();
        assert_eq!(text, "first file");
        assert_eq!(archive.by_name("a (1).txt").unwrap().size(), 100_000);
        // A missing source fails the whole zip and leaves nothing behind.
        assert!(write_zip(&tmp, &[("x".into(), dir.path().join("missing"))]).is_err());
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    }
}
