//! End-to-end tests of `DatasetIndex` (and its stores) on real LanceDB and tantivy directories.
//!
//! Vectors are hand-made (dimension 8, unit vectors and blends of them) so every expected
//! similarity is known exactly; no embedding model is involved.

use std::path::Path;

use indexes::fulltext::FullTextIndex;
use indexes::vector::VectorStore;
use indexes::{
    Analyzer, DatasetIndex, Filter, Fusion, Hit, IndexError, IndexRow, SearchMethod, SearchRequest,
};
use tempfile::TempDir;

const DIM: usize = 8;

/// The unit vector along axis `axis`.
fn unit(axis: usize) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[axis] = 1.0;
    v
}

/// `cos(angle) * e_a + sin(angle) * e_b`: cosine similarity `cos(angle)` to `e_a`.
fn blend(a: usize, b: usize, similarity_to_a: f32) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[a] = similarity_to_a;
    v[b] = (1.0 - similarity_to_a * similarity_to_a).sqrt();
    v
}

fn row(id: &str, document_id: &str, text: &str, vector: Vec<f32>) -> IndexRow {
    IndexRow {
        id: id.into(),
        segment_id: id.into(),
        document_id: document_id.into(),
        text: text.into(),
        keywords: Vec::new(),
        vector: Some(vector),
        enabled: true,
    }
}

fn child(id: &str, segment_id: &str, text: &str, vector: Vec<f32>) -> IndexRow {
    IndexRow {
        segment_id: segment_id.into(),
        ..row(id, "doc", text, vector)
    }
}

fn request(method: SearchMethod, query: &str, top_k: usize) -> SearchRequest {
    SearchRequest {
        query: query.into(),
        method,
        top_k,
        score_threshold: None,
        fusion: Fusion::default(),
        filter: Filter::default(),
    }
}

fn segments(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.segment_id.as_str()).collect()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

async fn open(dir: &Path) -> DatasetIndex {
    DatasetIndex::open(dir, Some(DIM)).await.expect("index opens")
}

async fn semantic(index: &DatasetIndex, vector: &[f32], top_k: usize) -> Vec<Hit> {
    index
        .search(&request(SearchMethod::Semantic, "", top_k), Some(vector))
        .await
        .expect("semantic")
}

async fn full_text(index: &DatasetIndex, query: &str, top_k: usize) -> Vec<Hit> {
    index
        .search(&request(SearchMethod::FullText, query, top_k), None)
        .await
        .expect("full text")
}

/// Three plain segments in two documents, each findable by its own word and its own axis.
fn three_segments() -> Vec<IndexRow> {
    vec![
        row("s1", "d1", "The quick brown fox jumps over the fence", unit(0)),
        row("s2", "d1", "Lazy dogs sleeping in the afternoon sun", unit(1)),
        row("s3", "d2", "Rust programming language with ownership", unit(2)),
    ]
}

#[tokio::test]
async fn each_method_finds_the_right_segment() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index.upsert(three_segments()).await.unwrap();

    let hits = semantic(&index, &unit(1), 3).await;
    assert_eq!(hits[0].segment_id, "s2");
    assert_eq!(hits[0].document_id, "d1");
    assert!(close(hits[0].score, 1.0), "{hits:?}");
    assert!(close(hits[0].vector_score.unwrap(), 1.0));
    assert_eq!(hits[0].keyword_score, None);
    // orthogonal rows are returned with similarity 0, below the exact match
    assert!(hits[1..].iter().all(|h| close(h.score, 0.0)), "{hits:?}");

    let hits = full_text(&index, "fox", 3).await;
    assert_eq!(segments(&hits), ["s1"]);
    // full-text hits carry their raw BM25 score, the same the full-text store reports
    let fulltext = FullTextIndex::open(&dir.path().join("fulltext"), 50_000_000, Analyzer::default())
        .await
        .unwrap();
    let bm25 = fulltext.search("fox".into(), 3, Filter::default()).await.unwrap();
    assert!(
        bm25[0].score > 0.0 && close(hits[0].score, bm25[0].score),
        "{hits:?}"
    );
    assert_eq!(hits[0].vector_score, None);
    assert!(close(hits[0].keyword_score.unwrap(), 1.0));

    let hybrid = request(SearchMethod::Hybrid, "ownership", 3);
    let hits = index.search(&hybrid, Some(&unit(2))).await.unwrap();
    assert_eq!(hits[0].segment_id, "s3");
    assert!(close(hits[0].score, 1.0), "{hits:?}");
    assert!(close(hits[0].vector_score.unwrap(), 1.0));
    assert!(close(hits[0].keyword_score.unwrap(), 1.0));
}

