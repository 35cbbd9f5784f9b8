//! The knowledge API through HTTP requests against the real router and model.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ragd::api::{AppState, router};
use ragd::engine::{Engine, IngestOptions};
use ragd::store::{DEFAULT_TENANT, TokenType};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support;

struct Api {
    app: axum::Router,
    engine: Arc<Engine>,
    key: String,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn new() -> Self {
        let (engine, dir) = support::engine().await;
        let key = engine
            .store()
            .create_api_token(DEFAULT_TENANT, TokenType::Dataset, None)
            .await
            .unwrap();
        let engine = Arc::new(engine);
        Self {
            app: router(AppState {
                engine: engine.clone(),
            }),
            engine,
            key,
            _dir: dir,
        }
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let auth = format!("Bearer {}", self.key);
        self.raw(method, uri, Some(&auth), body).await
    }

    async fn raw(
        &self,
        method: &str,
        uri: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }
}

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], expected.as_u16(), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test]
async fn root_health_and_auth_errors() {
    let api = Api::new().await;
    let (status, body) = api.raw("GET", "/v1/", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["welcome"], "Dify OpenAPI");
    assert_eq!(body["api_version"], "v1");
    let (status, _) = api.raw("GET", "/health", None, None).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = api.raw("GET", "/v1/datasets", None, None).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(
        body["message"],
        "Authorization header must be provided and start with 'Bearer'"
    );
    let (status, body) = api.raw("GET", "/v1/datasets", Some("Basic abc"), None).await;
    assert_eq!(
        body["message"], "Authorization scheme must be 'Bearer'",
        "{status}"
    );
    let (status, body) = api
        .raw("GET", "/v1/datasets", Some("bearer dataset-wrong"), None)
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(body["message"], "Access token is invalid");

    let request = Request::builder()
        .uri("/v1/datasets")
        .body(Body::empty())
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"api\""
    );
    let (status, body) = api.call("GET", "/v1/nowhere", None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn dataset_crud_with_dify_shapes_and_errors() {
    let api = Api::new().await;
    let (status, created) = api
        .call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": "Manuals", "description": "d"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    for field in [
        "name",
        "permission",
        "indexing_technique",
        "document_count",
        "embedding_model",
        "retrieval_model_dict",
        "created_at",
        "enable_api",
        "doc_form",
    ] {
        assert!(created.get(field).is_some(), "missing {field}: {created}");
    }
    assert_eq!(created["permission"], "only_me");
    assert_eq!(created["document_count"], 0);
    assert_eq!(
        created["embedding_model"],
        "sentence-transformers/all-MiniLM-L6-v2"
    );
    assert_eq!(
        created["retrieval_model_dict"]["search_method"],
        "semantic_search"
    );

    let (status, body) = api
        .call("POST", "/v1/datasets", Some(json!({"name": "Manuals"})))
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "dataset_name_duplicate");
    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(41)}),
        json!({"name": "ok", "indexing_technique": "best"}),
        json!({"name": "ok", "permission": "everyone"}),
        json!({"nom": "x"}),
    ] {
        let (status, body) = api.call("POST", "/v1/datasets", Some(bad.clone())).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, body) = api
        .call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": "ok", "embedding_model": "text-embedding-3-large"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");

    for n in 0..3 {
        api.call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": format!("extra {n}")})),
        )
        .await;
    }
    let (status, page) = api.call("GET", "/v1/datasets?page=1&limit=2", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 4);
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["has_more"], true);
    let (_, page) = api.call("GET", "/v1/datasets?page=2&limit=2", None).await;
    assert_eq!(page["has_more"], false);
    let (_, found) = api.call("GET", "/v1/datasets?keyword=Manu", None).await;
    assert_eq!(found["total"], 1);
    let (status, body) = api.call("GET", "/v1/datasets?limit=0", None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");

    let (status, patched) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{id}"),
            Some(json!({"name": "Handbooks"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Handbooks");
    assert_eq!(patched["description"], "d", "fields not sent are kept");
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{id}"),
            Some(json!({"name": "extra 0"})),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "dataset_name_duplicate");

    let (status, _) = api.call("DELETE", &format!("/v1/datasets/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api.call("GET", &format!("/v1/datasets/{id}"), None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = api.call("GET", "/v1/datasets/not-a-uuid", None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn retrieve_with_each_method() {
    let api = Api::new().await;
    let (_, created) = api
        .call("POST", "/v1/datasets", Some(json!({"name": "demo"})))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    api.engine
        .ingest(IngestOptions {
            tenant_id: DEFAULT_TENANT.into(),
            dataset: "demo".into(),
            paths: vec![support::repo_path("datasets/demo")],
            template: None,
            progress: false,
        })
        .await
        .unwrap();

    for (method, query, expected) in [
        (
            "semantic_search",
            "cannot remember the secret phrase to get into my work computer",
            "account-help.txt",
        ),
        ("full_text_search", "Eyjafjallajökull", "volcanoes.md"),
        ("keyword_search", "propolis", "honeybees.pdf"),
        (
            "hybrid_search",
            "how do bees tell each other where the flowers are",
            "honeybees.pdf",
        ),
    ] {
        let body = json!({"query": query, "retrieval_model": {"search_method": method, "reranking_enable": false, "top_k": 3, "score_threshold_enabled": false}});
        for route in ["retrieve", "hit-testing"] {
            let (status, answer) = api
                .call("POST", &format!("/v1/datasets/{id}/{route}"), Some(body.clone()))
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            assert_eq!(answer["query"]["content"], query);
            let records = answer["records"].as_array().unwrap();
            assert!(!records.is_empty() && records.len() <= 3, "{method}: {answer}");
            assert_eq!(records[0]["segment"]["document"]["name"], expected, "{method}");
            assert!(records[0]["score"].as_f64().unwrap() > 0.0);
            assert!(
                records[0]["segment"]["content"]
                    .as_str()
                    .is_some_and(|c| !c.is_empty())
            );
        }
    }
    // Without retrieval_model the dataset default (semantic, top 4) applies.
    let (_, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(json!({"query": "volcano eruption"})),
        )
        .await;
    assert!(answer["records"].as_array().unwrap().len() <= 4);
    assert_eq!(
        answer["records"][0]["segment"]["document"]["name"],
        "volcanoes.md"
    );
    assert!(
        answer["records"][0]["segment"]["hit_count"].as_i64().unwrap() >= 1,
        "hit counts grow"
    );

    let uri = format!("/v1/datasets/{id}/retrieve");
    for bad in [
        json!({"query": ""}),
        json!({"query": "x".repeat(251)}),
        json!({"query": "bees", "retrieval_model": {"search_method": "hybrid_search", "reranking_enable": true}}),
        json!({"query": "bees", "retrieval_model": {"search_method": "vector"}}),
    ] {
        let (status, body) = api.call("POST", &uri, Some(bad)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, body) = api
        .call(
            "POST",
            "/v1/datasets/00000000-0000-0000-0000-00000000dead/retrieve",
            Some(json!({"query": "bees"})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}
