//! Parsers: file bytes -> [`ParsedDocument`], one module per format, all behind [`parse_guarded`]
//! (panic isolation, time limit, size limits) so a hostile file fails its own document only.

use std::time::Duration;

use crate::document::ParsedDocument;

/// File formats ragd can parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Text,
    Markdown,
    Html,
    Pdf,
}

impl Format {
    /// The format for a file extension (case-insensitive, without the dot), or None if unsupported.
    pub fn from_extension(ext: &str) -> Option<Format> {
        let _ = ext;
        unimplemented!()
    }

    /// Extensions accepted for this format.
    pub fn extensions(self) -> &'static [&'static str] {
        unimplemented!()
    }
}

/// Limits applied to every parse.
#[derive(Debug, Clone)]
pub struct ParseLimits {
    pub max_bytes: usize,
    pub max_pages: u32,
    pub timeout: Duration,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self { max_bytes: 100 * 1024 * 1024, max_pages: 2000, timeout: Duration::from_secs(120) }
    }
}

/// Why a document could not be parsed; messages are meant for the person who uploaded it.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("unsupported file type: {0}")]
    Unsupported(String),
    #[error("file is too large: {size} bytes, the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("document has {pages} pages, the limit is {limit}")]
    TooManyPages { pages: u32, limit: u32 },
    #[error("parsing took longer than {0:?}")]
    Timeout(Duration),
    #[error("the file is password-protected")]
    Encrypted,
    #[error("no text layer found: the file looks scanned or image-only (OCR is not supported)")]
    NoText,
    #[error("the file is damaged or not a valid {format}: {detail}")]
    Malformed { format: &'static str, detail: String },
    #[error("the parser crashed on this file: {0}")]
    Panicked(String),
}

/// Parses `bytes` as `format` on a dedicated thread, catching panics and enforcing `limits`.
pub fn parse_guarded(
    bytes: Vec<u8>,
    format: Format,
    limits: &ParseLimits,
) -> Result<ParsedDocument, ParseError> {
    let _ = (bytes, format, limits);
    unimplemented!()
}
