//! OpenAI's chat-completions protocol with streaming: `POST {base_url}/chat/completions` with
//! `stream: true`, answered as server-sent events of `chat.completion.chunk` objects and a final
//! `data: [DONE]`. Requests that fail before the first token are retried with backoff on 429,
//! 5xx and connection errors; once tokens flowed, a failure ends the answer with an error.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{
    ChatRequest, Completion, LlmError, ProviderSettings, RetryPolicy, TokenSink, Usage, estimate_tokens,
};
use crate::outbound::{read_limited, refusal};

/// Time from the request to the response headers (a model may queue the request first).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest silence between two chunks of a streaming answer.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes of a provider's error body read (for the log).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Longest event-stream line read from a provider: a provider that never ends its line is cut
/// off here instead of filling memory.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Longest answer read from a provider (far beyond any `max_tokens` a model honours).
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// Most bytes of one event stream, framing and keep-alives included: a provider that streams
/// forever without answering ends too.
const MAX_STREAM_BYTES: usize = 4 * MAX_ANSWER_BYTES;

/// The URL of the chat-completions endpoint under `base_url`.
pub fn endpoint(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    if base.ends_with("/chat/completions") {
        base.to_string()
    } else {
        format!("{base}/chat/completions")
    }
}

/// The JSON body: the provider's default parameters, the app's over them, then the fixed fields.
fn request_body(settings: &ProviderSettings, request: &ChatRequest) -> Value {
    let mut body = settings.parameters.clone();
    for (key, value) in &request.parameters {
        body.insert(key.clone(), value.clone());
    }
    // Parameters Dify's UI sends that OpenAI-compatible servers do not know.
    body.remove("response_format");
    let model = if request.model.is_empty() {
        settings.model.clone()
    } else {
        request.model.clone()
    };
    body.insert("model".into(), Value::String(model));
    body.insert("messages".into(), json!(request.messages));
    body.insert("stream".into(), Value::Bool(true));
    body.insert("stream_options".into(), json!({"include_usage": true}));
    Value::Object(body)
}

/// Streams an answer to `tokens`, retrying per `retry` until the first token.
pub async fn stream_chat(
    settings: &ProviderSettings,
    request: &ChatRequest,
    retry: RetryPolicy,
    tokens: &TokenSink,
    stop: &CancellationToken,
) -> Result<Completion, LlmError> {
    let url = endpoint(&settings.base_url);
    let body = request_body(settings, request);
    let started = Instant::now();
    let mut attempt = 0;
    let response = loop {
        // The destination is checked on every attempt (its name may resolve elsewhere now).
        let mut call = settings
            .http
            .post(&url)
            .map_err(|e| LlmError::Blocked(e.to_string()))?
            .json(&body);
        if let Some(key) = settings.api_key.as_deref().filter(|k| !k.is_empty()) {
            call = call.bearer_auth(key);
        }
        let outcome = tokio::select! {
            () = stop.cancelled() => return Ok(stopped_before_answer(started)),
            outcome = tokio::time::timeout(RESPONSE_TIMEOUT, call.send()) => outcome,
        };
        let (error, retry_after) = match outcome {
            Err(_) => (
                LlmError::Unavailable(format!("no answer within {}s", RESPONSE_TIMEOUT.as_secs())),
                None,
            ),
            Ok(Err(e)) => {
                if let Some(refused) = refusal(&e) {
                    return Err(LlmError::Blocked(refused.to_string()));
                }
                // How the connection failed stays in the log: passed on, it would let a
                // caller map what the server can reach.
                tracing::warn!(url = %url, error = %crate::outbound::error_chain(&e), "model provider unreachable");
                (
                    LlmError::Unavailable("cannot reach the model provider".into()),
                    None,
                )
            }
            Ok(Ok(response)) if response.status().is_success() => break response,
            Ok(Ok(response)) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body = read_limited(response, MAX_ERROR_BODY).await.unwrap_or_default();
                let detail = provider_message(&url, status, &body);
                match status {
                    401 | 403 => return Err(LlmError::Auth(detail)),
                    429 => (LlmError::RateLimited(detail), retry_after),
                    500..=599 => (LlmError::Unavailable(detail), retry_after),
                    _ => return Err(LlmError::Rejected(detail)),
                }
            }
        };
        if attempt >= retry.retries {
            tracing::warn!(url = %url, attempts = attempt + 1, error = %error, "model request failed");
            return Err(error);
        }
        let wait = retry.wait(attempt, retry_after);
        tracing::info!(url = %url, attempt = attempt + 1, wait_ms = wait.as_millis() as u64, error = %error, "retrying model request");
        attempt += 1;
        tokio::select! {
            () = stop.cancelled() => return Ok(stopped_before_answer(started)),
            () = tokio::time::sleep(wait) => {}
        }
    };
    read_stream(response, request, started, tokens, stop).await
}

