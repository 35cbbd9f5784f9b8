//! [`DatasetIndex`]: one dataset generation's vector table and full-text index behind one API.
//!
//! Layout of a generation directory: `vectors/` (a LanceDB database, absent for keyword-only
//! datasets), `fulltext/` (a tantivy index) and `write.lock`. Every write updates both stores
//! before it returns, and writes are serialised, across processes too (see `lock`), so both stores
//! apply them in the same order. Searches run without locks against the last committed state,
//! including commits made by other processes.
//!
//! Rows are segments, or child chunks of parent segments in hierarchical datasets: search
//! ranks rows, then groups them by segment, a parent scoring as its best child (Dify's
//! parent-child retrieval).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fulltext::{DEFAULT_WRITER_MEMORY_BYTES, FullTextHit, FullTextIndex};
use crate::fusion::{by_score_then_id, clamp_similarity, fuse_rrf, fuse_weighted, normalize_by_max};
use crate::lock::{GenerationGuard, GenerationLock};
use crate::vector::{VectorHit, VectorStore, check_vector};
use crate::{Analyzer, Filter, Fusion, IndexError};

/// Each method fetches this many candidates per requested hit, at least [`MIN_CANDIDATES`]:
/// fusion needs rows beyond either list's top-k, and grouping child rows by segment shrinks a
/// list.
const CANDIDATES_PER_HIT: usize = 4;
/// Smallest candidate pool per method.
const MIN_CANDIDATES: usize = 50;
/// Folder of the LanceDB database in a generation directory.
const VECTORS_DIR: &str = "vectors";

/// One indexed piece of text: a segment, or a child chunk of a parent segment.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// Unique row id: the segment id, or the child chunk id in hierarchical datasets.
    pub id: String,
    /// The segment a hit on this row returns (equal to `id` for plain segments).
    pub segment_id: String,
    /// The document the segment belongs to (the unit of deletes, enabling and filtering).
    pub document_id: String,
    /// Text indexed for BM25 (stored in the full-text index).
    pub text: String,
    /// Keywords of the segment that `text` lacks (see [`crate::extra_keywords`]): indexed for
    /// BM25 with the text, so a search for one finds the row.
    pub keywords: Vec<String>,
    /// Embedding; None in keyword-only (economy) datasets.
    pub vector: Option<Vec<f32>>,
    /// Disabled rows stay indexed but are never returned.
    pub enabled: bool,
}

/// Which index answers a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMethod {
    /// Cosine similarity over the vector table.
    Semantic,
    /// BM25 over the full-text index (also Dify's keyword search of economy datasets).
    FullText,
    /// Both, run concurrently and fused with [`SearchRequest::fusion`].
    Hybrid,
}

/// A query against one dataset index.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// The user's query text, used by full-text and hybrid search.
    pub query: String,
    /// Which index (or both) to search.
    pub method: SearchMethod,
    /// At most this many hits (segments) are returned; 0 returns none.
    pub top_k: usize,
    /// Hits scoring below this are dropped (after fusion). Full-text search ignores it, as Dify
    /// does: raw BM25 has no fixed scale a threshold could be set on.
    pub score_threshold: Option<f32>,
    /// How hybrid search merges its lists; ignored by the other methods.
    pub fusion: Fusion,
    /// Restriction applied inside both indexes before top-k.
    pub filter: Filter,
}

/// One result: a segment with its fused score and the per-index scores behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The segment this hit returns.
    pub segment_id: String,
    /// The segment's document.
    pub document_id: String,
    /// Final score, higher is better: the cosine similarity clamped to 0..=1 (semantic), the
    /// fused score in 0..=1 (hybrid), or the raw BM25 score of the best row (full text: positive
    /// and unbounded, comparable only within one query).
    pub score: f32,
    /// Cosine similarity (clamped to 0..=1) of the best row, when the vector search found it.
    pub vector_score: Option<f32>,
    /// BM25 of the best row divided by the query's top BM25, when the full-text search found it.
    pub keyword_score: Option<f32>,
    /// Ids of the matching child rows with their scores, best first (hierarchical datasets).
    pub matched_rows: Vec<(String, f32)>,
}

