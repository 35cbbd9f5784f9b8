//! Website import in the console (Dify's `/website/crawl` and `website-sync` routes). ragd's own
//! crawler ([`crate::crawl`]) is the provider whatever the request names: Dify's provider names
//! (`firecrawl`, `watercrawl`, `jinareader`) are accepted so Dify's console works unchanged, and
//! `ragd` names it directly. Crawls run in the background; their status is polled.

use axum::Json;
use axum::extract::{Path, State};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use crate::api::caller::{Access, find_dataset};
use crate::api::extract::{ApiJson, ApiQuery, uuid_path};
use crate::api::{ApiError, AppState};
use crate::crawl::sync::{DocumentSync, PageState, SyncCounts, new_batch, sync_document};
use crate::crawl::{CrawlOptions, Event, Limits, job};
use crate::outbound::OutboundError;
use crate::store::CrawlRow;

/// Provider names a request may give.
const PROVIDERS: &[&str] = &[
    "firecrawl",
    "watercrawl",
    "jinareader",
    crate::crawl::sync::PROVIDER,
];

pub(super) fn check_provider(provider: Option<&str>) -> Result<&str, ApiError> {
    match provider {
        Some(p) if PROVIDERS.contains(&p) => Ok(p),
        Some(p) => Err(ApiError::invalid(format!(
            "Invalid provider {p:?}: use one of {}.",
            PROVIDERS.join(", ")
        ))),
        None => Err(ApiError::invalid("provider is required.")),
    }
}

#[derive(Debug, Deserialize)]
pub struct CrawlRequest {
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    options: Option<Value>,
}

/// The start URL, checked against the outbound guard before anything is recorded.
async fn start_url(state: &AppState, url: Option<&str>) -> Result<Url, ApiError> {
    let url = url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::invalid("url is required."))?;
    let checked = state
        .engine
        .outbound()
        .policy()
        .check_destination(url)
        .await
        .map_err(|e| match e {
            OutboundError::InvalidUrl(message) => ApiError::invalid(message),
            refused @ OutboundError::Refused { .. } => {
                ApiError::invalid(format!("Cannot crawl {url}: {refused}."))
            }
            unresolved @ OutboundError::Unresolved { .. } => {
                ApiError::invalid(format!("Cannot crawl {url}: {unresolved}."))
            }
        })?;
    let mut checked = checked;
    checked.set_fragment(None);
    Ok(checked)
}

impl CrawlRequest {
    async fn checked(&self, state: &AppState) -> Result<(Url, CrawlOptions), ApiError> {
        check_provider(self.provider.as_deref())?;
        let options = CrawlOptions::from_value(self.options.as_ref()).map_err(ApiError::invalid)?;
        let url = start_url(state, self.url.as_deref()).await?;
        Ok((url, options))
    }
}

/// `POST /website/crawl`: starts a crawl; `{status: "active", job_id}`.
pub async fn crawl(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(request): ApiJson<CrawlRequest>,
) -> Result<Json<Value>, ApiError> {
    user.require_dataset_editor()?;
    let (url, options) = request.checked(&state).await?;
    let id = job::start(state.engine.clone(), &user.tenant_id, url, options, None).await?;
    Ok(Json(json!({"status": "active", "job_id": id})))
}

/// The status a crawl reports: one not heard from in a long while was cut short.
fn reported_status(crawl: &CrawlRow) -> (String, Option<String>) {
    let stale = crate::store::now() - crawl.updated_at > job::STALE_AFTER.as_secs() as i64;
    if crawl.status == "active" && stale {
        return (
            "failed".into(),
            Some("The crawl was interrupted (the server stopped); start it again.".into()),
        );
    }
    (crawl.status.clone(), crawl.error.clone())
}

