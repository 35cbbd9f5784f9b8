//! `POST /datasets/{id}/retrieve` and its alias `/hit-testing` (API.md A.6, A.7).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use indexes::{Fusion, SearchMethod};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::views;
use crate::api::caller::{Access, Caller, find_dataset};
use crate::api::extract::ApiJson;
use crate::api::{ApiError, AppState};
use crate::engine::{MetadataFilter, SearchOptions, SearchResult};
use crate::rerank::RerankModel;
use crate::store::{
    DEFAULT_OWNER, Dataset, DocumentSelection, EXTERNAL_PROVIDER, NewDatasetQuery, QuerySource,
};

#[derive(Debug, Deserialize)]
pub struct RetrieveBody {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    retrieval_model: Option<Value>,
    /// Settings of an external dataset's retrieval (the console's external hit testing).
    #[serde(default)]
    external_retrieval_model: Option<Value>,
}

/// Dify's retrieval_model object (A.7); every field optional so partial objects work.
#[derive(Debug, Deserialize, Default)]
struct RetrievalModel {
    search_method: Option<String>,
    #[serde(default)]
    reranking_enable: Option<bool>,
    reranking_mode: Option<String>,
    reranking_model: Option<RerankingModel>,
    top_k: Option<usize>,
    #[serde(default)]
    score_threshold_enabled: Option<bool>,
    score_threshold: Option<f32>,
    weights: Option<Weights>,
    metadata_filtering_conditions: Option<Value>,
}

/// Dify's `reranking_model`: which model rescores the candidates.
#[derive(Debug, Deserialize)]
struct RerankingModel {
    #[serde(default)]
    reranking_provider_name: Option<String>,
    #[serde(default)]
    reranking_model_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Weights {
    vector_setting: Option<VectorSetting>,
    keyword_setting: Option<KeywordSetting>,
}

#[derive(Debug, Deserialize)]
struct VectorSetting {
    vector_weight: f32,
}

#[derive(Debug, Deserialize)]
struct KeywordSetting {
    keyword_weight: f32,
}

/// Retrieval settings resolved from a retrieval_model object.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrievalSettings {
    pub method: SearchMethod,
    pub top_k: usize,
    pub score_threshold: Option<f32>,
    pub fusion: Fusion,
    /// Dify's `metadata_filtering_conditions`, when given.
    pub metadata_filter: Option<MetadataFilter>,
    /// The rerank model, when reranking is enabled in `reranking_model` mode.
    pub rerank: Option<RerankModel>,
}

/// Validates a retrieval_model object and resolves it to settings.
pub fn parse_retrieval_model(value: &Value) -> Result<RetrievalSettings, ApiError> {
    let model: RetrievalModel = serde_json::from_value(value.clone())
        .map_err(|e| ApiError::invalid(format!("retrieval_model is invalid: {e}")))?;
    let method = match model.search_method.as_deref().unwrap_or("semantic_search") {
        "semantic_search" => SearchMethod::Semantic,
        "full_text_search" | "keyword_search" => SearchMethod::FullText,
        "hybrid_search" => SearchMethod::Hybrid,
        other => return Err(ApiError::invalid(format!("Invalid search method: {other}"))),
    };
    let reranking_mode = model.reranking_mode.as_deref().unwrap_or("reranking_model");
    // `reranking_model` counts only when reranking is enabled in reranking_model mode and names a
    // model; enabled without a model is a no-op, as in Dify (clients copy its UI config, which
    // sends `reranking_enable: true` with an empty model). Whether this server has the model is
    // the engine's answer.
    let rerank = match (model.reranking_enable, reranking_mode, &model.reranking_model) {
        (
            Some(true),
            "reranking_model",
            Some(RerankingModel {
                reranking_provider_name,
                reranking_model_name: Some(name),
            }),
        ) if !name.trim().is_empty() => Some(RerankModel {
            provider: reranking_provider_name.clone().unwrap_or_default(),
            model: name.clone(),
        }),
        _ => None,
    };
    let metadata_filter = MetadataFilter::from_json(model.metadata_filtering_conditions.as_ref())
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let top_k = model.top_k.unwrap_or(4);
    if !(1..=crate::engine::MAX_TOP_K).contains(&top_k) {
        return Err(ApiError::invalid(format!(
            "top_k must be between 1 and {}",
            crate::engine::MAX_TOP_K
        )));
    }
    let score_threshold = match model.score_threshold_enabled {
        Some(true) => model.score_threshold,
        Some(false) | None => None,
    };
    let fusion = match &model.weights {
        Some(Weights {
            vector_setting,
            keyword_setting,
        }) => {
            let vector = vector_setting.as_ref().map(|v| v.vector_weight).unwrap_or(0.7);
            let keyword = keyword_setting
                .as_ref()
                .map(|k| k.keyword_weight)
                .unwrap_or(1.0 - vector);
            if !(0.0..=1.0).contains(&vector) || !(0.0..=1.0).contains(&keyword) || vector + keyword <= 0.0 {
                return Err(ApiError::invalid("weights must be between 0 and 1"));
            }
            Fusion::Weighted {
                vector_weight: vector,
                keyword_weight: keyword,
            }
        }
        None => Fusion::default(),
    };
    Ok(RetrievalSettings {
        method,
        top_k,
        score_threshold,
        fusion,
        metadata_filter,
        rerank,
    })
}

