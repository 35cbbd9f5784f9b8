//! Retrieval across an app's datasets (Dify's `multiple_retrieve`): each dataset searched with its
//! own retrieval settings, the results merged, rescored by the app's rerank model or weights,
//! thresholded, deduplicated and cut to the app's top_k; and the `retriever_resources` citing them.

use std::collections::{HashMap, HashSet};

use indexes::{Fusion, SearchMethod};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::config::DatasetSettings;
use crate::engine::external::{self, ExternalQuery};
use crate::engine::{Engine, EngineError, MAX_QUERY_CHARS, MAX_TOP_K, SearchOptions, SearchResult};
use crate::rerank::RerankModel;
use crate::store::{Dataset, DocumentSelection, EXTERNAL_PROVIDER, NewDatasetQuery, QuerySource};

/// A retrieved chunk with what a citation says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrievedChunk {
    pub dataset_id: String,
    pub dataset_name: String,
    pub document_id: String,
    pub document_name: String,
    pub data_source_type: String,
    pub segment_id: String,
    pub segment_position: i64,
    pub content: String,
    pub score: f32,
    pub hit_count: i64,
    pub word_count: i64,
    pub page: Option<i64>,
    pub doc_metadata: Option<Map<String, Value>>,
}

/// An external dataset's External Knowledge API with its key opened (the API layer holds the
/// sealer), and the dataset's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalSource {
    pub endpoint: String,
    pub api_key: String,
    pub knowledge_id: String,
    pub top_k: u64,
    /// 0.0 when the dataset's threshold is off (what Dify sends).
    pub score_threshold: f64,
}

/// Who asked, for the query log.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    pub app_id: &'a str,
    pub end_user_id: &'a str,
}

/// The retrieval settings of one dataset: its stored `retrieval_model` or Dify's default.
#[derive(Debug, Clone, PartialEq)]
struct DatasetSearch {
    method: SearchMethod,
    top_k: usize,
    score_threshold: Option<f32>,
    fusion: Fusion,
    rerank: Option<RerankModel>,
}

