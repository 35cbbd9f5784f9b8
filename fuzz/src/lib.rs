//! What the fuzz targets share: run one parser entry point in place and turn a panic that escapes
//! it into a crash with its message.
//!
//! Parsers run through [`pipelines::parse::parse_in_place`], without the guard's thread, so a
//! panic the guard would have caught is a finding here. Panics a parser catches itself (the PDF
//! parser isolates pdf-extract page by page) are fine: libFuzzer's own panic hook would abort on
//! them before they unwind, so it is replaced by one that only remembers the message.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::time::Duration;

use pipelines::parse::{ContentKind, Format, ParseLimits, format_for_upload, parse_in_place};
use pipelines::{UploadPurpose, UploadRules, check_upload};

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

fn remember_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let message = match (info.payload().downcast_ref::<&str>(), info.payload().downcast_ref::<String>()) {
                (Some(text), _) => (*text).to_string(),
                (_, Some(text)) => text.clone(),
                _ => "unknown panic".to_string(),
            };
            let location = info.location().map(ToString::to_string).unwrap_or_default();
            LAST_PANIC.with(|last| *last.borrow_mut() = format!("{message} at {location}"));
        }));
    });
}

/// Runs `job`; a panic that escapes it aborts the process (libFuzzer's crash) after printing it.
fn no_escaping_panic(what: &str, job: impl FnOnce()) {
    remember_panics();
    if panic::catch_unwind(AssertUnwindSafe(job)).is_err() {
        let message = LAST_PANIC.with(|last| last.borrow().clone());
        eprintln!("panic escaped {what}: {message}");
        std::process::abort();
    }
}

/// The limits of a real parse; the time limit is libFuzzer's `-timeout` here.
fn limits() -> ParseLimits {
    ParseLimits {
        timeout: Duration::MAX,
        ..ParseLimits::default()
    }
}

/// Parses `data` as `format`: any result is fine, a panic is not.
pub fn parse(format: Format, data: &[u8]) {
    no_escaping_panic(&format!("the {format:?} parser"), || {
        let _ = parse_in_place(data, format, &limits());
    });
}

/// Content sniffing and the extension check of every format: they must agree with each other.
pub fn detect(data: &[u8]) {
    no_escaping_panic("content detection", || {
        let kind = ContentKind::detect(data);
        for format in Format::ALL {
            let accepted = format_for_upload(format.extensions()[0], data).is_ok();
            assert_eq!(
                accepted,
                format.content_kinds().contains(&kind),
                "{format:?} and {kind:?} disagree"
            );
        }
    });
}

/// The upload checks on a name (the bytes up to the first NUL, as lossy UTF-8) and content (the
/// rest), for both purposes; an accepted name must be short and free of path separators.
pub fn upload(data: &[u8]) {
    let (name, bytes) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let name = String::from_utf8_lossy(name);
    let rules = UploadRules {
        blocked_extensions: vec!["exe".to_string(), ".Bat".to_string()],
        ..UploadRules::default()
    };
    no_escaping_panic("the upload checks", || {
        for purpose in [UploadPurpose::Dataset, UploadPurpose::AppFile] {
            if let Ok(accepted) = check_upload(&name, bytes, purpose, &rules) {
                assert!(accepted.name.chars().count() <= pipelines::upload::MAX_NAME_CHARS);
                assert!(!accepted.name.contains(['/', '\\']), "{:?}", accepted.name);
                assert!(!["exe", "bat"].contains(&accepted.extension.as_str()));
                if purpose == UploadPurpose::Dataset {
                    assert!(accepted.format.is_some());
                }
            }
        }
    });
}
