//! tantivy BM25 index of one dataset generation.
//!
//! One tantivy index in `<generation dir>/fulltext`, one document per [`IndexRow`]: `id`,
//! `segment_id` and `document_id` as raw stored strings, `text` analysed by the index's
//! [`Analyzer`] and stored (so enable/disable can re-add a row without the caller sending its text
//! again), and `enabled` as an indexed fast bool. The analyzer is chosen when the index is created
//! and recorded in its schema; opening an existing index uses the recorded one.
//!
//! Several processes may share the index (`ragd serve` and `ragd worker` on one data dir), so no
//! [`IndexWriter`] stays open: each write call takes tantivy's writer lock for itself (waiting
//! with a bounded backoff while another process holds it), writes, commits, lets the merges its
//! commit started finish, and lets go. Every write call is one commit followed by a reload of the
//! reader (`ReloadPolicy::Manual`), so the next search sees the change and a search never sees
//! half a call. Commits of other processes are seen too: a search first checks whether
//! `meta.json` changed since the reader last loaded it (one `stat`) and reloads if so.
//!
//! All tantivy work is blocking and runs on tokio's blocking pool through `run_blocking`, bounded
//! by a process-wide semaphore; a panic there becomes an [`IndexError`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::directory::error::LockError;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser, TermQuery, TermSetQuery};
use tantivy::schema::{
    FAST, Field, FieldType, INDEXED, IndexRecordOption, STORED, STRING, Schema as TantivySchema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term};
use tokio::sync::Semaphore;

use crate::analyzer::{Analyzer, terms};
use crate::error::fulltext_error;
use crate::{Filter, IndexError, IndexRow};

/// Default memory budget of the index writer, split across its indexing threads.
pub const DEFAULT_WRITER_MEMORY_BYTES: usize = 50_000_000;
/// How long a write waits for another process's writer to let go before it fails.
pub const WRITER_LOCK_TIMEOUT: Duration = Duration::from_secs(60);
/// First and longest pause between attempts to take a busy writer lock.
const LOCK_RETRY_FIRST: Duration = Duration::from_millis(2);
const LOCK_RETRY_MAX: Duration = Duration::from_millis(100);

/// A row found by BM25 search.
#[derive(Debug, Clone, PartialEq)]
pub struct FullTextHit {
    pub id: String,
    pub segment_id: String,
    pub document_id: String,
    /// Raw BM25 score: positive, unbounded, only comparable within one query.
    pub score: f32,
}

/// The tantivy index of one dataset generation. Cheap to clone (one shared index).
#[derive(Clone)]
pub struct FullTextIndex {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    writer_memory_bytes: usize,
    /// Orders this process's writes; other processes are kept out by tantivy's lock file.
    write_mutex: Mutex<()>,
    /// `meta.json` as it was when the reader last loaded it.
    loaded_meta: Mutex<Option<MetaStamp>>,
    parser: QueryParser,
    /// The analyzer of the `text` field, to split queries the same way.
    analyzer: TextAnalyzer,
    kind: Analyzer,
    fields: Fields,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    segment_id: Field,
    document_id: Field,
    text: Field,
    enabled: Field,
}

impl FullTextIndex {
    /// Opens the index in `dir`, creating it if missing; writes use writers of the given memory
    /// budget (at least 15 MB, tantivy's minimum per indexing thread).
    ///
    /// Any number of `FullTextIndex` values, in this process or others, may have the same
    /// directory open: writers are taken per write call, one at a time.
    ///
    /// A new index is created with `analyzer`; an existing one keeps the analyzer it was built
    /// with (recorded in its schema).
    pub async fn open(
        dir: &Path,
        writer_memory_bytes: usize,
        analyzer: Analyzer,
    ) -> Result<Self, IndexError> {
        let dir = dir.to_path_buf();
        run_blocking(move || Inner::open(&dir, writer_memory_bytes, analyzer))
            .await
            .map(|inner| Self {
                inner: Arc::new(inner),
            })
    }

