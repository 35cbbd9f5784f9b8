//! Documents: create and update by text or file, indexing status, list, get, delete (API.md A.1 #6-#13).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipelines::chunk::{Chunker, ProcessMode, ProcessRule};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::datasets::find_document_dataset as find_dataset;
use super::uploads::read_file_form;
use super::views;
use crate::api::auth::DatasetKey;
use crate::api::caller::{self, Access, Caller};
use crate::api::extract::{ApiJson, ApiMultipart, ApiQuery, uuid_path};
use crate::api::{ApiError, AppState, ErrorCode};
use crate::engine::{ECONOMY, HIGH_QUALITY};
use crate::store::{
    Dataset, DatasetChanges, DocumentRow, DocumentSort, DocumentUpdate, NewApiDocument, UpdateOutcome,
    UploadFile, display_status_condition,
};

/// Dify's `doc_form` values.
const TEXT_MODEL: &str = "text_model";
const HIERARCHICAL_MODEL: &str = "hierarchical_model";
const QA_MODEL: &str = "qa_model";

/// Fields shared by create-by-text and the `data` JSON of create-by-file (A.4).
#[derive(Debug, Deserialize, Default)]
pub struct DocumentOptions {
    #[serde(default)]
    pub(crate) indexing_technique: Option<String>,
    #[serde(default)]
    pub(crate) doc_form: Option<String>,
    #[serde(default)]
    pub(crate) doc_language: Option<String>,
    #[serde(default)]
    pub(crate) process_rule: Option<Value>,
    #[serde(default)]
    pub(crate) retrieval_model: Option<Value>,
    /// On create: the document this request replaces (Dify's upsert; same id, new content).
    #[serde(default)]
    pub(crate) original_document_id: Option<String>,
    /// The model a dataset without one gets with its first document (an installed model's id).
    #[serde(default)]
    pub(crate) embedding_model: Option<String>,
}