/// Tuning of a [`DatasetIndex`]; [`Default`] suits a single node and English text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexOptions {
    /// Memory budget of the tantivy writer (at least 15 MB).
    pub writer_memory_bytes: usize,
    /// Full-text analyzer of a new index (an existing one keeps the analyzer it was built with).
    pub analyzer: Analyzer,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self {
            writer_memory_bytes: DEFAULT_WRITER_MEMORY_BYTES,
            analyzer: Analyzer::default(),
        }
    }
}

/// The vector table and full-text index of one dataset generation.
pub struct DatasetIndex {
    dir: PathBuf,
    /// None for keyword-only datasets.
    vectors: Option<VectorStore>,
    fulltext: FullTextIndex,
    /// Serialises writes, across processes, so both stores see them in the same order.
    lock: GenerationLock,
}

/// A ranked row before grouping by segment.
struct RankedRow {
    id: String,
    segment_id: String,
    document_id: String,
    score: f32,
    vector_score: Option<f32>,
    keyword_score: Option<f32>,
}

impl DatasetIndex {
    /// Opens or creates the index in `dir`. `dimension` is None for keyword-only datasets.
    pub async fn open(dir: &Path, dimension: Option<usize>) -> Result<Self, IndexError> {
        Self::open_with_options(dir, dimension, IndexOptions::default()).await
    }