#[tokio::test]
async fn empty_index_and_zero_top_k_return_nothing() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    assert!(semantic(&index, &unit(0), 5).await.is_empty());
    assert!(full_text(&index, "anything", 5).await.is_empty());
    let hybrid = request(SearchMethod::Hybrid, "anything", 5);
    assert!(index.search(&hybrid, Some(&unit(0))).await.unwrap().is_empty());
    assert_eq!(index.count_rows().await.unwrap(), 0);

    index.upsert(three_segments()).await.unwrap();
    assert!(semantic(&index, &unit(0), 0).await.is_empty());
    assert!(full_text(&index, "fox", 0).await.is_empty());
    let mut none = request(SearchMethod::FullText, "fox", 5);
    none.filter.document_ids = Some(vec![]);
    assert!(index.search(&none, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn upserting_an_id_again_replaces_the_row() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index
        .upsert(vec![row("s1", "d1", "alpha particles", unit(0))])
        .await
        .unwrap();
    index
        .upsert(vec![row("s1", "d1", "beta particles", unit(1))])
        .await
        .unwrap();

    assert_eq!(index.count_rows().await.unwrap(), 1);
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(1));
    assert!(full_text(&index, "alpha", 5).await.is_empty());
    assert_eq!(segments(&full_text(&index, "particles", 5).await), ["s1"]);
    let hits = semantic(&index, &unit(1), 5).await;
    assert_eq!(segments(&hits), ["s1"]);
    assert!(close(hits[0].score, 1.0), "the new vector is indexed: {hits:?}");

    // the same id twice in one call: the last one wins
    index
        .upsert(vec![
            row("s1", "d1", "gamma rays", unit(2)),
            row("s1", "d1", "delta rays", unit(3)),
        ])
        .await
        .unwrap();
    assert_eq!(index.count_rows().await.unwrap(), 1);
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(1));
    assert!(full_text(&index, "gamma", 5).await.is_empty());
    assert_eq!(segments(&full_text(&index, "delta", 5).await), ["s1"]);
    assert!(close(semantic(&index, &unit(3), 5).await[0].score, 1.0));
}

#[tokio::test]
async fn deleting_segments_and_documents_removes_them_from_both_indexes() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index.upsert(three_segments()).await.unwrap();

    index.delete_segments(&["s1".into()]).await.unwrap();
    assert_eq!(index.count_rows().await.unwrap(), 2);
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(2));
    assert!(full_text(&index, "fox", 5).await.is_empty());
    assert!(!segments(&semantic(&index, &unit(0), 5).await).contains(&"s1"));

    index.delete_documents(&["d1".into()]).await.unwrap();
    assert_eq!(index.count_rows().await.unwrap(), 1);
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(1));
    assert!(full_text(&index, "dogs", 5).await.is_empty());
    assert_eq!(segments(&semantic(&index, &unit(1), 5).await), ["s3"]);
    assert_eq!(segments(&full_text(&index, "rust", 5).await), ["s3"]);

    // deleting what is not there is not an error
    index.delete_segments(&["nope".into()]).await.unwrap();
    index.delete_documents(&[]).await.unwrap();
    assert_eq!(index.count_rows().await.unwrap(), 1);
}

