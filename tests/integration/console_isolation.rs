//! Isolation and roles: a second workspace's session and dataset key reach none of the first
//! workspace's resources, on any console or knowledge API route, and change nothing; and what
//! each role may and may not do with datasets.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ragd::store::Role;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::console_datasets::{
    create_dataset, indexed_batch, indexed_dataset, knowledge_config, start_workers, upload_file, uri,
};
use crate::console_support::{Console, Session};

/// One request with any bearer token (a console session's or a dataset key), JSON or multipart.
async fn send(
    c: &Console,
    token: &str,
    method: &str,
    path: &str,
    body: Body,
    content_type: Option<String>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = c.app.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn call(
    c: &Console,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    match body {
        Some(body) => {
            send(
                c,
                token,
                method,
                path,
                Body::from(body.to_string()),
                Some("application/json".into()),
            )
            .await
        }
        None => send(c, token, method, path, Body::empty(), None).await,
    }
}

/// A multipart body with one `file` and a `data` JSON field.
async fn multipart(c: &Console, token: &str, method: &str, path: &str) -> (StatusCode, Value) {
    let boundary = "isolation-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.txt\"\r\n\r\nstolen text\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{}\r\n--{boundary}--\r\n",
        json!({"indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}})
    );
    send(
        c,
        token,
        method,
        path,
        Body::from(body),
        Some(format!("multipart/form-data; boundary={boundary}")),
    )
    .await
}

/// What the first workspace has, read by its own owner and key.
async fn snapshot(c: &Console, owner: &Session, key: &str, ids: &Ids) -> Vec<Value> {
    let mut state = Vec::new();
    // The key first: its use is recorded at most once a minute, before the key list is read.
    for path in [
        format!("/v1/datasets/{}", ids.dataset),
        "/v1/datasets/tags".to_string(),
        format!("/v1/datasets/{}/tags", ids.dataset),
        format!("/v1/datasets/{}/documents/{}", ids.dataset, ids.document),
    ] {
        let (status, body) = call(c, key, "GET", &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        state.push(body);
    }
    let d = &ids.dataset;
    let doc = &ids.document;
    for path in [
        format!("/datasets/{d}"),
        format!("/datasets/{d}/documents"),
        format!("/datasets/{d}/documents/{doc}/segments?limit=100"),
        format!("/datasets/{d}/metadata"),
        format!("/datasets/{d}/queries"),
        "/datasets/api-keys".to_string(),
        format!("/files/{}/preview", ids.file),
        "/datasets?include_all=true".to_string(),
    ] {
        let (status, body) = owner.call(c, "GET", &uri(&path), None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        state.push(body);
    }
    state
}

/// The first workspace's ids.
struct Ids {
    dataset: String,
    document: String,
    segment: String,
    metadata: String,
    file: String,
    key_id: String,
    job: String,
    tag: String,
}

#[tokio::test]
async fn a_second_workspace_reaches_nothing_of_the_first() {
    let c = Console::new().await;
    start_workers(&c);
    let owner = c.owner().await;
    let (dataset, document, batch) = indexed_batch(&c, &owner, "private kb", "all_team_members").await;
    let d = uri(&format!("/datasets/{dataset}/documents/{document}"));
    let (_, segments) = owner.call(&c, "GET", &format!("{d}/segments"), None).await;
    let segment = segments["data"][0]["id"].as_str().unwrap().to_string();
    let (_, field) = owner
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/metadata")),
            Some(json!({"type": "string", "name": "author"})),
        )
        .await;
    let (_, key) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    let a_key = key["token"].as_str().unwrap().to_string();
    let csv_a = upload_file(&c, &owner, "rows.csv", b"content\nfirst row\n").await;
    let (status, job) = owner
        .call(
            &c,
            "POST",
            &format!("{d}/segments/batch_import"),
            Some(json!({"upload_file_id": csv_a})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{job}");
    let (_, docs) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{dataset}/documents")), None)
        .await;
    let (_, tag) = call(
        &c,
        &a_key,
        "POST",
        "/v1/datasets/tags",
        Some(json!({"name": "secret"})),
    )
    .await;
    let ids = Ids {
        dataset: dataset.clone(),
        document: document.clone(),
        segment,
        metadata: field["id"].as_str().unwrap().to_string(),
        file: docs["data"][0]["data_source_info"]["upload_file_id"]
            .as_str()
            .unwrap()
            .to_string(),
        key_id: key["id"].as_str().unwrap().to_string(),
        job: job["job_id"].as_str().unwrap().to_string(),
        tag: tag["id"].as_str().unwrap().to_string(),
    };

    // The second workspace: its own owner, dataset, file and dataset key.
    let other = c.other_workspace().await;
    assert_ne!(other.tenant_id, owner.tenant_id);
    let own_dataset = create_dataset(&c, &other, "own kb", "only_me").await;
    let own_file = upload_file(&c, &other, "mine.txt", b"my own words").await;
    let (_, other_key) = other.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    let b_key = other_key["token"].as_str().unwrap().to_string();
    let (status, list) = other
        .call(
            &c,
            "GET",
            &uri(&format!("/datasets?ids={dataset}&include_all=true")),
            None,
        )
        .await;
    assert_eq!((status, list["total"].clone()), (StatusCode::OK, json!(0)));
    let (status, list) = call(&c, &b_key, "GET", "/v1/datasets", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["id"] != dataset.as_str())
    );

    let before = snapshot(&c, &owner, &a_key, &ids).await;

    let ds = format!("/datasets/{dataset}");
    let doc = format!("{ds}/documents/{document}");
    let seg = format!("{doc}/segments/{}", ids.segment);
    let unknown = "00000000-0000-0000-0000-00000000abcd";
    let console_routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", ds.clone(), None),
        ("PATCH", ds.clone(), Some(json!({"name": "stolen"}))),
        ("DELETE", ds.clone(), None),
        ("GET", format!("{ds}/use-check"), None),
        ("GET", format!("{ds}/related-apps"), None),
        ("GET", format!("{ds}/indexing-status"), None),
        ("GET", format!("{ds}/error-docs"), None),
        ("GET", format!("{ds}/queries"), None),
        ("POST", format!("{ds}/hit-testing"), Some(json!({"query": "tea"}))),
        ("POST", format!("{ds}/api-keys/disable"), None),
        ("GET", format!("{ds}/documents"), None),
        (
            "POST",
            format!("{ds}/documents"),
            Some(knowledge_config(&[&own_file])),
        ),
        ("DELETE", format!("{ds}/documents?document_id={document}"), None),
        (
            "PATCH",
            format!("{ds}/documents/status/disable/batch?document_id={document}"),
            None,
        ),
        (
            "POST",
            format!("{ds}/documents/metadata"),
            Some(json!({"operation_data": [{"document_id": document,
            "metadata_list": [{"id": ids.metadata, "name": "author", "value": "x"}]}]})),
        ),
        ("GET", doc.clone(), None),
        ("DELETE", doc.clone(), None),
        ("GET", format!("{doc}/indexing-status"), None),
        ("GET", format!("{doc}/indexing-estimate"), None),
        ("POST", format!("{doc}/rename"), Some(json!({"name": "stolen"}))),
        ("PATCH", format!("{doc}/processing/pause"), None),
        ("PATCH", format!("{doc}/processing/resume"), None),
        (
            "POST",
            format!("{ds}/retry"),
            Some(json!({"document_ids": [document]})),
        ),
        ("GET", format!("{ds}/batch/{batch}/indexing-status"), None),
        ("GET", format!("{ds}/batch/{batch}/indexing-estimate"), None),
        ("GET", format!("{doc}/segments"), None),
        (
            "DELETE",
            format!("{doc}/segments?segment_id={}", ids.segment),
            None,
        ),
        (
            "POST",
            format!("{doc}/segment"),
            Some(json!({"content": "stolen"})),
        ),
        (
            "PATCH",
            format!("{doc}/segment/disable?segment_id={}", ids.segment),
            None,
        ),
        (
            "POST",
            format!("{doc}/segments/batch_import"),
            Some(json!({"upload_file_id": own_file})),
        ),
        ("GET", format!("{doc}/segments/batch_import/{}", ids.job), None),
        ("PATCH", seg.clone(), Some(json!({"content": "stolen"}))),
        ("DELETE", seg.clone(), None),
        ("GET", format!("{seg}/child_chunks"), None),
        (
            "POST",
            format!("{seg}/child_chunks"),
            Some(json!({"content": "stolen"})),
        ),
        (
            "PATCH",
            format!("{seg}/child_chunks/{unknown}"),
            Some(json!({"content": "stolen"})),
        ),
        ("DELETE", format!("{seg}/child_chunks/{unknown}"), None),
        ("GET", format!("{ds}/metadata"), None),
        (
            "POST",
            format!("{ds}/metadata"),
            Some(json!({"type": "string", "name": "stolen"})),
        ),
        ("POST", format!("{ds}/metadata/built-in/enable"), None),
        (
            "PATCH",
            format!("{ds}/metadata/{}", ids.metadata),
            Some(json!({"name": "stolen"})),
        ),
        ("DELETE", format!("{ds}/metadata/{}", ids.metadata), None),
        ("GET", format!("/datasets/batch_import_status/{}", ids.job), None),
        (
            "GET",
            format!("/datasets/process-rule?document_id={document}"),
            None,
        ),
        ("DELETE", format!("/datasets/api-keys/{}", ids.key_id), None),
        ("GET", format!("/files/{}/preview", ids.file), None),
        (
            "POST",
            "/datasets/indexing-estimate".into(),
            Some(json!({"indexing_technique": "economy",
            "info_list": {"data_source_type": "upload_file", "file_info_list": {"file_ids": [ids.file]}},
            "process_rule": {"mode": "automatic"}})),
        ),
        (
            "POST",
            "/datasets/init".into(),
            Some(knowledge_config(&[&ids.file])),
        ),
        // The second workspace's own dataset with the first one's documents and files.
        (
            "GET",
            format!("/datasets/{own_dataset}/documents/{document}"),
            None,
        ),
        (
            "PATCH",
            format!(
                "/datasets/{own_dataset}/documents/{document}/segments/{}",
                ids.segment
            ),
            Some(json!({"content": "x"})),
        ),
        (
            "POST",
            format!("/datasets/{own_dataset}/documents"),
            Some(knowledge_config(&[&ids.file])),
        ),
        (
            "POST",
            format!("/datasets/{own_dataset}/retry"),
            Some(json!({"document_ids": [document]})),
        ),
    ];
    for (method, path, body) in console_routes {
        let (status, answer) = other.call(&c, method, &uri(&path), body).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
            "console {method} {path}: {status} {answer}"
        );
    }

    let v1 = format!("/v1/datasets/{dataset}");
    let v1_doc = format!("{v1}/documents/{document}");
    let v1_seg = format!("{v1_doc}/segments/{}", ids.segment);
    let service_routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", v1.clone(), None),
        ("PATCH", v1.clone(), Some(json!({"name": "stolen"}))),
        ("DELETE", v1.clone(), None),
        (
            "POST",
            format!("{v1}/document/create-by-text"),
            Some(json!({"name": "x", "text": "stolen", "indexing_technique": "economy"})),
        ),
        (
            "POST",
            format!("{v1}/document/create_by_text"),
            Some(json!({"name": "x", "text": "stolen", "indexing_technique": "economy"})),
        ),
        ("GET", format!("{v1}/documents"), None),
        ("GET", v1_doc.clone(), None),
        ("DELETE", v1_doc.clone(), None),
        (
            "POST",
            format!("{v1_doc}/update-by-text"),
            Some(json!({"name": "x", "text": "stolen"})),
        ),
        (
            "POST",
            format!("{v1_doc}/update_by_text"),
            Some(json!({"name": "x", "text": "stolen"})),
        ),
        ("GET", format!("{v1}/documents/{batch}/indexing-status"), None),
        ("GET", format!("{v1_doc}/download"), None),
        ("GET", format!("{v1_doc}/upload-file"), None),
        (
            "POST",
            format!("{v1}/documents/download-zip"),
            Some(json!({"document_ids": [document]})),
        ),
        (
            "PATCH",
            format!("{v1}/documents/status/disable"),
            Some(json!({"document_ids": [document]})),
        ),
        ("PATCH", format!("{v1_doc}/processing/pause"), None),
        ("PATCH", format!("{v1_doc}/processing/resume"), None),
        (
            "POST",
            format!("{v1}/retry"),
            Some(json!({"document_ids": [document]})),
        ),
        ("GET", format!("{v1_doc}/segments"), None),
        (
            "POST",
            format!("{v1_doc}/segments"),
            Some(json!({"segments": [{"content": "stolen"}]})),
        ),
        ("GET", v1_seg.clone(), None),
        (
            "POST",
            v1_seg.clone(),
            Some(json!({"segment": {"content": "stolen"}})),
        ),
        ("DELETE", v1_seg.clone(), None),
        ("GET", format!("{v1_seg}/child_chunks"), None),
        (
            "POST",
            format!("{v1_seg}/child_chunks"),
            Some(json!({"content": "stolen"})),
        ),
        (
            "PATCH",
            format!("{v1_seg}/child_chunks/{unknown}"),
            Some(json!({"content": "stolen"})),
        ),
        ("DELETE", format!("{v1_seg}/child_chunks/{unknown}"), None),
        ("POST", format!("{v1}/retrieve"), Some(json!({"query": "tea"}))),
        ("POST", format!("{v1}/hit-testing"), Some(json!({"query": "tea"}))),
        ("GET", format!("{v1}/tags"), None),
        (
            "POST",
            "/v1/datasets/tags/binding".into(),
            Some(json!({"tag_ids": [ids.tag], "target_id": dataset})),
        ),
        (
            "POST",
            "/v1/datasets/tags/unbinding".into(),
            Some(json!({"tag_id": ids.tag, "target_id": dataset})),
        ),
        (
            "PATCH",
            "/v1/datasets/tags".into(),
            Some(json!({"tag_id": ids.tag, "name": "stolen"})),
        ),
        (
            "DELETE",
            "/v1/datasets/tags".into(),
            Some(json!({"tag_id": ids.tag})),
        ),
        ("GET", format!("{v1}/metadata"), None),
        (
            "POST",
            format!("{v1}/metadata"),
            Some(json!({"type": "string", "name": "stolen"})),
        ),
        ("GET", format!("{v1}/metadata/built-in"), None),
        ("POST", format!("{v1}/metadata/built-in/enable"), None),
        (
            "PATCH",
            format!("{v1}/metadata/{}", ids.metadata),
            Some(json!({"name": "stolen"})),
        ),
        ("DELETE", format!("{v1}/metadata/{}", ids.metadata), None),
        (
            "POST",
            format!("{v1}/documents/metadata"),
            Some(json!({"operation_data": [{"document_id": document,
            "metadata_list": [{"id": ids.metadata, "name": "author", "value": "x"}]}]})),
        ),
        // The second workspace's own dataset with the first one's document, segment and tag.
        (
            "GET",
            format!("/v1/datasets/{own_dataset}/documents/{document}"),
            None,
        ),
        (
            "POST",
            format!(
                "/v1/datasets/{own_dataset}/documents/{document}/segments/{}",
                ids.segment
            ),
            Some(json!({"segment": {"content": "x"}})),
        ),
        (
            "POST",
            "/v1/datasets/tags/binding".into(),
            Some(json!({"tag_ids": [ids.tag], "target_id": own_dataset})),
        ),
    ];
    for (method, path, body) in service_routes {
        let (status, answer) = call(&c, &b_key, method, &path, body).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
            "service {method} {path}: {status} {answer}"
        );
    }
    for (method, path) in [
        ("POST", format!("{v1}/document/create-by-file")),
        ("POST", format!("{v1}/document/create_by_file")),
        ("POST", format!("{v1_doc}/update-by-file")),
        ("POST", format!("{v1_doc}/update_by_file")),
        ("PATCH", v1_doc.clone()),
    ] {
        let (status, answer) = multipart(&c, &b_key, method, &path).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
            "service {method} {path}: {status} {answer}"
        );
    }
    // A console session is not a dataset key, nor a dataset key a console session.
    let (status, _) = call(&c, &other.access_token, "GET", &v1, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&c, &b_key, "GET", &uri(&ds), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let after = snapshot(&c, &owner, &a_key, &ids).await;
    assert_eq!(before, after, "the second workspace changed the first one's data");
}

