//! The web console as `ragd serve` serves it: the embedded index and assets with their content
//! types and ETags, client-side routes answered with the index for browsers, and API paths
//! never shadowed by it.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use crate::knowledge_api::{Api, assert_error};

const HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn get(
    api: &Api,
    uri: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    get_with(api, "GET", uri, headers).await
}

async fn get_with(
    api: &Api,
    method: &str,
    uri: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = api
        .app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap()
        .to_vec();
    (status, headers, body)
}

fn text(headers: &axum::http::HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn index_and_assets_are_served_with_types_and_etags() {
    let api = Api::new().await;
    let (status, headers, body) = get(&api, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text(&headers, header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(text(&headers, header::CACHE_CONTROL), "no-cache");
    assert!(text(&headers, header::CONTENT_SECURITY_POLICY).contains("script-src 'self'"));
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains(r#"<script type="module" src="/assets/app.js">"#),
        "{html}"
    );

    for (path, content_type) in [
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/pages/upload.js", "text/javascript; charset=utf-8"),
        ("/assets/style.css", "text/css; charset=utf-8"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let (status, headers, body) = get(&api, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(text(&headers, header::CONTENT_TYPE), content_type, "{path}");
        assert_eq!(text(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert!(!body.is_empty());
        let etag = text(&headers, header::ETAG).to_string();
        // Revalidation: the same ETag gets a bodyless 304, another one the file.
        let (status, again, body) = get(&api, path, &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(text(&again, header::ETAG), etag);
        assert!(body.is_empty());
        let (status, _, _) = get(&api, path, &[(header::IF_NONE_MATCH, "\"stale\"")]).await;
        assert_eq!(status, StatusCode::OK);
    }

    // HEAD answers the headers without the body.
    let (status, headers, body) = get_with(&api, "HEAD", "/assets/app.js", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key(header::ETAG));
    assert!(body.is_empty());

    // An unknown asset is a 404, never the index.
    let (status, _, body) = get(&api, "/assets/missing.js", &[(header::ACCEPT, HTML)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_error(StatusCode::NOT_FOUND, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn page_routes_fall_back_to_the_index_but_apis_keep_their_404() {
    let api = Api::new().await;
    let (_, index_headers, index) = get(&api, "/", &[]).await;
    for page in [
        "/signin",
        "/install",
        "/datasets",
        "/datasets/0b7c/documents/create",
        "/apps",
        "/settings/api-keys",
    ] {
        let (status, headers, body) = get(&api, page, &[(header::ACCEPT, HTML)]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(text(&headers, header::CONTENT_TYPE), "text/html; charset=utf-8");
        assert_eq!(text(&headers, header::ETAG), text(&index_headers, header::ETAG));
        assert_eq!(body, index, "{page}");
    }
    // Not a browser page load: a JSON client, a POST.
    let (status, _, _) = get(&api, "/datasets", &[(header::ACCEPT, "application/json")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = get_with(&api, "POST", "/datasets", &[(header::ACCEPT, HTML)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // API and operations prefixes are never shadowed, even for a browser.
    for path in [
        "/v1/nope",
        "/console/api/nope",
        "/files/nope",
        "/api/nope",
        "/health/x",
        "/metrics/x",
    ] {
        let (status, headers, body) = get(&api, path, &[(header::ACCEPT, HTML)]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            text(&headers, header::CONTENT_TYPE).starts_with("application/json"),
            "{path}"
        );
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["message"], ragd::api::NOT_FOUND_MESSAGE, "{path}");
    }
    // And the real routes still answer as before.
    let (status, _, body) = get(&api, "/health", &[(header::ACCEPT, HTML)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(body).unwrap().contains("\"status\":\"ok\""));
    let (status, _) = api.call("GET", "/v1/datasets", None).await;
    assert_eq!(status, StatusCode::OK);
}
