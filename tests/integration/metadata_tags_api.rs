//! Metadata fields, document metadata, metadata filtering in retrieval, knowledge tags and the
//! model-types route, through HTTP requests against the real router, store and indexes.
//!
//! The embedder is the deterministic hash embedder: these tests check plumbing and filtering,
//! not ranking quality, so they need no model files. Retrieval still runs for real, through the
//! indexing workers, LanceDB and tantivy.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use pipelines::embed::HashEmbedder;
use ragd::api::{AppState, router};
use ragd::config::Config;
use ragd::engine::Engine;
use ragd::store::{DEFAULT_TENANT, Store, TokenType};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

struct Api {
    app: axum::Router,
    key: String,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Api {
    /// A server over a fresh data dir with the hash embedder and one indexing worker.
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::load(None).expect("config");
        config.data_dir = dir.path().to_path_buf();
        let store = Store::open_sqlite(&config.database_path()).await.expect("store");
        let key = store
            .create_api_token(DEFAULT_TENANT, TokenType::Dataset, None)
            .await
            .unwrap();
        let engine = Arc::new(Engine::with_embedder(
            config,
            store,
            Arc::new(HashEmbedder { dimension: 64 }),
        ));
        let shutdown = CancellationToken::new();
        ragd::jobs::spawn_workers(engine.clone(), 1, shutdown.clone());
        Self {
            app: router(AppState::new(engine).unwrap()),
            key,
            shutdown,
            _dir: dir,
        }
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key));
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => {
                request = request.header(header::CONTENT_LENGTH, 0);
                request.body(Body::empty())
            }
        }
        .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, value)
    }

    async fn ok(&self, method: &str, uri: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, uri, body).await;
        assert!(status.is_success(), "{method} {uri}: {status} {answer}");
        answer
    }

    async fn create_dataset(&self, name: &str) -> String {
        let created = self.ok("POST", "/v1/datasets", Some(json!({"name": name}))).await;
        created["id"].as_str().unwrap().to_string()
    }

    async fn create_field(&self, dataset: &str, kind: &str, name: &str) -> String {
        let (status, field) = self
            .call(
                "POST",
                &format!("/v1/datasets/{dataset}/metadata"),
                Some(json!({"type": kind, "name": name})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{field}");
        assert_eq!(field["name"], name);
        assert_eq!(field["type"], kind);
        field["id"].as_str().unwrap().to_string()
    }

    /// Creates a text document and returns its id and batch.
    async fn create_document(&self, dataset: &str, name: &str, text: &str) -> (String, String) {
        let answer = self
            .ok(
                "POST",
                &format!("/v1/datasets/{dataset}/document/create-by-text"),
                Some(
                    json!({"name": name, "text": text, "indexing_technique": "high_quality",
                            "process_rule": {"mode": "automatic"}}),
                ),
            )
            .await;
        (
            answer["document"]["id"].as_str().unwrap().to_string(),
            answer["batch"].as_str().unwrap().to_string(),
        )
    }

    async fn wait_until_indexed(&self, dataset: &str, batch: &str) {
        for _ in 0..600 {
            let status = self
                .ok(
                    "GET",
                    &format!("/v1/datasets/{dataset}/documents/{batch}/indexing-status"),
                    None,
                )
                .await;
            let item = &status["data"][0];
            match item["indexing_status"].as_str() {
                Some("completed") => return,
                Some("error") => panic!("indexing failed: {item}"),
                _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        panic!("batch {batch} did not finish indexing in time");
    }

    async fn set_metadata(&self, dataset: &str, operations: Value) -> (StatusCode, Value) {
        self.call(
            "POST",
            &format!("/v1/datasets/{dataset}/documents/metadata"),
            Some(json!({ "operation_data": operations })),
        )
        .await
    }

    /// `doc_metadata` of a document's detail, as name -> value.
    async fn document_values(&self, dataset: &str, document: &str) -> serde_json::Map<String, Value> {
        let detail = self
            .ok(
                "GET",
                &format!("/v1/datasets/{dataset}/documents/{document}"),
                None,
            )
            .await;
        detail["doc_metadata"]
            .as_array()
            .unwrap_or_else(|| panic!("doc_metadata is a list: {detail}"))
            .iter()
            .map(|item| (item["name"].as_str().unwrap().to_string(), item["value"].clone()))
            .collect()
    }

    /// Document ids of the records a retrieval returns (one per record, in order).
    async fn retrieve(&self, dataset: &str, method: &str, query: &str, filter: Option<Value>) -> Vec<String> {
        let (status, answer) = self.retrieve_raw(dataset, method, query, filter).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["segment"]["document_id"].as_str().unwrap().to_string())
            .collect()
    }

    async fn retrieve_raw(
        &self,
        dataset: &str,
        method: &str,
        query: &str,
        filter: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut model = json!({"search_method": method, "reranking_enable": false, "top_k": 10,
                               "score_threshold_enabled": false});
        if let Some(filter) = filter {
            model["metadata_filtering_conditions"] = filter;
        }
        self.call(
            "POST",
            &format!("/v1/datasets/{dataset}/retrieve"),
            Some(json!({"query": query, "retrieval_model": model})),
        )
        .await
    }
}

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], expected.as_u16(), "{body}");
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

