//! `ragd serve` and a separate `ragd worker` process on one data dir and one database: the
//! worker process indexes what the API creates, the API process retrieves it, and segment edits
//! through the API succeed while the worker process writes the same dataset's indexes.

use std::process::{Child, Command, Stdio};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::knowledge_api::Api;
use crate::support;

/// A `ragd worker` process, killed when dropped.
struct WorkerProcess(Child);

impl WorkerProcess {
    fn start(data_dir: &std::path::Path) -> Self {
        let log = std::fs::File::create(data_dir.join("worker.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ragd"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["worker", "--workers", "2"])
            // The same SQLite file as the API's engine, whatever the environment says.
            .env_remove("DATABASE_URL")
            .env_remove("RAGD_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ragd worker starts");
        Self(child)
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn retrieval(method: &str, top_k: usize) -> Value {
    json!({"search_method": method, "reranking_enable": false, "top_k": top_k,
           "score_threshold_enabled": false})
}

async fn retrieve(api: &Api, dataset: &str, query: &str, method: &str, top_k: usize) -> Value {
    let (status, found) = api
        .call(
            "POST",
            &format!("/v1/datasets/{dataset}/retrieve"),
            Some(json!({"query": query, "retrieval_model": retrieval(method, top_k)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found
}

async fn add_text(api: &Api, dataset: &str, name: &str, text: &str) -> String {
    let (status, answer) = api
        .call(
            "POST",
            &format!("/v1/datasets/{dataset}/document/create-by-text"),
            Some(
                json!({"name": name, "text": text, "indexing_technique": "high_quality",
                        "process_rule": {"mode": "automatic"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["batch"].as_str().unwrap().to_string()
}

/// Documents of the dataset not yet completed (failures fail the test).
async fn unfinished(api: &Api, dataset: &str) -> usize {
    let (status, list) = api
        .call(
            "GET",
            &format!("/v1/datasets/{dataset}/documents?limit=100"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let docs = list["data"].as_array().unwrap();
    assert!(docs.iter().all(|d| d["indexing_status"] != "error"), "{list}");
    docs.iter()
        .filter(|d| d["indexing_status"] != "completed")
        .count()
}

#[tokio::test]
async fn a_worker_process_indexes_while_the_api_process_serves_and_edits() {
    // The API process: the router over an engine with no workers of its own.
    let api = Api::new().await;
    let data_dir = api.engine.config().data_dir.clone();
    let ds = api.create_dataset("shared").await;
    // Open the dataset's index in this process before the worker writes to it: this handle
    // must see the other process's commits.
    let found = retrieve(&api, &ds, "volcano", "hybrid_search", 3).await;
    assert_eq!(found["records"], json!([]));
    let _worker = WorkerProcess::start(&data_dir);

    let demo = ["account-help.txt", "tea.txt", "volcanoes.md", "solar-system.md"];
    let mut batches = Vec::new();
    for name in demo {
        let text = std::fs::read_to_string(support::repo_path(&format!("datasets/demo/{name}"))).unwrap();
        batches.push(add_text(&api, &ds, name, &text).await);
    }
    for batch in &batches {
        let items = api.wait_until_indexed(&ds, batch).await;
        assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    }
    let found = retrieve(&api, &ds, "Eyjafjallajökull", "full_text_search", 3).await;
    assert_eq!(found["records"][0]["segment"]["document"]["name"], "volcanoes.md");
    let found = retrieve(
        &api,
        &ds,
        "cannot remember the secret phrase to get into my work computer",
        "semantic_search",
        1,
    )
    .await;
    assert_eq!(
        found["records"][0]["segment"]["document"]["name"],
        "account-help.txt"
    );

    // Keep the worker busy with long documents, and edit segments through the API meanwhile.
    let (_, tea) = api
        .call(
            "GET",
            &format!("/v1/datasets/{ds}/documents?keyword=tea.txt"),
            None,
        )
        .await;
    let tea = tea["data"][0]["id"].as_str().unwrap().to_string();
    let (_, segments) = api
        .call(
            "GET",
            &format!("/v1/datasets/{ds}/documents/{tea}/segments?limit=100"),
            None,
        )
        .await;
    let segment_ids: Vec<String> = segments["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let mut long_batches = Vec::new();
    for copy in 0..2 {
        for name in demo {
            let text = std::fs::read_to_string(support::repo_path(&format!("datasets/demo/{name}"))).unwrap();
            long_batches.push(add_text(&api, &ds, &format!("{copy}-{name}"), &text.repeat(6)).await);
        }
    }
    let mut edits_while_indexing = 0;
    let mut edited = Vec::new();
    for (n, segment) in segment_ids.iter().cycle().enumerate().take(40) {
        if unfinished(&api, &ds).await == 0 {
            break;
        }
        let content = format!("Marker{n} zeppelin hangar number {n} holds airships for the tea trade.");
        let (status, body) = api
            .call(
                "POST",
                &format!("/v1/datasets/{ds}/documents/{tea}/segments/{segment}"),
                Some(json!({"segment": {"content": content}})),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "edit {n} while the worker indexes: {body}"
        );
        // The edit is visible at once, in this process's index handle.
        let found = retrieve(&api, &ds, &format!("Marker{n}"), "full_text_search", 1).await;
        assert_eq!(found["records"][0]["segment"]["id"], segment.as_str(), "{found}");
        edits_while_indexing += 1;
        edited.push((segment.clone(), content));
    }
    assert!(
        edits_while_indexing >= 3,
        "the worker finished too fast to overlap with edits ({edits_while_indexing} edits)"
    );
    for batch in &long_batches {
        let items = api.wait_until_indexed(&ds, batch).await;
        assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
        assert_eq!(items[0]["completed_segments"], items[0]["total_segments"]);
    }

    // Everything the worker wrote is searchable here, and each segment once.
    let found = retrieve(&api, &ds, "Eyjafjallajökull", "full_text_search", 100).await;
    let ids: Vec<&str> = found["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segment"]["id"].as_str().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "no duplicate rows");
    let volcano_docs: std::collections::HashSet<&str> = found["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segment"]["document"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        volcano_docs.len(),
        3,
        "the original and both long copies: {volcano_docs:?}"
    );
    // The last edit of each segment survived the worker's writes, in both indexes.
    let (segment, content) = edited.last().unwrap();
    let found = retrieve(&api, &ds, content, "semantic_search", 1).await;
    assert_eq!(found["records"][0]["segment"]["id"], segment.as_str(), "{found}");
    assert_eq!(found["records"][0]["segment"]["content"], content.as_str());
    let log = std::fs::read_to_string(data_dir.join("worker.log")).unwrap_or_default();
    assert!(!log.contains("ERROR"), "worker log:\n{log}");
}
