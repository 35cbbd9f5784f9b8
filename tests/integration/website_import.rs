//! Website import: a 50-page site served on loopback by the test (robots.txt, a sitemap, links
//! several levels deep, a page that fails, a huge page), crawled through the console routes with
//! the outbound guard allowing loopback; pages become indexed, retrievable documents; edits to
//! the site are picked up by a re-sync; loopback is refused when not allowed; bad input is a 400
//! that creates nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::console_datasets::{create_dataset, start_workers, uri, wait_until_indexed};
use crate::console_support::{Console, Session};
use crate::knowledge_api::assert_error;

/// Pages of the link tree: page i links to pages 2i+1 and 2i+2; page 0 is `/`.
const TREE: usize = 49;

type Pages = Arc<Mutex<HashMap<String, (StatusCode, &'static str, String)>>>;

/// The test site: path -> (status, content type, body).
struct Site {
    base: String,
    pages: Pages,
}

/// A word no other page has, for full-text retrieval.
fn token(i: usize) -> String {
    let a = (b'a' + (i / 26) as u8) as char;
    let b = (b'a' + (i % 26) as u8) as char;
    format!("zq{a}{b}wort")
}

fn path(i: usize) -> String {
    if i == 0 { "/".into() } else { format!("/p/{i}") }
}

fn html(title: &str, body: &str) -> String {
    format!(
        "<html><head><title>{title}</title><meta name=\"description\" content=\"About {title}\"></head>\
         <body><nav><a href=\"/\">Home</a></nav><main>{body}</main></body></html>"
    )
}

fn tree_page(i: usize, word: &str, extra: &str) -> String {
    let links: String = [2 * i + 1, 2 * i + 2]
        .into_iter()
        .filter(|&c| c < TREE)
        .map(|c| format!("<a href=\"{}\">Child {c}</a> ", path(c)))
        .collect();
    html(
        &format!("Page {i}"),
        &format!("<h1>Page {i}</h1><p>This page describes the {word} in detail.</p><p>{links}{extra}</p>"),
    )
}

impl Site {
    async fn start() -> Self {
        let pages: Pages = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let site = Site {
            base,
            pages: pages.clone(),
        };
        for i in 0..TREE {
            let extra = if i == 0 {
                "<a href=\"/private/secret\">Secret</a> <a href=\"/broken\">Broken</a> \
                 <a href=\"/huge\">Huge</a> <a href=\"/missing\">Missing</a> \
                 <a href=\"http://example.com/elsewhere\">Elsewhere</a> <a href=\"mailto:a@b.c\">Mail</a>"
            } else {
                ""
            };
            site.set(&path(i), tree_page(i, &token(i), extra));
        }
        site.set(
            "/orphan",
            html(
                "Orphan",
                &format!("<p>Only the sitemap knows the {}.</p>", token(TREE)),
            ),
        );
        site.set("/private/secret", html("Secret", "<p>zqsecretwort</p>"));
        site.set(
            "/huge",
            html("Huge", &"<p>lots of words here</p>".repeat(150_000)),
        );
        site.put(
            "/broken",
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/html",
            "oops".into(),
        );
        site.put(
            "/robots.txt",
            StatusCode::OK,
            "text/plain",
            format!(
                "User-agent: *\nDisallow: /private/\n\nSitemap: {}/sitemap.xml\n",
                site.base
            ),
        );
        site.put(
            "/sitemap.xml",
            StatusCode::OK,
            "application/xml",
            format!(
                "<?xml version=\"1.0\"?><urlset><url><loc>{0}/</loc></url><url><loc>{0}/p/3</loc></url>\
             <url><loc>{0}/orphan</loc></url></urlset>",
                site.base
            ),
        );
        let app = Router::new().fallback(serve).with_state(pages);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        site
    }

    fn set(&self, path: &str, body: String) {
        self.put(path, StatusCode::OK, "text/html; charset=utf-8", body);
    }

    fn put(&self, path: &str, status: StatusCode, content_type: &'static str, body: String) {
        self.pages
            .lock()
            .unwrap()
            .insert(path.to_string(), (status, content_type, body));
    }

    fn remove(&self, path: &str) {
        self.pages.lock().unwrap().remove(path);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn serve(State(pages): State<Pages>, uri: Uri) -> Response {
    match pages.lock().unwrap().get(uri.path()) {
        Some((status, content_type, body)) => {
            (*status, [(header::CONTENT_TYPE, *content_type)], body.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn allow_loopback(config: &mut ragd::config::Config) {
    config.security.outbound_allow = vec!["127.0.0.1".parse().unwrap()];
}

fn options(limit: usize) -> Value {
    json!({"crawl_sub_pages": true, "only_main_content": true, "includes": "", "excludes": "",
           "limit": limit, "max_depth": 6, "use_sitemap": true})
}

/// Polls a crawl until it is no longer active.
async fn wait_for_crawl(c: &Console, s: &Session, job_id: &str) -> Value {
    for _ in 0..600 {
        let (status, body) = s
            .call(
                c,
                "GET",
                &uri(&format!("/website/crawl/status/{job_id}?provider=firecrawl")),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status"] != "active" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("crawl {job_id} did not finish");
}

async fn start_crawl(c: &Console, s: &Session, url: &str, options: Value) -> String {
    let (status, body) = s
        .call(
            c,
            "POST",
            &uri("/website/crawl"),
            Some(json!({"provider": "firecrawl", "url": url, "options": options})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "active");
    body["job_id"].as_str().unwrap().to_string()
}

/// Names of the documents a full-text query finds.
async fn found(c: &Console, s: &Session, dataset: &str, query: &str) -> Vec<String> {
    let (status, hits) = s
        .call(
            c,
            "POST",
            &uri(&format!("/datasets/{dataset}/hit-testing")),
            Some(
                json!({"query": query, "retrieval_model": {"search_method": "full_text_search", "top_k": 3,
                "reranking_enable": false, "score_threshold_enabled": false}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    hits["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segment"]["document"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn urls(status: &Value) -> Vec<String> {
    status["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source_url"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_is_crawled_indexed_and_resynced() {
    crawl_index_resync(Console::with_config(allow_loopback).await).await;
}

/// The same on PostgreSQL, when `RAGD_TEST_POSTGRES_URL` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_is_crawled_indexed_and_resynced_on_postgres() {
    use sqlx::{Connection, Executor, PgConnection};
    let Ok(admin_url) = std::env::var("RAGD_TEST_POSTGRES_URL") else {
        eprintln!("skipping a_site_is_crawled_indexed_and_resynced_on_postgres: set RAGD_TEST_POSTGRES_URL");
        return;
    };
    let name = format!("ragd_website_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("PostgreSQL answers");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    let url = format!("{base}/{name}");
    let c = Console::with_config(|config| {
        allow_loopback(config);
        config.database_url = Some(url.clone());
    })
    .await;
    assert_eq!(c.engine.store().backend(), ragd::store::Backend::Postgres);
    crawl_index_resync(c).await;
}

async fn crawl_index_resync(c: Console) {
    let site = Site::start().await;
    start_workers(&c);
    let owner = c.owner().await;

    // A crawl of the whole site: 49 linked pages and the sitemap-only one.
    let job = start_crawl(&c, &owner, &site.url("/"), options(100)).await;
    let crawl = wait_for_crawl(&c, &owner, &job).await;
    assert_eq!(crawl["status"], "completed", "{crawl}");
    assert_eq!(crawl["total"], 50);
    assert_eq!(crawl["completed"], 50);
    assert_eq!(crawl["limit_reached"], false);
    let pages = urls(&crawl);
    assert_eq!(pages.len(), 50);
    assert!(
        pages.contains(&site.url("/orphan")),
        "the sitemap's page is crawled"
    );
    assert!(
        pages.contains(&site.url("/p/48")),
        "the deepest pages are crawled"
    );
    let first = &crawl["data"][0];
    assert_eq!(first["source_url"], site.url("/"));
    assert_eq!(first["title"], "Page 0");
    assert_eq!(first["description"], "About Page 0");
    assert!(first["markdown"].as_str().unwrap().contains(&token(0)));
    assert!(
        !first["markdown"].as_str().unwrap().contains("Home"),
        "only the main content"
    );
    let failed: HashMap<String, String> = crawl["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["source_url"].as_str().unwrap().to_string(),
                f["error"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(failed.len(), 4, "{failed:?}");
    assert!(failed[&site.url("/private/secret")].contains("robots.txt"));
    assert!(failed[&site.url("/broken")].contains("HTTP 500"));
    assert!(failed[&site.url("/huge")].contains("larger than"));
    assert!(failed[&site.url("/missing")].contains("404"));

    // A smaller limit stops early; without sub-pages only the start page is read.
    let limited = wait_for_crawl(
        &c,
        &owner,
        &start_crawl(&c, &owner, &site.url("/"), options(10)).await,
    )
    .await;
    assert_eq!(
        (limited["completed"].as_i64(), limited["limit_reached"].as_bool()),
        (Some(10), Some(true))
    );
    let single = json!({"crawl_sub_pages": false, "limit": 10});
    let single = wait_for_crawl(
        &c,
        &owner,
        &start_crawl(&c, &owner, &site.url("/p/5"), single).await,
    )
    .await;
    assert_eq!(urls(&single), [site.url("/p/5")]);

    // Every page becomes a document, indexed like an upload.
    let dataset = create_dataset(&c, &owner, "Site", "only_me").await;
    let config = json!({
        "indexing_technique": "high_quality",
        "data_source": {"type": "website_crawl", "info_list": {"data_source_type": "website_crawl",
            "website_info_list": {"provider": "firecrawl", "job_id": job, "urls": pages, "only_main_content": true}}},
        "process_rule": {"mode": "automatic"},
        "doc_form": "text_model",
        "doc_language": "English",
    });
    let docs_uri = uri(&format!("/datasets/{dataset}/documents"));
    let (status, created) = owner.call(&c, "POST", &docs_uri, Some(config)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let documents = created["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 50);
    assert_eq!(documents[0]["data_source_type"], "website_crawl");
    assert_eq!(documents[0]["name"], site.url("/"));
    assert_eq!(documents[0]["data_source_info"]["url"], site.url("/"));
    assert_eq!(documents[0]["data_source_info"]["job_id"], job);
    let items = wait_until_indexed(&c, &owner, &dataset, created["batch"].as_str().unwrap()).await;
    assert!(
        items.iter().all(|i| i["indexing_status"] == "completed"),
        "{items:?}"
    );
    assert_eq!(
        found(&c, &owner, &dataset, &token(17)).await.first(),
        Some(&site.url("/p/17"))
    );
    assert_eq!(
        found(&c, &owner, &dataset, &token(TREE)).await.first(),
        Some(&site.url("/orphan"))
    );
    assert!(
        found(&c, &owner, &dataset, "zqsecretwort").await.is_empty(),
        "robots.txt was honoured"
    );

    // The site changes: three pages edited, two deleted, one added (linked from an edited page).
    for i in [10, 20, 30] {
        let extra = if i == 10 { "<a href=\"/p/new\">New</a>" } else { "" };
        site.set(&path(i), tree_page(i, &format!("{}x", token(i)), extra));
    }
    site.remove("/p/47");
    site.remove("/p/48");
    site.set("/p/new", html("New page", "<p>The zqnewpagewort arrived.</p>"));
    let (status, body) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/website-sync")),
            Some(json!({"provider": "firecrawl", "url": site.url("/"), "options": options(100)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let resync = wait_for_crawl(&c, &owner, body["job_id"].as_str().unwrap()).await;
    assert_eq!(resync["status"], "completed", "{resync}");
    assert_eq!(
        resync["sync"],
        json!({"added": 1, "updated": 3, "removed": 2, "unchanged": 45, "kept": 0}),
        "{}",
        resync["failed"]
    );
    wait_all_indexed(&c, &owner, &dataset, 49).await;
    assert_eq!(
        found(&c, &owner, &dataset, &format!("{}x", token(10)))
            .await
            .first(),
        Some(&site.url("/p/10"))
    );
    assert!(
        found(&c, &owner, &dataset, &token(10)).await.is_empty(),
        "the old text is gone"
    );
    assert!(
        found(&c, &owner, &dataset, &token(47)).await.is_empty(),
        "deleted pages are gone"
    );
    assert_eq!(
        found(&c, &owner, &dataset, "zqnewpagewort").await.first(),
        Some(&site.url("/p/new"))
    );
    assert_eq!(
        found(&c, &owner, &dataset, &token(17)).await.first(),
        Some(&site.url("/p/17"))
    );

    // One document synced on its own: unchanged, then changed, then gone.
    let list = owner
        .call(&c, "GET", &format!("{docs_uri}?limit=100"), None)
        .await
        .1;
    let doc_of = |url: String| {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == url)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let five = doc_of(site.url("/p/5"));
    let sync_uri = uri(&format!("/datasets/{dataset}/documents/{five}/website-sync"));
    let (status, body) = owner.call(&c, "GET", &sync_uri, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sync"]["unchanged"], 1, "{body}");
    site.set(&path(5), tree_page(5, "zqfivewort", ""));
    let body = owner.call(&c, "GET", &sync_uri, None).await.1;
    assert_eq!(body["sync"]["updated"], 1, "{body}");
    wait_all_indexed(&c, &owner, &dataset, 49).await;
    assert_eq!(
        found(&c, &owner, &dataset, "zqfivewort").await.first(),
        Some(&site.url("/p/5"))
    );
    site.remove("/p/5");
    let body = owner.call(&c, "GET", &sync_uri, None).await.1;
    assert_eq!(body["sync"]["removed"], 1, "{body}");
    let (status, _) = owner.call(&c, "GET", &sync_uri, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another workspace sees none of it.
    let other = c.other_workspace().await;
    let (status, body) = other
        .call(
            &c,
            "GET",
            &uri(&format!("/website/crawl/status/{job}?provider=firecrawl")),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

/// Waits until the dataset has `count` documents, all indexed.
async fn wait_all_indexed(c: &Console, s: &Session, dataset: &str, count: usize) {
    for _ in 0..600 {
        let (_, list) = s
            .call(
                c,
                "GET",
                &uri(&format!("/datasets/{dataset}/documents?limit=100")),
                None,
            )
            .await;
        let docs = list["data"].as_array().unwrap();
        if docs.len() == count && docs.iter().all(|d| d["indexing_status"] == "completed") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the dataset did not settle at {count} indexed documents");
}

#[tokio::test]
async fn loopback_is_refused_unless_allowed_and_bad_input_creates_nothing() {
    let site = Site::start().await;
    let c = Console::new().await;
    let owner = c.owner().await;
    let crawl = |body: Value| {
        let owner = owner.clone();
        let c = &c;
        async move { owner.call(c, "POST", &uri("/website/crawl"), Some(body)).await }
    };
    for url in [site.url("/"), site.url("/").replace("127.0.0.1", "localhost")] {
        let (status, body) =
            crawl(json!({"provider": "firecrawl", "url": url, "options": options(10)})).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("internal address") && message.contains("outbound_allow"),
            "{message}"
        );
    }
    let good = site.url("/");
    for body in [
        json!({"provider": "firecrawl", "url": "not a url", "options": options(10)}),
        json!({"provider": "firecrawl", "url": "ftp://example.com/", "options": options(10)}),
        json!({"provider": "firecrawl", "options": options(10)}),
        json!({"provider": "firecrawl", "url": good, "options": options(0)}),
        json!({"provider": "firecrawl", "url": good, "options": options(100_000)}),
        json!({"provider": "firecrawl", "url": good, "options": {"max_depth": 99}}),
        json!({"provider": "firecrawl", "url": good, "options": {"includes": "(["}}),
        json!({"provider": "nobody", "url": good, "options": options(10)}),
        json!({"url": good, "options": options(10)}),
    ] {
        let (status, answer) = crawl(body.clone()).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
        assert!(!answer["message"].as_str().unwrap().is_empty(), "{body}");
    }
    assert_eq!(c.engine.store().crawl_count(&owner.tenant_id).await.unwrap(), 0);
    let (status, body) = owner
        .call(
            &c,
            "GET",
            &uri("/website/crawl/status/not-a-job?provider=firecrawl"),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let missing = uuid::Uuid::new_v4();
    let (status, body) = owner
        .call(&c, "GET", &uri(&format!("/website/crawl/status/{missing}")), None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");

    // Documents of a crawl that does not exist, or of pages it did not read, are refused.
    let dataset = create_dataset(&c, &owner, "Nothing", "only_me").await;
    let docs_uri = uri(&format!("/datasets/{dataset}/documents"));
    for info in [
        json!({"provider": "firecrawl", "job_id": missing, "urls": [good]}),
        json!({"provider": "firecrawl", "urls": [good]}),
        json!({"provider": "nobody", "job_id": missing, "urls": [good]}),
    ] {
        let config = json!({"indexing_technique": "high_quality",
            "data_source": {"info_list": {"data_source_type": "website_crawl", "website_info_list": info}},
            "process_rule": {"mode": "automatic"}});
        let (status, _) = owner.call(&c, "POST", &docs_uri, Some(config)).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{status}"
        );
    }
    let list = owner.call(&c, "GET", &docs_uri, None).await.1;
    assert_eq!(list["total"], 0);
}
