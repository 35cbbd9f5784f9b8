//! Answers the HTTP fuzzer (`scripts/api_fuzz.sh`, schemathesis from the OpenAPI documents)
//! found outside the documented contract, one test each, so they stay fixed without running it.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::console_support::{Console, Session};

/// Dify's error envelope with this status and code.
fn assert_envelope(status: StatusCode, body: &Value, want: StatusCode, code: &str, what: &str) {
    assert_eq!(status, want, "{what}: {body}");
    assert_eq!(body["code"], code, "{what}: {body}");
    assert_eq!(body["status"], want.as_u16(), "{what}: {body}");
    assert!(body["message"].is_string(), "{what}: {body}");
}

/// A dataset key and an app key of the owner's workspace.
async fn keys(console: &Console, owner: &Session) -> (String, String) {
    let (status, key) = owner
        .call(console, "POST", "/console/api/datasets/api-keys", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let (status, app) = owner
        .call(
            console,
            "POST",
            "/console/api/apps",
            Some(json!({"name": "fuzz", "mode": "chat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let uri = format!("/console/api/apps/{}/api-keys", app["id"].as_str().unwrap());
    let (status, app_key) = owner.call(console, "POST", &uri, None).await;
    assert_eq!(status, StatusCode::CREATED, "{app_key}");
    (
        key["token"].as_str().unwrap().to_string(),
        app_key["token"].as_str().unwrap().to_string(),
    )
}

/// Every upload route answered a body that is not a multipart form with axum's plain-text 400;
/// Dify answers `no_file_uploaded` in its envelope.
#[tokio::test]
async fn upload_routes_answer_a_body_that_is_no_form_in_the_envelope() {
    let console = Console::new().await;
    let owner = console.owner().await;
    let (dataset_key, app_key) = keys(&console, &owner).await;
    let console_auth = format!("Bearer {}", owner.access_token);
    let dataset_auth = format!("Bearer {dataset_key}");
    let app_auth = format!("Bearer {app_key}");
    let id = "00000000-0000-0000-0000-000000000001";
    let document = format!("/v1/datasets/{id}/documents/{id}");
    let routes = [
        ("POST", "/console/api/files/upload".to_string(), &console_auth),
        ("POST", "/v1/files/upload".to_string(), &app_auth),
        (
            "POST",
            format!("/v1/datasets/{id}/document/create-by-file"),
            &dataset_auth,
        ),
        (
            "POST",
            format!("/v1/datasets/{id}/document/create_by_file"),
            &dataset_auth,
        ),
        ("POST", format!("{document}/update-by-file"), &dataset_auth),
        ("POST", format!("{document}/update_by_file"), &dataset_auth),
        ("PATCH", document.clone(), &dataset_auth),
    ];
    for (method, uri, auth) in &routes {
        // No body at all, and a JSON body where the form should be.
        for body in [None, Some(json!({"file": "x"}))] {
            let answer = console
                .send(method, uri, &[("authorization", auth.as_str())], body)
                .await;
            assert_envelope(
                answer.status,
                &answer.body,
                StatusCode::BAD_REQUEST,
                "no_file_uploaded",
                &format!("{method} {uri}"),
            );
        }
    }
}

/// update-by-text without a process rule stored the `retrieval_model` it was sent unchecked
/// (a float `top_k`, an object `score_threshold`), which every later dataset answer then carried.
/// It is checked as on every other route: 400, and the dataset keeps its settings.
#[tokio::test]
async fn a_document_update_cannot_store_an_invalid_retrieval_model() {
    let console = Console::new().await;
    let owner = console.owner().await;
    let (key, _) = keys(&console, &owner).await;
    let auth = format!("Bearer {key}");
    let call = |method: &'static str, uri: String, body: Option<Value>| {
        let auth = auth.clone();
        let console = &console;
        async move {
            let answer = console
                .send(method, &uri, &[("authorization", auth.as_str())], body)
                .await;
            (answer.status, answer.body)
        }
    };
    let (status, dataset) = call("POST", "/v1/datasets".into(), Some(json!({"name": "fuzzed"}))).await;
    assert_eq!(status, StatusCode::OK, "{dataset}");
    let id = dataset["id"].as_str().unwrap();
    let (status, created) = call(
        "POST",
        format!("/v1/datasets/{id}/document/create-by-text"),
        Some(
            json!({"name": "a.txt", "text": "Green tea is steamed.", "indexing_technique": "economy",
                    "process_rule": {"mode": "automatic"}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let doc = created["document"]["id"].as_str().unwrap();
    let (_, before) = call("GET", format!("/v1/datasets/{id}"), None).await;
    for retrieval in [
        json!({"top_k": 2.4e34}),
        json!({"score_threshold_enabled": true, "score_threshold": {"x": 1}}),
        json!({"search_method": "psychic_search"}),
    ] {
        for route in ["update-by-text", "update_by_text"] {
            let (status, body) = call(
                "POST",
                format!("/v1/datasets/{id}/documents/{doc}/{route}"),
                Some(json!({"name": "b.txt", "retrieval_model": retrieval})),
            )
            .await;
            assert_envelope(
                status,
                &body,
                StatusCode::BAD_REQUEST,
                "invalid_param",
                &retrieval.to_string(),
            );
        }
    }
    let (_, after) = call("GET", format!("/v1/datasets/{id}"), None).await;
    assert_eq!(after["retrieval_model_dict"], before["retrieval_model_dict"]);
    let (_, document) = call("GET", format!("/v1/datasets/{id}/documents/{doc}"), None).await;
    assert_eq!(document["name"], "a.txt", "a refused update changes nothing");
}

/// A NUL character in a query value, a path or a JSON string was a 500 on PostgreSQL ("invalid
/// byte sequence for encoding UTF8: 0x00"). It is refused before it reaches the store, on every
/// database: 400 in a query or a body, 404 in a path; nothing is stored.
#[tokio::test]
async fn nul_characters_are_refused_before_the_store() {
    let console = Console::new().await;
    let owner = console.owner().await;
    let (dataset_key, app_key) = keys(&console, &owner).await;
    let bearer = |token: &str| format!("Bearer {token}");
    let (console_auth, dataset_auth, app_auth) = (
        bearer(&owner.access_token),
        bearer(&dataset_key),
        bearer(&app_key),
    );
    let cases = [
        (
            "GET",
            "/v1/messages?user=fuzz%00er",
            &app_auth,
            None,
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            "GET",
            "/v1/conversations?user=a%00",
            &app_auth,
            None,
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            "GET",
            "/console/api/datasets?keyword=%00",
            &console_auth,
            None,
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            "GET",
            "/v1/datasets?keyword=tea%00",
            &dataset_auth,
            None,
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            "GET",
            "/v1/datasets/x%00y",
            &dataset_auth,
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            "/v1/datasets",
            &dataset_auth,
            Some(json!({"name": "tea\u{0}"})),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            "POST",
            "/console/api/datasets",
            &console_auth,
            Some(json!({"name": "tea", "description": "\u{0}"})),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            "POST",
            "/v1/chat-messages",
            &app_auth,
            Some(json!({"query": "hi", "inputs": {}, "user": "u\u{0}", "response_mode": "blocking"})),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
    ];
    for (method, uri, auth, body, status, code) in cases {
        let answer = console
            .send(method, uri, &[("authorization", auth.as_str())], body)
            .await;
        assert_envelope(
            answer.status,
            &answer.body,
            status,
            code,
            &format!("{method} {uri}"),
        );
    }
    let (_, datasets) = owner
        .call(&console, "GET", "/console/api/datasets?include_all=true", None)
        .await;
    assert_eq!(datasets["total"], 0, "nothing was stored: {datasets}");
}
