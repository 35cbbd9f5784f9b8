//! A local OpenAI-compatible chat-completions server for tests: it records every request body,
//! streams a deterministic answer in OpenAI's `chat.completion.chunk` SSE format (with a usage
//! chunk), and can be told to fail its first requests with a status.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// Tokens of every answer: the answer is their concatenation.
pub const TOKENS: [&str; 6] = ["Green ", "tea ", "is ", "steamed ", "early", "."];
/// What the stub answers when asked for suggested questions (Dify's prompt for them), wrapped in
/// prose as models do.
pub const SUGGESTIONS: &str =
    "Here you go: [\"What is oolong?\", \"How is matcha made?\", \"Is tea dried?\"]";
/// Prompt and completion tokens the stub reports.
pub const PROMPT_TOKENS: u64 = 123;

#[derive(Default)]
struct Recorded {
    requests: Vec<Value>,
    /// Statuses to answer the next requests with, first first.
    failures: Vec<u16>,
}

/// A running stub; it stops when the test's runtime ends.
#[derive(Clone)]
pub struct OpenAiStub {
    pub base_url: String,
    state: Arc<Mutex<Recorded>>,
}

impl OpenAiStub {
    pub async fn start() -> OpenAiStub {
        let state = Arc::new(Mutex::new(Recorded::default()));
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        OpenAiStub {
            base_url: format!("http://{address}/v1"),
            state,
        }
    }

    /// The answer every successful request streams.
    pub fn answer() -> String {
        TOKENS.concat()
    }

    /// Bodies of the requests received so far, failed ones included.
    pub fn requests(&self) -> Vec<Value> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Answers the next requests with these statuses, in order, before answering normally.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.state.lock().unwrap().failures = statuses.to_vec();
    }
}

/// The text of all messages of a recorded request, one per line as `role: content`.
pub fn prompt_text(request: &Value) -> String {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m["role"].as_str().unwrap(),
                m["content"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn chat(State(state): State<Arc<Mutex<Recorded>>>, body: String) -> Response {
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let failure = {
        let mut recorded = state.lock().unwrap();
        recorded.requests.push(request.clone());
        (!recorded.failures.is_empty()).then(|| recorded.failures.remove(0))
    };
    if let Some(status) = failure {
        let status = StatusCode::from_u16(status).unwrap();
        return (
            status,
            [(header::RETRY_AFTER, "0")],
            axum::Json(json!({"error": {"message": format!("stub failure {}", status.as_u16()), "type": "server_error"}})),
        )
            .into_response();
    }
    let model = request["model"].as_str().unwrap_or("").to_string();
    let asks_suggestions = prompt_text(&request).contains("three most likely questions");
    let tokens: Vec<&str> = if asks_suggestions {
        vec![SUGGESTIONS]
    } else {
        TOKENS.to_vec()
    };
    let mut stream = String::new();
    for (i, token) in tokens.iter().enumerate() {
        let chunk = json!({
            "id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{"index": 0, "delta": if i == 0 { json!({"role": "assistant", "content": token}) }
                         else { json!({"content": token}) }, "finish_reason": null}],
        });
        stream.push_str(&format!("data: {chunk}\n\n"));
    }
    let last = json!({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": model,
                      "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
    stream.push_str(&format!("data: {last}\n\n"));
    if request["stream_options"]["include_usage"] == true {
        let usage = json!({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": model,
                           "choices": [], "usage": {"prompt_tokens": PROMPT_TOKENS,
                           "completion_tokens": TOKENS.len(), "total_tokens": PROMPT_TOKENS + TOKENS.len() as u64}});
        stream.push_str(&format!("data: {usage}\n\n"));
    }
    stream.push_str("data: [DONE]\n\n");
    ([(header::CONTENT_TYPE, "text/event-stream")], stream).into_response()
}
