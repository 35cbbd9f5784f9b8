//! The CPU-bound part of ingestion for one document: read, hash, parse, clean and chunk.
//! Runs on rayon; never touches SQL or the indexes.

use indexes::{Analyzer, DEFAULT_KEYWORD_NUMBER, KeywordExtractor};
use pipelines::ParsedDocument;
use pipelines::chunk::{Chunk, Chunker};
use pipelines::parse::{ParseLimits, parse_guarded};
use sha2::{Digest, Sha256};

use super::source::{SourceContent, SourceDocument};

/// A document after the CPU-bound stages.
#[derive(Debug)]
pub struct PreparedDocument {
    pub source: SourceDocument,
    pub content_hash: String,
    /// Chunks, or the message saying why this document cannot be indexed.
    pub outcome: Result<PreparedText, String>,
}

#[derive(Debug)]
pub struct PreparedText {
    pub chunks: Vec<Chunk>,
    /// Characters of parsed text (Dify's `word_count`).
    pub word_count: usize,
    /// Keywords of each chunk, in chunk order.
    pub keywords: Vec<Vec<String>>,
}

/// Keywords of a document's chunks, with IDF over the document's chunks.
pub fn chunk_keywords(analyzer: Analyzer, chunks: &[Chunk]) -> Vec<Vec<String>> {
    let texts: Vec<&str> = chunks.iter().map(|chunk| chunk.text.as_str()).collect();
    KeywordExtractor::new(analyzer).extract_all(&texts, DEFAULT_KEYWORD_NUMBER)
}

/// Prepares `doc`, its chunks' keywords extracted for the dataset's full-text `analyzer`; returns
/// None when its content hash equals `unchanged_hash` (nothing to do).
pub fn prepare(
    doc: SourceDocument,
    chunker: &Chunker,
    analyzer: Analyzer,
    limits: &ParseLimits,
    unchanged_hash: Option<&str>,
) -> Option<PreparedDocument> {
    let (content_hash, parsed) = match &doc.content {
        SourceContent::CorpusLine { .. } => match doc.content.corpus_text() {
            Some(Ok((title, text))) => {
                let body = if title.trim().is_empty() {
                    text
                } else {
                    format!("{title}\n{text}")
                };
                let hash = hex::encode(Sha256::digest(body.as_bytes()));
                (hash, Ok(ParsedDocument::from_text(body)))
            }
            Some(Err(message)) => (String::new(), Err(message)),
            None => (String::new(), Err("not a corpus line".to_string())),
        },
        SourceContent::File { path, format } => match std::fs::metadata(path) {
            Ok(meta) if meta.len() as usize > limits.max_bytes => (
                format!("size:{}", meta.len()),
                Err(format!(
                    "file is too large: {} bytes, the limit is {}",
                    meta.len(),
                    limits.max_bytes
                )),
            ),
            Ok(_) | Err(_) => match std::fs::read(path) {
                Err(e) => (String::new(), Err(format!("cannot read {}: {e}", path.display()))),
                Ok(bytes) => {
                    let hash = hex::encode(Sha256::digest(&bytes));
                    if unchanged_hash == Some(hash.as_str()) {
                        return None;
                    }
                    (
                        hash,
                        parse_guarded(bytes, *format, limits).map_err(|e| e.to_string()),
                    )
                }
            },
        },
    };
    if unchanged_hash == Some(content_hash.as_str()) {
        return None;
    }
    let outcome = parsed.and_then(|parsed| {
        let word_count = parsed.char_count();
        let chunks = chunker.chunk(&parsed);
        if chunks.is_empty() {
            Err("the document contains no text".to_string())
        } else {
            let keywords = chunk_keywords(analyzer, &chunks);
            Ok(PreparedText {
                chunks,
                word_count,
                keywords,
            })
        }
    });
    Some(PreparedDocument {
        source: doc,
        content_hash,
        outcome,
    })
}
