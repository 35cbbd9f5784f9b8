//! Parsers: file bytes -> [`ParsedDocument`], one module per format, all behind [`parse_guarded`]
//! (panic isolation, time limit, size limits) so a hostile file fails its own document only.
//!
//! Parsers are plain functions of bytes; nothing here touches files, the network or shared state.
//! Text formats give one section; PDF gives one section per page.

mod html;
mod markdown;
mod pdf;
mod text;

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Once};
use std::time::Duration;

use crate::document::ParsedDocument;

/// File formats ragd can parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text in any common encoding (also WebVTT subtitles, `.properties` and log files).
    Text,
    /// Markdown and MDX, kept as Markdown source.
    Markdown,
    /// HTML pages, converted to Markdown-like text.
    Html,
    /// PDF with a text layer, one section per page.
    Pdf,
}

impl Format {
    /// Every format, for listing accepted extensions.
    pub const ALL: [Format; 4] = [Format::Text, Format::Markdown, Format::Html, Format::Pdf];

    /// The format for a file extension (case-insensitive, without the dot), or None if unsupported.
    pub fn from_extension(ext: &str) -> Option<Format> {
        let ext = ext.strip_prefix('.').unwrap_or(ext).to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|format| format.extensions().contains(&ext.as_str()))
    }

    /// Extensions accepted for this format.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Text => &["txt", "text", "vtt", "properties", "log"],
            Format::Markdown => &["md", "markdown", "mdx"],
            Format::Html => &["html", "htm"],
            Format::Pdf => &["pdf"],
        }
    }
}

/// Limits applied to every parse.
#[derive(Debug, Clone)]
pub struct ParseLimits {
    /// Largest accepted input, checked before parsing starts.
    pub max_bytes: usize,
    /// Most pages a paginated document may have.
    pub max_pages: u32,
    /// Wall-clock time a parse may take.
    pub timeout: Duration,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024 * 1024,
            max_pages: 2000,
            timeout: Duration::from_secs(120),
        }
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
///
/// On timeout the parser thread is abandoned (Rust threads cannot be killed) after being asked to
/// stop; the PDF parser checks that request between pages, so it winds down soon after. The first
/// call installs a process-wide panic hook that logs panics of parser threads at debug level
/// instead of printing them (other threads' panics reach the previous hook unchanged).
pub fn parse_guarded(
    bytes: Vec<u8>,
    format: Format,
    limits: &ParseLimits,
) -> Result<ParsedDocument, ParseError> {
    if bytes.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let max_pages = limits.max_pages;
    run_guarded(limits.timeout, move |cancel| {
        parse_unguarded(&bytes, format, max_pages, cancel)
    })
}

/// Runs one parser in the current thread, without any guard.
fn parse_unguarded(
    bytes: &[u8],
    format: Format,
    max_pages: u32,
    cancel: &CancelFlag,
) -> Result<ParsedDocument, ParseError> {
    match format {
        Format::Text => Ok(text::parse(bytes)),
        Format::Markdown => Ok(markdown::parse(bytes)),
        Format::Html => Ok(html::parse(bytes)),
        Format::Pdf => pdf::parse(bytes, max_pages, cancel),
    }
}

/// Stack for parser threads. Parsers of nested formats recurse (PDF form XObjects, deep HTML), and a
/// stack overflow aborts the whole process rather than panicking; address space is cheap, and only
/// the pages actually touched are committed.
const PARSER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Set when the caller stopped waiting, so an abandoned parser can stop early.
#[derive(Debug, Clone, Default)]
pub(crate) struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True once the caller has given up on this parse.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Name of parser threads; the panic hook recognises them by it.
const PARSER_THREAD_NAME: &str = "ragd-parse";