#[tokio::test]
async fn ids_with_quotes_are_escaped_in_predicates() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    let tricky = "it's') OR ('1'='1";
    let backslash = "back\\";
    index
        .upsert(vec![
            row(tricky, "d'1", "quoted words", unit(0)),
            row(backslash, "d'1", "slashed words", unit(1)),
            row("plain", "d2", "plain words", unit(2)),
        ])
        .await
        .unwrap();
    let mut filtered = request(SearchMethod::Semantic, "", 5);
    filtered.filter.document_ids = Some(vec!["d'1".into()]);
    let hits = index.search(&filtered, Some(&unit(0))).await.unwrap();
    assert_eq!(segments(&hits), [tricky, backslash]);

    index.set_segments_enabled(&[tricky.into()], false).await.unwrap();
    assert_eq!(
        segments(&semantic(&index, &unit(0), 5).await),
        ["back\\", "plain"]
    );
    index
        .delete_segments(&[tricky.into(), backslash.into()])
        .await
        .unwrap();
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(1));
    assert_eq!(index.count_rows().await.unwrap(), 1);
}

#[tokio::test]
async fn disabled_rows_are_hidden_from_both_methods_until_enabled_again() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index.upsert(three_segments()).await.unwrap();

    index.set_segments_enabled(&["s1".into()], false).await.unwrap();
    assert!(full_text(&index, "fox", 5).await.is_empty());
    assert!(!segments(&semantic(&index, &unit(0), 5).await).contains(&"s1"));
    let hybrid = request(SearchMethod::Hybrid, "fox", 5);
    assert!(!segments(&index.search(&hybrid, Some(&unit(0))).await.unwrap()).contains(&"s1"));
    // disabled rows stay indexed
    assert_eq!(index.count_rows().await.unwrap(), 3);

    index.set_segments_enabled(&["s1".into()], true).await.unwrap();
    assert_eq!(segments(&full_text(&index, "fox", 5).await), ["s1"]);
    assert_eq!(semantic(&index, &unit(0), 5).await[0].segment_id, "s1");
    assert_eq!(index.count_rows().await.unwrap(), 3);

    index.set_documents_enabled(&["d1".into()], false).await.unwrap();
    assert_eq!(segments(&semantic(&index, &unit(0), 5).await), ["s3"]);
    assert!(full_text(&index, "fox dogs", 5).await.is_empty());
    // enabling twice is harmless and keeps one row per id
    index.set_documents_enabled(&["d1".into()], true).await.unwrap();
    index.set_documents_enabled(&["d1".into()], true).await.unwrap();
    assert_eq!(segments(&full_text(&index, "fox dogs", 5).await).len(), 2);
    assert_eq!(semantic(&index, &unit(0), 5).await.len(), 3);
    assert_eq!(index.count_rows().await.unwrap(), 3);

    // rows indexed as disabled are hidden from the start
    let mut hidden = row("s4", "d3", "hidden treasure", unit(3));
    hidden.enabled = false;
    index.upsert(vec![hidden]).await.unwrap();
    assert!(full_text(&index, "treasure", 5).await.is_empty());
    assert!(!segments(&semantic(&index, &unit(3), 5).await).contains(&"s4"));
}

/// 100 rows of a big document sit nearer the query than the one row of a small document, in
/// both indexes; more than any candidate pool, so a post-filter would find nothing.
fn crowded_rows() -> Vec<IndexRow> {
    let mut rows: Vec<IndexRow> = (0..100)
        .map(|i| {
            row(
                &format!("big-{i:03}"),
                "big",
                "apple apple apple orchard",
                blend(0, 1, 0.99),
            )
        })
        .collect();
    rows.push(row(
        "small-0",
        "small",
        "apple pie with cinnamon, sugar, butter, flour and a long story about baking",
        blend(0, 1, 0.2),
    ));
    rows
}

#[tokio::test]
async fn document_filter_applies_before_top_k() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index.upsert(crowded_rows()).await.unwrap();
    let only_small = Filter {
        document_ids: Some(vec!["small".into()]),
    };

    // without the filter the small document is nowhere near the top
    assert!(!segments(&semantic(&index, &unit(0), 3).await).contains(&"small-0"));
    assert!(!segments(&full_text(&index, "apple", 3).await).contains(&"small-0"));

    for method in [
        SearchMethod::Semantic,
        SearchMethod::FullText,
        SearchMethod::Hybrid,
    ] {
        let mut filtered = request(method, "apple", 3);
        filtered.filter = only_small.clone();
        let hits = index.search(&filtered, Some(&unit(0))).await.unwrap();
        assert_eq!(segments(&hits), ["small-0"], "{method:?}");
    }

    // the stores on their own, with a limit of 1
    let vectors = VectorStore::open(&dir.path().join("vectors"), DIM).await.unwrap();
    let hits = vectors.search(&unit(0), 1, &only_small).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "small-0");
    assert!(close(hits[0].similarity, 0.2));
}

