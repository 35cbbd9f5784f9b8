//! What real Dify clients send and expect, beyond the first round: the documents status filter,
//! the POST form of a dataset's tags (dify-dataset-sdk), and a dataset in use by an app.

use axum::http::StatusCode;
use serde_json::json;

use crate::apps_api::AppsApi;
use crate::knowledge_api::assert_error;

/// `GET /documents?status=` filters by Dify's display status; an unknown status is a 400.
#[tokio::test]
async fn documents_list_filters_by_display_status() {
    let apps = AppsApi::new(None).await;
    let (api, id) = (&apps.api, &apps.dataset_id);
    let (status, created) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create_by_text"),
            Some(
                json!({"name": "green.txt", "text": "Green tea is steamed or pan-fired.",
                        "indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    api.wait_until_indexed(id, created["batch"].as_str().unwrap())
        .await;
    let green = created["document"]["id"].as_str().unwrap().to_string();
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{id}/documents/status/disable"),
            Some(json!({"document_ids": [green]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let names = |body: &serde_json::Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect()
    };
    let list = |status: &str| format!("/v1/datasets/{id}/documents?status={status}");
    let (status, body) = api.call("GET", &list("disabled"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(names(&body), ["green.txt"]);
    assert_eq!(body["total"], 1);
    let (_, body) = api.call("GET", &list("available"), None).await;
    assert_eq!(names(&body), ["tea.txt"]);
    let (_, body) = api.call("GET", &list("error"), None).await;
    assert_eq!(body["total"], 0, "{body}");
    let (_, body) = api
        .call("GET", &format!("/v1/datasets/{id}/documents"), None)
        .await;
    assert_eq!(body["total"], 2, "no filter lists every document");
    let (status, body) = api.call("GET", &list("bogus"), None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
}

/// dify-dataset-sdk asks for a dataset's tags with POST; both methods answer the same.
#[tokio::test]
async fn dataset_tags_answer_get_and_post() {
    let apps = AppsApi::new(None).await;
    let (api, id) = (&apps.api, &apps.dataset_id);
    let (status, tag) = api
        .call("POST", "/v1/datasets/tags", Some(json!({"name": "drinks"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{tag}");
    let (status, body) = api
        .call(
            "POST",
            "/v1/datasets/tags/binding",
            Some(json!({"tag_ids": [tag["id"]], "target_id": id})),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let uri = format!("/v1/datasets/{id}/tags");
    let (get_status, by_get) = api.call("GET", &uri, None).await;
    let (post_status, by_post) = api.call("POST", &uri, None).await;
    assert_eq!((get_status, post_status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(by_get, by_post);
    assert_eq!(by_post["data"][0]["name"], "drinks", "{by_post}");
}

/// Deleting a dataset an app is bound to is 409 `dataset_in_use` on the knowledge API too, and
/// changes nothing.
#[tokio::test]
async fn dataset_in_use_by_an_app_cannot_be_deleted() {
    let apps = AppsApi::new(None).await;
    apps.app("chat", json!({})).await;
    let (api, id) = (&apps.api, &apps.dataset_id);
    let (status, body) = api.call("DELETE", &format!("/v1/datasets/{id}"), None).await;
    assert_error(status, &body, StatusCode::CONFLICT, "dataset_in_use");
    let (status, body) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(json!({"query": "green tea"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the dataset still answers: {body}");
    assert!(!body["records"].as_array().unwrap().is_empty());
}

/// `original_document_id` on create-by-text updates that document (Dify's upsert): the same id and
/// batch, the new text indexed in place of the old; an unknown id is a 404 and creates nothing.
#[tokio::test]
async fn create_with_original_document_id_replaces_that_document() {
    let apps = AppsApi::new(None).await;
    let (api, id) = (&apps.api, &apps.dataset_id);
    let create = format!("/v1/datasets/{id}/document/create_by_text");
    let (status, first) = api
        .call(
            "POST",
            &create,
            Some(
                json!({"name": "note.txt", "text": "The kettle whistles at dawn over the harbour.",
                        "indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let batch = first["batch"].as_str().unwrap().to_string();
    api.wait_until_indexed(id, &batch).await;
    let note = first["document"]["id"].as_str().unwrap().to_string();

    let (status, second) = api
        .call(
            "POST",
            &create,
            Some(
                json!({"name": "note.txt", "text": "Zeppelins drift above the glacier at noon.",
                        "original_document_id": note, "process_rule": {"mode": "automatic"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["document"]["id"], note.as_str(), "the same document");
    assert_eq!(second["batch"], batch.as_str(), "re-indexing keeps the batch");
    let items = api.wait_until_indexed(id, &batch).await;
    assert!(
        items.iter().all(|i| i["indexing_status"] == "completed"),
        "{items:?}"
    );

    let (_, listed) = api
        .call("GET", &format!("/v1/datasets/{id}/documents"), None)
        .await;
    assert_eq!(listed["total"], 2, "tea.txt and the one note: {listed}");
    let retrieve = format!("/v1/datasets/{id}/retrieve");
    let search = |query: &str| json!({"query": query, "retrieval_model": {"search_method": "full_text_search", "top_k": 5}});
    let (_, found) = api
        .call("POST", &retrieve, Some(search("zeppelins glacier")))
        .await;
    assert_eq!(
        found["records"][0]["segment"]["document_id"],
        note.as_str(),
        "{found}"
    );
    let (_, gone) = api.call("POST", &retrieve, Some(search("kettle harbour"))).await;
    assert!(
        gone["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["segment"]["document_id"] != note.as_str()),
        "the old text is no longer indexed: {gone}"
    );

    let (status, body) = api
        .call(
            "POST",
            &create,
            Some(json!({"name": "x.txt", "text": "anything",
                        "original_document_id": "00000000-0000-0000-0000-00000000dead"})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (_, listed) = api
        .call("GET", &format!("/v1/datasets/{id}/documents"), None)
        .await;
    assert_eq!(listed["total"], 2, "nothing was created: {listed}");
}

/// A retrieval model stored with fields left null reads back with Dify's defaults for them (its
/// wire always has a search method, a top_k and the two switches); found by the API fuzzer.
#[tokio::test]
async fn a_stored_retrieval_model_reads_back_with_defaults_for_null_fields() {
    let apps = AppsApi::new(None).await;
    let (api, id) = (&apps.api, &apps.dataset_id);
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{id}"),
            Some(
                json!({"retrieval_model": {"search_method": "hybrid_search", "top_k": null,
                                            "reranking_enable": null}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, dataset) = api.call("GET", &format!("/v1/datasets/{id}"), None).await;
    let model = &dataset["retrieval_model_dict"];
    assert_eq!(model["search_method"], "hybrid_search", "{dataset}");
    assert_eq!(model["top_k"], 4, "{dataset}");
    assert_eq!(model["reranking_enable"], false, "{dataset}");
    assert_eq!(model["score_threshold_enabled"], false, "{dataset}");
}
