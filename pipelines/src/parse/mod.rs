//! Parsers: file bytes -> [`ParsedDocument`], one module per format, all behind [`parse_guarded`]
//! (panic isolation, time limit, size limits) so a hostile file fails its own document only.
//!
//! Parsers are plain functions of bytes; nothing here touches files, the network or shared state.
//! Paginated formats give one section per page (PDF) or slide (pptx); spreadsheets one per sheet;
//! e-books one per chapter; everything else one section. Structure that helps chunking and
//! citations is kept as Markdown: headings as `#` lines, lists as `- ` items, tables as Markdown
//! tables. Zip-based formats go through one bounded zip reader (`archive`, limits in
//! [`ParseLimits`]); [`ContentKind`] and [`format_for_upload`] tell what a file's bytes really
//! are, for the upload checks.

mod archive;
mod delimited;
mod detect;
mod docx;
mod eml;
mod epub;
mod html;
mod json;
mod markdown;
mod ooxml;
mod pdf;
mod pdf_fixups;
mod pdf_repair;
mod pdf_text;
mod pool;
mod pptx;
mod spreadsheet;
mod table;
mod text;
mod vtt;
mod xml;

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Once};
use std::time::Duration;

pub use detect::{ContentKind, format_for_upload};
pub use pool::{ParsePermit, ParsePool};

use archive::ArchiveLimits;

use crate::document::ParsedDocument;

/// File formats ragd can parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text in any common encoding (also `.properties` and log files).
    Text,
    /// Markdown and MDX, kept as Markdown source.
    Markdown,
    /// HTML pages, converted to Markdown-like text.
    Html,
    /// PDF with a text layer, one section per page.
    Pdf,
    /// Word documents (Office Open XML): headings, lists and tables kept as Markdown.
    Docx,
    /// Excel workbooks (Office Open XML), one section per sheet.
    Xlsx,
    /// Legacy Excel workbooks (Excel 97-2003), one section per sheet.
    Xls,
    /// Delimited text (comma, semicolon, tab or pipe), as a Markdown table.
    Csv,
    /// PowerPoint presentations (Office Open XML), one section per slide with its notes.
    Pptx,
    /// EPUB e-books, one section per chapter in reading order.
    Epub,
    /// E-mail messages (RFC 5322 / MIME): headers, body and text attachments.
    Eml,
    /// Any XML document, as its text content.
    Xml,
    /// JSON, flattened to `path: value` lines.
    Json,
    /// JSON Lines: one JSON value per line, each flattened like [`Format::Json`].
    Jsonl,
    /// WebVTT subtitles: the spoken text without timestamps or cue settings.
    Vtt,
}

impl Format {
    /// Every format, for listing accepted extensions.
    pub const ALL: [Format; 15] = [
        Format::Text,
        Format::Markdown,
        Format::Html,
        Format::Pdf,
        Format::Docx,
        Format::Xlsx,
        Format::Xls,
        Format::Csv,
        Format::Pptx,
        Format::Epub,
        Format::Eml,
        Format::Xml,
        Format::Json,
        Format::Jsonl,
        Format::Vtt,
    ];

