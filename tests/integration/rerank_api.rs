//! Reranking through the retrieve route: an HTTP rerank provider (a small `/rerank` server this
//! test starts on loopback) and a local ONNX cross-encoder (the overlap fixture built by
//! scripts/make_rerank_fixture.py), selected by Dify's `reranking_model`; provider failures
//! answer with the right status; the model-types route lists the configured models.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use ragd::config::RerankModelConfig;
use ragd::engine::IngestOptions;
use ragd::store::DEFAULT_TENANT;
use serde_json::{Value, json};

use crate::knowledge_api::{Api, assert_error};
use crate::support;

/// Candidates the reranker rescores in this test.
const CANDIDATES: usize = 6;
const API_KEY: &str = "test-key";

type Seen = Arc<Mutex<Vec<Value>>>;

/// A `/rerank` server: the model named in the request decides how it behaves.
/// `reverse` scores the i-th of n documents (i+1)/n, turning the fused order around.
async fn rerank(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    seen.lock().unwrap().push(body.clone());
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {API_KEY}")) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "invalid api key"})),
        );
    }
    match body["model"].as_str().unwrap_or_default() {
        "reverse" => {
            let n = body["documents"].as_array().map_or(0, Vec::len);
            let results: Vec<Value> = (0..n)
                .map(|i| json!({"index": i, "relevance_score": (i + 1) as f64 / n as f64}))
                .collect();
            (StatusCode::OK, Json(json!({"id": "r1", "results": results})))
        }
        "overloaded" => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"message": "slow down"})),
        ),
        "broken" => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "boom"}))),
        "nonsense" => (StatusCode::OK, Json(json!({"data": "no results here"}))),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(4)).await;
            (StatusCode::OK, Json(json!({"results": []})))
        }
        other => (
            StatusCode::NOT_FOUND,
            Json(json!({"detail": format!("model {other} not found")})),
        ),
    }
}

async fn start_rerank_server() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/v1/rerank", post(rerank))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/v1/rerank"), seen)
}

fn http_model(provider: &str, model: &str, url: &str, api_key: &str) -> RerankModelConfig {
    RerankModelConfig {
        provider: provider.into(),
        model: model.into(),
        url: Some(url.into()),
        api_key: Some(api_key.into()),
        timeout_secs: 1,
        onnx: None,
        tokenizer_dir: None,
        max_length: 512,
    }
}

fn retrieve(query: &str, method: &str, top_k: usize, rerank: Option<(&str, &str)>) -> Value {
    let mut model = json!({"search_method": method, "reranking_enable": rerank.is_some(), "top_k": top_k,
        "score_threshold_enabled": false});
    if let Some((provider, name)) = rerank {
        model["reranking_mode"] = json!("reranking_model");
        model["reranking_model"] = json!({"reranking_provider_name": provider, "reranking_model_name": name});
    }
    json!({"query": query, "retrieval_model": model})
}

