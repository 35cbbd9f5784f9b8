//! The console's app routes: create, list, read, update and delete chat and completion apps, set
//! their model config, manage their `app-...` keys, with Dify's role rules.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ragd::store::{Role, TokenType};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::console_support::{Console, Session};
use crate::knowledge_api::assert_error;

/// A service-API call with a bearer key.
async fn service(console: &Console, key: &str, method: &str, uri: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    let response = console.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A dataset of the session's workspace, made through the knowledge API.
async fn dataset(console: &Console, session: &Session, name: &str) -> String {
    let key = console
        .engine
        .store()
        .create_api_token(&session.tenant_id, TokenType::Dataset, None)
        .await
        .unwrap();
    let request = Request::builder()
        .method("POST")
        .uri("/v1/datasets")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"name": name}).to_string()))
        .unwrap();
    let response = console.app.clone().oneshot(request).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let created: Value = serde_json::from_slice(&bytes).unwrap();
    created["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn apps_are_created_configured_keyed_and_deleted() {
    let console = Console::new().await;
    let owner = console.owner().await;

    let (status, app) = owner
        .call(
            &console,
            "POST",
            "/console/api/apps",
            Some(
                json!({"name": "Tea helper", "mode": "chat", "description": "answers about tea",
                        "icon_type": "emoji", "icon": "🍵", "icon_background": "#FFEAD5"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    assert_eq!(app["mode"], "chat");
    assert_eq!(app["icon"], "🍵");
    assert_eq!(app["model_config"]["dataset_configs"]["top_k"], 4);
    assert_eq!(app["model_config"]["retriever_resource"]["enabled"], true);
    let app_id = app["id"].as_str().unwrap().to_string();

    for (mode, message) in [
        ("workflow", "only chat and completion"),
        ("agent-chat", "only chat and completion"),
        ("nonsense", "expected chat or completion"),
    ] {
        let (status, error) = owner
            .call(
                &console,
                "POST",
                "/console/api/apps",
                Some(json!({"name": "x", "mode": mode})),
            )
            .await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
        assert!(error["message"].as_str().unwrap().contains(message), "{error}");
    }
    let (status, error) = owner
        .call(
            &console,
            "POST",
            "/console/api/apps",
            Some(json!({"name": " ", "mode": "chat"})),
        )
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");

    // Model config: datasets must be the workspace's; a good config is stored and shown.
    let tea = dataset(&console, &owner, "tea").await;
    let uri = format!("/console/api/apps/{app_id}/model-config");
    let unknown = json!({"dataset_configs": {"datasets": {"datasets": [
        {"dataset": {"enabled": true, "id": "6c1f3a52-7d1e-4d7c-9a8e-2f7b1c0d9e11"}}]}}});
    let (status, error) = owner.call(&console, "POST", &uri, Some(unknown)).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    let config = json!({
        "model": {"provider": "openai_api_compatible", "name": "tea-model", "mode": "chat", "completion_params": {"temperature": 0.3}},
        "pre_prompt": "You explain tea to {{audience}}.",
        "user_input_form": [{"paragraph": {"label": "Audience", "variable": "audience", "required": false}}],
        "opening_statement": "Hello",
        "suggested_questions": ["What is oolong?"],
        "retriever_resource": {"enabled": false},
        "dataset_configs": {"retrieval_model": "multiple", "top_k": 2, "score_threshold_enabled": true,
                            "score_threshold": 0.2, "reranking_enabled": true, "reranking_mode": "weighted_score",
                            "weights": {"vector_setting": {"vector_weight": 0.8}, "keyword_setting": {"keyword_weight": 0.2}},
                            "metadata_filtering_mode": "manual",
                            "metadata_filtering_conditions": {"logical_operator": "and", "conditions": []},
                            "datasets": {"datasets": [{"dataset": {"enabled": true, "id": tea}}]}},
    });
    let (status, body) = owner.call(&console, "POST", &uri, Some(config)).await;
    assert_eq!(
        (status, body["result"].as_str()),
        (StatusCode::OK, Some("success")),
        "{body}"
    );
    let (status, shown) = owner
        .call(&console, "GET", &format!("/console/api/apps/{app_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let model_config = &shown["model_config"];
    assert_eq!(model_config["pre_prompt"], "You explain tea to {{audience}}.");
    assert_eq!(model_config["model"]["name"], "tea-model");
    assert_eq!(model_config["dataset_configs"]["top_k"], 2);
    assert_eq!(
        model_config["dataset_configs"]["datasets"]["datasets"][0]["dataset"]["id"],
        tea.as_str()
    );
    assert_eq!(model_config["retriever_resource"]["enabled"], false);

    // Keys: shown once, listed by hint, usable on the service API, revocable.
    let keys_uri = format!("/console/api/apps/{app_id}/api-keys");
    let (status, created) = owner.call(&console, "POST", &keys_uri, None).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["token"].as_str().unwrap().to_string();
    assert!(key.starts_with("app-") && key.len() == "app-".len() + 24, "{key}");
    let (_, listed) = owner.call(&console, "GET", &keys_uri, None).await;
    let listed = listed["data"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], created["id"]);
    assert_ne!(listed[0]["token"], key.as_str(), "lists never show the key");
    let (status, info) = service(&console, &key, "GET", "/v1/info").await;
    assert_eq!(
        (status, info["name"].as_str()),
        (StatusCode::OK, Some("Tea helper"))
    );
    let (_, parameters) = service(&console, &key, "GET", "/v1/parameters").await;
    assert_eq!(parameters["suggested_questions"], json!(["What is oolong?"]));
    assert_eq!(parameters["retriever_resource"], json!({"enabled": false}));

    // The API switch.
    let (status, _) = owner
        .call(
            &console,
            "POST",
            &format!("/console/api/apps/{app_id}/api-enable"),
            Some(json!({"enable_api": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = service(&console, &key, "GET", "/v1/info").await;
    assert_error(status, &error, StatusCode::FORBIDDEN, "forbidden");
    owner
        .call(
            &console,
            "POST",
            &format!("/console/api/apps/{app_id}/api-enable"),
            Some(json!({"enable_api": true})),
        )
        .await;

    let (status, _) = owner
        .call(
            &console,
            "DELETE",
            &format!("{keys_uri}/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = service(&console, &key, "GET", "/v1/info").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // At most ten keys per app; the eleventh is refused and not stored.
    for _ in 0..10 {
        let (status, created) = owner.call(&console, "POST", &keys_uri, None).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let (status, error) = owner.call(&console, "POST", &keys_uri, None).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "max_keys_exceeded");
    let (_, listed) = owner.call(&console, "GET", &keys_uri, None).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 10);

    // Update, list, delete.
    let (status, renamed) = owner
        .call(
            &console,
            "PUT",
            &format!("/console/api/apps/{app_id}"),
            Some(json!({"name": "Tea guide"})),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (StatusCode::OK, Some("Tea guide")),
        "{renamed}"
    );
    owner
        .call(
            &console,
            "POST",
            "/console/api/apps",
            Some(json!({"name": "Tea writer", "mode": "completion"})),
        )
        .await;
    let (_, all) = owner
        .call(&console, "GET", "/console/api/apps?page=1&limit=10", None)
        .await;
    assert_eq!(all["total"], 2, "{all}");
    let (_, completions) = owner
        .call(&console, "GET", "/console/api/apps?mode=completion", None)
        .await;
    assert_eq!(completions["total"], 1, "{completions}");
    assert_eq!(completions["data"][0]["name"], "Tea writer");
    let (_, named) = owner
        .call(&console, "GET", "/console/api/apps?name=guide", None)
        .await;
    assert_eq!(named["total"], 1, "{named}");

    let (status, _) = owner
        .call(&console, "DELETE", &format!("/console/api/apps/{app_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = owner
        .call(&console, "GET", &format!("/console/api/apps/{app_id}"), None)
        .await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn roles_decide_who_edits_and_who_uses_apps() {
    let console = Console::new().await;
    let owner = console.owner().await;
    let editor = console.member(&owner, Role::Editor).await;
    let normal = console.member(&owner, Role::Normal).await;
    let operator = console.member(&owner, Role::DatasetOperator).await;
    let stranger = console.other_workspace().await;

    let (status, app) = editor
        .call(
            &console,
            "POST",
            "/console/api/apps",
            Some(json!({"name": "By editor", "mode": "chat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let app_uri = format!("/console/api/apps/{}", app["id"].as_str().unwrap());

    let (status, list) = normal.call(&console, "GET", "/console/api/apps", None).await;
    assert_eq!(
        (status, list["total"].as_i64()),
        (StatusCode::OK, Some(1)),
        "{list}"
    );
    let (status, _) = normal.call(&console, "GET", &app_uri, None).await;
    assert_eq!(status, StatusCode::OK);
    for (method, uri, body) in [
        (
            "POST",
            "/console/api/apps".to_string(),
            Some(json!({"name": "x", "mode": "chat"})),
        ),
        ("PUT", app_uri.clone(), Some(json!({"name": "y"}))),
        ("POST", format!("{app_uri}/model-config"), Some(json!({}))),
        ("POST", format!("{app_uri}/api-keys"), None),
        ("DELETE", app_uri.clone(), None),
    ] {
        let (status, error) = normal.call(&console, method, &uri, body).await;
        assert_error(status, &error, StatusCode::FORBIDDEN, "forbidden");
    }
    let (status, error) = operator.call(&console, "GET", "/console/api/apps", None).await;
    assert_error(status, &error, StatusCode::FORBIDDEN, "forbidden");

    // Another workspace sees nothing of this one.
    let (status, error) = stranger.call(&console, "GET", &app_uri, None).await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    let (_, list) = stranger.call(&console, "GET", "/console/api/apps", None).await;
    assert_eq!(list["total"], 0);
    let (status, _) = stranger.call(&console, "DELETE", &app_uri, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = owner.call(&console, "GET", &app_uri, None).await;
    assert_eq!(status, StatusCode::OK, "the app survived the stranger's delete");
}

#[tokio::test]
async fn the_playground_answers_editors_and_bound_datasets_are_in_use() {
    let console = Console::new().await;
    let owner = console.owner().await;
    let dataset_id = dataset(&console, &owner, "Tea notes").await;
    let (status, app) = owner
        .call(
            &console,
            "POST",
            "/console/api/apps",
            Some(json!({"name": "Tea helper", "mode": "chat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let app_id = app["id"].as_str().unwrap().to_string();
    let bind = json!({"dataset_configs": {"datasets": {"datasets": [{"dataset": {"enabled": true, "id": dataset_id}}]}}});
    let (status, body) = owner
        .call(
            &console,
            "POST",
            &format!("/console/api/apps/{app_id}/model-config"),
            Some(bind),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A bound dataset is in use: the console says so and refuses to delete it.
    let (_, check) = owner
        .call(
            &console,
            "GET",
            &format!("/console/api/datasets/{dataset_id}/use-check"),
            None,
        )
        .await;
    assert_eq!(check["is_using"], true, "{check}");
    let (_, related) = owner
        .call(
            &console,
            "GET",
            &format!("/console/api/datasets/{dataset_id}/related-apps"),
            None,
        )
        .await;
    assert_eq!(related["data"][0]["id"], app_id.as_str(), "{related}");
    let (status, _) = owner
        .call(
            &console,
            "DELETE",
            &format!("/console/api/datasets/{dataset_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The playground answers (blocking here; the browser test streams) as the signed-in account.
    let chat = format!("/console/api/apps/{app_id}/chat-messages");
    let question = json!({"inputs": {}, "query": "What is oolong?", "response_mode": "blocking"});
    let (status, answer) = owner.call(&console, "POST", &chat, Some(question.clone())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["event"], "message");
    assert!(
        answer["answer"].as_str().is_some_and(|a| !a.is_empty()),
        "{answer}"
    );
    assert!(answer["conversation_id"].as_str().is_some());
    let (status, error) = owner
        .call(
            &console,
            "POST",
            &format!("/console/api/apps/{app_id}/completion-messages"),
            Some(question.clone()),
        )
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "not_completion_app");

    // Only editors use it; another workspace does not find the app.
    let normal = console.member(&owner, Role::Normal).await;
    let (status, error) = normal.call(&console, "POST", &chat, Some(question.clone())).await;
    assert_error(status, &error, StatusCode::FORBIDDEN, "forbidden");
    let stranger = console.other_workspace().await;
    let (status, error) = stranger.call(&console, "POST", &chat, Some(question)).await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
}