impl DocumentOptions {
    /// The document a create request replaces, when it names one.
    fn original_document(&self) -> Option<&str> {
        self.original_document_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateByText {
    name: Option<String>,
    text: Option<String>,
    #[serde(flatten)]
    options: DocumentOptions,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default = "one")]
    page: u32,
    #[serde(default = "twenty")]
    limit: u32,
    keyword: Option<String>,
    /// A display status (`indexing`, `paused`, `error`, `available`, `disabled`, `archived`, ...).
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DetailQuery {
    metadata: Option<String>,
}

fn one() -> u32 {
    1
}

fn twenty() -> u32 {
    20
}

/// What a document request resolves to: its `doc_form` and the process rule to store.
pub(crate) struct ResolvedOptions {
    pub(crate) doc_form: String,
    pub(crate) process_rule: Value,
}

/// Checks the request against the dataset and resolves the document's `doc_form` and process
/// rule. The first document of a dataset sets its `doc_form`; later ones must match it (they
/// inherit it when they send none).
pub(crate) fn resolve_options(
    dataset: &Dataset,
    has_documents: bool,
    options: &DocumentOptions,
) -> Result<ResolvedOptions, ApiError> {
    if let Some(technique) = &options.indexing_technique
        && technique != HIGH_QUALITY
        && technique != ECONOMY
    {
        return Err(ApiError::invalid("Indexing technique is invalid."));
    }
    if dataset.indexing_technique.is_none()
        && options.indexing_technique.is_none()
        && dataset.embedding_model.is_none()
    {
        return Err(ApiError::invalid("indexing_technique is required."));
    }
    let doc_form = match (&options.doc_form, has_documents) {
        (Some(form), _) => form.as_str(),
        (None, true) => dataset.doc_form.as_str(),
        (None, false) => TEXT_MODEL,
    };
    match doc_form {
        TEXT_MODEL | HIERARCHICAL_MODEL => {}
        QA_MODEL => {
            return Err(ApiError::invalid(
                "doc_form qa_model needs an LLM to generate question-answer pairs, which this server \
                 does not have; use text_model or hierarchical_model.",
            ));
        }
        _ => return Err(ApiError::invalid("doc_form is invalid.")),
    }
    if has_documents && doc_form != dataset.doc_form {
        return Err(ApiError::invalid(
            "doc_form is different from the dataset doc_form.",
        ));
    }
    if let Some(retrieval) = &options.retrieval_model {
        super::retrieve::parse_retrieval_model(retrieval)?;
    }
    let rule = options
        .process_rule
        .clone()
        .unwrap_or_else(|| dataset.process_rule.clone());
    let parsed = ProcessRule::from_json(&rule).map_err(|e| ApiError::invalid(e.to_string()))?;
    // Parent-child documents are cut by a hierarchical rule, and only they are.
    match (
        doc_form == HIERARCHICAL_MODEL,
        parsed.mode == ProcessMode::Hierarchical,
    ) {
        (true, false) => {
            return Err(ApiError::invalid(
                "doc_form hierarchical_model needs a process_rule with mode hierarchical.",
            ));
        }
        (false, true) => {
            return Err(ApiError::invalid(
                "A process_rule with mode hierarchical needs doc_form hierarchical_model.",
            ));
        }
        (true, true) | (false, false) => {}
    }
    // Validate now so a bad rule is a 400, not a failed document later.
    Chunker::new(&parsed, pipelines::TokenCounter::Characters, 254)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(ResolvedOptions {
        doc_form: doc_form.to_string(),
        process_rule: serde_json::to_value(&parsed).map_err(ApiError::internal)?,
    })
}

/// Dify's batch id: `YYYYmmddHHMMSS` and a random 6-digit number.
pub(crate) fn new_batch() -> String {
    let random = 100_000 + (uuid::Uuid::new_v4().as_u128() % 900_000) as u32;
    format!("{}{random}", chrono::Utc::now().format("%Y%m%d%H%M%S"))
}

/// Writes the bytes to the file store (atomically) and describes the stored file.
pub(crate) async fn store_file(
    state: &AppState,
    tenant_id: &str,
    name: &str,
    extension: &str,
    bytes: Vec<u8>,
) -> Result<UploadFile, ApiError> {
    let file_id = uuid::Uuid::new_v4().to_string();
    let storage_key = format!("{tenant_id}/{file_id}.{extension}");
    let path = state.engine.file_store().join(&storage_key);
    let hash = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    tokio::task::spawn_blocking(move || crate::models::fetch::write_atomic(&path, &bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(UploadFile {
        id: file_id,
        name: name.to_string(),
        size,
        extension: extension.to_string(),
        mime_type: mime_type(extension).to_string(),
        hash,
        storage_key,
        created_at: crate::store::now(),
    })
}

/// Removes a stored file that no row refers to (its request failed after storing it).
pub(crate) async fn discard_file(state: &AppState, storage_key: &str) {
    // Losing this removal only leaves a stray file behind.
    let _ = tokio::fs::remove_file(state.engine.file_store().join(storage_key)).await;
}

/// Records the indexing technique (first document: economy indexes BM25 only, high_quality
/// embeds) and a retrieval model sent with a document.
pub(crate) async fn apply_dataset_options(
    state: &AppState,
    tenant_id: &str,
    dataset: &Dataset,
    options: &DocumentOptions,
) -> Result<(), ApiError> {
    if dataset.indexing_technique.is_none() {
        let technique = options.indexing_technique.as_deref().unwrap_or(HIGH_QUALITY);
        // The first document's language is recorded after this, so it is passed on here.
        let (default_model, _) = state
            .engine
            .default_model_for_language(options.doc_language.as_deref());
        let model = options.embedding_model.as_deref().unwrap_or(&default_model);
        state
            .engine
            .set_indexing_technique(dataset, technique, Some(model))
            .await?;
    }
    if options.retrieval_model.is_some() {
        let changes = DatasetChanges {
            retrieval_model: options.retrieval_model.clone(),
            ..DatasetChanges::default()
        };
        state
            .engine
            .store()
            .update_dataset(tenant_id, &dataset.id, changes)
            .await?;
    }
    Ok(())
}

/// Stores the bytes in the file store and creates the document and its indexing job.
async fn create_document(
    state: &AppState,
    key: &DatasetKey,
    dataset: &Dataset,
    name: &str,
    extension: &str,
    bytes: Vec<u8>,
    options: DocumentOptions,
) -> Result<Value, ApiError> {
    let counts = state.engine.store().dataset_counts(&dataset.id).await?;
    let resolved = resolve_options(dataset, counts.documents > 0, &options)?;
    let sample = crate::engine::language::text_sample(extension, &bytes);
    let language = state.engine.document_language(
        options.doc_language.as_deref(),
        counts.documents == 0,
        sample.as_deref(),
    );
    let doc_language = language.name.clone();
    let options = DocumentOptions {
        doc_language: Some(doc_language.clone()),
        ..options
    };
    let file = store_file(state, &key.0.tenant_id, name, extension, bytes).await?;
    let storage_key = file.storage_key.clone();
    let batch = new_batch();
    let created = async {
        apply_dataset_options(state, &key.0.tenant_id, dataset, &options).await?;
        state
            .engine
            .follow_document_language(dataset, &language, options.embedding_model.as_deref())
            .await?;
        // The first document's language picks the dataset's full-text analyzer; recorded before
        // the document exists, so the worker that indexes it builds the index with that analyzer.
        state
            .engine
            .store()
            .set_dataset_language(&dataset.id, &doc_language)
            .await?;
        let new = NewApiDocument {
            tenant_id: key.0.tenant_id.clone(),
            dataset_id: dataset.id.clone(),
            name: name.to_string(),
            batch: batch.clone(),
            doc_form: resolved.doc_form,
            doc_language: doc_language.clone(),
            process_rule: resolved.process_rule,
            file,
        };
        Ok::<_, ApiError>(state.engine.store().create_api_document(new).await?)
    }
    .await;
    let document = match created {
        Ok(document) => document,
        Err(error) => {
            discard_file(state, &storage_key).await;
            return Err(error);
        }
    };
    let schema = state
        .engine
        .store()
        .metadata_schema(&key.0.tenant_id, &dataset.id)
        .await?;
    Ok(json!({ "document": views::document(&document, &schema), "batch": batch }))
}

pub(crate) fn mime_type(extension: &str) -> &'static str {
    match extension {
        "pdf" => "application/pdf",
        "html" | "htm" => "text/html",
        "md" | "markdown" | "mdx" => "text/markdown",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xls" => "application/vnd.ms-excel",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "epub" => "application/epub+zip",
        "eml" => "message/rfc822",
        "csv" => "text/csv",
        "xml" => "application/xml",
        "json" | "jsonl" => "application/json",
        _ => "text/plain",
    }
}

pub async fn create_by_text(
    State(state): State<AppState>,
    key: DatasetKey,
    Path(dataset_id): Path<String>,
    ApiJson(body): ApiJson<CreateByText>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let name = body.name.unwrap_or_default();
    if name.trim().is_empty() {
        return Err(ApiError::invalid("name is required."));
    }
    let text = body.text.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::invalid("text is required."));
    }
    // Dify keeps text documents as .txt uploads named after the document, cut at 200 chars.
    let name: String = name.trim().chars().take(200).collect();
    if let Some(original) = body.options.original_document() {
        let document = find_document(&state, &dataset, original).await?;
        let file = (name.clone(), "txt".to_string(), text.into_bytes());
        return update_document(
            &state,
            &key,
            &dataset,
            &document,
            Some(name),
            Some(file),
            body.options,
        )
        .await;
    }
    let answer = create_document(
        &state,
        &key,
        &dataset,
        &name,
        "txt",
        text.into_bytes(),
        body.options,
    )
    .await?;
    Ok(Json(answer))
}

