//! Segment keywords as Dify has them: extracted when a document is chunked (English and Chinese),
//! shown on segments and retrieval records, editable, and searched by full text: a keyword added
//! to a segment finds it, a keyword removed no longer does. Bad keyword input changes nothing.

use axum::http::StatusCode;
use ragd::engine::ReindexOptions;
use ragd::store::DEFAULT_TENANT;
use serde_json::{Value, json};

use crate::knowledge_api::{Api, assert_error};
use crate::support;

const BEES: &str = "Honeybees tell each other where flowers are with a waggle dance.\n\
    The angle of the dance points the way relative to the sun.\n\n\
    Bees store honey in hexagonal wax combs.\n\
    A strong colony holds tens of thousands of workers in summer.";

const CHINESE: &str = "蜜蜂是一种会飞的昆虫。蜜蜂采集花粉和花蜜，酿造蜂蜜。\n\n\
    茶叶起源于中国。绿茶不发酵，红茶完全发酵，乌龙茶半发酵。";

/// Adds a text document cut at blank lines and waits until it is indexed; returns its id.
async fn add_document(api: &Api, dataset: &str, text: &str, extra: Value) -> String {
    let mut body = json!({"name": "doc.txt", "text": text, "indexing_technique": "high_quality",
        "process_rule": {"mode": "custom", "rules": {"pre_processing_rules": [],
        "segmentation": {"separator": "\n\n", "max_tokens": 200}}}});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let uri = format!("/v1/datasets/{dataset}/document/create-by-text");
    let (status, answer) = api.call("POST", &uri, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let items = api
        .wait_until_indexed(dataset, answer["batch"].as_str().unwrap())
        .await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    answer["document"]["id"].as_str().unwrap().to_string()
}

async fn segments(api: &Api, dataset: &str, document: &str) -> Vec<Value> {
    let uri = format!("/v1/datasets/{dataset}/documents/{document}/segments");
    let (status, page) = api.call("GET", &uri, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["data"].as_array().unwrap().clone()
}

fn keywords(segment: &Value) -> Vec<String> {
    segment["keywords"]
        .as_array()
        .unwrap_or_else(|| panic!("keywords list: {segment}"))
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

/// Segment ids a search finds for `query`.
async fn search(api: &Api, dataset: &str, method: &str, query: &str) -> Vec<String> {
    let body = json!({"query": query, "retrieval_model": {"search_method": method,
        "reranking_enable": false, "top_k": 5, "score_threshold_enabled": false}});
    let uri = format!("/v1/datasets/{dataset}/retrieve");
    let (status, answer) = api.call("POST", &uri, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segment"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn update(api: &Api, base: &str, segment: &str, changes: Value) -> (StatusCode, Value) {
    api.call(
        "POST",
        &format!("{base}/{segment}"),
        Some(json!({"segment": changes})),
    )
    .await
}

#[tokio::test]
async fn english_segments_get_tf_idf_keywords_without_stop_words() {
    let api = Api::new().await;
    api.start_workers();
    let ds = api.create_dataset("bees").await;
    let doc = add_document(&api, &ds, BEES, json!({})).await;
    let list = segments(&api, &ds, &doc).await;
    assert_eq!(list.len(), 2);
    let (dance, honey) = (keywords(&list[0]), keywords(&list[1]));
    // "dance" is the one word said twice in the first segment.
    assert_eq!(dance[0], "dance", "{dance:?}");
    assert!(dance.contains(&"waggle".to_string()), "{dance:?}");
    assert!(
        honey.contains(&"honey".to_string()) && honey.contains(&"combs".to_string()),
        "{honey:?}"
    );
    for list in [&dance, &honey] {
        assert!((3..=10).contains(&list.len()), "{list:?}");
        for stop in ["the", "The", "of", "in", "with", "a", "A"] {
            assert!(!list.iter().any(|k| k == stop), "{stop} in {list:?}");
        }
    }
    // Retrieval records carry the segment's keywords too.
    let body = json!({"query": "waggle dance", "retrieval_model": {"search_method": "full_text_search",
        "reranking_enable": false, "top_k": 1, "score_threshold_enabled": false}});
    let (_, answer) = api
        .call("POST", &format!("/v1/datasets/{ds}/retrieve"), Some(body))
        .await;
    assert_eq!(keywords(&answer["records"][0]["segment"]), dance);
}

#[tokio::test]
async fn chinese_segments_get_jieba_word_keywords() {
    let api = Api::new().await;
    api.start_workers();
    let ds = api.create_dataset("chinese").await;
    let doc = add_document(&api, &ds, CHINESE, json!({"doc_language": "Chinese Simplified"})).await;
    let list = segments(&api, &ds, &doc).await;
    assert_eq!(list.len(), 2);
    let (bees, tea) = (keywords(&list[0]), keywords(&list[1]));
    assert_eq!(bees[0], "蜜蜂", "{bees:?}");
    assert!(bees.contains(&"蜂蜜".to_string()), "{bees:?}");
    assert_eq!(tea[0], "发酵", "{tea:?}");
    // Words, not characters or whole sentences; single characters and function words dropped.
    for keyword in bees.iter().chain(&tea) {
        assert!((2..=4).contains(&keyword.chars().count()), "{keyword}");
    }
    assert!(!bees.contains(&"一种".to_string()), "{bees:?}");
}

#[tokio::test]
async fn keyword_edits_add_and_remove_full_text_matches() {
    let api = Api::new().await;
    api.start_workers();
    let ds = api.create_dataset("edits").await;
    let doc = add_document(&api, &ds, BEES, json!({})).await;
    let list = segments(&api, &ds, &doc).await;
    let (dance, combs) = (
        list[0]["id"].as_str().unwrap().to_string(),
        list[1]["id"].as_str().unwrap().to_string(),
    );
    let base = format!("/v1/datasets/{ds}/documents/{doc}/segments");
    assert!(
        search(&api, &ds, "full_text_search", "pollination")
            .await
            .is_empty()
    );

    let (status, answer) = update(&api, &base, &dance, json!({"keywords": ["pollination", "dance"]})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(keywords(&answer["data"]), ["pollination", "dance"]);
    assert_eq!(
        search(&api, &ds, "full_text_search", "pollination").await,
        [dance.as_str()]
    );
    assert_eq!(
        search(&api, &ds, "keyword_search", "pollination").await,
        [dance.as_str()]
    );
    // Content and the other segment are untouched.
    assert_eq!(answer["data"]["content"], list[0]["content"]);
    assert_eq!(
        search(&api, &ds, "full_text_search", "hexagonal").await,
        [combs.as_str()]
    );

    // Hiding and showing the segment keeps its keywords in the index.
    let (status, _) = update(&api, &base, &dance, json!({"enabled": false})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        search(&api, &ds, "full_text_search", "pollination")
            .await
            .is_empty()
    );
    let (status, _) = update(&api, &base, &dance, json!({"enabled": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        search(&api, &ds, "full_text_search", "pollination").await,
        [dance.as_str()]
    );

    // A rebuild of the index from the stored segments keeps edited keywords.
    let dataset = api
        .engine
        .store()
        .dataset(DEFAULT_TENANT, &ds)
        .await
        .unwrap()
        .unwrap();
    let report = api
        .engine
        .reindex(&dataset, &ReindexOptions::default())
        .await
        .unwrap();
    assert!(report.switched, "{report:?}");
    assert_eq!(
        search(&api, &ds, "full_text_search", "pollination").await,
        [dance.as_str()]
    );

    // Removing the keyword stops the match; words of the text still match.
    let (status, answer) = update(&api, &base, &dance, json!({"keywords": ["dance"]})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        search(&api, &ds, "full_text_search", "pollination")
            .await
            .is_empty()
    );
    assert_eq!(
        search(&api, &ds, "full_text_search", "waggle").await,
        [dance.as_str()]
    );

    // New content without keywords gets keywords extracted from it, as in Dify.
    let (status, answer) = update(
        &api,
        &base,
        &dance,
        json!({"content": "Scout bees scout new nest sites for the swarm."}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let fresh = keywords(&answer["data"]);
    assert_eq!(fresh[0], "Scout", "{fresh:?}");
    assert!(!fresh.contains(&"dance".to_string()), "{fresh:?}");

    // Segments added with keywords are found by them; without, they get extracted ones.
    let (status, created) = api
        .call(
            "POST",
            &base,
            Some(json!({"segments": [
                {"content": "Drones do not sting.", "keywords": ["nectar"]},
                {"content": "Propolis seals cracks in the hive; propolis is resin."}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let drone = created["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(keywords(&created["data"][0]), ["nectar"]);
    assert_eq!(keywords(&created["data"][1])[0], "Propolis");
    assert_eq!(
        search(&api, &ds, "full_text_search", "nectar").await,
        [drone.as_str()]
    );
}

#[tokio::test]
async fn bad_keywords_are_refused_and_change_nothing() {
    let api = Api::new().await;
    api.start_workers();
    let ds = api.create_dataset("bad").await;
    let doc = add_document(&api, &ds, BEES, json!({})).await;
    let before = segments(&api, &ds, &doc).await;
    let id = before[0]["id"].as_str().unwrap().to_string();
    let base = format!("/v1/datasets/{ds}/documents/{doc}/segments");
    let too_many: Vec<String> = (0..51).map(|i| format!("word{i}")).collect();
    let too_long = "x".repeat(101);
    for bad in [
        json!("pollination"),
        json!({"a": 1}),
        json!([1, 2]),
        json!(too_many),
        json!([too_long]),
        json!(["pollination", "  "]),
    ] {
        let (status, answer) =
            update(&api, &base, &id, json!({"keywords": bad, "content": "new text"})).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
        let (status, answer) = update(&api, &base, &id, json!({"keywords": bad, "enabled": false})).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
        let (status, answer) = api
            .call(
                "POST",
                &base,
                Some(json!({"segments": [{"content": "Drones do not sting.", "keywords": bad}]})),
            )
            .await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    }
    assert_eq!(segments(&api, &ds, &doc).await, before);
    assert!(
        search(&api, &ds, "full_text_search", "pollination")
            .await
            .is_empty()
    );
    // Exactly at the limits is fine.
    let most: Vec<String> = (0..50).map(|i| format!("word{i}")).collect();
    let (status, answer) = update(&api, &base, &id, json!({"keywords": most})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = update(&api, &base, &id, json!({"keywords": ["x".repeat(100)]})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// `ragd ingest` extracts keywords and records each document's word count, which the document
/// views (list and detail, as the web console reads them) report.
#[tokio::test]
async fn ingest_records_keywords_and_word_counts() {
    let api = Api::new().await;
    support::ingest(&api.engine, "demo", &[support::repo_path("datasets/demo")]).await;
    let store = api.engine.store();
    let dataset = store
        .dataset_by_name(DEFAULT_TENANT, "demo")
        .await
        .unwrap()
        .unwrap();
    let (status, list) = api
        .call(
            "GET",
            &format!("/v1/datasets/{}/documents?limit=100", dataset.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let documents = list["data"].as_array().unwrap();
    assert_eq!(documents.len(), 6, "{list}");
    assert!(documents.iter().any(|d| d["name"] == "honeybees.pdf"));
    for document in documents {
        let (name, id) = (
            document["name"].as_str().unwrap(),
            document["id"].as_str().unwrap(),
        );
        assert!(
            document["word_count"].as_i64().unwrap() > 0,
            "{name} lists no words"
        );
        let uri = format!("/v1/datasets/{}/documents/{id}?metadata=without", dataset.id);
        let (_, detail) = api.call("GET", &uri, None).await;
        assert_eq!(detail["word_count"], document["word_count"], "{name}");
        let (segments, _) = store
            .list_segments(id, &Default::default(), 1, 100)
            .await
            .unwrap();
        for segment in segments {
            assert!(!segment.keywords.is_empty(), "{name}: {}", segment.content);
            assert!(segment.keywords.len() <= 10);
        }
    }
}
