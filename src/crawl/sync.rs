//! Documents made of crawled pages, and re-syncs: a page fetched again is compared with its
//! document by content hash; a changed page is indexed again, an unchanged one left alone, a
//! page that is gone (404/410, or no longer linked from a crawl that saw the whole site) has its
//! document removed, and a new page becomes a document.

use std::collections::HashMap;

use reqwest::Url;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::engine::{Engine, EngineError};
use crate::store::{
    CrawlPage, Dataset, DocumentRow, DocumentUpdate, NewApiDocument, UpdateOutcome, UploadFile,
    WebsiteDocument, WebsiteOrigin,
};

/// The provider name ragd reports for its own crawler.
pub const PROVIDER: &str = "ragd";

/// What a re-sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncCounts {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub unchanged: usize,
    /// Documents left as they were because their page could not be fetched (an error that is
    /// not 404/410), the crawl stopped at its limit before reaching them, or they were being
    /// indexed or are archived.
    pub kept: usize,
}

/// Dify's data_source_info of a crawled page.
pub fn page_info(url: &str, provider: &str, job_id: &str, only_main_content: bool) -> Value {
    json!({
        "url": url,
        "provider": provider,
        "job_id": job_id,
        "only_main_content": only_main_content,
        "mode": "crawl",
    })
}

/// A document's name: the page URL, as Dify names website documents (cut like Dify's).
fn document_name(url: &str) -> String {
    if url.chars().count() > 255 {
        format!("{}...", url.chars().take(200).collect::<String>())
    } else {
        url.to_string()
    }
}

/// A batch id like the other document-creating routes'.
pub fn new_batch() -> String {
    let random = 100_000 + (uuid::Uuid::new_v4().as_u128() % 900_000) as u32;
    format!("{}{random}", chrono::Utc::now().format("%Y%m%d%H%M%S"))
}

/// Stores a page's content as a Markdown file of the workspace.
async fn write_page_file(
    engine: &Engine,
    tenant_id: &str,
    url: &str,
    content: &str,
) -> Result<UploadFile, EngineError> {
    let file_id = uuid::Uuid::new_v4().to_string();
    let storage_key = format!("{tenant_id}/{file_id}.md");
    let path = engine.file_store().join(&storage_key);
    let bytes = content.as_bytes().to_vec();
    let hash = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    tokio::task::spawn_blocking(move || crate::models::fetch::write_atomic(&path, &bytes))
        .await
        .map_err(|e| EngineError::Task(e.to_string()))?
        .map_err(|e| EngineError::Task(e.to_string()))?;
    Ok(UploadFile {
        id: file_id,
        name: format!("{}.md", document_name(url)),
        size,
        extension: "md".into(),
        mime_type: "text/markdown".into(),
        hash,
        storage_key,
        created_at: crate::store::now(),
    })
}

async fn discard(engine: &Engine, storage_key: &str) {
    // Losing this removal only leaves a stray file behind.
    let _ = tokio::fs::remove_file(engine.file_store().join(storage_key)).await;
}

/// What a new website document is made with.
#[derive(Debug, Clone)]
pub struct NewPage<'a> {
    pub dataset: &'a Dataset,
    pub tenant_id: &'a str,
    pub batch: &'a str,
    pub doc_form: &'a str,
    pub doc_language: &'a str,
    pub process_rule: &'a Value,
}

/// Makes a document (and its indexing job) of a crawled page.
pub async fn add_page(
    new: &NewPage<'_>,
    engine: &Engine,
    url: &str,
    content: &str,
    info: Value,
) -> Result<DocumentRow, EngineError> {
    let file = write_page_file(engine, new.tenant_id, url, content).await?;
    let storage_key = file.storage_key.clone();
    let document = NewApiDocument {
        tenant_id: new.tenant_id.to_string(),
        dataset_id: new.dataset.id.clone(),
        name: document_name(url),
        batch: new.batch.to_string(),
        doc_form: new.doc_form.to_string(),
        doc_language: new.doc_language.to_string(),
        process_rule: new.process_rule.clone(),
        file,
    };
    let origin = WebsiteOrigin {
        url: url.to_string(),
        info,
    };
    match engine.store().create_website_document(document, &origin).await {
        Ok(row) => Ok(row),
        Err(e) => {
            discard(engine, &storage_key).await;
            Err(e.into())
        }
    }
}

/// How one document compares with its page fetched again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageState<'a> {
    /// Read: its content.
    Found { content: &'a str, hash: &'a str },
    /// 404/410, or no longer linked.
    Gone,
    /// Could not be fetched this time, or not reached.
    Unknown,
}

/// Where one document's sync went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentSync {
    Updated,
    Removed,
    Unchanged,
    Kept,
}

