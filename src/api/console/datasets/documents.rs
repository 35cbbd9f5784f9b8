//! Documents in the console: made from uploaded files (Dify's KnowledgeConfig), listed with sort
//! and filters, renamed, paused and resumed, deleted in batches, enabled or archived in batches;
//! chunk previews (indexing estimates) of uploaded files or of documents; and `datasets/init`,
//! which makes a dataset and its first documents in one request.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipelines::Format;
use pipelines::chunk::{Chunk, ProcessRule};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use super::dataset::{default_process_rule, page_and_limit};
use crate::api::caller::{Access, Caller, find_document_dataset as find_dataset};
use crate::api::extract::{ApiJson, ApiQuery, uuid_path};
use crate::api::knowledge::datasets::{check_technique, dataset_json, embedding_model, embedding_model_for};
use crate::api::knowledge::documents::{DocumentOptions, apply_dataset_options, new_batch, resolve_options};
use crate::api::knowledge::views;
use crate::api::{ApiError, AppState, ErrorCode};
use crate::engine::{EstimateFile, HIGH_QUALITY};
use crate::store::{
    Dataset, DocumentAction, DocumentRow, DocumentSort, DocumentUpdate, NewApiDocument, NewDataset,
    UpdateOutcome, UploadFile, display_status_condition,
};

/// Most files one request may turn into documents (Dify's `BATCH_UPLOAD_LIMIT`).
const BATCH_UPLOAD_LIMIT: usize = 20;

/// Chunks shown in an indexing estimate (Dify shows 10).
const PREVIEW_CHUNKS: usize = 10;