/// `GET /website/crawl/status/{job_id}?provider=`: progress, the pages read so far (Dify's
/// `data` items, with both `markdown` and `content`), and the pages that failed with why.
pub async fn status(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(job_id): Path<String>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let provider = pairs
        .iter()
        .find(|(k, _)| k == "provider")
        .map(|(_, v)| v.as_str());
    check_provider(provider)?;
    let id = uuid_path(&job_id, "Crawl job")?;
    let store = state.engine.store();
    let crawl = store
        .crawl(&user.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Crawl job not found."))?;
    let pages = store.crawl_pages(&crawl.id).await?;
    let (status, error) = reported_status(&crawl);
    let mut data = Vec::new();
    let mut failed = Vec::new();
    for page in pages {
        if page.outcome == "ok" {
            let content = page.content.unwrap_or_default();
            data.push(json!({
                "title": page.title,
                "description": page.description,
                "source_url": page.url,
                "markdown": content,
                "content": content,
            }));
        } else {
            failed.push(json!({"source_url": page.url, "error": page.error, "gone": page.outcome == "gone"}));
        }
    }
    let mut answer = json!({
        "status": status,
        "job_id": crawl.id,
        "url": crawl.url,
        "total": crawl.total,
        "current": crawl.completed,
        "completed": crawl.completed,
        "limit_reached": crawl.limit_reached,
        "time_consuming": crawl.updated_at - crawl.created_at,
        "data": data,
        "failed": failed,
    });
    if let Some(error) = error {
        answer["error"] = json!(error);
    }
    if let Some(sync) = crawl
        .sync
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    {
        answer["sync"] = sync;
    }
    if let Some(dataset_id) = crawl.dataset_id {
        answer["dataset_id"] = json!(dataset_id);
    }
    Ok(Json(answer))
}

/// `POST /datasets/{id}/website-sync`: crawls the site again in the background and applies the
/// result to the dataset's documents of that site; the crawl's status reports the counts.
pub async fn sync_site(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(dataset_id): Path<String>,
    ApiJson(request): ApiJson<CrawlRequest>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Write).await?;
    let mut request = request;
    request
        .provider
        .get_or_insert_with(|| crate::crawl::sync::PROVIDER.to_string());
    let (url, options) = request.checked(&state).await?;
    let id = job::start(
        state.engine.clone(),
        &user.tenant_id,
        url,
        options,
        Some(dataset.id),
    )
    .await?;
    Ok(Json(json!({"status": "active", "job_id": id})))
}

#[derive(Debug, Deserialize)]
struct PageOrigin {
    #[serde(default)]
    only_main_content: bool,
}

/// `GET|POST /datasets/{id}/documents/{doc_id}/website-sync` (Dify's route is a GET): fetches
/// the document's page again, now, and re-indexes, removes or keeps the document.
pub async fn sync_document_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((dataset_id, document_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &user, &dataset_id, Access::Write).await?;
    let document_id = uuid_path(&document_id, "Document")?;
    let store = state.engine.store();
    let documents = store.website_documents(&dataset.id).await?;
    let Some(document) = documents.into_iter().find(|d| d.id == document_id) else {
        return match store.api_document(&dataset.id, &document_id).await? {
            Some(_) => Err(ApiError::invalid(
                "This document was not imported from a website.",
            )),
            None => Err(ApiError::not_found("Document not found.")),
        };
    };
    let origin: PageOrigin = document
        .data_source_info
        .as_deref()
        .and_then(|info| serde_json::from_str(info).ok())
        .unwrap_or(PageOrigin {
            only_main_content: false,
        });
    let url = Url::parse(&document.url).map_err(|_| ApiError::invalid("The document's URL is not valid."))?;
    let options = CrawlOptions {
        crawl_sub_pages: false,
        only_main_content: origin.only_main_content,
        includes: Vec::new(),
        excludes: Vec::new(),
        limit: 1,
        max_depth: 0,
        use_sitemap: false,
    };
    let limits = Limits {
        max_page_bytes: crate::crawl::fetch::MAX_PAGE_BYTES,
        parse: state.engine.parse_limits(),
    };
    let (events, mut received) = tokio::sync::mpsc::channel(4);
    let client = state.engine.outbound().clone();
    let crawler =
        tokio::spawn(async move { crate::crawl::crawl(&client, &url, &options, &limits, events).await });
    let mut result = None;
    while let Some(event) = received.recv().await {
        if let Event::Page { result: page, .. } = event {
            result = Some(page);
        }
    }
    crawler.await.map_err(ApiError::internal)?;
    let (state_now, error) = match &result {
        Some(Ok(page)) => (
            PageState::Found {
                content: &page.content,
                hash: &page.content_hash,
            },
            None,
        ),
        Some(Err(crate::crawl::Failure::Gone(status))) => (PageState::Gone, Some(format!("HTTP {status}"))),
        Some(Err(failure)) => (PageState::Unknown, Some(failure.reason())),
        None => (
            PageState::Unknown,
            Some("the page could not be fetched".to_string()),
        ),
    };
    let outcome = sync_document(&state.engine, &dataset, &document, state_now, &new_batch()).await?;
    let mut counts = SyncCounts::default();
    counts.count(outcome);
    let mut answer = json!({"result": "success", "sync": counts});
    if let Some(error) = error.filter(|_| outcome != DocumentSync::Removed) {
        answer["error"] = json!(error);
    }
    Ok(Json(answer))
}
