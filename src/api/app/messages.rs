//! `POST /chat-messages`, `/completion-messages` (blocking or streamed as Dify frames them) and
//! their `/{task_id}/stop`.
//!
//! The stream is `data: {json}\n\n` per event, with a bare `event: ping\n\n` every 10 s while it
//! runs (`base_app_generator.py::convert_to_event_stream`); it ends after `message_end` or `error`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::{AppKey, app_config, provider, require_mode, required_user};
use crate::api::extract::ApiJson;
use crate::api::{ApiError, AppState};
use crate::apps::generate::resolve_attachments;
use crate::apps::llm::RetryPolicy;
use crate::apps::{AppMode, Generation, GenerationEvent, GenerationRequest, Outcome, tasks};

/// Time between keep-alive pings of a stream.
const PING_INTERVAL: Duration = Duration::from_secs(10);

pub async fn chat(
    State(state): State<AppState>,
    key: AppKey,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    generate(state, key, body, AppMode::Chat, SERVICE_API).await
}

pub async fn completion(
    State(state): State<AppState>,
    key: AppKey,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    generate(state, key, body, AppMode::Completion, SERVICE_API).await
}

/// Dify's `retriever_from` of citations given through the service API (`InvokeFrom.to_source`).
const SERVICE_API: &str = "api";

/// Whether the caller wants the answer streamed.
fn streaming(body: &Value) -> Result<bool, ApiError> {
    match &body["response_mode"] {
        Value::Null => Ok(false),
        Value::String(mode) if mode == "blocking" => Ok(false),
        Value::String(mode) if mode == "streaming" => Ok(true),
        other => Err(ApiError::invalid(format!(
            "response_mode must be blocking or streaming, not {other}"
        ))),
    }
}

/// Answers one request for `key`'s app: the service API's routes, and the console's debug
/// routes (which act as the signed-in account). `retriever_from` says which of them asks, as
/// Dify marks citations (`api`, `dev`); it is not the client's to choose.
pub(crate) async fn generate(
    state: AppState,
    key: AppKey,
    body: Value,
    mode: AppMode,
    retriever_from: &str,
) -> Result<Response, ApiError> {
    if !body.is_object() {
        return Err(ApiError::invalid("The request body must be a JSON object."));
    }
    // Dify's order: the user (in the auth decorator), then the app mode, then the payload.
    let end_user = required_user(&state, &key, body.get("user")).await?;
    require_mode(&key, mode)?;
    let inputs: Map<String, Value> = match &body["inputs"] {
        Value::Object(inputs) => inputs.clone(),
        Value::Null => return Err(ApiError::invalid("inputs is required")),
        _ => return Err(ApiError::invalid("inputs must be an object")),
    };
    let query = match &body["query"] {
        Value::String(query) => query.replace('\0', ""),
        Value::Null if mode == AppMode::Completion => String::new(),
        Value::Null => return Err(ApiError::invalid("query is required")),
        _ => return Err(ApiError::invalid("query must be a string")),
    };
    let streamed = streaming(&body)?;
    let conversation_id = match (mode, &body["conversation_id"]) {
        (AppMode::Completion, _) | (AppMode::Chat, Value::Null) => None,
        (AppMode::Chat, Value::String(id)) if id.trim().is_empty() => None,
        (AppMode::Chat, Value::String(id)) => Some(
            uuid::Uuid::parse_str(id.trim())
                .map_err(|_| ApiError::invalid("conversation_id must be a valid UUID"))?
                .to_string(),
        ),
        (AppMode::Chat, _) => return Err(ApiError::invalid("conversation_id must be a valid UUID")),
    };
    let files = match &body["files"] {
        Value::Null => Vec::new(),
        Value::Array(files) => files.clone(),
        _ => return Err(ApiError::invalid("files must be a list")),
    };
    let config = app_config(&key)?;
    let attachments = resolve_attachments(&state.engine, &key.app.tenant_id, &end_user.id, &files).await?;
    let provider = provider(&state, &key.app.tenant_id).await?;
    let external_sources = crate::api::knowledge::external::app_sources(
        &state,
        &key.app.tenant_id,
        &config.datasets.dataset_ids,
    )
    .await?;
    let generation = crate::apps::start(
        state.engine.clone(),
        GenerationRequest {
            tenant_id: key.app.tenant_id.clone(),
            app: key.app.clone(),
            mode,
            config,
            end_user,
            query,
            inputs,
            conversation_id,
            attachments,
            retriever_from: retriever_from.to_string(),
            auto_generate_name: body["auto_generate_name"].as_bool().unwrap_or(true),
            provider,
            retry: RetryPolicy::default(),
            external_sources,
        },
    )
    .await?;
    if streamed {
        Ok(stream(generation))
    } else {
        blocking(generation).await
    }
}

