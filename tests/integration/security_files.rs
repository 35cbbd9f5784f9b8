//! Uploaded files are served so that they cannot run script on the server's origin (issue 19,
//! hole 2), and chat attachments stay with the end user and app that uploaded them (hole 8).

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use ragd::store::UploadFile;
use tower::ServiceExt;

use crate::knowledge_api::Api;

const BASE: &str = "https://files.example.org";

/// An uploaded file of the default workspace with these bytes, as any upload route stores one.
async fn stored_file(api: &Api, name: &str, extension: &str, mime_type: &str, bytes: &[u8]) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let storage_key = format!("{}/{id}.{extension}", ragd::store::DEFAULT_TENANT);
    let path = api.engine.file_store().join(&storage_key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let file = UploadFile {
        id: id.clone(),
        name: name.into(),
        size: bytes.len() as i64,
        extension: extension.into(),
        mime_type: mime_type.into(),
        hash: String::new(),
        storage_key,
        created_at: ragd::store::now(),
    };
    api.engine
        .store()
        .record_upload_file(ragd::store::DEFAULT_TENANT, "uploader", &file)
        .await
        .unwrap();
    id
}

async fn get(api: &Api, url: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let uri = url.strip_prefix(BASE).unwrap();
    let response = api
        .app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, headers, body.to_vec())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn uploaded_files_cannot_run_script_when_opened() {
    let api = Api::with_config(|config| config.server.files_url = Some(BASE.into())).await;
    let state = ragd::api::AppState::new(api.engine.clone()).unwrap();
    let script = b"<html><script>fetch('/console/api/account/profile')</script></html>";
    for (name, extension, mime_type, bytes) in [
        ("x.html", "html", "text/html", &script[..]),
        ("x.htm", "htm", "text/html", &script[..]),
        (
            "x.svg",
            "svg",
            "image/svg+xml",
            &b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"[..],
        ),
        (
            "x.xml",
            "xml",
            "application/xml",
            &b"<a:script xmlns:a='http://www.w3.org/1999/xhtml'>alert(1)</a:script>"[..],
        ),
        ("x", "", "application/octet-stream", &script[..]),
        // A stored type says "text/html" for an extension the server does not render.
        ("x.docx", "docx", "text/html", &script[..]),
    ] {
        let id = stored_file(&api, name, extension, mime_type, bytes).await;
        let (status, headers, body) = get(&api, &state.files.signed_url(&id, false)).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(body, bytes, "{name}");
        assert!(
            header(&headers, "content-disposition").starts_with("attachment;"),
            "{name} is downloaded, not shown"
        );
        assert_eq!(
            header(&headers, "content-type"),
            "application/octet-stream",
            "{name}"
        );
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff", "{name}");
        assert_eq!(
            header(&headers, "content-security-policy"),
            "sandbox; default-src 'none'",
            "{name}"
        );
    }

    // Types that cannot run script are shown inline; text always as plain UTF-8 text.
    for (name, extension, mime_type, served) in [
        ("notes.txt", "txt", "text/plain", "text/plain; charset=utf-8"),
        ("notes.md", "md", "text/markdown", "text/plain; charset=utf-8"),
        ("paper.pdf", "pdf", "application/pdf", "application/pdf"),
        ("photo.png", "png", "image/png", "image/png"),
    ] {
        let id = stored_file(&api, name, extension, mime_type, script).await;
        let (status, headers, _) = get(&api, &state.files.signed_url(&id, false)).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            header(&headers, "content-disposition").starts_with("inline;"),
            "{name}"
        );
        assert_eq!(header(&headers, "content-type"), served, "{name}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff", "{name}");
        assert_eq!(
            header(&headers, "content-security-policy"),
            "sandbox; default-src 'none'",
            "{name}"
        );
        // A download link downloads, and cannot be turned back into an inline one.
        let download = state.files.signed_url(&id, true);
        let (status, headers, _) = get(&api, &download).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            header(&headers, "content-disposition").starts_with("attachment;"),
            "{name}"
        );
        let stripped = download.replace("&as_attachment=true", "");
        let (status, _, _) = get(&api, &stripped).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: the flag is signed");
    }
}