/// What one retrieval found: the hits, best first, and the metadata values of the documents hit.
pub struct Retrieved {
    pub results: Vec<SearchResult>,
    pub metadata: HashMap<String, Map<String, Value>>,
}

/// One retrieval against a dataset as every retrieve route runs it (the knowledge API's
/// retrieve/hit-testing and the External Knowledge API): search, log the query under `source`,
/// count the hits, and load the metadata of the documents hit.
pub async fn run_retrieval(
    state: &AppState,
    dataset: &Dataset,
    query: &str,
    settings: RetrievalSettings,
    source: QuerySource,
    created_by: &str,
) -> Result<Retrieved, ApiError> {
    let results = state
        .engine
        .search_dataset(
            dataset,
            &SearchOptions {
                tenant_id: dataset.tenant_id.clone(),
                dataset: dataset.name.clone(),
                query: query.to_string(),
                method: settings.method,
                top_k: settings.top_k,
                score_threshold: settings.score_threshold,
                fusion: settings.fusion,
                document_ids: None,
                metadata_filter: settings.metadata_filter,
                rerank: settings.rerank,
            },
        )
        .await?;
    let ids: Vec<String> = results.iter().map(|r| r.segment.id.clone()).collect();
    let store = state.engine.store();
    store
        .record_dataset_query(NewDatasetQuery {
            tenant_id: &dataset.tenant_id,
            dataset_id: &dataset.id,
            content: query,
            source,
            source_app_id: None,
            created_by_role: "account",
            created_by,
        })
        .await?;
    store.increment_hit_counts(&dataset.id, &ids).await?;
    let mut document_ids: Vec<String> = results.iter().map(|r| r.segment.document_id.clone()).collect();
    document_ids.sort();
    document_ids.dedup();
    let metadata: HashMap<String, Map<String, Value>> = store
        .documents_metadata(
            &dataset.tenant_id,
            &dataset.id,
            DocumentSelection::Ids(&document_ids),
        )
        .await?
        .into_iter()
        .collect();
    Ok(Retrieved { results, metadata })
}