fn dataset_search(dataset: &Dataset) -> DatasetSearch {
    let model = dataset.retrieval_model.clone().unwrap_or(Value::Null);
    let method = match model["search_method"].as_str() {
        _ if dataset.embedding_dimension.is_none() => SearchMethod::FullText,
        Some("full_text_search" | "keyword_search") => SearchMethod::FullText,
        Some("hybrid_search") => SearchMethod::Hybrid,
        _ => SearchMethod::Semantic,
    };
    let top_k = model["top_k"]
        .as_u64()
        .map(|k| (k as usize).clamp(1, MAX_TOP_K))
        .unwrap_or(super::config::DEFAULT_TOP_K);
    let score_threshold = match model["score_threshold_enabled"].as_bool() {
        Some(true) => model["score_threshold"].as_f64().map(|t| t as f32),
        _ => None,
    };
    let fusion = match model["weights"]["vector_setting"]["vector_weight"].as_f64() {
        Some(vector) => Fusion::Weighted {
            vector_weight: vector as f32,
            keyword_weight: model["weights"]["keyword_setting"]["keyword_weight"]
                .as_f64()
                .unwrap_or(1.0 - vector) as f32,
        },
        None => Fusion::default(),
    };
    let rerank = match (
        model["reranking_enable"].as_bool(),
        model["reranking_mode"].as_str().unwrap_or("reranking_model"),
        model["reranking_model"]["reranking_model_name"].as_str(),
    ) {
        (Some(true), "reranking_model", Some(name)) if !name.trim().is_empty() => Some(RerankModel {
            provider: model["reranking_model"]["reranking_provider_name"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            model: name.to_string(),
        }),
        _ => None,
    };
    DatasetSearch {
        method,
        top_k,
        score_threshold,
        fusion,
        rerank,
    }
}

/// The chunks the app's datasets hold for `query`, best first.
pub async fn retrieve(
    engine: &Engine,
    tenant_id: &str,
    settings: &DatasetSettings,
    query: &str,
    asker: Asker<'_>,
    external: &HashMap<String, ExternalSource>,
) -> Result<Vec<RetrievedChunk>, EngineError> {
    let query: String = query.trim().chars().take(MAX_QUERY_CHARS).collect();
    if query.is_empty() || settings.dataset_ids.is_empty() {
        return Ok(Vec::new());
    }
    let store = engine.store();
    let mut datasets = Vec::new();
    let mut external_datasets = Vec::new();
    for id in &settings.dataset_ids {
        match store.dataset(tenant_id, id).await? {
            Some(dataset) if dataset.provider == EXTERNAL_PROVIDER => external_datasets.push(dataset),
            Some(dataset) => datasets.push(dataset),
            // A dataset deleted after it was bound no longer answers.
            None => tracing::warn!(dataset_id = %id, app_id = %asker.app_id, "bound dataset is gone"),
        }
    }
    let searches = datasets.iter().map(|dataset| {
        let search = dataset_search(dataset);
        let options = SearchOptions {
            tenant_id: tenant_id.to_string(),
            dataset: dataset.name.clone(),
            query: query.clone(),
            method: search.method,
            top_k: search.top_k,
            score_threshold: search.score_threshold,
            fusion: search.fusion,
            document_ids: None,
            metadata_filter: settings.metadata_filter.clone(),
            rerank: search.rerank,
        };
        async move { engine.search_dataset(dataset, &options).await }
    });
    let per_dataset = futures::future::try_join_all(searches).await?;
    let mut merged: Vec<(usize, SearchResult)> = Vec::new();
    for (index, results) in per_dataset.into_iter().enumerate() {
        let dataset = &datasets[index];
        let ids: Vec<String> = results.iter().map(|r| r.segment.id.clone()).collect();
        store
            .record_dataset_query(NewDatasetQuery {
                tenant_id,
                dataset_id: &dataset.id,
                content: &query,
                source: QuerySource::App,
                source_app_id: Some(asker.app_id),
                created_by_role: "end_user",
                created_by: asker.end_user_id,
            })
            .await?;
        store.increment_hit_counts(&dataset.id, &ids).await?;
        merged.extend(results.into_iter().map(|r| (index, r)));
    }
    if let Some(model) = &settings.rerank {
        let reranker = engine.reranker(model).await?;
        let texts: Vec<String> = merged.iter().map(|(_, r)| r.segment.content.clone()).collect();
        let scores = engine.query_compute().rerank(reranker, &query, texts).await?;
        for ((_, result), score) in merged.iter_mut().zip(scores) {
            result.score = score;
        }
    } else if let Some((vector, keyword)) = settings.weights {
        for (_, result) in &mut merged {
            result.score =
                vector * result.vector_score.unwrap_or(0.0) + keyword * result.keyword_score.unwrap_or(0.0);
        }
    }
    let ranked = rank(merged, settings.score_threshold, settings.top_k);
    let mut metadata: HashMap<(usize, String), Map<String, Value>> = HashMap::new();
    for (index, dataset) in datasets.iter().enumerate() {
        let mut document_ids: Vec<String> = ranked
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, r)| r.segment.document_id.clone())
            .collect();
        document_ids.sort();
        document_ids.dedup();
        if document_ids.is_empty() {
            continue;
        }
        for (document_id, values) in store
            .documents_metadata(tenant_id, &dataset.id, DocumentSelection::Ids(&document_ids))
            .await?
        {
            metadata.insert((index, document_id), values);
        }
    }
    let mut chunks: Vec<RetrievedChunk> = ranked
        .into_iter()
        .map(|(index, result)| {
            let dataset = &datasets[index];
            let segment = result.segment;
            RetrievedChunk {
                doc_metadata: metadata.remove(&(index, segment.document_id.clone())),
                dataset_id: dataset.id.clone(),
                dataset_name: dataset.name.clone(),
                document_id: segment.document_id,
                document_name: segment.document_name,
                data_source_type: segment.data_source_type,
                segment_id: segment.id,
                segment_position: segment.position,
                content: segment.content,
                score: result.score,
                hit_count: segment.hit_count + 1,
                word_count: segment.word_count,
                page: segment.page,
            }
        })
        .collect();
    if external_datasets.is_empty() {
        return Ok(chunks);
    }
    for dataset in &external_datasets {
        chunks.extend(
            external_chunks(
                engine,
                tenant_id,
                dataset,
                external.get(&dataset.id),
                &query,
                asker,
            )
            .await?,
        );
    }
    // Merged with the local ones as one list: best first, thresholded, cut to top_k.
    chunks.retain(|c| settings.score_threshold.is_none_or(|t| c.score >= t));
    chunks.sort_by(|a, b| b.score.total_cmp(&a.score));
    chunks.truncate(settings.top_k);
    Ok(chunks)
}

