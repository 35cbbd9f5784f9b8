//! Wire shapes of knowledge API objects (API.md A.3, A.5, A.6).

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::engine::SearchResult;
use crate::store::{
    BUILT_IN_FIELDS, ChildChunkRow, DEFAULT_OWNER, DEFAULT_OWNER_NAME, Dataset, DatasetCounts, DocumentRow,
    MetadataField, MetadataSchema, SegmentRow, Tag, built_in_values,
};

/// The `id` Dify gives built-in metadata fields.
const BUILT_IN_ID: &str = "built-in";

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

/// A metadata field as `{id, name, type}`.
pub fn metadata_field(field: &MetadataField) -> Value {
    json!({"id": field.id, "name": field.name, "type": field.kind.as_str()})
}

/// A tag as the tag routes show it (`binding_count` is a string on Dify's wire).
pub fn tag(tag: &Tag) -> Value {
    json!({"id": tag.id, "name": tag.name, "type": tag.kind, "binding_count": tag.binding_count.to_string()})
}

/// A dataset's `doc_metadata`: its fields, then the built-in ones when they are on.
fn dataset_metadata_fields(schema: &MetadataSchema) -> Value {
    let mut fields: Vec<Value> = schema.fields.iter().map(metadata_field).collect();
    if schema.built_in_field_enabled {
        fields.extend(
            BUILT_IN_FIELDS
                .iter()
                .map(|(name, kind)| json!({"id": BUILT_IN_ID, "name": name, "type": kind.as_str()})),
        );
    }
    Value::Array(fields)
}

/// The dataset object, with its tags and metadata fields.
pub fn dataset(dataset: &Dataset, counts: DatasetCounts, tags: &[Tag], schema: &MetadataSchema) -> Value {
    let mut retrieval = dataset
        .retrieval_model
        .clone()
        .unwrap_or_else(default_retrieval_model);
    // A stored model may leave out (or null) fields that always have a value on Dify's wire:
    // they read as Dify's defaults, as the search does.
    let defaults = default_retrieval_model();
    for field in [
        "search_method",
        "reranking_enable",
        "top_k",
        "score_threshold_enabled",
    ] {
        if retrieval.is_object() && retrieval[field].is_null() {
            retrieval[field] = defaults[field].clone();
        }
    }
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
        "created_by": dataset.created_by.as_deref().unwrap_or(DEFAULT_OWNER),
        "author_name": DEFAULT_OWNER_NAME,
        "created_at": dataset.created_at,
        "updated_by": dataset.created_by.as_deref().unwrap_or(DEFAULT_OWNER),
        "updated_at": dataset.updated_at,
        "embedding_model": dataset.embedding_model,
        "embedding_model_provider": embedding_provider,
        "embedding_available": true,
        "retrieval_model_dict": retrieval,
        "summary_index_setting": null,
        "tags": tags
            .iter()
            .map(|t| json!({"id": t.id, "name": t.name, "type": t.kind}))
            .collect::<Vec<_>>(),
        "doc_form": dataset.doc_form,
        "external_knowledge_info": {
            "external_knowledge_id": null,
            "external_knowledge_api_id": null,
            "external_knowledge_api_name": null,
            "external_knowledge_api_endpoint": null,
        },
        "external_retrieval_model": null,
        "doc_metadata": dataset_metadata_fields(schema),
        "built_in_field_enabled": schema.built_in_field_enabled,
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

/// One retrieval record; `metadata` is the document's metadata object (stored values and, when
/// on, built-in ones), shown as Dify shows `doc_metadata` there.
pub fn retrieval_record(result: &SearchResult, metadata: Option<&Map<String, Value>>) -> Value {
    let s = &result.segment;
    let doc_metadata = match metadata {
        Some(values) if !values.is_empty() || s.doc_metadata.is_some() => Value::Object(values.clone()),
        Some(_) | None => Value::Null,
    };
    // Parent-child hits list the child chunks that matched (Dify's `format_retrieval_documents`);
    // plain segments have none.
    let child_chunks = if result.child_chunks.is_empty() {
        Value::Null
    } else {
        result
            .child_chunks
            .iter()
            .map(|c| json!({"id": c.id, "content": c.content, "position": c.position, "score": c.score}))
            .collect()
    };
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
            "keywords": s.keywords,
            "index_node_id": s.id,
            "index_node_hash": content_hash(&s.content),
            "hit_count": s.hit_count,
            "enabled": s.enabled,
            "disabled_at": null,
            "disabled_by": null,
            "status": s.status,
            "created_by": DEFAULT_OWNER,
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
        "child_chunks": child_chunks,
        "score": result.score,
        "tsne_position": null,
        "files": null,
        "summary": null,
    })
}

