//! External datasets inside ragd (Dify's `console/datasets/external.py`): External Knowledge
//! APIs of a workspace, datasets that read one, and retrieval forwarded to `{endpoint}/retrieval`
//! through the outbound client, against a recording stub and against ragd's own
//! `/external/retrieval`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::console_datasets::{indexed_dataset, start_workers, uri};
use crate::console_support::{Console, Session};
use crate::knowledge_api::assert_error;

const API_KEY: &str = "ext-secret-key-1234";
/// What the stub puts in its error bodies; no answer of ragd may echo it.
const UPSTREAM_DETAIL: &str = "upstream-internal-detail-42";

/// How the stub answers retrievals.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Records,
    Fail(u16),
    Garbage,
}

struct Recorded {
    mode: Mode,
    /// (Authorization header, body) of each request with a body.
    requests: Vec<(String, Value)>,
}

/// A stub External Knowledge API at `{base}/kb/retrieval`.
#[derive(Clone)]
struct Stub {
    endpoint: String,
    state: Arc<Mutex<Recorded>>,
}

async fn retrieval(State(state): State<Arc<Mutex<Recorded>>>, headers: HeaderMap, body: String) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if auth != format!("Bearer {API_KEY}") {
        return (StatusCode::FORBIDDEN, UPSTREAM_DETAIL).into_response();
    }
    // Dify's check when an API is saved posts no body.
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "no body").into_response();
    };
    let mut recorded = state.lock().unwrap();
    recorded.requests.push((auth, body.clone()));
    match recorded.mode {
        Mode::Records => axum::Json(json!({"records": [
            {"content": format!("answer about {}", body["query"].as_str().unwrap_or("")),
             "title": "notes.md", "score": 0.87, "metadata": {"source": "stub"}},
        ]}))
        .into_response(),
        Mode::Fail(status) => (StatusCode::from_u16(status).unwrap(), UPSTREAM_DETAIL).into_response(),
        Mode::Garbage => (StatusCode::OK, format!("<html>{UPSTREAM_DETAIL}</html>")).into_response(),
    }
}

impl Stub {
    async fn start() -> Stub {
        let state = Arc::new(Mutex::new(Recorded {
            mode: Mode::Records,
            requests: Vec::new(),
        }));
        let app = Router::new()
            .route("/kb/retrieval", post(retrieval))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Stub {
            endpoint: format!("http://{address}/kb"),
            state,
        }
    }

    fn set(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().requests.clone()
    }
}

async fn loopback_console() -> Console {
    Console::with_config(|config| config.security.outbound_allow = vec!["127.0.0.1".parse().unwrap()]).await
}

async fn create_api(c: &Console, s: &Session, name: &str, endpoint: &str, key: &str) -> (StatusCode, Value) {
    s.call(
        c,
        "POST",
        &uri("/datasets/external-knowledge-api"),
        Some(
            json!({"name": name, "description": "notes", "settings": {"endpoint": endpoint, "api_key": key}}),
        ),
    )
    .await
}

async fn create_external_dataset(c: &Console, s: &Session, api_id: &str, name: &str) -> (StatusCode, Value) {
    s.call(
        c,
        "POST",
        &uri("/datasets/external"),
        Some(json!({"external_knowledge_api_id": api_id, "external_knowledge_id": "kb-1", "name": name,
            "external_retrieval_model": {"top_k": 3, "score_threshold": 0.5, "score_threshold_enabled": true}})),
    )
    .await
}