    /// [`Self::open`] with explicit tuning.
    pub async fn open_with_options(
        dir: &Path,
        dimension: Option<usize>,
        options: IndexOptions,
    ) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir)?;
        let lock = GenerationLock::new(dir);
        // Creating the stores is a write: two processes opening a new generation at once must
        // not both create them.
        let (vectors, fulltext) = {
            let _creating = lock.lock().await?;
            let vectors = match dimension {
                Some(dimension) => Some(VectorStore::open(&dir.join(VECTORS_DIR), dimension).await?),
                None => None,
            };
            let fulltext = FullTextIndex::open(
                &dir.join("fulltext"),
                options.writer_memory_bytes,
                options.analyzer,
            )
            .await?;
            (vectors, fulltext)
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            vectors,
            fulltext,
            lock,
        })
    }

    /// Removes the vector table of the generation in `dir`, when its dataset becomes
    /// keyword-only, under the generation's write lock. Handles opened with a vector table
    /// before that refuse further writes with [`IndexError::Stale`]; the full-text index stays.
    pub async fn remove_vector_table(dir: &Path) -> Result<(), IndexError> {
        if !dir.exists() {
            return Ok(());
        }
        let lock = GenerationLock::new(dir);
        let _write = lock.lock().await?;
        match tokio::fs::remove_dir_all(dir.join(VECTORS_DIR)).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Takes the write lock, then checks this handle is not stale: a handle with a vector table
    /// must not write once the table was removed (LanceDB would recreate a broken one).
    async fn lock_for_writing(&self) -> Result<GenerationGuard<'_>, IndexError> {
        let guard = self.lock.lock().await?;
        if self.vectors.is_some() && !self.dir.join(VECTORS_DIR).exists() {
            return Err(IndexError::Stale);
        }
        Ok(guard)
    }

    /// Whether `dir` holds a generation's indexes (written by [`Self::open`] before).
    pub fn exists(dir: &Path) -> bool {
        FullTextIndex::exists(&dir.join("fulltext"))
    }

    /// The generation directory this index lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The full-text analyzer of this generation.
    pub fn analyzer(&self) -> Analyzer {
        self.fulltext.analyzer()
    }

    /// Vector dimension, None for keyword-only datasets.
    pub fn dimension(&self) -> Option<usize> {
        self.vectors.as_ref().map(VectorStore::dimension)
    }

    /// Adds or replaces rows (by `id`) and commits both indexes.
    ///
    /// Every row's vector is checked before anything is written: one wrong dimension fails the
    /// whole call with [`IndexError::Dimension`] and changes nothing. Keyword-only datasets
    /// ignore vectors. When `rows` repeats an id, the last occurrence wins.
    pub async fn upsert(&self, rows: Vec<IndexRow>) -> Result<(), IndexError> {
        let rows = last_occurrence_per_id(rows);
        if let Some(vectors) = &self.vectors {
            for row in &rows {
                check_vector(row, vectors.dimension())?;
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let rows: Arc<[IndexRow]> = rows.into();
        let _write = self.lock_for_writing().await?;
        let vector_write = async {
            match &self.vectors {
                Some(vectors) => vectors.upsert(&rows).await,
                None => Ok(()),
            }
        };
        let (vector, fulltext) = tokio::join!(vector_write, self.fulltext.upsert(rows.clone()));
        both(vector, fulltext)
    }

    /// Deletes these rows by id from both indexes (single child chunks; a segment's rows go with
    /// [`Self::delete_segments`]).
    pub async fn delete_rows(&self, ids: &[String]) -> Result<(), IndexError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _write = self.lock_for_writing().await?;
        let vector_write = async {
            match &self.vectors {
                Some(vectors) => vectors.delete_rows(ids).await,
                None => Ok(()),
            }
        };
        let (vector, fulltext) = tokio::join!(vector_write, self.fulltext.delete_rows(ids.to_vec()));
        both(vector, fulltext)
    }

    /// Deletes the rows of these segments (with their child rows) from both indexes.
    pub async fn delete_segments(&self, segment_ids: &[String]) -> Result<(), IndexError> {
        if segment_ids.is_empty() {
            return Ok(());
        }
        let _write = self.lock_for_writing().await?;
        let vector_write = async {
            match &self.vectors {
                Some(vectors) => vectors.delete_segments(segment_ids).await,
                None => Ok(()),
            }
        };
        let (vector, fulltext) =
            tokio::join!(vector_write, self.fulltext.delete_segments(segment_ids.to_vec()));
        both(vector, fulltext)
    }

    /// Deletes every row of these documents from both indexes.
    pub async fn delete_documents(&self, document_ids: &[String]) -> Result<(), IndexError> {
        if document_ids.is_empty() {
            return Ok(());
        }
        let _write = self.lock_for_writing().await?;
        let vector_write = async {
            match &self.vectors {
                Some(vectors) => vectors.delete_documents(document_ids).await,
                None => Ok(()),
            }
        };
        let (vector, fulltext) = tokio::join!(
            vector_write,
            self.fulltext.delete_documents(document_ids.to_vec())
        );
        both(vector, fulltext)
    }

    /// Enables or disables the rows of these segments in both indexes.
    pub async fn set_segments_enabled(
        &self,
        segment_ids: &[String],
        enabled: bool,
    ) -> Result<(), IndexError> {
        if segment_ids.is_empty() {
            return Ok(());
        }
        let _write = self.lock_for_writing().await?;
        let vector_write = async {
            match &self.vectors {
                Some(vectors) => vectors.set_segments_enabled(segment_ids, enabled).await,
                None => Ok(()),
            }
        };
        let fulltext_write = self.fulltext.set_segments_enabled(segment_ids.to_vec(), enabled);
        let (vector, fulltext) = tokio::join!(vector_write, fulltext_write);
        both(vector, fulltext)
    }

    /// Sets the keywords a segment's rows are found by in full-text search besides their text
    /// (see [`IndexRow::keywords`]); vectors are not affected.
    pub async fn set_segment_keywords(
        &self,
        segment_id: &str,
        keywords: &[String],
    ) -> Result<(), IndexError> {
        let _write = self.lock_for_writing().await?;
        self.fulltext
            .set_segment_keywords(segment_id.to_owned(), keywords.to_vec())
            .await
    }

    /// Enables or disables every row of these documents in both indexes.
    pub async fn set_documents_enabled(
        &self,
        document_ids: &[String],
        enabled: bool,
    ) -> Result<(), IndexError> {
        if document_ids.is_empty() {
            return Ok(());
        }
        let _write = self.lock_for_writing().await?;
        let vector_write = async {
            match &self.vectors {
                Some(vectors) => vectors.set_documents_enabled(document_ids, enabled).await,
                None => Ok(()),
            }
        };
        let fulltext_write = self
            .fulltext
            .set_documents_enabled(document_ids.to_vec(), enabled);
        let (vector, fulltext) = tokio::join!(vector_write, fulltext_write);
        both(vector, fulltext)
    }

    /// Runs `request`; `query_vector` is required for semantic and hybrid search.
    ///
    /// Rows are ranked (and, for hybrid, fused), grouped by segment keeping each segment's best
    /// row, then `score_threshold` drops weak hits and `top_k` cuts the list. Errors:
    /// [`IndexError::NoVectorIndex`] for semantic or hybrid search of a keyword-only dataset,
    /// [`IndexError::MissingQueryVector`], [`IndexError::Dimension`] for a query vector of the
    /// wrong size.
    pub async fn search(
        &self,
        request: &SearchRequest,
        query_vector: Option<&[f32]>,
    ) -> Result<Vec<Hit>, IndexError> {
        let vector_query = match request.method {
            SearchMethod::FullText => None,
            SearchMethod::Semantic | SearchMethod::Hybrid => {
                let vectors = self.vectors.as_ref().ok_or(IndexError::NoVectorIndex)?;
                let query = query_vector.ok_or(IndexError::MissingQueryVector)?;
                if query.len() != vectors.dimension() {
                    return Err(IndexError::Dimension {
                        expected: vectors.dimension(),
                        got: query.len(),
                    });
                }
                Some((vectors, query))
            }
        };
        if request.top_k == 0 || request.filter.matches_nothing() {
            return Ok(Vec::new());
        }
        let pool = request
            .top_k
            .saturating_mul(CANDIDATES_PER_HIT)
            .max(MIN_CANDIDATES);

        let rows = match (request.method, vector_query) {
            (SearchMethod::FullText, _) => {
                let hits = self.keyword_hits(request, pool).await?;
                keyword_rows(hits)
            }
            (SearchMethod::Semantic, Some((vectors, query))) => {
                let hits = vectors.search(query, pool, &request.filter).await?;
                vector_rows(hits)
            }
            (SearchMethod::Hybrid, Some((vectors, query))) => {
                let (vector, keyword) = tokio::join!(
                    vectors.search(query, pool, &request.filter),
                    self.keyword_hits(request, pool),
                );
                fuse(vector?, keyword?, request.fusion)
            }
            (SearchMethod::Semantic | SearchMethod::Hybrid, None) => {
                return Err(IndexError::NoVectorIndex);
            }
        };
        let threshold = match request.method {
            SearchMethod::FullText => None,
            SearchMethod::Semantic | SearchMethod::Hybrid => request.score_threshold,
        };
        Ok(group_by_segment(rows, threshold, request.top_k))
    }

    /// Compacts the vector table (every write adds files and a table version). The full-text
    /// index needs no call: tantivy merges its segments in the background.
    pub async fn optimize(&self) -> Result<(), IndexError> {
        let _write = self.lock_for_writing().await?;
        match &self.vectors {
            Some(vectors) => vectors.optimize().await,
            None => Ok(()),
        }
    }

    /// Number of rows in the full-text index (for reports and tests).
    pub async fn count_rows(&self) -> Result<usize, IndexError> {
        self.fulltext.count_rows().await
    }

    /// Number of rows in the vector table, None for keyword-only datasets.
    /// Data fragments of the vector table (None without one): how much compaction is pending.
    pub async fn vector_fragments(&self) -> Result<Option<usize>, IndexError> {
        match &self.vectors {
            Some(vectors) => vectors.fragment_count().await.map(Some),
            None => Ok(None),
        }
    }

    pub async fn count_vector_rows(&self) -> Result<Option<usize>, IndexError> {
        match &self.vectors {
            Some(vectors) => vectors.count_rows().await.map(Some),
            None => Ok(None),
        }
    }

    async fn keyword_hits(
        &self,
        request: &SearchRequest,
        pool: usize,
    ) -> Result<Vec<FullTextHit>, IndexError> {
        self.fulltext
            .search(request.query.clone(), pool, request.filter.clone())
            .await
    }
}