#[tokio::test]
async fn full_text_store_filters_before_top_k() {
    let dir = TempDir::new().unwrap();
    let store = FullTextIndex::open(dir.path(), 20_000_000, Analyzer::default())
        .await
        .unwrap();
    store.upsert(crowded_rows().into()).await.unwrap();
    let only_small = Filter {
        document_ids: Some(vec!["small".into()]),
    };
    let hits = store.search("apple".into(), 1, only_small).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "small-0");
    let unfiltered = store.search("apple".into(), 1, Filter::default()).await.unwrap();
    assert_eq!(unfiltered[0].document_id, "big");
    // the filter clauses score 0: the small row's BM25 is the same filtered or not
    let all = store
        .search("apple".into(), 200, Filter::default())
        .await
        .unwrap();
    let small = all.iter().find(|h| h.id == "small-0").unwrap();
    assert!(close(small.score, hits[0].score));
}

#[tokio::test]
async fn score_threshold_drops_weak_hits() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index
        .upsert(vec![
            row("exact", "d", "one", unit(0)),
            row("near", "d", "two", blend(0, 1, 0.8)),
            row("far", "d", "three", blend(0, 1, 0.3)),
        ])
        .await
        .unwrap();
    let mut thresholded = request(SearchMethod::Semantic, "", 10);
    thresholded.score_threshold = Some(0.5);
    let hits = index.search(&thresholded, Some(&unit(0))).await.unwrap();
    assert_eq!(segments(&hits), ["exact", "near"]);
    assert!(close(hits[1].score, 0.8));

    thresholded.score_threshold = Some(0.8);
    thresholded.top_k = 1;
    assert_eq!(
        segments(&index.search(&thresholded, Some(&unit(0))).await.unwrap()),
        ["exact"]
    );
}

#[tokio::test]
async fn child_rows_group_to_their_parent_with_the_best_score() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index
        .upsert(vec![
            child("p1-c1", "p1", "engines need oil", blend(0, 1, 0.5)),
            child("p1-c2", "p1", "oil changes every year", blend(0, 1, 0.9)),
            child("p2-c1", "p2", "tyres need air", blend(0, 1, 0.7)),
        ])
        .await
        .unwrap();

    let hits = semantic(&index, &unit(0), 10).await;
    assert_eq!(segments(&hits), ["p1", "p2"]);
    assert!(close(hits[0].score, 0.9));
    let matched: Vec<&str> = hits[0].matched_rows.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(matched, ["p1-c2", "p1-c1"]);
    assert!(close(hits[0].matched_rows[1].1, 0.5));
    assert_eq!(hits[1].matched_rows.len(), 1);

    // top_k counts segments, not rows
    assert_eq!(segments(&semantic(&index, &unit(0), 1).await), ["p1"]);
    let hits = full_text(&index, "oil", 10).await;
    assert_eq!(segments(&hits), ["p1"]);
    assert_eq!(hits[0].matched_rows.len(), 2);

    // deleting the parent segment deletes its children
    index.delete_segments(&["p1".into()]).await.unwrap();
    assert_eq!(index.count_rows().await.unwrap(), 1);
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(1));
}

#[tokio::test]
async fn deleting_one_child_row_keeps_its_siblings() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index
        .upsert(vec![
            child("p1-c1", "p1", "engines need oil", blend(0, 1, 0.9)),
            child("p1-c2", "p1", "tyres need air", blend(0, 1, 0.5)),
        ])
        .await
        .unwrap();
    index.delete_rows(&["p1-c1".into()]).await.unwrap();
    assert_eq!(index.count_rows().await.unwrap(), 1);
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(1));
    assert!(full_text(&index, "oil", 10).await.is_empty());
    let hits = semantic(&index, &unit(0), 10).await;
    assert_eq!(segments(&hits), ["p1"]);
    assert_eq!(hits[0].matched_rows[0].0, "p1-c2");
    // unknown ids are no-ops
    index.delete_rows(&["nope".into()]).await.unwrap();
    assert_eq!(index.count_rows().await.unwrap(), 1);
}

