//! Segments, child chunks and document status actions through HTTP, with the real model: every
//! change must show in what retrieve returns as soon as the API has answered.

use axum::http::StatusCode;
use ragd::store::{DEFAULT_TENANT, NewDataset};
use serde_json::{Value, json};

use crate::knowledge_api::{Api, assert_error};

const TEA: &str = "Green tea is made from leaves that are steamed or pan-fired soon after picking.\n\n\
    Black tea leaves are fully oxidised before drying, which darkens them and deepens the flavour.\n\n\
    Oolong tea sits between the two, partly oxidised and rolled into tight balls.";

const BIKES: &str = "A bicycle chain needs cleaning and fresh oil every few hundred kilometres.\n\n\
    Tyre pressure should be checked weekly because inner tubes slowly lose air.\n\n\
    Brake pads wear down and must be replaced when their grooves disappear.";

const BEES: &str = "Honeybees tell each other where flowers are with a waggle dance.\n\
    The angle of the dance points the way relative to the sun.\n\n\
    Bees store honey in hexagonal wax combs.\n\
    A strong colony holds tens of thousands of workers in summer.";

/// Adds a text document and waits until it is indexed; returns its id.
async fn add_document(api: &Api, dataset: &str, name: &str, text: &str, extra: Value) -> String {
    let mut body = json!({"name": name, "text": text, "indexing_technique": "high_quality",
                          "process_rule": {"mode": "custom", "rules": {"pre_processing_rules": [],
                          "segmentation": {"separator": "\n\n", "max_tokens": 200}}}});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{dataset}/document/create-by-text"),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let batch = answer["batch"].as_str().unwrap();
    let items = api.wait_until_indexed(dataset, batch).await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    answer["document"]["id"].as_str().unwrap().to_string()
}