/// What an external dataset's API answers for `query`, as chunks (Dify's external documents:
/// title as the document name, data source `external`). An API that fails answers nothing, as in
/// Dify: the app still answers from its other datasets (the failure is logged).
async fn external_chunks(
    engine: &Engine,
    tenant_id: &str,
    dataset: &Dataset,
    source: Option<&ExternalSource>,
    query: &str,
    asker: Asker<'_>,
) -> Result<Vec<RetrievedChunk>, EngineError> {
    let Some(source) = source else {
        tracing::warn!(dataset_id = %dataset.id, "external dataset without a usable API");
        return Ok(Vec::new());
    };
    let answer = external::retrieve(
        engine.outbound(),
        &ExternalQuery {
            endpoint: &source.endpoint,
            api_key: &source.api_key,
            knowledge_id: &source.knowledge_id,
            query,
            top_k: source.top_k,
            score_threshold: source.score_threshold,
            metadata_condition: None,
        },
    )
    .await;
    let records = match answer {
        Ok(records) => records,
        Err(error) => {
            tracing::warn!(dataset_id = %dataset.id, error = %error, "external knowledge retrieval failed");
            return Ok(Vec::new());
        }
    };
    engine
        .store()
        .record_dataset_query(NewDatasetQuery {
            tenant_id,
            dataset_id: &dataset.id,
            content: query,
            source: QuerySource::App,
            source_app_id: Some(asker.app_id),
            created_by_role: "end_user",
            created_by: asker.end_user_id,
        })
        .await?;
    Ok(records
        .into_iter()
        .map(|record| RetrievedChunk {
            dataset_id: dataset.id.clone(),
            dataset_name: dataset.name.clone(),
            document_id: String::new(),
            document_name: record.title,
            data_source_type: "external".into(),
            segment_id: String::new(),
            segment_position: 0,
            word_count: record.content.chars().count() as i64,
            content: record.content,
            score: record.score as f32,
            hit_count: 0,
            page: None,
            doc_metadata: record.metadata.as_object().cloned(),
        })
        .collect())
}

/// Best first (ties keep retrieval order), at or above the threshold, each segment once, top_k.
fn rank(
    mut merged: Vec<(usize, SearchResult)>,
    threshold: Option<f32>,
    top_k: usize,
) -> Vec<(usize, SearchResult)> {
    merged.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
    let mut seen = HashSet::new();
    merged
        .into_iter()
        .filter(|(_, r)| threshold.is_none_or(|t| r.score >= t))
        .filter(|(_, r)| seen.insert(r.segment.id.clone()))
        .take(top_k)
        .collect()
}

