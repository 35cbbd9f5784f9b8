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

/// A router over a fresh data dir with the real model, and a dataset key for it.
pub(crate) struct Api {
    pub(crate) app: axum::Router,
    pub(crate) engine: Arc<Engine>,
    pub(crate) key: String,
    _dir: tempfile::TempDir,
}

impl Api {
    pub(crate) async fn new() -> Self {
        Self::build(support::embedder(), |_| {}).await
    }

    /// An API whose config is changed by `edit` first.
    pub(crate) async fn with_config(edit: impl FnOnce(&mut ragd::config::Config)) -> Self {
        Self::build(support::embedder(), edit).await
    }

    /// [`Api::new`] with a given embedder.
    pub(crate) async fn with_embedder(embedder: Arc<dyn pipelines::Embedder>) -> Self {
        Self::build(embedder, |_| {}).await
    }

    /// [`Self::with_embedder`] with the config changed by `edit` first.
    pub(crate) async fn with_embedder_and_config(
        embedder: Arc<dyn pipelines::Embedder>,
        edit: impl FnOnce(&mut ragd::config::Config),
    ) -> Self {
        Self::build(embedder, edit).await
    }

    async fn build(
        embedder: Arc<dyn pipelines::Embedder>,
        edit: impl FnOnce(&mut ragd::config::Config),
    ) -> Self {
        let (engine, dir) = support::engine_with_embedder(embedder, edit).await;
        let key = engine
            .store()
            .create_api_token(DEFAULT_TENANT, TokenType::Dataset, None)
            .await
            .unwrap();
        let engine = Arc::new(engine);
        Self {
            app: router(AppState::new(engine.clone()).unwrap()),
            engine,
            key,
            _dir: dir,
        }
    }

