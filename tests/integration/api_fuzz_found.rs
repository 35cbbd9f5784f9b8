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
