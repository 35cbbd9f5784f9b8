//! Calls to an External Knowledge API (an external dataset's source), made as Dify's
//! `ExternalDatasetService` makes them: `POST {endpoint}/retrieval` with `Authorization: Bearer
//! {api_key}` and `{retrieval_setting: {top_k, score_threshold}, query, knowledge_id,
//! metadata_condition}`, through the SSRF-guarded [`Outbound`] client only. Upstream bodies are
//! logged, never passed on.

use std::time::Duration;

use serde_json::{Value, json};

use crate::outbound::{Outbound, OutboundError, ReadError, error_chain, read_limited, refusal};

/// How long a retrieval (or the check when an API is saved) may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// Most records kept from one answer.
const MAX_RECORDS: usize = 1000;

/// One record of an answer, as Dify keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalRecord {
    pub content: String,
    pub title: String,
    pub score: f64,
    pub metadata: Value,
}

/// One retrieval request.
#[derive(Debug, Clone)]
pub struct ExternalQuery<'a> {
    pub endpoint: &'a str,
    pub api_key: &'a str,
    pub knowledge_id: &'a str,
    pub query: &'a str,
    pub top_k: u64,
    /// 0.0 when the threshold is off (Dify sends that).
    pub score_threshold: f64,
    pub metadata_condition: Option<Value>,
}

/// Why a call failed, in words fit for the caller (no upstream text).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExternalKnowledgeError {
    /// The endpoint is not a URL this server connects to.
    #[error("The external knowledge API endpoint is not allowed: {0}")]
    Refused(String),
    #[error("The external knowledge API cannot be reached.")]
    Unreachable,
    #[error("The external knowledge API did not answer within {0} seconds.")]
    Timeout(u64),
    /// 401 or 403: the key was refused.
    #[error("The external knowledge API refused the API key (HTTP {0}).")]
    Unauthorized(u16),
    #[error("The external knowledge API answered HTTP {0}.")]
    Status(u16),
    #[error("The external knowledge API answered something that is not a list of records.")]
    Malformed,
}

/// `{endpoint}/retrieval`, as Dify builds it (a trailing slash is not doubled).
pub fn retrieval_url(endpoint: &str) -> String {
    format!("{}/retrieval", endpoint.trim().trim_end_matches('/'))
}

fn transport(endpoint: &str, error: &reqwest::Error) -> ExternalKnowledgeError {
    if error.is_timeout() {
        return ExternalKnowledgeError::Timeout(TIMEOUT.as_secs());
    }
    if let Some(refused) = refusal(error) {
        return refused_error(refused);
    }
    tracing::warn!(endpoint, error = %error_chain(error), "external knowledge API unreachable");
    ExternalKnowledgeError::Unreachable
}

fn refused_error(error: &OutboundError) -> ExternalKnowledgeError {
    ExternalKnowledgeError::Refused(error.to_string())
}

/// POSTs `body` to `{endpoint}/retrieval`; the status and the body read.
async fn post(
    outbound: &Outbound,
    endpoint: &str,
    api_key: &str,
    body: Option<&Value>,
) -> Result<(u16, Vec<u8>), ExternalKnowledgeError> {
    let url = retrieval_url(endpoint);
    let mut request = outbound
        .post(&url)
        .map_err(|e| refused_error(&e))?
        .timeout(TIMEOUT)
        .bearer_auth(api_key);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(|e| transport(endpoint, &e))?;
    let status = response.status().as_u16();
    let bytes = read_limited(response, MAX_ANSWER_BYTES)
        .await
        .map_err(|e| match e {
            ReadError::Transport(e) => transport(endpoint, &e),
            ReadError::TooLarge(_) => ExternalKnowledgeError::Malformed,
        })?;
    Ok((status, bytes))
}

/// Dify's check when an API is saved: the endpoint answers a bare POST, neither 404 nor 502
/// nor a refused key (any other answer, 400 included, shows a live endpoint).
pub async fn check_endpoint(
    outbound: &Outbound,
    endpoint: &str,
    api_key: &str,
) -> Result<(), ExternalKnowledgeError> {
    outbound
        .policy()
        .check_destination(&retrieval_url(endpoint))
        .await
        .map_err(|e| refused_error(&e))?;
    let (status, _) = post(outbound, endpoint, api_key, None).await?;
    match status {
        401 | 403 => Err(ExternalKnowledgeError::Unauthorized(status)),
        404 | 502 => Err(ExternalKnowledgeError::Status(status)),
        _ => Ok(()),
    }
}

/// One retrieval; the records, as many as the API answered (Dify does not cut them).
pub async fn retrieve(
    outbound: &Outbound,
    query: &ExternalQuery<'_>,
) -> Result<Vec<ExternalRecord>, ExternalKnowledgeError> {
    let body = json!({
        "retrieval_setting": {"top_k": query.top_k, "score_threshold": query.score_threshold},
        "query": query.query,
        "knowledge_id": query.knowledge_id,
        "metadata_condition": query.metadata_condition,
    });
    let (status, bytes) = post(outbound, query.endpoint, query.api_key, Some(&body)).await?;
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(&bytes);
        let detail: String = text.chars().take(500).collect();
        tracing::warn!(endpoint = query.endpoint, status, detail = %detail, "external knowledge API refused a retrieval");
        return Err(match status {
            401 | 403 => ExternalKnowledgeError::Unauthorized(status),
            _ => ExternalKnowledgeError::Status(status),
        });
    }
    records(&bytes)
}

/// The `records` of an answer; a record without text content is not one.
fn records(bytes: &[u8]) -> Result<Vec<ExternalRecord>, ExternalKnowledgeError> {
    let answer: Value = serde_json::from_slice(bytes).map_err(|_| ExternalKnowledgeError::Malformed)?;
    let list = match answer.get("records") {
        Some(Value::Array(list)) => list,
        // Dify reads a missing list as no records.
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(_) => return Err(ExternalKnowledgeError::Malformed),
    };
    list.iter()
        .take(MAX_RECORDS)
        .map(|record| {
            let content = record
                .get("content")
                .and_then(Value::as_str)
                .ok_or(ExternalKnowledgeError::Malformed)?;
            Ok(ExternalRecord {
                content: content.to_string(),
                title: record
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                score: record.get("score").and_then(Value::as_f64).unwrap_or(0.0),
                metadata: match record.get("metadata") {
                    Some(Value::Object(m)) => Value::Object(m.clone()),
                    _ => json!({}),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retrieval_url_appends_once() {
        assert_eq!(
            retrieval_url("http://kb.example/api"),
            "http://kb.example/api/retrieval"
        );
        assert_eq!(
            retrieval_url(" http://kb.example/api/ "),
            "http://kb.example/api/retrieval"
        );
    }

    #[test]
    fn records_are_read_and_malformed_answers_refused() {
        let got = records(
            br#"{"records": [{"content": "tea", "title": "t.md", "score": 0.5, "metadata": {"a": 1}}]}"#,
        )
        .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].content, "tea");
        assert_eq!(got[0].score, 0.5);
        assert_eq!(records(b"{}").unwrap(), Vec::new());
        assert_eq!(records(b"not json"), Err(ExternalKnowledgeError::Malformed));
        assert_eq!(
            records(br#"{"records": {"x": 1}}"#),
            Err(ExternalKnowledgeError::Malformed)
        );
        assert_eq!(
            records(br#"{"records": [{"title": "no content"}]}"#),
            Err(ExternalKnowledgeError::Malformed)
        );
    }
}