/// Dify's KnowledgeConfig, as the console sends it to make documents.
#[derive(Debug, Deserialize)]
pub struct KnowledgeConfig {
    #[serde(default)]
    indexing_technique: Option<String>,
    #[serde(default)]
    data_source: Option<DataSource>,
    #[serde(default)]
    process_rule: Option<Value>,
    #[serde(default)]
    doc_form: Option<String>,
    #[serde(default)]
    doc_language: Option<String>,
    #[serde(default)]
    retrieval_model: Option<Value>,
    #[serde(default)]
    embedding_model: Option<String>,
    /// Dify's `duplicate` (default true): a file named as an enabled uploaded document of the
    /// dataset replaces that document's content instead of adding another document.
    #[serde(default)]
    duplicate: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct DataSource {
    info_list: InfoList,
}

#[derive(Debug, Deserialize)]
struct InfoList {
    data_source_type: String,
    #[serde(default)]
    file_info_list: Option<FileInfoList>,
    #[serde(default)]
    website_info_list: Option<WebsiteInfoList>,
}

/// Pages of a finished crawl to make documents of (Dify's `website_info_list`).
#[derive(Debug, Deserialize)]
struct WebsiteInfoList {
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    job_id: Option<String>,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    only_main_content: bool,
}

/// What documents are made of: uploaded files, or pages of a crawl.
enum Sources {
    Files(Vec<(UploadFile, Format)>),
    Pages {
        provider: String,
        job_id: String,
        only_main_content: bool,
        pages: Vec<crate::store::CrawlPage>,
    },
}

impl Sources {
    /// The first document's name (`datasets/init` names the dataset after it).
    fn first_name(&self) -> String {
        match self {
            Sources::Files(files) => files[0].0.name.clone(),
            Sources::Pages { pages, .. } => pages[0].url.clone(),
        }
    }
}

/// Dify's duplicate upload: the enabled document made from a file of the same name gets this
/// file as its content and is indexed again (same id, this batch); None when there is no such
/// document, or it is being indexed right now (the file then becomes a new document).
async fn replace_duplicate(
    state: &AppState,
    user: &ConsoleUser,
    dataset: &Dataset,
    file: &UploadFile,
    batch: &str,
    doc_language: &str,
) -> Result<Option<DocumentRow>, ApiError> {
    let store = state.engine.store();
    let Some(existing) = store.uploaded_document_named(&dataset.id, &file.name).await? else {
        return Ok(None);
    };
    if existing.archived {
        return Ok(None);
    }
    let update = DocumentUpdate {
        file: Some(file.clone()),
        file_already_uploaded: true,
        doc_language: Some(doc_language.to_string()),
        batch: batch.to_string(),
        ..DocumentUpdate::default()
    };
    match store
        .update_api_document(&user.tenant_id, &dataset.id, &existing.id, &update)
        .await?
    {
        UpdateOutcome::Updated { .. } => Ok(store.api_document(&dataset.id, &existing.id).await?),
        UpdateOutcome::NotFound | UpdateOutcome::Busy => Ok(None),
    }
}

/// Checks a data source and loads what its documents are made of, before anything is created.
async fn sources(
    state: &AppState,
    tenant_id: &str,
    info_list: Option<&InfoList>,
) -> Result<Sources, ApiError> {
    let Some(list) = info_list.filter(|l| l.data_source_type == "website_crawl") else {
        let ids = upload_file_ids(info_list)?;
        return Ok(Sources::Files(indexable_files(state, tenant_id, ids).await?));
    };
    let website = list
        .website_info_list
        .as_ref()
        .ok_or_else(|| ApiError::invalid("website_info_list is required."))?;
    let provider = super::website::check_provider(website.provider.as_deref())?.to_string();
    let job_id = website
        .job_id
        .as_deref()
        .ok_or_else(|| ApiError::invalid("website_info_list.job_id is required."))?;
    let job_id = uuid_path(job_id, "Crawl job")?;
    let store = state.engine.store();
    let crawl = store
        .crawl(tenant_id, &job_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Crawl job not found."))?;
    if crawl.status != "completed" || crawl.dataset_id.is_some() {
        return Err(ApiError::invalid("Crawl job is not completed."));
    }
    if website.urls.is_empty() {
        return Err(ApiError::invalid("website_info_list.urls is required."));
    }
    if website.urls.len() > crate::crawl::options::MAX_LIMIT {
        return Err(ApiError::invalid(format!(
            "At most {} pages can be imported at once.",
            crate::crawl::options::MAX_LIMIT
        )));
    }
    let crawled = store.crawl_pages(&crawl.id).await?;
    let mut pages = Vec::with_capacity(website.urls.len());
    let mut seen = std::collections::HashSet::new();
    for url in &website.urls {
        let page = crawled
            .iter()
            .find(|p| p.outcome == "ok" && &p.url == url)
            .ok_or_else(|| ApiError::invalid(format!("{url} is not a page the crawl read.")))?;
        if seen.insert(url.as_str()) {
            pages.push(page.clone());
        }
    }
    Ok(Sources::Pages {
        provider,
        job_id: crawl.id,
        only_main_content: website.only_main_content,
        pages,
    })
}

#[derive(Debug, Deserialize)]
struct FileInfoList {
    #[serde(default)]
    file_ids: Vec<String>,
}

/// The upload file ids of an info list: only uploaded files are supported (Notion and website
/// imports need connectors this server does not have).
fn upload_file_ids(info_list: Option<&InfoList>) -> Result<&[String], ApiError> {
    let info_list = info_list.ok_or_else(|| ApiError::invalid("data_source is required."))?;
    match info_list.data_source_type.as_str() {
        "upload_file" => {}
        "notion_import" => {
            return Err(ApiError::invalid(format!(
                "Data source type {} is not supported by this server; upload files or import a website instead.",
                info_list.data_source_type
            )));
        }
        _ => return Err(ApiError::invalid("Data source type not support")),
    }
    let ids = info_list
        .file_info_list
        .as_ref()
        .map(|list| list.file_ids.as_slice())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(ApiError::invalid("file_info_list.file_ids is required."));
    }
    if ids.len() > BATCH_UPLOAD_LIMIT {
        return Err(ApiError::invalid(format!(
            "You have reached the batch upload limit of {BATCH_UPLOAD_LIMIT}."
        )));
    }
    Ok(ids)
}

/// The workspace's uploaded files with these ids, each one a type ragd can index. An id of
/// another workspace is not found.
async fn indexable_files(
    state: &AppState,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<(UploadFile, Format)>, ApiError> {
    let mut files = Vec::with_capacity(ids.len());
    for id in ids {
        let id = uuid_path(id, "File")?;
        let file = state
            .engine
            .store()
            .workspace_upload_file(tenant_id, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("File not found."))?;
        let format = Format::from_extension(&file.extension).ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnsupportedFileType,
                format!(
                    "File type not allowed: .{} files cannot be indexed.",
                    file.extension
                ),
            )
        })?;
        files.push((file, format));
    }
    Ok(files)
}