    pub(crate) async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let auth = format!("Bearer {}", self.key);
        self.raw(method, uri, Some(&auth), body).await
    }

    pub(crate) async fn raw(
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

pub(crate) fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
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
        ragd::models::registry::INT8_DYNAMIC_MODEL_ID
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
        json!({"query": "bees", "retrieval_model": {"search_method": "vector"}}),
    ] {
        let (status, body) = api.call("POST", &uri, Some(bad)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    // Reranking switched on without a model (what Dify's UI sends) is a no-op, as in Dify.
    let (status, body) = api
        .call(
            "POST",
            &uri,
            Some(json!({"query": "volcano eruption", "retrieval_model": {
                "search_method": "hybrid_search", "reranking_enable": true,
                "reranking_model": {"reranking_provider_name": "", "reranking_model_name": ""}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["records"][0]["segment"]["document"]["name"], "volcanoes.md");
    let (status, body) = api
        .call(
            "POST",
            "/v1/datasets/00000000-0000-0000-0000-00000000dead/retrieve",
            Some(json!({"query": "bees"})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

impl Api {
    /// Creates a dataset through the API and returns its id.
    pub(crate) async fn create_dataset(&self, name: &str) -> String {
        let (status, created) = self
            .call("POST", "/v1/datasets", Some(json!({"name": name})))
            .await;
        assert_eq!(status, StatusCode::OK, "{created}");
        created["id"].as_str().unwrap().to_string()
    }

    /// Starts indexing workers for this API's engine.
    pub(crate) fn start_workers(&self) {
        ragd::jobs::spawn_workers(self.engine.clone(), 1, tokio_util::sync::CancellationToken::new());
    }

    pub(crate) async fn multipart(
        &self,
        uri: &str,
        file: (&str, &[u8]),
        data: Option<Value>,
    ) -> (StatusCode, Value) {
        self.multipart_with("POST", uri, Some(file), data).await
    }

    pub(crate) async fn multipart_with(
        &self,
        method: &str,
        uri: &str,
        file: Option<(&str, &[u8])>,
        data: Option<Value>,
    ) -> (StatusCode, Value) {
        let boundary = "ragd-test-boundary";
        let mut body = Vec::new();
        if let Some(file) = file {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n", file.0).as_bytes(),
            );
            body.extend_from_slice(file.1);
            body.extend_from_slice(b"\r\n");
        }
        if let Some(data) = data {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{data}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Polls a batch until every document has finished (completed or error).
    pub(crate) async fn wait_until_indexed(&self, dataset_id: &str, batch: &str) -> Vec<Value> {
        for _ in 0..600 {
            let (status, body) = self
                .call(
                    "GET",
                    &format!("/v1/datasets/{dataset_id}/documents/{batch}/indexing-status"),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let items = body["data"].as_array().unwrap().clone();
            if items
                .iter()
                .all(|i| i["indexing_status"] == "completed" || i["indexing_status"] == "error")
            {
                return items;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("batch {batch} did not finish indexing in time");
    }
}

#[tokio::test]
async fn documents_by_text_and_file_are_indexed_listed_and_deleted() {
    let api = Api::new().await;
    api.start_workers();
    let id = api.create_dataset("kb").await;

    let text = std::fs::read_to_string(support::repo_path("datasets/demo/tea.txt")).unwrap();
    let (status, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            Some(json!({
                "name": "tea history", "text": text, "indexing_technique": "high_quality",
                "process_rule": {"mode": "automatic"}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["document"]["name"], "tea history");
    assert_eq!(answer["document"]["display_status"], "queuing");
    let text_batch = answer["batch"].as_str().unwrap().to_string();
    assert_eq!(text_batch.len(), 20, "YYYYmmddHHMMSS + 6 digits");

    let pdf = std::fs::read(support::repo_path("datasets/demo/honeybees.pdf")).unwrap();
    let rule = json!({"indexing_technique": "high_quality", "process_rule": {"mode": "custom", "rules": {
        "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": true}],
        "segmentation": {"separator": "\\n\\n", "max_tokens": 200, "chunk_overlap": 0}}}});
    let (status, answer) = api
        .multipart(
            &format!("/v1/datasets/{id}/document/create_by_file"),
            ("honeybees.pdf", &pdf),
            Some(rule),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let file_batch = answer["batch"].as_str().unwrap().to_string();
    let file_doc = answer["document"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        answer["document"]["data_source_detail_dict"]["upload_file"]["extension"],
        "pdf"
    );

    for batch in [&text_batch, &file_batch] {
        let items = api.wait_until_indexed(&id, batch).await;
        assert_eq!(items.len(), 1);
        let item = &items[0];
        assert_eq!(item["indexing_status"], "completed", "{item}");
        assert!(item["total_segments"].as_i64().unwrap() >= 1);
        assert_eq!(item["completed_segments"], item["total_segments"]);
        for stamp in [
            "processing_started_at",
            "parsing_completed_at",
            "splitting_completed_at",
            "completed_at",
        ] {
            assert!(item[stamp].is_i64(), "{stamp} set: {item}");
        }
    }

    let (_, list) = api
        .call("GET", &format!("/v1/datasets/{id}/documents"), None)
        .await;
    assert_eq!(list["total"], 2);
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["display_status"] == "available")
    );
    let (_, detail) = api
        .call("GET", &format!("/v1/datasets/{id}/documents/{file_doc}"), None)
        .await;
    assert_eq!(detail["name"], "honeybees.pdf");
    assert!(
        detail["segment_count"].as_i64().unwrap() >= 2,
        "one segment per page at least: {detail}"
    );
    let (_, only) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{file_doc}?metadata=only"),
            None,
        )
        .await;
    assert!(only.get("name").is_none() && only.get("doc_metadata").is_some());
    let (status, body) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{file_doc}?metadata=some"),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_metadata");

    let retrieve = |q: &str| json!({"query": q, "retrieval_model": {"search_method": "hybrid_search", "reranking_enable": false, "top_k": 2, "score_threshold_enabled": false}});
    let (_, found) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(retrieve("waggle dance of foraging bees")),
        )
        .await;
    assert_eq!(
        found["records"][0]["segment"]["document"]["name"], "honeybees.pdf",
        "{found}"
    );

    let (status, _) = api
        .call("DELETE", &format!("/v1/datasets/{id}/documents/{file_doc}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, found) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(retrieve("waggle dance of foraging bees")),
        )
        .await;
    assert!(
        found["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["segment"]["document"]["name"] != "honeybees.pdf"),
        "deleted before the API answered: {found}"
    );
    let (status, body) = api
        .call("GET", &format!("/v1/datasets/{id}/documents/{file_doc}"), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn bad_document_requests_change_nothing() {
    let api = Api::new().await;
    let id = api.create_dataset("kb").await;
    let uri = format!("/v1/datasets/{id}/document/create-by-text");
    for bad in [
        json!({"text": "no name"}),
        json!({"name": "no text"}),
        json!({"name": "n", "text": "t", "doc_form": "qa_model"}),
        json!({"name": "n", "text": "t", "process_rule": {"mode": "custom", "rules": {"pre_processing_rules": [], "segmentation": {"separator": "\n", "max_tokens": 10}}}}),
        json!({"name": "n", "text": "t", "process_rule": {"mode": "sometimes"}}),
    ] {
        let (status, body) = api.call("POST", &uri, Some(bad.clone())).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let file_uri = format!("/v1/datasets/{id}/document/create-by-file");
    let (status, body) = api.multipart(&file_uri, ("virus.exe", b"MZ"), None).await;
    assert_error(
        status,
        &body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_file_type",
    );
    let (status, body) = api
        .multipart(&file_uri, ("report.pdf", b"PK\x03\x04 a zip, not a pdf"), None)
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_file_type",
    );
    let (_, list) = api
        .call("GET", &format!("/v1/datasets/{id}/documents"), None)
        .await;
    assert_eq!(list["total"], 0, "nothing was created: {list}");
    let (status, body) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/00000000000000000000/indexing-status"),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn documents_are_updated_by_text_and_file() {
    let api = Api::new().await;
    api.start_workers();
    let id = api.create_dataset("kb").await;
    let retrieve = |q: &str| json!({"query": q, "retrieval_model": {"search_method": "full_text_search", "reranking_enable": false, "top_k": 5, "score_threshold_enabled": false}});
    let names = |found: &Value| -> Vec<String> {
        found["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["segment"]["content"].as_str().unwrap().to_string())
            .collect()
    };

    let (status, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create_by_text"),
            Some(json!({"name": "notes", "text": "Porcelain teapots crack in frost.", "indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let doc = answer["document"]["id"].as_str().unwrap().to_string();
    api.wait_until_indexed(&id, answer["batch"].as_str().unwrap())
        .await;

    // A rename alone re-indexes nothing and keeps the batch.
    let (status, renamed) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/documents/{doc}/update_by_text"),
            Some(json!({"name": "kitchen notes"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["document"]["name"], "kitchen notes");
    assert_eq!(renamed["document"]["indexing_status"], "completed");
    assert_eq!(renamed["batch"], answer["batch"]);

    // New text replaces the old segments once re-indexed.
    let (status, updated) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/documents/{doc}/update-by-text"),
            Some(json!({"name": "kitchen notes", "text": "Copper kettles tarnish near the sea."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["document"]["indexing_status"], "waiting");
    let batch = updated["batch"].as_str().unwrap().to_string();
    assert_eq!(
        batch,
        answer["batch"].as_str().unwrap(),
        "re-indexing keeps the batch, as in Dify"
    );
    // While it waits, content changes are refused and nothing else changes.
    let (status, body) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/documents/{doc}/update-by-text"),
            Some(json!({"name": "x", "text": "racing update"})),
        )
        .await;
    if status != StatusCode::OK {
        assert_error(status, &body, StatusCode::BAD_REQUEST, "document_indexing");
    } else {
        // The worker finished first; wait for the racing update too, then restore the text.
        api.wait_until_indexed(&id, body["batch"].as_str().unwrap()).await;
        let (_, again) = api
            .call(
                "POST",
                &format!("/v1/datasets/{id}/documents/{doc}/update-by-text"),
                Some(json!({"name": "kitchen notes", "text": "Copper kettles tarnish near the sea."})),
            )
            .await;
        api.wait_until_indexed(&id, again["batch"].as_str().unwrap())
            .await;
    }
    let items = api.wait_until_indexed(&id, &batch).await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    let (_, found) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(retrieve("copper kettles")),
        )
        .await;
    assert_eq!(names(&found), ["Copper kettles tarnish near the sea."]);
    let (_, gone) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(retrieve("porcelain teapots")),
        )
        .await;
    assert!(names(&gone).is_empty(), "old text no longer retrievable: {gone}");

    // update-by-file (and the newer PATCH) replace the content with a file's.
    let (status, by_file) = api
        .multipart_with(
            "PATCH",
            &format!("/v1/datasets/{id}/documents/{doc}"),
            Some((
                "kettles.md",
                b"# Kettles\n\nCast iron kettles rust when left wet.",
            )),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_file}");
    assert_eq!(by_file["document"]["name"], "kettles.md");
    api.wait_until_indexed(&id, by_file["batch"].as_str().unwrap())
        .await;
    let (_, found) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(retrieve("cast iron rust")),
        )
        .await;
    assert!(
        names(&found).iter().any(|c| c.contains("Cast iron kettles")),
        "{found}"
    );
    let (_, detail) = api
        .call("GET", &format!("/v1/datasets/{id}/documents/{doc}"), None)
        .await;
    assert_eq!(
        detail["segment_count"], 1,
        "no duplicate segments after updates: {detail}"
    );

    // Errors: text without name, a wrong file type, unknown documents; none changes anything.
    let (status, body) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/documents/{doc}/update_by_text"),
            Some(json!({"text": "no name"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, body) = api
        .multipart(
            &format!("/v1/datasets/{id}/documents/{doc}/update_by_file"),
            ("evil.pdf", b"PK\x03\x04 not a pdf"),
            None,
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_file_type",
    );
    let (status, body) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/documents/00000000-0000-0000-0000-00000000dead/update_by_text"),
            Some(json!({"name": "ghost"})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (_, detail) = api
        .call("GET", &format!("/v1/datasets/{id}/documents/{doc}"), None)
        .await;
    assert_eq!(detail["name"], "kettles.md");
    assert_eq!(detail["indexing_status"], "completed");
}

#[tokio::test]
async fn workers_compact_the_vector_table_when_the_queue_runs_dry() {
    let api = Api::new().await;
    api.start_workers();
    let id = api.create_dataset("kb").await;
    let mut batches = Vec::new();
    for (name, text) in [
        ("one", "Bees dance to show where flowers are."),
        ("two", "Volcanoes erupt ash into the sky."),
        ("three", "Tea leaves are dried and rolled."),
    ] {
        let (status, answer) = api
            .call(
                "POST",
                &format!("/v1/datasets/{id}/document/create_by_text"),
                Some(
                    json!({"name": name, "text": text, "indexing_technique": "high_quality",
                            "process_rule": {"mode": "automatic"}}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        batches.push(answer["batch"].as_str().unwrap().to_string());
    }
    for batch in &batches {
        api.wait_until_indexed(&id, batch).await;
    }
    let dataset = api
        .engine
        .store()
        .dataset(DEFAULT_TENANT, &id)
        .await
        .unwrap()
        .unwrap();
    let index = api.engine.index(&dataset).await.unwrap();
    let mut fragments = None;
    for _ in 0..100 {
        fragments = index.vector_fragments().await.unwrap();
        if fragments == Some(1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        fragments,
        Some(1),
        "three documents' writes compacted into one fragment"
    );
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(3));
}
