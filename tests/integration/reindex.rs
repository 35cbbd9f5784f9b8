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
                ..ReindexOptions::default()
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

#[tokio::test]
async fn rechunk_cuts_with_the_new_rule_resumes_and_keeps_answering() {
    let (engine, _dir) = support::engine().await;
    // A copy of the demo corpus: one input disappears before the re-chunk.
    let inputs = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(support::repo_path("datasets/demo")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, inputs.path().join(path.file_name().unwrap())).unwrap();
    }
    support::ingest(&engine, "demo", &[inputs.path().to_path_buf()]).await;
    let store = engine.store();
    let dataset = store
        .dataset_by_name(DEFAULT_TENANT, "demo")
        .await
        .unwrap()
        .unwrap();
    let before = store.count_indexable_segments(&dataset.id).await.unwrap() as usize;
    let documents: Vec<(String, String)> = store
        .filtered_documents(
            &dataset.id,
            None,
            None,
            ragd::store::DocumentSort::CreatedAt { descending: true },
            1,
            100,
        )
        .await
        .unwrap()
        .0
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    assert_eq!(documents.len(), 6);
    let tea = documents
        .iter()
        .find(|(_, name)| name == "tea.txt")
        .unwrap()
        .0
        .clone();
    let tea_before = store.document_segment_sources(&tea, 0).await.unwrap();
    std::fs::remove_file(inputs.path().join("tea.txt")).unwrap();

    // The rule changes to much smaller custom segments.
    let max_tokens = 60;
    store
        .set_dataset_process_rule(
            DEFAULT_TENANT,
            &dataset.id,
            &serde_json::json!({"mode": "custom", "rules": {"pre_processing_rules": [],
                "segmentation": {"separator": "\n", "max_tokens": max_tokens, "chunk_overlap": 0}}}),
        )
        .await
        .unwrap();
    let dataset = store.dataset(DEFAULT_TENANT, &dataset.id).await.unwrap().unwrap();
    let volcano_query = search("volcanic ash cloud", SearchMethod::Hybrid);
    let answer = engine.search(volcano_query.clone()).await.unwrap();
    assert_eq!(answer[0].segment.document_name, "volcanoes.md");

    // An interrupted run: one page of two documents staged, the live generation untouched.
    let options = ReindexOptions {
        rechunk: true,
        page_documents: 2,
        ..ReindexOptions::default()
    };
    let first = engine
        .reindex(
            &dataset,
            &ReindexOptions {
                max_pages: Some(1),
                ..options.clone()
            },
        )
        .await
        .unwrap();
    assert!(!first.switched);
    let run = store.reindex_run(&dataset.id).await.unwrap().unwrap();
    assert!(run.rechunk && !run.document_cursor.is_empty());
    assert_eq!(
        store.count_indexable_segments(&dataset.id).await.unwrap() as usize,
        before
    );
    let live = store.dataset(DEFAULT_TENANT, &dataset.id).await.unwrap().unwrap();
    assert_eq!(live.index_generation, 1);
    let during = engine.search(volcano_query.clone()).await.unwrap();
    assert_eq!(
        during.iter().map(|r| &r.segment.id).collect::<Vec<_>>(),
        answer.iter().map(|r| &r.segment.id).collect::<Vec<_>>(),
        "queries are answered from the live generation meanwhile"
    );
    // A second interruption replays nothing twice.
    let second = engine
        .reindex(
            &live,
            &ReindexOptions {
                max_pages: Some(1),
                ..options.clone()
            },
        )
        .await
        .unwrap();
    assert!(!second.switched && second.resumed_rows > 0);
    // Meanwhile the account-help document is disabled. Changes are seen by the second, so the
    // change is made in a later second than the rebuild's start: a document changed during the
    // rebuild keeps what the live generation has for it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let account = documents
        .iter()
        .find(|(_, name)| name == "account-help.txt")
        .unwrap()
        .0
        .clone();
    engine
        .set_document_status(&live, DocumentAction::Disable, std::slice::from_ref(&account))
        .await
        .unwrap();

    let last = engine.reindex(&live, &options).await.unwrap();
    assert!(last.switched);
    assert_eq!(
        (last.documents_rechunked, last.documents_kept),
        (documents.len() - 2, 2),
        "tea.txt is gone from disk and account-help.txt changed meanwhile: both keep their segments"
    );
    let rebuilt = store.dataset(DEFAULT_TENANT, &dataset.id).await.unwrap().unwrap();
    assert_eq!(rebuilt.index_generation, 2);
    assert!(store.reindex_run(&dataset.id).await.unwrap().is_none());
    let after = store.count_indexable_segments(&dataset.id).await.unwrap() as usize;
    assert!(
        after > before,
        "smaller segments, more of them: {before} -> {after}"
    );
    let index = engine.index(&rebuilt).await.unwrap();
    assert_eq!(index.count_rows().await.unwrap(), after, "no duplicate rows");
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(after));
    let counter = support::embedder().token_counter();
    for (id, name) in &documents {
        let segments = store.document_segment_sources(id, 0).await.unwrap();
        if id == &tea {
            assert_eq!(segments, tea_before, "kept as they were");
            continue;
        }
        assert!(!segments.is_empty(), "{name}");
        if id == &account {
            // Changed during the rebuild: it keeps its live segments, cut by the old rule.
            continue;
        }
        for segment in segments {
            let tokens = counter.count(&segment.content);
            assert!(tokens <= max_tokens, "{name}: a segment of {tokens} tokens");
        }
    }

    let answer = engine.search(volcano_query).await.unwrap();
    assert_eq!(answer[0].segment.document_name, "volcanoes.md");
    assert!(
        answer.iter().all(|r| r.segment.id != during[0].segment.id),
        "new segments answer"
    );
    let semantic = engine
        .search(search("how to brew green tea", SearchMethod::Semantic))
        .await
        .unwrap();
    assert!(semantic.iter().any(|r| r.segment.document_name == "tea.txt"));
    let hidden = engine
        .search(search(
            "cannot remember the secret phrase to get into my work computer",
            SearchMethod::Hybrid,
        ))
        .await
        .unwrap();
    assert!(
        hidden.iter().all(|r| r.segment.document_id != account),
        "the disable made during the rebuild holds: {hidden:?}"
    );
}
