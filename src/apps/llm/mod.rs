//! Language models for apps: an OpenAI-compatible chat-completions client that streams (OpenAI,
//! vLLM, llama.cpp server, Ollama), and the built-in extractive provider that quotes passages
//! when no model is configured, so apps work offline.

pub mod extractive;
pub mod openai;

use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

/// A workspace's OpenAI-compatible chat model, as the console's model settings (or the server's
/// `[llm]` defaults) configure it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSettings {
    /// e.g. `http://127.0.0.1:8000/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// The client that reaches it, under the server's outbound policy.
    pub http: crate::outbound::Outbound,
    pub api_key: Option<String>,
    pub model: String,
    /// Default parameters (temperature, max_tokens, ...); an app's completion_params win.
    pub parameters: Map<String, Value>,
    /// Tokens the model reads and writes at most.
    pub context_window: u32,
}

/// Context window assumed when the provider does not say.
pub const DEFAULT_CONTEXT_WINDOW: u32 = 4096;

/// One chat message sent to the model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    pub content: String,
}

/// What the model is asked.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    /// Sampling parameters passed through (temperature, top_p, max_tokens, stop, ...).
    pub parameters: Map<String, Value>,
}

/// Tokens counted by the provider (or estimated when it does not report them).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Seconds from the request to the last token.
    pub latency: f64,
    /// Seconds from the request to the first token.
    pub time_to_first_token: Option<f64>,
}

/// A finished (or stopped) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub usage: Usage,
}

/// Why the model gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The provider refused the credentials (401/403).
    #[error("the model provider refused the credentials: {0}")]
    Auth(String),
    /// The provider refused the request itself (other 4xx).
    #[error("the model provider refused the request: {0}")]
    Rejected(String),
    /// Too many requests, still after retrying.
    #[error("the model provider is rate limiting requests: {0}")]
    RateLimited(String),
    /// The provider's URL reaches an address the server does not connect to (`outbound`).
    #[error("the model provider's address is not allowed: {0}")]
    Blocked(String),
    /// Unreachable, failing (5xx), too slow or answering nonsense, still after retrying.
    #[error("the model provider is unavailable: {0}")]
    Unavailable(String),
}

/// Retries of a request that failed before its first token.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: u32,
    /// The wait before the first retry; each later wait doubles.
    pub backoff: Duration,
    /// The longest wait, also for a provider's `Retry-After`.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            backoff: Duration::from_millis(400),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based), or the provider's ask when it is sooner
    /// than the cap.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let doubled = self.backoff.saturating_mul(1u32 << attempt.min(16));
        retry_after.unwrap_or(doubled).min(self.max_backoff)
    }
}

/// The model that answers an app: a configured provider, or the extractive fallback.
#[derive(Debug, Clone)]
pub enum Provider {
    OpenAi(ProviderSettings),
    Extractive,
}

impl Provider {
    /// Dify's `model_provider` and model name of the answers this provider gives.
    pub fn names(&self, requested_model: &str) -> (String, String) {
        match self {
            Provider::OpenAi(settings) => (
                "openai_api_compatible".to_string(),
                if requested_model.is_empty() {
                    settings.model.clone()
                } else {
                    requested_model.to_string()
                },
            ),
            Provider::Extractive => ("ragd".to_string(), extractive::MODEL.to_string()),
        }
    }

    /// Tokens the model reads and writes at most.
    pub fn context_window(&self) -> u32 {
        match self {
            Provider::OpenAi(settings) => settings.context_window,
            Provider::Extractive => DEFAULT_CONTEXT_WINDOW,
        }
    }
}

/// Rough token count for budgeting prompts: the provider's tokenizer is unknown here, and about
/// four characters per token holds for English text with common tokenizers.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Sends each piece of the answer to `tokens` as it arrives; ends early (with what it has) when
/// `stop` is set. The answer is complete only when this returns Ok.
pub type TokenSink = mpsc::Sender<String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            retries: 5,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
        };
        assert_eq!(policy.wait(0, None), Duration::from_millis(100));
        assert_eq!(policy.wait(2, None), Duration::from_millis(400));
        assert_eq!(policy.wait(3, None), Duration::from_millis(500));
        assert_eq!(
            policy.wait(0, Some(Duration::from_secs(60))),
            Duration::from_millis(500)
        );
        assert_eq!(
            policy.wait(3, Some(Duration::from_millis(10))),
            Duration::from_millis(10)
        );
    }
}