#[tokio::test]
async fn wrong_dimensions_fail_before_anything_is_written() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    let mut short = row("bad", "d", "short vector", vec![1.0; 4]);
    let err = index
        .upsert(vec![row("good", "d", "good vector", unit(0)), short.clone()])
        .await
        .unwrap_err();
    assert!(
        matches!(err, IndexError::Dimension { expected: 8, got: 4 }),
        "{err}"
    );
    short.vector = None;
    let err = index.upsert(vec![short]).await.unwrap_err();
    assert!(
        matches!(err, IndexError::Dimension { expected: 8, got: 0 }),
        "{err}"
    );
    assert_eq!(index.count_rows().await.unwrap(), 0);
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(0));
    assert!(full_text(&index, "good", 5).await.is_empty());

    let err = index
        .search(&request(SearchMethod::Semantic, "", 5), Some(&[1.0; 3]))
        .await;
    assert!(
        matches!(err, Err(IndexError::Dimension { expected: 8, got: 3 })),
        "{err:?}"
    );
    for method in [SearchMethod::Semantic, SearchMethod::Hybrid] {
        let err = index.search(&request(method, "q", 5), None).await;
        assert!(matches!(err, Err(IndexError::MissingQueryVector)), "{err:?}");
    }
    drop(index);
    // a generation belongs to one embedding model
    let err = DatasetIndex::open(dir.path(), Some(16))
        .await
        .err()
        .expect("dimension clash");
    assert!(matches!(err, IndexError::Vector(_)), "{err}");
}

#[tokio::test]
async fn keyword_only_dataset_has_no_vector_table() {
    let dir = TempDir::new().unwrap();
    let index = DatasetIndex::open(dir.path(), None).await.unwrap();
    assert_eq!(index.dimension(), None);
    let rows = three_segments()
        .into_iter()
        .map(|r| IndexRow { vector: None, ..r })
        .collect();
    index.upsert(rows).await.unwrap();
    assert_eq!(segments(&full_text(&index, "dogs", 5).await), ["s2"]);
    assert_eq!(index.count_vector_rows().await.unwrap(), None);
    assert!(!dir.path().join("vectors").exists());

    for method in [SearchMethod::Semantic, SearchMethod::Hybrid] {
        let err = index.search(&request(method, "dogs", 5), Some(&unit(0))).await;
        assert!(matches!(err, Err(IndexError::NoVectorIndex)), "{err:?}");
    }
    index.set_documents_enabled(&["d1".into()], false).await.unwrap();
    assert!(full_text(&index, "dogs", 5).await.is_empty());
    index.delete_documents(&["d2".into()]).await.unwrap();
    assert_eq!(index.count_rows().await.unwrap(), 2);
}

#[tokio::test]
async fn data_survives_closing_and_reopening() {
    let dir = TempDir::new().unwrap();
    {
        let index = open(dir.path()).await;
        index.upsert(three_segments()).await.unwrap();
        index.set_segments_enabled(&["s2".into()], false).await.unwrap();
    }
    let index = open(dir.path()).await;
    assert_eq!(index.count_rows().await.unwrap(), 3);
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(3));
    assert_eq!(segments(&full_text(&index, "fox", 5).await), ["s1"]);
    assert_eq!(semantic(&index, &unit(2), 1).await[0].segment_id, "s3");
    // the disabled flag persisted in both stores
    assert!(full_text(&index, "dogs", 5).await.is_empty());
    assert!(!segments(&semantic(&index, &unit(1), 5).await).contains(&"s2"));
    // and the reopened index still writes
    index
        .upsert(vec![row("s4", "d3", "fresh words", unit(3))])
        .await
        .unwrap();
    assert_eq!(segments(&full_text(&index, "fresh", 5).await), ["s4"]);
    // compaction keeps every row and flag
    index.optimize().await.unwrap();
    assert_eq!(index.count_vector_rows().await.unwrap(), Some(4));
    assert_eq!(semantic(&index, &unit(3), 1).await[0].segment_id, "s4");
    assert!(!segments(&semantic(&index, &unit(1), 5).await).contains(&"s2"));
}

