//! Dify's External Knowledge API in both directions: ragd answering `POST /external/retrieval`
//! for requests shaped exactly as Dify's `ExternalDatasetService` sends them.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ragd::store::{QuerySource, TokenType};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::knowledge_api::Api;

const BEES: &str = "Honeybees tell each other where the flowers are with the waggle dance. \
    A forager returning to the hive dances in a figure of eight; the angle of the waggle run \
    shows the direction of the nectar and its length the distance.";
const VOLCANOES: &str = "Volcanoes erupt when magma rises through the crust. The eruption of \
    Eyjafjallajökull in Iceland in 2010 sent an ash cloud over Europe and grounded flights.";

/// A dataset with two documents, each with a `topic` metadata value, indexed.
struct Knowledge {
    api: Api,
    dataset: String,
    bees: String,
    volcanoes: String,
}

impl Knowledge {
    async fn new() -> Self {
        let api = Api::new().await;
        api.start_workers();
        let dataset = api.create_dataset("external-kb").await;
        let mut ids = Vec::new();
        for (name, text) in [("bees.txt", BEES), ("volcanoes.txt", VOLCANOES)] {
            let (status, created) = api
                .call(
                    "POST",
                    &format!("/v1/datasets/{dataset}/document/create-by-text"),
                    Some(
                        json!({"name": name, "text": text, "indexing_technique": "high_quality",
                                "process_rule": {"mode": "automatic"}}),
                    ),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{created}");
            let batch = created["batch"].as_str().unwrap();
            api.wait_until_indexed(&dataset, batch).await;
            ids.push(created["document"]["id"].as_str().unwrap().to_string());
        }
        let (status, field) = api
            .call(
                "POST",
                &format!("/v1/datasets/{dataset}/metadata"),
                Some(json!({"type": "string", "name": "topic"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{field}");
        let field = field["id"].as_str().unwrap();
        let (status, answer) = api
            .call(
                "POST",
                &format!("/v1/datasets/{dataset}/documents/metadata"),
                Some(json!({"operation_data": [
                    {"document_id": ids[0], "metadata_list": [{"id": field, "name": "topic", "value": "biology"}]},
                    {"document_id": ids[1], "metadata_list": [{"id": field, "name": "topic", "value": "geology"}]},
                ]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let volcanoes = ids.pop().unwrap();
        let bees = ids.pop().unwrap();
        Self {
            api,
            dataset,
            bees,
            volcanoes,
        }
    }

    /// A request as Dify's `ExternalDatasetService.process_external_api` posts it: JSON with
    /// `Content-Type: application/json` and `Authorization: Bearer <api_key>`, to
    /// `{endpoint}/retrieval`.
    async fn dify(&self, authorization: Option<&str>, body: &[u8]) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method("POST")
            .uri("/external/retrieval")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        let request = request.body(Body::from(body.to_vec())).unwrap();
        let response = self.api.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn ask(&self, body: Value) -> (StatusCode, Value) {
        let auth = format!("Bearer {}", self.api.key);
        self.dify(Some(&auth), body.to_string().as_bytes()).await
    }
}

/// Dify's request body, with its `score_threshold` of 0.0 when the threshold is off.
fn dify_body(knowledge_id: &str, query: &str, top_k: u64, metadata_condition: Value) -> Value {
    json!({
        "retrieval_setting": {"top_k": top_k, "score_threshold": 0.0},
        "query": query,
        "knowledge_id": knowledge_id,
        "metadata_condition": metadata_condition,
    })
}

fn assert_external_error(status: StatusCode, body: &Value, expected: StatusCode, code: u64) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert!(
        body["error_msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only error_code and error_msg: {body}"
    );
}

#[tokio::test]
async fn dify_shaped_requests_are_answered_with_records() {
    let kb = Knowledge::new().await;
    let question = "how do bees show each other where the flowers are";
    let (status, answer) = kb.ask(dify_body(&kb.dataset, question, 2, Value::Null)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer.as_object().unwrap().len(), 1, "only records: {answer}");
    let records = answer["records"].as_array().unwrap();
    assert!(!records.is_empty() && records.len() <= 2, "{answer}");
    let best = &records[0];
    assert_eq!(best["title"], "bees.txt", "{answer}");
    assert!(
        best["content"].as_str().unwrap().contains("waggle dance"),
        "{best}"
    );
    assert!(best["score"].as_f64().unwrap() > 0.0, "{best}");
    let metadata = &best["metadata"];
    assert_eq!(metadata["document_id"], kb.bees.as_str(), "{best}");
    assert_eq!(metadata["dataset_id"], kb.dataset.as_str(), "{best}");
    assert_eq!(metadata["topic"], "biology", "{best}");
    assert!(
        metadata["segment_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{best}"
    );

    // The spec's metadata_condition (a list of names per condition) narrows the documents.
    let geology = json!({"logical_operator": "and", "conditions": [
        {"name": ["topic"], "comparison_operator": "is", "value": "geology"}]});
    let (status, answer) = kb.ask(dify_body(&kb.dataset, question, 4, geology)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let records = answer["records"].as_array().unwrap();
    assert!(!records.is_empty(), "{answer}");
    for record in records {
        assert_eq!(
            record["metadata"]["document_id"],
            kb.volcanoes.as_str(),
            "{answer}"
        );
    }
    // Dify's own model names one field per condition.
    let nothing = json!({"logical_operator": "or", "conditions": [
        {"name": "topic", "comparison_operator": "is", "value": "astronomy"}]});
    let (status, answer) = kb.ask(dify_body(&kb.dataset, question, 4, nothing)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["records"], json!([]), "{answer}");

    // A threshold drops what scores below it.
    let (_, all) = kb.ask(dify_body(&kb.dataset, question, 4, Value::Null)).await;
    let all = all["records"].as_array().unwrap().clone();
    let lowest = all
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .fold(f64::MAX, f64::min);
    let highest = all[0]["score"].as_f64().unwrap();
    assert!(lowest < highest, "two documents score differently: {all:?}");
    let mut body = dify_body(&kb.dataset, question, 4, Value::Null);
    body["retrieval_setting"]["score_threshold"] = json!((lowest + highest) / 2.0);
    let (status, kept) = kb.ask(body).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    let kept = kept["records"].as_array().unwrap();
    assert!(!kept.is_empty() && kept.len() < all.len(), "{kept:?} of {all:?}");

    // The same retrieval path as /retrieve: queries logged (source `external`), hits counted.
    let (queries, total) = kb
        .api
        .engine
        .store()
        .dataset_queries(ragd::store::DEFAULT_TENANT, &kb.dataset, 1, 20)
        .await
        .unwrap();
    assert_eq!(total, 5);
    assert!(
        queries
            .iter()
            .all(|q| q.source == QuerySource::External && q.content == question)
    );
    let (status, segments) = kb
        .api
        .call(
            "GET",
            &format!("/v1/datasets/{}/documents/{}/segments", kb.dataset, kb.bees),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{segments}");
    assert!(
        segments["data"][0]["hit_count"].as_i64().unwrap() >= 2,
        "{segments}"
    );
}

#[tokio::test]
async fn dify_error_codes() {
    let kb = Knowledge::new().await;
    let good = dify_body(&kb.dataset, "bees", 2, Value::Null).to_string();
    let good = good.as_bytes();

    // 1001: no header, another scheme, no key.
    for authorization in [
        None,
        Some("Basic abc"),
        Some(kb.api.key.as_str()),
        Some("Bearer "),
    ] {
        let (status, body) = kb.dify(authorization, good).await;
        assert_external_error(status, &body, StatusCode::FORBIDDEN, 1001);
    }
    // 1002: a key ragd does not know, or an app key.
    let app_key = kb
        .api
        .engine
        .store()
        .create_api_token(ragd::store::DEFAULT_TENANT, TokenType::App, None)
        .await
        .unwrap();
    for key in ["dataset-not-a-key", app_key.as_str()] {
        let (status, body) = kb.dify(Some(&format!("Bearer {key}")), good).await;
        assert_external_error(status, &body, StatusCode::FORBIDDEN, 1002);
    }
    // 2001: an unknown id, a malformed one, and a dataset of another workspace.
    for id in ["00000000-0000-0000-0000-00000000dead", "not-a-uuid"] {
        let (status, body) = kb.ask(dify_body(id, "bees", 2, Value::Null)).await;
        assert_external_error(status, &body, StatusCode::NOT_FOUND, 2001);
    }
    let store = kb.api.engine.store();
    assert!(
        store
            .setup_console("owner@example.com", "Owner", "hash", "en-US")
            .await
            .unwrap()
    );
    let owner = store
        .account_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap();
    let workspace = store.create_workspace(&owner.id, "Another").await.unwrap();
    let other = store
        .create_api_token(&workspace, TokenType::Dataset, None)
        .await
        .unwrap();
    let (status, body) = kb.dify(Some(&format!("Bearer {other}")), good).await;
    assert_external_error(status, &body, StatusCode::NOT_FOUND, 2001);

    // 3001 (ragd's code for a body it cannot use), with nothing logged.
    for bad in [
        json!({"knowledge_id": kb.dataset, "query": "bees"}),
        json!({"knowledge_id": kb.dataset, "query": "", "retrieval_setting": {"top_k": 2}}),
        json!({"knowledge_id": kb.dataset, "query": "bees", "retrieval_setting": {"top_k": 0}}),
        json!({"knowledge_id": kb.dataset, "query": "x".repeat(251), "retrieval_setting": {"top_k": 2}}),
        json!({"knowledge_id": kb.dataset, "query": "bees", "retrieval_setting": {"top_k": 2},
               "metadata_condition": {"conditions": [{"name": ["topic"], "comparison_operator": "like", "value": "b"}]}}),
    ] {
        let (status, body) = kb.ask(bad.clone()).await;
        assert_external_error(status, &body, StatusCode::BAD_REQUEST, 3001);
    }
    let auth = format!("Bearer {}", kb.api.key);
    let (status, body) = kb.dify(Some(&auth), b"{not json").await;
    assert_external_error(status, &body, StatusCode::BAD_REQUEST, 3001);
    let (_, total) = kb
        .api
        .engine
        .store()
        .dataset_queries(ragd::store::DEFAULT_TENANT, &kb.dataset, 1, 20)
        .await
        .unwrap();
    assert_eq!(total, 0, "refused requests log nothing");
}
