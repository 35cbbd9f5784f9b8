//! Server-side requests cannot be aimed at the server's own network (issue 19, hole 3): a
//! workspace's chat model URL is refused when saved and again when used if it reaches an internal
//! address that `security.outbound_allow` does not name; redirects are not followed; what the
//! provider answers on error is not passed back to the caller.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};

use crate::console_support::{Console, Session};
use crate::knowledge_api::assert_error;
use crate::openai_stub::OpenAiStub;

const SETTINGS: &str = "/console/api/workspaces/current/model-settings";

fn allow(entries: &[&str]) -> impl FnOnce(&mut ragd::config::Config) {
    let entries: Vec<ragd::outbound::AllowEntry> = entries.iter().map(|e| e.parse().unwrap()).collect();
    move |config| config.security.outbound_allow = entries
}

/// A chat app of the session's workspace; returns the console's playground route.
async fn chat_app(console: &Console, owner: &Session) -> String {
    let (status, app) = owner
        .call(
            console,
            "POST",
            "/console/api/apps",
            Some(json!({"name": "Helper", "mode": "chat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    format!("/console/api/apps/{}/chat-messages", app["id"].as_str().unwrap())
}

async fn ask(console: &Console, owner: &Session, chat: &str) -> (StatusCode, Value) {
    owner
        .call(
            console,
            "POST",
            chat,
            Some(json!({"inputs": {}, "query": "What is oolong?", "response_mode": "blocking"})),
        )
        .await
}

async fn save_llm(console: &Console, owner: &Session, base_url: &str) -> (StatusCode, Value) {
    owner
        .call(
            console,
            "POST",
            SETTINGS,
            Some(json!({"llm": {"base_url": base_url, "model": "stub-model"}})),
        )
        .await
}

#[tokio::test]
async fn internal_model_urls_are_refused_when_saved_and_when_used() {
    let stub = OpenAiStub::start().await;
    let port = stub
        .base_url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let console = Console::new().await;
    let owner = console.owner().await;
    for url in [
        stub.base_url.clone(),
        format!("http://localhost:{port}/v1"),
        format!("http://[::1]:{port}/v1"),
        format!("http://[::ffff:127.0.0.1]:{port}/v1"),
        format!("http://2130706433:{port}/v1"),
        format!("http://0177.0.0.1:{port}/v1"),
        "http://169.254.169.254/latest".to_string(),
        "http://10.0.0.1/v1".to_string(),
        "http://172.16.0.1/v1".to_string(),
        "http://192.168.1.1/v1".to_string(),
        "http://100.64.0.1/v1".to_string(),
        "http://[fd00::1]/v1".to_string(),
    ] {
        let (status, body) = save_llm(&console, &owner, &url).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
        assert!(
            body["message"].as_str().unwrap().contains("outbound_allow"),
            "{url}: {body}"
        );
    }
    let (_, settings) = owner.call(&console, "GET", SETTINGS, None).await;
    assert_eq!(settings["llm"]["source"], "extractive", "nothing was saved");

    // A URL that got into the settings anyway (saved before this check, or a name that resolves
    // elsewhere by now) is refused when the app asks: the stub is never reached.
    let stored = ragd::store::StoredModelSettings {
        llm_base_url: Some(stub.base_url.clone()),
        llm_model: Some("stub-model".into()),
        ..Default::default()
    };
    console
        .engine
        .store()
        .save_model_settings(&owner.tenant_id, &owner.account_id, &stored)
        .await
        .unwrap();
    let chat = chat_app(&console, &owner).await;
    let (status, error) = ask(&console, &owner, &chat).await;
    assert_error(
        status,
        &error,
        StatusCode::BAD_REQUEST,
        "completion_request_error",
    );
    assert!(
        error["message"].as_str().unwrap().contains("internal address"),
        "{error}"
    );
    assert!(stub.requests().is_empty(), "no request reached the stub");
}

#[tokio::test]
async fn an_allow_listed_model_server_answers_and_its_error_bodies_stay_in_the_log() {
    let stub = OpenAiStub::start().await;
    let console = Console::with_config(allow(&["127.0.0.1"])).await;
    let owner = console.owner().await;
    let (status, body) = save_llm(&console, &owner, &stub.base_url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let chat = chat_app(&console, &owner).await;
    let (status, answer) = ask(&console, &owner, &chat).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["answer"], OpenAiStub::answer());
    assert_eq!(stub.requests().len(), 1);

    // The provider's error text (here "stub failure 400") is logged, not passed on.
    stub.fail_next(&[400]);
    let (status, error) = ask(&console, &owner, &chat).await;
    assert_error(
        status,
        &error,
        StatusCode::BAD_REQUEST,
        "completion_request_error",
    );
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("HTTP 400"), "{error}");
    assert!(!message.contains("stub failure"), "{error}");

    // Only the named address is allowed: another loopback address is still refused.
    let (status, body) = save_llm(&console, &owner, "http://127.0.0.2:9/v1").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
}

#[tokio::test]
async fn a_redirect_to_an_internal_address_is_not_followed() {
    let stub = OpenAiStub::start().await;
    let target = format!("{}/chat/completions", stub.base_url);
    // An allowed server (127.0.0.2, named in the allow-list) that redirects to the stub on
    // 127.0.0.1, which is not allowed.
    let redirect = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let target = target.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let redirect_url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, redirect).await;
    });
    let console = Console::with_config(allow(&["127.0.0.2"])).await;
    let owner = console.owner().await;
    let (status, body) = save_llm(&console, &owner, &redirect_url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let chat = chat_app(&console, &owner).await;
    let (status, error) = ask(&console, &owner, &chat).await;
    assert_error(
        status,
        &error,
        StatusCode::BAD_REQUEST,
        "completion_request_error",
    );
    assert!(
        stub.requests().is_empty(),
        "the redirect was not followed: {error}"
    );
}

#[tokio::test]
async fn moving_the_model_url_to_another_server_drops_the_stored_key() {
    let console = Console::with_config(allow(&["127.0.0.1", "localhost"])).await;
    let owner = console.owner().await;
    let key_of = |console: &Console, tenant: String| {
        let state = ragd::api::AppState::new(console.engine.clone()).unwrap();
        async move {
            ragd::api::console::model_settings::llm_provider(&state, &tenant)
                .await
                .unwrap()
                .and_then(|provider| provider.api_key)
        }
    };
    let (status, body) = owner
        .call(
            &console,
            "POST",
            SETTINGS,
            Some(json!({"llm": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "sk-first-0123456789"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Another path on the same server keeps the key.
    let (_, body) = save_llm(&console, &owner, "http://127.0.0.1:9/v2").await;
    assert_eq!(body["llm"]["api_key_set"], true, "{body}");
    assert_eq!(
        key_of(&console, owner.tenant_id.clone()).await.as_deref(),
        Some("sk-first-0123456789")
    );
    // Another server (host, port or scheme) without a new key: the key is gone.
    for moved in [
        "http://localhost:9/v2",
        "http://127.0.0.1:10/v2",
        "https://127.0.0.1:10/v2",
    ] {
        let (status, body) = owner
            .call(
                &console,
                "POST",
                SETTINGS,
                Some(json!({"llm": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "sk-first-0123456789"}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = save_llm(&console, &owner, moved).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["llm"]["api_key_set"], false, "{moved}: {body}");
        assert_eq!(key_of(&console, owner.tenant_id.clone()).await, None, "{moved}");
    }
    // With a new key in the same request, the move keeps the new key.
    let (_, body) = owner
        .call(
            &console,
            "POST",
            SETTINGS,
            Some(json!({"llm": {"base_url": "http://localhost:9/v1", "model": "m", "api_key": "sk-second-0123456789"}})),
        )
        .await;
    assert_eq!(body["llm"]["api_key_set"], true, "{body}");
    assert_eq!(
        key_of(&console, owner.tenant_id.clone()).await.as_deref(),
        Some("sk-second-0123456789")
    );
}

/// A provider that streams `piece` forever (after `prefix`).
async fn endless_provider(prefix: &'static str, piece: String) -> String {
    let piece = axum::body::Bytes::from(piece);
    let route = post(move || {
        let piece = piece.clone();
        async move {
            let head =
                futures::stream::once(
                    async move { Ok::<_, std::io::Error>(axum::body::Bytes::from(prefix)) },
                );
            let tail = futures::stream::repeat_with(move || Ok(piece.clone()));
            (
                [(header::CONTENT_TYPE, "text/event-stream")],
                axum::body::Body::from_stream(futures::StreamExt::chain(head, tail)),
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, Router::new().route("/v1/chat/completions", route)).await;
    });
    url
}

#[tokio::test]
async fn an_endless_line_or_answer_from_the_provider_is_cut_off() {
    let console = Console::with_config(allow(&["127.0.0.1"])).await;
    let owner = console.owner().await;
    let chat = chat_app(&console, &owner).await;
    // Pieces of 64 KiB, so the caps (1 MiB line, 8 MiB answer, 32 MiB stream) come quickly.
    let token = format!(
        "data: {}\n\n",
        json!({"choices": [{"delta": {"content": "x".repeat(64 * 1024)}}]})
    );
    for (prefix, piece, expected) in [
        // One line that never ends.
        (
            "data: {\"choices\":[{\"delta\":{\"content\":\"",
            "z".repeat(64 * 1024),
            "line longer than",
        ),
        // An answer that never ends.
        ("", token, "answer exceeded"),
        // Keep-alives forever, no answer.
        ("", ": keep-alive\n\n".repeat(4096), "stream exceeded"),
    ] {
        let url = endless_provider(prefix, piece).await;
        let (status, body) = save_llm(&console, &owner, &url).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, error) = ask(&console, &owner, &chat).await;
        assert_error(
            status,
            &error,
            StatusCode::BAD_REQUEST,
            "completion_request_error",
        );
        assert!(
            error["message"].as_str().unwrap().contains(expected),
            "{expected}: {error}"
        );
    }
}
