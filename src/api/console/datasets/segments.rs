//! Segments in the console: list with filters, add one, change one, enable or disable and
//! delete several, and import many from a CSV file. Child chunks and single deletes are the
//! knowledge API's handlers.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use super::csv;
use crate::api::caller::{Access, find_document_dataset as find_dataset};
use crate::api::extract::{ApiJson, ApiQuery, uuid_path};
use crate::api::knowledge::views;
use crate::api::{ApiError, AppState, ErrorCode};
use crate::engine::{SegmentInput, SegmentUpdate};
use crate::store::{Dataset, SegmentFilter, SegmentImportJob};

/// Largest CSV file a segment import reads.
const MAX_IMPORT_BYTES: usize = 15 * 1024 * 1024;

/// The dataset (checked for `access`) and the checked document id of a segment route.
async fn scope(
    state: &AppState,
    user: &ConsoleUser,
    access: Access,
    dataset_id: &str,
    document_id: &str,
) -> Result<(Dataset, String), ApiError> {
    let dataset = find_dataset(state, user, dataset_id, access).await?;
    Ok((dataset, uuid_path(document_id, "Document")?))
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ApiError> {
    value
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid(format!("{name} must be a number")))
}

/// Dify's console segment list: `page`, `limit` (at most 100), repeated `status`, `keyword`,
/// `enabled` (all, true, false) and `hit_count_gte`.
fn list_query(pairs: Vec<(String, String)>) -> Result<(SegmentFilter, u32, u32), ApiError> {
    let mut filter = SegmentFilter::default();
    let (mut page, mut limit) = (1u32, 20u32);
    for (key, value) in pairs {
        match key.as_str() {
            "page" => page = number("page", &value)?,
            "limit" => limit = number::<u32>("limit", &value)?.min(100),
            "status" if !value.is_empty() => filter.statuses.push(value),
            "keyword" if !value.is_empty() => filter.keyword = Some(value),
            "enabled" => {
                filter.enabled = match value.as_str() {
                    "" | "all" => None,
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => return Err(ApiError::invalid("enabled must be all, true or false")),
                }
            }
            "hit_count_gte" if !value.is_empty() => {
                filter.min_hit_count = Some(number("hit_count_gte", &value)?)
            }
            _ => {}
        }
    }
    if page == 0 || limit == 0 {
        return Err(ApiError::invalid("page and limit must be at least 1"));
    }
    Ok((filter, page, limit))
}

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id)): Path<(String, String)>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id) = scope(&state, &user, Access::Read, &dataset_id, &document_id).await?;
    let (filter, page, limit) = list_query(pairs)?;
    let (doc_form, segments, total) = state
        .engine
        .segment_page(&dataset, &document_id, &filter, page, limit)
        .await?;
    Ok(Json(json!({
        "data": segments.iter().map(views::segment).collect::<Vec<_>>(),
        "doc_form": doc_form,
        "limit": limit,
        "total": total,
        "total_pages": (total + i64::from(limit) - 1) / i64::from(limit),
        "page": page,
    })))
}

#[derive(Debug, Deserialize)]
pub struct SegmentBody {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    keywords: Option<Vec<String>>,
    #[serde(default)]
    regenerate_child_chunks: bool,
}

/// `POST .../segment`: one new segment.
pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<SegmentBody>,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id) = scope(&state, &user, Access::Write, &dataset_id, &document_id).await?;
    let document = state
        .engine
        .document_accepting_segments(&dataset, &document_id)
        .await?;
    let input = SegmentInput {
        content: body.content,
        answer: body.answer,
        keywords: body.keywords,
    };
    let mut segments = state
        .engine
        .add_segments(&dataset, &document, vec![input])
        .await?;
    let segment = segments
        .pop()
        .ok_or_else(|| ApiError::internal("no segment was added"))?;
    Ok(Json(
        json!({"data": views::segment(&segment), "doc_form": document.doc_form}),
    ))
}

/// `PATCH .../segments/{segment_id}`: new content, answer or keywords.
pub async fn update(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id, segment_id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<SegmentBody>,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id) = scope(&state, &user, Access::Write, &dataset_id, &document_id).await?;
    let segment_id = uuid_path(&segment_id, "Segment")?;
    let update = SegmentUpdate {
        content: body.content,
        answer: body.answer,
        keywords: body.keywords,
        enabled: None,
        regenerate_child_chunks: body.regenerate_child_chunks,
    };
    let (doc_form, segment) = state
        .engine
        .update_segment(&dataset, &document_id, &segment_id, update)
        .await?;
    Ok(Json(
        json!({"data": views::segment(&segment), "doc_form": doc_form}),
    ))
}

