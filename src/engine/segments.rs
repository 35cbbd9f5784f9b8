//! Editing a document's segments and child chunks, and the document status actions, with both
//! indexes brought up to date before the caller answers.
//!
//! Order of writes: new text is embedded first (a failure changes nothing), then its index rows
//! are written, then SQL; removals and hiding go the other way, SQL first (search joins hits to
//! SQL rows and skips disabled segments), then the indexes. An index row is enabled only while
//! its segment is enabled and its document is enabled and not archived.

use indexes::{Analyzer, DEFAULT_KEYWORD_NUMBER, DatasetIndex, IndexRow, KeywordExtractor, extra_keywords};
use indicatif::ProgressBar;
use pipelines::chunk::{Chunk, Chunker, ParentMode, ProcessMode, ProcessRule};
use pipelines::{Embedder, ParsedDocument, TokenCounter};
use serde_json::Value;

use super::ingest::{child_rows, embed_rows, index_row, segment_rows};
use super::{Engine, EngineError};
use crate::store::{
    AddedSegment, ChildChunkRow, DEFAULT_OWNER, Dataset, DocumentAction, DocumentRow, SegmentFilter,
    SegmentRow, SegmentScope, SegmentText, StoreError,
};

/// A segment to add (API.md A.1 #18).
#[derive(Debug, Clone, Default)]
pub struct SegmentInput {
    pub content: Option<String>,
    pub answer: Option<String>,
    pub keywords: Option<Vec<String>>,
}

/// Changes to a segment (A.1 #21); None leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SegmentUpdate {
    pub content: Option<String>,
    pub answer: Option<String>,
    pub keywords: Option<Vec<String>>,
    pub enabled: Option<bool>,
    /// Cut the (new) content into child chunks again (parent-child documents).
    pub regenerate_child_chunks: bool,
}

/// Service-API requests act as the workspace owner (Dify does the same).
const ACTOR: &str = DEFAULT_OWNER;

/// A checked segment to add.
struct ValidSegment {
    content: String,
    answer: Option<String>,
    keywords: Vec<String>,
}

/// Whether search may return a document's rows.
fn document_visible(document: &DocumentRow) -> bool {
    document.enabled && !document.archived
}

fn is_qa(document: &DocumentRow) -> bool {
    document.doc_form == "qa_model"
}

fn scope<'a>(dataset: &'a Dataset, document: &'a DocumentRow) -> SegmentScope<'a> {
    SegmentScope {
        tenant_id: &dataset.tenant_id,
        dataset_id: &dataset.id,
        document_id: &document.id,
    }
}

fn refuse_archived(document: &DocumentRow) -> Result<(), EngineError> {
    if document.archived {
        return Err(EngineError::ArchivedDocument);
    }
    Ok(())
}

/// Dify adds segments only to completed, enabled documents (and answers 404 otherwise); ragd also
/// keeps archived documents read-only.
fn check_accepts_segments(document: &DocumentRow) -> Result<(), EngineError> {
    if document.indexing_status != "completed" {
        return Err(EngineError::NotFound("Document is not completed.".into()));
    }
    if !document.enabled {
        return Err(EngineError::NotFound("Document is disabled.".into()));
    }
    refuse_archived(document)
}

/// Most keywords a segment takes, and most characters in one.
pub const MAX_KEYWORDS: usize = 50;
pub const MAX_KEYWORD_CHARS: usize = 100;