    /// Whether `dir` holds a full-text index.
    pub fn exists(dir: &Path) -> bool {
        dir.join("meta.json").is_file()
    }

    /// The analyzer this index was built with.
    pub fn analyzer(&self) -> Analyzer {
        self.inner.kind
    }

    /// Adds or replaces rows by `id`, then commits.
    pub async fn upsert(&self, rows: Arc<[IndexRow]>) -> Result<(), IndexError> {
        if rows.is_empty() {
            return Ok(());
        }
        let inner = self.inner.clone();
        run_blocking(move || inner.upsert(&rows)).await
    }

    /// Deletes these rows by id, then commits.
    pub async fn delete_rows(&self, ids: Vec<String>) -> Result<(), IndexError> {
        let inner = self.inner.clone();
        run_blocking(move || inner.delete(inner.fields.id, &ids)).await
    }

    /// Deletes the rows of these segments, then commits.
    pub async fn delete_segments(&self, segment_ids: Vec<String>) -> Result<(), IndexError> {
        let inner = self.inner.clone();
        run_blocking(move || inner.delete(inner.fields.segment_id, &segment_ids)).await
    }

    /// Deletes every row of these documents, then commits.
    pub async fn delete_documents(&self, document_ids: Vec<String>) -> Result<(), IndexError> {
        let inner = self.inner.clone();
        run_blocking(move || inner.delete(inner.fields.document_id, &document_ids)).await
    }

    /// Enables or disables the rows of these segments, then commits.
    pub async fn set_segments_enabled(
        &self,
        segment_ids: Vec<String>,
        enabled: bool,
    ) -> Result<(), IndexError> {
        let inner = self.inner.clone();
        run_blocking(move || inner.set_enabled(inner.fields.segment_id, &segment_ids, enabled)).await
    }

    /// Sets the keywords indexed with a segment's rows, then commits.
    pub async fn set_segment_keywords(
        &self,
        segment_id: String,
        keywords: Vec<String>,
    ) -> Result<(), IndexError> {
        let inner = self.inner.clone();
        run_blocking(move || inner.set_keywords(&segment_id, &keywords)).await
    }

    /// Enables or disables every row of these documents, then commits.
    pub async fn set_documents_enabled(
        &self,
        document_ids: Vec<String>,
        enabled: bool,
    ) -> Result<(), IndexError> {
        let inner = self.inner.clone();
        run_blocking(move || inner.set_enabled(inner.fields.document_id, &document_ids, enabled)).await
    }

    /// The `limit` best enabled rows for `query` by BM25 that pass `filter`, best first.
    ///
    /// `query` is user input in tantivy's query syntax, parsed leniently: malformed syntax
    /// (unbalanced quotes or parentheses, unknown `field:` prefixes) never fails the search; when
    /// the parser reports any problem the query falls back to its plain words, OR-ed. The
    /// filters are `Must` clauses of the same boolean query, so they apply inside the index
    /// before top-k, and they score 0 so they do not shift BM25.
    pub async fn search(
        &self,
        query: String,
        limit: usize,
        filter: Filter,
    ) -> Result<Vec<FullTextHit>, IndexError> {
        if limit == 0 || filter.matches_nothing() || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let inner = self.inner.clone();
        run_blocking(move || inner.search(&query, limit, &filter)).await
    }

    /// Number of live (committed, not deleted) rows, enabled or not.
    pub async fn count_rows(&self) -> Result<usize, IndexError> {
        let inner = self.inner.clone();
        run_blocking(move || {
            inner.refresh()?;
            Ok(inner.reader.searcher().num_docs() as usize)
        })
        .await
    }
}

