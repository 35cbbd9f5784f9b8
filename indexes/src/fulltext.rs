//! tantivy BM25 index of one dataset generation.
//!
//! One tantivy index in `<generation dir>/fulltext`, one document per [`IndexRow`]: `id`,
//! `segment_id` and `document_id` as raw stored strings, `text` analysed by the index's
//! [`Analyzer`] and stored (so enable/disable can re-add a row without the caller sending its text
//! again), and `enabled` as an indexed fast bool. The analyzer is chosen when the index is created
//! and recorded in its schema; opening an existing index uses the recorded one.
//!
//! One [`IndexWriter`] stays open behind a mutex; every write call ends in one commit followed by
//! a reload of the reader (`ReloadPolicy::Manual`), so the next search sees the change and a
//! search never sees half a call. All tantivy work is blocking and runs on tokio's blocking pool
//! through `run_blocking`, bounded by a process-wide semaphore; a panic there becomes an
//! [`IndexError`].

use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser, TermQuery, TermSetQuery};
use tantivy::schema::{
    FAST, Field, FieldType, INDEXED, IndexRecordOption, STORED, STRING, Schema as TantivySchema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use tokio::sync::Semaphore;

use crate::analyzer::{Analyzer, terms};
use crate::error::fulltext_error;
use crate::{Filter, IndexError, IndexRow};

/// Default memory budget of the index writer, split across its indexing threads.
pub const DEFAULT_WRITER_MEMORY_BYTES: usize = 50_000_000;

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
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
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
    /// Opens the index in `dir`, creating it with `analyzer` if missing (an existing index keeps
    /// the analyzer it was built with), with a writer of the given memory budget (at least 15 MB,
    /// tantivy's minimum per indexing thread).
    ///
    /// Only one `FullTextIndex` per directory may be open at a time: the writer holds tantivy's
    /// lock file until it is dropped.
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
        run_blocking(move || Ok(inner.reader.searcher().num_docs() as usize)).await
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
        let writer = index.writer(writer_memory_bytes).map_err(fulltext_error)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(fulltext_error)?;
        let parser = QueryParser::for_index(&index, vec![fields.text]);
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(writer),
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
            // The reader was reloaded after the last commit, made under this same lock, so it
            // sees every row there is.
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
                        enabled,
                    ))
                    .map_err(fulltext_error)?;
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

    /// Runs `op` on the writer, then commits and reloads the reader; rolls back on error so a
    /// failed call leaves nothing pending for the next commit.
    fn write(&self, op: impl FnOnce(&mut IndexWriter) -> Result<(), IndexError>) -> Result<(), IndexError> {
        let mut writer = self.lock_writer()?;
        let result = op(&mut writer).and_then(|()| {
            writer.commit().map_err(fulltext_error)?;
            self.reader.reload().map_err(fulltext_error)
        });
        if result.is_err()
            && let Err(err) = writer.rollback()
        {
            tracing::warn!(error = %err, "full-text rollback failed");
        }
        result
    }

    /// The writer; if a previous call panicked while holding it, its uncommitted changes are
    /// rolled back first so they cannot ride along with the next commit.
    fn lock_writer(&self) -> Result<MutexGuard<'_, IndexWriter>, IndexError> {
        match self.writer.lock() {
            Ok(guard) => Ok(guard),
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard.rollback().map_err(fulltext_error)?;
                self.writer.clear_poison();
                Ok(guard)
            }
        }
    }

    fn document(
        &self,
        id: &str,
        segment_id: &str,
        document_id: &str,
        text: &str,
        enabled: bool,
    ) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.fields.id, id);
        doc.add_text(self.fields.segment_id, segment_id);
        doc.add_text(self.fields.document_id, document_id);
        doc.add_text(self.fields.text, text);
        doc.add_bool(self.fields.enabled, enabled);
        doc
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