/// The repeated `segment_id` query values, each checked to name a segment of the document.
async fn segments_of_query(
    state: &AppState,
    dataset: &Dataset,
    document_id: &str,
    pairs: &[(String, String)],
) -> Result<Vec<String>, ApiError> {
    let mut ids = Vec::new();
    for (key, value) in pairs {
        if key == "segment_id" {
            let id = uuid_path(value, "Segment")?;
            state.engine.segment(dataset, document_id, &id).await?;
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(ApiError::invalid("segment_id is required."));
    }
    Ok(ids)
}

/// `PATCH .../segment/{enable|disable}?segment_id=..`.
pub async fn set_enabled(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id, action)): Path<(String, String, String)>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id) = scope(&state, &user, Access::Write, &dataset_id, &document_id).await?;
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(ApiError::new(ErrorCode::InvalidAction, "Invalid action.")),
    };
    let ids = segments_of_query(&state, &dataset, &document_id, &pairs).await?;
    for id in ids {
        let update = SegmentUpdate {
            enabled: Some(enabled),
            ..SegmentUpdate::default()
        };
        state
            .engine
            .update_segment(&dataset, &document_id, &id, update)
            .await?;
    }
    Ok(Json(json!({"result": "success"})))
}

/// `DELETE .../segments?segment_id=..`: every id is checked before any is deleted.
pub async fn delete_batch(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id)): Path<(String, String)>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (dataset, document_id) = scope(&state, &user, Access::Write, &dataset_id, &document_id).await?;
    let ids = segments_of_query(&state, &dataset, &document_id, &pairs).await?;
    for id in ids {
        state.engine.delete_segment(&dataset, &document_id, &id).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
struct ImportBody {
    upload_file_id: Option<String>,
}

/// The CSV bytes of an import: an uploaded file named by `upload_file_id` (JSON, newer Dify) or
/// a multipart `file` (older Dify).
async fn import_bytes(
    state: &AppState,
    user: &ConsoleUser,
    request: Request,
) -> Result<(String, Vec<u8>), ApiError> {
    let multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if multipart {
        let mut form = Multipart::from_request(request, state)
            .await
            .map_err(|e| ApiError::invalid(format!("invalid multipart body: {}", e.body_text())))?;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(crate::api::knowledge::uploads::body_error)?
        {
            if field.name() == Some("file") {
                let name = field.file_name().unwrap_or_default().to_string();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(crate::api::knowledge::uploads::body_error)?;
                return Ok((name, bytes.to_vec()));
            }
        }
        return Err(ApiError::new(
            ErrorCode::NoFileUploaded,
            "Please upload your file.",
        ));
    }
    let ApiJson(body) = ApiJson::<ImportBody>::from_request(request, state).await?;
    let id = body
        .upload_file_id
        .ok_or_else(|| ApiError::new(ErrorCode::NoFileUploaded, "Please upload your file."))?;
    let id = uuid_path(&id, "File")?;
    let file = state
        .engine
        .store()
        .workspace_upload_file(&user.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("File not found."))?;
    let bytes = tokio::fs::read(state.engine.file_store().join(&file.storage_key))
        .await
        .map_err(ApiError::internal)?;
    Ok((file.name, bytes))
}

/// The segments a CSV file holds: one per row after the header, the first column the content
/// and, for Q&A documents, the second the answer.
fn import_rows(name: &str, bytes: &[u8], qa: bool) -> Result<Vec<SegmentInput>, ApiError> {
    if !name.to_ascii_lowercase().ends_with(".csv") {
        return Err(ApiError::invalid("Invalid file type. Only CSV files are allowed"));
    }
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ApiError::new(
            ErrorCode::FileTooLarge,
            "File size exceeded. The CSV file is too large.",
        ));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| ApiError::invalid("The CSV file must be UTF-8 text."))?;
    let rows = csv::rows(text).map_err(|e| ApiError::invalid(format!("The CSV file is invalid: {e}.")))?;
    let mut inputs = Vec::new();
    for (line, row) in rows.iter().enumerate().skip(1) {
        let content = row.first().map(|c| c.trim()).unwrap_or("");
        if content.is_empty() {
            return Err(ApiError::invalid(format!("Row {} has no content.", line + 1)));
        }
        let answer = row.get(1).map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
        if qa && answer.is_none() {
            return Err(ApiError::invalid(format!("Row {} has no answer.", line + 1)));
        }
        inputs.push(SegmentInput {
            content: Some(content.to_string()),
            answer: if qa { answer } else { None },
            keywords: None,
        });
    }
    if inputs.is_empty() {
        return Err(ApiError::invalid("The CSV file is empty."));
    }
    Ok(inputs)
}