#[tokio::test]
async fn query_syntax_characters_never_fail_a_search() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index.upsert(three_segments()).await.unwrap();
    let queries = [
        "\"foo:(bar",
        "fox:(",
        "title: fox",
        "(((",
        ")",
        "\"unbalanced quote",
        "a:b:c",
        "\\",
        "+-!^~*?[]{}",
        "AND OR NOT",
        "fox AND",
        "id:s1",
        "enabled:false",
        "field:[a TO",
        "日本語",
    ];
    for query in queries {
        let result = index
            .search(&request(SearchMethod::FullText, query, 5), None)
            .await;
        assert!(result.is_ok(), "{query:?}: {result:?}");
        let result = index
            .search(&request(SearchMethod::Hybrid, query, 5), Some(&unit(0)))
            .await;
        assert!(result.is_ok(), "{query:?}: {result:?}");
    }
    // broken syntax still searches the words it contains
    assert_eq!(segments(&full_text(&index, "\"fox:(jumps", 5).await), ["s1"]);
    assert_eq!(segments(&full_text(&index, "title: fox", 5).await), ["s1"]);
    // a query without a single word matches nothing (tantivy alone would read `*` as "all")
    assert!(full_text(&index, "*", 5).await.is_empty());
    assert!(full_text(&index, "+-!^~*?[]{}", 5).await.is_empty());
    // well-formed syntax is honoured: a phrase must match in order
    assert_eq!(segments(&full_text(&index, "\"quick brown\"", 5).await), ["s1"]);
    assert!(full_text(&index, "\"brown quick\"", 5).await.is_empty());
    // field syntax cannot reach disabled rows
    index.set_segments_enabled(&["s1".into()], false).await.unwrap();
    assert!(full_text(&index, "enabled:false", 5).await.is_empty());
}

#[tokio::test]
async fn english_analyzer_stems_and_drops_stop_words() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index
        .upsert(vec![
            row("run", "d", "She runs every morning", unit(0)),
            row("stop", "d", "The cat is on the mat", unit(1)),
        ])
        .await
        .unwrap();
    assert_eq!(segments(&full_text(&index, "running", 5).await), ["run"]);
    assert_eq!(segments(&full_text(&index, "RUN", 5).await), ["run"]);
    assert_eq!(segments(&full_text(&index, "cats", 5).await), ["stop"]);
    // stop words neither match nor score
    assert!(full_text(&index, "the is on", 5).await.is_empty());
}

#[tokio::test]
async fn hybrid_weighted_fusion_scores_one_sided_hits() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index
        .upsert(vec![
            // found by the vector side only (no query word)
            row("vec-only", "d", "completely unrelated text", blend(0, 1, 0.9)),
            // found by the keyword side only (orthogonal vector, similarity 0)
            row("kw-only", "d", "zebra crossing", unit(1)),
        ])
        .await
        .unwrap();
    let mut hybrid = request(SearchMethod::Hybrid, "zebra", 5);
    hybrid.fusion = Fusion::Weighted {
        vector_weight: 0.7,
        keyword_weight: 0.3,
    };
    let hits = index.search(&hybrid, Some(&unit(0))).await.unwrap();
    assert_eq!(segments(&hits), ["vec-only", "kw-only"]);
    assert!(close(hits[0].score, 0.7 * 0.9), "{hits:?}");
    assert_eq!(hits[0].keyword_score, None);
    // kw-only: BM25 normalised to 1.0 and its similarity 0 from the vector side
    assert!(close(hits[1].score, 0.3), "{hits:?}");
    assert!(close(hits[1].keyword_score.unwrap(), 1.0));
    assert!(close(hits[1].vector_score.unwrap(), 0.0));

    hybrid.fusion = Fusion::Weighted {
        vector_weight: 0.2,
        keyword_weight: 0.8,
    };
    let hits = index.search(&hybrid, Some(&unit(0))).await.unwrap();
    assert_eq!(segments(&hits), ["kw-only", "vec-only"]);
}