/// Installs (once) a panic hook that keeps expected parser panics out of stderr: broken files make
/// pdf-extract panic routinely, and each panic would otherwise print a message and, with
/// `RUST_BACKTRACE` set, a full backtrace. Panics on parser threads are logged at debug level
/// instead (the caller still gets them as errors); every other panic goes to the previous hook.
fn quiet_parser_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(PARSER_THREAD_NAME) {
                let location = info.location().map(ToString::to_string).unwrap_or_default();
                tracing::debug!(%location, message = %panic_message(info.payload()), "parser panicked");
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `job` on its own thread: a panic becomes [`ParseError::Panicked`], and if no answer comes
/// within `timeout` the job is cancelled and abandoned with [`ParseError::Timeout`].
pub(crate) fn run_guarded<T, F>(timeout: Duration, job: F) -> Result<T, ParseError>
where
    T: Send + 'static,
    F: FnOnce(&CancelFlag) -> Result<T, ParseError> + Send + 'static,
{
    quiet_parser_panics();
    // Capacity 1: the worker's single send never blocks, even when nobody receives any more.
    let (sender, receiver) = mpsc::sync_channel(1);
    let cancel = CancelFlag::default();
    let worker_cancel = cancel.clone();
    std::thread::Builder::new()
        .name(PARSER_THREAD_NAME.to_string())
        .stack_size(PARSER_STACK_BYTES)
        .spawn(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| job(&worker_cancel)));
            // The receiver is gone if the caller timed out; the result is then of no use.
            let _ = sender.send(outcome);
        })
        .map_err(|e| ParseError::Panicked(format!("cannot start a parser thread: {e}")))?;
    match receiver.recv_timeout(timeout) {
        Ok(Ok(result)) => result,
        Ok(Err(payload)) => Err(ParseError::Panicked(panic_message(payload.as_ref()))),
        Err(RecvTimeoutError::Timeout) => {
            cancel.cancel();
            tracing::warn!(?timeout, "parser timed out, abandoning its thread");
            Err(ParseError::Timeout(timeout))
        }
        Err(RecvTimeoutError::Disconnected) => Err(ParseError::Panicked(
            "the parser thread ended without a result".to_string(),
        )),
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn extensions_map_to_formats_case_insensitively() {
        assert_eq!(Format::from_extension("txt"), Some(Format::Text));
        assert_eq!(Format::from_extension("VTT"), Some(Format::Text));
        assert_eq!(Format::from_extension("properties"), Some(Format::Text));
        assert_eq!(Format::from_extension("Md"), Some(Format::Markdown));
        assert_eq!(Format::from_extension("mdx"), Some(Format::Markdown));
        assert_eq!(Format::from_extension("HTM"), Some(Format::Html));
        assert_eq!(Format::from_extension(".pdf"), Some(Format::Pdf));
        assert_eq!(Format::from_extension("docx"), None);
        assert_eq!(Format::from_extension(""), None);
        for format in Format::ALL {
            for ext in format.extensions() {
                assert_eq!(Format::from_extension(ext), Some(format));
            }
        }
    }

    #[test]
    fn guard_parses_text() {
        let doc = parse_guarded(b"hello\r\nworld".to_vec(), Format::Text, &ParseLimits::default()).unwrap();
        assert_eq!(doc.full_text(), "hello\nworld");
    }

    #[test]
    fn guard_refuses_oversized_input_before_parsing() {
        let limits = ParseLimits {
            max_bytes: 4,
            ..ParseLimits::default()
        };
        let error = parse_guarded(b"hello".to_vec(), Format::Text, &limits).unwrap_err();
        assert!(
            matches!(error, ParseError::TooLarge { size: 5, limit: 4 }),
            "{error:?}"
        );
    }

    #[test]
    fn guard_turns_a_panic_into_an_error() {
        let result: Result<(), ParseError> =
            run_guarded(Duration::from_secs(30), |_| panic!("boom in parser {}", 7));
        match result {
            Err(ParseError::Panicked(message)) => assert_eq!(message, "boom in parser 7"),
            other => panic!("expected Panicked, got {other:?}"),
        }
        // The guard keeps working after a panic.
        assert_eq!(run_guarded(Duration::from_secs(30), |_| Ok(42)).unwrap(), 42);
    }

    #[test]
    fn guard_passes_parser_errors_through() {
        let result: Result<(), ParseError> =
            run_guarded(Duration::from_secs(30), |_| Err(ParseError::NoText));
        assert!(matches!(result, Err(ParseError::NoText)));
    }

    #[test]
    fn guard_times_out_and_cancels_the_abandoned_parser() {
        let (stopped_sender, stopped) = mpsc::channel();
        let started = Instant::now();
        let result: Result<(), ParseError> = run_guarded(Duration::from_millis(100), move |cancel| {
            // A parser stuck in a loop that honours cancellation, as the PDF parser does per page.
            while !cancel.is_cancelled() {
                std::thread::park_timeout(Duration::from_millis(5));
            }
            stopped_sender.send(()).unwrap();
            Ok(())
        });
        assert!(matches!(result, Err(ParseError::Timeout(d)) if d == Duration::from_millis(100)));
        assert!(started.elapsed() < Duration::from_secs(10));
        // The abandoned thread saw the cancellation and stopped.
        stopped
            .recv_timeout(Duration::from_secs(10))
            .expect("parser thread stopped");
    }

    #[test]
    fn panic_message_reads_both_payload_kinds() {
        let literal: Box<dyn Any + Send> = Box::new("static");
        let formatted: Box<dyn Any + Send> = Box::new(String::from("owned"));
        let other: Box<dyn Any + Send> = Box::new(5_u8);
        assert_eq!(panic_message(literal.as_ref()), "static");
        assert_eq!(panic_message(formatted.as_ref()), "owned");
        assert_eq!(panic_message(other.as_ref()), "unknown panic");
    }
}