/// A segment's `index_node_hash`: SHA-256 of its content.
fn content_hash(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

/// The segment object (A.5).
pub fn segment(s: &SegmentRow) -> Value {
    json!({
        "id": s.id,
        "position": s.position,
        "document_id": s.document_id,
        "content": s.content,
        "sign_content": s.content,
        "answer": s.answer,
        "word_count": s.word_count,
        "tokens": s.tokens,
        "keywords": s.keywords,
        "index_node_id": s.id,
        "index_node_hash": content_hash(&s.content),
        "hit_count": s.hit_count,
        "enabled": s.enabled,
        "disabled_at": s.disabled_at,
        "disabled_by": s.disabled_by,
        "status": s.status,
        "created_by": s.created_by.as_deref().unwrap_or(DEFAULT_OWNER),
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "updated_by": s.updated_by,
        "indexing_at": s.indexing_at.unwrap_or(s.created_at),
        "completed_at": s.completed_at,
        "error": s.error,
        "stopped_at": s.stopped_at,
        "child_chunks": s.child_chunks.iter().map(child_chunk).collect::<Vec<_>>(),
        "attachments": [],
        "summary": null,
    })
}

/// The child chunk object (A.5).
pub fn child_chunk(c: &ChildChunkRow) -> Value {
    json!({
        "id": c.id,
        "segment_id": c.segment_id,
        "content": c.content,
        "position": c.position,
        "word_count": c.word_count,
        "type": c.chunk_type,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    })
}

/// `indexing_status` as Dify reports it: `paused` while a document is paused.
fn reported_status(d: &DocumentRow) -> &str {
    if d.is_paused {
        "paused"
    } else {
        d.indexing_status.as_str()
    }
}

/// Dify's display status of a document (A.5).
pub fn display_status(d: &DocumentRow) -> &'static str {
    match d.indexing_status.as_str() {
        "waiting" if d.is_paused => "paused",
        "waiting" => "queuing",
        "parsing" | "cleaning" | "splitting" | "indexing" if d.is_paused => "paused",
        "parsing" | "cleaning" | "splitting" | "indexing" => "indexing",
        "error" => "error",
        "completed" if d.archived => "archived",
        "completed" if !d.enabled => "disabled",
        "completed" => "available",
        _ => "indexing",
    }
}

fn upload_file(d: &DocumentRow) -> Value {
    match &d.file {
        Some(f) => json!({
            "id": f.id, "name": f.name, "size": f.size, "extension": f.extension,
            "mime_type": f.mime_type, "created_by": DEFAULT_OWNER, "created_at": f.created_at as f64,
        }),
        None => Value::Null,
    }
}

/// A document's `doc_metadata`: `{id, name, type, value}` for each field of the dataset the
/// document has a value for, then the built-in fields when they are on (times shown as Dify
/// shows them, the text of float Unix seconds).
fn doc_metadata(d: &DocumentRow, schema: &MetadataSchema) -> Value {
    let stored: Map<String, Value> = match d.doc_metadata.as_deref().map(serde_json::from_str) {
        Some(Ok(Value::Object(values))) => values,
        Some(Ok(_) | Err(_)) | None => Map::new(),
    };
    let mut list: Vec<Value> = schema
        .fields
        .iter()
        .filter_map(|field| {
            stored.get(&field.name).map(|value| {
                json!({"id": field.id, "name": field.name, "type": field.kind.as_str(), "value": value})
            })
        })
        .collect();
    if schema.built_in_field_enabled {
        let values = built_in_values(&d.name, &d.data_source_type, d.created_at, d.updated_at);
        for ((name, value), (_, kind)) in values.into_iter().zip(BUILT_IN_FIELDS) {
            let value = match value.as_f64() {
                Some(seconds) => Value::from(format!("{seconds:?}")),
                None => value,
            };
            list.push(json!({"id": BUILT_IN_ID, "name": name, "type": kind.as_str(), "value": value}));
        }
    }
    Value::Array(list)
}