/// Keeps the last row of each id, in first-seen order of the kept rows.
fn last_occurrence_per_id(rows: Vec<IndexRow>) -> Vec<IndexRow> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        last.insert(row.id.as_str(), i);
    }
    if last.len() == rows.len() {
        return rows;
    }
    let keep: Vec<bool> = {
        let mut keep = vec![false; rows.len()];
        for &i in last.values() {
            keep[i] = true;
        }
        keep
    };
    rows.into_iter()
        .zip(keep)
        .filter_map(|(row, keep)| keep.then_some(row))
        .collect()
}

/// Combines the results of writing both stores; if both failed, the full-text error is logged
/// and the vector error returned.
fn both(vector: Result<(), IndexError>, fulltext: Result<(), IndexError>) -> Result<(), IndexError> {
    match (vector, fulltext) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(err), Ok(())) | (Ok(()), Err(err)) => Err(err),
        (Err(vector), Err(fulltext)) => {
            tracing::error!(error = %fulltext, "full-text write failed too");
            Err(vector)
        }
    }
}

fn vector_rows(hits: Vec<VectorHit>) -> Vec<RankedRow> {
    hits.into_iter()
        .map(|hit| {
            let similarity = clamp_similarity(hit.similarity);
            RankedRow {
                id: hit.id,
                segment_id: hit.segment_id,
                document_id: hit.document_id,
                score: similarity,
                vector_score: Some(similarity),
                keyword_score: None,
            }
        })
        .collect()
}

