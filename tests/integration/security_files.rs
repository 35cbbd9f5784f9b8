//! Uploaded files are served so that they cannot run script on the server's origin (issue 19,
//! hole 2), and chat attachments stay with the end user and app that uploaded them (hole 8).

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use ragd::apps::manage::{self, AppDraft};
use ragd::store::{DEFAULT_TENANT, TokenType, UploadFile};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::knowledge_api::{Api, assert_error};
use crate::openai_stub::{OpenAiStub, prompt_text};

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

/// A chat app without knowledge, and a key for it.
async fn app_key(api: &Api, name: &str) -> String {
    let app = manage::create(
        &api.engine,
        DEFAULT_TENANT,
        AppDraft {
            name: name.into(),
            mode: "chat".into(),
            model_config: Some(json!({
                "model": {"provider": "openai_api_compatible", "name": "m", "mode": "chat", "completion_params": {}},
                "pre_prompt": "Answer from the attached documents.",
            })),
            ..AppDraft::default()
        },
    )
    .await
    .unwrap();
    api.engine
        .store()
        .issue_api_token(DEFAULT_TENANT, TokenType::App, Some(&app.id), None)
        .await
        .unwrap()
        .expect("no limit")
        .key
}

/// Uploads a text file through `/files/upload` as `user`; returns its id.
async fn upload(api: &Api, key: &str, user: &str, name: &str, text: &str) -> String {
    let boundary = "security-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\n{user}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: text/plain\r\n\r\n{text}\r\n--{boundary}--\r\n"
    );
    let request = Request::builder()
        .method("POST")
        .uri("/v1/files/upload")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let file: Value = serde_json::from_slice(&bytes).unwrap();
    file["id"].as_str().unwrap().to_string()
}

/// Asks the app as `user` with these files attached.
async fn ask(api: &Api, key: &str, user: &str, files: &[&str]) -> (StatusCode, Value) {
    let files: Vec<Value> = files
        .iter()
        .map(|id| json!({"type": "document", "transfer_method": "local_file", "upload_file_id": id}))
        .collect();
    let body = json!({"query": "What do the files say?", "inputs": {}, "user": user, "files": files,
                      "response_mode": "blocking"});
    let request = Request::builder()
        .method("POST")
        .uri("/v1/chat-messages")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn attachments_stay_with_their_uploader_are_limited_and_cut() {
    let stub = OpenAiStub::start().await;
    let base_url = stub.base_url.clone();
    let api = Api::with_config(move |config| {
        config.security.outbound_allow = vec!["127.0.0.1".parse().unwrap()];
        config.llm.base_url = Some(base_url);
        config.llm.model = Some("stub-model".into());
        config.apps.attachment_chars = 60;
        config.apps.attachments_total_chars = 100;
    })
    .await;
    let key = app_key(&api, "first").await;
    let other_app = app_key(&api, "second").await;
    let text = |n: u32| format!("START{n} {} END{n}", "y".repeat(200));
    let first = upload(&api, &key, "ann", "one.txt", &text(1)).await;
    let second = upload(&api, &key, "ann", "two.txt", &text(2)).await;
    let third = upload(&api, &key, "ann", "three.txt", &text(3)).await;
    let fourth = upload(&api, &key, "ann", "four.txt", &text(4)).await;

    // Another end user of the app, or the same name in another app, does not find ann's file.
    for (key, user) in [(&key, "bob"), (&other_app, "ann")] {
        let (status, error) = ask(&api, key, user, &[&first]).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
        assert!(
            error["message"].as_str().unwrap().contains("not found"),
            "{error}"
        );
    }
    // At most three files (Dify's default), counted once each.
    let (status, error) = ask(&api, &key, "ann", &[&first, &second, &third, &fourth]).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    assert!(stub.requests().is_empty(), "nothing was asked: {error}");
    let (status, body) = ask(&api, &key, "ann", &[&first, &first, &first, &first]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let prompt = prompt_text(&stub.requests()[0]);
    assert_eq!(prompt.matches("START1").count(), 1, "one copy: {prompt}");

    // Each text is cut to 60 characters, all of them to 100: the third gets nothing.
    let (status, body) = ask(&api, &key, "ann", &[&first, &second, &third]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let prompt = prompt_text(&stub.requests()[1]);
    assert!(prompt.contains("START1") && prompt.contains("START2"), "{prompt}");
    assert!(!prompt.contains("END1") && !prompt.contains("END2"), "{prompt}");
    assert!(!prompt.contains("START3"), "{prompt}");
    assert!(!prompt.contains(&"y".repeat(61)), "{prompt}");
}