/// Dify's `index_node_hash`: a hash of the indexed text.
fn index_node_hash(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

/// A `retriever_resources` item as `message_end` and blocking answers carry it (Dify's
/// `RetrievalSourceMetadata`, full converter).
pub fn resource(chunk: &RetrievedChunk, position: usize, retriever_from: &str) -> Value {
    json!({
        "position": position,
        "dataset_id": chunk.dataset_id,
        "dataset_name": chunk.dataset_name,
        "document_id": chunk.document_id,
        "document_name": chunk.document_name,
        "data_source_type": chunk.data_source_type,
        "segment_id": chunk.segment_id,
        "retriever_from": retriever_from,
        "score": chunk.score,
        "hit_count": chunk.hit_count,
        "word_count": chunk.word_count,
        "segment_position": chunk.segment_position,
        "index_node_hash": index_node_hash(&chunk.content),
        "content": chunk.content,
        "page": chunk.page,
        "doc_metadata": chunk.doc_metadata,
        "title": chunk.document_name,
        "files": null,
        "summary": null,
    })
}

/// A stored item as message history shows it (Dify's `retriever_resource_fields`).
pub fn history_resource(stored: &Value) -> Value {
    let mut item = Map::new();
    for key in [
        "id",
        "message_id",
        "position",
        "dataset_id",
        "dataset_name",
        "document_id",
        "document_name",
        "data_source_type",
        "segment_id",
        "score",
        "hit_count",
        "word_count",
        "segment_position",
        "index_node_hash",
        "content",
        "summary",
        "created_at",
    ] {
        item.insert(key.to_string(), stored.get(key).cloned().unwrap_or(Value::Null));
    }
    Value::Object(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SegmentHit;

    fn result(id: &str, score: f32) -> SearchResult {
        SearchResult {
            segment: SegmentHit {
                id: id.into(),
                document_id: "d".into(),
                document_name: "d".into(),
                position: 1,
                content: id.into(),
                page: None,
                word_count: 1,
                tokens: 1,
                hit_count: 0,
                enabled: true,
                status: "completed".into(),
                created_at: 0,
                updated_at: 0,
                completed_at: None,
                data_source_type: "upload_file".into(),
                doc_metadata: None,
                keywords: Vec::new(),
            },
            score,
            vector_score: Some(score),
            keyword_score: None,
            child_chunks: Vec::new(),
        }
    }

    #[test]
    fn merged_results_rank_dedupe_threshold_and_cut() {
        let merged = vec![
            (0, result("a", 0.5)),
            (1, result("b", 0.9)),
            (0, result("c", 0.2)),
            (1, result("a", 0.4)),
            (1, result("d", 0.7)),
        ];
        let ids = |ranked: &[(usize, SearchResult)]| {
            ranked
                .iter()
                .map(|(i, r)| (*i, r.segment.id.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&rank(merged.clone(), None, 10)),
            [(1, "b".into()), (1, "d".into()), (0, "a".into()), (0, "c".into())]
        );
        assert_eq!(ids(&rank(merged.clone(), Some(0.45), 10)).len(), 3);
        assert_eq!(ids(&rank(merged, None, 2)), [(1, "b".into()), (1, "d".into())]);
    }

    #[test]
    fn economy_datasets_search_full_text() {
        let mut dataset = Dataset {
            id: "x".into(),
            tenant_id: "t".into(),
            name: "n".into(),
            embedding_model: None,
            embedding_dimension: None,
            doc_form: "text_model".into(),
            process_rule: Value::Null,
            index_generation: 1,
            created_at: 0,
            updated_at: 0,
            description: String::new(),
            indexing_technique: Some("economy".into()),
            permission: "only_me".into(),
            provider: "vendor".into(),
            created_by: None,
            enable_api: true,
            retrieval_model: Some(json!({"search_method": "semantic_search", "top_k": 6})),
            doc_language: "English".into(),
        };
        let search = dataset_search(&dataset);
        assert_eq!(search.method, SearchMethod::FullText);
        assert_eq!(search.top_k, 6);
        dataset.embedding_dimension = Some(384);
        dataset.retrieval_model = None;
        let search = dataset_search(&dataset);
        assert_eq!(search.method, SearchMethod::Semantic);
        assert_eq!(search.top_k, 4);
    }

    #[test]
    fn resources_carry_every_citation_field() {
        let chunk = RetrievedChunk {
            dataset_id: "ds".into(),
            dataset_name: "Tea".into(),
            document_id: "doc".into(),
            document_name: "tea.txt".into(),
            data_source_type: "upload_file".into(),
            segment_id: "seg".into(),
            segment_position: 3,
            content: "Green tea".into(),
            score: 0.5,
            hit_count: 2,
            word_count: 9,
            page: Some(1),
            doc_metadata: None,
        };
        let item = resource(&chunk, 1, "dev");
        for key in [
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
        ] {
            assert!(item.get(key).is_some(), "{key}");
        }
        assert_eq!(item["index_node_hash"].as_str().unwrap().len(), 64);
    }
}
