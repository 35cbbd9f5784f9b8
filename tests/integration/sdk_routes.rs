//! Every (method, path) the Python SDKs on PyPI that speak Dify's APIs send must reach a handler:
//! no 405, and no 404 from the router's fallback (a handler's own 404 for an unknown id is fine).
//!
//! Read from their sources: dify-knowledge-sdk 0.2.0, dify-dataset-sdk 0.6.3 and dify-client
//! 0.1.10 (app API only; its PyPI release has no knowledge client). Bodies are as the SDKs send
//! them: JSON objects (`{"segment": {...}}` for segment updates, `{"segments": [...]}` for new
//! segments, `{"document_ids": [...]}` for status actions, `{"operation_data": [...]}` for
//! document metadata, `{"tag_id": ...}` for tag deletes) or multipart `file` + `data` parts for
//! the by-file routes.

use axum::http::StatusCode;
use ragd::api::NOT_FOUND_MESSAGE;
use serde_json::json;

use crate::apps_api::{AppsApi, tea_config};

/// Knowledge API routes: (method, path, SDKs that send it). `{ds}`, `{doc}`, `{seg}`, `{child}`,
/// `{meta}`, `{batch}` and `{action}` are filled in below; `{other}` is a dataset that does not exist.
const KNOWLEDGE_ROUTES: &[(&str, &str, &str)] = &[
    ("POST", "/v1/datasets", "knowledge, dataset"),
    ("GET", "/v1/datasets", "knowledge, dataset"),
    ("GET", "/v1/datasets/{ds}", "dataset"),
    ("PATCH", "/v1/datasets/{ds}", "dataset"),
    ("POST", "/v1/datasets/{ds}/document/create_by_text", "knowledge"),
    ("POST", "/v1/datasets/{ds}/document/create-by-text", "dataset"),
    ("POST", "/v1/datasets/{ds}/document/create_by_file", "knowledge"),
    ("POST", "/v1/datasets/{ds}/document/create-by-file", "dataset"),
    ("GET", "/v1/datasets/{ds}/documents", "knowledge, dataset"),
    ("GET", "/v1/datasets/{ds}/documents/{doc}", "dataset"),
    (
        "POST",
        "/v1/datasets/{ds}/documents/{doc}/update_by_text",
        "knowledge",
    ),
    (
        "POST",
        "/v1/datasets/{ds}/documents/{doc}/update-by-text",
        "dataset",
    ),
    (
        "POST",
        "/v1/datasets/{ds}/documents/{doc}/update_by_file",
        "knowledge",
    ),
    (
        "POST",
        "/v1/datasets/{ds}/documents/{doc}/update-by-file",
        "dataset",
    ),
    (
        "GET",
        "/v1/datasets/{ds}/documents/{batch}/indexing-status",
        "knowledge, dataset",
    ),
    ("PATCH", "/v1/datasets/{ds}/documents/status/{action}", "dataset"),
    ("GET", "/v1/datasets/{ds}/documents/{doc}/upload-file", "dataset"),
    (
        "POST",
        "/v1/datasets/{ds}/documents/{doc}/segments",
        "knowledge, dataset",
    ),
    (
        "GET",
        "/v1/datasets/{ds}/documents/{doc}/segments",
        "knowledge, dataset",
    ),
    (
        "GET",
        "/v1/datasets/{ds}/documents/{doc}/segments/{seg}",
        "dataset",
    ),
    (
        "POST",
        "/v1/datasets/{ds}/documents/{doc}/segments/{seg}",
        "knowledge, dataset",
    ),
    (
        "POST",
        "/v1/datasets/{ds}/documents/{doc}/segments/{seg}/child_chunks",
        "dataset",
    ),
    (
        "GET",
        "/v1/datasets/{ds}/documents/{doc}/segments/{seg}/child_chunks",
        "dataset",
    ),
    (
        "PATCH",
        "/v1/datasets/{ds}/documents/{doc}/segments/{seg}/child_chunks/{child}",
        "dataset",
    ),
    (
        "DELETE",
        "/v1/datasets/{ds}/documents/{doc}/segments/{seg}/child_chunks/{child}",
        "dataset",
    ),
    (
        "DELETE",
        "/v1/datasets/{ds}/documents/{doc}/segments/{seg}",
        "knowledge, dataset",
    ),
    ("POST", "/v1/datasets/{ds}/retrieve", "dataset"),
    ("POST", "/v1/datasets/{ds}/metadata", "knowledge, dataset"),
    ("GET", "/v1/datasets/{ds}/metadata", "knowledge, dataset"),
    ("PATCH", "/v1/datasets/{ds}/metadata/{meta}", "knowledge, dataset"),
    (
        "DELETE",
        "/v1/datasets/{ds}/metadata/{meta}",
        "knowledge, dataset",
    ),
    ("POST", "/v1/datasets/{ds}/metadata/built-in/{action}", "dataset"),
    (
        "DELETE",
        "/v1/datasets/{ds}/metadata/built-in/{action}",
        "knowledge",
    ),
    (
        "POST",
        "/v1/datasets/{ds}/documents/metadata",
        "knowledge, dataset",
    ),
    ("POST", "/v1/datasets/tags", "dataset"),
    ("GET", "/v1/datasets/tags", "dataset"),
    ("PATCH", "/v1/datasets/tags", "dataset"),
    ("DELETE", "/v1/datasets/tags", "dataset"),
    ("POST", "/v1/datasets/tags/binding", "dataset"),
    ("POST", "/v1/datasets/tags/unbinding", "dataset"),
    ("POST", "/v1/datasets/{ds}/tags", "dataset"),
    (
        "GET",
        "/v1/workspaces/current/models/model-types/text-embedding",
        "dataset",
    ),
    (
        "DELETE",
        "/v1/datasets/{other}/documents/{doc}",
        "knowledge, dataset",
    ),
    ("DELETE", "/v1/datasets/{other}", "knowledge, dataset"),
];

