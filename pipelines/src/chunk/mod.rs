//! Chunkers: Dify's automatic and custom rules and hierarchical parent-child, sized in tokens.
//!
//! A document is cleaned section by section and each section (a PDF page) is cut on its own (see
//! `split` for the algorithms and `rule` for validation and defaults), as Dify does with pages, so
//! a chunk never runs across a page break and cites one page. Only full-doc parents span sections.
//! Chunk texts are trimmed slices of the cleaned text, never empty, and come in
//! document order.

mod rule;
mod split;
#[cfg(test)]
mod tests;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use self::rule::{FULL_DOC_MAX_TOKENS, ParentPlan, Plan};
use self::split::{Span, SplitSpec, split_fixed, split_recursive};
use crate::clean::{Cleaner, PreProcessingRule};
use crate::document::ParsedDocument;
use crate::tokens::TokenCounter;

/// Dify's `process_rule` (API.md A.8) as sent on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRule {
    /// How documents are cut.
    pub mode: ProcessMode,
    /// Cleaning and sizes; required for custom and hierarchical, ignored for automatic.
    #[serde(default)]
    pub rules: Option<Rules>,
}

/// Dify's process rule modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessMode {
    /// Dify's defaults: clean extra spaces, recursive split at 500 tokens (capped at the model
    /// window) with 50 tokens of overlap.
    Automatic,
    /// A fixed separator, then a recursive split of pieces longer than `max_tokens`.
    Custom,
    /// Parent chunks (returned) and child chunks (embedded).
    Hierarchical,
}

/// The `rules` object of a process rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    /// Cleaner switches.
    #[serde(default)]
    pub pre_processing_rules: Vec<PreProcessingRule>,
    /// Segments (custom) or parents (hierarchical, paragraph mode).
    pub segmentation: Option<Segmentation>,
    /// How hierarchical parents are made; paragraph when absent.
    #[serde(default)]
    pub parent_mode: Option<ParentMode>,
    /// Child chunks of hierarchical mode.
    #[serde(default)]
    pub subchunk_segmentation: Option<Segmentation>,
}

/// Separator and sizes of one level of splitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segmentation {
    /// Dify stores the automatic rule's separator under `delimiter`.
    #[serde(default = "default_separator", alias = "delimiter")]
    pub separator: String,
    /// Largest chunk in tokens (50..=4000).
    pub max_tokens: Option<usize>,
    /// Tokens shared by consecutive chunks when a piece had to be split.
    #[serde(default)]
    pub chunk_overlap: usize,
}

fn default_separator() -> String {
    "\n".to_string()
}

/// How hierarchical parents are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParentMode {
    /// Parents are cut like custom segments, from `segmentation`.
    #[serde(rename = "paragraph")]
    Paragraph,
    /// The whole document is the parent (several parents past 10,000 tokens).
    #[serde(rename = "full-doc")]
    FullDoc,
}

/// Why a process rule was refused; messages follow Dify's wording.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// Dify's `ValueError` message, shown to the client as `invalid_param`.
    #[error("{0}")]
    Invalid(String),
}

impl ProcessRule {
    /// Reads a `process_rule` JSON object as Dify does: a missing or unknown `mode` gives "Process
    /// rule mode is invalid", and `rules` sent with the automatic mode are discarded.
    pub fn from_json(value: &serde_json::Value) -> Result<ProcessRule, RuleError> {
        let mode = match value.get("mode").and_then(serde_json::Value::as_str) {
            Some("automatic") => ProcessMode::Automatic,
            Some("custom") => ProcessMode::Custom,
            Some("hierarchical") => ProcessMode::Hierarchical,
            _ => return Err(RuleError::Invalid("Process rule mode is invalid".to_string())),
        };
        let rules = match (mode, value.get("rules")) {
            (ProcessMode::Automatic, _) | (_, None | Some(serde_json::Value::Null)) => None,
            (ProcessMode::Custom | ProcessMode::Hierarchical, Some(rules)) => Some(
                Rules::deserialize(rules)
                    .map_err(|e| RuleError::Invalid(format!("Process rule rules is invalid: {e}")))?,
            ),
        };
        Ok(ProcessRule { mode, rules })
    }
}

/// One segment produced by chunking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Segment text: a trimmed, non-empty slice of the cleaned document text.
    pub text: String,
    /// Tokens of `text` as counted by the chunker's [`TokenCounter`].
    pub tokens: usize,
    /// Page of the first character of the chunk, for paginated documents.
    pub page: Option<u32>,
    /// Child chunks (hierarchical mode only); these are what gets embedded.
    pub children: Vec<ChildChunk>,
}

/// A child chunk of a hierarchical parent; its text is a slice of the parent's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildChunk {
    /// Child text, contained in the parent's text.
    pub text: String,
    /// Tokens of `text` as counted by the chunker's [`TokenCounter`].
    pub tokens: usize,
}

/// A validated process rule, ready to cut documents.
#[derive(Debug, Clone)]
pub struct Chunker {
    cleaner: Cleaner,
    plan: Plan,
    counter: TokenCounter,
}

/// Cleaned document text with the page where each section starts.
#[derive(Debug)]
struct PreparedText {
    text: String,
    /// (byte offset, page) of each non-empty section, in order.
    sections: Vec<(usize, Option<u32>)>,
}

impl PreparedText {
    /// Byte ranges of the sections in `text` (without the blank lines that join them).
    fn section_ranges(&self) -> Vec<(usize, usize)> {
        self.sections
            .iter()
            .enumerate()
            .map(|(i, &(start, _))| {
                let end = self
                    .sections
                    .get(i + 1)
                    .map(|&(next, _)| next - 2)
                    .unwrap_or(self.text.len());
                (start, end)
            })
            .collect()
    }

