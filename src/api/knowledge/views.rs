//! Wire shapes of knowledge API objects (API.md A.3, A.5, A.6).

use serde_json::{Value, json};

use crate::engine::SearchResult;
use crate::store::{Dataset, DatasetCounts};

/// Provider name reported for ragd's local models.
pub const MODEL_PROVIDER: &str = "ragd";

/// Dify's default retrieval settings, used until a dataset stores its own.
pub fn default_retrieval_model() -> Value {
    json!({
        "search_method": "semantic_search",
        "reranking_enable": false,
        "reranking_mode": null,
        "reranking_model": {"reranking_provider_name": "", "reranking_model_name": ""},
        "weights": null,
        "top_k": 4,
        "score_threshold_enabled": false,
        "score_threshold": null,
    })
}

/// The dataset object.
pub fn dataset(dataset: &Dataset, counts: DatasetCounts) -> Value {
    let mut retrieval = dataset
        .retrieval_model
        .clone()
        .unwrap_or_else(default_retrieval_model);
    if dataset.indexing_technique.as_deref() == Some("economy") {
        retrieval["search_method"] = json!("keyword_search");
    }
    let embedding_provider = dataset.embedding_model.as_ref().map(|_| MODEL_PROVIDER);
    json!({
        "id": dataset.id,
        "name": dataset.name,
        "description": dataset.description,
        "provider": dataset.provider,
        "permission": dataset.permission,
        "data_source_type": if counts.documents > 0 { json!("upload_file") } else { Value::Null },
        "indexing_technique": dataset.indexing_technique,
        "app_count": 0,
        "document_count": counts.documents,
        "word_count": counts.words,
        "created_by": dataset.created_by,
        "author_name": null,
        "created_at": dataset.created_at,
        "updated_by": dataset.created_by,
        "updated_at": dataset.updated_at,
        "embedding_model": dataset.embedding_model,
        "embedding_model_provider": embedding_provider,
        "embedding_available": true,
        "retrieval_model_dict": retrieval,
        "summary_index_setting": null,
        "tags": [],
        "doc_form": dataset.doc_form,
        "external_knowledge_info": {
            "external_knowledge_id": null,
            "external_knowledge_api_id": null,
            "external_knowledge_api_name": null,
            "external_knowledge_api_endpoint": null,
        },
        "external_retrieval_model": null,
        "doc_metadata": [],
        "built_in_field_enabled": false,
        "pipeline_id": null,
        "runtime_mode": "general",
        "chunk_structure": null,
        "icon_info": null,
        "is_published": false,
        "total_documents": counts.documents,
        "total_available_documents": counts.available_documents,
        "enable_api": dataset.enable_api,
        "is_multimodal": false,
    })
}

/// One retrieval record.
pub fn retrieval_record(result: &SearchResult) -> Value {
    let s = &result.segment;
    let doc_metadata: Value = s
        .doc_metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or(Value::Null);
    json!({
        "segment": {
            "id": s.id,
            "position": s.position,
            "document_id": s.document_id,
            "content": s.content,
            "sign_content": s.content,
            "answer": null,
            "word_count": s.word_count,
            "tokens": s.tokens,
            "keywords": [],
            "index_node_id": s.id,
            "index_node_hash": null,
            "hit_count": s.hit_count,
            "enabled": s.enabled,
            "disabled_at": null,
            "disabled_by": null,
            "status": s.status,
            "created_by": null,
            "created_at": s.created_at,
            "indexing_at": s.created_at,
            "completed_at": s.completed_at,
            "error": null,
            "stopped_at": null,
            "page": s.page,
            "document": {
                "id": s.document_id,
                "data_source_type": s.data_source_type,
                "name": s.document_name,
                "doc_type": null,
                "doc_metadata": doc_metadata,
            },
        },
        "child_chunks": null,
        "score": result.score,
        "tsne_position": null,
        "files": null,
        "summary": null,
    })
}