/// Roles, and whether each may do a thing (Dify's rules).
const ROLES: [Role; 5] = [
    Role::Owner,
    Role::Admin,
    Role::Editor,
    Role::Normal,
    Role::DatasetOperator,
];

fn dataset_editor(role: Role) -> bool {
    role != Role::Normal
}

fn admin(role: Role) -> bool {
    matches!(role, Role::Owner | Role::Admin)
}

fn expect(allowed: bool, ok: StatusCode, status: StatusCode, what: &str, role: Role, body: &Value) {
    let expected = if allowed { ok } else { StatusCode::FORBIDDEN };
    assert_eq!(status, expected, "{role:?} {what}: {body}");
}

#[tokio::test]
async fn each_role_may_do_what_dify_lets_it() {
    let c = Console::new().await;
    start_workers(&c);
    let owner = c.owner().await;
    let (team, document) = indexed_dataset(&c, &owner, "team kb", "all_team_members").await;
    let private = create_dataset(&c, &owner, "owner only", "only_me").await;
    let ds = uri(&format!("/datasets/{team}"));
    let doc = format!("{ds}/documents/{document}");
    let (_, owner_key) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;

    for role in ROLES {
        let member;
        let s: &Session = if role == Role::Owner {
            &owner
        } else {
            member = c.member(&owner, role).await;
            &member
        };
        if role == Role::DatasetOperator {
            // A dataset operator reaches only the datasets it was given (Dify's partial members).
            let (status, body) = s.call(&c, "GET", &ds, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
            let (status, body) = owner
                .call(
                    &c,
                    "PATCH",
                    &ds,
                    Some(json!({"permission": "partial_members",
                        "partial_member_list": [{"user_id": s.account_id, "role": "dataset_operator"}]})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let name = format!("{role:?}");
        // Reads: every member.
        for path in [
            "/datasets".to_string(),
            format!("/datasets/{team}"),
            format!("/datasets/{team}/documents"),
            format!("/datasets/{team}/documents/{document}/segments"),
            format!("/datasets/{team}/queries"),
            "/datasets/api-keys".to_string(),
            "/files/upload".to_string(),
        ] {
            let (status, body) = s.call(&c, "GET", &uri(&path), None).await;
            assert_eq!(status, StatusCode::OK, "{role:?} GET {path}: {body}");
        }
        let (status, body) = s
            .call(
                &c,
                "POST",
                &format!("{ds}/hit-testing"),
                Some(json!({"query": "tea"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{role:?} hit-testing: {body}");
        let (status, body) = s.upload(&c, "note.txt", b"a note", Some("datasets")).await;
        assert_eq!(status, StatusCode::CREATED, "{role:?} upload: {body}");
        // Someone else's private dataset: only the owner opens it.
        let (status, body) = s
            .call(&c, "GET", &uri(&format!("/datasets/{private}")), None)
            .await;
        expect(
            role == Role::Owner,
            StatusCode::OK,
            status,
            "open a private dataset",
            role,
            &body,
        );

        // Dataset writes: dataset editors.
        let (status, body) = s
            .call(&c, "POST", &uri("/datasets"), Some(json!({"name": name})))
            .await;
        expect(
            dataset_editor(role),
            StatusCode::CREATED,
            status,
            "create a dataset",
            role,
            &body,
        );
        if status == StatusCode::CREATED {
            let own = body["id"].as_str().unwrap();
            let (status, body) = s
                .call(&c, "DELETE", &uri(&format!("/datasets/{own}")), None)
                .await;
            assert_eq!(
                status,
                StatusCode::NO_CONTENT,
                "{role:?} delete own dataset: {body}"
            );
        }
        let (status, body) = s.call(&c, "PATCH", &ds, Some(json!({"description": name}))).await;
        expect(
            dataset_editor(role),
            StatusCode::OK,
            status,
            "change a dataset",
            role,
            &body,
        );
        let (status, body) = s
            .call(&c, "POST", &format!("{doc}/rename"), Some(json!({"name": name})))
            .await;
        expect(
            dataset_editor(role),
            StatusCode::OK,
            status,
            "rename a document",
            role,
            &body,
        );
        let (status, body) = s
            .call(
                &c,
                "POST",
                &format!("{doc}/segment"),
                Some(json!({"content": name})),
            )
            .await;
        expect(
            dataset_editor(role),
            StatusCode::OK,
            status,
            "add a segment",
            role,
            &body,
        );
        let (status, body) = s.call(&c, "POST", &format!("{ds}/api-keys/disable"), None).await;
        expect(
            dataset_editor(role),
            StatusCode::OK,
            status,
            "switch the API off",
            role,
            &body,
        );
        let (status, body) = s.call(&c, "POST", &format!("{ds}/api-keys/enable"), None).await;
        expect(
            dataset_editor(role),
            StatusCode::OK,
            status,
            "switch the API on",
            role,
            &body,
        );
        let (status, body) = s
            .call(
                &c,
                "POST",
                &format!("{ds}/metadata"),
                Some(json!({"type": "string", "name": name})),
            )
            .await;
        expect(
            dataset_editor(role),
            StatusCode::CREATED,
            status,
            "add a metadata field",
            role,
            &body,
        );
        if role != Role::Owner {
            let (status, body) = s
                .call(&c, "DELETE", &uri(&format!("/datasets/{private}")), None)
                .await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{role:?} delete someone else's private dataset: {body}"
            );
        }

        // API keys: owners and admins.
        let (status, body) = s.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
        expect(
            admin(role),
            StatusCode::OK,
            status,
            "create an API key",
            role,
            &body,
        );
        if status == StatusCode::OK {
            let id = body["id"].as_str().unwrap();
            let (status, _) = s
                .call(&c, "DELETE", &uri(&format!("/datasets/api-keys/{id}")), None)
                .await;
            assert_eq!(status, StatusCode::NO_CONTENT);
        }
        let key_id = owner_key["id"].as_str().unwrap();
        if !admin(role) {
            let (status, body) = s
                .call(&c, "DELETE", &uri(&format!("/datasets/api-keys/{key_id}")), None)
                .await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{role:?} delete an API key: {body}"
            );
        }
    }
    // What the normal member tried changed nothing: the last change is the dataset operator's.
    let (_, detail) = owner.call(&c, "GET", &ds, None).await;
    assert_eq!(detail["description"], "DatasetOperator");
    let (_, keys) = owner.call(&c, "GET", &uri("/datasets/api-keys"), None).await;
    assert_eq!(keys["data"].as_array().unwrap().len(), 1);
}
