//! `POST /external/retrieval`: one retrieval against a ragd dataset, asked the way Dify's
//! `ExternalDatasetService` asks an external knowledge base.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use indexes::SearchMethod;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ExternalError;
use crate::api::AppState;
use crate::api::knowledge::retrieve::{parse_retrieval_model, run_retrieval};
use crate::engine::{MAX_QUERY_CHARS, MAX_TOP_K, MetadataFilter, SearchResult};
use crate::store::{DEFAULT_OWNER, Dataset, QuerySource, TokenType};

/// The body Dify posts. `metadata_condition` is Dify's `MetadataCondition` dumped, or null.
#[derive(Debug, Deserialize)]
struct RetrievalRequest {
    knowledge_id: String,
    query: String,
    retrieval_setting: RetrievalSetting,
    #[serde(default)]
    metadata_condition: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RetrievalSetting {
    top_k: usize,
    /// Dify sends 0.0 when the threshold is switched off in its dataset settings.
    #[serde(default)]
    score_threshold: Option<f32>,
}

pub async fn retrieve(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ExternalError> {
    let key = bearer(&headers)?;
    let token = state
        .engine
        .store()
        .verify_api_token(key, TokenType::Dataset)
        .await
        .map_err(|e| ExternalError::from(crate::api::ApiError::from(e)))?
        .ok_or_else(|| {
            ExternalError::authorization_failed("Authorization failed: the API key is invalid.")
        })?;
    let request: RetrievalRequest = serde_json::from_slice(&body)
        .map_err(|e| ExternalError::invalid(format!("The request body is invalid: {e}")))?;
    if request.query.trim().is_empty() {
        return Err(ExternalError::invalid("query is required"));
    }
    if request.query.chars().count() > MAX_QUERY_CHARS {
        return Err(ExternalError::invalid(format!(
            "query cannot exceed {MAX_QUERY_CHARS} characters"
        )));
    }
    let top_k = request.retrieval_setting.top_k;
    if !(1..=MAX_TOP_K).contains(&top_k) {
        return Err(ExternalError::invalid(format!(
            "retrieval_setting.top_k must be between 1 and {MAX_TOP_K}"
        )));
    }
    let metadata_filter = MetadataFilter::from_json(
        metadata_filtering_conditions(request.metadata_condition.as_ref())?.as_ref(),
    )
    .map_err(|e| ExternalError::invalid(e.to_string()))?;
    // Another workspace's dataset is as unknown as a missing one.
    let dataset = match uuid::Uuid::parse_str(request.knowledge_id.trim()) {
        Ok(id) => state
            .engine
            .store()
            .dataset(&token.tenant_id, &id.to_string())
            .await
            .map_err(|e| ExternalError::from(crate::api::ApiError::from(e)))?,
        Err(_) => None,
    }
    .ok_or_else(ExternalError::knowledge_not_found)?;
    if !dataset.enable_api {
        return Err(ExternalError::authorization_failed(
            "Authorization failed: API access to this knowledge is disabled.",
        ));
    }

    // The dataset's own retrieval settings (hybrid search when it has none), with the top_k,
    // threshold and metadata filter of the request.
    let mut settings = match &dataset.retrieval_model {
        Some(model) => parse_retrieval_model(model)?,
        None => parse_retrieval_model(&json!({"search_method": "hybrid_search"}))?,
    };
    if dataset.embedding_dimension.is_none() {
        // Economy datasets have no vectors: keyword search is all they can do.
        settings.method = SearchMethod::FullText;
    }
    settings.top_k = top_k;
    settings.score_threshold = request.retrieval_setting.score_threshold.filter(|t| *t > 0.0);
    settings.metadata_filter = metadata_filter;
    let retrieved = run_retrieval(
        &state,
        &dataset,
        &request.query,
        settings,
        QuerySource::External,
        DEFAULT_OWNER,
    )
    .await?;
    let records: Vec<Value> = retrieved
        .results
        .iter()
        .map(|r| record(&dataset, r, retrieved.metadata.get(&r.segment.document_id)))
        .collect();
    Ok(Json(json!({ "records": records })))
}

/// The key of `Authorization: Bearer <key>`; anything else is the spec's 1001.
fn bearer(headers: &HeaderMap) -> Result<&str, ExternalError> {
    crate::api::auth::bearer_token(headers)
        .filter(|key| !key.is_empty())
        .ok_or_else(ExternalError::malformed_authorization)
}

/// Dify's `metadata_condition` as ragd's `metadata_filtering_conditions`. The External Knowledge
/// API spec gives each condition a list of names (Dify's own model a single one): a condition
/// with several names becomes one condition per name, joined by the request's logical operator.
fn metadata_filtering_conditions(condition: Option<&Value>) -> Result<Option<Value>, ExternalError> {
    let object = match condition {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(ExternalError::invalid("metadata_condition must be an object")),
    };
    let mut out = object.clone();
    if let Some(Value::Array(conditions)) = object.get("conditions") {
        let mut flat = Vec::with_capacity(conditions.len());
        for item in conditions {
            match item.get("name") {
                Some(Value::Array(names)) => {
                    for name in names {
                        let mut one = item.clone();
                        if let Some(one) = one.as_object_mut() {
                            one.insert("name".into(), name.clone());
                        }
                        flat.push(one);
                    }
                }
                Some(_) | None => flat.push(item.clone()),
            }
        }
        out.insert("conditions".into(), Value::Array(flat));
    }
    Ok(Some(Value::Object(out)))
}

/// One record: the segment's text, its score, the document's name as title, and as metadata the
/// document's metadata values with the ids that locate the segment in ragd.
fn record(dataset: &Dataset, result: &SearchResult, metadata: Option<&Map<String, Value>>) -> Value {
    let s = &result.segment;
    let mut values = metadata.cloned().unwrap_or_default();
    values.insert("dataset_id".into(), json!(dataset.id));
    values.insert("dataset_name".into(), json!(dataset.name));
    values.insert("document_id".into(), json!(s.document_id));
    values.insert("document_name".into(), json!(s.document_name));
    values.insert("segment_id".into(), json!(s.id));
    values.insert("segment_position".into(), json!(s.position));
    values.insert("data_source_type".into(), json!(s.data_source_type));
    if let Some(page) = s.page {
        values.insert("page".into(), json!(page));
    }
    json!({
        "content": s.content,
        "score": result.score,
        "title": s.document_name,
        "metadata": values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_names_become_one_condition_each() {
        let out = metadata_filtering_conditions(Some(&json!({
            "logical_operator": "or",
            "conditions": [
                {"name": ["author", "editor"], "comparison_operator": "is", "value": "Ann"},
                {"name": "year", "comparison_operator": ">", "value": 2000}
            ]
        })))
        .unwrap()
        .unwrap();
        let filter = MetadataFilter::from_json(Some(&out)).unwrap().unwrap();
        let names: Vec<&str> = filter.conditions.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["author", "editor", "year"]);
        assert_eq!(metadata_filtering_conditions(Some(&Value::Null)).unwrap(), None);
        assert!(metadata_filtering_conditions(Some(&json!("x"))).is_err());
    }

    #[test]
    fn only_bearer_headers_carry_a_key() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(axum::http::header::AUTHORIZATION, value.parse().unwrap());
            bearer(&headers).map(str::to_string).map_err(|e| e.code)
        };
        assert_eq!(with("Bearer dataset-abc"), Ok("dataset-abc".into()));
        assert_eq!(with("bearer  k "), Ok("k".into()));
        for bad in ["dataset-abc", "Basic abc", "Bearer ", "Bearer"] {
            assert_eq!(with(bad), Err(ExternalError::MALFORMED_AUTHORIZATION), "{bad}");
        }
        assert_eq!(
            bearer(&HeaderMap::new()).map_err(|e| e.code),
            Err(ExternalError::MALFORMED_AUTHORIZATION)
        );
    }
}
