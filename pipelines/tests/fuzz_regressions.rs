//! Inputs the fuzz targets (`fuzz/`, `scripts/fuzz.sh`) once crashed or hung a parser on, kept in
//! `tests/fixtures/fuzz/<target>/`: each must now parse to text or a clear error, without a panic
//! escaping the parser and well within the parse time limit.
//!
//! Targets named after a format parse the file as that format; `detect` and `upload` run the
//! content sniffing and upload checks.

use std::path::Path;
use std::time::{Duration, Instant};

use pipelines::parse::{ContentKind, Format, ParseError, ParseLimits, format_for_upload, parse_guarded};
use pipelines::{UploadPurpose, UploadRules, check_upload};

/// Far below the production limit: these are small files that once took forever.
const TIME_LIMIT: Duration = Duration::from_secs(20);

fn format_of_target(target: &str) -> Option<Format> {
    Some(match target {
        "pdf" => Format::Pdf,
        "docx" => Format::Docx,
        "xlsx" => Format::Xlsx,
        "xls" => Format::Xls,
        "csv" => Format::Csv,
        "html" => Format::Html,
        "markdown" => Format::Markdown,
        "text" => Format::Text,
        "vtt" => Format::Vtt,
        "pptx" => Format::Pptx,
        "epub" => Format::Epub,
        "eml" => Format::Eml,
        "xml" => Format::Xml,
        "json" => Format::Json,
        "jsonl" => Format::Jsonl,
        _ => return None,
    })
}

/// `(target, file name, bytes)` of every kept input.
fn fixtures() -> Vec<(String, String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut out = Vec::new();
    for target in std::fs::read_dir(&root).expect("fixtures/fuzz exists") {
        let target = target.expect("readable entry").path();
        if !target.is_dir() {
            continue;
        }
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&target).expect("readable target folder") {
            let file = file.expect("readable entry").path();
            let bytes = std::fs::read(&file).expect("readable fixture");
            out.push((
                name.clone(),
                file.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn every_kept_fuzz_input_parses_or_fails_cleanly() {
    let fixtures = fixtures();
    let limits = ParseLimits {
        timeout: TIME_LIMIT,
        ..ParseLimits::default()
    };
    let mut failures = Vec::new();
    for (target, name, bytes) in &fixtures {
        let started = Instant::now();
        let outcome = match format_of_target(target) {
            Some(format) => match parse_guarded(bytes.clone(), format, &limits) {
                Err(error @ (ParseError::Panicked(_) | ParseError::Timeout(_))) => Some(error.to_string()),
                _ => None,
            },
            None => check_other(target, bytes),
        };
        if let Some(problem) = outcome {
            failures.push(format!(
                "{target}/{name}: {problem} after {:?}",
                started.elapsed()
            ));
        }
    }
    println!("{} kept fuzz inputs", fixtures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The `detect` and `upload` targets' checks; Some(problem) if one fails or panics.
fn check_other(target: &str, bytes: &[u8]) -> Option<String> {
    let run = std::panic::catch_unwind(|| match target {
        "detect" => {
            let kind = ContentKind::detect(bytes);
            for format in Format::ALL {
                let accepted = format_for_upload(format.extensions()[0], bytes).is_ok();
                assert_eq!(accepted, format.content_kinds().contains(&kind));
            }
        }
        "upload" => {
            let (name, content) = match bytes.iter().position(|&b| b == 0) {
                Some(at) => (&bytes[..at], &bytes[at + 1..]),
                None => (bytes, &[][..]),
            };
            let name = String::from_utf8_lossy(name);
            for purpose in [UploadPurpose::Dataset, UploadPurpose::AppFile] {
                if let Ok(accepted) = check_upload(&name, content, purpose, &UploadRules::default()) {
                    assert!(accepted.name.chars().count() <= pipelines::upload::MAX_NAME_CHARS);
                    assert!(!accepted.name.contains(['/', '\\']));
                }
            }
        }
        other => panic!("unknown fuzz target folder {other}"),
    });
    run.err().map(|_| format!("the {target} checks panicked"))
}
