//! The console's dataset routes (`/console/api/datasets...`, `/files...`) through HTTP against the
//! real router and model: every route with its error paths.

use axum::http::StatusCode;
use ragd::store::Role;
use serde_json::{Value, json};

use crate::console_support::{Console, Session};
use crate::knowledge_api::assert_error;
use crate::support;

pub(crate) const BASE: &str = "/console/api";

/// Starts an indexing worker for the console's engine.
pub(crate) fn start_workers(console: &Console) {
    ragd::jobs::spawn_workers(
        console.engine.clone(),
        1,
        tokio_util::sync::CancellationToken::new(),
    );
}

pub(crate) fn uri(path: &str) -> String {
    format!("{BASE}{path}")
}

/// Creates a dataset and returns its id.
pub(crate) async fn create_dataset(c: &Console, s: &Session, name: &str, permission: &str) -> String {
    let (status, body) = s
        .call(
            c,
            "POST",
            &uri("/datasets"),
            Some(json!({"name": name, "permission": permission, "indexing_technique": "high_quality"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// Uploads a knowledge-base file and returns its id.
pub(crate) async fn upload_file(c: &Console, s: &Session, name: &str, bytes: &[u8]) -> String {
    let (status, body) = s.upload(c, name, bytes, Some("datasets")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// The KnowledgeConfig the console sends for uploaded files.
pub(crate) fn knowledge_config(file_ids: &[&str]) -> Value {
    json!({
        "indexing_technique": "high_quality",
        "data_source": {"type": "upload_file", "info_list": {
            "data_source_type": "upload_file", "file_info_list": {"file_ids": file_ids}}},
        "process_rule": {"mode": "custom", "rules": {
            "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": true}],
            "segmentation": {"separator": "\n\n", "max_tokens": 200, "chunk_overlap": 0}}},
        "doc_form": "text_model",
        "doc_language": "English",
    })
}

/// Polls a batch until every document finished (completed or error); returns the items.
pub(crate) async fn wait_until_indexed(
    c: &Console,
    s: &Session,
    dataset_id: &str,
    batch: &str,
) -> Vec<Value> {
    for _ in 0..600 {
        let (status, body) = s
            .call(
                c,
                "GET",
                &uri(&format!("/datasets/{dataset_id}/batch/{batch}/indexing-status")),
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

/// A dataset with one indexed document made from `datasets/demo/tea.txt`: (dataset, document).
pub(crate) async fn indexed_dataset(
    c: &Console,
    s: &Session,
    name: &str,
    permission: &str,
) -> (String, String) {
    let (dataset, document, _) = indexed_batch(c, s, name, permission).await;
    (dataset, document)
}

/// [`indexed_dataset`], with the document's batch.
pub(crate) async fn indexed_batch(
    c: &Console,
    s: &Session,
    name: &str,
    permission: &str,
) -> (String, String, String) {
    let dataset = create_dataset(c, s, name, permission).await;
    let tea = std::fs::read(support::repo_path("datasets/demo/tea.txt")).unwrap();
    let file = upload_file(c, s, "tea.txt", &tea).await;
    let (status, body) = s
        .call(
            c,
            "POST",
            &uri(&format!("/datasets/{dataset}/documents")),
            Some(knowledge_config(&[&file])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let document = body["documents"][0]["id"].as_str().unwrap().to_string();
    let batch = body["batch"].as_str().unwrap().to_string();
    let items = wait_until_indexed(c, s, &dataset, &batch).await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    (dataset, document, batch)
}

#[tokio::test]
async fn datasets_are_created_listed_changed_and_deleted() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let (status, _) = c.anonymous("GET", &uri("/datasets"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, created) = owner
        .call(
            &c,
            "POST",
            &uri("/datasets"),
            Some(json!({"name": "handbook", "description": "how we work"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "handbook");
    assert_eq!(created["permission"], "only_me");
    assert_eq!(created["created_by"], owner.account_id.as_str());
    assert_eq!(created["partial_member_list"], json!([]));
    assert!(created["indexing_technique"].is_null());
    let id = created["id"].as_str().unwrap().to_string();

    for (body, code) in [
        (json!({"name": ""}), "invalid_param"),
        (json!({"name": "x".repeat(41)}), "invalid_param"),
        (
            json!({"name": "ok", "indexing_technique": "magic"}),
            "invalid_param",
        ),
        (json!({"name": "ok", "permission": "everyone"}), "invalid_param"),
        (
            json!({"name": "ok", "description": "d".repeat(401)}),
            "invalid_param",
        ),
        (json!({"name": "ok", "provider": "external"}), "invalid_param"),
        (json!({"name": 5}), "invalid_param"),
    ] {
        let (status, answer) = owner.call(&c, "POST", &uri("/datasets"), Some(body)).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, code);
    }
    let (status, answer) = owner
        .call(&c, "POST", &uri("/datasets"), Some(json!({"name": "handbook"})))
        .await;
    assert_error(status, &answer, StatusCode::CONFLICT, "dataset_name_duplicate");

    create_dataset(&c, &owner, "second", "all_team_members").await;
    let (status, list) = owner
        .call(&c, "GET", &uri("/datasets?page=1&limit=1"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 2);
    assert_eq!(list["limit"], 1);
    assert_eq!(list["page"], 1);
    assert_eq!(list["has_more"], true);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (_, list) = owner.call(&c, "GET", &uri("/datasets?keyword=hand"), None).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["id"], id.as_str());
    let (_, list) = owner
        .call(&c, "GET", &uri(&format!("/datasets?ids={id}")), None)
        .await;
    assert_eq!(list["total"], 1);
    for bad in ["page=0", "limit=0", "limit=101", "page=x"] {
        let (status, answer) = owner
            .call(&c, "GET", &uri(&format!("/datasets?{bad}")), None)
            .await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    }

    let (status, got) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{id}")), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["description"], "how we work");
    for missing in ["00000000-0000-0000-0000-00000000abcd", "not-a-uuid"] {
        let (status, answer) = owner
            .call(&c, "GET", &uri(&format!("/datasets/{missing}")), None)
            .await;
        assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    }

    let (status, patched) = owner
        .call(
            &c,
            "PATCH",
            &uri(&format!("/datasets/{id}")),
            Some(json!({"name": "team handbook", "permission": "all_team_members",
                        "retrieval_model": {"search_method": "hybrid_search", "reranking_enable": false,
                                            "top_k": 3, "score_threshold_enabled": false}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "team handbook");
    assert_eq!(patched["permission"], "all_team_members");
    assert_eq!(patched["retrieval_model_dict"]["search_method"], "hybrid_search");
    for body in [
        json!({"name": ""}),
        json!({"indexing_technique": "magic"}),
        json!({"retrieval_model": {"search_method": "magic"}}),
        json!({"embedding_model": "no-such-model"}),
    ] {
        let (status, answer) = owner
            .call(&c, "PATCH", &uri(&format!("/datasets/{id}")), Some(body))
            .await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, answer) = owner
        .call(
            &c,
            "PATCH",
            &uri(&format!("/datasets/{id}")),
            Some(json!({"name": "second"})),
        )
        .await;
    assert_error(status, &answer, StatusCode::CONFLICT, "dataset_name_duplicate");

    let (status, used) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{id}/use-check")), None)
        .await;
    assert_eq!((status, used), (StatusCode::OK, json!({"is_using": false})));
    let (status, apps) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{id}/related-apps")), None)
        .await;
    assert_eq!((status, apps), (StatusCode::OK, json!({"data": [], "total": 0})));

    let (status, _) = owner
        .call(&c, "DELETE", &uri(&format!("/datasets/{id}")), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{id}")), None)
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let (status, answer) = owner
        .call(&c, "DELETE", &uri(&format!("/datasets/{id}")), None)
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn settings_routes_answer_difys_shapes() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let (status, rule) = owner.call(&c, "GET", &uri("/datasets/process-rule"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rule["mode"], "custom");
    assert_eq!(rule["rules"]["segmentation"]["max_tokens"], 1024);
    assert_eq!(rule["limits"]["indexing_max_segmentation_tokens_length"], 4000);
    let (status, answer) = owner
        .call(
            &c,
            "GET",
            &uri("/datasets/process-rule?document_id=00000000-0000-0000-0000-00000000abcd"),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");

    let (status, methods) = owner
        .call(&c, "GET", &uri("/datasets/retrieval-setting"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        methods["retrieval_method"],
        json!(["semantic_search", "full_text_search", "hybrid_search"])
    );
    let (status, base) = owner.call(&c, "GET", &uri("/datasets/api-base-info"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(base["api_base_url"].as_str().unwrap().ends_with("/v1"), "{base}");
    let (status, fields) = owner
        .call(&c, "GET", &uri("/datasets/metadata/built-in"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fields["fields"].as_array().unwrap().len(), 5);
    let (status, limits) = owner.call(&c, "GET", &uri("/files/upload"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(limits["file_size_limit"], 15);
    assert_eq!(limits["batch_count_limit"], 5);
    let (status, types) = owner.call(&c, "GET", &uri("/files/support-type"), None).await;
    assert_eq!(status, StatusCode::OK);
    let types: Vec<&str> = types["allowed_extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for extension in ["pdf", "txt", "md", "docx", "csv", "html"] {
        assert!(types.contains(&extension), "{types:?}");
    }
    for path in [
        "/datasets/process-rule",
        "/datasets/retrieval-setting",
        "/files/upload",
        "/datasets/api-keys",
    ] {
        let (status, _) = c.anonymous("GET", &uri(path), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn uploads_are_checked_stored_and_previewed() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let before = c
        .engine
        .store()
        .count_upload_files(&owner.tenant_id)
        .await
        .unwrap();
    let (status, file) = owner
        .upload(
            &c,
            "notes.md",
            b"# Notes\n\nGreen tea is steamed.",
            Some("datasets"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!(file["name"], "notes.md");
    assert_eq!(file["extension"], "md");
    assert_eq!(file["size"], 30);
    assert_eq!(file["created_by"], owner.account_id.as_str());
    let id = file["id"].as_str().unwrap();
    let (status, preview) = owner
        .call(&c, "GET", &uri(&format!("/files/{id}/preview")), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(
        preview["content"]
            .as_str()
            .unwrap()
            .contains("Green tea is steamed.")
    );

    // Any type is stored for apps, but a knowledge-base upload must be a type ragd indexes.
    let (status, picture) = owner.upload(&c, "photo.png", b"\x89PNG\r\n\x1a\n", None).await;
    assert_eq!(status, StatusCode::CREATED, "{picture}");
    let png = picture["id"].as_str().unwrap();
    let (status, answer) = owner
        .call(&c, "GET", &uri(&format!("/files/{png}/preview")), None)
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_file_type",
    );
    let after_ok = c
        .engine
        .store()
        .count_upload_files(&owner.tenant_id)
        .await
        .unwrap();
    assert_eq!(after_ok, before + 2);

    let (status, answer) = owner
        .upload(&c, "photo.png", b"\x89PNG\r\n\x1a\n", Some("datasets"))
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_file_type",
    );
    let (status, answer) = owner
        .upload(&c, "fake.pdf", b"PK\x03\x04 a zip", Some("datasets"))
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_file_type",
    );
    let (status, answer) = owner.upload(&c, "a?b.txt", b"text", None).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let big = vec![b'a'; 15 * 1024 * 1024 + 1];
    let (status, answer) = owner.upload(&c, "big.txt", &big, Some("datasets")).await;
    assert_error(status, &answer, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large");
    let (status, answer) = owner.upload_parts(&c, &[]).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "no_file_uploaded");
    let (status, answer) = owner
        .upload_parts(&c, &[("a.txt", b"one".as_slice()), ("b.txt", b"two".as_slice())])
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "too_many_files");
    // Refused uploads leave nothing behind.
    assert_eq!(
        c.engine
            .store()
            .count_upload_files(&owner.tenant_id)
            .await
            .unwrap(),
        after_ok
    );

    let (status, answer) = owner
        .call(
            &c,
            "GET",
            &uri("/files/00000000-0000-0000-0000-00000000abcd/preview"),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let stranger = Session {
        access_token: "not-a-token".into(),
        ..owner.clone()
    };
    let (status, _) = stranger.upload(&c, "notes.md", b"# x", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn documents_from_uploads_are_indexed_listed_and_managed() {
    let c = Console::new().await;
    start_workers(&c);
    let owner = c.owner().await;
    let dataset = create_dataset(&c, &owner, "kb", "only_me").await;
    let tea = std::fs::read(support::repo_path("datasets/demo/tea.txt")).unwrap();
    let volcanoes = std::fs::read(support::repo_path("datasets/demo/volcanoes.md")).unwrap();
    let tea_file = upload_file(&c, &owner, "tea.txt", &tea).await;
    let volcano_file = upload_file(&c, &owner, "volcanoes.md", &volcanoes).await;
    let docs_uri = uri(&format!("/datasets/{dataset}/documents"));

    // Bad KnowledgeConfigs change nothing.
    let mut notion = knowledge_config(&[&tea_file]);
    notion["data_source"]["info_list"]["data_source_type"] = json!("notion_import");
    let mut no_files = knowledge_config(&[]);
    no_files["data_source"]["info_list"]["file_info_list"]["file_ids"] = json!([]);
    let mut bad_rule = knowledge_config(&[&tea_file]);
    bad_rule["process_rule"]["rules"]["segmentation"]["max_tokens"] = json!(10);
    let mut qa = knowledge_config(&[&tea_file]);
    qa["doc_form"] = json!("qa_model");
    for body in [
        json!({"indexing_technique": "high_quality"}),
        notion,
        no_files,
        bad_rule,
        qa,
    ] {
        let (status, answer) = owner.call(&c, "POST", &docs_uri, Some(body)).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &docs_uri,
            Some(knowledge_config(&["00000000-0000-0000-0000-00000000abcd"])),
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let (_, empty) = owner.call(&c, "GET", &docs_uri, None).await;
    assert_eq!(empty["total"], 0);

    let (status, created) = owner
        .call(
            &c,
            "POST",
            &docs_uri,
            Some(knowledge_config(&[&tea_file, &volcano_file])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["dataset"]["id"], dataset.as_str());
    assert_eq!(created["dataset"]["indexing_technique"], "high_quality");
    let documents = created["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 2);
    assert_eq!(documents[0]["name"], "tea.txt");
    assert_eq!(documents[0]["created_from"], "web");
    assert_eq!(
        documents[0]["data_source_info"]["upload_file_id"],
        tea_file.as_str()
    );
    let batch = created["batch"].as_str().unwrap();
    let items = wait_until_indexed(&c, &owner, &dataset, batch).await;
    assert!(
        items.iter().all(|i| i["indexing_status"] == "completed"),
        "{items:?}"
    );
    let tea_doc = documents[0]["id"].as_str().unwrap().to_string();
    let volcano_doc = documents[1]["id"].as_str().unwrap().to_string();

    let (status, list) = owner
        .call(&c, "GET", &format!("{docs_uri}?sort=created_at&limit=1"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 2);
    assert_eq!(list["has_more"], true);
    assert!(list["data"][0]["total_segments"].as_i64().unwrap() > 0);
    let (_, list) = owner
        .call(&c, "GET", &format!("{docs_uri}?keyword=volc"), None)
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["id"], volcano_doc.as_str());
    let (_, list) = owner
        .call(&c, "GET", &format!("{docs_uri}?status=available"), None)
        .await;
    assert_eq!(list["total"], 2);
    let (_, list) = owner
        .call(&c, "GET", &format!("{docs_uri}?status=error"), None)
        .await;
    assert_eq!(list["total"], 0);
    for bad in ["status=lost", "sort=name", "page=0", "limit=500"] {
        let (status, answer) = owner.call(&c, "GET", &format!("{docs_uri}?{bad}"), None).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    }

    let doc_uri = format!("{docs_uri}/{tea_doc}");
    let (status, detail) = owner.call(&c, "GET", &doc_uri, None).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["display_status"], "available");
    let (status, one) = owner
        .call(&c, "GET", &format!("{doc_uri}/indexing-status"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["indexing_status"], "completed");
    let (status, all) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/{dataset}/indexing-status")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    let (status, errors) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{dataset}/error-docs")), None)
        .await;
    assert_eq!(
        (status, errors),
        (StatusCode::OK, json!({"data": [], "total": 0}))
    );
    let (status, rule) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/process-rule?document_id={tea_doc}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rule["rules"]["segmentation"]["max_tokens"], 200);

    let (status, renamed) = owner
        .call(
            &c,
            "POST",
            &format!("{doc_uri}/rename"),
            Some(json!({"name": "Tea history"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "Tea history");
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &format!("{doc_uri}/rename"),
            Some(json!({"name": " "})),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");

    let status_uri = |action: &str, ids: &[&str]| {
        let query: Vec<String> = ids.iter().map(|id| format!("document_id={id}")).collect();
        format!("{docs_uri}/status/{action}/batch?{}", query.join("&"))
    };
    let (status, answer) = owner
        .call(
            &c,
            "PATCH",
            &status_uri("disable", &[&tea_doc, &volcano_doc]),
            None,
        )
        .await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"result": "success"})));
    let (_, list) = owner
        .call(&c, "GET", &format!("{docs_uri}?status=disabled"), None)
        .await;
    assert_eq!(list["total"], 2);
    let (status, _) = owner
        .call(&c, "PATCH", &status_uri("enable", &[&volcano_doc]), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = owner
        .call(&c, "PATCH", &status_uri("explode", &[&tea_doc]), None)
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_action");
    let (status, answer) = owner.call(&c, "PATCH", &status_uri("enable", &[]), None).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, answer) = owner
        .call(
            &c,
            "PATCH",
            &status_uri("enable", &["00000000-0000-0000-0000-00000000abcd"]),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");

    let (status, answer) = owner
        .call(&c, "PATCH", &format!("{doc_uri}/processing/pause"), None)
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "document_indexing");
    let (status, answer) = owner
        .call(&c, "PATCH", &format!("{doc_uri}/processing/resume"), None)
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "document_indexing");
    let (status, answer) = owner
        .call(&c, "PATCH", &format!("{doc_uri}/processing/stop"), None)
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_action");
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/retry")),
            Some(json!({"document_ids": [tea_doc]})),
        )
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        "document_already_finished",
    );
    let (status, answer) = owner
        .call(&c, "GET", &format!("{doc_uri}/indexing-estimate"), None)
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        "document_already_finished",
    );

    let (status, answer) = owner
        .call(
            &c,
            "DELETE",
            &format!("{docs_uri}?document_id={volcano_doc}&document_id=00000000-0000-0000-0000-00000000abcd"),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let (status, answer) = owner.call(&c, "DELETE", &docs_uri, None).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (_, list) = owner.call(&c, "GET", &docs_uri, None).await;
    assert_eq!(list["total"], 2, "a refused batch deletes nothing");
    let (status, _) = owner
        .call(
            &c,
            "DELETE",
            &format!("{docs_uri}?document_id={volcano_doc}&document_id={tea_doc}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = owner.call(&c, "GET", &docs_uri, None).await;
    assert_eq!(list["total"], 0);
    let (status, answer) = owner.call(&c, "GET", &doc_uri, None).await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn indexing_estimates_preview_chunks_without_indexing() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let pdf = std::fs::read(support::repo_path("tests/fixtures/console/honeybees.pdf")).unwrap();
    let file = upload_file(&c, &owner, "honeybees.pdf", &pdf).await;
    let info_list = json!({"data_source_type": "upload_file", "file_info_list": {"file_ids": [file]}});
    let rule = json!({"mode": "custom", "rules": {"pre_processing_rules": [],
        "segmentation": {"separator": "\n\n", "max_tokens": 60, "chunk_overlap": 0}}});
    let (status, estimate) = owner
        .call(
            &c,
            "POST",
            &uri("/datasets/indexing-estimate"),
            Some(
                json!({"info_list": info_list, "process_rule": rule, "indexing_technique": "high_quality",
                        "doc_form": "text_model"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{estimate}");
    let total = estimate["total_segments"].as_u64().unwrap();
    assert!(total >= 2, "{estimate}");
    let preview = estimate["preview"].as_array().unwrap();
    assert_eq!(preview.len() as u64, total.min(10));
    assert!(
        preview
            .iter()
            .any(|p| p["content"].as_str().unwrap().contains("waggle")),
        "{estimate}"
    );
    // Nothing was indexed: no dataset, no document.
    let (_, list) = owner
        .call(&c, "GET", &uri("/datasets?include_all=true"), None)
        .await;
    assert_eq!(list["total"], 0);

    let parent_child = json!({"mode": "hierarchical", "rules": {"pre_processing_rules": [], "parent_mode": "paragraph",
        "segmentation": {"separator": "\n\n", "max_tokens": 200, "chunk_overlap": 0},
        "subchunk_segmentation": {"separator": "\n", "max_tokens": 50, "chunk_overlap": 0}}});
    let (status, estimate) = owner
        .call(
            &c,
            "POST",
            &uri("/datasets/indexing-estimate"),
            Some(json!({"info_list": info_list, "process_rule": parent_child,
                        "indexing_technique": "high_quality", "doc_form": "hierarchical_model"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{estimate}");
    assert!(
        estimate["preview"][0]["child_chunks"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{estimate}"
    );

    let unknown = json!({"data_source_type": "upload_file",
        "file_info_list": {"file_ids": ["00000000-0000-0000-0000-00000000abcd"]}});
    for (body, expected, code) in [
        (
            json!({"info_list": info_list, "process_rule": rule}),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            json!({"info_list": info_list, "process_rule": {"mode": "magic"}, "indexing_technique": "economy"}),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            json!({"info_list": info_list, "process_rule": rule, "indexing_technique": "economy", "doc_form": "hierarchical_model"}),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            json!({"info_list": unknown, "process_rule": rule, "indexing_technique": "economy"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let (status, answer) = owner
            .call(&c, "POST", &uri("/datasets/indexing-estimate"), Some(body))
            .await;
        assert_error(status, &answer, expected, code);
    }
}

#[tokio::test]
async fn init_makes_a_dataset_with_its_documents() {
    let c = Console::new().await;
    start_workers(&c);
    let owner = c.owner().await;
    let tea = std::fs::read(support::repo_path("datasets/demo/tea.txt")).unwrap();
    let file = upload_file(&c, &owner, "a-rather-long-file-name-about-tea.txt", &tea).await;
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &uri("/datasets/init"),
            Some(json!({"data_source": {}})),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let mut missing = knowledge_config(&["00000000-0000-0000-0000-00000000abcd"]);
    missing["indexing_technique"] = json!("economy");
    let (status, answer) = owner
        .call(&c, "POST", &uri("/datasets/init"), Some(missing))
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let mut bad_rule = knowledge_config(&[&file]);
    bad_rule["process_rule"] = json!({"mode": "magic"});
    let (status, answer) = owner
        .call(&c, "POST", &uri("/datasets/init"), Some(bad_rule))
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (_, list) = owner
        .call(&c, "GET", &uri("/datasets?include_all=true"), None)
        .await;
    assert_eq!(list["total"], 0, "a refused init leaves no dataset behind");

    let (status, made) = owner
        .call(
            &c,
            "POST",
            &uri("/datasets/init"),
            Some(knowledge_config(&[&file])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(made["dataset"]["name"], "a-rather-long-file...");
    assert_eq!(made["dataset"]["created_by"], owner.account_id.as_str());
    assert_eq!(made["documents"].as_array().unwrap().len(), 1);
    let dataset = made["dataset"]["id"].as_str().unwrap();
    let items = wait_until_indexed(&c, &owner, dataset, made["batch"].as_str().unwrap()).await;
    assert_eq!(items[0]["indexing_status"], "completed");
    // The same file again gets a name of its own.
    let (status, again) = owner
        .call(
            &c,
            "POST",
            &uri("/datasets/init"),
            Some(knowledge_config(&[&file])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["dataset"]["name"], "a-rather-long-file... (2)");
}

#[tokio::test]
async fn segments_are_listed_added_changed_imported_and_deleted() {
    let c = Console::new().await;
    start_workers(&c);
    let owner = c.owner().await;
    let (dataset, document) = indexed_dataset(&c, &owner, "kb", "only_me").await;
    let doc_uri = uri(&format!("/datasets/{dataset}/documents/{document}"));

    let (status, page) = owner
        .call(&c, "GET", &format!("{doc_uri}/segments?limit=2"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let total = page["total"].as_i64().unwrap();
    assert!(total >= 1);
    assert_eq!(page["total_pages"], (total + 1) / 2);
    assert_eq!(page["doc_form"], "text_model");
    for bad in ["page=x", "limit=0", "enabled=maybe", "hit_count_gte=many"] {
        let (status, answer) = owner
            .call(&c, "GET", &format!("{doc_uri}/segments?{bad}"), None)
            .await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    }

    let (status, added) = owner
        .call(
            &c,
            "POST",
            &format!("{doc_uri}/segment"),
            Some(json!({"content": "Matcha is powdered green tea.", "keywords": ["matcha"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["data"]["content"], "Matcha is powdered green tea.");
    let segment = added["data"]["id"].as_str().unwrap().to_string();
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &format!("{doc_uri}/segment"),
            Some(json!({"content": "  "})),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");

    let (status, changed) = owner
        .call(
            &c,
            "PATCH",
            &format!("{doc_uri}/segments/{segment}"),
            Some(json!({"content": "Matcha is stone-ground green tea."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["data"]["content"], "Matcha is stone-ground green tea.");
    let (status, answer) = owner
        .call(
            &c,
            "PATCH",
            &format!("{doc_uri}/segments/00000000-0000-0000-0000-00000000abcd"),
            Some(json!({"content": "x"})),
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");

    let (status, _) = owner
        .call(
            &c,
            "PATCH",
            &format!("{doc_uri}/segment/disable?segment_id={segment}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, disabled) = owner
        .call(&c, "GET", &format!("{doc_uri}/segments?enabled=false"), None)
        .await;
    assert_eq!(disabled["total"], 1);
    assert_eq!(disabled["data"][0]["id"], segment.as_str());
    let (status, _) = owner
        .call(
            &c,
            "PATCH",
            &format!("{doc_uri}/segment/enable?segment_id={segment}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, disabled) = owner
        .call(&c, "GET", &format!("{doc_uri}/segments?enabled=false"), None)
        .await;
    assert_eq!(disabled["total"], 0);
    let (status, answer) = owner
        .call(
            &c,
            "PATCH",
            &format!("{doc_uri}/segment/flip?segment_id={segment}"),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_action");
    let (status, answer) = owner
        .call(&c, "PATCH", &format!("{doc_uri}/segment/enable"), None)
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");

    // CSV import: the header row is skipped, every other row becomes a segment.
    let csv = b"content\n\"Sencha is steamed, then rolled.\"\nGyokuro grows in the shade.\n";
    let (status, csv_file) = owner.upload(&c, "more.csv", csv, None).await;
    assert_eq!(status, StatusCode::CREATED, "{csv_file}");
    let (status, job) = owner
        .call(
            &c,
            "POST",
            &format!("{doc_uri}/segments/batch_import"),
            Some(json!({"upload_file_id": csv_file["id"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["job_status"], "completed");
    assert_eq!(job["segments"], 2);
    let job_id = job["job_id"].as_str().unwrap();
    let (status, polled) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/batch_import_status/{job_id}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(polled["job_status"], "completed");
    let (status, polled) = owner
        .call(
            &c,
            "GET",
            &format!("{doc_uri}/segments/batch_import/{job_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{polled}");
    let (_, page) = owner
        .call(&c, "GET", &format!("{doc_uri}/segments?keyword=gyokuro"), None)
        .await;
    assert_eq!(page["total"], 1);
    let (_, empty_csv) = owner.upload(&c, "empty.csv", b"content\n", None).await;
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &format!("{doc_uri}/segments/batch_import"),
            Some(json!({"upload_file_id": empty_csv["id"]})),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &format!("{doc_uri}/segments/batch_import"),
            Some(json!({})),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "no_file_uploaded");
    let (status, answer) = owner
        .call(
            &c,
            "GET",
            &uri("/datasets/batch_import_status/00000000-0000-0000-0000-00000000abcd"),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let (_, after) = owner.call(&c, "GET", &format!("{doc_uri}/segments"), None).await;
    assert_eq!(after["total"], total + 3);

    // Child chunks belong to parent-child documents; a text document has none.
    let (status, children) = owner
        .call(
            &c,
            "GET",
            &format!("{doc_uri}/segments/{segment}/child_chunks"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{children}");
    assert_eq!(children["total"], 0);
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &format!("{doc_uri}/segments/{segment}/child_chunks"),
            Some(json!({"content": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    let (status, _) = owner
        .call(
            &c,
            "DELETE",
            &format!(
                "{doc_uri}/segments?segment_id={segment}&segment_id=00000000-0000-0000-0000-00000000abcd"
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = owner
        .call(
            &c,
            "DELETE",
            &format!("{doc_uri}/segments?segment_id={segment}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = owner.call(&c, "GET", &format!("{doc_uri}/segments"), None).await;
    assert_eq!(after["total"], total + 2);
}

#[tokio::test]
async fn hit_testing_is_logged_in_the_query_history() {
    let c = Console::new().await;
    start_workers(&c);
    let owner = c.owner().await;
    let (dataset, _) = indexed_dataset(&c, &owner, "kb", "only_me").await;
    let hit_uri = uri(&format!("/datasets/{dataset}/hit-testing"));
    let (status, hits) = owner
        .call(
            &c,
            "POST",
            &hit_uri,
            Some(json!({"query": "Where does tea come from?",
            "retrieval_model": {"search_method": "hybrid_search", "reranking_enable": false, "top_k": 2,
                                "score_threshold_enabled": false}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert_eq!(hits["query"]["content"], "Where does tea come from?");
    assert!(!hits["records"].as_array().unwrap().is_empty());
    assert_eq!(hits["records"][0]["segment"]["document"]["name"], "tea.txt");
    for body in [
        json!({"query": ""}),
        json!({"query": "x".repeat(251)}),
        json!({"query": "tea", "retrieval_model": {"top_k": 0}}),
    ] {
        let (status, answer) = owner.call(&c, "POST", &hit_uri, Some(body)).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, history) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{dataset}/queries")), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["total"], 1);
    assert_eq!(history["data"][0]["content"], "Where does tea come from?");
    assert_eq!(
        history["data"][0]["queries"][0]["content"],
        "Where does tea come from?"
    );
    assert_eq!(history["data"][0]["source"], "hit_testing");
    assert_eq!(history["data"][0]["created_by"], owner.account_id.as_str());
    let (status, answer) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/{dataset}/queries?limit=0")),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
}

#[tokio::test]
async fn metadata_fields_and_values() {
    let c = Console::new().await;
    start_workers(&c);
    let owner = c.owner().await;
    let (dataset, document) = indexed_dataset(&c, &owner, "kb", "only_me").await;
    let meta_uri = uri(&format!("/datasets/{dataset}/metadata"));
    let (status, field) = owner
        .call(
            &c,
            "POST",
            &meta_uri,
            Some(json!({"type": "string", "name": "author"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{field}");
    let field_id = field["id"].as_str().unwrap();
    let (status, answer) = owner
        .call(&c, "POST", &meta_uri, Some(json!({"type": "color", "name": "x"})))
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, _) = owner
        .call(&c, "POST", &uri(&format!("/datasets/{dataset}/documents/metadata")),
              Some(json!({"operation_data": [{"document_id": document, "metadata_list": [{"id": field_id, "name": "author", "value": "Lu Yu"}]}]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = owner.call(&c, "GET", &meta_uri, None).await;
    assert_eq!(list["doc_metadata"][0]["count"], 1);
    let (status, renamed) = owner
        .call(
            &c,
            "PATCH",
            &format!("{meta_uri}/{field_id}"),
            Some(json!({"name": "writer"})),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].clone()),
        (StatusCode::OK, json!("writer"))
    );
    let (status, _) = owner
        .call(&c, "POST", &format!("{meta_uri}/built-in/enable"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = owner
        .call(&c, "POST", &format!("{meta_uri}/built-in/toggle"), None)
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_action");
    let (_, detail) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{dataset}")), None)
        .await;
    assert_eq!(detail["built_in_field_enabled"], true);
    let (status, _) = owner
        .call(&c, "DELETE", &format!("{meta_uri}/{field_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = owner
        .call(&c, "DELETE", &format!("{meta_uri}/{field_id}"), None)
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn dataset_api_keys_reach_the_knowledge_api_while_it_is_enabled() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let dataset = create_dataset(&c, &owner, "kb", "only_me").await;
    let (status, key) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!(key["type"], "dataset");
    let token = key["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("dataset-") && token.len() == 32, "{key}");
    let (status, list) = owner.call(&c, "GET", &uri("/datasets/api-keys"), None).await;
    assert_eq!(status, StatusCode::OK);
    let listed = &list["data"][0];
    assert_eq!(listed["id"], key["id"]);
    assert_ne!(listed["token"], token.as_str(), "keys are shown only at creation");
    assert!(listed["token"].as_str().unwrap().starts_with("dataset-"));

    let service = |token: &str| Session {
        access_token: token.to_string(),
        ..owner.clone()
    };
    let (status, got) = service(&token)
        .call(&c, "GET", &format!("/v1/datasets/{dataset}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["enable_api"], true);

    let (status, _) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/api-keys/disable")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = service(&token)
        .call(&c, "GET", &format!("/v1/datasets/{dataset}"), None)
        .await;
    assert_error(status, &answer, StatusCode::FORBIDDEN, "forbidden");
    let (status, answer) = service(&token)
        .call(
            &c,
            "POST",
            &format!("/v1/datasets/{dataset}/retrieve"),
            Some(json!({"query": "tea"})),
        )
        .await;
    assert_error(status, &answer, StatusCode::FORBIDDEN, "forbidden");
    let (_, detail) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{dataset}")), None)
        .await;
    assert_eq!(detail["enable_api"], false);
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/api-keys/toggle")),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_action");
    let (status, _) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/api-keys/enable")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = service(&token)
        .call(&c, "GET", &format!("/v1/datasets/{dataset}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    for _ in 1..10 {
        let (status, _) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, answer) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "max_keys_exceeded");
    let (_, list) = owner.call(&c, "GET", &uri("/datasets/api-keys"), None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 10);

    let key_id = key["id"].as_str().unwrap();
    let (status, _) = owner
        .call(&c, "DELETE", &uri(&format!("/datasets/api-keys/{key_id}")), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = owner
        .call(&c, "DELETE", &uri(&format!("/datasets/api-keys/{key_id}")), None)
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let (status, _) = service(&token)
        .call(&c, "GET", &format!("/v1/datasets/{dataset}"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn members_read_shared_datasets_and_only_their_own_private_ones() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let editor = c.member(&owner, Role::Editor).await;
    let shared = create_dataset(&c, &owner, "shared", "all_team_members").await;
    let private = create_dataset(&c, &owner, "private", "only_me").await;
    let editors_own = create_dataset(&c, &editor, "editor's", "only_me").await;

    let (_, list) = editor.call(&c, "GET", &uri("/datasets"), None).await;
    let mut names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["editor's", "shared"]);
    let (status, answer) = editor
        .call(&c, "GET", &uri(&format!("/datasets/{private}")), None)
        .await;
    assert_error(status, &answer, StatusCode::FORBIDDEN, "forbidden");
    let (status, _) = editor
        .call(&c, "GET", &uri(&format!("/datasets/{shared}")), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // The owner opens everything, and lists everything with include_all.
    let (status, _) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{editors_own}")), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = owner.call(&c, "GET", &uri("/datasets"), None).await;
    assert_eq!(list["total"], 2);
    let (_, list) = owner
        .call(&c, "GET", &uri("/datasets?include_all=true"), None)
        .await;
    assert_eq!(list["total"], 3);
    let (_, list) = editor
        .call(&c, "GET", &uri("/datasets?include_all=true"), None)
        .await;
    assert_eq!(list["total"], 2, "include_all is the owner's");
}

#[tokio::test]
async fn parent_child_documents_have_editable_child_chunks() {
    let c = Console::new().await;
    start_workers(&c);
    let owner = c.owner().await;
    let dataset = create_dataset(&c, &owner, "kb", "only_me").await;
    let tea = std::fs::read(support::repo_path("datasets/demo/tea.txt")).unwrap();
    let file = upload_file(&c, &owner, "tea.txt", &tea).await;
    let mut config = knowledge_config(&[&file]);
    config["doc_form"] = json!("hierarchical_model");
    config["process_rule"] = json!({"mode": "hierarchical", "rules": {
        "pre_processing_rules": [], "parent_mode": "paragraph",
        "segmentation": {"separator": "\n\n", "max_tokens": 300, "chunk_overlap": 0},
        "subchunk_segmentation": {"separator": "\n", "max_tokens": 60, "chunk_overlap": 0}}});
    let (status, made) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/documents")),
            Some(config),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let document = made["documents"][0]["id"].as_str().unwrap().to_string();
    wait_until_indexed(&c, &owner, &dataset, made["batch"].as_str().unwrap()).await;
    let doc_uri = uri(&format!("/datasets/{dataset}/documents/{document}"));
    let (_, segments) = owner.call(&c, "GET", &format!("{doc_uri}/segments"), None).await;
    assert_eq!(segments["doc_form"], "hierarchical_model");
    let segment = segments["data"][0]["id"].as_str().unwrap().to_string();
    assert!(!segments["data"][0]["child_chunks"].as_array().unwrap().is_empty());
    let chunks_uri = format!("{doc_uri}/segments/{segment}/child_chunks");

    let (status, page) = owner.call(&c, "GET", &chunks_uri, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let before = page["total"].as_i64().unwrap();
    assert!(before >= 1);
    let (status, added) = owner
        .call(
            &c,
            "POST",
            &chunks_uri,
            Some(json!({"content": "Oolong is partly oxidised."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["data"]["type"], "customized");
    let child = added["data"]["id"].as_str().unwrap();
    let (status, changed) = owner
        .call(
            &c,
            "PATCH",
            &format!("{chunks_uri}/{child}"),
            Some(json!({"content": "Oolong is half oxidised."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["data"]["content"], "Oolong is half oxidised.");
    let (status, answer) = owner
        .call(&c, "POST", &chunks_uri, Some(json!({"content": ""})))
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, answer) = owner
        .call(
            &c,
            "PATCH",
            &format!("{chunks_uri}/00000000-0000-0000-0000-00000000abcd"),
            Some(json!({"content": "x"})),
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let (status, _) = owner
        .call(&c, "DELETE", &format!("{chunks_uri}/{child}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, page) = owner.call(&c, "GET", &chunks_uri, None).await;
    assert_eq!(page["total"], before);
}

/// The console's own SQL (dataset visibility, document filters and sorts, segment filters, key
/// limits, the API switch, import jobs) on PostgreSQL, when `RAGD_TEST_POSTGRES_URL` is set.
#[tokio::test]
async fn console_queries_run_on_postgres() {
    use sqlx::{Connection, Executor, PgConnection};
    let Ok(admin_url) = std::env::var("RAGD_TEST_POSTGRES_URL") else {
        eprintln!("skipping console_queries_run_on_postgres: set RAGD_TEST_POSTGRES_URL");
        return;
    };
    let name = format!("ragd_console_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("PostgreSQL answers");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin_url);
    let url = format!("{base}/{name}");
    let c = Console::with_config(|config| config.database_url = Some(url.clone())).await;
    assert_eq!(c.engine.store().backend(), ragd::store::Backend::Postgres);
    start_workers(&c);
    let owner = c.owner().await;
    let editor = c.member(&owner, Role::Editor).await;
    let (dataset, document) = indexed_dataset(&c, &owner, "kb", "all_team_members").await;
    create_dataset(&c, &owner, "private", "only_me").await;

    let (_, list) = editor.call(&c, "GET", &uri("/datasets?keyword=k"), None).await;
    assert_eq!(list["total"], 1, "{list}");
    let (_, list) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets?ids={dataset}&include_all=true")),
            None,
        )
        .await;
    assert_eq!(list["total"], 1, "{list}");
    for query in [
        "status=available&sort=-hit_count",
        "status=queuing&sort=created_at",
        "keyword=tea",
    ] {
        let (status, docs) = owner
            .call(
                &c,
                "GET",
                &uri(&format!("/datasets/{dataset}/documents?{query}")),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {docs}");
    }
    let (_, docs) = owner
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets/{dataset}/documents?status=available")),
            None,
        )
        .await;
    assert_eq!(docs["total"], 1);
    let doc_uri = uri(&format!("/datasets/{dataset}/documents/{document}"));
    let (status, segments) = owner
        .call(
            &c,
            "GET",
            &format!("{doc_uri}/segments?enabled=true&hit_count_gte=0&keyword=tea"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{segments}");
    assert!(segments["total"].as_i64().unwrap() >= 1);
    let (status, errors) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{dataset}/error-docs")), None)
        .await;
    assert_eq!((status, errors["total"].clone()), (StatusCode::OK, json!(0)));

    let (_, csv) = owner
        .upload(&c, "rows.csv", b"content\nPu-erh is aged.\n", None)
        .await;
    let (status, job) = owner
        .call(
            &c,
            "POST",
            &format!("{doc_uri}/segments/batch_import"),
            Some(json!({"upload_file_id": csv["id"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{job}");
    let (status, _) = owner
        .call(
            &c,
            "GET",
            &uri(&format!(
                "/datasets/batch_import_status/{}",
                job["job_id"].as_str().unwrap()
            )),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, key) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    for _ in 1..10 {
        owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    }
    let (status, _) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/api-keys/disable")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let service = Session {
        access_token: key["token"].as_str().unwrap().to_string(),
        ..owner.clone()
    };
    let (status, _) = service
        .call(&c, "GET", &format!("/v1/datasets/{dataset}"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = owner
        .call(
            &c,
            "DELETE",
            &uri(&format!("/datasets/api-keys/{}", key["id"].as_str().unwrap())),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    drop(c);
    let _ = admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await;
}

/// Names of a dataset's documents, in list order.
async fn document_names(c: &Console, s: &Session, dataset: &str) -> Vec<String> {
    let (status, body) = s
        .call(c, "GET", &uri(&format!("/datasets/{dataset}/documents")), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

/// Documents (names, each once) of the full-text hits of `query` in the console's hit testing.
async fn full_text_names(c: &Console, s: &Session, dataset: &str, query: &str) -> Vec<String> {
    let (status, hits) = s
        .call(
            c,
            "POST",
            &uri(&format!("/datasets/{dataset}/hit-testing")),
            Some(
                json!({"query": query, "retrieval_model": {"search_method": "full_text_search",
                "reranking_enable": false, "top_k": 5, "score_threshold_enabled": false}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    let mut names: Vec<String> = hits["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segment"]["document"]["name"].as_str().unwrap().to_string())
        .collect();
    names.dedup();
    names
}

#[tokio::test]
async fn a_re_uploaded_file_of_the_same_name_replaces_its_document_as_in_dify() {
    let c = Console::new().await;
    start_workers(&c);
    let owner = c.owner().await;
    let (dataset, document, first_batch) = indexed_batch(&c, &owner, "kb", "only_me").await;
    assert_eq!(
        full_text_names(&c, &owner, &dataset, "Camellia").await,
        ["tea.txt"]
    );

    // Dify's default `duplicate: true`: same name, new content, same document.
    let file = upload_file(&c, &owner, "tea.txt", b"Volcanic glass is called obsidian.").await;
    let (status, body) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/documents")),
            Some(knowledge_config(&[&file])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["documents"][0]["id"], document.as_str(), "{body}");
    let batch = body["batch"].as_str().unwrap().to_string();
    assert_ne!(batch, first_batch);
    let items = wait_until_indexed(&c, &owner, &dataset, &batch).await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    assert_eq!(document_names(&c, &owner, &dataset).await, ["tea.txt"]);
    assert_eq!(
        full_text_names(&c, &owner, &dataset, "obsidian").await,
        ["tea.txt"]
    );
    assert!(
        full_text_names(&c, &owner, &dataset, "Camellia").await.is_empty(),
        "the old content is gone"
    );

    // `duplicate: false` adds a document of the same name.
    let file = upload_file(&c, &owner, "tea.txt", b"Green tea is steamed or pan-fired.").await;
    let mut config = knowledge_config(&[&file]);
    config["duplicate"] = json!(false);
    let (status, body) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/documents")),
            Some(config),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(body["documents"][0]["id"], document.as_str());
    wait_until_indexed(&c, &owner, &dataset, body["batch"].as_str().unwrap()).await;
    assert_eq!(document_names(&c, &owner, &dataset).await.len(), 2);
}
