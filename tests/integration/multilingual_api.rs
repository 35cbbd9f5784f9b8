//! Choosing an embedding model per dataset, as Dify does: the model-types route lists every
//! installed model, datasets are created with one, a change of model rebuilds the dataset's
//! index, and the multilingual model finds Korean text from a Korean query and its English
//! translation.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::knowledge_api::{Api, assert_error};
use crate::support;

const MINILM: &str = "sentence-transformers/all-MiniLM-L6-v2-int8-dynamic";
const E5: &str = "intfloat/multilingual-e5-small-q4";

/// Korean documents and the English translation of one of them.
const DOCUMENTS: [(&str, &str); 4] = [
    (
        "seoul",
        "서울은 대한민국의 수도이며 약 940만 명의 사람들이 살고 있는 가장 큰 도시입니다.",
    ),
    (
        "seoul-en",
        "Seoul is the capital of South Korea and its largest city, home to about 9.4 million people.",
    ),
    (
        "kimchi",
        "김치는 배추와 고춧가루로 만드는 한국의 전통 발효 음식입니다.",
    ),
    ("hangul", "한글은 세종대왕이 백성을 위해 만든 글자입니다."),
];

/// An API whose engine shares the test run's loaded copy of the multilingual model.
async fn api() -> Api {
    let api = Api::new().await;
    api.engine
        .register_embedder(support::multilingual_embedder())
        .await
        .unwrap();
    api.start_workers();
    api
}