#[tokio::test]
async fn hybrid_rrf_fusion_rewards_agreement() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index
        .upsert(vec![
            row("both", "d", "solar panels on the roof", blend(0, 1, 0.95)),
            row("vector", "d", "photovoltaic roofing", unit(0)),
            row("keyword", "d", "solar eclipse tonight", unit(1)),
        ])
        .await
        .unwrap();
    let mut hybrid = request(SearchMethod::Hybrid, "solar panels", 5);
    hybrid.fusion = Fusion::Rrf { k: 60.0 };
    let hits = index.search(&hybrid, Some(&unit(0))).await.unwrap();
    assert_eq!(hits[0].segment_id, "both", "{hits:?}");
    // second in the vector list, first in the keyword list
    assert!(
        close(hits[0].score, (1.0 / 62.0 + 1.0 / 61.0) / (2.0 / 61.0)),
        "{hits:?}"
    );
    assert!(hits.iter().all(|h| (0.0..=1.0).contains(&h.score)));
    assert!(hits[0].vector_score.is_some() && hits[0].keyword_score.is_some());
}

#[tokio::test]
async fn full_text_scores_are_raw_bm25_and_ignore_the_threshold() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index
        .upsert(vec![
            row("many", "d", "kiwi kiwi kiwi kiwi orchard", unit(0)),
            row(
                "once",
                "d",
                "kiwi in a long sentence about many other fruits and trees",
                unit(1),
            ),
        ])
        .await
        .unwrap();
    let mut request = request(SearchMethod::FullText, "kiwi", 5);
    request.score_threshold = Some(100.0);
    let hits = index.search(&request, None).await.unwrap();
    assert_eq!(segments(&hits), ["many", "once"], "the threshold does not apply");
    assert!(hits[0].score > hits[1].score && hits[1].score > 0.0, "{hits:?}");
    assert!(close(hits[0].keyword_score.unwrap(), 1.0));
    assert!(close(
        hits[1].keyword_score.unwrap(),
        hits[1].score / hits[0].score
    ));
}

