//! BM25 over real sentences in Chinese, Japanese, Korean, French and English: a query word finds
//! the document that holds it, through the analyzer chosen from the dataset's language, and an
//! index reopened later keeps the analyzer it was built with.

use indexes::fulltext::FullTextIndex;
use indexes::{Analyzer, DatasetIndex, Filter, IndexOptions, IndexRow, SearchMethod, SearchRequest};
use tempfile::TempDir;

fn rows(texts: &[(&str, &str)]) -> Vec<IndexRow> {
    texts
        .iter()
        .map(|(id, text)| IndexRow {
            id: (*id).into(),
            segment_id: (*id).into(),
            document_id: (*id).into(),
            text: (*text).into(),
            keywords: Vec::new(),
            vector: None,
            enabled: true,
        })
        .collect()
}

async fn keyword_index(dir: &std::path::Path, language: &str) -> DatasetIndex {
    let options = IndexOptions {
        analyzer: Analyzer::for_language(language),
        ..IndexOptions::default()
    };
    DatasetIndex::open_with_options(dir, None, options).await.unwrap()
}

async fn top(index: &DatasetIndex, query: &str) -> Vec<String> {
    let request = SearchRequest {
        query: query.into(),
        method: SearchMethod::FullText,
        top_k: 3,
        score_threshold: None,
        fusion: Default::default(),
        filter: Filter::default(),
    };
    let hits = index.search(&request, None).await.unwrap();
    hits.into_iter().map(|h| h.segment_id).collect()
}

/// Each case: language, documents, then (query, expected first hit) pairs.
type Case = (
    &'static str,
    [(&'static str, &'static str); 3],
    [(&'static str, &'static str); 3],
);

const CASES: [Case; 5] = [
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
        [("高速铁路", "rail"), ("熊猫吃什么", "panda"), ("绿茶", "tea")],
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
        [
            ("新幹線", "shinkansen"),
            ("桜の花見", "sakura"),
            ("寿司の料理", "sushi"),
        ],
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
        [("김치", "kimchi"), ("수도 서울", "seoul"), ("세종대왕", "hangul")],
    ),
    (
        "French",
        [
            (
                "bread",
                "Les boulangers préparent les baguettes très tôt chaque matin.",
            ),
            (
                "wine",
                "Les vignobles de Bordeaux produisent des vins rouges réputés.",
            ),
            (
                "tower",
                "La tour Eiffel attire des millions de visiteurs chaque année.",
            ),
        ],
        [("baguette", "bread"), ("vignoble", "wine"), ("visiteur", "tower")],
    ),
    (
        "English",
        [
            (
                "bees",
                "Honeybees communicate the location of flowers with a waggle dance.",
            ),
            (
                "volcano",
                "The volcano erupted and ash clouds grounded flights for days.",
            ),
            (
                "coffee",
                "Coffee beans are roasted before they are ground and brewed.",
            ),
        ],
        [
            ("dancing bee", "bees"),
            ("eruptions", "volcano"),
            ("roasting", "coffee"),
        ],
    ),
];

#[tokio::test]
async fn a_query_word_finds_its_document_in_each_language() {
    for (language, documents, queries) in CASES {
        let dir = TempDir::new().unwrap();
        let index = keyword_index(dir.path(), language).await;
        index.upsert(rows(&documents)).await.unwrap();
        for (query, expected) in queries {
            let hits = top(&index, query).await;
            assert_eq!(
                hits.first().map(String::as_str),
                Some(expected),
                "{language}: {query} -> {hits:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_english_analyzer_does_not_find_chinese_words_inside_sentences() {
    // Why languages matter: split on non-letters only, a Chinese sentence is one long token
    // (dropped as over-long), so the English analyzer finds nothing for a word inside it.
    let dir = TempDir::new().unwrap();
    let index = keyword_index(dir.path(), "English").await;
    let (_, documents, _) = CASES[0];
    index.upsert(rows(&documents)).await.unwrap();
    assert!(top(&index, "高速铁路").await.is_empty());
}

#[tokio::test]
async fn an_existing_index_keeps_the_analyzer_it_was_built_with() {
    let dir = TempDir::new().unwrap();
    {
        let index = keyword_index(dir.path(), "Korean").await;
        assert_eq!(index.analyzer(), Analyzer::CjkBigram);
        let (_, documents, _) = CASES[2];
        index.upsert(rows(&documents)).await.unwrap();
    }
    assert!(DatasetIndex::exists(dir.path()));
    // Reopened as if the dataset now said English: the recorded bigram analyzer still reads queries.
    let index = keyword_index(dir.path(), "English").await;
    assert_eq!(index.analyzer(), Analyzer::CjkBigram);
    assert_eq!(
        top(&index, "김치").await.first().map(String::as_str),
        Some("kimchi")
    );

    let fresh = TempDir::new().unwrap();
    assert!(!DatasetIndex::exists(fresh.path()));
    let store = FullTextIndex::open(fresh.path(), 20_000_000, Analyzer::Chinese)
        .await
        .unwrap();
    assert_eq!(store.analyzer(), Analyzer::Chinese);
}