const MISSING: &str = "00000000-0000-0000-0000-00000000dead";

#[tokio::test]
async fn metadata_fields_crud_with_dify_errors() {
    let api = Api::new().await;
    let ds = api.create_dataset("fields").await;
    let uri = format!("/v1/datasets/{ds}/metadata");
    let author = api.create_field(&ds, "string", "author").await;
    let year = api.create_field(&ds, "number", "year").await;
    api.create_field(&ds, "time", "published").await;

    let (status, body) = api
        .call("POST", &uri, Some(json!({"type": "string", "name": "author"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(body["message"], "Metadata name already exists.");
    let (status, body) = api
        .call("POST", &uri, Some(json!({"type": "string", "name": "uploader"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(
        body["message"],
        "Metadata name already exists in Built-in fields."
    );
    for bad in [
        json!({"type": "date", "name": "x"}),
        json!({"name": "x"}),
        json!({"type": "string", "name": "  "}),
        json!({"type": "string"}),
        json!({"type": "string", "name": "x".repeat(256)}),
    ] {
        let (status, body) = api.call("POST", &uri, Some(bad.clone())).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }

    let list = api.ok("GET", &uri, None).await;
    assert_eq!(list["built_in_field_enabled"], false);
    let fields = list["doc_metadata"].as_array().unwrap();
    assert_eq!(fields.len(), 3, "{list}");
    assert!(fields.iter().all(|f| f["count"] == 0 && f["id"].is_string()));
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["author", "year", "published"]);

    let renamed = api
        .ok(
            "PATCH",
            &format!("{uri}/{author}"),
            Some(json!({"name": "writer"})),
        )
        .await;
    assert_eq!(renamed, json!({"id": author, "name": "writer", "type": "string"}));
    let (status, body) = api
        .call("PATCH", &format!("{uri}/{author}"), Some(json!({"name": "year"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, body) = api
        .call(
            "PATCH",
            &format!("{uri}/{author}"),
            Some(json!({"name": "source"})),
        )
        .await;
    assert_eq!(
        body["message"], "Metadata name already exists in Built-in fields.",
        "{status}"
    );
    for id in [MISSING, "not-a-uuid"] {
        let (status, body) = api
            .call("PATCH", &format!("{uri}/{id}"), Some(json!({"name": "z"})))
            .await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    }

    let (status, _) = api.call("DELETE", &format!("{uri}/{year}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api.call("DELETE", &format!("{uri}/{year}"), None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");

    let dataset = api.ok("GET", &format!("/v1/datasets/{ds}"), None).await;
    assert_eq!(dataset["built_in_field_enabled"], false);
    let fields: Vec<&str> = dataset["doc_metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["writer", "published"]);

    let built_in = api.ok("GET", &format!("{uri}/built-in"), None).await;
    assert_eq!(
        built_in,
        json!({"fields": [
            {"name": "document_name", "type": "string"}, {"name": "uploader", "type": "string"},
            {"name": "upload_date", "type": "time"}, {"name": "last_update_date", "type": "time"},
            {"name": "source", "type": "string"}]})
    );
    let answer = api.ok("POST", &format!("{uri}/built-in/enable"), None).await;
    assert_eq!(answer, json!({"result": "success"}));
    assert_eq!(api.ok("GET", &uri, None).await["built_in_field_enabled"], true);
    let dataset = api.ok("GET", &format!("/v1/datasets/{ds}"), None).await;
    assert_eq!(dataset["built_in_field_enabled"], true);
    let fields = dataset["doc_metadata"].as_array().unwrap();
    assert_eq!(fields.len(), 7, "{dataset}");
    assert_eq!(
        fields[2],
        json!({"id": "built-in", "name": "document_name", "type": "string"})
    );
    let (status, body) = api.call("POST", &format!("{uri}/built-in/sideways"), None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_action");
    api.ok("POST", &format!("{uri}/built-in/disable"), None).await;
    assert_eq!(api.ok("GET", &uri, None).await["built_in_field_enabled"], false);

    for (method, path) in [
        ("GET", format!("/v1/datasets/{MISSING}/metadata")),
        ("GET", format!("/v1/datasets/{MISSING}/metadata/built-in")),
        ("POST", format!("/v1/datasets/{MISSING}/metadata/built-in/enable")),
    ] {
        let (status, body) = api.call(method, &path, None).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn document_metadata_values_follow_renames_and_deletes() {
    let api = Api::new().await;
    let ds = api.create_dataset("values").await;
    let author = api.create_field(&ds, "string", "author").await;
    let year = api.create_field(&ds, "number", "year").await;
    let (doc1, _) = api.create_document(&ds, "one.txt", "The first document.").await;
    let (doc2, _) = api.create_document(&ds, "two.txt", "The second document.").await;
    assert_eq!(api.document_values(&ds, &doc1).await.len(), 0, "no values yet");

    let (status, answer) = api
        .set_metadata(
            &ds,
            json!([
                {"document_id": doc1, "metadata_list": [
                    {"id": author, "name": "author", "value": "Ann"},
                    {"id": year, "name": "year", "value": 2020}]},
                {"document_id": doc2, "metadata_list": [{"id": author, "name": "author", "value": "Bob"}]},
            ]),
        )
        .await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"result": "success"})));
    let detail = api
        .ok("GET", &format!("/v1/datasets/{ds}/documents/{doc1}"), None)
        .await;
    assert_eq!(
        detail["doc_metadata"],
        json!([{"id": author, "name": "author", "type": "string", "value": "Ann"},
               {"id": year, "name": "year", "type": "number", "value": 2020}])
    );
    let only = api
        .ok(
            "GET",
            &format!("/v1/datasets/{ds}/documents/{doc1}?metadata=only"),
            None,
        )
        .await;
    assert_eq!(only["doc_metadata"], detail["doc_metadata"]);
    let list = api.ok("GET", &format!("/v1/datasets/{ds}/documents"), None).await;
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == doc2.as_str())
        .unwrap();
    assert_eq!(listed["doc_metadata"][0]["value"], "Bob");
    let counts = api.ok("GET", &format!("/v1/datasets/{ds}/metadata"), None).await;
    assert_eq!(counts["doc_metadata"][0]["count"], 2, "{counts}");
    assert_eq!(counts["doc_metadata"][1]["count"], 1, "{counts}");

    // A partial update keeps what it does not name; a full one replaces everything.
    let (status, body) = api
        .set_metadata(
            &ds,
            json!([{"document_id": doc2, "partial_update": true,
                "metadata_list": [{"id": year, "name": "year", "value": 2021}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let values = api.document_values(&ds, &doc2).await;
    assert_eq!(
        (values["author"].clone(), values["year"].clone()),
        (json!("Bob"), json!(2021))
    );
    let (status, body) = api
        .set_metadata(
            &ds,
            json!([{"document_id": doc1, "metadata_list": [{"id": year, "name": "year", "value": 2022}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let values = api.document_values(&ds, &doc1).await;
    assert_eq!(values.len(), 1, "{values:?}");
    assert_eq!(values["year"], 2022);

    // Renaming moves every document's value; deleting removes it.
    api.ok(
        "PATCH",
        &format!("/v1/datasets/{ds}/metadata/{author}"),
        Some(json!({"name": "writer"})),
    )
    .await;
    let values = api.document_values(&ds, &doc2).await;
    assert_eq!(values.get("writer"), Some(&json!("Bob")), "{values:?}");
    assert!(!values.contains_key("author"));
    api.ok("DELETE", &format!("/v1/datasets/{ds}/metadata/{year}"), None)
        .await;
    let values = api.document_values(&ds, &doc2).await;
    assert_eq!(values.keys().collect::<Vec<_>>(), ["writer"]);
    assert!(api.document_values(&ds, &doc1).await.is_empty());
    // The year field is gone, so a value for it is refused; nothing of the batch is written.
    let (status, body) = api
        .set_metadata(
            &ds,
            json!([
                {"document_id": doc1, "metadata_list": [{"id": author, "name": "writer", "value": "Cy"}]},
                {"document_id": doc2, "metadata_list": [{"id": year, "name": "year", "value": 1}]},
            ]),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["message"], "Metadata not found.");
    assert!(api.document_values(&ds, &doc1).await.is_empty(), "all or nothing");
    let (status, body) = api
        .set_metadata(
            &ds,
            json!([{"document_id": MISSING, "metadata_list": [{"id": author, "name": "writer", "value": "x"}]}]),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["message"], "Document not found.");
    for bad in [json!(true), json!({"a": 1}), json!(["a"])] {
        let (status, body) = api
            .set_metadata(
                &ds,
                json!([{"document_id": doc1, "metadata_list": [{"id": author, "name": "writer", "value": bad}]}]),
            )
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, body) = api
        .call(
            "POST",
            &format!("/v1/datasets/{ds}/documents/metadata"),
            Some(json!({"operations": []})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");

    // Built-in values are shown while they are on, from the document itself.
    api.ok(
        "POST",
        &format!("/v1/datasets/{ds}/metadata/built-in/enable"),
        None,
    )
    .await;
    let values = api.document_values(&ds, &doc2).await;
    assert_eq!(values["writer"], "Bob");
    assert_eq!(values["document_name"], "two.txt");
    assert_eq!(values["uploader"], "owner");
    assert_eq!(values["source"], "file_upload");
    let uploaded: f64 = values["upload_date"].as_str().unwrap().parse().unwrap();
    assert!(uploaded > 1.7e9, "{values:?}");
    // Clients that send the built-in entries back change nothing.
    let (status, _) = api
        .set_metadata(
            &ds,
            json!([{"document_id": doc2, "partial_update": true,
                    "metadata_list": [{"id": "built-in", "name": "document_name", "value": "x"}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.document_values(&ds, &doc2).await["document_name"], "two.txt");
    api.ok(
        "POST",
        &format!("/v1/datasets/{ds}/metadata/built-in/disable"),
        None,
    )
    .await;
    assert_eq!(api.document_values(&ds, &doc2).await.len(), 1);
}

#[tokio::test]
async fn metadata_filtering_restricts_retrieval() {
    let api = Api::new().await;
    let ds = api.create_dataset("filtered").await;
    let author = api.create_field(&ds, "string", "author").await;
    let year = api.create_field(&ds, "number", "year").await;
    let (bees, batch) = api
        .create_document(
            &ds,
            "bees.txt",
            "Honey bees turn nectar into honey inside the hive.\n\nA colony keeps honey for winter.",
        )
        .await;
    api.wait_until_indexed(&ds, &batch).await;
    let (kitchen, batch) = api
        .create_document(
            &ds,
            "kitchen.txt",
            "Honey sweetens tea and cakes.\n\nWarm honey dissolves quickly in milk.",
        )
        .await;
    api.wait_until_indexed(&ds, &batch).await;
    let (history, batch) = api
        .create_document(&ds, "history.txt", "Ancient Egyptians traded honey as tribute.")
        .await;
    api.wait_until_indexed(&ds, &batch).await;
    let (status, body) = api.set_metadata(
        &ds,
        json!([
            {"document_id": bees, "metadata_list": [
                {"id": author, "name": "author", "value": "Ann"}, {"id": year, "name": "year", "value": 2019}]},
            {"document_id": kitchen, "metadata_list": [
                {"id": author, "name": "author", "value": "Bob"}, {"id": year, "name": "year", "value": 2022}]},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let all = sorted(vec![bees.clone(), kitchen.clone(), history.clone()]);
    assert_eq!(
        sorted(api.retrieve(&ds, "full_text_search", "honey", None).await),
        all
    );
    let condition = |name: &str, op: &str, value: Value| json!({"logical_operator": "and", "conditions": [{"name": name, "comparison_operator": op, "value": value}]});

    // Each method honours the filter inside the index: only the matching document's segments.
    for method in [
        "full_text_search",
        "semantic_search",
        "hybrid_search",
        "keyword_search",
    ] {
        let found = api
            .retrieve(
                &ds,
                method,
                "honey",
                Some(condition("author", "is", json!("Ann"))),
            )
            .await;
        assert!(!found.is_empty(), "{method}");
        assert!(found.iter().all(|id| *id == bees), "{method}: {found:?}");
    }
    for (filter, expected) in [
        (condition("year", ">", json!(2020)), vec![kitchen.clone()]),
        (
            condition("year", ">=", json!(2019)),
            vec![bees.clone(), kitchen.clone()],
        ),
        (condition("year", "≤", json!("2019")), vec![bees.clone()]),
        (condition("author", "empty", Value::Null), vec![history.clone()]),
        (
            condition("author", "not empty", Value::Null),
            vec![bees.clone(), kitchen.clone()],
        ),
        (
            condition("author", "in", json!(["Bob", "Cy"])),
            vec![kitchen.clone()],
        ),
        (condition("author", "not in", json!("Bob")), vec![bees.clone()]),
        (
            condition("author", "start with", json!("B")),
            vec![kitchen.clone()],
        ),
        (condition("author", "is", Value::Null), all.clone()),
        (
            json!({"logical_operator": "or", "conditions": [
                {"name": "author", "comparison_operator": "is", "value": "Ann"},
                {"name": "year", "comparison_operator": ">", "value": 2020}]}),
            vec![bees.clone(), kitchen.clone()],
        ),
        (
            json!({"logical_operator": "and", "conditions": [
                {"name": "author", "comparison_operator": "is", "value": "Ann"},
                {"name": "year", "comparison_operator": ">", "value": 2020}]}),
            vec![],
        ),
        // No such value, no such field, a type mismatch: no match, and no error.
        (condition("author", "is", json!("Nobody")), vec![]),
        (condition("colour", "is", json!("red")), vec![]),
        (condition("author", ">", json!(5)), vec![]),
    ] {
        let found = api
            .retrieve(&ds, "full_text_search", "honey", Some(filter.clone()))
            .await;
        assert_eq!(sorted(found), sorted(expected), "{filter}");
    }
    // An empty match is an empty record list.
    let (status, answer) = api
        .retrieve_raw(
            &ds,
            "hybrid_search",
            "honey",
            Some(condition("author", "is", json!("Nobody"))),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["records"], json!([]));
    // Records show the document's metadata object.
    let (_, answer) = api
        .retrieve_raw(
            &ds,
            "full_text_search",
            "honey",
            Some(condition("author", "is", json!("Ann"))),
        )
        .await;
    assert_eq!(
        answer["records"][0]["segment"]["document"]["doc_metadata"],
        json!({"author": "Ann", "year": 2019})
    );

    // Built-in fields filter while they are on.
    let by_name = condition("document_name", "is", json!("history.txt"));
    assert!(
        api.retrieve(&ds, "full_text_search", "honey", Some(by_name.clone()))
            .await
            .is_empty()
    );
    api.ok(
        "POST",
        &format!("/v1/datasets/{ds}/metadata/built-in/enable"),
        None,
    )
    .await;
    assert_eq!(
        sorted(
            api.retrieve(&ds, "full_text_search", "honey", Some(by_name))
                .await
        ),
        vec![history.clone()]
    );
    let recent = condition("upload_date", "after", json!("2001-09-09"));
    assert_eq!(
        sorted(api.retrieve(&ds, "full_text_search", "honey", Some(recent)).await),
        all
    );

    for bad in [
        condition("author", "like", json!("Ann")),
        json!({"logical_operator": "xor", "conditions": []}),
        json!({"conditions": [{"comparison_operator": "is", "value": "Ann"}]}),
        condition("author", "is", json!({"first": "Ann"})),
    ] {
        let (status, body) = api
            .retrieve_raw(&ds, "full_text_search", "honey", Some(bad.clone()))
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
}

#[tokio::test]
async fn tags_crud_binding_and_dataset_filter() {
    let api = Api::new().await;
    let finance = api
        .ok("POST", "/v1/datasets/tags", Some(json!({"name": "finance"})))
        .await;
    assert_eq!(finance["name"], "finance");
    assert_eq!(finance["type"], "knowledge");
    assert_eq!(finance["binding_count"], "0");
    let finance = finance["id"].as_str().unwrap().to_string();
    let legal = api
        .ok("POST", "/v1/datasets/tags", Some(json!({"name": "legal"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = api
        .call("POST", "/v1/datasets/tags", Some(json!({"name": "finance"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(body["message"], "Tag name already exists");
    for bad in [json!({"name": ""}), json!({"name": "x".repeat(51)}), json!({})] {
        let (status, body) = api.call("POST", "/v1/datasets/tags", Some(bad)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
        assert_eq!(body["message"], "Name must be between 1 to 50 characters.");
    }
    let ok = api
        .ok("POST", "/v1/datasets/tags", Some(json!({"name": "y".repeat(50)})))
        .await;
    api.ok("DELETE", "/v1/datasets/tags", Some(json!({"tag_id": ok["id"]})))
        .await;

    let ds1 = api.create_dataset("reports").await;
    let ds2 = api.create_dataset("contracts").await;
    let ds3 = api.create_dataset("untagged").await;
    let (status, _) = api
        .call(
            "POST",
            "/v1/datasets/tags/binding",
            Some(json!({"tag_ids": [finance, legal], "target_id": ds1})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for _ in 0..2 {
        // Binding twice keeps one binding.
        api.ok(
            "POST",
            "/v1/datasets/tags/binding",
            Some(json!({"tag_ids": [finance], "target_id": ds2})),
        )
        .await;
    }
    let tags = api.ok("GET", "/v1/datasets/tags", None).await;
    let count = |id: &str| {
        tags.as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["binding_count"].clone())
    };
    assert_eq!(count(&finance), Some(json!("2")), "{tags}");
    assert_eq!(count(&legal), Some(json!("1")), "{tags}");

    let bound = api.ok("GET", &format!("/v1/datasets/{ds1}/tags"), None).await;
    assert_eq!(bound["total"], 2);
    assert_eq!(
        bound["data"],
        json!([{"id": finance, "name": "finance"}, {"id": legal, "name": "legal"}])
    );
    let dataset = api.ok("GET", &format!("/v1/datasets/{ds1}"), None).await;
    assert_eq!(
        dataset["tags"],
        json!([{"id": finance, "name": "finance", "type": "knowledge"},
               {"id": legal, "name": "legal", "type": "knowledge"}])
    );

    let names = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect()
    };
    let page = api
        .ok("GET", &format!("/v1/datasets?tag_ids={legal}"), None)
        .await;
    assert_eq!(
        (names(&page), page["total"].clone()),
        (vec!["reports".to_string()], json!(1))
    );
    let page = api
        .ok(
            "GET",
            &format!("/v1/datasets?tag_ids={legal}&tag_ids={finance}"),
            None,
        )
        .await;
    assert_eq!(page["total"], 2, "any of the tags: {page}");
    assert!(!names(&page).contains(&"untagged".to_string()));
    let page = api
        .ok(
            "GET",
            &format!("/v1/datasets?tag_ids={finance}&keyword=CONTR"),
            None,
        )
        .await;
    assert_eq!(names(&page), ["contracts"]);
    let page = api
        .ok("GET", &format!("/v1/datasets?tag_ids={MISSING}"), None)
        .await;
    assert_eq!(
        (page["total"].clone(), page["data"].clone()),
        (json!(0), json!([]))
    );
    assert_eq!(api.ok("GET", "/v1/datasets", None).await["total"], 3);

    let renamed = api
        .ok(
            "PATCH",
            "/v1/datasets/tags",
            Some(json!({"tag_id": finance, "name": "money"})),
        )
        .await;
    assert_eq!(
        renamed,
        json!({"id": finance, "name": "money", "type": "knowledge", "binding_count": "2"})
    );
    let (status, body) = api
        .call(
            "PATCH",
            "/v1/datasets/tags",
            Some(json!({"tag_id": finance, "name": "legal"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, body) = api
        .call(
            "PATCH",
            "/v1/datasets/tags",
            Some(json!({"tag_id": MISSING, "name": "z"})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");

    // Unbinding: the legacy single tag_id form and the list form.
    let (status, _) = api
        .call(
            "POST",
            "/v1/datasets/tags/unbinding",
            Some(json!({"tag_id": legal, "target_id": ds1})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.ok("GET", &format!("/v1/datasets/{ds1}/tags"), None).await["total"],
        1
    );
    api.ok(
        "POST",
        "/v1/datasets/tags/unbinding",
        Some(json!({"tag_ids": [finance], "target_id": ds2})),
    )
    .await;
    assert_eq!(
        api.ok("GET", &format!("/v1/datasets/{ds2}/tags"), None).await["total"],
        0
    );

    for (uri, body, status, code) in [
        (
            "/v1/datasets/tags/binding",
            json!({"tag_ids": [MISSING], "target_id": ds3}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/datasets/tags/binding",
            json!({"tag_ids": [legal], "target_id": MISSING}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/datasets/tags/binding",
            json!({"tag_ids": [], "target_id": ds3}),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            "/v1/datasets/tags/unbinding",
            json!({"target_id": ds3}),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            "/v1/datasets/tags/unbinding",
            json!({"tag_id": legal, "target_id": MISSING}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let (got, answer) = api.call("POST", uri, Some(body.clone())).await;
        assert_error(got, &answer, status, code);
    }
    assert_eq!(
        api.ok("GET", &format!("/v1/datasets/{ds3}/tags"), None).await["total"],
        0
    );

    // Deleting a dataset drops its bindings; deleting a tag drops the tag and its bindings.
    api.ok(
        "POST",
        "/v1/datasets/tags/binding",
        Some(json!({"tag_ids": [legal], "target_id": ds3})),
    )
    .await;
    api.ok("DELETE", &format!("/v1/datasets/{ds3}"), None).await;
    let tags = api.ok("GET", "/v1/datasets/tags", None).await;
    let legal_tag = tags
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == legal.as_str())
        .unwrap();
    assert_eq!(legal_tag["binding_count"], "0");
    let (status, _) = api
        .call("DELETE", "/v1/datasets/tags", Some(json!({"tag_id": finance})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.ok("GET", &format!("/v1/datasets/{ds1}/tags"), None).await["total"],
        0
    );
    let tags = api.ok("GET", "/v1/datasets/tags", None).await;
    assert_eq!(tags.as_array().unwrap().len(), 1, "{tags}");
    let (status, body) = api
        .call("DELETE", "/v1/datasets/tags", Some(json!({"tag_id": finance})))
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = api
        .call("GET", &format!("/v1/datasets/{MISSING}/tags"), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn model_types_report_the_configured_embedding_model() {
    let api = Api::new().await;
    let uri = "/v1/workspaces/current/models/model-types";
    let answer = api.ok("GET", &format!("{uri}/text-embedding"), None).await;
    let providers = answer["data"].as_array().unwrap();
    assert_eq!(providers.len(), 1, "{answer}");
    let provider = &providers[0];
    assert_eq!(provider["provider"], "ragd");
    assert_eq!(provider["status"], "active");
    assert_eq!(provider["tenant_id"], DEFAULT_TENANT);
    let model = &provider["models"][0];
    assert_eq!(model["model"], "test/hash-embedder");
    assert_eq!(model["model_type"], "text-embedding");
    assert_eq!(model["status"], "active");
    assert!(model["model_properties"]["context_size"].as_u64().unwrap() > 0);
    // Datasets record the same model and provider.
    let ds = api.create_dataset("models").await;
    let dataset = api.ok("GET", &format!("/v1/datasets/{ds}"), None).await;
    assert_eq!(dataset["embedding_model"], model["model"]);
    assert_eq!(dataset["embedding_model_provider"], provider["provider"]);

    assert_eq!(
        api.ok("GET", &format!("{uri}/rerank"), None).await,
        json!({"data": []})
    );
    let (status, body) = api.call("GET", &format!("{uri}/painting"), None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let request = Request::builder()
        .uri(format!("{uri}/text-embedding"))
        .body(Body::empty())
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