    /// The format for a file extension (case-insensitive, without the dot), or None if unsupported.
    pub fn from_extension(ext: &str) -> Option<Format> {
        let ext = ext.strip_prefix('.').unwrap_or(ext).to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|format| format.extensions().contains(&ext.as_str()))
    }

    /// Extensions accepted for this format; the first is the usual one.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Text => &["txt", "text", "properties", "log"],
            Format::Markdown => &["md", "markdown", "mdx"],
            Format::Html => &["html", "htm"],
            Format::Pdf => &["pdf"],
            Format::Docx => &["docx"],
            Format::Xlsx => &["xlsx", "xlsm"],
            Format::Xls => &["xls"],
            Format::Csv => &["csv", "tsv"],
            Format::Pptx => &["pptx"],
            Format::Epub => &["epub"],
            Format::Eml => &["eml"],
            Format::Xml => &["xml"],
            Format::Json => &["json"],
            Format::Jsonl => &["jsonl", "ndjson"],
            Format::Vtt => &["vtt"],
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
    /// Total bytes one document may decompress to: the entries read from a zip-based document
    /// (docx, xlsx, pptx, epub), or the streams decoded from a PDF (every decode counts, repeats
    /// included, so this bounds both memory and work).
    pub max_decompressed_bytes: u64,
    /// Most entries a zip-based document may hold.
    pub max_archive_entries: usize,
    /// Highest decompressed/compressed ratio accepted for an archive entry of 1 MiB or more:
    /// deflate bombs reach about 1000:1, real documents stay well below 100:1.
    pub max_compression_ratio: u64,
    /// The pool whose slots parses take (see [`ParsePool`]); None runs them unbounded (tools,
    /// tests).
    pub pool: Option<ParsePool>,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024 * 1024,
            max_pages: 2000,
            timeout: Duration::from_secs(120),
            max_decompressed_bytes: 200 * 1024 * 1024,
            max_archive_entries: 10_000,
            max_compression_ratio: 200,
            pool: None,
        }
    }
}

impl ParseLimits {
    /// Limits for unpacking zip-based formats.
    fn archive(&self) -> ArchiveLimits {
        ArchiveLimits {
            max_decompressed_bytes: self.max_decompressed_bytes,
            max_entries: self.max_archive_entries,
            max_compression_ratio: self.max_compression_ratio,
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
    /// Every slot of the parse pool is taken ([`try_parse_guarded`]).
    #[error("the server is busy parsing other documents, try again later")]
    Busy,
    #[error("the file is password-protected")]
    Encrypted,
    #[error("no text layer found: the file looks scanned or image-only (OCR is not supported)")]
    NoText,
    #[error("the file is damaged or not a valid {format}: {detail}")]
    Malformed { format: &'static str, detail: String },
    #[error("the parser crashed on this file: {0}")]
    Panicked(String),
    /// A zip-based file that would unpack beyond the archive limits of [`ParseLimits`] (a zip
    /// bomb, or just too big).
    #[error("the file is refused as a possible zip bomb: {0}")]
    ArchiveTooLarge(String),
    /// The bytes are not what the extension says (see [`Format::check_content`]).
    #[error(
        "the file content does not match its type: a .{} file must be {}, but this one is {}",
        .format.extensions()[0],
        .format.content_kinds()[0].describe(),
        .found.describe()
    )]
    ContentMismatch { format: Format, found: ContentKind },
    /// A PDF whose streams decode to more than [`ParseLimits::max_decompressed_bytes`] (a
    /// decompression bomb, or just too big).
    #[error(
        "the file is refused as a possible decompression bomb: its compressed streams expand to more than {} MiB",
        .limit / (1024 * 1024)
    )]
    DecompressionBomb { limit: u64 },
    /// A legacy spreadsheet whose sheets span more cells than can be unpacked safely.
    #[error("the spreadsheet is too large: its sheets span {cells} cells, the limit is {limit}")]
    SpreadsheetTooLarge { cells: u64, limit: u64 },
}

/// Parses `bytes` as `format` on a dedicated thread, catching panics and enforcing `limits`.
///
/// On timeout the parser thread is abandoned (Rust threads cannot be killed) after being asked to
/// stop; the PDF parser checks that request between pages, so it winds down soon after. The first
/// call installs a process-wide panic hook that logs panics of parser threads at debug level
/// instead of printing them (other threads' panics reach the previous hook unchanged).
///
/// With a [`ParseLimits::pool`], the parse waits for a slot of it first and holds that slot until
/// the parser thread ends, after a timeout too.
pub fn parse_guarded(
    bytes: Vec<u8>,
    format: Format,
    limits: &ParseLimits,
) -> Result<ParsedDocument, ParseError> {
    check_size(&bytes, limits)?;
    let permit = limits.pool.as_ref().map(ParsePool::acquire);
    parse_with_permit(bytes, format, limits, permit)
}