/// Applies a page's new state to its document.
pub async fn sync_document(
    engine: &Engine,
    dataset: &Dataset,
    document: &WebsiteDocument,
    state: PageState<'_>,
    batch: &str,
) -> Result<DocumentSync, EngineError> {
    let busy = matches!(
        document.indexing_status.as_str(),
        "waiting" | "parsing" | "cleaning" | "splitting" | "indexing"
    );
    match state {
        PageState::Unknown => Ok(DocumentSync::Kept),
        PageState::Found { hash, .. } if hash == document.content_hash => Ok(DocumentSync::Unchanged),
        _ if busy || document.archived => Ok(DocumentSync::Kept),
        PageState::Gone => {
            engine.delete_document(dataset, &document.id).await?;
            Ok(DocumentSync::Removed)
        }
        PageState::Found { content, .. } => {
            let file = write_page_file(engine, &dataset.tenant_id, &document.url, content).await?;
            let new_key = file.storage_key.clone();
            let update = DocumentUpdate {
                file: Some(file),
                batch: batch.to_string(),
                ..DocumentUpdate::default()
            };
            let outcome = engine
                .store()
                .update_api_document(&dataset.tenant_id, &dataset.id, &document.id, &update)
                .await;
            match outcome {
                Ok(UpdateOutcome::Updated { replaced_storage_key }) => {
                    if let Some(old) = replaced_storage_key {
                        discard(engine, &old).await;
                    }
                    Ok(DocumentSync::Updated)
                }
                Ok(UpdateOutcome::NotFound | UpdateOutcome::Busy) => {
                    discard(engine, &new_key).await;
                    Ok(DocumentSync::Kept)
                }
                Err(e) => {
                    discard(engine, &new_key).await;
                    Err(e.into())
                }
            }
        }
    }
}

impl SyncCounts {
    pub fn count(&mut self, outcome: DocumentSync) {
        match outcome {
            DocumentSync::Updated => self.updated += 1,
            DocumentSync::Removed => self.removed += 1,
            DocumentSync::Unchanged => self.unchanged += 1,
            DocumentSync::Kept => self.kept += 1,
        }
    }
}

/// Applies a finished re-sync crawl of `start`'s site to the dataset's documents of that site.
pub async fn apply_site(
    engine: &Engine,
    tenant_id: &str,
    dataset_id: &str,
    crawl_id: &str,
    start: &Url,
    limit_reached: bool,
) -> Result<SyncCounts, String> {
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(crawl_id = %crawl_id, error = %e, "cannot apply a re-sync");
        "The re-sync could not be applied; see the server log.".to_string()
    };
    let store = engine.store();
    let dataset = store
        .dataset(tenant_id, dataset_id)
        .await
        .map_err(|e| failed(&e))?
        .ok_or_else(|| "The dataset was deleted during the re-sync.".to_string())?;
    let pages = store.crawl_pages(crawl_id).await.map_err(|e| failed(&e))?;
    let mut by_url: HashMap<&str, &CrawlPage> = HashMap::new();
    for page in &pages {
        by_url.insert(page.url.as_str(), page);
    }
    let options: super::CrawlOptions = store
        .crawl(tenant_id, crawl_id)
        .await
        .ok()
        .flatten()
        .and_then(|c| serde_json::from_str(&c.options).ok())
        .ok_or_else(|| failed(&"crawl options unreadable"))?;
    let documents = store
        .website_documents(dataset_id)
        .await
        .map_err(|e| failed(&e))?;
    let on_site = |url: &str| Url::parse(url).is_ok_and(|u| super::fetch::same_site(start, &u));
    let batch = new_batch();
    let mut counts = SyncCounts::default();
    let mut known = std::collections::HashSet::new();
    for document in documents.iter().filter(|d| on_site(&d.url)) {
        known.insert(document.url.as_str());
        let state = match by_url.get(document.url.as_str()) {
            Some(page) if page.outcome == "ok" => PageState::Found {
                content: page.content.as_deref().unwrap_or(""),
                hash: page.content_hash.as_deref().unwrap_or(""),
            },
            Some(page) if page.outcome == "gone" => PageState::Gone,
            Some(_) => PageState::Unknown,
            // Not linked any more: gone, if the crawl saw all it could.
            None if limit_reached => PageState::Unknown,
            None => PageState::Gone,
        };
        let outcome = sync_document(engine, &dataset, document, state, &batch)
            .await
            .map_err(|e| failed(&e))?;
        counts.count(outcome);
    }
    let new = NewPage {
        dataset: &dataset,
        tenant_id,
        batch: &batch,
        doc_form: &dataset.doc_form,
        doc_language: &dataset.doc_language,
        process_rule: &dataset.process_rule,
    };
    for page in pages
        .iter()
        .filter(|p| p.outcome == "ok" && !known.contains(p.url.as_str()))
    {
        let info = page_info(&page.url, PROVIDER, crawl_id, options.only_main_content);
        add_page(
            &new,
            engine,
            &page.url,
            page.content.as_deref().unwrap_or(""),
            info,
        )
        .await
        .map_err(|e| failed(&e))?;
        counts.added += 1;
    }
    Ok(counts)
}
