//! An HTTP rerank provider speaking the common `/rerank` protocol (Jina, Cohere, vLLM, TEI's
//! Cohere-style route): POST `{model, query, documents, top_n}`, answer
//! `{results: [{index, relevance_score}]}`.

use std::time::Duration;

use pipelines::{RerankError, Reranker};
use serde::Deserialize;
use serde_json::json;

use crate::outbound::{Outbound, ReadError, read_limited, refusal};

/// Largest provider answer read, in bytes.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;
/// Characters of a provider's error text kept in the log.
const MAX_ERROR_CHARS: usize = 300;

/// One configured provider model.
pub struct HttpReranker {
    url: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
    outbound: Outbound,
}

#[derive(Deserialize)]
struct Answer {
    results: Vec<Scored>,
}

#[derive(Deserialize)]
struct Scored {
    index: usize,
    #[serde(alias = "score")]
    relevance_score: f32,
}

impl HttpReranker {
    pub fn new(url: &str, model: &str, api_key: Option<&str>, timeout: Duration, outbound: Outbound) -> Self {
        Self {
            url: url.to_string(),
            model: model.to_string(),
            api_key: api_key.map(str::to_string),
            timeout,
            outbound,
        }
    }

    /// A transport failure as the caller sees it: the cause is logged, not passed on (it would
    /// tell a caller how the provider's network looks).
    fn transport_error(&self, error: &reqwest::Error) -> RerankError {
        if error.is_timeout() {
            return RerankError::Timeout(self.timeout.as_secs().max(1));
        }
        let message = match refusal(error) {
            Some(refused) => refused.to_string(),
            None => {
                tracing::warn!(url = %self.url, error = %crate::outbound::error_chain(error), "rerank provider unreachable");
                "the rerank provider cannot be reached".to_string()
            }
        };
        RerankError::Provider {
            status: None,
            message,
        }
    }

    async fn call(&self, body: serde_json::Value) -> Result<(u16, String), RerankError> {
        let mut request = self
            .outbound
            .post(&self.url)
            .map_err(|e| RerankError::Provider {
                status: None,
                message: e.to_string(),
            })?
            .timeout(self.timeout)
            .json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status().as_u16();
        let bytes = read_limited(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::Transport(e) => self.transport_error(&e),
                ReadError::TooLarge(limit) => RerankError::Provider {
                    status: None,
                    message: format!("the answer is larger than {limit} bytes"),
                },
            })?;
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }
}

impl Reranker for HttpReranker {
    fn rerank(&self, query: &str, documents: &[&str]) -> Result<Vec<f32>, RerankError> {
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        let body = json!({
            "model": self.model,
            "query": query,
            "documents": documents,
            "top_n": documents.len(),
            "return_documents": false,
        });
        // Rerankers are called off the async workers (the query compute threads), inside the runtime.
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| RerankError::Provider {
            status: None,
            message: "an HTTP rerank provider is called from within the server's runtime".into(),
        })?;
        let (status, text) = runtime.block_on(self.call(body))?;
        if !(200..300).contains(&status) {
            let detail = error_message(&text);
            tracing::warn!(url = %self.url, status, detail = %detail, "rerank provider refused the request");
            return Err(RerankError::Provider {
                status: Some(status),
                message: format!("the rerank provider answered HTTP {status}"),
            });
        }
        scores(&text, documents.len())
    }
}

/// The provider's error text for the log: the `message`/`detail`/`error` field of a JSON body,
/// else the body, cut short.
fn error_message(body: &str) -> String {
    let value: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = value.as_ref().and_then(|v| {
        ["message", "detail", "error"]
            .iter()
            .find_map(|key| v.get(*key))
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
    });
    let text = field.unwrap_or_else(|| body.trim().to_string());
    let text = if text.is_empty() {
        "no detail".to_string()
    } else {
        text
    };
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// Scores in input order from a provider answer; documents the provider left out score 0.
fn scores(body: &str, documents: usize) -> Result<Vec<f32>, RerankError> {
    let invalid = |detail: String| RerankError::Provider {
        status: None,
        message: format!("invalid answer: {detail}"),
    };
    let answer: Answer = serde_json::from_str(body).map_err(|e| invalid(e.to_string()))?;
    let mut scores = vec![0.0; documents];
    for scored in answer.results {
        let slot = scores
            .get_mut(scored.index)
            .ok_or_else(|| invalid(format!("index {} of {documents} documents", scored.index)))?;
        if !scored.relevance_score.is_finite() {
            return Err(invalid(format!(
                "score {} is not a number",
                scored.relevance_score
            )));
        }
        *slot = scored.relevance_score;
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn providers_on_internal_addresses_are_refused_unless_allowed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/rerank", listener.local_addr().unwrap());
        let strict = HttpReranker::new(&url, "m", None, Duration::from_secs(2), Outbound::new(&[]));
        let error = tokio::task::spawn_blocking(move || strict.rerank("q", &["a"]))
            .await
            .unwrap()
            .unwrap_err();
        assert!(error.to_string().contains("internal address"), "{error}");
        // Allowed, the request reaches the listener (which never answers: a timeout).
        let allowed = HttpReranker::new(
            &url,
            "m",
            None,
            Duration::from_secs(1),
            Outbound::new(&["127.0.0.1".parse().unwrap()]),
        );
        let error = tokio::task::spawn_blocking(move || allowed.rerank("q", &["a"]))
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(error, RerankError::Timeout(1)), "{error}");
        drop(listener);
    }

    #[test]
    fn answers_map_to_input_order() {
        let body =
            r#"{"results": [{"index": 2, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.2}]}"#;
        assert_eq!(scores(body, 3).unwrap(), vec![0.2, 0.0, 0.9]);
        // TEI-style `score` is accepted.
        assert_eq!(
            scores(r#"{"results": [{"index": 0, "score": 0.5}]}"#, 1).unwrap(),
            vec![0.5]
        );
        for bad in [
            r#"{"results": [{"index": 3, "relevance_score": 0.9}]}"#,
            r#"{"data": []}"#,
            "not json",
        ] {
            let err = scores(bad, 3).unwrap_err();
            assert!(
                matches!(err, RerankError::Provider { status: None, .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn error_messages_come_from_the_body() {
        assert_eq!(
            error_message(r#"{"detail": "model not found"}"#),
            "model not found"
        );
        assert_eq!(error_message(r#"{"message": "bad key"}"#), "bad key");
        assert_eq!(error_message("upstream exploded\n"), "upstream exploded");
        assert_eq!(error_message(""), "no detail");
        assert_eq!(error_message(&"x".repeat(1000)).len(), MAX_ERROR_CHARS);
    }
}
