//! The console end to end, as a person using the web console does it: first-run setup, sign in,
//! upload a PDF, make documents of it, wait until they are indexed, test retrieval, then create
//! a dataset API key and use it on the knowledge API.

use axum::http::StatusCode;
use serde_json::json;

use crate::console_datasets::{knowledge_config, start_workers, uri, wait_until_indexed};
use crate::console_support::{Console, OWNER_EMAIL, PASSWORD};
use crate::support;

#[tokio::test]
async fn setup_login_upload_index_hit_test_and_use_a_key() {
    let c = Console::new().await;
    start_workers(&c);

    // First run: not set up, then set up once.
    let (status, step) = c.anonymous("GET", &uri("/setup"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(step["step"], "not_started");
    c.setup().await;
    let (_, step) = c.anonymous("GET", &uri("/setup"), None).await;
    assert_eq!(step["step"], "finished");
    let (status, _) = c.anonymous("GET", &uri("/datasets"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Sign in; the browser then sends the session cookie and the CSRF header.
    let session = c.login(OWNER_EMAIL, PASSWORD).await;
    let created = session
        .call_with_cookies(
            &c,
            "POST",
            &uri("/datasets"),
            Some(json!({"name": "Bee handbook"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let dataset = created.body["id"].as_str().unwrap().to_string();

    // Upload the PDF, preview its chunks, then make a document of it.
    let pdf = std::fs::read(support::repo_path("tests/fixtures/console/honeybees.pdf")).unwrap();
    let (status, file) = session.upload(&c, "honeybees.pdf", &pdf, Some("datasets")).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!(file["extension"], "pdf");
    let file_id = file["id"].as_str().unwrap().to_string();
    let (status, preview) = session
        .call(&c, "GET", &uri(&format!("/files/{file_id}/preview")), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(preview["content"].as_str().unwrap().contains("waggle dance"));
    let config = knowledge_config(&[&file_id]);
    let (status, estimate) = session
        .call(
            &c,
            "POST",
            &uri("/datasets/indexing-estimate"),
            Some(json!({"info_list": config["data_source"]["info_list"], "process_rule": config["process_rule"],
                        "indexing_technique": "high_quality", "doc_form": "text_model", "dataset_id": dataset})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{estimate}");
    let estimated = estimate["total_segments"].as_i64().unwrap();
    assert!(estimated >= 1);

    let (status, made) = session
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/documents")),
            Some(config),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(made["documents"][0]["name"], "honeybees.pdf");
    let items = wait_until_indexed(&c, &session, &dataset, made["batch"].as_str().unwrap()).await;
    assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
    assert_eq!(
        items[0]["total_segments"], estimated,
        "the estimate matches what indexing made"
    );
    let (_, documents) = session
        .call(&c, "GET", &uri(&format!("/datasets/{dataset}/documents")), None)
        .await;
    assert_eq!(documents["data"][0]["display_status"], "available");

    // Hit testing finds the passage, and it shows in the query history.
    let hits = session
        .call_with_cookies(
            &c,
            "POST",
            &uri(&format!("/datasets/{dataset}/hit-testing")),
            Some(json!({"query": "How do bees tell each other where flowers are?"})),
        )
        .await;
    assert_eq!(hits.status, StatusCode::OK, "{}", hits.body);
    let records = hits.body["records"].as_array().unwrap();
    assert!(
        records.iter().any(|r| r["segment"]["content"]
            .as_str()
            .unwrap()
            .contains("waggle dance on the vertical comb")),
        "{}",
        hits.body
    );
    let (_, history) = session
        .call(&c, "GET", &uri(&format!("/datasets/{dataset}/queries")), None)
        .await;
    assert_eq!(history["total"], 1);

    // A dataset API key from the console works on the knowledge API.
    let (status, key) = session.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let (status, base) = session
        .call(&c, "GET", &uri("/datasets/api-base-info"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(base["api_base_url"].as_str().unwrap().ends_with("/v1"));
    let service = crate::console_support::Session {
        access_token: key["token"].as_str().unwrap().to_string(),
        ..session.clone()
    };
    let (status, found) = service
        .call(
            &c,
            "POST",
            &format!("/v1/datasets/{dataset}/retrieve"),
            Some(json!({"query": "propolis resin"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["records"][0]["segment"]["document"]["name"],
        "honeybees.pdf"
    );
    let (status, listed) = service
        .call(&c, "GET", &format!("/v1/datasets/{dataset}/documents"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["total"], 1);
}
