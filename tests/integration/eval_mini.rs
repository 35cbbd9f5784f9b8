//! The in-repo evaluation set (datasets/eval-mini) through `ragd eval`'s scoring with the real
//! model: hybrid search must stay above a committed nDCG@10 floor.

use indexes::{Fusion, SearchMethod};
use ragd::eval::{BeirSet, EvalRun, evaluate};
use ragd::store::DEFAULT_TENANT;

use crate::support;

/// Hybrid nDCG@10 with the default fusion measured 0.988 on eval-mini (all-MiniLM-L6-v2 int8,
/// general template); the floor leaves a margin for harmless ranking changes, not for a
/// regression in either index or in fusion.
const HYBRID_NDCG_AT_10_FLOOR: f64 = 0.95;

#[tokio::test]
async fn hybrid_search_stays_above_the_committed_floor_on_eval_mini() {
    let (engine, _dir) = support::engine().await;
    let set = BeirSet::open(&support::repo_path("datasets/eval-mini"), None).expect("eval set");
    assert_eq!(set.split, "test");
    assert_eq!(set.queries.len(), 38);
    let report = support::ingest(&engine, "eval-mini", std::slice::from_ref(&set.corpus)).await;
    assert_eq!(report.documents, 65, "failed: {:?}", report.failed);
    let dataset = engine
        .dataset_by_name(DEFAULT_TENANT, "eval-mini")
        .await
        .expect("dataset");

    let runs = [
        EvalRun {
            method: SearchMethod::Semantic,
            fusion: Fusion::default(),
            rerank: None,
        },
        EvalRun {
            method: SearchMethod::FullText,
            fusion: Fusion::default(),
            rerank: None,
        },
        EvalRun {
            method: SearchMethod::Hybrid,
            fusion: Fusion::default(),
            rerank: None,
        },
    ];
    let results = evaluate(&engine, &dataset, &set, &runs).await.expect("evaluate");
    let table = ragd::eval::table(&results);
    println!("{table}");
    let [semantic, full_text, hybrid] = [0, 1, 2].map(|i| results[i].scores);
    for scores in [semantic, full_text, hybrid] {
        assert_eq!(scores.queries, 38);
        assert!((0.0..=1.0).contains(&scores.ndcg_at_10));
    }
    assert!(
        hybrid.ndcg_at_10 >= HYBRID_NDCG_AT_10_FLOOR,
        "hybrid nDCG@10 {:.4} fell below the floor {HYBRID_NDCG_AT_10_FLOOR}\n{table}",
        hybrid.ndcg_at_10
    );
    // The set has paraphrases that only meaning finds and product codes that only words find:
    // each single method misses some, fusion should not.
    assert!(full_text.ndcg_at_10 < hybrid.ndcg_at_10, "{table}");
    assert!(semantic.ndcg_at_10 <= hybrid.ndcg_at_10, "{table}");
    assert!(hybrid.recall_at_100 >= 0.99, "{table}");

    // A second evaluation of the same dataset without ingesting is the same (reuse is exact).
    let again = evaluate(&engine, &dataset, &set, &runs[2..])
        .await
        .expect("evaluate");
    assert_eq!(again[0].scores, hybrid);
}