async fn api_count(c: &Console, s: &Session) -> u64 {
    let (status, list) = s
        .call(c, "GET", &uri("/datasets/external-knowledge-api"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["total"].as_u64().unwrap()
}

#[tokio::test]
async fn external_apis_are_managed_with_sealed_keys_and_bad_input_changes_nothing() {
    let c = loopback_console().await;
    let stub = Stub::start().await;
    let owner = c.owner().await;

    let (status, api) = create_api(&c, &owner, "Notes KB", &stub.endpoint, API_KEY).await;
    assert_eq!(status, StatusCode::CREATED, "{api}");
    assert_eq!(api["settings"]["endpoint"], stub.endpoint.as_str());
    assert_eq!(
        api["settings"]["api_key"], "[__HIDDEN__]",
        "the key is never shown"
    );
    assert_eq!(api["dataset_bindings"], json!([]));
    let api_id = api["id"].as_str().unwrap().to_string();
    let stored = c
        .engine
        .store()
        .external_api(&owner.tenant_id, &api_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored.api_key_sealed.contains(API_KEY),
        "the key is sealed at rest"
    );

    // Bad input: 400 and nothing stored.
    for body in [
        json!({"name": "x"}),
        json!({"name": "", "settings": {"endpoint": stub.endpoint, "api_key": API_KEY}}),
        json!({"name": "x", "settings": {"endpoint": "", "api_key": API_KEY}}),
        json!({"name": "x", "settings": {"endpoint": stub.endpoint, "api_key": ""}}),
        json!({"name": "x", "settings": {"endpoint": "ftp://example.com/kb", "api_key": API_KEY}}),
        json!({"name": "x", "settings": "not an object"}),
    ] {
        let (status, answer) = owner
            .call(
                &c,
                "POST",
                &uri("/datasets/external-knowledge-api"),
                Some(body.clone()),
            )
            .await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    }
    // A key the endpoint refuses, an endpoint that is not one: refused when saved.
    let (status, answer) = create_api(&c, &owner, "Wrong key", &stub.endpoint, "wrong").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(!answer.to_string().contains(UPSTREAM_DETAIL), "{answer}");
    let missing = stub.endpoint.replace("/kb", "/nothing");
    let (status, answer) = create_api(&c, &owner, "Missing", &missing, API_KEY).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let closed = format!(
        "http://{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    );
    let (status, answer) = create_api(&c, &owner, "Closed", &closed, API_KEY).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, answer) = create_api(&c, &owner, "Notes KB", &stub.endpoint, API_KEY).await;
    assert_error(status, &answer, StatusCode::CONFLICT, "dataset_name_duplicate");
    assert_eq!(api_count(&c, &owner).await, 1);

    // Changed with the hidden key sent back: the stored key stays.
    let (status, changed) = owner
        .call(
            &c,
            "PATCH",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            Some(json!({"name": "Notes", "settings": {"endpoint": format!("{}/", stub.endpoint), "api_key": "[__HIDDEN__]"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "Notes");
    assert_eq!(
        changed["settings"]["endpoint"],
        stub.endpoint.as_str(),
        "a trailing slash is dropped"
    );
    let (status, got) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["name"], "Notes");
    let (status, answer) = owner
        .call(
            &c,
            "PATCH",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            Some(json!({"name": "Other", "settings": {"endpoint": "not a url", "api_key": "[__HIDDEN__]"}})),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (_, got) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            None,
        )
        .await;
    assert_eq!(got["name"], "Notes", "a refused change changes nothing");

    // A normal member reads but does not change.
    let normal = c.member(&owner, ragd::store::Role::Normal).await;
    let (status, _) = normal
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = normal
        .call(
            &c,
            "DELETE",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, answer) = owner
        .call(
            &c,
            "GET",
            &uri("/datasets/external-knowledge-api/not-a-uuid"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, _) = owner
        .call(
            &c,
            "DELETE",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(api_count(&c, &owner).await, 0);
}

#[tokio::test]
async fn external_datasets_forward_retrieval_and_map_upstream_errors() {
    let c = loopback_console().await;
    let stub = Stub::start().await;
    let owner = c.owner().await;
    let (_, api) = create_api(&c, &owner, "Notes KB", &stub.endpoint, API_KEY).await;
    let api_id = api["id"].as_str().unwrap().to_string();

    // Bad input: 400/404 and no dataset.
    for (body, expected) in [
        (
            json!({"external_knowledge_id": "kb-1", "name": "x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"external_knowledge_api_id": api_id, "name": "x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"external_knowledge_api_id": api_id, "external_knowledge_id": "kb-1"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"external_knowledge_api_id": api_id, "external_knowledge_id": "kb-1", "name": "x",
                "external_retrieval_model": {"top_k": 0}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"external_knowledge_api_id": api_id, "external_knowledge_id": "kb-1", "name": "x",
                "external_retrieval_model": {"score_threshold": 2}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"external_knowledge_api_id": uuid::Uuid::new_v4().to_string(), "external_knowledge_id": "kb-1",
                "name": "x"}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, answer) = owner
            .call(&c, "POST", &uri("/datasets/external"), Some(body))
            .await;
        assert_eq!(status, expected, "{answer}");
    }
    let (_, list) = owner.call(&c, "GET", &uri("/datasets"), None).await;
    assert_eq!(list["total"], 0, "{list}");

    let (status, dataset) = create_external_dataset(&c, &owner, &api_id, "Notes").await;
    assert_eq!(status, StatusCode::CREATED, "{dataset}");
    assert_eq!(dataset["provider"], "external");
    assert_eq!(
        dataset["external_knowledge_info"]["external_knowledge_id"],
        "kb-1"
    );
    assert_eq!(
        dataset["external_knowledge_info"]["external_knowledge_api_id"],
        api_id.as_str()
    );
    assert_eq!(
        dataset["external_knowledge_info"]["external_knowledge_api_name"],
        "Notes KB"
    );
    assert_eq!(
        dataset["external_knowledge_info"]["external_knowledge_api_endpoint"],
        stub.endpoint.as_str()
    );
    assert_eq!(
        dataset["external_retrieval_model"],
        json!({"top_k": 3, "score_threshold": 0.5, "score_threshold_enabled": true})
    );
    let dataset_id = dataset["id"].as_str().unwrap().to_string();
    let (_, got) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{dataset_id}")), None)
        .await;
    assert_eq!(
        got["external_knowledge_info"]["external_knowledge_id"], "kb-1",
        "{got}"
    );

    // Hit testing forwards Dify's body with the key as a bearer token.
    let hit = |body: Value| {
        let owner = owner.clone();
        let c = &c;
        let dataset_id = dataset_id.clone();
        async move {
            owner
                .call(
                    c,
                    "POST",
                    &uri(&format!("/datasets/{dataset_id}/external-hit-testing")),
                    Some(body),
                )
                .await
        }
    };
    let (status, answer) = hit(json!({"query": "waggle dance"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["query"]["content"], "waggle dance");
    assert_eq!(answer["records"][0]["content"], "answer about waggle dance");
    assert_eq!(answer["records"][0]["title"], "notes.md");
    assert_eq!(answer["records"][0]["score"], 0.87);
    assert_eq!(answer["records"][0]["metadata"]["source"], "stub");
    let (auth, sent) = stub.requests().pop().unwrap();
    assert_eq!(auth, format!("Bearer {API_KEY}"));
    assert_eq!(
        sent,
        json!({"retrieval_setting": {"top_k": 3, "score_threshold": 0.5}, "query": "waggle dance",
               "knowledge_id": "kb-1", "metadata_condition": null})
    );
    // Settings of the request win; a threshold switched off is sent as 0.0 (Dify's rule).
    let (status, _) = hit(
        json!({"query": "q", "external_retrieval_model": {"top_k": 7, "score_threshold_enabled": false}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stub.requests().pop().unwrap().1["retrieval_setting"],
        json!({"top_k": 7, "score_threshold": 0.0})
    );
    let (status, answer) = hit(json!({"query": ""})).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");

    // The service API's retrieve is forwarded too.
    let (status, key) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let service = Session {
        access_token: key["token"].as_str().unwrap().to_string(),
        ..owner.clone()
    };
    let (status, answer) = service
        .call(
            &c,
            "POST",
            &format!("/v1/datasets/{dataset_id}/retrieve"),
            Some(json!({"query": "honey"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["records"][0]["content"], "answer about honey");

    // Documents and segments: an external dataset has none (400), in both APIs.
    let (status, answer) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/{dataset_id}/documents")),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, answer) = service
        .call(
            &c,
            "POST",
            &format!("/v1/datasets/{dataset_id}/document/create-by-text"),
            Some(json!({"name": "a.txt", "text": "tea", "indexing_technique": "economy"})),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");

    // Upstream failures are clear errors that never carry the upstream body.
    for (mode, expected, code) in [
        (
            Mode::Fail(500),
            StatusCode::BAD_GATEWAY,
            "external_knowledge_unavailable",
        ),
        (
            Mode::Fail(403),
            StatusCode::BAD_REQUEST,
            "provider_not_initialize",
        ),
        (
            Mode::Garbage,
            StatusCode::BAD_GATEWAY,
            "external_knowledge_unavailable",
        ),
    ] {
        stub.set(mode);
        let (status, answer) = hit(json!({"query": "tea"})).await;
        assert_error(status, &answer, expected, code);
        assert!(!answer.to_string().contains(UPSTREAM_DETAIL), "{answer}");
    }
    stub.set(Mode::Records);

    // The API is in use while the dataset reads it.
    let (status, check) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}/use-check")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(check, json!({"is_using": true, "count": 1}));
    let (_, api) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            None,
        )
        .await;
    assert_eq!(
        api["dataset_bindings"],
        json!([{"id": dataset_id, "name": "Notes"}])
    );
    let (status, answer) = owner
        .call(
            &c,
            "DELETE",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::CONFLICT, "dataset_in_use");
    let (status, _) = owner
        .call(&c, "DELETE", &uri(&format!("/datasets/{dataset_id}")), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = owner
        .call(
            &c,
            "DELETE",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn loopback_endpoints_are_refused_unless_allowed() {
    let c = Console::new().await;
    let stub = Stub::start().await;
    let owner = c.owner().await;
    let (status, answer) = create_api(&c, &owner, "Local", &stub.endpoint, API_KEY).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    assert!(
        answer["message"].as_str().unwrap().contains("outbound_allow"),
        "{answer}"
    );
    assert!(stub.requests().is_empty(), "nothing was sent");
    for endpoint in [
        "http://10.0.0.8/kb",
        "http://169.254.169.254/latest",
        "http://[::1]:9/kb",
    ] {
        let (status, answer) = create_api(&c, &owner, "Internal", endpoint, API_KEY).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    }
    assert_eq!(api_count(&c, &owner).await, 0);
}

#[tokio::test]
async fn external_knowledge_is_workspace_scoped() {
    let c = loopback_console().await;
    let stub = Stub::start().await;
    let owner = c.owner().await;
    let (_, api) = create_api(&c, &owner, "Notes KB", &stub.endpoint, API_KEY).await;
    let api_id = api["id"].as_str().unwrap().to_string();
    let (_, dataset) = create_external_dataset(&c, &owner, &api_id, "Notes").await;
    let dataset_id = dataset["id"].as_str().unwrap().to_string();

    let other = c.other_workspace().await;
    assert_eq!(api_count(&c, &other).await, 0);
    for (method, path, body) in [
        ("GET", format!("/datasets/external-knowledge-api/{api_id}"), None),
        (
            "GET",
            format!("/datasets/external-knowledge-api/{api_id}/use-check"),
            None,
        ),
        (
            "PATCH",
            format!("/datasets/external-knowledge-api/{api_id}"),
            Some(json!({"name": "mine", "settings": {"endpoint": stub.endpoint, "api_key": API_KEY}})),
        ),
        (
            "DELETE",
            format!("/datasets/external-knowledge-api/{api_id}"),
            None,
        ),
        (
            "POST",
            format!("/datasets/{dataset_id}/external-hit-testing"),
            Some(json!({"query": "q"})),
        ),
        ("GET", format!("/datasets/{dataset_id}"), None),
    ] {
        let (status, answer) = other.call(&c, method, &uri(&path), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
    }
    let (status, answer) = create_external_dataset(&c, &other, &api_id, "Stolen").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (_, got) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/external-knowledge-api/{api_id}")),
            None,
        )
        .await;
    assert_eq!(got["name"], "Notes KB", "unchanged");
    assert_eq!(got["dataset_bindings"].as_array().unwrap().len(), 1);
}

/// An external dataset reading a ragd dataset through ragd's own `/external/retrieval`, over
/// real HTTP (the same server, reached on loopback, which the test allows).
#[tokio::test]
async fn external_dataset_reads_ragd_through_its_external_knowledge_api() {
    let c = loopback_console().await;
    start_workers(&c);
    let owner = c.owner().await;
    let (source, _) = indexed_dataset(&c, &owner, "tea source", "only_me").await;
    let (status, key) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let dataset_key = key["token"].as_str().unwrap().to_string();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = c.app.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let endpoint = format!("http://{address}/external");
    let (status, api) = create_api(&c, &owner, "ragd itself", &endpoint, &dataset_key).await;
    assert_eq!(status, StatusCode::CREATED, "{api}");
    let (status, dataset) = owner
        .call(
            &c,
            "POST",
            &uri("/datasets/external"),
            Some(json!({"external_knowledge_api_id": api["id"], "external_knowledge_id": source, "name": "Tea via API",
                "external_retrieval_model": {"top_k": 2}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dataset}");
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &uri(&format!(
                "/datasets/{}/external-hit-testing",
                dataset["id"].as_str().unwrap()
            )),
            Some(json!({"query": "How is green tea processed?"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let records = answer["records"].as_array().unwrap();
    assert!(!records.is_empty() && records.len() <= 2, "{answer}");
    assert!(
        records
            .iter()
            .any(|r| r["content"].as_str().unwrap().to_lowercase().contains("tea")),
        "{answer}"
    );
    assert!(records[0]["score"].as_f64().unwrap() > 0.0, "{answer}");
}

/// An app bound to an external dataset searches it through its API: the records are cited like
/// chunks (data source `external`); an API that fails leaves the app answering without them.
#[tokio::test]
async fn apps_retrieve_from_external_datasets() {
    let c = loopback_console().await;
    let stub = Stub::start().await;
    let owner = c.owner().await;
    let (_, api) = create_api(&c, &owner, "Notes KB", &stub.endpoint, API_KEY).await;
    let (_, dataset) = create_external_dataset(&c, &owner, api["id"].as_str().unwrap(), "Notes").await;
    let dataset_id = dataset["id"].as_str().unwrap().to_string();
    let (status, app) = owner
        .call(
            &c,
            "POST",
            &uri("/apps"),
            Some(json!({"name": "Notes helper", "mode": "chat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let app_id = app["id"].as_str().unwrap().to_string();
    let bind = json!({"dataset_configs": {"datasets": {"datasets": [{"dataset": {"enabled": true, "id": dataset_id}}]}}});
    let (status, body) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/apps/{app_id}/model-config")),
            Some(bind),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let chat = uri(&format!("/apps/{app_id}/chat-messages"));
    let question = json!({"inputs": {}, "query": "Where do herons nest?", "response_mode": "blocking"});
    let (status, answer) = owner.call(&c, "POST", &chat, Some(question.clone())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let resources = answer["metadata"]["retriever_resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{answer}");
    assert_eq!(resources[0]["dataset_id"], dataset_id.as_str());
    assert_eq!(resources[0]["data_source_type"], "external");
    assert_eq!(resources[0]["document_name"], "notes.md");
    assert_eq!(resources[0]["content"], "answer about Where do herons nest?");
    let (_, sent) = stub.requests().pop().unwrap();
    assert_eq!(sent["knowledge_id"], "kb-1");
    assert_eq!(
        sent["retrieval_setting"],
        json!({"top_k": 3, "score_threshold": 0.5})
    );

    stub.set(Mode::Fail(500));
    let (status, answer) = owner.call(&c, "POST", &chat, Some(question)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(!answer.to_string().contains(UPSTREAM_DETAIL), "{answer}");
    assert!(
        answer["metadata"]["retriever_resources"]
            .as_array()
            .is_none_or(|r| r.is_empty()),
        "{answer}"
    );
}
