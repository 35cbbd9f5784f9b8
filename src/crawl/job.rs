//! Crawls in the background: the request records the crawl and returns its id; a task crawls,
//! writes each page to SQL as it is read (so the status route shows progress from any server
//! process), and for a re-sync applies the result to the dataset at the end.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokio::sync::mpsc;

use super::fetch::MAX_PAGE_BYTES;
use super::{CrawlOptions, Event, Limits, crawl};
use crate::engine::Engine;
use crate::store::{CrawlPage, StoreError};

/// A crawl not heard from for this long was cut short (its server stopped).
pub const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// Records a crawl and starts it; returns its id. With `dataset_id` it is a re-sync of that
/// dataset's pages of the site.
pub async fn start(
    engine: Arc<Engine>,
    tenant_id: &str,
    url: Url,
    options: CrawlOptions,
    dataset_id: Option<String>,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    let stored = serde_json::to_string(&options).unwrap_or_default();
    engine
        .store()
        .create_crawl(&id, tenant_id, dataset_id.as_deref(), url.as_str(), &stored)
        .await?;
    let crawl_id = id.clone();
    let tenant_id = tenant_id.to_string();
    tokio::spawn(async move { run(engine, crawl_id, tenant_id, url, options, dataset_id).await });
    Ok(id)
}

async fn run(
    engine: Arc<Engine>,
    crawl_id: String,
    tenant_id: String,
    url: Url,
    options: CrawlOptions,
    dataset_id: Option<String>,
) {
    let (events, mut received) = mpsc::channel(16);
    let limits = Limits {
        max_page_bytes: MAX_PAGE_BYTES,
        parse: engine.parse_limits(),
    };
    let client = engine.outbound().clone();
    let start = url.clone();
    let crawler = tokio::spawn(async move { crawl(&client, &start, &options, &limits, events).await });
    let store = engine.store();
    let (mut position, mut total) = (0i64, 0i64);
    let mut failure: Option<String> = None;
    while let Some(event) = received.recv().await {
        let written = match event {
            Event::Discovered(found) if found as i64 != total => {
                total = found as i64;
                store.set_crawl_total(&crawl_id, total).await
            }
            Event::Discovered(_) => Ok(()),
            Event::Page { url, result } => {
                position += 1;
                store
                    .add_crawl_page(&crawl_id, position, &crawl_page(url, result))
                    .await
            }
        };
        if let Err(e) = written {
            tracing::error!(crawl_id = %crawl_id, error = %e, "cannot record a crawled page");
            failure = Some("The crawl could not be recorded; see the server log.".into());
            break;
        }
    }
    drop(received);
    let summary = match crawler.await {
        Ok(summary) => summary,
        Err(e) => {
            tracing::error!(crawl_id = %crawl_id, error = %e, "crawler stopped");
            failure
                .get_or_insert_with(|| "The crawl stopped on an internal error; see the server log.".into());
            super::Summary { limit_reached: false }
        }
    };
    let mut sync = None;
    if failure.is_none()
        && let Some(dataset_id) = &dataset_id
    {
        match super::sync::apply_site(
            &engine,
            &tenant_id,
            dataset_id,
            &crawl_id,
            &url,
            summary.limit_reached,
        )
        .await
        {
            Ok(counts) => sync = Some(serde_json::to_string(&counts).unwrap_or_default()),
            Err(e) => failure = Some(e),
        }
    }
    let status = if failure.is_some() { "failed" } else { "completed" };
    if let Err(e) = store
        .finish_crawl(
            &crawl_id,
            status,
            summary.limit_reached,
            failure.as_deref(),
            sync.as_deref(),
        )
        .await
    {
        tracing::error!(crawl_id = %crawl_id, error = %e, "cannot record the end of a crawl");
    }
}

fn crawl_page(url: String, result: Result<super::Page, super::Failure>) -> CrawlPage {
    match result {
        Ok(page) => CrawlPage {
            url: page.url,
            outcome: "ok".into(),
            title: page.title,
            description: page.description,
            content: Some(page.content),
            content_hash: Some(page.content_hash),
            error: None,
        },
        Err(failure) => CrawlPage {
            url,
            outcome: match failure {
                super::Failure::Gone(_) => "gone".into(),
                super::Failure::Failed(_) => "failed".into(),
            },
            title: String::new(),
            description: String::new(),
            content: None,
            content_hash: None,
            error: Some(failure.reason()),
        },
    }
}