/// Full-text rows keep their raw BM25 as the score (Dify's keyword search reports no score at
/// all; a relative one would give every query's best hit 1.0); `keyword_score` is normalised
/// as in hybrid search.
fn keyword_rows(hits: Vec<FullTextHit>) -> Vec<RankedRow> {
    let scores: Vec<(String, f32)> = hits.iter().map(|h| (h.id.clone(), h.score)).collect();
    hits.into_iter()
        .zip(normalize_by_max(&scores))
        .map(|(hit, (_, normalized))| RankedRow {
            id: hit.id,
            segment_id: hit.segment_id,
            document_id: hit.document_id,
            score: hit.score,
            vector_score: None,
            keyword_score: Some(normalized),
        })
        .collect()
}

/// Fuses the two row lists; the per-list scores reported are the normalised ones (clamped
/// similarity, BM25 over the top BM25) for both fusion kinds.
fn fuse(vector: Vec<VectorHit>, keyword: Vec<FullTextHit>, fusion: Fusion) -> Vec<RankedRow> {
    let mut rows: HashMap<String, (String, String)> = HashMap::new();
    let vector_list: Vec<(String, f32)> = vector
        .into_iter()
        .map(|hit| {
            rows.insert(hit.id.clone(), (hit.segment_id, hit.document_id));
            (hit.id, clamp_similarity(hit.similarity))
        })
        .collect();
    let keyword_list: Vec<(String, f32)> = keyword
        .into_iter()
        .map(|hit| {
            rows.insert(hit.id.clone(), (hit.segment_id, hit.document_id));
            (hit.id, hit.score)
        })
        .collect();

    let fused = match fusion {
        Fusion::Weighted {
            vector_weight,
            keyword_weight,
        } => fuse_weighted(&vector_list, &keyword_list, vector_weight, keyword_weight),
        Fusion::Rrf { k } => fuse_rrf(&[&vector_list, &normalize_by_max(&keyword_list)], k),
    };
    fused
        .into_iter()
        .filter_map(|fused| {
            let (segment_id, document_id) = rows.remove(&fused.id)?;
            Some(RankedRow {
                segment_id,
                document_id,
                score: fused.score,
                vector_score: fused.list_scores.first().copied().flatten(),
                keyword_score: fused.list_scores.get(1).copied().flatten(),
                id: fused.id,
            })
        })
        .collect()
}