impl Inner {
    fn open(dir: &Path, writer_memory_bytes: usize, analyzer: Analyzer) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir)?;
        let directory = MmapDirectory::open(dir).map_err(fulltext_error)?;
        let (index, kind) = if Index::exists(&directory).map_err(fulltext_error)? {
            let index = Index::open(directory).map_err(fulltext_error)?;
            let kind = recorded_analyzer(&index.schema())?;
            (index, kind)
        } else {
            let index =
                Index::create(directory, schema(analyzer), Default::default()).map_err(fulltext_error)?;
            (index, analyzer)
        };
        let fields = fields(&index.schema())?;
        // Tokenizers are not persisted with the index, only their names: register on every open.
        let analyzer = kind.build();
        index.tokenizers().register(&kind.name(), analyzer.clone());
        // Taken before the reader loads, so a commit racing with the load is reloaded later.
        let loaded = meta_stamp(dir);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(fulltext_error)?;
        let parser = QueryParser::for_index(&index, vec![fields.text]);
        Ok(Self {
            dir: dir.to_path_buf(),
            index,
            reader,
            writer_memory_bytes,
            write_mutex: Mutex::new(()),
            loaded_meta: Mutex::new(loaded),
            parser,
            analyzer,
            kind,
            fields,
        })
    }

    fn upsert(&self, rows: &[IndexRow]) -> Result<(), IndexError> {
        self.write(|writer| {
            for row in rows {
                // A delete only hits documents added before it, so this replaces an older row
                // with the same id and keeps the one added next.
                writer.delete_term(Term::from_field_text(self.fields.id, &row.id));
                writer
                    .add_document(self.document(
                        &row.id,
                        &row.segment_id,
                        &row.document_id,
                        &row.text,
                        &row.keywords,
                        row.enabled,
                    ))
                    .map_err(fulltext_error)?;
            }
            Ok(())
        })
    }

    fn delete(&self, field: Field, values: &[String]) -> Result<(), IndexError> {
        if values.is_empty() {
            return Ok(());
        }
        self.write(|writer| {
            for value in values {
                writer.delete_term(Term::from_field_text(field, value));
            }
            Ok(())
        })
    }

    /// tantivy cannot update a field in place: rows whose flag changes are read back from the
    /// store and re-added with the new flag.
    fn set_enabled(&self, field: Field, values: &[String], enabled: bool) -> Result<(), IndexError> {
        if values.is_empty() {
            return Ok(());
        }
        self.write(|writer| {
            // `write` reloaded the reader after taking the writer lock, so it sees every row
            // there is, whichever process wrote it.
            let searcher = self.reader.searcher();
            let query = BooleanQuery::new(vec![
                (Occur::Must, term_set(field, values)),
                (Occur::Must, bool_term(self.fields.enabled, !enabled)),
            ]);
            let found = searcher
                .search(&query, &DocSetCollector)
                .map_err(fulltext_error)?;
            for address in found {
                let doc: TantivyDocument = searcher.doc(address).map_err(fulltext_error)?;
                let id = self.stored_str(&doc, self.fields.id)?;
                writer.delete_term(Term::from_field_text(self.fields.id, id));
                writer
                    .add_document(self.document(
                        id,
                        self.stored_str(&doc, self.fields.segment_id)?,
                        self.stored_str(&doc, self.fields.document_id)?,
                        self.stored_str(&doc, self.fields.text)?,
                        &self.stored_keywords(&doc),
                        enabled,
                    ))
                    .map_err(fulltext_error)?;
            }
            Ok(())
        })
    }

    /// Re-adds the rows of a segment with new keywords (text and flag read back from the store).
    fn set_keywords(&self, segment_id: &str, keywords: &[String]) -> Result<(), IndexError> {
        self.write(|writer| {
            let searcher = self.reader.searcher();
            // The flag is indexed, not stored: rows are found per flag.
            for enabled in [true, false] {
                let query = BooleanQuery::new(vec![
                    (
                        Occur::Must,
                        term_set(self.fields.segment_id, &[segment_id.to_owned()]),
                    ),
                    (Occur::Must, bool_term(self.fields.enabled, enabled)),
                ]);
                let found = searcher
                    .search(&query, &DocSetCollector)
                    .map_err(fulltext_error)?;
                for address in found {
                    let doc: TantivyDocument = searcher.doc(address).map_err(fulltext_error)?;
                    let id = self.stored_str(&doc, self.fields.id)?;
                    let text = self.stored_str(&doc, self.fields.text)?;
                    writer.delete_term(Term::from_field_text(self.fields.id, id));
                    writer
                        .add_document(self.document(
                            id,
                            self.stored_str(&doc, self.fields.segment_id)?,
                            self.stored_str(&doc, self.fields.document_id)?,
                            text,
                            keywords,
                            enabled,
                        ))
                        .map_err(fulltext_error)?;
                }
            }
            Ok(())
        })
    }

    fn search(&self, query: &str, limit: usize, filter: &Filter) -> Result<Vec<FullTextHit>, IndexError> {
        let Some(text_query) = self.text_query(query) else {
            return Ok(Vec::new());
        };
        let mut clauses = vec![
            (Occur::Must, text_query),
            (Occur::Must, bool_term(self.fields.enabled, true)),
        ];
        if let Some(document_ids) = &filter.document_ids {
            clauses.push((Occur::Must, term_set(self.fields.document_id, document_ids)));
        }
        self.refresh()?;
        let searcher = self.reader.searcher();
        let top = searcher
            .search(
                &BooleanQuery::new(clauses),
                &TopDocs::with_limit(limit).order_by_score(),
            )
            .map_err(fulltext_error)?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(fulltext_error)?;
            hits.push(FullTextHit {
                id: self.stored_str(&doc, self.fields.id)?.to_owned(),
                segment_id: self.stored_str(&doc, self.fields.segment_id)?.to_owned(),
                document_id: self.stored_str(&doc, self.fields.document_id)?.to_owned(),
                score,
            });
        }
        hits.sort_by(|a, b| crate::fusion::by_score_then_id(a.score, &a.id, b.score, &b.id));
        Ok(hits)
    }

    /// The scoring part of a search: the parsed query, or its plain words OR-ed if parsing
    /// reported any problem or the analyzer takes no query syntax (Chinese, Japanese, Korean).
    /// None when the query has no searchable word (only stop words or symbols): tantivy would
    /// read `*` or a stop-word-only query as "match everything".
    fn text_query(&self, query: &str) -> Option<Box<dyn Query>> {
        let mut words = self.words(query);
        if words.is_empty() {
            return None;
        }
        if self.kind.parses_query_syntax() {
            let (parsed, errors) = self.parser.parse_query_lenient(query);
            if errors.is_empty() {
                return Some(parsed);
            }
            tracing::debug!(
                ?errors,
                "full-text query has syntax problems, searching its words"
            );
        }
        // A repeated term would count twice.
        let mut seen = std::collections::HashSet::new();
        words.retain(|word| seen.insert(word.clone()));
        let terms = words
            .into_iter()
            .map(|word| {
                let term = Term::from_field_text(self.fields.text, &word);
                let query: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                (Occur::Should, query)
            })
            .collect();
        Some(Box::new(BooleanQuery::new(terms)))
    }

    /// The indexed terms of `text`, as the index's analyzer produces them.
    fn words(&self, text: &str) -> Vec<String> {
        terms(&mut self.analyzer.clone(), text)
    }

    /// Runs `op` on a writer of its own, then commits, waits for the merges the commit started
    /// and reloads the reader. A failed call commits nothing: its writer is dropped, which
    /// discards what it had added.
    fn write(&self, op: impl FnOnce(&mut IndexWriter) -> Result<(), IndexError>) -> Result<(), IndexError> {
        // Nothing is left half-done behind a poisoned lock: the writer went with the panic.
        let _local = self
            .write_mutex
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut writer = self.take_writer()?;
        // Another process may have committed since this reader last loaded.
        self.reload()?;
        op(&mut writer)?;
        writer.commit().map_err(fulltext_error)?;
        // Merges run in the writer's threads; waiting keeps segments from piling up now that
        // writers are short-lived (dropping one would cancel its merges). The commit stands
        // whatever a merge does, so a failed merge is only logged.
        if let Err(err) = writer.wait_merging_threads() {
            tracing::warn!(error = %err, "full-text merge failed; segments stay unmerged");
        }
        self.reload()
    }

    /// Takes tantivy's writer lock, retrying with a growing pause while another writer (in this
    /// process or another) holds it, for at most [`WRITER_LOCK_TIMEOUT`].
    ///
    /// The index is opened afresh for each writer: tantivy reads its list of managed files once
    /// per open, and a stale list would let old segment files of other processes' writers leak.
    /// If another writer committed between that open and getting the lock, it is opened again.
    fn take_writer(&self) -> Result<IndexWriter, IndexError> {
        let started = Instant::now();
        let mut pause = LOCK_RETRY_FIRST;
        loop {
            let before = meta_stamp(&self.dir);
            let index = self.open_for_writing()?;
            match index.writer(self.writer_memory_bytes) {
                Ok(writer) if meta_stamp(&self.dir) == before => return Ok(writer),
                // Dropped at once, which lets the lock go.
                Ok(_changed_meanwhile) => {}
                Err(TantivyError::LockFailure(LockError::LockBusy, _)) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(LOCK_RETRY_MAX);
                }
                Err(err) => return Err(fulltext_error(err)),
            }
            if started.elapsed() >= WRITER_LOCK_TIMEOUT {
                return Err(IndexError::Busy(format!(
                    "another writer held the full-text index for more than {}s",
                    WRITER_LOCK_TIMEOUT.as_secs()
                )));
            }
        }
    }

    fn open_for_writing(&self) -> Result<Index, IndexError> {
        let directory = MmapDirectory::open(&self.dir).map_err(fulltext_error)?;
        let index = Index::open(directory).map_err(fulltext_error)?;
        index
            .tokenizers()
            .register(&self.kind.name(), self.analyzer.clone());
        Ok(index)
    }

    /// Reloads the reader if `meta.json` changed since it last loaded (a commit of this process
    /// or another): one `stat` when nothing changed.
    fn refresh(&self) -> Result<(), IndexError> {
        let current = meta_stamp(&self.dir);
        let mut loaded = self.loaded_meta.lock().unwrap_or_else(|p| p.into_inner());
        if current.is_some() && *loaded == current {
            return Ok(());
        }
        self.reader.reload().map_err(fulltext_error)?;
        *loaded = current;
        Ok(())
    }

    /// Reloads the reader unconditionally.
    fn reload(&self) -> Result<(), IndexError> {
        // Stamped before loading: a commit racing with the load is picked up by the next refresh.
        let current = meta_stamp(&self.dir);
        let mut loaded = self.loaded_meta.lock().unwrap_or_else(|p| p.into_inner());
        self.reader.reload().map_err(fulltext_error)?;
        *loaded = current;
        Ok(())
    }

    fn document(
        &self,
        id: &str,
        segment_id: &str,
        document_id: &str,
        text: &str,
        keywords: &[String],
        enabled: bool,
    ) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.fields.id, id);
        doc.add_text(self.fields.segment_id, segment_id);
        doc.add_text(self.fields.document_id, document_id);
        doc.add_text(self.fields.text, text);
        // Further values of the text field: matched and scored like the text, stored after it.
        for keyword in keywords {
            doc.add_text(self.fields.text, keyword);
        }
        doc.add_bool(self.fields.enabled, enabled);
        doc
    }

    /// The keywords stored after the text of a row.
    fn stored_keywords(&self, doc: &TantivyDocument) -> Vec<String> {
        doc.get_all(self.fields.text)
            .skip(1)
            .filter_map(|value| value.as_str().map(str::to_owned))
            .collect()
    }

    fn stored_str<'a>(&self, doc: &'a TantivyDocument, field: Field) -> Result<&'a str, IndexError> {
        doc.get_first(field)
            .and_then(|value| value.as_str())
            .ok_or_else(|| {
                IndexError::FullText(format!(
                    "stored document lacks field {}",
                    self.index.schema().get_field_name(field)
                ))
            })
    }
}

