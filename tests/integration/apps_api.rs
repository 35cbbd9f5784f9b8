//! Chat and completion apps through the service API (`/v1/chat-messages`, ...) against the real
//! router, model and index, with a local OpenAI-compatible stub as the language model.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ragd::apps::manage::{self, AppDraft};
use ragd::store::DEFAULT_TENANT;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::knowledge_api::{Api, assert_error};
use crate::openai_stub::{OpenAiStub, PROMPT_TOKENS, TOKENS, prompt_text};
use crate::support;

/// An answer as the client receives it.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The SSE events: each `data:` frame parsed, a ping as `{"event": "ping"}`.
    pub fn events(&self) -> Vec<Value> {
        assert!(self.body.ends_with("\n\n"), "{:?}", self.body);
        self.body
            .split_terminator("\n\n")
            .map(|frame| match frame {
                "event: ping" => json!({"event": "ping"}),
                data => serde_json::from_str(data.strip_prefix("data: ").expect("a data frame"))
                    .unwrap_or_else(|e| panic!("{e}: {data}")),
            })
            .collect()
    }
}

/// A knowledge base about tea, and apps over it.
pub(crate) struct AppsApi {
    pub api: Api,
    pub dataset_id: String,
}

impl AppsApi {
    /// An API whose workspace asks `llm` (None: no model, the extractive provider answers).
    pub async fn new(llm: Option<&OpenAiStub>) -> AppsApi {
        let base_url = llm.map(|stub| stub.base_url.clone());
        let api = Api::with_config(move |config| {
            // The stub listens on loopback, which only an operator's allow-list opens.
            config.security.outbound_allow = vec!["127.0.0.1".parse().unwrap()];
            if let Some(base_url) = base_url {
                config.llm.base_url = Some(base_url);
                config.llm.model = Some("stub-model".into());
            }
        })
        .await;
        api.start_workers();
        let dataset_id = api.create_dataset("tea").await;
        let tea = std::fs::read_to_string(support::repo_path("datasets/demo/tea.txt")).unwrap();
        let (status, created) = api
            .call(
                "POST",
                &format!("/v1/datasets/{dataset_id}/document/create_by_text"),
                Some(
                    json!({"name": "tea.txt", "text": tea, "indexing_technique": "high_quality",
                            "process_rule": {"mode": "automatic"}}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let items = api
            .wait_until_indexed(&dataset_id, created["batch"].as_str().unwrap())
            .await;
        assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
        AppsApi { api, dataset_id }
    }

    /// Creates an app bound to the tea dataset (as the console and `ragd app create` do) and a
    /// key for it.
    pub async fn app(&self, mode: &str, config: Value) -> String {
        let mut config = config;
        config["dataset_configs"] = json!({
            "top_k": 3, "reranking_enabled": false,
            "datasets": {"datasets": [{"dataset": {"enabled": true, "id": self.dataset_id}}]},
        });
        let app = manage::create(
            &self.api.engine,
            DEFAULT_TENANT,
            AppDraft {
                name: format!("{mode} app"),
                mode: mode.into(),
                model_config: Some(config),
                ..AppDraft::default()
            },
        )
        .await
        .unwrap();
        self.api
            .engine
            .store()
            .issue_api_token(DEFAULT_TENANT, ragd::store::TokenType::App, Some(&app.id), None)
            .await
            .unwrap()
            .expect("no limit")
            .key
    }

    pub async fn send(&self, key: &str, method: &str, uri: &str, body: Option<Value>) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {key}"));
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .api
            .app
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        Answer {
            status,
            content_type,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    /// User `ann` asks a chat app how green tea is made (blocking).
    pub async fn ask_ann(&self, key: &str) -> (StatusCode, Value) {
        let question = json!({"query": "How is green tea made?", "inputs": {"audience": "x"}, "user": "ann"});
        self.call(key, "POST", "/v1/chat-messages", Some(question)).await
    }

    pub async fn call(&self, key: &str, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let answer = self.send(key, method, uri, body).await;
        (answer.status, answer.json())
    }
}

/// The tea app's config: instructions with a variable from its input form.
pub(crate) fn tea_config() -> Value {
    json!({
        "model": {"provider": "openai_api_compatible", "name": "tea-model", "mode": "chat",
                  "completion_params": {"temperature": 0.1, "max_tokens": 256}},
        "pre_prompt": "You explain tea to {{audience}}.",
        "user_input_form": [{"text-input": {"label": "Audience", "variable": "audience", "required": true, "max_length": 48}}],
        "opening_statement": "Ask me about tea, {{audience}}.",
        "suggested_questions": ["How is green tea made?"],
        "retriever_resource": {"enabled": true},
    })
}

/// Every field of a `retriever_resources` item of message_end or a blocking answer (API.md B).
const RESOURCE_FIELDS: [&str; 19] = [
    "position",
    "dataset_id",
    "dataset_name",
    "document_id",
    "document_name",
    "data_source_type",
    "segment_id",
    "retriever_from",
    "score",
    "hit_count",
    "word_count",
    "segment_position",
    "index_node_hash",
    "content",
    "page",
    "doc_metadata",
    "title",
    "files",
    "summary",
];

fn assert_resources(resources: &Value, dataset_id: &str) {
    let items = resources.as_array().expect("retriever_resources");
    assert!(!items.is_empty(), "the answer cites chunks");
    for (i, item) in items.iter().enumerate() {
        for field in RESOURCE_FIELDS {
            assert!(item.get(field).is_some(), "{field} missing from {item}");
        }
        assert_eq!(item["position"], i + 1);
        assert_eq!(item["dataset_id"], dataset_id);
        assert_eq!(item["dataset_name"], "tea");
        assert_eq!(item["document_name"], "tea.txt");
        assert_eq!(
            item["retriever_from"], "api",
            "citations through the service API say so, as in Dify"
        );
        assert!(item["score"].as_f64().is_some());
        assert!(item["hit_count"].as_i64().unwrap() >= 1);
        assert!(item["word_count"].as_i64().unwrap() > 0);
        assert!(item["segment_position"].as_i64().unwrap() >= 1);
        assert_eq!(item["index_node_hash"].as_str().unwrap().len(), 64);
        assert!(!item["content"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn chat_answers_from_knowledge_blocking_and_streaming_with_memory() {
    let stub = OpenAiStub::start().await;
    let apps = AppsApi::new(Some(&stub)).await;
    let key = apps.app("chat", tea_config()).await;

    let (status, body) = apps
        .call(
            &key,
            "POST",
            "/v1/chat-messages",
            Some(
                json!({"query": "How is green tea made?", "inputs": {"audience": "beginners"},
                        "response_mode": "blocking", "user": "ann"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["event"], "message");
    assert_eq!(body["mode"], "chat");
    assert_eq!(body["answer"], OpenAiStub::answer());
    assert_eq!(body["id"], body["message_id"]);
    let conversation_id = body["conversation_id"].as_str().unwrap().to_string();
    assert!(
        body["task_id"].is_string() && body["created_at"].is_i64(),
        "{body}"
    );
    let usage = &body["metadata"]["usage"];
    assert_eq!(usage["prompt_tokens"], PROMPT_TOKENS);
    assert_eq!(usage["completion_tokens"], TOKENS.len());
    assert_eq!(usage["total_tokens"], PROMPT_TOKENS + TOKENS.len() as u64);
    assert!(usage["latency"].as_f64().unwrap() >= 0.0);
    let resources = &body["metadata"]["retriever_resources"];
    assert_resources(resources, &apps.dataset_id);

    // What reached the model: the variable filled in, the retrieved chunks, the question, and the
    // app's model and parameters.
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    let first = &requests[0];
    assert_eq!(first["model"], "tea-model");
    assert_eq!(first["temperature"], 0.1);
    assert_eq!(first["stream"], true);
    let prompt = prompt_text(first);
    assert!(prompt.contains("You explain tea to beginners."), "{prompt}");
    for item in resources.as_array().unwrap() {
        assert!(
            prompt.contains(item["content"].as_str().unwrap().trim()),
            "chunk not in {prompt}"
        );
    }
    assert!(prompt.ends_with("user: How is green tea made?"), "{prompt}");

    // The second turn, streamed: the history reaches the model, the events parse back to the
    // same answer, and the conversation keeps its inputs.
    let answer = apps
        .send(
            &key,
            "POST",
            "/v1/chat-messages",
            Some(
                json!({"query": "And what about black tea?", "inputs": {}, "response_mode": "streaming",
                        "user": "ann", "conversation_id": conversation_id}),
            ),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.content_type.starts_with("text/event-stream"),
        "{}",
        answer.content_type
    );
    let events = answer.events();
    let (last, pieces) = events.split_last().unwrap();
    assert_eq!(last["event"], "message_end", "{last}");
    let streamed: String = pieces
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| e["answer"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, OpenAiStub::answer());
    for event in &events {
        assert_eq!(event["conversation_id"], conversation_id.as_str(), "{event}");
        assert_eq!(event["message_id"], last["message_id"], "{event}");
        assert_eq!(event["task_id"], last["task_id"], "{event}");
        assert!(event["created_at"].is_i64(), "{event}");
    }
    assert_eq!(last["metadata"]["usage"]["completion_tokens"], TOKENS.len());
    assert_resources(&last["metadata"]["retriever_resources"], &apps.dataset_id);
    let second = prompt_text(&stub.requests()[1]);
    assert!(second.contains("You explain tea to beginners."), "{second}");
    assert!(
        second.contains(&format!(
            "user: How is green tea made?\nassistant: {}\nuser: And what about black tea?",
            OpenAiStub::answer()
        )),
        "{second}"
    );

    // The conversation and its history, with citations and feedback.
    let (status, list) = apps.call(&key, "GET", "/v1/conversations?user=ann", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["data"][0]["id"], conversation_id.as_str());
    assert_eq!(list["data"][0]["inputs"]["audience"], "beginners");
    assert_eq!(list["data"][0]["introduction"], "Ask me about tea, beginners.");
    assert_eq!(list["has_more"], false);
    let (_, other) = apps.call(&key, "GET", "/v1/conversations?user=bob", None).await;
    assert_eq!(other["data"], json!([]), "conversations are the user's own");

    let uri = format!("/v1/messages?conversation_id={conversation_id}&user=ann");
    let (status, history) = apps.call(&key, "GET", &uri, None).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let messages = history["data"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["query"], "How is green tea made?");
    assert_eq!(messages[1]["query"], "And what about black tea?");
    assert_eq!(messages[1]["parent_message_id"], messages[0]["id"]);
    assert_eq!(messages[0]["answer"], OpenAiStub::answer());
    assert_eq!(messages[0]["feedback"], Value::Null);
    let cited = messages[0]["retriever_resources"].as_array().unwrap();
    assert_eq!(cited.len(), resources.as_array().unwrap().len());
    for field in [
        "id",
        "message_id",
        "position",
        "segment_id",
        "score",
        "content",
        "created_at",
    ] {
        assert!(cited[0].get(field).is_some(), "{field}");
    }
    assert_eq!(cited[0]["message_id"], messages[0]["id"]);

    let message_id = messages[0]["id"].as_str().unwrap();
    let (status, body) = apps
        .call(
            &key,
            "POST",
            &format!("/v1/messages/{message_id}/feedbacks"),
            Some(json!({"rating": "like", "user": "ann", "content": "clear"})),
        )
        .await;
    assert_eq!(
        (status, body["result"].as_str()),
        (StatusCode::OK, Some("success"))
    );
    let (status, body) = apps
        .call(
            &key,
            "POST",
            &format!("/v1/messages/{message_id}/feedbacks"),
            Some(json!({"rating": "like", "user": "bob"})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (_, history) = apps.call(&key, "GET", &uri, None).await;
    assert_eq!(history["data"][0]["feedback"], json!({"rating": "like"}));
    let (_, feedbacks) = apps.call(&key, "GET", "/v1/app/feedbacks", None).await;
    assert_eq!(feedbacks["data"].as_array().unwrap().len(), 1, "{feedbacks}");
    assert_eq!(feedbacks["data"][0]["rating"], "like");
    assert_eq!(feedbacks["data"][0]["content"], "clear");

    // Rename, then delete with a JSON body.
    let (status, renamed) = apps
        .call(
            &key,
            "POST",
            &format!("/v1/conversations/{conversation_id}/name"),
            Some(json!({"name": "Tea basics", "user": "ann"})),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (StatusCode::OK, Some("Tea basics"))
    );
    let answer = apps
        .send(
            &key,
            "DELETE",
            &format!("/v1/conversations/{conversation_id}"),
            Some(json!({"user": "ann"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(answer.body.is_empty());
    let (status, body) = apps.call(&key, "GET", &uri, None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["message"], "Conversation Not Exists.");
}

#[tokio::test]
async fn completion_apps_answer_blocking_and_streaming_alike() {
    let stub = OpenAiStub::start().await;
    let apps = AppsApi::new(Some(&stub)).await;
    let mut config = tea_config();
    config["pre_prompt"] = json!("Write one line about {{topic}} for {{audience}}.");
    config["user_input_form"] = json!([
        {"text-input": {"label": "Audience", "variable": "audience", "required": true}},
        {"select": {"label": "Topic", "variable": "topic", "required": true, "options": ["green tea", "black tea"]}},
    ]);
    config["dataset_query_variable"] = json!("topic");
    let key = apps.app("completion", config).await;
    let body = json!({"inputs": {"audience": "chefs", "topic": "green tea"}, "user": "ann"});

    let (status, blocking) = apps
        .call(&key, "POST", "/v1/completion-messages", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{blocking}");
    assert_eq!(blocking["mode"], "completion");
    assert_eq!(blocking["answer"], OpenAiStub::answer());
    assert!(blocking.get("conversation_id").is_none(), "{blocking}");
    assert_resources(&blocking["metadata"]["retriever_resources"], &apps.dataset_id);
    let prompt = prompt_text(&stub.requests()[0]);
    assert!(
        prompt.contains("user: Write one line about green tea for chefs."),
        "{prompt}"
    );

    let mut streaming = body.clone();
    streaming["response_mode"] = json!("streaming");
    let answer = apps
        .send(&key, "POST", "/v1/completion-messages", Some(streaming))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let events = answer.events();
    let streamed: String = events
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| e["answer"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, blocking["answer"].as_str().unwrap());
    let end = events.last().unwrap();
    assert_eq!(end["event"], "message_end");
    let segments = |resources: &Value| {
        resources
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["segment_id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        segments(&end["metadata"]["retriever_resources"]),
        segments(&blocking["metadata"]["retriever_resources"]),
        "the same chunks are cited"
    );

    // A select outside its options, and a chat route with a completion key.
    let (status, error) = apps
        .call(
            &key,
            "POST",
            "/v1/completion-messages",
            Some(json!({"inputs": {"audience": "chefs", "topic": "coffee"}, "user": "ann"})),
        )
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, error) = apps
        .call(
            &key,
            "POST",
            "/v1/chat-messages",
            Some(json!({"query": "hi", "inputs": {}, "user": "ann"})),
        )
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "not_chat_app");
    let (status, error) = apps.call(&key, "GET", "/v1/conversations?user=ann", None).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "not_chat_app");
}

#[tokio::test]
async fn bad_requests_are_refused_and_store_nothing() {
    let stub = OpenAiStub::start().await;
    let apps = AppsApi::new(Some(&stub)).await;
    let key = apps.app("chat", tea_config()).await;
    let ask = |body: Value| apps.call(&key, "POST", "/v1/chat-messages", Some(body));

    let (status, error) = ask(json!({"query": "hi", "inputs": {"audience": "x"}})).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(error["message"], "Arg user must be provided.");
    let (status, error) = ask(json!({"query": "hi", "inputs": {"audience": "x"}, "user": ""})).await;
    assert_eq!(error["message"], "Arg user must be provided.", "{status}");

    let (status, error) = ask(json!({"query": "hi", "inputs": {"audience": "x"}, "user": "ann",
                                     "conversation_id": "6c1f3a52-7d1e-4d7c-9a8e-2f7b1c0d9e11"}))
    .await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(error["message"], "Conversation Not Exists.");
    let (status, error) = ask(json!({"query": "hi", "inputs": {"audience": "x"}, "user": "ann",
                                     "conversation_id": "not-a-uuid"}))
    .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");

    let (status, error) = ask(json!({"query": "hi", "inputs": {}, "user": "ann"})).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(error["message"], "audience is required in input form");
    let (status, error) = ask(json!({"query": "hi", "user": "ann"})).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, error) = ask(json!({"query": "hi", "inputs": {"audience": "x"}, "user": "ann",
                                     "response_mode": "sometimes"}))
    .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");

    let (status, error) = apps
        .call(
            &key,
            "POST",
            "/v1/completion-messages",
            Some(json!({"inputs": {"audience": "x"}, "user": "ann"})),
        )
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "not_completion_app");
    let (status, error) = apps
        .call(
            "app-wrong",
            "POST",
            "/v1/chat-messages",
            Some(json!({"query": "hi"})),
        )
        .await;
    assert_error(status, &error, StatusCode::UNAUTHORIZED, "unauthorized");
    // A dataset key is not an app key.
    let (status, _) = apps.call(&apps.api.key, "GET", "/v1/parameters", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    assert!(stub.requests().is_empty(), "no refused request reached the model");
    let (_, list) = apps.call(&key, "GET", "/v1/conversations?user=ann", None).await;
    assert_eq!(list["data"], json!([]), "{list}");
}

#[tokio::test]
async fn provider_failures_are_retried_or_reported_and_nothing_is_half_saved() {
    let stub = OpenAiStub::start().await;
    let apps = AppsApi::new(Some(&stub)).await;
    let key = apps.app("chat", tea_config()).await;
    let question = json!({"query": "How is green tea made?", "inputs": {"audience": "x"}, "user": "ann"});

    // 429 and 503 are retried; the third attempt answers.
    stub.fail_next(&[429, 503]);
    let (status, body) = apps
        .call(&key, "POST", "/v1/chat-messages", Some(question.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["answer"], OpenAiStub::answer());
    assert_eq!(stub.requests().len(), 3);

    // Refused credentials are not retried, and say so.
    stub.fail_next(&[401]);
    let (status, error) = apps
        .call(&key, "POST", "/v1/chat-messages", Some(question.clone()))
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "provider_not_initialize");
    assert_eq!(stub.requests().len(), 4);

    // Failing on every attempt: a clear error when blocking, an error event when streaming.
    stub.fail_next(&[500, 500, 500, 500]);
    let (status, error) = apps
        .call(&key, "POST", "/v1/chat-messages", Some(question.clone()))
        .await;
    assert_error(
        status,
        &error,
        StatusCode::BAD_REQUEST,
        "completion_request_error",
    );
    assert!(
        error["message"].as_str().unwrap().contains("unavailable"),
        "{error}"
    );
    assert_eq!(stub.requests().len(), 8, "the first try and three retries");
    stub.fail_next(&[503, 503, 503, 503]);
    let mut streaming = question.clone();
    streaming["response_mode"] = json!("streaming");
    let answer = apps
        .send(&key, "POST", "/v1/chat-messages", Some(streaming))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let events = answer.events();
    let error = events.last().unwrap();
    assert_eq!(error["event"], "error", "{events:?}");
    assert_eq!(error["code"], "completion_request_error");
    assert_eq!(error["status"], 400);
    assert!(
        error["message_id"].is_string() && error["conversation_id"].is_string(),
        "{error}"
    );

    // Only the answered question left a conversation behind.
    let (_, list) = apps.call(&key, "GET", "/v1/conversations?user=ann", None).await;
    let conversations = list["data"].as_array().unwrap();
    assert_eq!(conversations.len(), 1, "{list}");
    let uri = format!(
        "/v1/messages?conversation_id={}&user=ann",
        conversations[0]["id"].as_str().unwrap()
    );
    let (_, history) = apps.call(&key, "GET", &uri, None).await;
    assert_eq!(history["data"].as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history["data"][0]["answer"], OpenAiStub::answer());
}

#[tokio::test]
async fn an_unreachable_provider_is_an_error_not_an_answer() {
    // A port with nothing listening.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut stub = OpenAiStub::start().await;
    stub.base_url = format!("http://127.0.0.1:{port}/v1");
    let apps = AppsApi::new(Some(&stub)).await;
    let key = apps.app("chat", tea_config()).await;
    let (status, error) = apps
        .call(
            &key,
            "POST",
            "/v1/chat-messages",
            Some(json!({"query": "How is green tea made?", "inputs": {"audience": "x"}, "user": "ann"})),
        )
        .await;
    assert_error(
        status,
        &error,
        StatusCode::BAD_REQUEST,
        "completion_request_error",
    );
    assert!(
        error["message"].as_str().unwrap().contains("cannot reach"),
        "{error}"
    );
    let (_, list) = apps.call(&key, "GET", "/v1/conversations?user=ann", None).await;
    assert_eq!(list["data"], json!([]), "{list}");
}

#[tokio::test]
async fn without_a_model_apps_quote_their_knowledge() {
    let apps = AppsApi::new(None).await;
    let key = apps.app("chat", tea_config()).await;
    let (status, body) = apps.ask_ann(&key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer = body["answer"].as_str().unwrap();
    assert!(answer.starts_with("No language model is configured"), "{answer}");
    let resources = &body["metadata"]["retriever_resources"];
    assert_resources(resources, &apps.dataset_id);
    let best: String = resources[0]["content"]
        .as_str()
        .unwrap()
        .trim()
        .chars()
        .take(100)
        .collect();
    assert!(answer.contains(&best), "the best passage is quoted: {answer}");

    let (status, parameters) = apps.call(&key, "GET", "/v1/parameters", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(parameters["opening_statement"], "Ask me about tea, {{audience}}.");
    assert_eq!(
        parameters["suggested_questions"],
        json!(["How is green tea made?"])
    );
    assert_eq!(
        parameters["user_input_form"][0]["text-input"]["variable"],
        "audience"
    );
    assert_eq!(parameters["retriever_resource"], json!({"enabled": true}));
    let (_, info) = apps.call(&key, "GET", "/v1/info", None).await;
    assert_eq!(
        (info["name"].as_str(), info["mode"].as_str()),
        (Some("chat app"), Some("chat"))
    );
    let (_, meta) = apps.call(&key, "GET", "/v1/meta", None).await;
    assert_eq!(meta, json!({"tool_icons": {}}));
    let (_, site) = apps.call(&key, "GET", "/v1/site", None).await;
    assert_eq!(site["title"], "chat app");
}

#[tokio::test]
async fn suggested_questions_come_from_the_conversation_when_enabled() {
    let stub = OpenAiStub::start().await;
    let apps = AppsApi::new(Some(&stub)).await;
    let mut config = tea_config();
    config["suggested_questions_after_answer"] = json!({"enabled": true});
    let key = apps.app("chat", config).await;
    let (status, body) = apps.ask_ann(&key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let message_id = body["message_id"].as_str().unwrap().to_string();
    let uri = format!("/v1/messages/{message_id}/suggested?user=ann");
    let (status, suggested) = apps.call(&key, "GET", &uri, None).await;
    assert_eq!(status, StatusCode::OK, "{suggested}");
    assert_eq!(
        suggested,
        json!({"result": "success", "data": ["What is oolong?", "How is matcha made?", "Is tea dried?"]})
    );
    // The model saw the conversation's turn.
    let asked = prompt_text(stub.requests().last().unwrap());
    assert!(
        asked.contains("Human: How is green tea made?") && asked.contains(&OpenAiStub::answer()),
        "{asked}"
    );

    // Another user's message, an unknown one, and a missing user.
    let (status, error) = apps
        .call(
            &key,
            "GET",
            &format!("/v1/messages/{message_id}/suggested?user=bob"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let unknown = uuid::Uuid::new_v4();
    let (status, _) = apps
        .call(
            &key,
            "GET",
            &format!("/v1/messages/{unknown}/suggested?user=ann"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = apps
        .call(&key, "GET", &format!("/v1/messages/{message_id}/suggested"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");

    // Switched off: refused, and the model is not asked.
    let off = apps.app("chat", tea_config()).await;
    let (_, body) = apps.ask_ann(&off).await;
    let asked_before = stub.requests().len();
    let uri = format!(
        "/v1/messages/{}/suggested?user=ann",
        body["message_id"].as_str().unwrap()
    );
    let (status, error) = apps.call(&off, "GET", &uri, None).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request")),
        "{error}"
    );
    assert_eq!(stub.requests().len(), asked_before);

    // A completion app has no conversation to continue.
    let completion = apps.app("completion", tea_config()).await;
    let (status, error) = apps.call(&completion, "GET", &uri, None).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("not_chat_app")),
        "{error}"
    );
}

#[tokio::test]
async fn attached_documents_reach_the_model() {
    let stub = OpenAiStub::start().await;
    let apps = AppsApi::new(Some(&stub)).await;
    let key = apps.app("chat", tea_config()).await;
    let boundary = "apps-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nann\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"menu.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nToday's special: jasmine pearls brewed at 80 degrees.\r\n--{boundary}--\r\n"
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
    assert_eq!(
        (file["name"].as_str(), file["extension"].as_str()),
        (Some("menu.txt"), Some("txt"))
    );

    let (status, body) = apps
        .call(
            &key,
            "POST",
            "/v1/chat-messages",
            Some(json!({"query": "What is the special?", "inputs": {"audience": "x"}, "user": "ann",
                        "files": [{"type": "document", "transfer_method": "local_file", "upload_file_id": file["id"]}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let prompt = prompt_text(&stub.requests()[0]);
    assert!(prompt.contains("jasmine pearls brewed at 80 degrees"), "{prompt}");
    let uri = format!(
        "/v1/messages?conversation_id={}&user=ann",
        body["conversation_id"].as_str().unwrap()
    );
    let (_, history) = apps.call(&key, "GET", &uri, None).await;
    assert_eq!(history["data"][0]["message_files"][0]["id"], file["id"]);

    let (status, error) = apps
        .call(
            &key,
            "POST",
            "/v1/chat-messages",
            Some(json!({"query": "?", "inputs": {"audience": "x"}, "user": "ann",
                        "files": [{"type": "image", "transfer_method": "remote_url", "url": "http://example.com/a.png"}]})),
        )
        .await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_param");
}
