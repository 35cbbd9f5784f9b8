//! The JSON shapes Dify clients read, pinned by snapshots (tests/integration/snapshots/).
//!
//! Ids, timestamps, batches, hashes and scores vary per run and are redacted; every field name,
//! type, default and nesting is pinned, so a change to the wire contract shows up as a snapshot
//! diff to review (`cargo insta review`, or INSTA_UPDATE=always and read the diff).

use axum::http::StatusCode;
use insta::assert_json_snapshot;
use serde_json::{Value, json};

use crate::knowledge_api::Api;

/// Redacts a response's run-specific values, keeping their type visible.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({sort_maps => true}, {
            assert_json_snapshot!($name, $value, {
                ".**.id" => "[id]",
                ".**.dataset_id" => "[id]",
                ".**.document_id" => "[id]",
                ".**.segment_id" => "[id]",
                ".**.index_node_id" => "[id]",
                ".**.index_node_hash" => "[hash]",
                ".**.dataset_process_rule_id" => "[id]",
                ".**.batch" => "[batch]",
                ".**.created_at" => "[ts]",
                ".**.updated_at" => "[ts]",
                ".**.completed_at" => "[ts]",
                ".**.processing_started_at" => "[ts]",
                ".**.parsing_completed_at" => "[ts]",
                ".**.cleaning_completed_at" => "[ts]",
                ".**.splitting_completed_at" => "[ts]",
                ".**.indexing_at" => "[ts]",
                ".**.upload_date" => "[ts]",
                ".**.last_update_date" => "[ts]",
                ".**.indexing_latency" => "[seconds]",
                ".**.score" => "[score]",
                ".**.upload_file_id" => "[id]",
                ".**.upload_file.id" => "[id]",
                ".**.hash" => "[hash]",
            });
        });
    };
}

#[tokio::test]
async fn knowledge_api_objects_keep_their_wire_shape() {
    let api = Api::new().await;
    api.start_workers();

    let (status, dataset) = api
        .call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": "shapes", "description": "pinned", "indexing_technique": "high_quality"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dataset}");
    snapshot!("dataset", &dataset);
    let id = dataset["id"].as_str().unwrap().to_string();

    let (status, created) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            Some(json!({
                "name": "kettles",
                "text": "Copper kettles tarnish near the sea.\n\nCast iron kettles rust when left wet.",
                "indexing_technique": "high_quality",
                "process_rule": {"mode": "custom", "rules": {
                    "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": true}],
                    "segmentation": {"separator": "\n\n", "max_tokens": 100, "chunk_overlap": 0}}}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    snapshot!("create_by_text", &created);
    let document = created["document"]["id"].as_str().unwrap().to_string();
    let batch = created["batch"].as_str().unwrap().to_string();

    let status_items = api.wait_until_indexed(&id, &batch).await;
    snapshot!("indexing_status", &json!({ "data": status_items }));

    let (_, list) = api
        .call("GET", &format!("/v1/datasets/{id}/documents"), None)
        .await;
    snapshot!("document_list", &list);
    let (_, detail) = api
        .call("GET", &format!("/v1/datasets/{id}/documents/{document}"), None)
        .await;
    snapshot!("document_detail", &detail);

    let (_, segments) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{document}/segments"),
            None,
        )
        .await;
    snapshot!("segment_list", &sorted_by_position(segments));

    let (_, records) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(json!({"query": "cast iron rust", "retrieval_model": {
                "search_method": "full_text_search", "reranking_enable": false, "top_k": 1,
                "score_threshold_enabled": false}})),
        )
        .await;
    snapshot!("retrieve", &records);

    let (_, datasets) = api.call("GET", "/v1/datasets?page=1&limit=20", None).await;
    snapshot!("dataset_list", &datasets);

    let (status, error) = api
        .call("GET", "/v1/datasets/00000000-0000-0000-0000-00000000dead", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    snapshot!("error_not_found", &error);
}

#[tokio::test]
async fn parent_child_retrieval_keeps_its_wire_shape() {
    let api = Api::new().await;
    api.start_workers();
    let id = api.create_dataset("parent-child shapes").await;
    let (status, created) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            Some(json!({
                "name": "kettles",
                "text": "Copper kettles tarnish near the sea.\nPolish them with lemon.\n\nCast iron kettles rust when left wet.\nDry them over a low flame.",
                "indexing_technique": "high_quality",
                "doc_form": "hierarchical_model",
                "process_rule": {"mode": "hierarchical", "rules": {
                    "pre_processing_rules": [], "parent_mode": "paragraph",
                    "segmentation": {"separator": "\n\n", "max_tokens": 100},
                    "subchunk_segmentation": {"separator": "\n", "max_tokens": 50}}}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    api.wait_until_indexed(&id, created["batch"].as_str().unwrap())
        .await;
    let (_, records) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(json!({"query": "cast iron kettles rust", "retrieval_model": {
                "search_method": "full_text_search", "reranking_enable": false, "top_k": 1,
                "score_threshold_enabled": false}})),
        )
        .await;
    snapshot!("retrieve_parent_child", &records);
}

/// Segment lists in position order (their order is part of the contract, ids are not).
fn sorted_by_position(mut body: Value) -> Value {
    if let Some(items) = body["data"].as_array_mut() {
        items.sort_by_key(|s| s["position"].as_i64());
    }
    body
}

#[tokio::test]
async fn file_links_keep_their_wire_shape() {
    let api = Api::new().await;
    let (_, dataset) = api
        .call("POST", "/v1/datasets", Some(json!({"name": "links"})))
        .await;
    let id = dataset["id"].as_str().unwrap().to_string();
    let (status, created) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            Some(
                json!({"name": "kettles", "text": "Copper kettles tarnish near the sea.",
                        "indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let document = created["document"]["id"].as_str().unwrap().to_string();
    // Signed links vary per call (timestamp, nonce, signature); their form is checked in ops_api.
    macro_rules! signed {
        ($name:expr, $value:expr) => {
            insta::with_settings!({sort_maps => true}, {
                assert_json_snapshot!($name, $value, {
                    ".id" => "[id]",
                    ".url" => "[signed url]",
                    ".download_url" => "[signed url]&as_attachment=true",
                    ".created_at" => "[ts]",
                });
            });
        };
    }
    let (status, download) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{document}/download"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{download}");
    signed!("document_download", &download);
    let (status, upload_file) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{document}/upload-file"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{upload_file}");
    assert!(upload_file["created_at"].is_f64(), "a float, as in Dify");
    assert!(
        upload_file["download_url"]
            .as_str()
            .unwrap()
            .ends_with("&as_attachment=true")
    );
    signed!("document_upload_file", &upload_file);
}