/// Identity of a `meta.json` version: tantivy replaces the file on every commit (write to a
/// temporary file, then rename), so a new inode, size or modification time means a new commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MetaStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

fn meta_stamp(dir: &Path) -> Option<MetaStamp> {
    let meta = std::fs::metadata(dir.join("meta.json")).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(MetaStamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode,
    })
}

/// The schema of a new index whose text is analysed by `analyzer`.
fn schema(analyzer: Analyzer) -> TantivySchema {
    let mut builder = TantivySchema::builder();
    builder.add_text_field("id", STRING | STORED);
    builder.add_text_field("segment_id", STRING | STORED);
    builder.add_text_field("document_id", STRING | STORED);
    let text_options = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(&analyzer.name())
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    builder.add_text_field("text", text_options);
    builder.add_bool_field("enabled", INDEXED | FAST);
    builder.build()
}

/// The fields of an index schema.
fn fields(schema: &TantivySchema) -> Result<Fields, IndexError> {
    let field = |name: &str| schema.get_field(name).map_err(fulltext_error);
    Ok(Fields {
        id: field("id")?,
        segment_id: field("segment_id")?,
        document_id: field("document_id")?,
        text: field("text")?,
        enabled: field("enabled")?,
    })
}

/// The analyzer an existing index recorded for its text.
fn recorded_analyzer(schema: &TantivySchema) -> Result<Analyzer, IndexError> {
    let text = schema.get_field("text").map_err(fulltext_error)?;
    let name = match schema.get_field_entry(text).field_type() {
        FieldType::Str(options) => options.get_indexing_options().map(|o| o.tokenizer().to_string()),
        _ => None,
    }
    .ok_or_else(|| IndexError::FullText("the index has no analysed text field".into()))?;
    Analyzer::from_name(&name).ok_or_else(|| {
        IndexError::FullText(format!(
            "the index was built with the analyzer {name:?}, which this version does not know"
        ))
    })
}