/// One hit per segment scored by its best row, then threshold, then top-k.
fn group_by_segment(mut rows: Vec<RankedRow>, threshold: Option<f32>, top_k: usize) -> Vec<Hit> {
    rows.sort_by(|a, b| by_score_then_id(a.score, &a.id, b.score, &b.id));
    let mut position: HashMap<String, usize> = HashMap::new();
    let mut hits: Vec<Hit> = Vec::new();
    for row in rows {
        match position.entry(row.segment_id.clone()) {
            // Rows arrive best first, so the segment's first row is its best.
            Entry::Occupied(entry) => hits[*entry.get()].matched_rows.push((row.id, row.score)),
            Entry::Vacant(entry) => {
                entry.insert(hits.len());
                hits.push(Hit {
                    segment_id: row.segment_id,
                    document_id: row.document_id,
                    score: row.score,
                    vector_score: row.vector_score,
                    keyword_score: row.keyword_score,
                    matched_rows: vec![(row.id, row.score)],
                });
            }
        }
    }
    hits.sort_by(|a, b| by_score_then_id(a.score, &a.segment_id, b.score, &b.segment_id));
    if let Some(threshold) = threshold.filter(|t| !t.is_nan()) {
        hits.retain(|hit| hit.score >= threshold);
    }
    hits.truncate(top_k);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(id: &str, segment: &str, score: f32) -> RankedRow {
        RankedRow {
            id: id.into(),
            segment_id: segment.into(),
            document_id: "doc".into(),
            score,
            vector_score: Some(score),
            keyword_score: None,
        }
    }

    #[test]
    fn grouping_scores_a_parent_by_its_best_child() {
        let rows = vec![
            ranked("c1", "p1", 0.4),
            ranked("c2", "p1", 0.9),
            ranked("c3", "p2", 0.7),
            ranked("c4", "p1", 0.6),
        ];
        let hits = group_by_segment(rows, None, 10);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].segment_id, "p1");
        assert_eq!(hits[0].score, 0.9);
        assert_eq!(
            hits[0].matched_rows,
            vec![("c2".into(), 0.9), ("c4".into(), 0.6), ("c1".into(), 0.4)]
        );
        assert_eq!(hits[1].segment_id, "p2");
    }

    #[test]
    fn threshold_applies_after_grouping_and_before_top_k() {
        let rows = vec![
            ranked("a", "a", 0.9),
            ranked("b", "b", 0.5),
            ranked("c", "c", 0.49),
        ];
        let hits = group_by_segment(rows, Some(0.5), 10);
        assert_eq!(
            hits.iter().map(|h| h.segment_id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let rows = vec![
            ranked("a", "a", 0.9),
            ranked("b", "b", 0.5),
            ranked("c", "c", 0.49),
        ];
        assert_eq!(group_by_segment(rows, Some(0.1), 2).len(), 2);
    }

    #[test]
    fn duplicate_ids_keep_the_last_row() {
        let row = |id: &str, text: &str| IndexRow {
            id: id.into(),
            segment_id: id.into(),
            document_id: "d".into(),
            text: text.into(),
            keywords: Vec::new(),
            vector: None,
            enabled: true,
        };
        let rows = last_occurrence_per_id(vec![row("a", "old"), row("b", "b"), row("a", "new")]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].id, "b");
        assert_eq!(rows[1].text, "new");
    }
}