/// `POST .../segments/batch_import`: adds a segment per CSV row, all or none, before answering;
/// the job it records (always completed) answers the status routes clients poll.
pub async fn batch_import(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id)): Path<(String, String)>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id) = scope(&state, &user, Access::Write, &dataset_id, &document_id).await?;
    let document = state
        .engine
        .document_accepting_segments(&dataset, &document_id)
        .await?;
    let (name, bytes) = import_bytes(&state, &user, request).await?;
    let inputs = import_rows(&name, &bytes, document.doc_form == "qa_model")?;
    let added = state.engine.add_segments(&dataset, &document, inputs).await?;
    let job = SegmentImportJob {
        id: uuid::Uuid::new_v4().to_string(),
        dataset_id: dataset.id.clone(),
        document_id: document.id.clone(),
        status: "completed".into(),
        segments: added.len() as i64,
        error: None,
        created_at: crate::store::now(),
    };
    state
        .engine
        .store()
        .record_segment_import(&user.tenant_id, &job, &user.account_id)
        .await?;
    Ok(Json(import_json(&job)))
}

fn import_json(job: &SegmentImportJob) -> Value {
    json!({
        "job_id": job.id,
        "job_status": job.status,
        "segments": job.segments,
        "error": job.error,
    })
}

async fn find_import(
    state: &AppState,
    user: &ConsoleUser,
    job_id: &str,
) -> Result<SegmentImportJob, ApiError> {
    let id = uuid_path(job_id, "Job")?;
    let job = state
        .engine
        .store()
        .segment_import(&user.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Job not found."))?;
    // The job's dataset must still be one the caller may read.
    find_dataset(state, user, &job.dataset_id, Access::Read).await?;
    Ok(job)
}

/// `GET /datasets/batch_import_status/{job_id}`.
pub async fn import_status(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(job_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(import_json(&find_import(&state, &user, &job_id).await?)))
}

/// `GET .../documents/{doc}/segments/batch_import/{job_id}`.
pub async fn import_status_in_document(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id, job_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (dataset, document_id) = scope(&state, &user, Access::Read, &dataset_id, &document_id).await?;
    let job = find_import(&state, &user, &job_id).await?;
    if job.dataset_id != dataset.id || job.document_id != document_id {
        return Err(ApiError::not_found("Job not found."));
    }
    Ok(Json(import_json(&job)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_segments_after_the_header() {
        let inputs = import_rows(
            "faq.CSV",
            b"content,answer\nfirst, a\n\"second, quoted\",b\n",
            false,
        )
        .unwrap();
        let contents: Vec<_> = inputs.iter().map(|i| i.content.clone().unwrap()).collect();
        assert_eq!(contents, ["first", "second, quoted"]);
        assert!(inputs.iter().all(|i| i.answer.is_none()));
        let qa = import_rows("faq.csv", b"q,a\nwhy,because\n", true).unwrap();
        assert_eq!(qa[0].answer.as_deref(), Some("because"));
    }

    #[test]
    fn bad_csv_files_are_refused_with_a_reason() {
        for (name, bytes, qa, message) in [
            ("faq.txt", &b"content\nx\n"[..], false, "Only CSV"),
            ("faq.csv", b"content\n", false, "empty"),
            (
                "faq.csv",
                b"content,answer\n,only an answer\n",
                false,
                "no content",
            ),
            ("faq.csv", b"q,a\nwhy\n", true, "no answer"),
            ("faq.csv", b"content\n\"open\n", false, "not closed"),
            ("faq.csv", b"content\n\xff\xfe\n", false, "UTF-8"),
        ] {
            let error = import_rows(name, bytes, qa).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidParam);
            assert!(error.message.contains(message), "{name}: {}", error.message);
        }
    }
}