/// [`parse_guarded`] for parses a request is waiting for: when every slot of the pool is taken
/// it fails at once with [`ParseError::Busy`] instead of queueing.
pub fn try_parse_guarded(
    bytes: Vec<u8>,
    format: Format,
    limits: &ParseLimits,
) -> Result<ParsedDocument, ParseError> {
    check_size(&bytes, limits)?;
    let permit = match &limits.pool {
        Some(pool) => Some(pool.try_acquire().ok_or(ParseError::Busy)?),
        None => None,
    };
    parse_with_permit(bytes, format, limits, permit)
}

fn check_size(bytes: &[u8], limits: &ParseLimits) -> Result<(), ParseError> {
    if bytes.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    Ok(())
}

fn parse_with_permit(
    bytes: Vec<u8>,
    format: Format,
    limits: &ParseLimits,
    permit: Option<ParsePermit>,
) -> Result<ParsedDocument, ParseError> {
    let limits = limits.clone();
    run_guarded(limits.timeout, move |cancel| {
        // Given back when the parser thread is done, not when its caller stops waiting.
        let _permit = permit;
        parse_unguarded(&bytes, format, &limits, cancel)
    })
}

/// Runs the parser for `format` in the calling thread, without the guard: no thread, no time
/// limit, no panic catching. For the fuzz targets (`fuzz/`), where a panic escaping a parser or a
/// hang must surface as a crash instead of becoming an error; everything else uses
/// [`parse_guarded`].
#[doc(hidden)]
pub fn parse_in_place(
    bytes: &[u8],
    format: Format,
    limits: &ParseLimits,
) -> Result<ParsedDocument, ParseError> {
    parse_unguarded(bytes, format, limits, &CancelFlag::default())
}

