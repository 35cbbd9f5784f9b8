//! Annotations and annotation reply (service API and console), the console's app logs, and the
//! app API's file preview, against the real router and embedding model with a stub LLM.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ragd::store::Role;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::apps_api::{AppsApi, tea_config};
use crate::console_support::{Console, Session};
use crate::knowledge_api::assert_error;
use crate::openai_stub::OpenAiStub;
use crate::support;

const QUESTION: &str = "How long should green tea steep?";
const ANSWER: &str = "Two to three minutes, in water at 80 °C.";
const UNRELATED: &str = "Which port does the database listen on?";

/// Shares the loaded multilingual model with the engine when annotations use it.
async fn share_annotation_model(engine: &ragd::engine::Engine) {
    if engine.annotation_model_id().contains("multilingual") {
        engine
            .register_embedder(support::multilingual_embedder())
            .await
            .unwrap();
    }
}

fn reply_settings(threshold: f64) -> Value {
    json!({"score_threshold": threshold, "embedding_provider_name": "openai",
           "embedding_model_name": "text-embedding-3-small"})
}

/// Polls a job's status route until it is finished; its last status.
async fn wait_for_job<F, Fut>(mut status: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (StatusCode, Value)>,
{
    for _ in 0..600 {
        let (code, body) = status().await;
        assert_eq!(code, StatusCode::OK, "{body}");
        if body["job_status"] == "completed" || body["job_status"] == "error" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the annotation job did not finish");
}

async fn enable_through_api(apps: &AppsApi, key: &str, threshold: f64) {
    let (status, job) = apps
        .call(
            key,
            "POST",
            "/v1/apps/annotation-reply/enable",
            Some(reply_settings(threshold)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["job_status"], "waiting", "{job}");
    let uri = format!(
        "/v1/apps/annotation-reply/enable/status/{}",
        job["job_id"].as_str().unwrap()
    );
    let done = wait_for_job(|| apps.call(key, "GET", &uri, None)).await;
    assert_eq!(done["job_status"], "completed", "{done}");
    assert_eq!(done["error_msg"], "", "{done}");
}

fn ask(query: &str, mode: &str) -> Value {
    json!({"query": query, "inputs": {"audience": "x"}, "user": "ann", "response_mode": mode})
}

#[tokio::test]
async fn annotations_are_listed_created_updated_and_deleted_per_app() {
    let apps = AppsApi::new(None).await;
    let key = apps.app("chat", tea_config()).await;
    let other_key = apps.app("chat", tea_config()).await;

    let (status, empty) = apps.call(&key, "GET", "/v1/apps/annotations", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        empty,
        json!({"data": [], "has_more": false, "limit": 20, "total": 0, "page": 1})
    );
    let (status, created) = apps
        .call(
            &key,
            "POST",
            "/v1/apps/annotations",
            Some(json!({"question": QUESTION, "answer": ANSWER})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["question"], QUESTION);
    assert_eq!(created["answer"], ANSWER);
    assert_eq!(created["hit_count"], 0);
    assert!(created["created_at"].as_i64().is_some(), "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    apps.call(
        &key,
        "POST",
        "/v1/apps/annotations",
        Some(json!({"question": "What is oolong?", "answer": "Half oxidised."})),
    )
    .await;

    let (_, page) = apps
        .call(&key, "GET", "/v1/apps/annotations?limit=1&page=2", None)
        .await;
    assert_eq!(
        (page["total"].as_i64(), page["page"].as_i64()),
        (Some(2), Some(2)),
        "{page}"
    );
    assert_eq!(page["data"][0]["id"], id.as_str(), "newest first: {page}");
    assert_eq!(page["has_more"], true);
    let (_, found) = apps
        .call(&key, "GET", "/v1/apps/annotations?keyword=STEEP", None)
        .await;
    assert_eq!(found["total"], 1, "{found}");
    let (_, found) = apps
        .call(&key, "GET", "/v1/apps/annotations?keyword=80%20%C2%B0C", None)
        .await;
    assert_eq!(found["data"][0]["id"], id.as_str(), "answers match too: {found}");

    let uri = format!("/v1/apps/annotations/{id}");
    let (status, updated) = apps
        .call(
            &key,
            "PUT",
            &uri,
            Some(json!({"question": QUESTION, "answer": "Three minutes."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        (updated["id"].as_str(), updated["answer"].as_str()),
        (Some(id.as_str()), Some("Three minutes."))
    );

    // Bad input changes nothing.
    for body in [
        json!({"question": "q"}),
        json!({"question": 3, "answer": "a"}),
        json!([1]),
        json!({"question": " ", "answer": "a"}),
    ] {
        let (status, error) = apps
            .call(&key, "POST", "/v1/apps/annotations", Some(body.clone()))
            .await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
        let (status, error) = apps.call(&key, "PUT", &uri, Some(body)).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    }
    for query in ["limit=0", "limit=101", "page=0", "page=x"] {
        let (status, error) = apps
            .call(&key, "GET", &format!("/v1/apps/annotations?{query}"), None)
            .await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let missing = "/v1/apps/annotations/6c1f3a52-7d1e-4d7c-9a8e-2f7b1c0d9e11";
    let pair = json!({"question": "q", "answer": "a"});
    for (method, uri) in [
        ("PUT", missing),
        ("DELETE", missing),
        ("PUT", "/v1/apps/annotations/not-a-uuid"),
    ] {
        let (status, error) = apps.call(&key, method, uri, Some(pair.clone())).await;
        assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
        assert_eq!(error["message"], "Annotation not found");
    }
    let (status, error) = apps
        .call(
            &key,
            "POST",
            "/v1/apps/annotation-reply/toggle",
            Some(reply_settings(0.9)),
        )
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    for body in [
        json!({"embedding_provider_name": "p", "embedding_model_name": "m"}),
        reply_settings(1.5),
        json!({"score_threshold": 0.9, "embedding_model_name": "m"}),
    ] {
        let (status, error) = apps
            .call(&key, "POST", "/v1/apps/annotation-reply/enable", Some(body))
            .await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, error) = apps
        .call(
            &key,
            "GET",
            "/v1/apps/annotation-reply/enable/status/6c1f3a52-7d1e-4d7c-9a8e-2f7b1c0d9e11",
            None,
        )
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(error["message"], "The job does not exist.");
    assert_eq!(
        apps.api.engine.store().annotation_setting("x").await.unwrap(),
        None
    );

    // Another app's key sees none of them and cannot touch them, nor poll this app's jobs.
    let (_, others) = apps.call(&other_key, "GET", "/v1/apps/annotations", None).await;
    assert_eq!(others["total"], 0, "{others}");
    let (status, _) = apps.call(&other_key, "PUT", &uri, Some(pair.clone())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = apps.call(&other_key, "DELETE", &uri, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, job) = apps
        .call(
            &key,
            "POST",
            "/v1/apps/annotation-reply/disable",
            Some(reply_settings(0.9)),
        )
        .await;
    let job_uri = format!(
        "/v1/apps/annotation-reply/disable/status/{}",
        job["job_id"].as_str().unwrap()
    );
    let (status, _) = apps.call(&other_key, "GET", &job_uri, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, done) = apps.call(&key, "GET", &job_uri, None).await;
    assert_eq!(
        (status, done["job_status"].as_str()),
        (StatusCode::OK, Some("completed")),
        "{done}"
    );

    let answer = apps.send(&key, "DELETE", &uri, None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    let (status, _) = apps.call(&key, "DELETE", &uri, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, left) = apps.call(&key, "GET", "/v1/apps/annotations", None).await;
    assert_eq!(left["total"], 1, "{left}");
}

#[tokio::test]
async fn a_close_question_is_answered_by_its_annotation_without_the_model() {
    let stub = OpenAiStub::start().await;
    let apps = AppsApi::new(Some(&stub)).await;
    share_annotation_model(&apps.api.engine).await;
    let key = apps.app("chat", tea_config()).await;
    let (_, annotation) = apps
        .call(
            &key,
            "POST",
            "/v1/apps/annotations",
            Some(json!({"question": QUESTION, "answer": ANSWER})),
        )
        .await;
    let annotation_id = annotation["id"].as_str().unwrap().to_string();

    // Off: the model answers.
    let (status, body) = apps
        .call(&key, "POST", "/v1/chat-messages", Some(ask(QUESTION, "blocking")))
        .await;
    assert_eq!(
        (status, body["answer"].as_str()),
        (StatusCode::OK, Some(OpenAiStub::answer().as_str()))
    );
    assert_eq!(stub.requests().len(), 1);

    enable_through_api(&apps, &key, 0.9).await;

    // Blocking: the annotation's answer, marked as Dify marks it; no model call.
    let (status, hit) = apps
        .call(&key, "POST", "/v1/chat-messages", Some(ask(QUESTION, "blocking")))
        .await;
    assert_eq!(status, StatusCode::OK, "{hit}");
    assert_eq!(hit["answer"], ANSWER, "{hit}");
    assert_eq!(
        hit["metadata"]["annotation_reply"]["id"],
        annotation_id.as_str(),
        "{hit}"
    );
    assert!(
        hit["metadata"]["annotation_reply"]["account"]["name"].is_string(),
        "{hit}"
    );
    assert_eq!(hit["metadata"]["usage"]["total_tokens"], 0, "{hit}");
    assert_eq!(stub.requests().len(), 1, "the model was asked");

    // Streaming, in the same conversation, with different case and spacing.
    let streamed = apps
        .send(
            &key,
            "POST",
            "/v1/chat-messages",
            Some(json!({
                "query": "how long should GREEN tea steep ?", "inputs": {}, "user": "ann",
                "response_mode": "streaming", "conversation_id": hit["conversation_id"],
            })),
        )
        .await;
    assert_eq!(streamed.status, StatusCode::OK, "{}", streamed.body);
    let events = streamed.events();
    let text: String = events
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| e["answer"].as_str().unwrap())
        .collect();
    assert_eq!(text, ANSWER, "{events:?}");
    let end = events.last().unwrap();
    assert_eq!(end["event"], "message_end", "{end}");
    assert_eq!(
        end["metadata"]["annotation_reply"]["id"],
        annotation_id.as_str(),
        "{end}"
    );
    assert_eq!(stub.requests().len(), 1, "the model was asked");

    // A question far from every annotation goes to the model.
    let (_, miss) = apps
        .call(
            &key,
            "POST",
            "/v1/chat-messages",
            Some(ask(UNRELATED, "blocking")),
        )
        .await;
    assert_eq!(miss["answer"], OpenAiStub::answer().as_str(), "{miss}");
    assert!(miss["metadata"].get("annotation_reply").is_none(), "{miss}");
    assert_eq!(stub.requests().len(), 2);

    // Both hits are counted and kept in the history, which shows the annotation's answer.
    let (_, list) = apps.call(&key, "GET", "/v1/apps/annotations", None).await;
    assert_eq!(list["data"][0]["hit_count"], 2, "{list}");
    let uri = format!(
        "/v1/messages?conversation_id={}&user=ann",
        hit["conversation_id"].as_str().unwrap()
    );
    let (_, history) = apps.call(&key, "GET", &uri, None).await;
    let answers: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["answer"].as_str().unwrap())
        .collect();
    assert_eq!(answers, [ANSWER, ANSWER], "{history}");

    // An annotation added while reply is on answers at once; a threshold of 1 misses paraphrases.
    apps.call(
        &key,
        "POST",
        "/v1/apps/annotations",
        Some(json!({"question": UNRELATED, "answer": "Port 5432."})),
    )
    .await;
    let (_, hit) = apps
        .call(
            &key,
            "POST",
            "/v1/chat-messages",
            Some(ask(UNRELATED, "blocking")),
        )
        .await;
    assert_eq!(hit["answer"], "Port 5432.", "{hit}");
    enable_through_api(&apps, &key, 1.0).await;
    let (_, miss) = apps
        .call(
            &key,
            "POST",
            "/v1/chat-messages",
            Some(ask("Green tea: how many minutes to steep it?", "blocking")),
        )
        .await;
    assert_eq!(miss["answer"], OpenAiStub::answer().as_str(), "{miss}");

    // Off again: the model answers the annotated question.
    let (_, job) = apps
        .call(
            &key,
            "POST",
            "/v1/apps/annotation-reply/disable",
            Some(reply_settings(0.9)),
        )
        .await;
    assert_eq!(job["job_status"], "waiting", "{job}");
    let asked = stub.requests().len();
    let (_, off) = apps
        .call(&key, "POST", "/v1/chat-messages", Some(ask(QUESTION, "blocking")))
        .await;
    assert_eq!(off["answer"], OpenAiStub::answer().as_str(), "{off}");
    assert_eq!(stub.requests().len(), asked + 1);
}

async fn console_with_stub(stub: &OpenAiStub) -> Console {
    let base_url = stub.base_url.clone();
    let console = Console::with_config(move |config| {
        config.security.outbound_allow = vec!["127.0.0.1".parse().unwrap()];
        config.llm.base_url = Some(base_url);
        config.llm.model = Some("stub-model".into());
    })
    .await;
    share_annotation_model(&console.engine).await;
    console
}

async fn console_app(console: &Console, owner: &Session, mode: &str) -> String {
    let (status, app) = owner
        .call(
            console,
            "POST",
            "/console/api/apps",
            Some(json!({"name": format!("{mode} logs"), "mode": mode})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    app["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_console_manages_annotations_and_shows_hits_and_logs() {
    let stub = OpenAiStub::start().await;
    let console = console_with_stub(&stub).await;
    let owner = console.owner().await;
    let app_id = console_app(&console, &owner, "chat").await;
    let base = format!("/console/api/apps/{app_id}");

    let (status, setting) = owner
        .call(&console, "GET", &format!("{base}/annotation-setting"), None)
        .await;
    assert_eq!((status, setting), (StatusCode::OK, json!({"enabled": false})));
    let (status, annotation) = owner
        .call(
            &console,
            "POST",
            &format!("{base}/annotations"),
            Some(json!({"question": QUESTION, "answer": ANSWER})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{annotation}");
    let annotation_id = annotation["id"].as_str().unwrap().to_string();
    let (status, job) = owner
        .call(
            &console,
            "POST",
            &format!("{base}/annotation-reply/enable"),
            Some(reply_settings(0.85)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{job}");
    let status_uri = format!(
        "{base}/annotation-reply/enable/status/{}",
        job["job_id"].as_str().unwrap()
    );
    let done = wait_for_job(|| owner.call(&console, "GET", &status_uri, None)).await;
    assert_eq!(done["job_status"], "completed", "{done}");
    let (_, setting) = owner
        .call(&console, "GET", &format!("{base}/annotation-setting"), None)
        .await;
    assert_eq!(setting["enabled"], true, "{setting}");
    assert_eq!(setting["score_threshold"], 0.85);
    assert_eq!(
        setting["embedding_model"],
        json!({"embedding_provider_name": "openai", "embedding_model_name": "text-embedding-3-small"})
    );
    let setting_uri = format!("{base}/annotation-settings/{}", setting["id"].as_str().unwrap());
    let (status, changed) = owner
        .call(
            &console,
            "POST",
            &setting_uri,
            Some(json!({"score_threshold": 0.9})),
        )
        .await;
    assert_eq!(
        (status, changed["score_threshold"].as_f64()),
        (StatusCode::OK, Some(0.9)),
        "{changed}"
    );
    let (status, error) = owner
        .call(
            &console,
            "POST",
            &setting_uri,
            Some(json!({"score_threshold": "high"})),
        )
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");

    // The playground's hit is recorded as coming from the console.
    let chat = format!("{base}/chat-messages");
    let (status, hit) = owner
        .call(
            &console,
            "POST",
            &chat,
            Some(json!({"inputs": {}, "query": QUESTION, "response_mode": "blocking"})),
        )
        .await;
    assert_eq!(
        (status, hit["answer"].as_str()),
        (StatusCode::OK, Some(ANSWER)),
        "{hit}"
    );
    assert!(stub.requests().is_empty());
    let (_, miss) = owner
        .call(
            &console,
            "POST",
            &chat,
            Some(
                json!({"inputs": {}, "query": UNRELATED, "response_mode": "blocking",
                                                   "conversation_id": hit["conversation_id"]}),
            ),
        )
        .await;
    assert_eq!(miss["answer"], OpenAiStub::answer().as_str(), "{miss}");
    let hits_uri = format!("{base}/annotations/{annotation_id}/hit-histories");
    let (status, hits) = owner.call(&console, "GET", &hits_uri, None).await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert_eq!(
        (hits["total"].as_i64(), hits["page"].as_i64()),
        (Some(1), Some(1)),
        "{hits}"
    );
    let item = &hits["data"][0];
    assert_eq!(
        (item["source"].as_str(), item["question"].as_str()),
        (Some("console"), Some(QUESTION))
    );
    assert_eq!(
        (item["match"].as_str(), item["response"].as_str()),
        (Some(QUESTION), Some(ANSWER))
    );
    assert!(item["score"].as_f64().unwrap() >= 0.9, "{item}");
    let (_, count) = owner
        .call(&console, "GET", &format!("{base}/annotations/count"), None)
        .await;
    assert_eq!(count, json!({"count": 1}));
    let (_, export) = owner
        .call(&console, "GET", &format!("{base}/annotations/export"), None)
        .await;
    assert_eq!(export["data"][0]["hit_count"], 1, "{export}");

    // Logs: the conversation, its messages, filters.
    let (status, logs) = owner
        .call(&console, "GET", &format!("{base}/chat-conversations"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{logs}");
    assert_eq!(
        (
            logs["total"].as_i64(),
            logs["page"].as_i64(),
            logs["limit"].as_i64()
        ),
        (Some(1), Some(1), Some(20))
    );
    let conversation = &logs["data"][0];
    assert_eq!(conversation["id"], hit["conversation_id"], "{conversation}");
    assert_eq!(conversation["message_count"], 2, "{conversation}");
    assert_eq!(conversation["summary"], QUESTION, "{conversation}");
    assert_eq!(
        conversation["user_feedback_stats"],
        json!({"like": 0, "dislike": 0})
    );
    let conversation_id = conversation["id"].as_str().unwrap().to_string();
    for (query, total) in [
        ("keyword=port", 1),
        ("keyword=jasmine", 0),
        ("keyword=80%20%C2%B0C", 1),
        ("start=2999-01-01%2000:00", 0),
        ("end=2000-01-01%2000:00", 0),
        ("start=2000-01-01%2000:00&end=2999-01-01%2000:00", 1),
        ("annotation_status=not_annotated", 1),
        ("annotation_status=annotated", 0),
        ("sort_by=-created_at&page=1&limit=5", 1),
        ("page=2", 0),
    ] {
        let (status, page) = owner
            .call(
                &console,
                "GET",
                &format!("{base}/chat-conversations?{query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(
            page["total"]
                .as_i64()
                .map(|_| page["data"].as_array().unwrap().len()),
            Some(total),
            "{query}: {page}"
        );
    }
    for query in [
        "start=yesterday",
        "annotation_status=maybe",
        "sort_by=name",
        "limit=500",
        "page=-1",
    ] {
        let (status, error) = owner
            .call(
                &console,
                "GET",
                &format!("{base}/chat-conversations?{query}"),
                None,
            )
            .await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, detail) = owner
        .call(
            &console,
            "GET",
            &format!("{base}/chat-conversations/{conversation_id}"),
            None,
        )
        .await;
    assert_eq!(
        (status, detail["id"].as_str()),
        (StatusCode::OK, Some(conversation_id.as_str())),
        "{detail}"
    );
    let (status, _) = owner
        .call(
            &console,
            "GET",
            &format!("{base}/chat-conversations/6c1f3a52-7d1e-4d7c-9a8e-2f7b1c0d9e11"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, messages) = owner
        .call(
            &console,
            "GET",
            &format!("{base}/chat-messages?conversation_id={conversation_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{messages}");
    let data = messages["data"].as_array().unwrap();
    assert_eq!(
        data.iter()
            .map(|m| m["query"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [QUESTION, UNRELATED]
    );
    assert_eq!(
        data[0]["annotation_hit_history"]["annotation_id"],
        annotation_id.as_str(),
        "{messages}"
    );
    assert_eq!(data[1]["annotation_hit_history"], Value::Null);
    for query in [
        "",
        "?conversation_id=nope",
        "?conversation_id=6c1f3a52-7d1e-4d7c-9a8e-2f7b1c0d9e11",
    ] {
        let (status, _) = owner
            .call(&console, "GET", &format!("{base}/chat-messages{query}"), None)
            .await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{query}: {status}"
        );
    }
    let (status, error) = owner
        .call(&console, "GET", &format!("{base}/completion-conversations"), None)
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");

    // Completion logs list each answer with its message.
    let completion_id = console_app(&console, &owner, "completion").await;
    let (status, answered) = owner
        .call(
            &console,
            "POST",
            &format!("/console/api/apps/{completion_id}/completion-messages"),
            Some(json!({"inputs": {}, "query": "Write about tea", "response_mode": "blocking"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    let (status, logs) = owner
        .call(
            &console,
            "GET",
            &format!("/console/api/apps/{completion_id}/completion-conversations"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{logs}");
    assert_eq!(logs["total"], 1, "{logs}");
    assert_eq!(logs["data"][0]["message"]["query"], "Write about tea", "{logs}");
    assert_eq!(
        logs["data"][0]["message"]["answer"],
        OpenAiStub::answer().as_str(),
        "{logs}"
    );

    // Roles and workspaces: a normal member may not, another workspace finds nothing.
    let normal = console.member(&owner, Role::Normal).await;
    let (status, error) = normal
        .call(&console, "GET", &format!("{base}/annotations"), None)
        .await;
    assert_error(status, &error, StatusCode::FORBIDDEN, "forbidden");
    let stranger = console.other_workspace().await;
    let pair = Some(json!({"question": "q", "answer": "a"}));
    for (method, uri, body) in [
        ("GET", format!("{base}/annotations"), None),
        ("POST", format!("{base}/annotations"), pair.clone()),
        (
            "POST",
            format!("{base}/annotations/{annotation_id}"),
            pair.clone(),
        ),
        ("DELETE", format!("{base}/annotations/{annotation_id}"), None),
        ("GET", hits_uri.clone(), None),
        ("GET", format!("{base}/annotation-setting"), None),
        (
            "POST",
            format!("{base}/annotation-reply/disable"),
            Some(reply_settings(0.9)),
        ),
        ("GET", format!("{base}/chat-conversations"), None),
        (
            "GET",
            format!("{base}/chat-conversations/{conversation_id}"),
            None,
        ),
        (
            "GET",
            format!("{base}/chat-messages?conversation_id={conversation_id}"),
            None,
        ),
    ] {
        let (status, error) = stranger.call(&console, method, &uri, body).await;
        assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    }
    let (_, still) = owner
        .call(&console, "GET", &format!("{base}/annotation-setting"), None)
        .await;
    assert_eq!(still["enabled"], true, "{still}");

    // The owner's update and delete.
    let (status, updated) = owner
        .call(
            &console,
            "POST",
            &format!("{base}/annotations/{annotation_id}"),
            Some(json!({"question": QUESTION, "answer": "Three minutes."})),
        )
        .await;
    assert_eq!(
        (status, updated["answer"].as_str()),
        (StatusCode::OK, Some("Three minutes.")),
        "{updated}"
    );
    let (status, _) = owner
        .call(
            &console,
            "DELETE",
            &format!("{base}/annotations/{annotation_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = owner.call(&console, "GET", &hits_uri, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_app_key_previews_files_of_its_workspace_only() {
    let apps = AppsApi::new(None).await;
    let key = apps.app("chat", tea_config()).await;
    let boundary = "preview-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nann\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"menu.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nJasmine pearls.\r\n--{boundary}--\r\n"
    );
    let request = Request::builder()
        .method("POST")
        .uri("/v1/files/upload")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let response = apps.api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let file: Value = serde_json::from_slice(&bytes).unwrap();
    let uri = format!("/v1/files/{}/preview", file["id"].as_str().unwrap());

    let inline = apps.send(&key, "GET", &uri, None).await;
    assert_eq!(inline.status, StatusCode::OK);
    assert_eq!(inline.body, "Jasmine pearls.");
    assert!(
        inline.content_type.starts_with("text/plain"),
        "{}",
        inline.content_type
    );
    let request = Request::builder()
        .uri(format!("{uri}?as_attachment=true"))
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    let response = apps.api.app.clone().oneshot(request).await.unwrap();
    let disposition = response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let (status, error) = apps
        .call(&key, "GET", &format!("{uri}?as_attachment=maybe"), None)
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    for missing in [
        "/v1/files/not-a-uuid/preview",
        "/v1/files/6c1f3a52-7d1e-4d7c-9a8e-2f7b1c0d9e11/preview",
    ] {
        let (status, error) = apps.call(&key, "GET", missing, None).await;
        assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    }
    let (status, _) = apps.call("app-wrong", "GET", &uri, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An app of another workspace does not find the file.
    let store = apps.api.engine.store();
    assert!(
        store
            .setup_console("owner@example.com", "Owner", "hash", "en-US")
            .await
            .unwrap()
    );
    let account = store
        .account_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap();
    let other_tenant = store.create_workspace(&account.id, "B").await.unwrap();
    let other_tenant = other_tenant.as_str();
    let other = ragd::apps::manage::create(
        &apps.api.engine,
        other_tenant,
        ragd::apps::manage::AppDraft {
            name: "elsewhere".into(),
            mode: "chat".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let other_key = store
        .issue_api_token(other_tenant, ragd::store::TokenType::App, Some(&other.id), None)
        .await
        .unwrap()
        .expect("no limit")
        .key;
    let (status, error) = apps.call(&other_key, "GET", &uri, None).await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
}

/// `POST .../annotations/batch-import` with these `file` parts.
async fn import(
    console: &Console,
    session: &Session,
    app_id: &str,
    files: &[(&str, &str)],
) -> (StatusCode, Value) {
    let boundary = "import-boundary";
    let mut body = String::new();
    for (name, text) in files {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: text/csv\r\n\r\n{text}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let request = Request::builder()
        .method("POST")
        .uri(format!("/console/api/apps/{app_id}/annotations/batch-import"))
        .header(header::AUTHORIZATION, format!("Bearer {}", session.access_token))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let response = console.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn annotations_are_imported_from_a_csv_file() {
    let stub = OpenAiStub::start().await;
    let console = console_with_stub(&stub).await;
    let owner = console.owner().await;
    let app_id = console_app(&console, &owner, "chat").await;
    let base = format!("/console/api/apps/{app_id}");
    let csv = "question,answer\r\n\"Steep, how long?\",\"Three \"\"short\"\" minutes\"\r\nWhat is oolong?,Half oxidised\r\n,skipped\r\n";

    let (status, job) = import(&console, &owner, &app_id, &[("tea.csv", csv)]).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(
        (job["job_status"].as_str(), job["record_count"].as_i64()),
        (Some("waiting"), Some(2)),
        "{job}"
    );
    let status_uri = format!(
        "{base}/annotations/batch-import-status/{}",
        job["job_id"].as_str().unwrap()
    );
    let done = wait_for_job(|| owner.call(&console, "GET", &status_uri, None)).await;
    assert_eq!(done["job_status"], "completed", "{done}");
    let (_, list) = owner
        .call(&console, "GET", &format!("{base}/annotations"), None)
        .await;
    let mut questions: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["question"].as_str().unwrap())
        .collect();
    questions.sort();
    assert_eq!(questions, ["Steep, how long?", "What is oolong?"], "{list}");
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["answer"] == "Three \"short\" minutes"),
        "{list}"
    );

    for (files, code) in [
        (vec![("tea.txt", csv)], "invalid_param"),
        (vec![("tea.csv", "question,answer\n")], "invalid_param"),
        (vec![("tea.csv", "only one column\nrow\n")], "invalid_param"),
        (vec![], "no_file_uploaded"),
        (vec![("a.csv", csv), ("b.csv", csv)], "too_many_files"),
    ] {
        let (status, error) = import(&console, &owner, &app_id, &files).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, code);
    }
    let stranger = console.other_workspace().await;
    let (status, error) = import(&console, &stranger, &app_id, &[("tea.csv", csv)]).await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    let (status, _) = stranger.call(&console, "GET", &status_uri, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = owner
        .call(&console, "GET", &format!("{base}/annotations"), None)
        .await;
    assert_eq!(list["total"], 2, "nothing else was imported: {list}");
}
