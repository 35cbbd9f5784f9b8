//! Full text beyond English through the HTTP API: documents created with Dify's `doc_language`
//! give their dataset the analyzer of that language, and `full_text_search` finds a document by
//! a word inside a Chinese, Japanese or Korean sentence.

use axum::http::StatusCode;
use serde_json::json;

use crate::knowledge_api::Api;

/// language, documents (name, text), then (query, expected document name).
type Case = (
    &'static str,
    [(&'static str, &'static str); 3],
    [(&'static str, &'static str); 2],
);

const CASES: [Case; 3] = [
    (
        "Chinese Simplified",
        [
            ("tea", "中国是茶叶的故乡，绿茶和红茶在全国各地都很受欢迎。"),
            (
                "rail",
                "北京到上海的高速铁路全长一千三百多公里，列车只需四个多小时。",
            ),
            ("panda", "大熊猫主要生活在四川的山区竹林里，以竹子为食。"),
        ],
        [("高速铁路", "rail"), ("熊猫吃什么", "panda")],
    ),
    (
        "Japanese",
        [
            (
                "sakura",
                "日本では春になると桜の花が咲き、多くの人が花見を楽しみます。",
            ),
            ("shinkansen", "新幹線は東京と大阪を約二時間半で結ぶ高速鉄道です。"),
            (
                "sushi",
                "寿司は酢飯と新鮮な魚を組み合わせた日本の伝統的な料理です。",
            ),
        ],
        [("新幹線", "shinkansen"), ("花見", "sakura")],
    ),
    (
        "Korean",
        [
            (
                "kimchi",
                "김치는 배추와 고춧가루로 만드는 한국의 전통 발효 음식입니다.",
            ),
            (
                "seoul",
                "서울은 한국의 수도이며 천만 명에 가까운 사람들이 살고 있습니다.",
            ),
            ("hangul", "한글은 세종대왕이 백성을 위해 만든 글자입니다."),
        ],
        [("김치", "kimchi"), ("세종대왕", "hangul")],
    ),
];

#[tokio::test]
async fn full_text_search_finds_words_in_chinese_japanese_and_korean_documents() {
    let api = Api::new().await;
    api.start_workers();
    for (language, documents, queries) in CASES {
        let id = api.create_dataset(&format!("kb {language}")).await;
        let retrieve = |query: &str| {
            json!({"query": query, "retrieval_model": {"search_method": "full_text_search",
                "reranking_enable": false, "top_k": 3, "score_threshold_enabled": false}})
        };
        // A query before any document answers nothing, and does not fix the analyzer yet.
        let (status, answer) = api
            .call(
                "POST",
                &format!("/v1/datasets/{id}/retrieve"),
                Some(retrieve(queries[0].0)),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["records"], json!([]));

        let mut batches = Vec::new();
        for (name, text) in documents {
            let (status, answer) = api
                .call(
                    "POST",
                    &format!("/v1/datasets/{id}/document/create-by-text"),
                    Some(
                        json!({"name": name, "text": text, "indexing_technique": "high_quality",
                        "doc_language": language, "process_rule": {"mode": "automatic"}}),
                    ),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            batches.push(answer["batch"].as_str().unwrap().to_string());
        }
        for batch in &batches {
            let items = api.wait_until_indexed(&id, batch).await;
            assert_eq!(items[0]["indexing_status"], "completed", "{items:?}");
        }
        for (query, expected) in queries {
            let (status, answer) = api
                .call(
                    "POST",
                    &format!("/v1/datasets/{id}/retrieve"),
                    Some(retrieve(query)),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            let records = answer["records"].as_array().unwrap();
            assert!(!records.is_empty(), "{language}: {query} found nothing");
            assert_eq!(
                records[0]["segment"]["document"]["name"], expected,
                "{language}: {query} -> {answer}"
            );
            assert!(records[0]["score"].as_f64().unwrap() > 0.0);
        }
    }
}
