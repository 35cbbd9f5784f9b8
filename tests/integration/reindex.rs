//! `ragd reindex`: a rebuild into a new generation that resumes after an interruption, applies
//! edits made meanwhile, switches atomically and duplicates nothing.

use indexes::{Fusion, SearchMethod};
use ragd::engine::{ReindexOptions, SearchOptions};
use ragd::store::{DEFAULT_TENANT, DocumentAction};

use crate::support;

fn search(query: &str, method: SearchMethod) -> SearchOptions {
    SearchOptions {
        tenant_id: DEFAULT_TENANT.into(),
        dataset: "demo".into(),
        query: query.into(),
        method,
        top_k: 3,
        score_threshold: None,
        fusion: Fusion::default(),
        document_ids: None,
        metadata_filter: None,
        rerank: None,
    }
}

#[tokio::test]
async fn reindex_resumes_applies_edits_and_switches_generations() {
    let (engine, dir) = support::engine().await;
    support::ingest(&engine, "demo", &[support::repo_path("datasets/demo")]).await;
    let store = engine.store();
    let dataset = store
        .dataset_by_name(DEFAULT_TENANT, "demo")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dataset.index_generation, 1);
    let segments = store.count_indexable_segments(&dataset.id).await.unwrap() as usize;
    assert!(segments > 4, "the demo corpus needs several pages of 2 segments");
    let before = engine
        .search(search("volcanic ash cloud", SearchMethod::Hybrid))
        .await
        .unwrap();

    // An interrupted run: two pages written to generation 2, the live generation untouched.
    let first = engine
        .reindex(
            &dataset,
            &ReindexOptions {
                page_segments: 2,
                max_pages: Some(2),
                progress: false,
            },
        )
        .await
        .unwrap();
    assert!(!first.switched);
    assert_eq!(first.rows, 4);
    let run = store.reindex_run(&dataset.id).await.unwrap().unwrap();
    assert_eq!((run.target_generation, run.rows_written), (2, 4));
    let live = store.dataset(DEFAULT_TENANT, &dataset.id).await.unwrap().unwrap();
    assert_eq!(
        live.index_generation, 1,
        "queries still go to the live generation"
    );
    let during = engine
        .search(search("volcanic ash cloud", SearchMethod::Hybrid))
        .await
        .unwrap();
    assert_eq!(
        during.iter().map(|r| &r.segment.id).collect::<Vec<_>>(),
        before.iter().map(|r| &r.segment.id).collect::<Vec<_>>()
    );

    // Meanwhile the volcano document is disabled on the live generation.
    let volcano = before[0].segment.document_id.clone();
    assert_eq!(before[0].segment.document_name, "volcanoes.md");
    engine
        .set_document_status(&live, DocumentAction::Disable, std::slice::from_ref(&volcano))
        .await
        .unwrap();

    // The next run resumes after the recorded page, applies the edit, and switches.
    let second = engine.reindex(&live, &ReindexOptions::default()).await.unwrap();
    assert!(second.switched);
    assert_eq!(second.resumed_rows, 4);
    assert_eq!(second.segments, segments - 4, "only the segments not yet written");
    let rebuilt = store.dataset(DEFAULT_TENANT, &dataset.id).await.unwrap().unwrap();
    assert_eq!(rebuilt.index_generation, 2);
    assert!(store.reindex_run(&dataset.id).await.unwrap().is_none());
    let index = engine.index(&rebuilt).await.unwrap();
    assert_eq!(index.count_rows().await.unwrap(), segments, "no duplicate rows");
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(segments));

    let after = engine
        .search(search("volcanic ash cloud", SearchMethod::Hybrid))
        .await
        .unwrap();
    assert!(!after.is_empty());
    assert!(
        after.iter().all(|r| r.segment.document_id != volcano),
        "the disable made during the rebuild holds in the new generation: {after:?}"
    );
    let semantic = engine
        .search(search(
            "cannot remember the secret phrase to get into my work computer",
            SearchMethod::Semantic,
        ))
        .await
        .unwrap();
    assert_eq!(semantic[0].segment.document_name, "account-help.txt");

    // One generation back is kept for queries in flight; older ones go with the next rebuild.
    let root = dir.path().join("indexes").join(&dataset.id);
    assert!(root.join("gen-1").exists());
    let third = engine
        .reindex(&rebuilt, &ReindexOptions::default())
        .await
        .unwrap();
    assert_eq!((third.generation, third.segments), (3, segments));
    assert!(!root.join("gen-1").exists());
    assert!(root.join("gen-2").exists() && root.join("gen-3").exists());
}
