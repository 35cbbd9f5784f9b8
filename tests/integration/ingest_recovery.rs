//! Ingestion's error and recovery paths: broken files fail alone, re-runs add nothing twice,
//! and a run killed between the index write and the SQL commit is repaired by the next run.

use indexes::{Fusion, IndexRow, SearchMethod};
use ragd::engine::SearchOptions;
use ragd::store::{DEFAULT_TENANT, IndexingStatus, NewDocument};

use crate::support;

#[tokio::test]
async fn a_broken_file_fails_alone_and_reruns_are_idempotent() {
    let (engine, dir) = support::engine().await;
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(support::repo_path("datasets/demo/tea.txt"), input.join("tea.txt")).unwrap();
    std::fs::write(input.join("broken.pdf"), b"%PDF-1.7\nthis is not really a pdf").unwrap();
    std::fs::write(input.join("notes.xyz"), b"unsupported").unwrap();

    let first = support::ingest(&engine, "docs", std::slice::from_ref(&input)).await;
    assert_eq!(first.documents, 1);
    assert_eq!(first.failed.len(), 1);
    assert!(first.failed[0].0.ends_with("broken.pdf"));
    assert!(!first.failed[0].1.is_empty());
    assert_eq!(first.skipped_inputs.len(), 1);

    let dataset = engine.dataset_by_name(DEFAULT_TENANT, "docs").await.unwrap();
    let counts = engine.store().count_documents(&dataset.id).await.unwrap();
    assert_eq!(counts.get(&IndexingStatus::Completed), Some(&1));
    assert_eq!(counts.get(&IndexingStatus::Error), Some(&1));
    let segments = engine.store().count_segments(&dataset.id).await.unwrap();

    // Unchanged inputs are skipped; the failed one is tried again (and fails again).
    let second = support::ingest(&engine, "docs", std::slice::from_ref(&input)).await;
    assert_eq!(second.documents, 0);
    assert_eq!(second.unchanged, 1);
    assert_eq!(
        engine.store().count_segments(&dataset.id).await.unwrap(),
        segments
    );
    let index = engine.index(&dataset).await.unwrap();
    assert_eq!(index.count_rows().await.unwrap(), segments);

    // A changed file replaces its old document instead of adding a second one.
    std::fs::write(
        input.join("tea.txt"),
        "Tea is now about kombucha fermentation only.",
    )
    .unwrap();
    let third = support::ingest(&engine, "docs", &[input]).await;
    assert_eq!(third.documents, 1);
    let results = engine
        .search(SearchOptions {
            tenant_id: DEFAULT_TENANT.into(),
            dataset: "docs".into(),
            query: "Camellia sinensis".into(),
            method: SearchMethod::FullText,
            top_k: 5,
            score_threshold: None,
            fusion: Fusion::default(),
            document_ids: None,
            metadata_filter: None,
            rerank: None,
        })
        .await
        .unwrap();
    assert!(results.is_empty(), "old content must be gone: {results:?}");
}

#[tokio::test]
async fn an_interrupted_run_is_repaired_without_duplicates() {
    let (engine, dir) = support::engine().await;
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap();
    let tea = input.join("tea.txt");
    std::fs::copy(support::repo_path("datasets/demo/tea.txt"), &tea).unwrap();
    // Create the dataset with one other document.
    support::ingest(
        &engine,
        "docs",
        &[support::repo_path("datasets/demo/volcanoes.md")],
    )
    .await;
    let dataset = engine.dataset_by_name(DEFAULT_TENANT, "docs").await.unwrap();

    // Simulate a crash: the document row exists in `indexing` and its rows reached the index,
    // but the SQL commit of its segments never happened.
    let orphan = "11111111-2222-3333-4444-555555555555".to_string();
    engine
        .store()
        .insert_documents(
            DEFAULT_TENANT,
            &dataset.id,
            "crashed-batch",
            &[NewDocument {
                id: orphan.clone(),
                name: "tea.txt".into(),
                source: tea.display().to_string(),
                content_hash: "stale".into(),
                data_source_type: "upload_file".into(),
                doc_metadata: None,
            }],
        )
        .await
        .unwrap();
    let index = engine.index(&dataset).await.unwrap();
    let vector = support::embedder()
        .embed_query("Camellia sinensis tea leaves")
        .unwrap();
    index
        .upsert(vec![IndexRow {
            id: "orphan-segment".into(),
            segment_id: "orphan-segment".into(),
            document_id: orphan.clone(),
            text: "Camellia sinensis tea leaves".into(),
            keywords: Vec::new(),
            vector: Some(vector),
            enabled: true,
        }])
        .await
        .unwrap();

    let report = support::ingest(&engine, "docs", &[input]).await;
    assert_eq!(report.documents, 1);
    let docs = engine.store().documents_by_source(&dataset.id).await.unwrap();
    assert!(
        docs.values().all(|d| d.id != orphan),
        "the unfinished document is replaced"
    );
    assert!(
        docs.values()
            .all(|d| d.indexing_status == IndexingStatus::Completed)
    );
    let segments = engine.store().count_segments(&dataset.id).await.unwrap();
    assert_eq!(
        index.count_rows().await.unwrap(),
        segments,
        "no orphan rows left in the index"
    );
}