fn stopped_before_answer(started: Instant) -> Completion {
    Completion {
        text: String::new(),
        usage: Usage {
            latency: started.elapsed().as_secs_f64(),
            ..Usage::default()
        },
    }
}

/// Reads the event stream of a successful response.
async fn read_stream(
    response: reqwest::Response,
    request: &ChatRequest,
    started: Instant,
    tokens: &TokenSink,
    stop: &CancellationToken,
) -> Result<Completion, LlmError> {
    let mut body = response.bytes_stream();
    let mut pending: Vec<u8> = Vec::new();
    let mut received = 0usize;
    let mut text = String::new();
    let mut reported: Option<(u64, u64)> = None;
    let mut first_token = None;
    let mut done = false;
    while !done {
        let next = tokio::select! {
            () = stop.cancelled() => break,
            next = tokio::time::timeout(IDLE_TIMEOUT, body.next()) => next,
        };
        let chunk = match next {
            Err(_) => {
                return Err(LlmError::Unavailable(format!(
                    "the answer stalled for {}s",
                    IDLE_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(LlmError::Unavailable(format!(
                    "the answer was cut off: {}",
                    crate::outbound::error_chain(&e)
                )));
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        received += chunk.len();
        if received > MAX_STREAM_BYTES {
            return Err(LlmError::Unavailable(format!(
                "the provider's stream exceeded {} MiB and was cut off",
                MAX_STREAM_BYTES >> 20
            )));
        }
        pending.extend_from_slice(&chunk);
        // Lines are read in place and the buffer shifted once per chunk: draining line by line
        // would cost quadratic time on a chunk of many short lines.
        let mut start = 0;
        while let Some(offset) = pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + offset;
            let line = String::from_utf8_lossy(&pending[start..end]);
            start = end + 1;
            match parse_line(line.trim_end_matches(['\r', '\n']))? {
                Line::Skip => {}
                Line::Done => {
                    done = true;
                    break;
                }
                Line::Chunk { content, usage } => {
                    if let Some(usage) = usage {
                        reported = Some(usage);
                    }
                    if let Some(content) = content.filter(|c| !c.is_empty()) {
                        first_token.get_or_insert_with(|| started.elapsed().as_secs_f64());
                        if text.len() + content.len() > MAX_ANSWER_BYTES {
                            return Err(LlmError::Unavailable(format!(
                                "the answer exceeded {} MiB and was cut off",
                                MAX_ANSWER_BYTES >> 20
                            )));
                        }
                        text.push_str(&content);
                        // A closed receiver means the client left; the answer is still finished
                        // and stored.
                        let _ = tokens.send(content).await;
                    }
                }
            }
        }
        pending.drain(..start);
        if pending.len() > MAX_LINE_BYTES {
            return Err(LlmError::Unavailable(format!(
                "the provider sent a line longer than {} MiB",
                MAX_LINE_BYTES >> 20
            )));
        }
    }
    let (prompt_tokens, completion_tokens) = reported.unwrap_or_else(|| {
        let prompt: u64 = request
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content) + 4)
            .sum();
        (prompt, estimate_tokens(&text))
    });
    Ok(Completion {
        text,
        usage: Usage {
            prompt_tokens,
            completion_tokens,
            latency: started.elapsed().as_secs_f64(),
            time_to_first_token: first_token,
        },
    })
}

/// One line of the event stream.
#[derive(Debug, PartialEq)]
enum Line {
    Skip,
    Done,
    Chunk {
        content: Option<String>,
        usage: Option<(u64, u64)>,
    },
}

fn parse_line(line: &str) -> Result<Line, LlmError> {
    let Some(data) = line.strip_prefix("data:") else {
        // Comments, `event:` and `id:` lines, blank separators.
        return Ok(Line::Skip);
    };
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(Line::Done);
    }
    if data.is_empty() {
        return Ok(Line::Skip);
    }
    let chunk: Value = serde_json::from_str(data)
        .map_err(|e| LlmError::Unavailable(format!("the provider sent a malformed chunk: {e}")))?;
    if let Some(error) = chunk.get("error").filter(|e| !e.is_null()) {
        let message = error["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| error.to_string());
        tracing::warn!(error = %message, "the model provider reported an error in its stream");
        return Err(LlmError::Unavailable(
            "the model provider reported an error".into(),
        ));
    }
    let content = chunk["choices"][0]["delta"]["content"]
        .as_str()
        .map(str::to_string);
    let usage = chunk.get("usage").filter(|u| u.is_object()).map(|u| {
        (
            u["prompt_tokens"].as_u64().unwrap_or(0),
            u["completion_tokens"].as_u64().unwrap_or(0),
        )
    });
    Ok(Line::Chunk { content, usage })
}

/// What the caller is told about a provider's error answer: its status. The body (whatever the
/// provider, or whatever answered at that address, sent) is only logged.
fn provider_message(url: &str, status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["error"].as_str())
                .or_else(|| v["message"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| text.chars().take(300).collect());
    tracing::warn!(url = %url, status, body = %message.trim(), "model provider answered an error");
    format!("HTTP {status}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_append_the_chat_path_once() {
        assert_eq!(endpoint("http://h:1/v1"), "http://h:1/v1/chat/completions");
        assert_eq!(endpoint("http://h:1/v1/"), "http://h:1/v1/chat/completions");
        assert_eq!(
            endpoint("http://h:1/v1/chat/completions"),
            "http://h:1/v1/chat/completions"
        );
    }

    #[test]
    fn stream_lines_parse() {
        assert_eq!(parse_line(": keep-alive").unwrap(), Line::Skip);
        assert_eq!(parse_line("data: [DONE]").unwrap(), Line::Done);
        assert_eq!(
            parse_line(r#"data: {"choices":[{"delta":{"content":"Hi"}}]}"#).unwrap(),
            Line::Chunk {
                content: Some("Hi".into()),
                usage: None
            }
        );
        assert_eq!(
            parse_line(r#"data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}"#).unwrap(),
            Line::Chunk {
                content: None,
                usage: Some((7, 2))
            }
        );
        assert!(parse_line(r#"data: {"error":{"message":"overloaded"}}"#).is_err());
        assert!(parse_line("data: {not json").is_err());
    }

    #[test]
    fn app_parameters_override_provider_defaults() {
        let settings = ProviderSettings {
            base_url: "http://h/v1".into(),
            http: crate::outbound::Outbound::new(&[]),
            api_key: None,
            model: "default-model".into(),
            parameters: json!({"temperature": 0.2, "max_tokens": 100})
                .as_object()
                .unwrap()
                .clone(),
            context_window: 4096,
        };
        let request = ChatRequest {
            model: String::new(),
            messages: vec![],
            parameters: json!({"temperature": 0.9, "response_format": "text"})
                .as_object()
                .unwrap()
                .clone(),
        };
        let body = request_body(&settings, &request);
        assert_eq!(body["temperature"], 0.9);
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["model"], "default-model");
        assert_eq!(body["stream"], true);
        assert!(body.get("response_format").is_none());
    }
}