    /// The page of the section containing byte `offset`.
    fn page_at(&self, offset: usize) -> Option<u32> {
        let index = self.sections.partition_point(|&(start, _)| start <= offset);
        index.checked_sub(1).and_then(|i| self.sections[i].1)
    }
}

impl Chunker {
    /// Validates `rule` (Dify's limits: max_tokens 50..=4000, overlap < max_tokens, ...).
    /// `model_max_tokens` caps the automatic rule so no chunk is silently truncated by the model:
    /// the automatic size is `min(500, model_max_tokens)` with overlap `50 * size / 500`. Custom and
    /// hierarchical sizes are not capped.
    pub fn new(
        rule: &ProcessRule,
        counter: TokenCounter,
        model_max_tokens: usize,
    ) -> Result<Self, RuleError> {
        let (cleaner, plan) = rule::plan(rule, model_max_tokens)?;
        Ok(Self {
            cleaner,
            plan,
            counter,
        })
    }

    /// Cleans and cuts a document into chunks, in order.
    pub fn chunk(&self, doc: &ParsedDocument) -> Vec<Chunk> {
        let prepared = self.prepare(doc);
        let text = prepared.text.as_str();
        match &self.plan {
            // Like Dify, which splits each PDF page as its own document, chunks never span
            // sections (pages), so every chunk cites exactly one page.
            Plan::Automatic { .. } | Plan::Custom(_) => prepared
                .section_ranges()
                .into_iter()
                .flat_map(|(from, to)| {
                    self.spans(&text[from..to])
                        .into_iter()
                        .map(move |span| (from + span.start, from + span.end))
                })
                .collect::<Vec<_>>()
                .into_par_iter()
                .map(|(start, end)| self.make_chunk(&prepared, start, end, Vec::new()))
                .collect(),
            Plan::Hierarchical { parent, child } => {
                let parents: Vec<(usize, usize)> = match parent {
                    ParentPlan::Paragraph(spec) => prepared
                        .section_ranges()
                        .into_iter()
                        .flat_map(|(from, to)| {
                            split_fixed(&text[from..to], spec, &self.counter)
                                .into_iter()
                                .map(move |span| (from + span.start, from + span.end))
                        })
                        .collect(),
                    ParentPlan::FullDoc => self.full_doc_parents(text),
                };
                parents
                    .into_par_iter()
                    .map(|(start, end)| {
                        let children = self.children(&text[start..end], child);
                        self.make_chunk(&prepared, start, end, children)
                    })
                    .collect()
            }
        }
    }

    /// True if the rule produces parent-child chunks (children are embedded, parents returned).
    pub fn is_hierarchical(&self) -> bool {
        match self.plan {
            Plan::Hierarchical { .. } => true,
            Plan::Automatic { .. } | Plan::Custom(_) => false,
        }
    }

    /// Cleans each section and joins the non-empty ones with a blank line.
    fn prepare(&self, doc: &ParsedDocument) -> PreparedText {
        let cleaned: Vec<String> = doc
            .sections
            .par_iter()
            .map(|section| self.cleaner.clean(&section.text))
            .collect();
        let mut text = String::with_capacity(cleaned.iter().map(|c| c.len() + 2).sum());
        let mut sections = Vec::with_capacity(cleaned.len());
        for (section, cleaned) in doc.sections.iter().zip(&cleaned) {
            let cleaned = cleaned.trim();
            if cleaned.is_empty() {
                continue;
            }
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            sections.push((text.len(), section.page));
            text.push_str(cleaned);
        }
        PreparedText { text, sections }
    }

    /// Spans of a non-hierarchical plan over prepared text.
    fn spans(&self, text: &str) -> Vec<Span> {
        match &self.plan {
            Plan::Automatic { max_tokens, overlap } => {
                split_recursive(text, *max_tokens, *overlap, &self.counter)
                    .into_iter()
                    .map(|(start, chunk)| Span {
                        start,
                        end: start + chunk.len(),
                        piece: 0,
                        forced: true,
                    })
                    .collect()
            }
            Plan::Custom(spec) => split_fixed(text, spec, &self.counter),
            Plan::Hierarchical { .. } => Vec::new(),
        }
    }

    /// Full-doc parents: the whole text, or consecutive pieces of at most
    /// [`FULL_DOC_MAX_TOKENS`] for longer documents.
    fn full_doc_parents(&self, text: &str) -> Vec<(usize, usize)> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Vec::new();
        }
        if self.counter.count(trimmed) <= FULL_DOC_MAX_TOKENS {
            let start = text.len() - text.trim_start().len();
            return vec![(start, start + trimmed.len())];
        }
        split_recursive(text, FULL_DOC_MAX_TOKENS, 0, &self.counter)
            .into_iter()
            .map(|(start, chunk)| (start, start + chunk.len()))
            .collect()
    }

    fn children(&self, parent: &str, spec: &SplitSpec) -> Vec<ChildChunk> {
        split_fixed(parent, spec, &self.counter)
            .into_iter()
            .map(|span| {
                let text = &parent[span.start..span.end];
                ChildChunk {
                    text: text.to_string(),
                    tokens: self.counter.count(text),
                }
            })
            .collect()
    }

    fn make_chunk(
        &self,
        prepared: &PreparedText,
        start: usize,
        end: usize,
        children: Vec<ChildChunk>,
    ) -> Chunk {
        let text = &prepared.text[start..end];
        Chunk {
            text: text.to_string(),
            tokens: self.counter.count(text),
            page: prepared.page_at(start),
            children,
        }
    }
}