/// Runs one parser in the current thread, without any guard.
fn parse_unguarded(
    bytes: &[u8],
    format: Format,
    limits: &ParseLimits,
    cancel: &CancelFlag,
) -> Result<ParsedDocument, ParseError> {
    let archive = limits.archive();
    match format {
        Format::Text => Ok(text::parse(bytes)),
        Format::Markdown => Ok(markdown::parse(bytes)),
        Format::Html => Ok(html::parse(bytes)),
        Format::Pdf => pdf::parse(bytes, limits.max_pages, limits.max_decompressed_bytes, cancel),
        Format::Docx => docx::parse(bytes, &archive),
        Format::Xlsx | Format::Xls => spreadsheet::parse(bytes, format, &archive, cancel),
        Format::Csv => Ok(delimited::parse(bytes)),
        Format::Pptx => pptx::parse(bytes, &archive, limits.max_pages, cancel),
        Format::Epub => epub::parse(bytes, &archive, cancel),
        Format::Eml => eml::parse(bytes),
        Format::Xml => Ok(xml::parse(bytes)),
        Format::Json => json::parse(bytes),
        Format::Jsonl => Ok(json::parse_lines(bytes)),
        Format::Vtt => Ok(vtt::parse(bytes)),
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

    /// The flag itself, for lopdf's decoding limits.
    pub(crate) fn shared(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
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
        .spawn(move || {
            let outcome = match parser_pool() {
                Ok(pool) => pool.install(|| panic::catch_unwind(AssertUnwindSafe(|| job(&worker_cancel)))),
                Err(error) => Ok(Err(ParseError::Panicked(format!(
                    "cannot start a parser thread: {error}"
                )))),
            };
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

/// A one-thread rayon pool for one parse. lopdf loads objects with rayon; on the global pool, a
/// caller that runs `parse_guarded` from rayon threads (batch ingest does) could block every pool
/// thread waiting for parsers that wait for the pool, until each parse times out. In its own pool
/// a parse never waits for anyone else's threads. Its thread ends when the parse does.
fn parser_pool() -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(|_| PARSER_THREAD_NAME.to_string())
        .stack_size(PARSER_STACK_BYTES)
        .build()
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
        assert_eq!(Format::from_extension("VTT"), Some(Format::Vtt));
        assert_eq!(Format::from_extension("properties"), Some(Format::Text));
        assert_eq!(Format::from_extension("Md"), Some(Format::Markdown));
        assert_eq!(Format::from_extension("mdx"), Some(Format::Markdown));
        assert_eq!(Format::from_extension("HTM"), Some(Format::Html));
        assert_eq!(Format::from_extension(".pdf"), Some(Format::Pdf));
        assert_eq!(Format::from_extension("docx"), Some(Format::Docx));
        assert_eq!(Format::from_extension("XLSX"), Some(Format::Xlsx));
        assert_eq!(Format::from_extension("xls"), Some(Format::Xls));
        assert_eq!(Format::from_extension("jsonl"), Some(Format::Jsonl));
        assert_eq!(Format::from_extension("doc"), None);
        assert_eq!(Format::from_extension("exe"), None);
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
    fn parsing_from_every_global_pool_thread_does_not_deadlock() {
        // Every global rayon thread waits in parse_guarded at once, as in a batch ingest; the PDF
        // loader inside uses rayon too and must not need any of those threads.
        let bytes = crate::parse::pdf::fixtures::text_pdf(&[&["from a busy pool"]]);
        let limits = ParseLimits {
            timeout: Duration::from_secs(30),
            ..ParseLimits::default()
        };
        let started = Instant::now();
        let results = rayon::broadcast(|_| parse_guarded(bytes.clone(), Format::Pdf, &limits));
        for result in results {
            assert_eq!(result.unwrap().sections[0].text.trim(), "from a busy pool");
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    /// A PDF of `pages` pages that all draw one content stream of `operators` text operators:
    /// small on disk, slow to extract.
    fn slow_pdf(pages: usize, operators: usize) -> Vec<u8> {
        use lopdf::{Object, Stream};
        let content = format!("BT /F1 12 Tf 72 720 Td {} ET", "(w) Tj ".repeat(operators));
        let placeholders = vec!["x"; pages];
        let mut doc = crate::parse::pdf::fixtures::pdf_with_contents(&placeholders, None);
        let mut shared = Stream::new(lopdf::dictionary! {}, content.into_bytes());
        shared.compress().unwrap();
        let shared_id = doc.add_object(Object::Stream(shared));
        for page in doc.get_pages().into_values() {
            if let Ok(Object::Dictionary(dict)) = doc.get_object_mut(page) {
                dict.set("Contents", shared_id);
            }
        }
        crate::parse::pdf::fixtures::to_bytes(doc)
    }

    #[test]
    fn a_timed_out_parse_keeps_its_slot_until_its_thread_stops_and_stops_soon() {
        // 200 pages of 100,000 operators: tens of seconds of work if nothing stopped it.
        let bytes = slow_pdf(200, 100_000);
        let pool = ParsePool::new(1);
        let limits = ParseLimits {
            timeout: Duration::from_millis(300),
            pool: Some(pool.clone()),
            ..ParseLimits::default()
        };
        let error = parse_guarded(bytes.clone(), Format::Pdf, &limits).unwrap_err();
        let timed_out = Instant::now();
        assert!(matches!(error, ParseError::Timeout(_)), "{error:?}");
        // The abandoned parser still holds the only slot: API parses are refused, not queued.
        let busy = try_parse_guarded(b"text".to_vec(), Format::Text, &limits);
        if pool.busy() == 1 {
            assert!(matches!(busy, Err(ParseError::Busy)), "{busy:?}");
        }
        // Cancellation is checked between pages and every 4096 operators: the thread ends soon.
        while pool.busy() > 0 {
            assert!(
                timed_out.elapsed() < Duration::from_secs(10),
                "the cancelled parser kept running"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        println!("slot given back {:?} after the timeout", timed_out.elapsed());
        assert_eq!(
            try_parse_guarded(b"text".to_vec(), Format::Text, &limits)
                .unwrap()
                .full_text(),
            "text"
        );
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