pub async fn retrieve<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path(dataset_id): Path<String>,
    ApiJson(body): ApiJson<RetrieveBody>,
) -> Result<Json<Value>, ApiError> {
    let dataset = find_dataset(&state, &caller, &dataset_id, Access::Read).await?;
    let query = body.query.unwrap_or_default();
    if query.trim().is_empty() {
        return Err(ApiError::invalid("Query or attachment_ids is required"));
    }
    if query.chars().count() > crate::engine::MAX_QUERY_CHARS {
        return Err(ApiError::invalid("Query cannot exceed 250 characters"));
    }
    // An external dataset is searched by its External Knowledge API.
    if dataset.provider == EXTERNAL_PROVIDER {
        let requested = body.external_retrieval_model.as_ref();
        return Ok(Json(
            super::external::retrieve(&state, &dataset, &query, requested, None).await?,
        ));
    }
    let requested = body.retrieval_model.is_some();
    let retrieval = body
        .retrieval_model
        .or_else(|| dataset.retrieval_model.clone())
        .unwrap_or_else(views::default_retrieval_model);
    let mut settings = parse_retrieval_model(&retrieval)?;
    if dataset.embedding_dimension.is_none() && !requested {
        // Economy datasets have no vectors: their default search is keyword search (as Dify
        // shows it); semantic or hybrid search asked for explicitly is refused by the engine.
        settings.method = SearchMethod::FullText;
    }
    let retrieved = run_retrieval(
        &state,
        &dataset,
        &query,
        settings,
        QuerySource::HitTesting,
        caller.account_id().unwrap_or(DEFAULT_OWNER),
    )
    .await?;
    let (results, metadata) = (retrieved.results, retrieved.metadata);
    Ok(Json(json!({
        "query": {"content": query},
        "records": results
            .iter()
            .map(|r| views::retrieval_record(r, metadata.get(&r.segment.document_id)))
            .collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ErrorCode;

    #[test]
    fn dify_retrieval_models_resolve() {
        let settings = parse_retrieval_model(&json!({
            "search_method": "hybrid_search", "reranking_enable": false, "top_k": 3,
            "score_threshold_enabled": true, "score_threshold": 0.5,
            "weights": {"weight_type": "customized", "vector_setting": {"vector_weight": 0.6},
                        "keyword_setting": {"keyword_weight": 0.4}}
        }))
        .unwrap();
        assert_eq!(settings.method, SearchMethod::Hybrid);
        assert_eq!(settings.top_k, 3);
        assert_eq!(settings.score_threshold, Some(0.5));
        assert_eq!(
            settings.fusion,
            Fusion::Weighted {
                vector_weight: 0.6,
                keyword_weight: 0.4
            }
        );
        // The threshold counts only when enabled.
        let settings =
            parse_retrieval_model(&json!({"search_method": "full_text_search", "score_threshold": 0.9}))
                .unwrap();
        assert_eq!(settings.score_threshold, None);
        assert_eq!(settings.method, SearchMethod::FullText);
    }

    #[test]
    fn reranking_model_is_read_only_when_enabled_in_model_mode() {
        let with = |enable: bool, mode: &str| {
            parse_retrieval_model(&json!({
                "search_method": "hybrid_search", "reranking_enable": enable, "reranking_mode": mode,
                "reranking_model": {"reranking_provider_name": "langgenius/jina/jina",
                                    "reranking_model_name": "jina-reranker-v2"}
            }))
            .unwrap()
            .rerank
        };
        assert_eq!(
            with(true, "reranking_model"),
            Some(RerankModel {
                provider: "langgenius/jina/jina".into(),
                model: "jina-reranker-v2".into()
            })
        );
        assert_eq!(with(false, "reranking_model"), None);
        assert_eq!(with(true, "weighted_score"), None);
    }

    #[test]
    fn reranking_enabled_without_a_model_is_a_no_op() {
        for body in [
            json!({"search_method": "hybrid_search", "reranking_enable": true}),
            json!({"reranking_enable": true, "reranking_model": {"reranking_provider_name": "", "reranking_model_name": ""}}),
            json!({"reranking_enable": true, "reranking_model": {"reranking_provider_name": "jina", "reranking_model_name": " "}}),
        ] {
            assert_eq!(parse_retrieval_model(&body).unwrap().rerank, None, "{body}");
        }
    }

    #[test]
    fn unsupported_settings_are_refused_not_ignored() {
        for bad in [
            json!({"search_method": "magic"}),
            json!({"top_k": 0}),
            json!({"metadata_filtering_conditions": {"conditions": [{"name": "a", "comparison_operator": "like", "value": "b"}]}}),
            json!({"metadata_filtering_conditions": {"logical_operator": "xor", "conditions": []}}),
            json!({"weights": {"vector_setting": {"vector_weight": 2.0}}}),
        ] {
            let err = parse_retrieval_model(&bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidParam, "{bad}");
        }
    }
}