/// A filter clause matching `field ∈ values`, scoring 0.
fn term_set(field: Field, values: &[String]) -> Box<dyn Query> {
    let terms = values.iter().map(|v| Term::from_field_text(field, v));
    Box::new(ConstScoreQuery::new(Box::new(TermSetQuery::new(terms)), 0.0))
}

/// A filter clause matching `field == value`, scoring 0.
fn bool_term(field: Field, value: bool) -> Box<dyn Query> {
    let query = TermQuery::new(Term::from_field_bool(field, value), IndexRecordOption::Basic);
    Box::new(ConstScoreQuery::new(Box::new(query), 0.0))
}

/// Caps concurrent tantivy tasks across the process, so a burst of searches or writes cannot
/// occupy the whole blocking pool (512 threads by default).
static BLOCKING_PERMITS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    Arc::new(Semaphore::new((cores * 2).max(4)))
});

/// Runs blocking tantivy work off the async runtime; a panic becomes an error.
async fn run_blocking<T, F>(work: F) -> Result<T, IndexError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, IndexError> + Send + 'static,
{
    let permit = BLOCKING_PERMITS
        .clone()
        .acquire_owned()
        .await
        .map_err(fulltext_error)?;
    tokio::task::spawn_blocking(move || {
        // Held until the work ends, even if the caller stops waiting.
        let _permit = permit;
        work()
    })
    .await
    .map_err(|err| IndexError::FullText(format!("full-text task failed: {err}")))?
}
