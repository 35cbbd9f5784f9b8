//! The web console: a small single-page app (plain ES modules and CSS under `web/`) embedded in
//! the binary and served at `/` and `/assets/*`. Client-side routes (`/signin`, `/datasets/...`)
//! get `index.html` when a browser asks for a page; API prefixes are never shadowed, so an
//! unknown API path still answers the JSON 404.
//!
//! Assets are not fingerprinted (the modules import each other by plain path), so every answer
//! says `no-cache` and carries a strong ETag: a browser revalidates and gets a bodyless 304.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState, NOT_FOUND_MESSAGE};

/// One embedded file: its path under `web/` and its content type.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $content_type:literal),* $(,)?) => {
        &[$(Asset {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path)),
        }),*]
    };
}

/// Every file of `web/` (a unit test checks that none is missing).
const ASSETS: &[Asset] = assets![
    "index.html" => "text/html; charset=utf-8",
    "assets/favicon.svg" => "image/svg+xml",
    "assets/style.css" => "text/css; charset=utf-8",
    "assets/app.js" => "text/javascript; charset=utf-8",
    "assets/api.js" => "text/javascript; charset=utf-8",
    "assets/dom.js" => "text/javascript; charset=utf-8",
    "assets/router.js" => "text/javascript; charset=utf-8",
    "assets/sse.js" => "text/javascript; charset=utf-8",
    "assets/pages/auth.js" => "text/javascript; charset=utf-8",
    "assets/pages/datasets.js" => "text/javascript; charset=utf-8",
    "assets/pages/documents.js" => "text/javascript; charset=utf-8",
    "assets/pages/upload.js" => "text/javascript; charset=utf-8",
    "assets/pages/segments.js" => "text/javascript; charset=utf-8",
    "assets/pages/hit_testing.js" => "text/javascript; charset=utf-8",
    "assets/pages/settings.js" => "text/javascript; charset=utf-8",
    "assets/pages/apps.js" => "text/javascript; charset=utf-8",
    "assets/pages/annotations.js" => "text/javascript; charset=utf-8",
    "assets/pages/app_logs.js" => "text/javascript; charset=utf-8",
    "assets/pages/tags.js" => "text/javascript; charset=utf-8",
];

const INDEX: &str = "index.html";

/// Path prefixes that belong to APIs and operations, never to pages.
const API_PREFIXES: &[&str] = &[
    "/v1",
    "/console/api",
    "/api",
    "/files",
    "/health",
    "/metrics",
    "/assets",
];

/// The console's policy: everything from this origin, no inline script, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `/` and `/assets/*`; the page fallback is [`fallback`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve(find(INDEX).expect("index.html is embedded"), &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match find(&format!("assets/{path}")) {
        Some(asset) => serve(asset, &headers),
        None => ApiError::not_found(NOT_FOUND_MESSAGE).into_response(),
    }
}

/// The router's fallback: a browser's GET of a console page gets `index.html` (the app routes
/// on the client); anything else, and every API path, the JSON 404.
pub async fn fallback(request: Request) -> Response {
    if is_page_request(request.method(), request.uri().path(), request.headers()) {
        return index(request.headers().clone()).await;
    }
    ApiError::not_found(NOT_FOUND_MESSAGE).into_response()
}

fn is_page_request(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let api = API_PREFIXES
        .iter()
        .any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")));
    (method == Method::GET || method == Method::HEAD) && wants_html && !api
}

fn find(path: &str) -> Option<(usize, &'static Asset)> {
    ASSETS.iter().enumerate().find(|(_, a)| a.path == path)
}

/// Strong ETags (a hash of the bytes), computed once.
fn etag(index: usize) -> &'static str {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    &ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.bytes)[..12])))
            .collect()
    })[index]
}

fn serve((index, asset): (usize, &'static Asset), headers: &HeaderMap) -> Response {
    let etag = etag(index);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.bytes).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.path == INDEX {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_under_web_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut on_disk: Vec<String> = walkdir::WalkDir::new(&root)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                e.path()
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.path.to_string()).collect();
        embedded.sort();
        assert_eq!(
            on_disk, embedded,
            "add new web/ files to ASSETS in src/api/web.rs"
        );
    }

    #[test]
    fn pages_fall_back_to_the_index_but_api_paths_do_not() {
        let mut html = HeaderMap::new();
        html.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        let json = HeaderMap::new();
        assert!(is_page_request(&Method::GET, "/datasets/abc/documents", &html));
        assert!(is_page_request(&Method::HEAD, "/signin", &html));
        assert!(!is_page_request(&Method::GET, "/datasets", &json));
        assert!(!is_page_request(&Method::POST, "/datasets", &html));
        for path in [
            "/v1",
            "/v1/datasets",
            "/console/api/setup",
            "/files/x/file-preview",
            "/health",
            "/metrics",
            "/assets/nope.js",
        ] {
            assert!(!is_page_request(&Method::GET, path, &html), "{path}");
        }
        // A prefix match is by path segment: /v10 or /healthz would be pages.
        assert!(is_page_request(&Method::GET, "/healthcheck-page", &html));
    }

    #[test]
    fn etags_are_quoted_and_differ_between_files() {
        let a = etag(0);
        let b = etag(1);
        assert!(a.starts_with('"') && a.ends_with('"') && a.len() == 26);
        assert_ne!(a, b);
    }
}
