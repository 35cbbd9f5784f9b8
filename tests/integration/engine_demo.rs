//! The demo corpus through the whole engine with the real model: each search method finds the
//! right document for queries written for it.

use indexes::{Fusion, SearchMethod};
use ragd::engine::{EngineError, SearchOptions, SearchResult};
use ragd::store::DEFAULT_TENANT;

use crate::support;

fn options(query: &str, method: SearchMethod) -> SearchOptions {
    SearchOptions {
        tenant_id: DEFAULT_TENANT.into(),
        dataset: "demo".into(),
        query: query.into(),
        method,
        top_k: 5,
        score_threshold: None,
        fusion: Fusion::default(),
        document_ids: None,
        metadata_filter: None,
        rerank: None,
    }
}

fn top_document(results: &[SearchResult]) -> &str {
    results
        .first()
        .map(|r| r.segment.document_name.as_str())
        .unwrap_or("<no results>")
}

#[tokio::test]
async fn each_method_puts_the_right_document_first() {
    let (engine, _dir) = support::engine().await;
    let report = support::ingest(&engine, "demo", &[support::repo_path("datasets/demo")]).await;
    assert_eq!(report.documents, 6, "failed: {:?}", report.failed);
    assert!(report.failed.is_empty());
    assert!(report.chunks >= 6);

    // Paraphrase with no shared keywords: only meaning connects it to the help-desk text.
    let paraphrase = "cannot remember the secret phrase to get into my work computer";
    let keyword = engine
        .search(options(paraphrase, SearchMethod::FullText))
        .await
        .unwrap();
    assert!(
        keyword
            .iter()
            .all(|r| r.segment.document_name != "account-help.txt"),
        "the paraphrase must share no indexed term with its answer"
    );
    let semantic = engine
        .search(options(paraphrase, SearchMethod::Semantic))
        .await
        .unwrap();
    assert_eq!(top_document(&semantic), "account-help.txt");

    // An exact rare term: full text finds it.
    let rare = engine
        .search(options("Eyjafjallajökull", SearchMethod::FullText))
        .await
        .unwrap();
    assert_eq!(top_document(&rare), "volcanoes.md");
    let rare = engine
        .search(options("propolis", SearchMethod::FullText))
        .await
        .unwrap();
    assert_eq!(top_document(&rare), "honeybees.pdf");
    assert_eq!(rare[0].segment.page, Some(1), "citations keep the PDF page");

    // Hybrid on natural questions, with both fusions.
    for fusion in [Fusion::default(), Fusion::Rrf { k: 60.0 }] {
        for (query, expected) in [
            (
                "how do bees tell each other where the flowers are",
                "honeybees.pdf",
            ),
            (
                "what share of water to flour should a dough have",
                "sourdough-bread.html",
            ),
            ("which planet is the biggest", "solar-system.md"),
            ("where does black tea come from and how is it made", "tea.txt"),
        ] {
            let mut o = options(query, SearchMethod::Hybrid);
            o.fusion = fusion;
            let results = engine.search(o).await.unwrap();
            assert_eq!(top_document(&results), expected, "{query} with {fusion:?}");
            assert!(
                results.windows(2).all(|w| w[0].score >= w[1].score),
                "sorted by score"
            );
            assert!(results.iter().all(|r| (0.0..=1.0).contains(&r.score)));
        }
    }

    // The waggle dance is on page 2 of the PDF.
    let dance = engine
        .search(options("waggle dance direction of food", SearchMethod::Hybrid))
        .await
        .unwrap();
    assert_eq!(top_document(&dance), "honeybees.pdf");
    assert_eq!(dance[0].segment.page, Some(2));

    // Script and style content of HTML is not indexed.
    let script = engine
        .search(options("analytics", SearchMethod::FullText))
        .await
        .unwrap();
    assert!(script.is_empty(), "script text leaked into the index: {script:?}");

    // A threshold above every score returns nothing; top_k is honoured.
    let mut strict = options("bread", SearchMethod::Hybrid);
    strict.score_threshold = Some(1.01);
    assert!(engine.search(strict).await.unwrap().is_empty());
    let mut one = options("planets", SearchMethod::Hybrid);
    one.top_k = 1;
    assert_eq!(engine.search(one).await.unwrap().len(), 1);
}

#[tokio::test]
async fn bad_queries_are_refused_with_clear_errors() {
    let (engine, _dir) = support::engine().await;
    let err = engine
        .search(options("anything", SearchMethod::Hybrid))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::DatasetNotFound(_)), "{err}");

    support::ingest(&engine, "demo", &[support::repo_path("datasets/demo/tea.txt")]).await;
    let err = engine
        .search(options("   ", SearchMethod::Hybrid))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let err = engine
        .search(options(&"tea ".repeat(100), SearchMethod::Hybrid))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("250"), "{err}");
    let mut zero = options("tea", SearchMethod::Hybrid);
    zero.top_k = 0;
    assert!(engine.search(zero).await.is_err());
    // Query syntax characters are just text.
    let results = engine
        .search(options("\"tea:(black AND", SearchMethod::FullText))
        .await
        .unwrap();
    assert_eq!(top_document(&results), "tea.txt");
}