async fn add_documents(api: &Api, id: &str) {
    let mut batches = Vec::new();
    for (name, text) in DOCUMENTS {
        let (status, answer) = api
            .call(
                "POST",
                &format!("/v1/datasets/{id}/document/create-by-text"),
                Some(
                    json!({"name": name, "text": text, "indexing_technique": "high_quality",
                    "doc_language": "Korean", "process_rule": {"mode": "automatic"}}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        batches.push(answer["batch"].as_str().unwrap().to_string());
    }
    for batch in &batches {
        let items = api.wait_until_indexed(id, batch).await;
        assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    }
}

/// Names of the documents semantic search ranks first for `query`.
async fn semantic_names(api: &Api, id: &str, query: &str) -> Vec<String> {
    let (status, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(
                json!({"query": query, "retrieval_model": {"search_method": "semantic_search",
                "reranking_enable": false, "top_k": 4, "score_threshold_enabled": false}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segment"]["document"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// A high-quality dataset created with `model`; returns its id.
async fn dataset_with_model(api: &Api, name: &str, model: &str) -> String {
    let (status, created) = api
        .call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": name, "indexing_technique": "high_quality", "embedding_model": model})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["id"].as_str().unwrap().to_string()
}

async fn dataset(api: &Api, id: &str) -> Value {
    let (status, answer) = api.call("GET", &format!("/v1/datasets/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

#[tokio::test]
async fn model_types_list_every_installed_model_and_unknown_models_are_refused() {
    let api = Api::new().await;
    let (status, answer) = api
        .call(
            "GET",
            "/v1/workspaces/current/models/model-types/text-embedding",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let models: Vec<&str> = answer["data"][0]["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, [MINILM, E5], "the default first: {answer}");
    assert_eq!(
        answer["data"][0]["models"][1]["model_properties"]["context_size"],
        512
    );

    let (status, body) = api
        .call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": "kb", "indexing_technique": "high_quality",
                "embedding_model": "openai/text-embedding-3-small", "embedding_model_provider": "openai"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert!(body["message"].as_str().unwrap().contains(E5), "{body}");
    // Nothing was created.
    let (_, list) = api.call("GET", "/v1/datasets", None).await;
    assert_eq!(list["total"], 0, "{list}");

    let id = api.create_dataset("kb").await;
    let before = dataset(&api, &id).await;
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{id}"),
            Some(json!({"name": "renamed", "embedding_model": "no-such-model"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(
        dataset(&api, &id).await,
        before,
        "a refused update changes nothing"
    );
}

#[tokio::test]
async fn a_dataset_with_the_multilingual_model_finds_korean_text_and_its_translation() {
    let api = api().await;
    let (status, created) = api
        .call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": "서울", "indexing_technique": "high_quality",
                "embedding_model": E5, "embedding_model_provider": "ragd"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["embedding_model"], E5);
    let id = created["id"].as_str().unwrap().to_string();
    add_documents(&api, &id).await;
    let names = semantic_names(&api, &id, "서울에는 몇 명이 살고 있나요?").await;
    let mut top: Vec<&str> = names.iter().take(2).map(String::as_str).collect();
    top.sort_unstable();
    assert_eq!(top, ["seoul", "seoul-en"], "ranked {names:?}");
    assert_eq!(
        semantic_names(&api, &id, "세종대왕이 만든 글자").await[0],
        "hangul"
    );
}

#[tokio::test]
async fn changing_a_datasets_model_rebuilds_its_index_with_the_new_model() {
    let api = api().await;
    let id = dataset_with_model(&api, "kb", MINILM).await;
    add_documents(&api, &id).await;
    let generation = |dataset: ragd::store::Dataset| dataset.index_generation;
    let store = api.engine.store();
    let before = generation(
        store
            .dataset(ragd::store::DEFAULT_TENANT, &id)
            .await
            .unwrap()
            .unwrap(),
    );

    let (status, answer) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{id}"),
            Some(json!({"embedding_model": E5})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut switched = Value::Null;
    for _ in 0..600 {
        switched = dataset(&api, &id).await;
        if switched["embedding_model"] == E5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(switched["embedding_model"], E5, "{switched}");
    let after = generation(
        store
            .dataset(ragd::store::DEFAULT_TENANT, &id)
            .await
            .unwrap()
            .unwrap(),
    );
    assert_eq!(after, before + 1, "a new index generation went live");
    assert_eq!(switched["document_count"], 4);
    // The rebuilt index answers with the new model's vectors.
    let names = semantic_names(&api, &id, "서울에는 몇 명이 살고 있나요?").await;
    assert_eq!(names[0], "seoul", "ranked {names:?}");
}

/// Posts `text` as dify-client's `create_document_by_text` does (no `doc_language`), waits until
/// it is indexed.
async fn add_as_dify_client(api: &Api, id: &str, name: &str, text: &str) {
    let (status, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            Some(
                json!({"name": name, "text": text, "indexing_technique": "high_quality",
                "process_rule": {"mode": "automatic"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let items = api
        .wait_until_indexed(id, answer["batch"].as_str().unwrap())
        .await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
}

async fn stored(api: &Api, id: &str) -> ragd::store::Dataset {
    api.engine
        .store()
        .dataset(ragd::store::DEFAULT_TENANT, id)
        .await
        .unwrap()
        .unwrap()
}

/// Records of a retrieval: (document name, score).
async fn retrieve(api: &Api, id: &str, query: &str, method: &str) -> Vec<(String, f64)> {
    let (status, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(
                json!({"query": query, "retrieval_model": {"search_method": method,
                "reranking_enable": false, "top_k": 4, "score_threshold_enabled": false,
                "weights": {"vector_setting": {"vector_weight": 0.7},
                            "keyword_setting": {"keyword_weight": 0.3}}}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["segment"]["document"]["name"].as_str().unwrap().to_string(),
                r["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_dataset_follows_the_language_of_its_first_document_when_none_is_named() {
    let api = api().await;
    // Created as Dify's clients do: no model named, so the default (English) one is recorded.
    let (status, created) = api
        .call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": "지식", "indexing_technique": "high_quality"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["embedding_model"], MINILM);
    let korean = created["id"].as_str().unwrap().to_string();
    add_as_dify_client(&api, &korean, "seoul", DOCUMENTS[0].1).await;
    let after = stored(&api, &korean).await;
    assert_eq!(after.doc_language, "Korean", "told from the text");
    assert_eq!(
        after.embedding_model.as_deref(),
        Some(E5),
        "a model that reads Korean"
    );
    for (name, text) in &DOCUMENTS[1..] {
        add_as_dify_client(&api, &korean, name, text).await;
    }
    assert_eq!(stored(&api, &korean).await.embedding_model.as_deref(), Some(E5));
    let hits = retrieve(&api, &korean, "서울에는 몇 명이 살고 있나요?", "hybrid_search").await;
    assert_eq!(hits[0].0, "seoul", "{hits:?}");
    let hits = retrieve(&api, &korean, "세종대왕이 만든 글자", "semantic_search").await;
    assert_eq!(hits[0].0, "hangul", "{hits:?}");

    // A dataset created with a name only gets its technique and model with its first document.
    let bare = api.create_dataset("기본").await;
    add_as_dify_client(&api, &bare, "hangul", DOCUMENTS[3].1).await;
    let after = stored(&api, &bare).await;
    assert_eq!(
        (after.doc_language.as_str(), after.embedding_model.as_deref()),
        ("Korean", Some(E5))
    );

    // English text leaves the default as it is.
    let english = api.create_dataset("kb").await;
    add_as_dify_client(&api, &english, "seoul-en", DOCUMENTS[1].1).await;
    let after = stored(&api, &english).await;
    assert_eq!(after.doc_language, "English");
    assert_eq!(after.embedding_model.as_deref(), Some(MINILM));
    // A later Korean document does not move a dataset that has documents.
    add_as_dify_client(&api, &english, "kimchi", DOCUMENTS[2].1).await;
    assert_eq!(
        stored(&api, &english).await.embedding_model.as_deref(),
        Some(MINILM)
    );
}

#[tokio::test]
async fn hybrid_search_leaves_out_an_english_models_vectors_for_a_korean_query() {
    let api = api().await;
    let id = dataset_with_model(&api, "kb", MINILM).await;
    // The language is named, so the dataset keeps the model it was given.
    add_documents(&api, &id).await;
    assert_eq!(stored(&api, &id).await.embedding_model.as_deref(), Some(MINILM));

    let query = "한국의 전통 음식 김치";
    let hybrid = retrieve(&api, &id, query, "hybrid_search").await;
    let full_text = retrieve(&api, &id, query, "full_text_search").await;
    let names = |hits: &[(String, f64)]| hits.iter().map(|h| h.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&hybrid), names(&full_text), "ranked by its words alone");
    assert_eq!(hybrid[0].0, "kimchi");
    assert!(
        (hybrid[0].1 - 1.0).abs() < 1e-6,
        "the best keyword hit scores 1: {hybrid:?}"
    );
    assert!(hybrid.iter().all(|h| (0.0..=1.0).contains(&h.1)), "{hybrid:?}");
    // An English query still fuses both halves: the translation is found by meaning as well.
    let english = retrieve(&api, &id, "capital city population", "hybrid_search").await;
    assert_eq!(english[0].0, "seoul-en", "{english:?}");
    assert!(english[0].1 < 1.0, "a fused score: {english:?}");
}