/// Segment ids retrieve returns for `query`, best first.
async fn retrieve(api: &Api, dataset: &str, method: &str, query: &str, top_k: usize) -> Vec<String> {
    let body = json!({"query": query, "retrieval_model": {"search_method": method,
        "reranking_enable": false, "top_k": top_k, "score_threshold_enabled": false}});
    let (status, answer) = api
        .call("POST", &format!("/v1/datasets/{dataset}/retrieve"), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segment"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// A document's detail, with the `word_count` that only the document list reports.
async fn document(api: &Api, dataset: &str, document: &str) -> Value {
    let (status, mut detail) = api
        .call(
            "GET",
            &format!("/v1/datasets/{dataset}/documents/{document}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let (status, list) = api
        .call(
            "GET",
            &format!("/v1/datasets/{dataset}/documents?limit=100"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == document)
        .expect("listed");
    detail["word_count"] = listed["word_count"].clone();
    detail
}

async fn segments(api: &Api, dataset: &str, document: &str, query: &str) -> Value {
    let uri = format!("/v1/datasets/{dataset}/documents/{document}/segments{query}");
    let (status, page) = api.call("GET", &uri, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

fn ids(segments: &Value) -> Vec<String> {
    segments
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn count(value: &Value) -> i64 {
    value.as_i64().unwrap()
}

#[tokio::test]
async fn segment_edits_change_what_retrieve_finds_and_keep_counts_right() {
    let api = Api::new().await;
    api.start_workers();
    let ds = api.create_dataset("kb").await;
    let doc = add_document(&api, &ds, "tea", TEA, json!({})).await;
    let bikes = add_document(&api, &ds, "bikes", BIKES, json!({})).await;
    let before = document(&api, &ds, &doc).await;
    let base = format!("/v1/datasets/{ds}/documents/{doc}/segments");

    let lighthouse = "The lighthouse keeper polished the great glass lens every evening before the storms.";
    let sourdough = "Sourdough bread rises slowly because wild yeast ferments the dough overnight.";
    let (status, created) = api
        .call(
            "POST",
            &base,
            Some(json!({"segments": [
                {"content": lighthouse, "keywords": ["lighthouse", "lens"]},
                {"content": sourdough, "answer": "ignored outside qa documents"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["doc_form"], "text_model");
    let data = created["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let (light_id, dough_id) = (
        data[0]["id"].as_str().unwrap().to_string(),
        data[1]["id"].as_str().unwrap().to_string(),
    );
    let segment = &data[0];
    assert_eq!(segment["content"], lighthouse);
    assert_eq!(segment["sign_content"], lighthouse);
    assert_eq!(segment["keywords"], json!(["lighthouse", "lens"]));
    assert_eq!(segment["word_count"], lighthouse.chars().count());
    assert!(count(&segment["tokens"]) > 10, "{segment}");
    assert_eq!(segment["position"], count(&before["segment_count"]) + 1);
    assert_eq!(data[1]["position"], count(&before["segment_count"]) + 2);
    assert_eq!(data[1]["answer"], Value::Null);
    // Sent without keywords, a segment gets keywords extracted from its text, as in Dify.
    assert_eq!(data[1]["keywords"][0], "Sourdough", "{}", data[1]);
    assert_eq!(segment["index_node_id"], light_id.as_str());
    assert_eq!(segment["index_node_hash"].as_str().unwrap().len(), 64);
    for (field, value) in [
        ("enabled", json!(true)),
        ("status", json!("completed")),
        ("hit_count", json!(0)),
        ("child_chunks", json!([])),
        ("attachments", json!([])),
        ("summary", Value::Null),
        ("disabled_at", Value::Null),
        ("document_id", json!(doc)),
    ] {
        assert_eq!(segment[field], value, "{field}: {segment}");
    }
    for field in ["created_at", "updated_at", "indexing_at", "completed_at"] {
        assert!(segment[field].is_i64(), "{field}: {segment}");
    }

    // New segments are found at once, by meaning and by words.
    let found = retrieve(
        &api,
        &ds,
        "semantic_search",
        "who cleans the lens of the lighthouse",
        1,
    )
    .await;
    assert_eq!(found, std::slice::from_ref(&light_id));
    let found = retrieve(&api, &ds, "full_text_search", "sourdough yeast", 3).await;
    assert_eq!(found.first(), Some(&dough_id));

    let after_add = document(&api, &ds, &doc).await;
    let added_words = (lighthouse.chars().count() + sourdough.chars().count()) as i64;
    assert_eq!(
        count(&after_add["segment_count"]),
        count(&before["segment_count"]) + 2
    );
    assert_eq!(
        count(&after_add["word_count"]),
        count(&before["word_count"]) + added_words
    );
    assert!(count(&after_add["tokens"]) > count(&before["tokens"]));

    // Get and list, with a case-insensitive keyword, repeatable status and pages.
    let (status, got) = api.call("GET", &format!("{base}/{light_id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["data"]["content"], lighthouse);
    assert_eq!(got["doc_form"], "text_model");
    let page = segments(&api, &ds, &doc, "?keyword=LIGHTHOUSE").await;
    assert_eq!(ids(&page["data"]), std::slice::from_ref(&light_id));
    assert_eq!(page["total"], 1);
    let all = segments(&api, &ds, &doc, "?status=completed&status=error").await;
    assert_eq!(all["total"], after_add["segment_count"]);
    assert_eq!(segments(&api, &ds, &doc, "?status=error").await["total"], 0);
    let first = segments(&api, &ds, &doc, "?page=1&limit=2").await;
    assert_eq!(
        (first["page"].clone(), first["limit"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(first["has_more"], true);
    assert_eq!(first["data"][0]["position"], 1, "position order");
    let last_page = (count(&all["total"]) + 1) / 2;
    let last = segments(&api, &ds, &doc, &format!("?page={last_page}&limit=2")).await;
    assert_eq!(last["has_more"], false);
    assert_eq!(ids(&last["data"]).last(), Some(&dough_id));

    // New content replaces the old one in both indexes.
    let penguins = "Emperor penguins huddle together on the Antarctic ice to survive the winter wind.";
    let (status, updated) = api
        .call(
            "POST",
            &format!("{base}/{light_id}"),
            Some(json!({"segment": {"content": penguins, "keywords": ["penguin"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["data"]["content"], penguins);
    assert_eq!(updated["data"]["keywords"], json!(["penguin"]));
    assert_eq!(updated["data"]["word_count"], penguins.chars().count());
    assert!(updated["data"]["updated_by"].is_string());
    let found = retrieve(
        &api,
        &ds,
        "semantic_search",
        "penguins keeping warm on antarctic ice",
        1,
    )
    .await;
    assert_eq!(found, std::slice::from_ref(&light_id));
    let found = retrieve(&api, &ds, "full_text_search", "lighthouse keeper lens", 5).await;
    assert!(!found.contains(&light_id), "old text is gone: {found:?}");
    let after_update = document(&api, &ds, &doc).await;
    let word_delta = penguins.chars().count() as i64 - lighthouse.chars().count() as i64;
    assert_eq!(
        count(&after_update["word_count"]),
        count(&after_add["word_count"]) + word_delta
    );

    // A disabled segment is never returned, and cannot be edited until it is enabled again.
    let (status, disabled) = api
        .call(
            "POST",
            &format!("{base}/{light_id}"),
            Some(json!({"segment": {"enabled": false}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{disabled}");
    assert_eq!(disabled["data"]["enabled"], false);
    assert!(disabled["data"]["disabled_at"].is_i64());
    assert!(disabled["data"]["disabled_by"].is_string());
    for method in ["semantic_search", "full_text_search", "hybrid_search"] {
        let found = retrieve(&api, &ds, method, "emperor penguins antarctic ice", 10).await;
        assert!(!found.contains(&light_id), "{method}: {found:?}");
    }
    let (status, body) = api
        .call(
            "POST",
            &format!("{base}/{light_id}"),
            Some(json!({"segment": {"content": "anything else"}})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(body["message"], "Can't update disabled segment");
    let (status, enabled) = api
        .call(
            "POST",
            &format!("{base}/{light_id}"),
            Some(json!({"segment": {"enabled": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["data"]["enabled"], true);
    assert_eq!(enabled["data"]["disabled_at"], Value::Null);
    assert_eq!(enabled["data"]["content"], penguins, "enabling keeps the text");
    let found = retrieve(&api, &ds, "full_text_search", "emperor penguins antarctic ice", 3).await;
    assert_eq!(found.first(), Some(&light_id));

    // Deleting removes the segment from SQL and both indexes, and from the counts.
    let (status, body) = api.call("DELETE", &format!("{base}/{dough_id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null, "empty body");
    for method in ["semantic_search", "full_text_search"] {
        let found = retrieve(&api, &ds, method, "sourdough bread wild yeast dough", 10).await;
        assert!(!found.contains(&dough_id), "{method}: {found:?}");
    }
    let (status, body) = api.call("GET", &format!("{base}/{dough_id}"), None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["message"], "Segment not found.");
    let after_delete = document(&api, &ds, &doc).await;
    assert_eq!(
        count(&after_delete["segment_count"]),
        count(&after_add["segment_count"]) - 1
    );
    assert_eq!(
        count(&after_delete["word_count"]),
        count(&after_update["word_count"]) - sourdough.chars().count() as i64
    );
    let (_, dataset) = api.call("GET", &format!("/v1/datasets/{ds}"), None).await;
    let bikes_words = count(&document(&api, &ds, &bikes).await["word_count"]);
    assert_eq!(
        count(&dataset["word_count"]),
        count(&after_delete["word_count"]) + bikes_words,
        "dataset totals follow: {dataset}"
    );
}

#[tokio::test]
async fn child_chunks_of_a_parent_child_document() {
    let api = Api::new().await;
    api.start_workers();
    let (model, dimension) = api.engine.configured_model();
    let rule = json!({"mode": "hierarchical", "rules": {"pre_processing_rules": [],
        "parent_mode": "paragraph",
        "segmentation": {"separator": "\n\n", "max_tokens": 300},
        "subchunk_segmentation": {"separator": "\n", "max_tokens": 60}}});
    let dataset = api
        .engine
        .store()
        .create_dataset(NewDataset {
            tenant_id: DEFAULT_TENANT.into(),
            name: "parent-child".into(),
            embedding_model: Some(model),
            embedding_dimension: Some(dimension),
            doc_form: "hierarchical_model".into(),
            process_rule: rule.clone(),
            description: String::new(),
            indexing_technique: Some("high_quality".into()),
            permission: "only_me".into(),
            retrieval_model: None,
            created_by: None,
        })
        .await
        .unwrap();
    let ds = dataset.id;
    let extra = json!({"doc_form": "hierarchical_model", "process_rule": rule.clone()});
    let doc = add_document(&api, &ds, "bees", BEES, extra).await;
    let extra = json!({"doc_form": "hierarchical_model", "process_rule": rule});
    add_document(&api, &ds, "bikes", BIKES, extra).await;

    let listed = segments(&api, &ds, &doc, "").await;
    assert_eq!(listed["doc_form"], "hierarchical_model");
    assert_eq!(listed["total"], 2, "two paragraphs: {listed}");
    let first = &listed["data"][0];
    let children = first["child_chunks"].as_array().unwrap();
    assert_eq!(children.len(), 2, "one child per line: {first}");
    assert_eq!(children[0]["type"], "automatic");
    assert_eq!(children[0]["segment_id"], first["id"]);
    assert_eq!(children[1]["position"], 2);

    // A new segment gets children cut with the document's rule.
    let base = format!("/v1/datasets/{ds}/documents/{doc}/segments");
    let (status, created) = api
        .call(
            "POST",
            &base,
            Some(json!({"segments": [{"content": "Drones are male bees.\nThey do not sting and do not gather nectar."}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["doc_form"], "hierarchical_model");
    let parent = created["data"][0].clone();
    let parent_id = parent["id"].as_str().unwrap().to_string();
    let texts: Vec<&str> = parent["child_chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Drones are male bees.",
            "They do not sting and do not gather nectar."
        ]
    );
    let found = retrieve(&api, &ds, "semantic_search", "male bees without a sting", 1).await;
    assert_eq!(found, std::slice::from_ref(&parent_id));

    // Child chunk CRUD, each visible to retrieve at once.
    let chunks = format!("{base}/{parent_id}/child_chunks");
    let glaciers = "Glaciers carve deep fjords as they grind slowly toward the sea.";
    let (status, added) = api
        .call("POST", &chunks, Some(json!({"content": glaciers})))
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let child = &added["data"];
    assert_eq!(child["type"], "customized");
    assert_eq!(child["position"], 3);
    assert_eq!(child["word_count"], glaciers.chars().count());
    assert_eq!(child["segment_id"], parent_id.as_str());
    let child_id = child["id"].as_str().unwrap().to_string();
    let found = retrieve(&api, &ds, "semantic_search", "glaciers carving fjords", 1).await;
    assert_eq!(
        found,
        std::slice::from_ref(&parent_id),
        "a child hit returns its parent"
    );

    let (status, page) = api.call("GET", &chunks, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3);
    assert_eq!(page["total_pages"], 1);
    assert_eq!(
        (page["page"].clone(), page["limit"].clone()),
        (json!(1), json!(20))
    );
    let (_, page) = api
        .call("GET", &format!("{chunks}?keyword=GLACIERS&limit=1"), None)
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["id"], child_id.as_str());
    let (_, page) = api.call("GET", &format!("{chunks}?limit=2&page=2"), None).await;
    assert_eq!(page["total_pages"], 2);
    assert_eq!(page["data"][0]["id"], child_id.as_str());

    let volcano = "Volcanic ash clouds ground aeroplanes across the whole of Europe.";
    let (status, patched) = api
        .call(
            "PATCH",
            &format!("{chunks}/{child_id}"),
            Some(json!({"content": volcano})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["data"]["content"], volcano);
    assert_eq!(patched["data"]["id"], child_id.as_str());
    let found = retrieve(&api, &ds, "full_text_search", "volcanic ash aeroplanes", 3).await;
    assert_eq!(found.first(), Some(&parent_id));
    let found = retrieve(&api, &ds, "full_text_search", "glaciers fjords", 5).await;
    assert!(!found.contains(&parent_id), "old child text is gone: {found:?}");

    let (status, _) = api.call("DELETE", &format!("{chunks}/{child_id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let found = retrieve(&api, &ds, "full_text_search", "volcanic ash aeroplanes", 5).await;
    assert!(!found.contains(&parent_id), "deleted child row: {found:?}");
    let found = retrieve(&api, &ds, "full_text_search", "drones male bees", 5).await;
    assert_eq!(found.first(), Some(&parent_id), "the other children stay");
    let (status, body) = api
        .call(
            "PATCH",
            &format!("{chunks}/{child_id}"),
            Some(json!({"content": "again"})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["message"], "Child chunk not found.");
    let (status, body) = api.call("POST", &chunks, Some(json!({"content": " "}))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");

    // New content alone keeps the children; regenerate_child_chunks cuts them again.
    let queens = "The queen lays up to two thousand eggs a day.\nWorkers feed her royal jelly.";
    let (status, kept) = api
        .call(
            "POST",
            &format!("{base}/{parent_id}"),
            Some(json!({"segment": {"content": queens}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["data"]["child_chunks"].as_array().unwrap().len(), 2);
    assert_eq!(
        kept["data"]["child_chunks"][0]["content"],
        "Drones are male bees."
    );
    let (status, regenerated) = api
        .call(
            "POST",
            &format!("{base}/{parent_id}"),
            Some(json!({"segment": {"content": queens, "regenerate_child_chunks": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{regenerated}");
    let texts: Vec<&str> = regenerated["data"]["child_chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "The queen lays up to two thousand eggs a day.",
            "Workers feed her royal jelly."
        ]
    );
    let found = retrieve(
        &api,
        &ds,
        "semantic_search",
        "how many eggs does the queen lay",
        1,
    )
    .await;
    assert_eq!(found, std::slice::from_ref(&parent_id));
    let found = retrieve(&api, &ds, "full_text_search", "drones sting nectar", 5).await;
    assert!(!found.contains(&parent_id), "old children are gone: {found:?}");

    // Disabling a parent hides all of its children.
    let (status, _) = api
        .call(
            "POST",
            &format!("{base}/{parent_id}"),
            Some(json!({"segment": {"enabled": false}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let found = retrieve(&api, &ds, "full_text_search", "queen eggs royal jelly", 5).await;
    assert!(!found.contains(&parent_id), "{found:?}");
}

/// Runs a document status action and checks Dify's answer.
async fn act(api: &Api, dataset: &str, action: &str, documents: &[&str]) {
    let uri = format!("/v1/datasets/{dataset}/documents/status/{action}");
    let (status, answer) = api
        .call("PATCH", &uri, Some(json!({"document_ids": documents})))
        .await;
    assert_eq!(status, StatusCode::OK, "{action}: {answer}");
    assert_eq!(answer, json!({"result": "success"}));
}

#[tokio::test]
async fn document_status_actions_hide_and_restore_documents() {
    let api = Api::new().await;
    api.start_workers();
    let ds = api.create_dataset("kb").await;
    let tea = add_document(&api, &ds, "tea", TEA, json!({})).await;
    let bikes = add_document(&api, &ds, "bikes", BIKES, json!({})).await;
    let tea_segments = ids(&segments(&api, &ds, &tea, "").await["data"]);
    let query = "oxidised tea leaves";
    let tea_found = |found: &[String]| found.iter().any(|id| tea_segments.contains(id));
    assert!(tea_found(&retrieve(&api, &ds, "hybrid_search", query, 3).await));

    let status_uri = |action: &str| format!("/v1/datasets/{ds}/documents/status/{action}");
    act(&api, &ds, "disable", &[tea.as_str()]).await;
    let detail = document(&api, &ds, &tea).await;
    assert_eq!(detail["enabled"], false);
    assert!(detail["disabled_at"].is_i64());
    assert_eq!(detail["display_status"], "disabled");
    for method in ["semantic_search", "full_text_search", "hybrid_search"] {
        assert!(
            !tea_found(&retrieve(&api, &ds, method, query, 10).await),
            "{method}"
        );
    }
    // Segments cannot be added to a disabled document.
    let base = format!("/v1/datasets/{ds}/documents/{tea}/segments");
    let (status, body) = api
        .call("POST", &base, Some(json!({"segments": [{"content": "x"}]})))
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["message"], "Document is disabled.");

    act(&api, &ds, "enable", &[tea.as_str()]).await;
    let detail = document(&api, &ds, &tea).await;
    assert_eq!(detail["enabled"], true);
    assert_eq!(detail["disabled_at"], Value::Null);
    assert_eq!(detail["display_status"], "available");
    assert!(tea_found(&retrieve(&api, &ds, "hybrid_search", query, 3).await));

    act(&api, &ds, "archive", &[tea.as_str()]).await;
    let detail = document(&api, &ds, &tea).await;
    assert_eq!(detail["archived"], true);
    assert_eq!(detail["display_status"], "archived");
    assert!(!tea_found(&retrieve(&api, &ds, "hybrid_search", query, 10).await));
    // Archived documents are read-only.
    let segment = &tea_segments[0];
    for (method, uri, body) in [
        (
            "POST",
            base.clone(),
            Some(json!({"segments": [{"content": "x"}]})),
        ),
        (
            "POST",
            format!("{base}/{segment}"),
            Some(json!({"segment": {"content": "x"}})),
        ),
        ("DELETE", format!("{base}/{segment}"), None),
    ] {
        let (status, body) = api.call(method, &uri, body).await;
        assert_error(
            status,
            &body,
            StatusCode::FORBIDDEN,
            "archived_document_immutable",
        );
        assert_eq!(body["message"], "The archived document is not editable.");
    }
    // Enabling an archived document does not bring it back; un-archiving does.
    act(&api, &ds, "disable", &[tea.as_str()]).await;
    act(&api, &ds, "enable", &[tea.as_str()]).await;
    assert!(!tea_found(&retrieve(&api, &ds, "hybrid_search", query, 10).await));
    act(&api, &ds, "un_archive", &[tea.as_str()]).await;
    let detail = document(&api, &ds, &tea).await;
    assert_eq!(detail["archived"], false);
    assert_eq!(detail["display_status"], "available");
    assert!(tea_found(&retrieve(&api, &ds, "hybrid_search", query, 3).await));

    // A segment disabled on its own stays hidden when its document comes back.
    let listed = segments(&api, &ds, &tea, "?keyword=black").await;
    let black_tea = ids(&listed["data"])[0].clone();
    let (status, _) = api
        .call(
            "POST",
            &format!("{base}/{black_tea}"),
            Some(json!({"segment": {"enabled": false}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    act(&api, &ds, "disable", &[tea.as_str(), bikes.as_str()]).await;
    act(&api, &ds, "enable", &[tea.as_str(), bikes.as_str()]).await;
    let found = retrieve(&api, &ds, "hybrid_search", query, 10).await;
    assert!(!found.contains(&black_tea), "{found:?}");
    assert!(tea_found(&found), "the other tea segments are back: {found:?}");

    // Ids that name no document are skipped; unknown actions are refused.
    act(
        &api,
        &ds,
        "disable",
        &["00000000-0000-0000-0000-00000000dead", "nonsense"],
    )
    .await;
    let (status, body) = api
        .call(
            "PATCH",
            &status_uri("unarchive"),
            Some(json!({"document_ids": [tea]})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_action");
    assert_eq!(
        document(&api, &ds, &tea).await["enabled"],
        true,
        "nothing changed"
    );
}

#[tokio::test]
async fn segment_requests_fail_like_dify_and_change_nothing() {
    let api = Api::new().await;
    let ds = api.create_dataset("kb").await;
    // No workers yet: the document waits, so it is not completed.
    let (status, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{ds}/document/create-by-text"),
            Some(json!({"name": "tea", "text": TEA, "indexing_technique": "high_quality"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let doc = answer["document"]["id"].as_str().unwrap().to_string();
    let base = format!("/v1/datasets/{ds}/documents/{doc}/segments");
    let (status, body) = api
        .call("POST", &base, Some(json!({"segments": [{"content": "x"}]})))
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["message"], "Document is not completed.");
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{ds}/documents/status/disable"),
            Some(json!({"document_ids": [doc]})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_action");
    assert_eq!(body["message"], "Document: tea is not completed.");

    api.start_workers();
    let items = api
        .wait_until_indexed(&ds, answer["batch"].as_str().unwrap())
        .await;
    assert_eq!(items[0]["indexing_status"], "completed");
    let before = document(&api, &ds, &doc).await;

    let (status, body) = api.call("POST", &base, Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "Segments is required"}), "no envelope");
    for bad in [
        json!({"segments": [{"content": "fine"}, {"content": "  \n"}]}),
        json!({"segments": [{"answer": "no content"}]}),
    ] {
        let (status, body) = api.call("POST", &base, Some(bad)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
        assert_eq!(body["message"], "Content is empty");
    }
    let (status, body) = api
        .call("POST", &base, Some(json!({"segments": "not a list"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let after = document(&api, &ds, &doc).await;
    assert_eq!(
        after["segment_count"], before["segment_count"],
        "nothing was added"
    );
    assert_eq!(after["word_count"], before["word_count"]);

    let missing = "00000000-0000-0000-0000-00000000dead";
    let (status, body) = api
        .call(
            "GET",
            &format!("/v1/datasets/{ds}/documents/{missing}/segments"),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["message"], "Document not found.");
    let (status, body) = api
        .call(
            "POST",
            &format!("/v1/datasets/{ds}/documents/not-a-uuid/segments"),
            Some(json!({"segments": []})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    for (method, body) in [
        ("GET", None),
        ("POST", Some(json!({"segment": {"content": "x"}}))),
        ("DELETE", None),
    ] {
        let (status, answer) = api.call(method, &format!("{base}/{missing}"), body).await;
        assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
        assert_eq!(answer["message"], "Segment not found.", "{method}");
    }
    let segment = ids(&segments(&api, &ds, &doc, "").await["data"])[0].clone();
    let (status, body) = api
        .call(
            "POST",
            &format!("{base}/{segment}"),
            Some(json!({"content": "x"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, body) = api
        .call(
            "POST",
            &format!("{base}/{segment}"),
            Some(json!({"segment": {"content": "   "}})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(body["message"], "Content is empty");
    // Child chunks belong to parent-child documents only.
    let chunks = format!("{base}/{segment}/child_chunks");
    let (status, body) = api
        .call("POST", &chunks, Some(json!({"content": "a child"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, page) = api.call("GET", &chunks, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 0);
    let (status, body) = api.call("DELETE", &format!("{chunks}/{missing}"), None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["message"], "Child chunk not found.");
    let (status, body) = api.call("GET", &format!("{chunks}?limit=0"), None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");

    let (status, body) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{ds}/documents/status/delete"),
            Some(json!({"document_ids": [doc]})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_action");
    assert_eq!(body["message"], "Invalid action: delete");
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/v1/datasets/{missing}/documents/status/enable"),
            Some(json!({"document_ids": [doc]})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}
