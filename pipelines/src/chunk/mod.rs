//! Chunkers: Dify's automatic and custom rules and hierarchical parent-child, sized in tokens.

use serde::{Deserialize, Serialize};

use crate::clean::PreProcessingRule;
use crate::document::ParsedDocument;
use crate::tokens::TokenCounter;

/// Dify's `process_rule` (API.md A.8) as sent on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRule {
    pub mode: ProcessMode,
    #[serde(default)]
    pub rules: Option<Rules>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessMode {
    Automatic,
    Custom,
    Hierarchical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    #[serde(default)]
    pub pre_processing_rules: Vec<PreProcessingRule>,
    pub segmentation: Option<Segmentation>,
    #[serde(default)]
    pub parent_mode: Option<ParentMode>,
    #[serde(default)]
    pub subchunk_segmentation: Option<Segmentation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segmentation {
    /// Dify stores the automatic rule's separator under `delimiter`.
    #[serde(default = "default_separator", alias = "delimiter")]
    pub separator: String,
    pub max_tokens: Option<usize>,
    #[serde(default)]
    pub chunk_overlap: usize,
}

fn default_separator() -> String {
    "\n".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParentMode {
    #[serde(rename = "paragraph")]
    Paragraph,
    #[serde(rename = "full-doc")]
    FullDoc,
}

/// Why a process rule was refused; messages follow Dify's wording.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    Invalid(String),
}

/// One segment produced by chunking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub text: String,
    /// Tokens of `text` as counted by the chunker's [`TokenCounter`].
    pub tokens: usize,
    /// Page of the first character of the chunk, for paginated documents.
    pub page: Option<u32>,
    /// Child chunks (hierarchical mode only); these are what gets embedded.
    pub children: Vec<ChildChunk>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildChunk {
    pub text: String,
    pub tokens: usize,
}

/// A validated process rule, ready to cut documents.
#[derive(Debug, Clone)]
pub struct Chunker {
    _private: (),
}

impl Chunker {
    /// Validates `rule` (Dify's limits: max_tokens 50..=4000, overlap < max_tokens, ...).
    /// `model_max_tokens` caps the automatic rule so no chunk is silently truncated by the model.
    pub fn new(
        rule: &ProcessRule,
        counter: TokenCounter,
        model_max_tokens: usize,
    ) -> Result<Self, RuleError> {
        let _ = (rule, counter, model_max_tokens);
        unimplemented!()
    }

    /// Cleans and cuts a document into chunks, in order.
    pub fn chunk(&self, doc: &ParsedDocument) -> Vec<Chunk> {
        let _ = doc;
        unimplemented!()
    }

    /// True if the rule produces parent-child chunks (children are embedded, parents returned).
    pub fn is_hierarchical(&self) -> bool {
        unimplemented!()
    }
}
