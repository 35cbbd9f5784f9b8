//! Indexing modes and control through HTTP, with the real model: economy (BM25-only) datasets and
//! switching them to and from high_quality, parent-child (hierarchical_model) documents, pause,
//! resume and retry of indexing, and retrieval on datasets with nothing searchable.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use pipelines::{EmbedError, Embedder, TokenCounter};
use ragd::store::DEFAULT_TENANT;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::knowledge_api::{Api, assert_error};
use crate::support;

/// The real model, counting what it embeds.
struct CountingEmbedder {
    inner: Arc<dyn Embedder>,
    documents: AtomicUsize,
    queries: AtomicUsize,
    /// Calls of `embed_documents`.
    calls: AtomicUsize,
}

impl CountingEmbedder {
    fn new() -> Self {
        Self {
            inner: support::embedder(),
            documents: AtomicUsize::new(0),
            queries: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
        }
    }
}

impl Embedder for CountingEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }

    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.documents.fetch_add(texts.len(), Ordering::SeqCst);
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.embed_documents(texts)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        self.inner.embed_query(text)
    }

    fn token_counter(&self) -> TokenCounter {
        self.inner.token_counter()
    }
}

fn demo(name: &str) -> String {
    std::fs::read_to_string(support::repo_path(&format!("datasets/demo/{name}"))).unwrap()
}

fn retrieval(method: &str, top_k: usize) -> Value {
    json!({"search_method": method, "reranking_enable": false, "top_k": top_k,
           "score_threshold_enabled": false})
}