fn segment_ids(answer: &Value) -> Vec<String> {
    answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segment"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn rerank_models_rescore_the_fused_candidates() {
    let (url, seen) = start_rerank_server().await;
    // Loads the embedding model, whose tokenizer the overlap cross-encoder uses.
    support::embedder();
    let tokenizer_dir = ragd::config::Config::load(None)
        .unwrap()
        .models
        .cache_dir
        .join(ragd::models::registry::DEFAULT_MODEL_DIR);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1/rerank", listener.local_addr().unwrap())
    };
    let api = Api::with_config(|config| {
        config.rerank.candidates = CANDIDATES;
        // The provider stub listens on loopback, which only an operator's allow-list opens.
        config.security.outbound_allow = vec!["127.0.0.1".parse().unwrap()];
        config.rerank.models = vec![
            http_model("jina", "reverse", &url, API_KEY),
            http_model("jina", "locked", &url, "wrong-key"),
            http_model("jina", "overloaded", &url, API_KEY),
            http_model("jina", "missing", &url, API_KEY),
            http_model("jina", "broken", &url, API_KEY),
            http_model("jina", "nonsense", &url, API_KEY),
            http_model("jina", "slow", &url, API_KEY),
            http_model("cohere", "unreachable", &closed, API_KEY),
            RerankModelConfig {
                provider: "local".into(),
                model: "overlap".into(),
                url: None,
                api_key: None,
                timeout_secs: 10,
                onnx: Some(support::repo_path(
                    "tests/fixtures/rerank/overlap-cross-encoder.onnx",
                )),
                tokenizer_dir: Some(tokenizer_dir),
                max_length: 256,
            },
        ];
    })
    .await;
    let id = api.create_dataset("demo").await;
    api.engine
        .ingest(IngestOptions {
            tenant_id: DEFAULT_TENANT.into(),
            dataset: "demo".into(),
            paths: vec![support::repo_path("datasets/demo")],
            template: None,
            economy: false,
            doc_language: None,
            embedding_model: None,
            progress: false,
        })
        .await
        .unwrap();
    let uri = format!("/v1/datasets/{id}/retrieve");
    let query = "how do bees tell each other where the flowers are";

    // The fused candidates, then the same query reranked by the provider: the reranker saw
    // exactly those candidates and its scores decide the order (reversed here).
    let (status, fused) = api
        .call(
            "POST",
            &uri,
            Some(retrieve(query, "hybrid_search", CANDIDATES, None)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{fused}");
    let fused = segment_ids(&fused);
    assert_eq!(fused.len(), CANDIDATES);
    let (status, reranked) = api
        .call(
            "POST",
            &uri,
            Some(retrieve(
                query,
                "hybrid_search",
                3,
                Some(("langgenius/jina/jina", "reverse")),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reranked}");
    let expected: Vec<String> = fused.iter().rev().take(3).cloned().collect();
    assert_eq!(segment_ids(&reranked), expected);
    let scores: Vec<f64> = reranked["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    let n = CANDIDATES as f64;
    for (score, expected) in scores.iter().zip([n / n, (n - 1.0) / n, (n - 2.0) / n]) {
        assert!((score - expected).abs() < 1e-6, "{scores:?}");
    }
    {
        let seen = seen.lock().unwrap();
        let call = seen.last().unwrap();
        assert_eq!(call["model"], "reverse");
        assert_eq!(call["query"], query);
        assert_eq!(call["top_n"], CANDIDATES);
        assert_eq!(call["documents"].as_array().unwrap().len(), CANDIDATES);
    }

    // The score threshold applies to the reranker's scores.
    let mut thresholded = retrieve(query, "hybrid_search", 5, Some(("jina", "reverse")));
    thresholded["retrieval_model"]["score_threshold_enabled"] = json!(true);
    thresholded["retrieval_model"]["score_threshold"] = json!(0.75);
    let (status, answer) = api.call("POST", &uri, Some(thresholded)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        segment_ids(&answer),
        fused.iter().rev().take(2).cloned().collect::<Vec<_>>()
    );

    // The local cross-encoder scores query/document word-piece overlap: the segment that
    // repeats the query's rare words comes first, with a logistic score in 0..1.
    let (status, answer) = api
        .call(
            "POST",
            &uri,
            Some(retrieve(
                "propolis resin glue",
                "semantic_search",
                2,
                Some(("local", "overlap")),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let top = &answer["records"][0];
    assert_eq!(top["segment"]["document"]["name"], "honeybees.pdf", "{answer}");
    assert!(
        top["segment"]["content"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("propolis"),
        "{top}"
    );
    let score = top["score"].as_f64().unwrap();
    assert!(score > 0.5 && score < 1.0, "{score}");

    // Failures: what the client can fix is a 4xx, what the provider broke is a 5xx.
    let calls_before = seen.lock().unwrap().len();
    for (provider, model, status, code) in [
        ("jina", "not-configured", StatusCode::BAD_REQUEST, "invalid_param"),
        ("cohere", "reverse", StatusCode::BAD_REQUEST, "invalid_param"),
        (
            "jina",
            "locked",
            StatusCode::BAD_REQUEST,
            "provider_not_initialize",
        ),
        (
            "jina",
            "overloaded",
            StatusCode::BAD_REQUEST,
            "provider_quota_exceeded",
        ),
        (
            "jina",
            "missing",
            StatusCode::BAD_REQUEST,
            "completion_request_error",
        ),
        (
            "jina",
            "broken",
            StatusCode::BAD_GATEWAY,
            "rerank_provider_unavailable",
        ),
        (
            "jina",
            "nonsense",
            StatusCode::BAD_GATEWAY,
            "rerank_provider_unavailable",
        ),
        (
            "cohere",
            "unreachable",
            StatusCode::BAD_GATEWAY,
            "rerank_provider_unavailable",
        ),
        (
            "jina",
            "slow",
            StatusCode::GATEWAY_TIMEOUT,
            "rerank_provider_timeout",
        ),
    ] {
        let (got, body) = api
            .call(
                "POST",
                &uri,
                Some(retrieve(query, "hybrid_search", 3, Some((provider, model)))),
            )
            .await;
        assert_error(got, &body, status, code);
    }
    // Models this server lacks are refused before any provider is called.
    let calls = seen.lock().unwrap().len() - calls_before;
    assert_eq!(
        calls, 6,
        "locked, overloaded, missing, broken, nonsense and slow reached the server"
    );

    // The model-types route lists the configured rerank models by provider.
    let (status, types) = api
        .call("GET", "/v1/workspaces/current/models/model-types/rerank", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{types}");
    let providers: Vec<&str> = types["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["jina", "cohere", "local"]);
    assert_eq!(types["data"][0]["models"].as_array().unwrap().len(), 7);
    assert_eq!(types["data"][2]["models"][0]["model"], "overlap");
    assert_eq!(types["data"][2]["models"][0]["model_type"], "rerank");
}