/// App API routes dify-client 0.1.10 sends.
const APP_ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/messages/{msg}/feedbacks"),
    ("GET", "/v1/parameters"),
    ("POST", "/v1/files/upload"),
    ("POST", "/v1/completion-messages"),
    ("POST", "/v1/chat-messages"),
    ("GET", "/v1/messages"),
    ("GET", "/v1/conversations"),
    ("POST", "/v1/conversations/{conv}/name"),
];

fn fill(path: &str, dataset: &str) -> String {
    let unknown = "5f0c3c1e-8d2a-4b7e-9a61-2f4d8c9e1b00";
    path.replace("{ds}", dataset)
        .replace("{action}", "enable")
        .replace("{batch}", "20250101000000123456")
        .replace("{msg}", unknown)
        .replace("{conv}", unknown)
        .replace("{other}", unknown)
        .replace("{doc}", unknown)
        .replace("{seg}", unknown)
        .replace("{child}", unknown)
        .replace("{meta}", unknown)
}

fn assert_routed(method: &str, path: &str, status: StatusCode, body: &serde_json::Value) {
    assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {body}");
    let unrouted = status == StatusCode::NOT_FOUND && body["message"] == NOT_FOUND_MESSAGE;
    assert!(!unrouted, "{method} {path} is not routed: {body}");
}

#[tokio::test]
async fn every_route_the_python_sdks_send_is_served() {
    let apps = AppsApi::new(None).await;
    let dataset = apps.dataset_id.clone();
    // Destructive routes name an unknown dataset or document, so the others still find `dataset`.
    for (method, path, _sdks) in KNOWLEDGE_ROUTES {
        let uri = fill(path, &dataset);
        let body = matches!(*method, "POST" | "PATCH" | "DELETE").then(|| json!({}));
        let (status, answer) = apps.api.call(method, &uri, body).await;
        assert_routed(method, &uri, status, &answer);
    }
    let key = apps.app("chat", tea_config()).await;
    for (method, path) in APP_ROUTES {
        let uri = fill(path, &dataset);
        let body = (*method == "POST").then(|| json!({}));
        let (status, answer) = apps.call(&key, method, &uri, body).await;
        assert_routed(method, &uri, status, &answer);
    }
    // The fallback still answers what is not routed, so the check above can fail.
    let (status, answer) = apps.api.call("GET", "/v1/datasets/x/nothing-here", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["message"], NOT_FOUND_MESSAGE);
    let (status, _) = apps
        .api
        .call("PUT", &format!("/v1/datasets/{dataset}"), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}
