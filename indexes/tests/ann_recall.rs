//! The ANN index: built by `optimize` only from the row threshold on, and its results checked
//! against exact search on the same table (recall@10), with filters and late rows.

use indexes::vector::VectorStore;
use indexes::{Filter, IndexRow};

const DIM: usize = 32;

/// Deterministic pseudo-random numbers (xorshift), so the test data is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0
    }

    fn vector(&mut self) -> Vec<f32> {
        (0..DIM).map(|_| self.next()).collect()
    }
}

/// Points around `centers` cluster centres, like embeddings of texts on a few topics.
fn clustered(rng: &mut Rng, centers: &[Vec<f32>], n: usize) -> Vec<Vec<f32>> {
    (0..n)
        .map(|i| {
            let c = &centers[i % centers.len()];
            c.iter().map(|x| x + 0.35 * rng.next()).collect()
        })
        .collect()
}

fn rows(vectors: &[Vec<f32>], prefix: &str) -> Vec<IndexRow> {
    vectors
        .iter()
        .enumerate()
        .map(|(i, v)| IndexRow {
            id: format!("{prefix}{i}"),
            segment_id: format!("{prefix}{i}"),
            document_id: format!("doc{}", i % 50),
            text: String::new(),
            keywords: Vec::new(),
            vector: Some(v.clone()),
            enabled: true,
        })
        .collect()
}

#[tokio::test]
async fn ann_index_is_built_from_the_threshold_and_keeps_recall() {
    let dir = tempfile::tempdir().unwrap();
    let store = VectorStore::open_with_ann_threshold(dir.path(), DIM, 3000)
        .await
        .unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let centers: Vec<Vec<f32>> = (0..40).map(|_| rng.vector()).collect();

    // Below the threshold: optimize compacts but builds no index.
    store
        .upsert(&rows(&clustered(&mut rng, &centers, 2000), "a"))
        .await
        .unwrap();
    store.optimize().await.unwrap();
    assert!(!store.has_ann_index().await.unwrap());

    store
        .upsert(&rows(&clustered(&mut rng, &centers, 2000), "b"))
        .await
        .unwrap();
    store.optimize().await.unwrap();
    assert!(
        store.has_ann_index().await.unwrap(),
        "4000 rows >= 3000: index expected"
    );

    let queries = clustered(&mut rng, &centers, 60);
    let (mut found, mut wanted) = (0usize, 0usize);
    for query in &queries {
        let approx = store.search(query, 10, &Filter::default()).await.unwrap();
        let exact = store.search_exact(query, 10, &Filter::default()).await.unwrap();
        assert_eq!(exact.len(), 10);
        wanted += exact.len();
        found += exact
            .iter()
            .filter(|e| approx.iter().any(|a| a.id == e.id))
            .count();
        // Re-ranking by exact distance: a hit found by both has the same similarity.
        for a in &approx {
            if let Some(e) = exact.iter().find(|e| e.id == a.id) {
                assert!((a.similarity - e.similarity).abs() < 1e-4);
            }
        }
    }
    let recall = found as f64 / wanted as f64;
    println!("ANN recall@10 against exact search: {recall:.3}");
    assert!(recall >= 0.9, "recall@10 {recall}");

    // Filters still apply through the index.
    let only = Filter {
        document_ids: Some(vec!["doc7".into()]),
    };
    let hits = store.search(&queries[0], 10, &only).await.unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h.document_id == "doc7"));

    // A row written after the index was built is found before the next optimize.
    let late = rng.vector();
    store
        .upsert(&rows(std::slice::from_ref(&late), "late"))
        .await
        .unwrap();
    let hits = store.search(&late, 1, &Filter::default()).await.unwrap();
    assert_eq!(hits[0].id, "late0");
    assert!(hits[0].similarity > 0.999);
}