impl Api {
    /// Adds a text document; returns (document id, batch).
    async fn add_text(&self, dataset: &str, name: &str, text: &str, extra: Value) -> (String, String) {
        let mut body = json!({"name": name, "text": text, "process_rule": {"mode": "automatic"}});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let (status, answer) = self
            .call(
                "POST",
                &format!("/v1/datasets/{dataset}/document/create-by-text"),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        (
            answer["document"]["id"].as_str().unwrap().to_string(),
            answer["batch"].as_str().unwrap().to_string(),
        )
    }

    async fn retrieve(&self, dataset: &str, query: &str, model: Option<Value>) -> (StatusCode, Value) {
        let mut body = json!({"query": query});
        if let Some(model) = model {
            body["retrieval_model"] = model;
        }
        self.call("POST", &format!("/v1/datasets/{dataset}/retrieve"), Some(body))
            .await
    }

    /// Polls until every document of the dataset is available (completed, enabled).
    async fn wait_all_available(&self, dataset: &str) -> Value {
        for _ in 0..600 {
            let (status, list) = self
                .call(
                    "GET",
                    &format!("/v1/datasets/{dataset}/documents?limit=100"),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{list}");
            let docs = list["data"].as_array().unwrap();
            if docs.iter().all(|d| d["display_status"] == "available") {
                return list;
            }
            assert!(docs.iter().all(|d| d["display_status"] != "error"), "{list}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("documents of {dataset} did not become available");
    }

    async fn dataset_row(&self, id: &str) -> ragd::store::Dataset {
        self.engine
            .store()
            .dataset(DEFAULT_TENANT, id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn indexing_item(&self, dataset: &str, batch: &str) -> Value {
        let (status, body) = self
            .call(
                "GET",
                &format!("/v1/datasets/{dataset}/documents/{batch}/indexing-status"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"][0].clone()
    }
}

fn names(found: &Value) -> Vec<String> {
    found["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segment"]["document"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn economy_datasets_index_bm25_only_and_switch_to_and_from_vectors() {
    let embedder = Arc::new(CountingEmbedder::new());
    let api = Api::with_embedder(embedder.clone()).await;
    api.start_workers();
    let (status, created) = api
        .call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": "eco", "indexing_technique": "economy"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["embedding_model"], Value::Null);
    assert_eq!(created["retrieval_model_dict"]["search_method"], "keyword_search");
    let ds = created["id"].as_str().unwrap().to_string();
    for name in ["account-help.txt", "tea.txt", "volcanoes.md"] {
        let (_, batch) = api.add_text(&ds, name, &demo(name), json!({})).await;
        let items = api.wait_until_indexed(&ds, &batch).await;
        assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    }
    let (_, tea) = api
        .call("GET", &format!("/v1/datasets/{ds}/documents?keyword=tea"), None)
        .await;
    let tea_id = tea["data"][0]["id"].as_str().unwrap().to_string();
    let lighthouse = "Lighthouse keepers polished the great glass lens every single morning.";
    let (status, added) = api
        .call(
            "POST",
            &format!("/v1/datasets/{ds}/documents/{tea_id}/segments"),
            Some(json!({"segments": [{"content": lighthouse}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let lighthouse_id = added["data"][0]["id"].as_str().unwrap().to_string();

    // BM25 with real scores: the best hit's score is the full-text index's own BM25.
    for method in ["keyword_search", "full_text_search"] {
        let (status, found) = api
            .retrieve(&ds, "Eyjafjallajökull ash", Some(retrieval(method, 3)))
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(names(&found)[0], "volcanoes.md", "{method}");
        let score = found["records"][0]["score"].as_f64().unwrap() as f32;
        let dir = api.engine.index_dir(&api.dataset_row(&ds).await).join("fulltext");
        let bm25 = indexes::fulltext::FullTextIndex::open(&dir, 50_000_000, indexes::Analyzer::default())
            .await
            .unwrap()
            .search("Eyjafjallajökull ash".into(), 1, indexes::Filter::default())
            .await
            .unwrap();
        assert!(
            (score - bm25[0].score).abs() < 1e-4 && score > 0.0,
            "{score} vs {bm25:?}"
        );
    }
    // The dataset's default search is keyword search; semantic and hybrid are refused as in Dify's
    // operations that need a high-quality dataset.
    let (status, found) = api.retrieve(&ds, "Eyjafjallajökull", None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(names(&found)[0], "volcanoes.md");
    for method in ["semantic_search", "hybrid_search"] {
        let (status, body) = api.retrieve(&ds, "volcano", Some(retrieval(method, 3))).await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "high_quality_dataset_only",
        );
        assert_eq!(
            body["message"],
            "Current operation only supports 'high-quality' datasets."
        );
    }
    assert_eq!(embedder.documents.load(Ordering::SeqCst), 0, "nothing embedded");
    assert_eq!(embedder.queries.load(Ordering::SeqCst), 0, "no query embedded");
    let dataset = api.dataset_row(&ds).await;
    assert!(!api.engine.index_dir(&dataset).join("vectors").exists());

    // economy -> high_quality: existing segments (the added one included) are embedded.
    let (status, patched) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{ds}"),
            Some(json!({"indexing_technique": "high_quality"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["indexing_technique"], "high_quality");
    assert_eq!(patched["embedding_model"], support::embedder().model_id());
    let list = api.wait_all_available(&ds).await;
    assert_eq!(list["total"], 3);
    let segments_before: i64 = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["word_count"].as_i64().unwrap())
        .sum();
    assert!(embedder.documents.load(Ordering::SeqCst) > 0);
    let (status, found) = api
        .retrieve(
            &ds,
            "cannot remember the secret phrase to get into my work computer",
            Some(retrieval("semantic_search", 1)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(names(&found), ["account-help.txt"]);
    let (_, found) = api
        .retrieve(
            &ds,
            "who cleaned the optics of the coastal beacon",
            Some(retrieval("semantic_search", 1)),
        )
        .await;
    assert_eq!(
        found["records"][0]["segment"]["id"], lighthouse_id,
        "the segment added in economy mode was kept and embedded: {found}"
    );
    let (status, _) = api
        .retrieve(&ds, "volcanic ash", Some(retrieval("hybrid_search", 3)))
        .await;
    assert_eq!(status, StatusCode::OK);

    // high_quality -> economy: the vectors are dropped, keyword search goes on.
    let (status, patched) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{ds}"),
            Some(json!({"indexing_technique": "economy"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["embedding_model"], Value::Null);
    let dataset = api.dataset_row(&ds).await;
    assert!(!api.engine.index_dir(&dataset).join("vectors").exists());
    let (status, body) = api
        .retrieve(&ds, "volcano", Some(retrieval("semantic_search", 3)))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "high_quality_dataset_only",
    );
    let (status, found) = api
        .retrieve(&ds, "Eyjafjallajökull", Some(retrieval("keyword_search", 3)))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(names(&found)[0], "volcanoes.md");
    let list = api.wait_all_available(&ds).await;
    let segments_after: i64 = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["word_count"].as_i64().unwrap())
        .sum();
    assert_eq!(segments_before, segments_after, "documents untouched");

    // A bad technique changes nothing.
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{ds}"),
            Some(json!({"indexing_technique": "premium"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(
        api.dataset_row(&ds).await.indexing_technique.as_deref(),
        Some("economy")
    );
}

#[tokio::test]
async fn the_first_document_decides_economy_for_a_dataset_without_technique() {
    let embedder = Arc::new(CountingEmbedder::new());
    let api = Api::with_embedder(embedder.clone()).await;
    api.start_workers();
    let ds = api.create_dataset("undecided").await;
    let (_, batch) = api
        .add_text(
            &ds,
            "tea.txt",
            &demo("tea.txt"),
            json!({"indexing_technique": "economy"}),
        )
        .await;
    api.wait_until_indexed(&ds, &batch).await;
    let (_, dataset) = api.call("GET", &format!("/v1/datasets/{ds}"), None).await;
    assert_eq!(dataset["indexing_technique"], "economy");
    assert_eq!(dataset["embedding_model"], Value::Null);
    assert_eq!(embedder.documents.load(Ordering::SeqCst), 0);
    // Later documents inherit it, whatever they say.
    let (_, batch) = api
        .add_text(
            &ds,
            "volcanoes.md",
            &demo("volcanoes.md"),
            json!({"indexing_technique": "high_quality"}),
        )
        .await;
    api.wait_until_indexed(&ds, &batch).await;
    let (_, dataset) = api.call("GET", &format!("/v1/datasets/{ds}"), None).await;
    assert_eq!(dataset["indexing_technique"], "economy");
    assert_eq!(embedder.documents.load(Ordering::SeqCst), 0);
}

const HIERARCHICAL: &str = "Honeybees tell each other where flowers are with a waggle dance.\n\
    The angle of the dance points the way relative to the sun.\n\n\
    Bees store honey in hexagonal wax combs.\n\
    A strong colony holds tens of thousands of workers in summer.";

fn hierarchical_rule(parent_mode: &str) -> Value {
    json!({"mode": "hierarchical", "rules": {"pre_processing_rules": [],
        "parent_mode": parent_mode,
        "segmentation": {"separator": "\n\n", "max_tokens": 300},
        "subchunk_segmentation": {"separator": "\n", "max_tokens": 60}}})
}

#[tokio::test]
async fn parent_child_documents_through_the_api() {
    let api = Api::new().await;
    api.start_workers();
    let ds = api.create_dataset("parents").await;
    let base = format!("/v1/datasets/{ds}/document/create-by-text");
    // Refused before anything is created: a parent-child form without a hierarchical rule, a
    // hierarchical rule without the parent-child form, and qa_model (no LLM here).
    for bad in [
        json!({"name": "a", "text": "t", "indexing_technique": "high_quality", "doc_form": "hierarchical_model",
               "process_rule": {"mode": "automatic"}}),
        json!({"name": "b", "text": "t", "indexing_technique": "high_quality",
               "process_rule": hierarchical_rule("paragraph")}),
        json!({"name": "c", "text": "t", "indexing_technique": "high_quality", "doc_form": "qa_model"}),
        json!({"name": "d", "text": "t", "indexing_technique": "high_quality", "doc_form": "hierarchical_model",
               "process_rule": {"mode": "hierarchical", "rules": {"pre_processing_rules": [],
               "segmentation": {"separator": "\n\n", "max_tokens": 300}}}}),
    ] {
        let (status, body) = api.call("POST", &base, Some(bad)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (_, dataset) = api.call("GET", &format!("/v1/datasets/{ds}"), None).await;
    assert_eq!(dataset["document_count"], 0);
    assert_eq!(dataset["doc_form"], "text_model");

    let (bees, batch) = api
        .add_text(
            &ds,
            "bees",
            HIERARCHICAL,
            json!({"indexing_technique": "high_quality", "doc_form": "hierarchical_model",
                   "process_rule": hierarchical_rule("paragraph")}),
        )
        .await;
    let items = api.wait_until_indexed(&ds, &batch).await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    let (_, dataset) = api.call("GET", &format!("/v1/datasets/{ds}"), None).await;
    assert_eq!(
        dataset["doc_form"], "hierarchical_model",
        "set by the first document"
    );

    // A later document of another form is refused with Dify's message; nothing is created.
    let (status, body) = api
        .call(
            "POST",
            &base,
            Some(json!({"name": "plain", "text": "t", "doc_form": "text_model",
                        "process_rule": {"mode": "automatic"}})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(
        body["message"],
        "doc_form is different from the dataset doc_form."
    );
    // One that sends neither form nor rule inherits both.
    let (status, answer) = api
        .call(
            "POST",
            &base,
            Some(json!({"name": "bikes", "text": "A bicycle chain needs fresh oil.\nTyres lose air slowly.\n\nBrake pads wear down."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["document"]["doc_form"], "hierarchical_model");
    api.wait_until_indexed(&ds, answer["batch"].as_str().unwrap())
        .await;
    let (_, list) = api
        .call("GET", &format!("/v1/datasets/{ds}/documents"), None)
        .await;
    assert_eq!(list["total"], 2, "{list}");

    let (_, segments) = api
        .call(
            "GET",
            &format!("/v1/datasets/{ds}/documents/{bees}/segments"),
            None,
        )
        .await;
    assert_eq!(segments["doc_form"], "hierarchical_model");
    assert_eq!(segments["total"], 2, "two paragraphs: {segments}");

    // Retrieval searches the children and returns their parent with the children that matched.
    for method in ["semantic_search", "full_text_search", "hybrid_search"] {
        let (status, found) = api
            .retrieve(
                &ds,
                "which way does the waggle dance point",
                Some(retrieval(method, 2)),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let record = &found["records"][0];
        let parent = record["segment"]["content"].as_str().unwrap();
        assert!(
            parent.starts_with("Honeybees tell each other"),
            "{method}: {found}"
        );
        let children = record["child_chunks"].as_array().expect("child_chunks listed");
        assert!(!children.is_empty(), "{method}: {record}");
        for child in children {
            assert!(parent.contains(child["content"].as_str().unwrap()), "{child}");
            assert!(child["id"].is_string() && child["position"].is_i64(), "{child}");
        }
        let best = children
            .iter()
            .map(|c| c["score"].as_f64().unwrap())
            .fold(f64::MIN, f64::max);
        assert!(
            (record["score"].as_f64().unwrap() - best).abs() < 1e-6,
            "a parent scores as its best child: {record}"
        );
    }

    // full-doc: the whole document is one parent.
    let ds2 = api.create_dataset("full-doc").await;
    let (doc, batch) = api
        .add_text(
            &ds2,
            "bees",
            HIERARCHICAL,
            json!({"indexing_technique": "high_quality", "doc_form": "hierarchical_model",
                   "process_rule": hierarchical_rule("full-doc")}),
        )
        .await;
    api.wait_until_indexed(&ds2, &batch).await;
    let (_, segments) = api
        .call(
            "GET",
            &format!("/v1/datasets/{ds2}/documents/{doc}/segments"),
            None,
        )
        .await;
    assert_eq!(segments["total"], 1, "{segments}");
    assert_eq!(
        segments["data"][0]["child_chunks"].as_array().unwrap().len(),
        4,
        "one child per line: {segments}"
    );
}

#[tokio::test]
async fn pause_resume_and_retry_of_indexing() {
    let api = Api::new().await;
    let ds = api.create_dataset("control").await;
    // No worker runs yet: the documents wait.
    let (paused, paused_batch) = api
        .add_text(
            &ds,
            "tea.txt",
            &demo("tea.txt"),
            json!({"indexing_technique": "high_quality"}),
        )
        .await;
    let processing =
        |doc: &str, action: &str| format!("/v1/datasets/{ds}/documents/{doc}/processing/{action}");
    let (status, body) = api.call("PATCH", &processing(&paused, "pause"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null, "no body");
    // Pausing again is harmless.
    let (status, _) = api.call("PATCH", &processing(&paused, "pause"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let item = api.indexing_item(&ds, &paused_batch).await;
    assert_eq!(item["indexing_status"], "paused");
    assert!(item["paused_at"].is_i64(), "{item}");
    let (_, detail) = api
        .call("GET", &format!("/v1/datasets/{ds}/documents/{paused}"), None)
        .await;
    assert_eq!(detail["display_status"], "paused");

    // A worker indexes the other document and leaves the paused one alone.
    let (other, other_batch) = api
        .add_text(&ds, "volcanoes.md", &demo("volcanoes.md"), json!({}))
        .await;
    let shutdown = CancellationToken::new();
    let workers = ragd::jobs::spawn_workers(api.engine.clone(), 1, shutdown.clone());
    let items = api.wait_until_indexed(&ds, &other_batch).await;
    assert_eq!(items[0]["indexing_status"], "completed");
    let item = api.indexing_item(&ds, &paused_batch).await;
    assert_eq!(item["indexing_status"], "paused", "{item}");
    assert_eq!(
        item["processing_started_at"],
        Value::Null,
        "never started: {item}"
    );

    // Errors: a completed document, unknown ids, archived documents; nothing changes.
    let (status, body) = api.call("PATCH", &processing(&other, "pause"), None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "document_indexing");
    assert_eq!(body["message"], "Cannot pause completed document.");
    let (status, body) = api.call("PATCH", &processing(&other, "resume"), None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "document_indexing");
    assert_eq!(body["message"], "Document is not in paused status.");
    for doc in ["00000000-0000-0000-0000-00000000dead", "not-a-uuid"] {
        for action in ["pause", "resume"] {
            let (status, body) = api.call("PATCH", &processing(doc, action), None).await;
            assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
        }
    }
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/00000000-0000-0000-0000-00000000dead/documents/{paused}/processing/pause"),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{ds}/documents/{paused}/processing/stop"),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");

    // Resume: the job is queued again and the document completes.
    let (status, _) = api.call("PATCH", &processing(&paused, "resume"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let items = api.wait_until_indexed(&ds, &paused_batch).await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    assert_eq!(items[0]["paused_at"], Value::Null);
    assert!(items[0]["total_segments"].as_i64().unwrap() >= 1);

    // Retry: a document that failed because its file was missing completes once it is back.
    shutdown.cancel();
    for worker in workers {
        worker.await.unwrap();
    }
    let (broken, broken_batch) = api
        .add_text(&ds, "solar-system.md", &demo("solar-system.md"), json!({}))
        .await;
    let row = api
        .engine
        .store()
        .api_document(&ds, &broken)
        .await
        .unwrap()
        .unwrap();
    let path = api.engine.file_store().join(&row.file.unwrap().storage_key);
    let aside = path.with_extension("aside");
    std::fs::rename(&path, &aside).unwrap();
    let shutdown = CancellationToken::new();
    let workers = ragd::jobs::spawn_workers(api.engine.clone(), 1, shutdown.clone());
    let items = api.wait_until_indexed(&ds, &broken_batch).await;
    assert_eq!(items[0]["indexing_status"], "error", "{items:?}");
    assert!(items[0]["error"].as_str().is_some_and(|e| !e.is_empty()));
    shutdown.cancel();
    for worker in workers {
        worker.await.unwrap();
    }
    // Refused as a whole, changing nothing: an unknown id, a completed document, no ids.
    let retry = format!("/v1/datasets/{ds}/retry");
    let (status, body) = api
        .call(
            "POST",
            &retry,
            Some(json!({"document_ids": [broken, "00000000-0000-0000-0000-00000000dead"]})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = api
        .call("POST", &retry, Some(json!({"document_ids": [broken, other]})))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "document_already_finished",
    );
    let (status, body) = api.call("POST", &retry, Some(json!({}))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(
        api.indexing_item(&ds, &broken_batch).await["indexing_status"],
        "error"
    );

    let (status, body) = api
        .call("POST", &retry, Some(json!({"document_ids": [broken]})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let item = api.indexing_item(&ds, &broken_batch).await;
    assert_eq!(item["indexing_status"], "waiting", "queued again: {item}");
    assert_eq!(item["error"], Value::Null);
    std::fs::rename(&aside, &path).unwrap();
    let shutdown = CancellationToken::new();
    let workers = ragd::jobs::spawn_workers(api.engine.clone(), 1, shutdown.clone());
    let items = api.wait_until_indexed(&ds, &broken_batch).await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    assert_eq!(items[0]["completed_segments"], items[0]["total_segments"]);

    // Archived documents cannot be paused or retried.
    let (status, _) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{ds}/documents/status/archive"),
            Some(json!({"document_ids": [other]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.call("PATCH", &processing(&other, "pause"), None).await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "archived_document_immutable",
    );
    let (status, body) = api
        .call("POST", &retry, Some(json!({"document_ids": [other]})))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "archived_document_immutable",
    );

    shutdown.cancel();
    for worker in workers {
        worker.await.unwrap();
    }
}

#[tokio::test]
async fn retrieval_with_nothing_searchable_answers_empty_records() {
    let api = Api::new().await;
    api.start_workers();
    let empty = api.create_dataset("empty").await;
    let (status, created) = api
        .call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": "empty economy", "indexing_technique": "economy"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let empty_economy = created["id"].as_str().unwrap().to_string();
    for (ds, methods) in [
        (
            &empty,
            &[
                "semantic_search",
                "full_text_search",
                "hybrid_search",
                "keyword_search",
            ][..],
        ),
        (&empty_economy, &["keyword_search", "full_text_search"][..]),
    ] {
        for method in methods {
            let (status, found) = api
                .retrieve(ds, "anything at all", Some(retrieval(method, 4)))
                .await;
            assert_eq!(status, StatusCode::OK, "{method}: {found}");
            assert_eq!(found["records"], json!([]), "{method}");
            assert_eq!(found["query"]["content"], "anything at all");
        }
        let (status, found) = api.retrieve(ds, "anything", None).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["records"], json!([]));
    }

    // Every document disabled: nothing to find, and no error either.
    let ds = api.create_dataset("disabled").await;
    let (doc, batch) = api
        .add_text(
            &ds,
            "tea.txt",
            &demo("tea.txt"),
            json!({"indexing_technique": "high_quality"}),
        )
        .await;
    api.wait_until_indexed(&ds, &batch).await;
    let (_, found) = api
        .retrieve(&ds, "green tea", Some(retrieval("hybrid_search", 4)))
        .await;
    assert!(!found["records"].as_array().unwrap().is_empty(), "{found}");
    let (status, _) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{ds}/documents/status/disable"),
            Some(json!({"document_ids": [doc]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for method in ["semantic_search", "full_text_search", "hybrid_search"] {
        let (status, found) = api.retrieve(&ds, "green tea", Some(retrieval(method, 4))).await;
        assert_eq!(status, StatusCode::OK, "{method}: {found}");
        assert_eq!(found["records"], json!([]), "{method}");
    }
}

#[tokio::test]
async fn waiting_uploads_share_embedding_batches_and_fail_alone() {
    let embedder = Arc::new(CountingEmbedder::new());
    let api = Api::with_embedder(embedder.clone()).await;
    let (status, created) = api
        .call(
            "POST",
            "/v1/datasets",
            Some(json!({"name": "notes", "indexing_technique": "high_quality"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let ds = created["id"].as_str().unwrap().to_string();
    // Queued before any worker runs: small notes, and one file that cannot be parsed.
    let topics = [
        "Lighthouse keepers polished the great glass lens every morning.",
        "Beekeepers smoke the hive gently before opening it.",
        "Sourdough starters need flour and water every day.",
        "Glaciers carve valleys shaped like the letter U.",
        "Chess clocks limit the time each player may think.",
        "Origami cranes are folded from one square sheet of paper.",
    ];
    let mut batches = Vec::new();
    for (n, topic) in topics.iter().enumerate() {
        let (_, batch) = api.add_text(&ds, &format!("note-{n}"), topic, json!({})).await;
        batches.push(batch);
    }
    let (status, broken) = api
        .multipart(
            &format!("/v1/datasets/{ds}/document/create-by-file"),
            ("broken.pdf", b"%PDF-1.7\nthis is not really a pdf"),
            Some(json!({"indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{broken}");
    let broken_batch = broken["batch"].as_str().unwrap().to_string();
    let calls_before = embedder.calls.load(Ordering::SeqCst);
    api.start_workers();
    for batch in &batches {
        let items = api.wait_until_indexed(&ds, batch).await;
        assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    }
    let items = api.wait_until_indexed(&ds, &broken_batch).await;
    assert_eq!(items[0]["indexing_status"], "error", "{items:?}");
    let calls = embedder.calls.load(Ordering::SeqCst) - calls_before;
    assert!(
        calls < topics.len(),
        "{} documents took {calls} model calls: waiting documents share batches",
        topics.len()
    );
    assert_eq!(embedder.documents.load(Ordering::SeqCst), topics.len());
    let (status, found) = api
        .retrieve(&ds, "folding paper birds", Some(retrieval("semantic_search", 1)))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(names(&found), ["note-5"]);
}
