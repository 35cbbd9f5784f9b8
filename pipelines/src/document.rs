//! The parsed form of a document, shared by every parser and chunker.

use serde::{Deserialize, Serialize};

/// Text of one document after parsing, in reading order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedDocument {
    /// Title found in the file (HTML `<title>`, first Markdown heading, PDF info), if any.
    pub title: Option<String>,
    /// Sections in reading order. Paginated formats (PDF) give one section per page.
    pub sections: Vec<Section>,
}

/// A contiguous piece of a document's text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Text; headings of structured formats are kept as Markdown `#` lines so chunkers can use them.
    pub text: String,
    /// 1-based page number for paginated formats, used for citations.
    pub page: Option<u32>,
}

impl ParsedDocument {
    /// A document made of one unpaginated section.
    pub fn from_text(text: impl Into<String>) -> Self {
        Self {
            title: None,
            sections: vec![Section {
                text: text.into(),
                page: None,
            }],
        }
    }

    /// All text, sections joined by blank lines.
    pub fn full_text(&self) -> String {
        self.sections
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// Number of characters of text (Dify's `word_count` counts characters).
    pub fn char_count(&self) -> usize {
        self.sections.iter().map(|s| s.text.chars().count()).sum()
    }
}