impl KnowledgeConfig {
    fn options(&self) -> DocumentOptions {
        DocumentOptions {
            indexing_technique: self.indexing_technique.clone(),
            doc_form: self.doc_form.clone(),
            doc_language: self.doc_language.clone(),
            process_rule: self.process_rule.clone(),
            retrieval_model: self.retrieval_model.clone(),
            original_document_id: None,
            embedding_model: self.embedding_model.clone(),
        }
    }
}

/// Makes one document per uploaded file or crawled page, all in one batch, after checking
/// everything first.
async fn create_documents(
    state: &AppState,
    user: &ConsoleUser,
    dataset: &Dataset,
    config: &KnowledgeConfig,
) -> Result<Value, ApiError> {
    let sources = sources(
        state,
        &user.tenant_id,
        config.data_source.as_ref().map(|d| &d.info_list),
    )
    .await?;
    create_documents_of(state, user, dataset, config, sources).await
}

async fn create_documents_of(
    state: &AppState,
    user: &ConsoleUser,
    dataset: &Dataset,
    config: &KnowledgeConfig,
    sources: Sources,
) -> Result<Value, ApiError> {
    if let Some(model) = &config.embedding_model {
        embedding_model(state, Some(model))?;
    }
    let options = config.options();
    let store = state.engine.store();
    let counts = store.dataset_counts(&dataset.id).await?;
    let resolved = resolve_options(dataset, counts.documents > 0, &options)?;
    // The first upload's text (when it is text) or the first page's tells the language of a
    // new dataset.
    let sample = match &sources {
        _ if counts.documents > 0 || options.doc_language.is_some() => None,
        Sources::Files(files) => match files.first() {
            Some((file, _)) => {
                state
                    .engine
                    .stored_text_sample(&file.storage_key, &file.extension)
                    .await
            }
            None => None,
        },
        Sources::Pages { pages, .. } => pages.first().and_then(|page| {
            let text = page.content.as_deref()?;
            Some(text.chars().take(crate::engine::language::SAMPLE_BYTES).collect())
        }),
    };
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
    apply_dataset_options(state, &user.tenant_id, dataset, &options).await?;
    state
        .engine
        .follow_document_language(dataset, &language, options.embedding_model.as_deref())
        .await?;
    store.set_dataset_language(&dataset.id, &doc_language).await?;
    let batch = new_batch();
    let files = match sources {
        Sources::Files(files) => files,
        Sources::Pages {
            provider,
            job_id,
            only_main_content,
            pages,
        } => {
            let new = crate::crawl::sync::NewPage {
                dataset,
                tenant_id: &user.tenant_id,
                batch: &batch,
                doc_form: &resolved.doc_form,
                doc_language: &doc_language,
                process_rule: &resolved.process_rule,
            };
            let mut documents = Vec::with_capacity(pages.len());
            for page in &pages {
                let info = crate::crawl::sync::page_info(&page.url, &provider, &job_id, only_main_content);
                let content = page.content.as_deref().unwrap_or("");
                documents
                    .push(crate::crawl::sync::add_page(&new, &state.engine, &page.url, content, info).await?);
            }
            return created_answer(state, user, dataset, &documents, &batch).await;
        }
    };
    let mut documents = Vec::with_capacity(files.len());
    for (file, _) in files {
        if config.duplicate.unwrap_or(true)
            && let Some(document) =
                replace_duplicate(state, user, dataset, &file, &batch, &doc_language).await?
        {
            documents.push(document);
            continue;
        }
        let new = NewApiDocument {
            tenant_id: user.tenant_id.clone(),
            dataset_id: dataset.id.clone(),
            name: file.name.clone(),
            batch: batch.clone(),
            doc_form: resolved.doc_form.clone(),
            doc_language: doc_language.clone(),
            process_rule: resolved.process_rule.clone(),
            file,
        };
        documents.push(store.create_document_from_upload(new, "web").await?);
    }
    created_answer(state, user, dataset, &documents, &batch).await
}

/// The answer to a document-creating request: the dataset, its new documents and their batch.
async fn created_answer(
    state: &AppState,
    user: &ConsoleUser,
    dataset: &Dataset,
    documents: &[DocumentRow],
    batch: &str,
) -> Result<Value, ApiError> {
    let store = state.engine.store();
    let dataset = store
        .dataset(&user.tenant_id, &dataset.id)
        .await?
        .ok_or_else(|| ApiError::not_found("Dataset not found."))?;
    let schema = store.metadata_schema(&user.tenant_id, &dataset.id).await?;
    Ok(json!({
        "dataset": dataset_json(state, &dataset).await?,
        "documents": documents.iter().map(|d| views::document(d, &schema)).collect::<Vec<_>>(),
        "batch": batch,
    }))
}

pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
    ApiJson(config): ApiJson<KnowledgeConfig>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Write).await?;
    Ok(Json(create_documents(&state, &user, &dataset, &config).await?))
}

/// `POST /datasets/init`: a new dataset named after the first file, and its documents. If the
/// documents cannot be made, the dataset is removed again.
pub async fn init(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(config): ApiJson<KnowledgeConfig>,
) -> Result<Json<Value>, ApiError> {
    user.require_dataset_editor()?;
    let technique = config
        .indexing_technique
        .as_deref()
        .ok_or_else(|| ApiError::invalid("indexing_technique is required."))?;
    check_technique(technique)?;
    let sources = sources(
        &state,
        &user.tenant_id,
        config.data_source.as_ref().map(|d| &d.info_list),
    )
    .await?;
    let first = sources.first_name();
    let (model, dimension) = if technique == HIGH_QUALITY {
        let (model, dimension) = embedding_model_for(
            &state,
            config.embedding_model.as_deref(),
            config.doc_language.as_deref(),
        )?;
        (Some(model), Some(dimension))
    } else {
        (None, None)
    };
    let base: String = first.chars().take(18).collect::<String>() + "...";
    let store = state.engine.store();
    let mut dataset = None;
    // Dify names the dataset after the file; names are unique in a workspace here, so a
    // repeated name gets a number.
    for attempt in 1..=20 {
        let name = if attempt == 1 {
            base.clone()
        } else {
            format!("{base} ({attempt})")
        };
        let created = store
            .create_dataset(NewDataset {
                tenant_id: user.tenant_id.clone(),
                name,
                embedding_model: model.clone(),
                embedding_dimension: dimension,
                doc_form: "text_model".into(),
                process_rule: json!({"mode": "automatic"}),
                description: format!("useful for when you want to answer queries about the {first}"),
                indexing_technique: Some(technique.to_string()),
                permission: "only_me".into(),
                retrieval_model: None,
                created_by: Some(user.account_id.clone()),
            })
            .await;
        match created {
            Ok(created) => {
                dataset = Some(created);
                break;
            }
            Err(crate::store::StoreError::DuplicateDatasetName(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let dataset = dataset.ok_or_else(|| {
        ApiError::new(
            ErrorCode::DatasetNameDuplicate,
            "The dataset name already exists. Please modify your dataset name.",
        )
    })?;
    match create_documents_of(&state, &user, &dataset, &config, sources).await {
        Ok(answer) => Ok(Json(answer)),
        Err(error) => {
            state.engine.delete_dataset(&dataset).await?;
            Err(error)
        }
    }
}

/// The document object of console lists: the knowledge API's with its segment progress.
fn listed_document(document: &DocumentRow, schema: &crate::store::MetadataSchema) -> Value {
    let mut value = views::document(document, schema);
    value["completed_segments"] = json!(document.completed_segments);
    value["total_segments"] = json!(document.segment_count);
    value
}

pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    let (page, limit) = page_and_limit(&pairs)?;
    let mut keyword = None;
    let mut status = None;
    let mut sort = DocumentSort::CreatedAt { descending: true };
    for (key, value) in &pairs {
        match key.as_str() {
            "keyword" if !value.is_empty() => keyword = Some(value.clone()),
            "status" if !value.is_empty() => {
                status = Some(
                    display_status_condition(value)
                        .ok_or_else(|| ApiError::invalid(format!("Invalid status: {value}")))?,
                );
            }
            "sort" if !value.is_empty() => {
                sort = DocumentSort::parse(value)
                    .ok_or_else(|| ApiError::invalid(format!("Invalid sort: {value}")))?;
            }
            _ => {}
        }
    }
    let store = state.engine.store();
    let (documents, total) = store
        .filtered_documents(&dataset.id, keyword.as_deref(), status, sort, page, limit)
        .await?;
    let schema = store.metadata_schema(&user.tenant_id, &dataset.id).await?;
    Ok(Json(json!({
        "data": documents.iter().map(|d| listed_document(d, &schema)).collect::<Vec<_>>(),
        "has_more": i64::from(page) * i64::from(limit) < total,
        "limit": limit,
        "total": total,
        "page": page,
    })))
}

/// The repeated `document_id` query values, each checked to name a document of the dataset.
async fn documents_of_query(
    state: &AppState,
    dataset: &Dataset,
    pairs: &[(String, String)],
) -> Result<Vec<DocumentRow>, ApiError> {
    let ids: Vec<&String> = pairs
        .iter()
        .filter(|(key, _)| key == "document_id")
        .map(|(_, value)| value)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::invalid("document_id is required."));
    }
    let mut documents = Vec::with_capacity(ids.len());
    for id in ids {
        let id = uuid_path(id, "Document")?;
        let document = state
            .engine
            .store()
            .api_document(&dataset.id, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("Document Not Exists."))?;
        documents.push(document);
    }
    Ok(documents)
}

/// `DELETE /datasets/{id}/documents?document_id=..`: every id is checked before any is deleted.
pub async fn delete_batch(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Write).await?;
    let documents = documents_of_query(&state, &dataset, &pairs).await?;
    if documents.iter().any(|d| {
        matches!(
            d.indexing_status.as_str(),
            "parsing" | "cleaning" | "splitting" | "indexing"
        ) && !d.is_paused
    }) {
        return Err(ApiError::new(
            ErrorCode::DocumentIndexing,
            "Cannot delete document during indexing.",
        ));
    }
    for document in &documents {
        state.engine.delete_document(&dataset, &document.id).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PATCH /datasets/{id}/documents/status/{action}/batch?document_id=..`.
pub async fn status_batch(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, action)): Path<(String, String)>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Write).await?;
    let action: DocumentAction = action
        .parse()
        .map_err(|e: crate::store::UnknownAction| ApiError::new(ErrorCode::InvalidAction, e.to_string()))?;
    let documents = documents_of_query(&state, &dataset, &pairs).await?;
    let ids: Vec<String> = documents.into_iter().map(|d| d.id).collect();
    state.engine.set_document_status(&dataset, action, &ids).await?;
    Ok(Json(json!({"result": "success"})))
}

#[derive(Debug, Deserialize)]
pub struct RenameBody {
    name: Option<String>,
}

pub async fn rename(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<RenameBody>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Write).await?;
    let document_id = uuid_path(&document_id, "Document")?;
    let name = body.name.unwrap_or_default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(ApiError::invalid("name must be between 1 and 255 characters."));
    }
    let store = state.engine.store();
    if !store.rename_document(&dataset.id, &document_id, name).await? {
        return Err(ApiError::not_found("Document Not Exists."));
    }
    let document = store
        .api_document(&dataset.id, &document_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Document Not Exists."))?;
    let schema = store.metadata_schema(&user.tenant_id, &dataset.id).await?;
    Ok(Json(views::document(&document, &schema)))
}

/// `PATCH .../documents/{doc}/processing/{pause|resume}`.
pub async fn processing(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id, action)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Write).await?;
    match action.as_str() {
        "pause" => state.engine.pause_document(&dataset, &document_id).await?,
        "resume" => state.engine.resume_document(&dataset, &document_id).await?,
        _ => return Err(ApiError::new(ErrorCode::InvalidAction, "Invalid action.")),
    }
    Ok(Json(json!({"result": "success"})))
}

pub async fn document_indexing_status(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    let document = find_document(&state, &dataset, &document_id).await?;
    Ok(Json(views::indexing_status(&document)))
}

async fn find_document(
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

/// An estimate's answer: the chunk count and the first chunks (with their child chunks in
/// parent-child mode).
fn estimate_answer(total: usize, preview: &[Chunk]) -> Value {
    let preview: Vec<Value> = preview
        .iter()
        .map(|chunk| {
            let children: Option<Vec<&str>> = if chunk.children.is_empty() {
                None
            } else {
                Some(chunk.children.iter().map(|c| c.text.as_str()).collect())
            };
            json!({"content": chunk.text, "child_chunks": children, "summary": null})
        })
        .collect();
    json!({
        "total_segments": total,
        "preview": preview,
        "qa_preview": null,
        "tokens": 0,
        "total_price": 0,
        "currency": "USD",
    })
}

fn parse_rule(rule: &Value) -> Result<ProcessRule, ApiError> {
    ProcessRule::from_json(rule).map_err(|e| ApiError::invalid(e.to_string()))
}

/// Chunks the stored files of `documents` with each one's own rule.
async fn estimate_documents(
    state: &AppState,
    dataset: &Dataset,
    documents: &[DocumentRow],
) -> Result<Value, ApiError> {
    let mut total = 0;
    let mut preview = Vec::new();
    for document in documents {
        if matches!(document.indexing_status.as_str(), "completed" | "error") {
            return Err(ApiError::new(
                ErrorCode::DocumentAlreadyFinished,
                "The document has been processed. Please refresh the page or go to the document details.",
            ));
        }
        let file = document
            .file
            .as_ref()
            .ok_or_else(|| ApiError::not_found("File not found."))?;
        let format = Format::from_extension(&file.extension)
            .ok_or_else(|| ApiError::new(ErrorCode::UnsupportedFileType, "File type not allowed."))?;
        let rule = document
            .process_rule
            .as_deref()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .unwrap_or_else(|| dataset.process_rule.clone());
        let estimate = state
            .engine
            .estimate_chunks(
                vec![EstimateFile {
                    name: file.name.clone(),
                    path: state.engine.file_store().join(&file.storage_key),
                    format,
                }],
                &parse_rule(&rule)?,
                PREVIEW_CHUNKS.saturating_sub(preview.len()),
            )
            .await?;
        total += estimate.total_segments;
        preview.extend(estimate.preview);
    }
    Ok(estimate_answer(total, &preview))
}

pub async fn document_indexing_estimate(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    let document = find_document(&state, &dataset, &document_id).await?;
    Ok(Json(estimate_documents(&state, &dataset, &[document]).await?))
}

pub async fn batch_indexing_estimate(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, batch)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Read).await?;
    let documents = state.engine.store().batch_documents(&dataset.id, &batch).await?;
    if documents.is_empty() {
        return Err(ApiError::not_found("Documents not found."));
    }
    Ok(Json(estimate_documents(&state, &dataset, &documents).await?))
}

#[derive(Debug, Deserialize)]
pub struct EstimateBody {
    info_list: Option<InfoList>,
    #[serde(default)]
    process_rule: Option<Value>,
    indexing_technique: Option<String>,
    #[serde(default)]
    doc_form: Option<String>,
    #[serde(default)]
    dataset_id: Option<String>,
}

/// `POST /datasets/indexing-estimate`: the chunks uploaded files would make, nothing indexed.
pub async fn indexing_estimate(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<EstimateBody>,
) -> Result<Json<Value>, ApiError> {
    let technique = body
        .indexing_technique
        .as_deref()
        .ok_or_else(|| ApiError::invalid("indexing_technique is required."))?;
    check_technique(technique)?;
    if let Some(dataset_id) = &body.dataset_id {
        find_dataset(&state, &user, dataset_id, Access::Read).await?;
    }
    let ids = upload_file_ids(body.info_list.as_ref())?;
    let files = indexable_files(&state, user.tenant_id(), ids).await?;
    let rule = body.process_rule.unwrap_or_else(default_process_rule);
    let parsed = parse_rule(&rule)?;
    let hierarchical = parsed.mode == pipelines::chunk::ProcessMode::Hierarchical;
    match body.doc_form.as_deref().unwrap_or("text_model") {
        "hierarchical_model" if !hierarchical => {
            return Err(ApiError::invalid(
                "doc_form hierarchical_model needs a process_rule with mode hierarchical.",
            ));
        }
        "text_model" if hierarchical => {
            return Err(ApiError::invalid(
                "A process_rule with mode hierarchical needs doc_form hierarchical_model.",
            ));
        }
        "text_model" | "hierarchical_model" => {}
        "qa_model" => {
            return Err(ApiError::invalid(
                "doc_form qa_model needs an LLM to generate question-answer pairs, which this server does not have.",
            ));
        }
        _ => return Err(ApiError::invalid("Invalid doc_form.")),
    }
    let files = files
        .into_iter()
        .map(|(file, format)| EstimateFile {
            path: state.engine.file_store().join(&file.storage_key),
            name: file.name,
            format,
        })
        .collect();
    let estimate = state
        .engine
        .estimate_chunks(files, &parsed, PREVIEW_CHUNKS)
        .await?;
    Ok(Json(estimate_answer(estimate.total_segments, &estimate.preview)))
}