/// A website document's data_source_info (`{url, provider, job_id, only_main_content, mode}`).
fn website_info(d: &DocumentRow) -> Option<Value> {
    if d.data_source_type != "website_crawl" {
        return None;
    }
    d.data_source_info
        .as_deref()
        .and_then(|info| serde_json::from_str(info).ok())
}

/// Dify's data_source_detail_dict: the upload file, or a website page's origin.
fn data_source_detail(d: &DocumentRow) -> Value {
    match website_info(d) {
        Some(info) => json!({"website_crawl": info}),
        None => json!({"upload_file": upload_file(d)}),
    }
}

/// The document object of lists and create answers.
pub fn document(d: &DocumentRow, schema: &MetadataSchema) -> Value {
    json!({
        "id": d.id,
        "position": d.position,
        "data_source_type": d.data_source_type,
        "data_source_info": website_info(d).or_else(|| d.file.as_ref().map(|f| json!({"upload_file_id": f.id}))),
        "data_source_detail_dict": data_source_detail(d),
        "dataset_process_rule_id": null,
        "name": d.name,
        "created_from": d.created_from,
        "created_by": DEFAULT_OWNER,
        "created_at": d.created_at,
        "tokens": d.tokens,
        "indexing_status": reported_status(d),
        "error": d.error,
        "enabled": d.enabled,
        "disabled_at": d.disabled_at,
        "disabled_by": null,
        "archived": d.archived,
        "display_status": display_status(d),
        "word_count": d.word_count,
        "hit_count": d.hit_count,
        "doc_form": d.doc_form,
        "doc_metadata": doc_metadata(d, schema),
        "summary_index_status": null,
        "need_summary": false,
    })
}

/// One item of a batch's indexing status.
pub fn indexing_status(d: &DocumentRow) -> Value {
    json!({
        "id": d.id,
        "indexing_status": reported_status(d),
        "processing_started_at": d.processing_started_at,
        "parsing_completed_at": d.parsing_completed_at,
        "cleaning_completed_at": d.cleaning_completed_at,
        "splitting_completed_at": d.splitting_completed_at,
        "completed_at": d.completed_at,
        "paused_at": d.paused_at,
        "error": d.error,
        "stopped_at": d.stopped_at,
        "completed_segments": d.completed_segments,
        "total_segments": d.segment_count,
    })
}

/// The document detail, shaped by the `metadata` query value (all, only, without).
pub fn document_detail(d: &DocumentRow, dataset: &Dataset, metadata: &str, schema: &MetadataSchema) -> Value {
    if metadata == "only" {
        return json!({"id": d.id, "doc_type": null, "doc_metadata": doc_metadata(d, schema)});
    }
    let rule: Value = d
        .process_rule
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or(Value::Null);
    // Dify's `average_segment_length` is a whole number (word_count // segment_count).
    let average = if d.segment_count > 0 {
        d.word_count / d.segment_count
    } else {
        0
    };
    let mut detail = json!({
        "id": d.id,
        "position": d.position,
        "data_source_type": d.data_source_type,
        "data_source_info": website_info(d).unwrap_or_else(|| json!({"upload_file": upload_file(d)})),
        "dataset_process_rule_id": null,
        "dataset_process_rule": dataset.process_rule,
        "document_process_rule": {"id": null, "dataset_id": d.dataset_id, "mode": rule.get("mode"), "rules": rule.get("rules")},
        "name": d.name,
        "created_from": d.created_from,
        "created_by": DEFAULT_OWNER,
        "created_at": d.created_at,
        "tokens": d.tokens,
        "word_count": d.word_count,
        "indexing_status": reported_status(d),
        "completed_at": d.completed_at,
        "updated_at": d.updated_at,
        "indexing_latency": d.indexing_latency,
        "error": d.error,
        "enabled": d.enabled,
        "disabled_at": d.disabled_at,
        "disabled_by": null,
        "archived": d.archived,
        "doc_type": null,
        "doc_metadata": doc_metadata(d, schema),
        "segment_count": d.segment_count,
        "average_segment_length": average,
        "hit_count": d.hit_count,
        "display_status": display_status(d),
        "doc_form": d.doc_form,
        "doc_language": d.doc_language,
        "summary_index_status": null,
        "need_summary": false,
    });
    if metadata == "without"
        && let Some(object) = detail.as_object_mut()
    {
        object.remove("doc_type");
        object.remove("doc_metadata");
    }
    detail
}
