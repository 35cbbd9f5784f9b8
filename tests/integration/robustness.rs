//! Robustness: a panicking handler answers 500 and the server goes on; a job whose task panics
//! ends failed with a message, its worker is restarted and the document can be retried; a flood
//! of queries over the compute queue is answered 429 and the server recovers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use pipelines::embed::HashEmbedder;
use pipelines::{EmbedError, Embedder};
use ragd::api::{AppState, router_with};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::knowledge_api::{Api, assert_error};

async fn send(app: &Router, method: &str, uri: &str, key: &str, body: Option<Value>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .expect("body");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("json")
    };
    (status, value)
}

async fn panicking_handler() -> &'static str {
    panic!("secret detail 4242 that must not reach the client")
}

#[tokio::test]
async fn a_panicking_handler_answers_500_in_the_envelope_and_the_server_goes_on() {
    let api = Api::with_embedder(Arc::new(HashEmbedder { dimension: 32 })).await;
    let extra = Router::new().route("/v1/test-panic", get(panicking_handler));
    let app = router_with(AppState::new(api.engine.clone()).expect("state"), extra);

    let (status, body) = send(&app, "GET", "/v1/test-panic", &api.key, None).await;
    assert_error(
        status,
        &body,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_server_error",
    );
    assert!(
        !body.to_string().contains("4242"),
        "the panic's text stays in the log: {body}"
    );
    // The same router serves the next requests.
    let (status, body) = send(
        &app,
        "POST",
        "/v1/datasets",
        &api.key,
        Some(json!({"name": "after"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = send(&app, "GET", "/v1/datasets", &api.key, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"][0]["name"], "after");
}

/// Panics while embedding documents while armed; counts the calls.
#[derive(Debug)]
struct PanickingEmbedder {
    inner: HashEmbedder,
    armed: AtomicBool,
    panics: AtomicUsize,
}

impl Embedder for PanickingEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if self.armed.load(Ordering::SeqCst) {
            self.panics.fetch_add(1, Ordering::SeqCst);
            panic!("the embedder broke");
        }
        self.inner.embed_documents(texts)
    }
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        self.inner.embed_query(text)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_panics_fails_with_a_message_its_worker_restarts_and_the_document_can_be_retried() {
    let embedder = Arc::new(PanickingEmbedder {
        inner: HashEmbedder { dimension: 32 },
        armed: AtomicBool::new(true),
        panics: AtomicUsize::new(0),
    });
    let api = Api::with_embedder(embedder.clone()).await;
    // One worker: the retry below is indexed only if the supervisor restarted it.
    api.start_workers();
    let id = api.create_dataset("fragile").await;
    let text = std::fs::read_to_string(crate::support::repo_path("datasets/demo/tea.txt")).expect("demo");
    let (status, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            Some(
                json!({"name": "tea", "text": text, "indexing_technique": "high_quality",
                "process_rule": {"mode": "automatic"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let document = answer["document"]["id"].as_str().expect("id").to_string();
    let batch = answer["batch"].as_str().expect("batch").to_string();

    let items = api.wait_until_indexed(&id, &batch).await;
    assert_eq!(items[0]["indexing_status"], "error", "{items:?}");
    assert_eq!(items[0]["error"], ragd::jobs::PANIC_MESSAGE, "{items:?}");
    assert_eq!(
        embedder.panics.load(Ordering::SeqCst),
        1,
        "a panic is a bug: the job fails at once instead of being retried"
    );

    embedder.armed.store(false, Ordering::SeqCst);
    let (status, body) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retry"),
            Some(json!({"document_ids": [document]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let mut completed = false;
    for _ in 0..300 {
        let items = api.wait_until_indexed(&id, &batch).await;
        if items[0]["indexing_status"] == "completed" {
            completed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(completed, "the restarted worker indexes the retried document");
}

/// Takes `delay` for each query embedding.
#[derive(Debug)]
struct SlowEmbedder {
    inner: HashEmbedder,
    delay: Duration,
}

impl Embedder for SlowEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.inner.embed_documents(texts)
    }
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        std::thread::sleep(self.delay);
        self.inner.embed_query(text)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_over_the_query_queue_is_answered_429_and_the_server_recovers() {
    let embedder = Arc::new(SlowEmbedder {
        inner: HashEmbedder { dimension: 32 },
        delay: Duration::from_millis(200),
    });
    let api = Arc::new(
        Api::with_embedder_and_config(embedder, |config| {
            config.server.query_threads = 1;
            config.server.query_queue = 2;
        })
        .await,
    );
    api.start_workers();
    let id = api.create_dataset("flooded").await;
    let (status, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            Some(json!({"name": "bees", "text": "Bees make honey from nectar.",
                "indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let batch = answer["batch"].as_str().expect("batch").to_string();
    let items = api.wait_until_indexed(&id, &batch).await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");

    let uri = format!("/v1/datasets/{id}/retrieve");
    let body = json!({"query": "honey", "retrieval_model": {"search_method": "semantic_search",
        "reranking_enable": false, "top_k": 3, "score_threshold_enabled": false}});
    let flood: Vec<_> = (0..16)
        .map(|_| {
            let api = api.clone();
            let uri = uri.clone();
            let body = body.clone();
            tokio::spawn(async move { api.call("POST", &uri, Some(body)).await })
        })
        .collect();
    let (mut answered, mut refused) = (0, 0);
    for call in flood {
        let (status, body) = call.await.expect("call");
        match status {
            StatusCode::OK => answered += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
                refused += 1;
            }
            other => panic!("only 200 or a clean 429, got {other}: {body}"),
        }
    }
    // One runs and two wait: of 16 at once, at least 3 are answered and most are refused.
    assert!(answered >= 3, "answered {answered}, refused {refused}");
    assert!(refused >= 8, "answered {answered}, refused {refused}");
    let (status, body) = api.call("POST", &uri, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "the server recovers: {body}");
    assert!(!body["records"].as_array().expect("records").is_empty(), "{body}");
}