/// Checks keywords sent for a segment: at most [`MAX_KEYWORDS`], none blank or longer than
/// [`MAX_KEYWORD_CHARS`]. Returns them trimmed, repeats dropped; an empty list is None (as in
/// Dify, where no keywords means "extract them").
pub fn check_keywords(keywords: Option<Vec<String>>) -> Result<Option<Vec<String>>, EngineError> {
    let Some(keywords) = keywords else {
        return Ok(None);
    };
    if keywords.len() > MAX_KEYWORDS {
        return Err(EngineError::Input(format!(
            "A segment takes at most {MAX_KEYWORDS} keywords."
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(keywords.len());
    for keyword in keywords {
        let keyword = keyword.trim();
        if keyword.is_empty() {
            return Err(EngineError::Input("Keywords must not be empty.".into()));
        }
        if keyword.chars().count() > MAX_KEYWORD_CHARS {
            return Err(EngineError::Input(format!(
                "A keyword is at most {MAX_KEYWORD_CHARS} characters."
            )));
        }
        if !out.iter().any(|k| k == keyword) {
            out.push(keyword.to_string());
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Dify's `segment_create_args_validate`: qa documents need an answer, every segment content.
fn validate(input: SegmentInput, qa: bool) -> Result<ValidSegment, EngineError> {
    let answer = if qa {
        let answer = input.answer.filter(|a| !a.is_empty());
        match answer {
            None => return Err(EngineError::Input("Answer is required".into())),
            Some(a) if a.trim().is_empty() => return Err(EngineError::Input("Answer is empty".into())),
            Some(a) => Some(a),
        }
    } else {
        None
    };
    let content = input
        .content
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| EngineError::Input("Content is empty".into()))?;
    Ok(ValidSegment {
        content,
        answer,
        keywords: check_keywords(input.keywords)?.unwrap_or_default(),
    })
}

/// The text a segment's tokens are counted on: Dify counts question and answer of qa segments.
fn token_text(content: &str, answer: Option<&str>) -> String {
    format!("{content}{}", answer.unwrap_or(""))
}

/// Dify's `word_count`: characters of content and answer.
fn word_count(content: &str, answer: Option<&str>) -> usize {
    content.chars().count() + answer.map_or(0, |a| a.chars().count())
}

/// The process rule a document was cut with.
fn document_rule(dataset: &Dataset, document: &DocumentRow) -> Result<Value, EngineError> {
    match &document.process_rule {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| EngineError::Store(StoreError::Corrupt(format!("document process_rule: {e}")))),
        None => Ok(dataset.process_rule.clone()),
    }
}

/// True when documents cut with `rule` have parent segments and embedded child chunks.
fn is_hierarchical(rule: &Value) -> Result<bool, EngineError> {
    Ok(ProcessRule::from_json(rule)?.mode == ProcessMode::Hierarchical)
}

/// The chunker that cuts a parent segment's text into child chunks, None unless `rule` is
/// hierarchical. As in Dify, the document's rule runs in full-doc mode, so the whole segment is
/// one parent and only the child splitting applies.
fn child_chunker(rule: &Value, embedder: &dyn Embedder) -> Result<Option<Chunker>, EngineError> {
    let mut rule = ProcessRule::from_json(rule)?;
    if rule.mode != ProcessMode::Hierarchical {
        return Ok(None);
    }
    if let Some(rules) = rule.rules.as_mut() {
        rules.parent_mode = Some(ParentMode::FullDoc);
    }
    Ok(Some(Chunker::new(
        &rule,
        embedder.token_counter(),
        embedder.max_tokens(),
    )?))
}

/// Child chunks of a parent segment's text.
fn cut_children(chunker: &Chunker, content: &str) -> Vec<pipelines::ChildChunk> {
    chunker
        .chunk(&ParsedDocument::from_text(content))
        .into_iter()
        .flat_map(|parent| parent.children)
        .collect()
}

/// Extracts keywords for the segments sent without any, as Dify does (CPU work).
fn fill_keywords(segments: &mut [ValidSegment], analyzer: Analyzer) {
    let mut extractor = KeywordExtractor::new(analyzer);
    for segment in segments.iter_mut().filter(|s| s.keywords.is_empty()) {
        segment.keywords = extractor.extract(&segment.content, DEFAULT_KEYWORD_NUMBER);
    }
}

/// Sets on `rows` the keywords of their segments that the segments' texts lack.
fn set_row_keywords<'a>(
    rows: &mut [IndexRow],
    analyzer: Analyzer,
    segments: impl IntoIterator<Item = (&'a str, &'a str, &'a [String])>,
) {
    for (segment_id, content, keywords) in segments {
        let extra = extra_keywords(analyzer, content, keywords);
        for row in rows.iter_mut().filter(|row| row.segment_id == segment_id) {
            row.keywords.clone_from(&extra);
        }
    }
}

/// Counts tokens and cuts children of new segments (CPU work, run off the async runtime).
fn chunks_of(segments: &[ValidSegment], counter: &TokenCounter, children: Option<&Chunker>) -> Vec<Chunk> {
    segments
        .iter()
        .map(|s| Chunk {
            text: s.content.clone(),
            tokens: counter.count(&token_text(&s.content, s.answer.as_deref())),
            page: None,
            children: children.map(|c| cut_children(c, &s.content)).unwrap_or_default(),
        })
        .collect()
}

async fn run_cpu<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| EngineError::Task(e.to_string()))
}

impl Engine {
    /// A document of the dataset, as the segment routes look it up.
    pub async fn segment_document(
        &self,
        dataset: &Dataset,
        document_id: &str,
    ) -> Result<DocumentRow, EngineError> {
        self.store
            .api_document(&dataset.id, document_id)
            .await?
            .ok_or_else(|| EngineError::NotFound("Document not found.".into()))
    }

    /// A document that segments can be added to: completed, enabled and not archived.
    pub async fn document_accepting_segments(
        &self,
        dataset: &Dataset,
        document_id: &str,
    ) -> Result<DocumentRow, EngineError> {
        let document = self.segment_document(dataset, document_id).await?;
        check_accepts_segments(&document)?;
        Ok(document)
    }

    async fn find_segment(
        &self,
        document: &DocumentRow,
        segment_id: &str,
    ) -> Result<SegmentRow, EngineError> {
        self.store
            .segment(&document.id, segment_id)
            .await?
            .ok_or_else(|| EngineError::NotFound("Segment not found.".into()))
    }

    /// A segment with its document's `doc_form`.
    pub async fn segment(
        &self,
        dataset: &Dataset,
        document_id: &str,
        segment_id: &str,
    ) -> Result<(String, SegmentRow), EngineError> {
        let document = self.segment_document(dataset, document_id).await?;
        let segment = self.find_segment(&document, segment_id).await?;
        Ok((document.doc_form, segment))
    }

    /// A page of a document's segments with the document's `doc_form`, and the total.
    pub async fn segment_page(
        &self,
        dataset: &Dataset,
        document_id: &str,
        filter: &SegmentFilter,
        page: u32,
        limit: u32,
    ) -> Result<(String, Vec<SegmentRow>, i64), EngineError> {
        let document = self.segment_document(dataset, document_id).await?;
        let (segments, total) = self
            .store
            .list_segments(&document.id, filter, page, limit)
            .await?;
        Ok((document.doc_form, segments, total))
    }

    /// Embeds `rows` (unless the dataset is keyword-only) and writes them to the dataset's index,
    /// searchable only when `visible`.
    async fn write_index_rows(
        &self,
        dataset: &Dataset,
        mut rows: Vec<IndexRow>,
        visible: bool,
    ) -> Result<(), EngineError> {
        for row in &mut rows {
            row.enabled = visible;
        }
        if dataset.embedding_dimension.is_some() {
            let embedder = self.embedder_for(dataset).await?;
            self.check_model(dataset, embedder.as_ref())?;
            embed_rows(&embedder, &mut rows, &ProgressBar::hidden()).await?;
        }
        self.index(dataset).await?.upsert(rows).await?;
        Ok(())
    }

    /// Adds segments after the document's last one; in parent-child documents each gets child
    /// chunks cut with the document's rule. Returns them in order.
    pub async fn add_segments(
        &self,
        dataset: &Dataset,
        document: &DocumentRow,
        inputs: Vec<SegmentInput>,
    ) -> Result<Vec<SegmentRow>, EngineError> {
        check_accepts_segments(document)?;
        let qa = is_qa(document);
        let segments = inputs
            .into_iter()
            .map(|input| validate(input, qa))
            .collect::<Result<Vec<_>, _>>()?;
        if segments.is_empty() {
            return Ok(Vec::new());
        }
        let embedder = self.embedder_for(dataset).await?;
        let children = child_chunker(&document_rule(dataset, document)?, embedder.as_ref())?;
        let counter = embedder.token_counter();
        let analyzer = self.dataset_analyzer(dataset).await?;
        let (segments, chunks) = run_cpu(move || {
            let mut segments = segments;
            fill_keywords(&mut segments, analyzer);
            let chunks = chunks_of(&segments, &counter, children.as_ref());
            (segments, chunks)
        })
        .await?;
        let (mut rows, completed) = segment_rows(&document.id, chunks, Vec::new(), 0);
        set_row_keywords(
            &mut rows,
            analyzer,
            completed
                .segments
                .iter()
                .zip(&segments)
                .map(|(new, valid)| (new.id.as_str(), valid.content.as_str(), valid.keywords.as_slice())),
        );
        self.write_index_rows(dataset, rows, document_visible(document))
            .await?;
        let added: Vec<AddedSegment> = completed
            .segments
            .into_iter()
            .zip(segments)
            .map(|(segment, valid)| AddedSegment {
                word_count: word_count(&valid.content, valid.answer.as_deref()),
                segment,
                answer: valid.answer,
                keywords: valid.keywords,
            })
            .collect();
        let ids = self
            .store
            .add_segments(scope(dataset, document), ACTOR, &added, &completed.children)
            .await?;
        Ok(self.store.segments_by_id(&document.id, &ids).await?)
    }

    /// Applies `update` to a segment: `enabled: false` only disables it; otherwise its text,
    /// answer and keywords change and it is enabled. Returns the segment with its `doc_form`.
    pub async fn update_segment(
        &self,
        dataset: &Dataset,
        document_id: &str,
        segment_id: &str,
        update: SegmentUpdate,
    ) -> Result<(String, SegmentRow), EngineError> {
        check_keywords(update.keywords.clone())?;
        let document = self.segment_document(dataset, document_id).await?;
        refuse_archived(&document)?;
        let segment = self.find_segment(&document, segment_id).await?;
        if update.enabled == Some(false) {
            self.disable_segment(dataset, &document, &segment).await?;
        } else if !segment.enabled && update.enabled != Some(true) {
            return Err(EngineError::Input("Can't update disabled segment".into()));
        } else {
            self.rewrite_segment(dataset, &document, &segment, update).await?;
        }
        let segment = self.find_segment(&document, &segment.id).await?;
        Ok((document.doc_form, segment))
    }

    async fn disable_segment(
        &self,
        dataset: &Dataset,
        document: &DocumentRow,
        segment: &SegmentRow,
    ) -> Result<(), EngineError> {
        if !segment.enabled {
            return Ok(());
        }
        self.store
            .set_segment_enabled(&document.id, &segment.id, false, ACTOR)
            .await?;
        self.index(dataset)
            .await?
            .set_segments_enabled(std::slice::from_ref(&segment.id), false)
            .await?;
        Ok(())
    }

    /// New text for an enabled segment, or a disabled one being enabled.
    async fn rewrite_segment(
        &self,
        dataset: &Dataset,
        document: &DocumentRow,
        segment: &SegmentRow,
        update: SegmentUpdate,
    ) -> Result<(), EngineError> {
        // Dify keeps the content when none (or an empty one) is sent.
        let content = match update.content {
            Some(c) if c.is_empty() => segment.content.clone(),
            Some(c) if c.trim().is_empty() => return Err(EngineError::Input("Content is empty".into())),
            Some(c) => c,
            None => segment.content.clone(),
        };
        let answer = if is_qa(document) {
            update.answer.or_else(|| segment.answer.clone())
        } else {
            segment.answer.clone()
        };
        let sent_keywords = check_keywords(update.keywords)?;
        let content_changed = content != segment.content;
        let analyzer = self.dataset_analyzer(dataset).await?;
        // As in Dify: keywords sent replace the old ones; new content without keywords gets
        // keywords extracted again; otherwise they stay.
        let keywords = match sent_keywords {
            Some(keywords) => keywords,
            None if content_changed => {
                let content = content.clone();
                run_cpu(move || KeywordExtractor::new(analyzer).extract(&content, DEFAULT_KEYWORD_NUMBER))
                    .await?
            }
            None => segment.keywords.clone(),
        };
        let extra = extra_keywords(analyzer, &content, &keywords);
        let embedder = self.embedder_for(dataset).await?;
        let chunker = child_chunker(&document_rule(dataset, document)?, embedder.as_ref())?;
        let hierarchical = chunker.is_some();
        let regenerate = update.regenerate_child_chunks && hierarchical;
        let counter = embedder.token_counter();
        let (tokens, children) = {
            let (content, text) = (content.clone(), token_text(&content, answer.as_deref()));
            run_cpu(move || {
                let children = chunker.filter(|_| regenerate).map(|c| cut_children(&c, &content));
                (counter.count(&text), children)
            })
            .await?
        };
        let visible = document_visible(document);
        let mut new_children = None;
        // Index rows written here carry the keywords; rows kept get them set afterwards.
        let mut rows_rewritten = true;
        if let Some(children) = children {
            let (mut rows, chunks) = child_rows(&segment.id, &document.id, children);
            for row in &mut rows {
                row.keywords.clone_from(&extra);
            }
            self.write_index_rows(dataset, rows, visible).await?;
            let old: Vec<String> = segment.child_chunks.iter().map(|c| c.id.clone()).collect();
            self.index(dataset).await?.delete_rows(&old).await?;
            new_children = Some(chunks);
        } else if !hierarchical && content_changed {
            let mut row = index_row(&segment.id, &segment.id, &document.id, &content);
            row.keywords.clone_from(&extra);
            self.write_index_rows(dataset, vec![row], visible).await?;
        } else {
            rows_rewritten = false;
            if !segment.enabled {
                self.index(dataset)
                    .await?
                    .set_segments_enabled(std::slice::from_ref(&segment.id), visible)
                    .await?;
            }
        }
        if !rows_rewritten && (keywords != segment.keywords || content_changed) {
            self.index(dataset)
                .await?
                .set_segment_keywords(&segment.id, &extra)
                .await?;
        }
        let text = SegmentText {
            word_count: word_count(&content, answer.as_deref()),
            content,
            answer,
            keywords,
            tokens,
            reindexed: content_changed || regenerate,
        };
        self.store
            .update_segment_text(
                scope(dataset, document),
                &segment.id,
                ACTOR,
                &text,
                new_children.as_deref(),
            )
            .await?;
        Ok(())
    }

    /// Deletes a segment with its child chunks from SQL, then from both indexes.
    pub async fn delete_segment(
        &self,
        dataset: &Dataset,
        document_id: &str,
        segment_id: &str,
    ) -> Result<(), EngineError> {
        let document = self.segment_document(dataset, document_id).await?;
        refuse_archived(&document)?;
        let segment = self.find_segment(&document, segment_id).await?;
        self.store.delete_segment(&document.id, &segment.id).await?;
        self.index(dataset)
            .await?
            .delete_segments(std::slice::from_ref(&segment.id))
            .await?;
        Ok(())
    }
}

impl Engine {
    /// A page of a segment's child chunks, and the total.
    pub async fn child_chunk_page(
        &self,
        dataset: &Dataset,
        document_id: &str,
        segment_id: &str,
        keyword: Option<&str>,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<ChildChunkRow>, i64), EngineError> {
        let document = self.segment_document(dataset, document_id).await?;
        let segment = self.find_segment(&document, segment_id).await?;
        Ok(self
            .store
            .list_child_chunks(&segment.id, keyword, page, limit)
            .await?)
    }

    /// The document and segment of a child chunk change: the document must not be archived and
    /// must be cut parent-child.
    async fn editable_parent(
        &self,
        dataset: &Dataset,
        document_id: &str,
        segment_id: &str,
    ) -> Result<(DocumentRow, SegmentRow), EngineError> {
        let document = self.segment_document(dataset, document_id).await?;
        refuse_archived(&document)?;
        let segment = self.find_segment(&document, segment_id).await?;
        if !is_hierarchical(&document_rule(dataset, &document)?)? {
            return Err(EngineError::Input(
                "Child chunks are only available in parent-child (hierarchical_model) documents.".into(),
            ));
        }
        Ok((document, segment))
    }

    /// The keywords a segment's index rows carry (those its text lacks).
    async fn segment_extra_keywords(
        &self,
        dataset: &Dataset,
        segment: &SegmentRow,
    ) -> Result<Vec<String>, EngineError> {
        let analyzer = self.dataset_analyzer(dataset).await?;
        Ok(extra_keywords(analyzer, &segment.content, &segment.keywords))
    }

    async fn find_child_chunk(&self, segment: &SegmentRow, id: &str) -> Result<ChildChunkRow, EngineError> {
        self.store
            .child_chunk(&segment.id, id)
            .await?
            .ok_or_else(|| EngineError::NotFound("Child chunk not found.".into()))
    }

    /// Adds a customized child chunk to a parent segment and indexes it.
    pub async fn add_child_chunk(
        &self,
        dataset: &Dataset,
        document_id: &str,
        segment_id: &str,
        content: &str,
    ) -> Result<ChildChunkRow, EngineError> {
        let (document, segment) = self.editable_parent(dataset, document_id, segment_id).await?;
        check_child_content(content)?;
        let id = uuid::Uuid::new_v4().to_string();
        let mut row = index_row(&id, &segment.id, &document.id, content);
        row.keywords = self.segment_extra_keywords(dataset, &segment).await?;
        let visible = segment.enabled && document_visible(&document);
        self.write_index_rows(dataset, vec![row], visible).await?;
        Ok(self
            .store
            .add_child_chunk(scope(dataset, &document), &segment.id, &id, content)
            .await?)
    }

    /// Replaces a child chunk's text and its index row.
    pub async fn update_child_chunk(
        &self,
        dataset: &Dataset,
        ids: (&str, &str, &str),
        content: &str,
    ) -> Result<ChildChunkRow, EngineError> {
        let (document_id, segment_id, child_chunk_id) = ids;
        let (document, segment) = self.editable_parent(dataset, document_id, segment_id).await?;
        let child = self.find_child_chunk(&segment, child_chunk_id).await?;
        check_child_content(content)?;
        let mut row = index_row(&child.id, &segment.id, &document.id, content);
        row.keywords = self.segment_extra_keywords(dataset, &segment).await?;
        let visible = segment.enabled && document_visible(&document);
        self.write_index_rows(dataset, vec![row], visible).await?;
        self.store
            .update_child_chunk(&segment.id, &child.id, content)
            .await?;
        self.find_child_chunk(&segment, &child.id).await
    }

    /// Deletes a child chunk from SQL, then its row from both indexes.
    pub async fn delete_child_chunk(
        &self,
        dataset: &Dataset,
        ids: (&str, &str, &str),
    ) -> Result<(), EngineError> {
        let (document_id, segment_id, child_chunk_id) = ids;
        let document = self.segment_document(dataset, document_id).await?;
        refuse_archived(&document)?;
        let segment = self.find_segment(&document, segment_id).await?;
        let child = self.find_child_chunk(&segment, child_chunk_id).await?;
        self.store.delete_child_chunk(&segment.id, &child.id).await?;
        self.index(dataset)
            .await?
            .delete_rows(std::slice::from_ref(&child.id))
            .await?;
        Ok(())
    }
}

fn check_child_content(content: &str) -> Result<(), EngineError> {
    if content.trim().is_empty() {
        return Err(EngineError::Input("Content is empty".into()));
    }
    Ok(())
}

impl Engine {
    /// Enables, disables, archives or un-archives documents of a dataset (ids that name no
    /// document are skipped, as in Dify), then shows or hides their rows in the index.
    pub async fn set_document_status(
        &self,
        dataset: &Dataset,
        action: DocumentAction,
        document_ids: &[String],
    ) -> Result<(), EngineError> {
        let mut documents = Vec::with_capacity(document_ids.len());
        for id in document_ids {
            let Ok(id) = uuid::Uuid::parse_str(id) else {
                continue;
            };
            if let Some(document) = self.store.api_document(&dataset.id, &id.to_string()).await? {
                documents.push(document);
            }
        }
        if action == DocumentAction::Disable
            && let Some(document) = documents
                .iter()
                .find(|d| d.indexing_status != "completed" || d.completed_at.is_none())
        {
            return Err(EngineError::InvalidAction(format!(
                "Document: {} is not completed.",
                document.name
            )));
        }
        let ids: Vec<String> = documents.iter().map(|d| d.id.clone()).collect();
        self.store
            .apply_document_action(&dataset.id, &ids, action)
            .await?;
        let (mut hide, mut show) = (Vec::new(), Vec::new());
        for document in &documents {
            let (enabled, archived) = action.apply(document.enabled, document.archived);
            match (document_visible(document), enabled && !archived) {
                (true, false) => hide.push(document.id.clone()),
                (false, true) => show.push(document.id.clone()),
                (true, true) | (false, false) => {}
            }
        }
        let index = self.index(dataset).await?;
        index.set_documents_enabled(&hide, false).await?;
        for id in &show {
            self.show_document_rows(&index, id).await?;
        }
        Ok(())
    }

    /// Makes a document's rows searchable again, except those of its disabled segments.
    pub(super) async fn show_document_rows(
        &self,
        index: &DatasetIndex,
        document_id: &str,
    ) -> Result<(), EngineError> {
        let (enabled, disabled) = self.store.segment_ids_by_enabled(document_id).await?;
        if disabled.is_empty() {
            index
                .set_documents_enabled(&[document_id.to_string()], true)
                .await?;
            return Ok(());
        }
        for chunk in enabled.chunks(500) {
            index.set_segments_enabled(chunk, true).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(content: Option<&str>, answer: Option<&str>) -> SegmentInput {
        SegmentInput {
            content: content.map(str::to_string),
            answer: answer.map(str::to_string),
            keywords: None,
        }
    }

    fn message(result: Result<ValidSegment, EngineError>) -> String {
        match result {
            Err(EngineError::Input(message)) => message,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn segments_need_content_and_qa_segments_an_answer() {
        assert_eq!(message(validate(input(None, None), false)), "Content is empty");
        assert_eq!(
            message(validate(input(Some(" \n"), None), false)),
            "Content is empty"
        );
        assert_eq!(
            message(validate(input(Some("q"), None), true)),
            "Answer is required"
        );
        assert_eq!(
            message(validate(input(Some("q"), Some("  ")), true)),
            "Answer is empty"
        );
        let valid = validate(input(Some("q"), Some("a")), true).unwrap();
        assert_eq!(valid.answer.as_deref(), Some("a"));
        // Outside qa documents an answer is not kept.
        let valid = validate(input(Some("text"), Some("a")), false).unwrap();
        assert_eq!(valid.answer, None);
        assert!(valid.keywords.is_empty());
    }

    #[test]
    fn word_counts_are_characters_of_content_and_answer() {
        assert_eq!(word_count("héllo", None), 5);
        assert_eq!(word_count("q?", Some("yes")), 5);
        assert_eq!(token_text("q?", Some("yes")), "q?yes");
    }

    #[test]
    fn children_of_an_edited_segment_come_from_the_child_rule_alone() {
        let rule = json!({"mode": "hierarchical", "rules": {
            "pre_processing_rules": [], "parent_mode": "paragraph",
            "segmentation": {"separator": "\n\n", "max_tokens": 50},
            "subchunk_segmentation": {"separator": "|", "max_tokens": 50}}});
        let embedder = pipelines::embed::HashEmbedder { dimension: 8 };
        let chunker = child_chunker(&rule, &embedder).unwrap().expect("hierarchical");
        // Paragraph parents would cut at the blank line first ("aaa", "bbb|ccc"); the segment is
        // one parent here, so only the child separator cuts.
        let children = cut_children(&chunker, "aaa\n\nbbb|ccc");
        let texts: Vec<&str> = children.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["aaa\n\nbbb", "ccc"]);
        assert!(
            child_chunker(&json!({"mode": "automatic"}), &embedder)
                .unwrap()
                .is_none()
        );
        assert!(is_hierarchical(&rule).unwrap());
        assert!(!is_hierarchical(&json!({"mode": "automatic"})).unwrap());
    }
}