/// Collects the answer and answers once (Dify's blocking response).
async fn blocking(mut generation: Generation) -> Result<Response, ApiError> {
    let mut answer = String::new();
    while let Some(event) = generation.events.recv().await {
        match event {
            GenerationEvent::Answer(piece) => answer.push_str(&piece),
            GenerationEvent::Failed(error) => return Err(error.into()),
            GenerationEvent::End(outcome) => {
                let mut body = json!({
                    "event": "message",
                    "task_id": generation.task_id,
                    "id": generation.message_id,
                    "message_id": generation.message_id,
                    "mode": generation.mode.as_str(),
                    "answer": outcome.answer,
                    "metadata": metadata(&outcome),
                    "created_at": generation.created_at,
                });
                if generation.mode == AppMode::Chat {
                    body["conversation_id"] = json!(generation.conversation_id);
                }
                return Ok(Json(body).into_response());
            }
        }
    }
    Err(ApiError::internal("the generation ended without an answer"))
}

fn metadata(outcome: &Outcome) -> Value {
    let mut metadata = json!({ "usage": outcome.usage });
    if let Some(resources) = &outcome.retriever_resources {
        metadata["retriever_resources"] = json!(resources);
    }
    if let Some(reply) = &outcome.annotation_reply {
        metadata["annotation_reply"] = reply.clone();
    }
    metadata
}

/// The ids every event of one answer carries.
struct Frame {
    task_id: String,
    message_id: String,
    conversation_id: Option<String>,
    created_at: i64,
}

impl Frame {
    fn of(generation: &Generation) -> Self {
        Frame {
            task_id: generation.task_id.clone(),
            message_id: generation.message_id.clone(),
            conversation_id: (generation.mode == AppMode::Chat).then(|| generation.conversation_id.clone()),
            created_at: generation.created_at,
        }
    }

    /// One event as its SSE bytes, and whether it ends the stream.
    fn event(&self, event: GenerationEvent) -> (Bytes, bool) {
        let (mut data, last) = match event {
            GenerationEvent::Answer(piece) => (
                json!({
                    "event": "message", "task_id": self.task_id, "id": self.message_id,
                    "message_id": self.message_id, "answer": piece, "from_variable_selector": null,
                    "created_at": self.created_at,
                }),
                false,
            ),
            GenerationEvent::End(outcome) => (
                json!({
                    "event": "message_end", "task_id": self.task_id, "id": self.message_id,
                    "message_id": self.message_id, "metadata": metadata(&outcome), "files": null,
                    "created_at": self.created_at,
                }),
                true,
            ),
            // Dify's error event carries no task_id (`_error_to_stream_response`).
            GenerationEvent::Failed(error) => {
                let error = ApiError::from(error);
                (
                    json!({
                        "event": "error", "message_id": self.message_id, "created_at": self.created_at,
                        "status": error.code.status().as_u16(), "code": error.code.as_str(),
                        "message": error.message,
                    }),
                    true,
                )
            }
        };
        if let Some(conversation_id) = &self.conversation_id {
            data["conversation_id"] = json!(conversation_id);
        }
        (Bytes::from(format!("data: {data}\n\n")), last)
    }
}

/// Streams the answer as server-sent events, pinging while it is under way.
fn stream(mut generation: Generation) -> Response {
    let frame = Frame::of(&generation);
    let (bytes, receiver) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
        loop {
            let (chunk, last) = tokio::select! {
                event = generation.events.recv() => match event {
                    Some(event) => frame.event(event),
                    None => break,
                },
                _ = ping.tick() => (Bytes::from_static(b"event: ping\n\n"), false),
            };
            // A client that left stops the stream, not the answer: it is still stored.
            if bytes.send(chunk).await.is_err() || last {
                break;
            }
        }
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), receiver))
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

pub async fn stop_chat(
    State(state): State<AppState>,
    key: AppKey,
    Path(task_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    stop(state, key, task_id, body, AppMode::Chat).await
}

pub async fn stop_completion(
    State(state): State<AppState>,
    key: AppKey,
    Path(task_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    stop(state, key, task_id, body, AppMode::Completion).await
}

async fn stop(
    state: AppState,
    key: AppKey,
    task_id: String,
    body: Value,
    mode: AppMode,
) -> Result<Json<Value>, ApiError> {
    let end_user = required_user(&state, &key, body.get("user")).await?;
    require_mode(&key, mode)?;
    tasks::stop(&task_id, &key.app.id, &end_user.id);
    Ok(Json(json!({"result": "success"})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::AppError;

    #[test]
    fn events_are_framed_as_dify_sends_them() {
        let frame = Frame {
            task_id: "t".into(),
            message_id: "m".into(),
            conversation_id: Some("c".into()),
            created_at: 7,
        };
        let (bytes, last) = frame.event(GenerationEvent::Answer("Hi".into()));
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("data: {") && text.ends_with("}\n\n"), "{text}");
        let data: Value = serde_json::from_str(&text[6..]).unwrap();
        assert_eq!(data["event"], "message");
        assert_eq!(data["answer"], "Hi");
        assert_eq!(
            (data["task_id"].as_str(), data["conversation_id"].as_str()),
            (Some("t"), Some("c"))
        );
        assert!(!last);
        let (bytes, last) = frame.event(GenerationEvent::Failed(AppError::Input("bad".into())));
        let data: Value = serde_json::from_str(&std::str::from_utf8(&bytes).unwrap()[6..]).unwrap();
        assert_eq!(data["event"], "error");
        assert_eq!(data["code"], "invalid_param");
        assert_eq!(data["status"], 400);
        assert!(data.get("task_id").is_none());
        assert_eq!(data["conversation_id"], "c");
        assert!(last);
    }
}