/// Two handles on one generation directory stand for two processes (`ragd serve` and `ragd
/// worker`): tantivy's writer lock and the generation lock are file locks, which exclude each
/// other across open files as they do across processes.
#[tokio::test]
async fn two_handles_on_one_directory_write_and_see_each_other() {
    let dir = TempDir::new().unwrap();
    let serve = open(dir.path()).await;
    let worker = open(dir.path()).await;
    worker.upsert(three_segments()).await.unwrap();
    // The other handle sees the commit without being told: both stores refresh on read.
    assert_eq!(segments(&full_text(&serve, "fox", 5).await), ["s1"]);
    assert_eq!(semantic(&serve, &unit(2), 1).await[0].segment_id, "s3");
    assert_eq!(serve.count_rows().await.unwrap(), 3);

    // Writes from both at once all land; none fails on a busy lock.
    let batch = |prefix: &str, axis: usize| -> Vec<IndexRow> {
        (0..20)
            .map(|n| {
                row(
                    &format!("{prefix}{n}"),
                    prefix,
                    &format!("{prefix} word{n}"),
                    unit(axis),
                )
            })
            .collect()
    };
    let s2 = ["s2".to_string()];
    let (a, b, c) = tokio::join!(
        serve.upsert(batch("alpha", 4)),
        worker.upsert(batch("beta", 5)),
        serve.set_segments_enabled(&s2, false),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    for index in [&serve, &worker] {
        assert_eq!(index.count_rows().await.unwrap(), 43);
        assert_eq!(index.count_vector_rows().await.unwrap(), Some(43));
        assert_eq!(full_text(index, "beta", 50).await.len(), 20);
        assert_eq!(full_text(index, "alpha", 50).await.len(), 20);
        assert!(
            full_text(index, "dogs", 5).await.is_empty(),
            "disabled everywhere"
        );
    }
    // A flag change made through one handle acts on rows the other one wrote.
    serve
        .set_documents_enabled(&["beta".into()], false)
        .await
        .unwrap();
    assert!(full_text(&worker, "beta", 50).await.is_empty());
    worker.delete_documents(&["alpha".into()]).await.unwrap();
    assert!(full_text(&serve, "alpha", 50).await.is_empty());
    serve.optimize().await.unwrap();
    assert_eq!(worker.count_vector_rows().await.unwrap(), Some(23));
}

#[tokio::test]
async fn removing_the_vector_table_makes_old_handles_stale() {
    let dir = TempDir::new().unwrap();
    let with_vectors = open(dir.path()).await;
    with_vectors.upsert(three_segments()).await.unwrap();
    DatasetIndex::remove_vector_table(dir.path()).await.unwrap();
    assert!(!dir.path().join("vectors").exists());
    let err = with_vectors
        .upsert(vec![row("s9", "d9", "late write", unit(0))])
        .await;
    assert!(matches!(err, Err(IndexError::Stale)), "{err:?}");
    assert!(!dir.path().join("vectors").exists(), "nothing recreated it");
    // The keyword-only handle keeps the full-text rows and writes on.
    let keyword_only = DatasetIndex::open(dir.path(), None).await.unwrap();
    assert_eq!(segments(&full_text(&keyword_only, "fox", 5).await), ["s1"]);
    keyword_only
        .upsert(vec![IndexRow {
            vector: None,
            ..row("s4", "d3", "fresh words", unit(0))
        }])
        .await
        .unwrap();
    assert_eq!(keyword_only.count_rows().await.unwrap(), 4);
    // Removing twice, or from a directory that never existed, is not an error.
    DatasetIndex::remove_vector_table(dir.path()).await.unwrap();
    DatasetIndex::remove_vector_table(&dir.path().join("missing"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_full_text_write_waits_for_a_busy_writer_lock() {
    let dir = TempDir::new().unwrap();
    let fulltext_dir = dir.path().join("fulltext");
    let index = FullTextIndex::open(&fulltext_dir, 50_000_000, Analyzer::default())
        .await
        .unwrap();
    // Another process's writer, as tantivy itself holds it.
    let foreign = tantivy::Index::open_in_dir(&fulltext_dir).unwrap();
    let held: tantivy::IndexWriter = foreign.writer(15_000_000).unwrap();
    let rows: std::sync::Arc<[IndexRow]> = vec![IndexRow {
        vector: None,
        ..row("s1", "d1", "patient words", unit(0))
    }]
    .into();
    let writing = {
        let index = index.clone();
        tokio::spawn(async move { index.upsert(rows).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!writing.is_finished(), "the write did not wait for the lock");
    drop(held);
    writing
        .await
        .unwrap()
        .expect("the write succeeds once the lock is free");
    let hits = index
        .search("patient".into(), 5, Filter::default())
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
}

#[tokio::test]
async fn segment_keywords_are_found_by_full_text_and_keep_the_enabled_flag() {
    let dir = TempDir::new().unwrap();
    let index = open(dir.path()).await;
    index
        .upsert(vec![
            child("c1", "s1", "honey bees dance", unit(0)),
            child("c2", "s1", "wax combs", unit(1)),
            row("s2", "d2", "garden flowers", unit(2)),
        ])
        .await
        .unwrap();
    assert!(full_text(&index, "pollination", 5).await.is_empty());

    let keywords = vec!["pollination".to_string(), "bees".to_string()];
    index.set_segment_keywords("s1", &keywords).await.unwrap();
    assert_eq!(segments(&full_text(&index, "pollination", 5).await), ["s1"]);
    // Rows, vectors and the other segment are untouched.
    assert_eq!(index.count_rows().await.unwrap(), 3);
    assert_eq!(segments(&semantic(&index, &unit(2), 1).await), ["s2"]);

    index
        .set_segments_enabled(&["s1".to_string()], false)
        .await
        .unwrap();
    assert!(full_text(&index, "pollination", 5).await.is_empty());
    index
        .set_segments_enabled(&["s1".to_string()], true)
        .await
        .unwrap();
    // Re-adding a row for its flag keeps its keywords.
    assert_eq!(segments(&full_text(&index, "pollination", 5).await), ["s1"]);

    index.set_segment_keywords("s1", &[]).await.unwrap();
    assert!(full_text(&index, "pollination", 5).await.is_empty());
    assert_eq!(segments(&full_text(&index, "combs", 5).await), ["s1"]);
}