pub async fn create_by_file(
    State(state): State<AppState>,
    key: DatasetKey,
    Path(dataset_id): Path<String>,
    ApiMultipart(multipart): ApiMultipart,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let form = read_file_form(multipart, &state.engine.config().upload.rules()).await?;
    let file = form.file.ok_or_else(|| ApiError::of(ErrorCode::NoFileUploaded))?;
    if let Some(original) = form.options.original_document() {
        let document = find_document(&state, &dataset, original).await?;
        let name = Some(file.name.clone());
        let file = (file.name, file.extension, file.bytes);
        return update_document(&state, &key, &dataset, &document, name, Some(file), form.options).await;
    }
    if form.options.process_rule.is_none() && dataset.process_rule.is_null() {
        return Err(ApiError::invalid("process_rule is required."));
    }
    let answer = create_document(
        &state,
        &key,
        &dataset,
        &file.name,
        &file.extension,
        file.bytes,
        form.options,
    )
    .await?;
    Ok(Json(answer))
}

#[derive(Debug, Deserialize)]
pub struct UpdateByText {
    name: Option<String>,
    text: Option<String>,
    #[serde(flatten)]
    options: DocumentOptions,
}

/// update-by-text (A.1 #8): rename, replace the text, or re-split with a new rule.
pub async fn update_by_text(
    State(state): State<AppState>,
    key: DatasetKey,
    Path((dataset_id, document_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateByText>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let document = find_document(&state, &dataset, &document_id).await?;
    let name = body.name.map(|n| n.trim().chars().take(200).collect::<String>());
    if name.as_deref() == Some("") {
        return Err(ApiError::invalid("name is required."));
    }
    let file = match body.text {
        Some(text) => {
            let Some(name) = &name else {
                return Err(ApiError::invalid("name is required when text is given."));
            };
            if text.trim().is_empty() {
                return Err(ApiError::invalid("text is required."));
            }
            Some((name.clone(), "txt".to_string(), text.into_bytes()))
        }
        None => None,
    };
    update_document(&state, &key, &dataset, &document, name, file, body.options).await
}

/// update-by-file (A.1 #9, and the newer PATCH on the document): a new file, new options, or both.
pub async fn update_by_file(
    State(state): State<AppState>,
    key: DatasetKey,
    Path((dataset_id, document_id)): Path<(String, String)>,
    ApiMultipart(multipart): ApiMultipart,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    let document = find_document(&state, &dataset, &document_id).await?;
    let form = read_file_form(multipart, &state.engine.config().upload.rules()).await?;
    let (name, file) = match form.file {
        Some(file) => (
            Some(file.name.clone()),
            Some((file.name, file.extension, file.bytes)),
        ),
        None => (None, None),
    };
    update_document(&state, &key, &dataset, &document, name, file, form.options).await
}

/// Applies an update: content or rule changes re-index the document (its old segments stay
/// searchable until the new ones replace them).
async fn update_document(
    state: &AppState,
    key: &DatasetKey,
    dataset: &Dataset,
    document: &DocumentRow,
    name: Option<String>,
    file: Option<(String, String, Vec<u8>)>,
    options: DocumentOptions,
) -> Result<Json<Value>, ApiError> {
    if document.archived {
        return Err(ApiError::new(
            ErrorCode::ArchivedDocumentImmutable,
            "The archived document is not editable.",
        ));
    }
    // Checked here too: without a process rule, resolve_options (which checks it) is not run,
    // and apply_dataset_options below stores it.
    if let Some(retrieval) = &options.retrieval_model {
        super::retrieve::parse_retrieval_model(retrieval)?;
    }
    let reindex = file.is_some() || options.process_rule.is_some();
    if reindex && !matches!(document.indexing_status.as_str(), "completed" | "error") {
        return Err(ApiError::new(
            ErrorCode::DocumentIndexing,
            "The document is being processed and cannot be edited.",
        ));
    }
    let process_rule = match &options.process_rule {
        Some(_) => Some(resolve_options(dataset, true, &options)?.process_rule),
        None => {
            if let Some(form) = &options.doc_form
                && form != &dataset.doc_form
            {
                return Err(ApiError::invalid(
                    "doc_form is different from the dataset doc_form.",
                ));
            }
            None
        }
    };
    let file = match file {
        Some((name, extension, bytes)) => {
            Some(store_file(state, &key.0.tenant_id, &name, &extension, bytes).await?)
        }
        None => None,
    };
    let new_storage_key = file.as_ref().map(|f| f.storage_key.clone());
    let update = DocumentUpdate {
        name,
        file,
        process_rule,
        doc_language: options.doc_language.clone(),
        // Dify keeps the document's batch when it is re-indexed.
        batch: document.batch.clone(),
        file_already_uploaded: false,
    };
    let store = state.engine.store();
    let outcome = async {
        apply_dataset_options(state, &key.0.tenant_id, dataset, &options).await?;
        match store
            .update_api_document(&key.0.tenant_id, &dataset.id, &document.id, &update)
            .await?
        {
            UpdateOutcome::Updated { replaced_storage_key } => Ok(replaced_storage_key),
            UpdateOutcome::NotFound => Err(ApiError::not_found("Document Not Exists.")),
            UpdateOutcome::Busy => Err(ApiError::new(
                ErrorCode::DocumentIndexing,
                "The document is being processed and cannot be edited.",
            )),
        }
    }
    .await;
    match outcome {
        // The document no longer refers to the file it had.
        Ok(Some(old)) => discard_file(state, &old).await,
        Ok(None) => {}
        Err(error) => {
            if let Some(new) = &new_storage_key {
                discard_file(state, new).await;
            }
            return Err(error);
        }
    }
    let updated = find_document(state, dataset, &document.id).await?;
    let schema = store.metadata_schema(&key.0.tenant_id, &dataset.id).await?;
    Ok(Json(
        json!({ "document": views::document(&updated, &schema), "batch": update.batch }),
    ))
}

pub async fn indexing_status<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, batch)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dataset = caller::find_document_dataset(&state, &caller, &dataset_id, Access::Read).await?;
    let documents = state.engine.store().batch_documents(&dataset.id, &batch).await?;
    if documents.is_empty() {
        return Err(ApiError::not_found("Documents not found."));
    }
    Ok(Json(
        json!({ "data": documents.iter().map(views::indexing_status).collect::<Vec<_>>() }),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    key: DatasetKey,
    Path(dataset_id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &key, &dataset_id).await?;
    if query.page == 0 || !(1..=100).contains(&query.limit) {
        return Err(ApiError::invalid(
            "page must be at least 1 and limit between 1 and 100",
        ));
    }
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(value) => Some(
            display_status_condition(value)
                .ok_or_else(|| ApiError::invalid(format!("Invalid status: {value}")))?,
        ),
    };
    let (documents, total) = state
        .engine
        .store()
        .filtered_documents(
            &dataset.id,
            query.keyword.as_deref(),
            status,
            DocumentSort::CreatedAt { descending: true },
            query.page,
            query.limit,
        )
        .await?;
    let schema = state
        .engine
        .store()
        .metadata_schema(&key.0.tenant_id, &dataset.id)
        .await?;
    Ok(Json(json!({
        "data": documents.iter().map(|d| views::document(d, &schema)).collect::<Vec<_>>(),
        "has_more": i64::from(query.page) * i64::from(query.limit) < total,
        "limit": query.limit,
        "total": total,
        "page": query.page,
    })))
}

pub(super) async fn find_document(
    state: &AppState,
    dataset: &Dataset,
    document_id: &str,
) -> Result<DocumentRow, ApiError> {
    let id = uuid_path(document_id, "Document")?;
    state
        .engine
        .store()
        .api_document(&dataset.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Document Not Exists."))
}

pub async fn get<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<DetailQuery>,
) -> Result<Json<Value>, ApiError> {
    let dataset = caller::find_document_dataset(&state, &caller, &dataset_id, Access::Read).await?;
    let metadata = query.metadata.unwrap_or_else(|| "all".into());
    if !matches!(metadata.as_str(), "all" | "only" | "without") {
        return Err(ApiError::new(
            ErrorCode::InvalidMetadata,
            format!("Invalid metadata value: {metadata}"),
        ));
    }
    let document = find_document(&state, &dataset, &document_id).await?;
    let schema = state
        .engine
        .store()
        .metadata_schema(caller.tenant_id(), &dataset.id)
        .await?;
    Ok(Json(views::document_detail(
        &document, &dataset, &metadata, &schema,
    )))
}

pub async fn delete<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path((dataset_id, document_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let dataset = caller::find_document_dataset(&state, &caller, &dataset_id, Access::Write).await?;
    let document = find_document(&state, &dataset, &document_id).await?;
    if document.archived {
        return Err(ApiError::new(
            ErrorCode::ArchivedDocumentImmutable,
            "The archived document is not editable.",
        ));
    }
    if matches!(
        document.indexing_status.as_str(),
        "parsing" | "cleaning" | "splitting" | "indexing"
    ) {
        return Err(ApiError::new(
            ErrorCode::DocumentIndexing,
            "Cannot delete document during indexing.",
        ));
    }
    state.engine.delete_document(&dataset, &document.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
