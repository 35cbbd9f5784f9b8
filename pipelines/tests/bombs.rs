//! The bomb corpus (`support/bombs.rs`, made at test time) through `parse_guarded` with the
//! default limits: every document fails with its own message or parses to a small text, fast,
//! and the process's peak resident memory grows by less than [`PEAK_RSS_GROWTH_BOUND`] for each.
//!
//! One test in its own binary, so no other test's memory shows in the measurement: before each
//! bomb the peak (VmHWM) is reset through `/proc/self/clear_refs`, after it the growth over the
//! resident size before is read back.

#[path = "support/bombs.rs"]
mod bombs;

use std::time::{Duration, Instant};

use pipelines::parse::{Format, ParseError, ParseLimits, parse_guarded};

/// The stated bound on peak resident memory growth while one bomb is parsed: the decompression
/// budget (200 MiB by default) plus working room. Without the bounded decoders the PDF bombs
/// alone would ask for 8 GiB.
const PEAK_RSS_GROWTH_BOUND: u64 = 512 << 20;

/// The bound on the time to fail; they take well under a second each on a free core, so this
/// leaves room for a slow, shared machine.
const TIME_BOUND: Duration = Duration::from_secs(30);

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Resets the process's peak resident size to its current one (Linux 4.0+).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
}

#[test]
fn every_bomb_fails_or_is_defused_within_memory_and_time_bounds() {
    let limits = ParseLimits::default();
    let mut report = Vec::new();
    for bomb in bombs::corpus() {
        let extension = bomb.name.rsplit('.').next().unwrap();
        let format = Format::from_extension(extension).unwrap();
        let size = bomb.bytes.len();
        reset_peak();
        let before = status_kib("VmRSS:");
        let started = Instant::now();
        let outcome = parse_guarded(bomb.bytes, format, &limits);
        let elapsed = started.elapsed();
        let growth = status_kib("VmHWM:").saturating_sub(before) * 1024;
        let summary = match &outcome {
            Ok(doc) => format!(
                "parsed, {} chars in {} sections",
                doc.char_count(),
                doc.sections.len()
            ),
            Err(error) => format!("refused: {error}"),
        };
        report.push(format!(
            "{:<16} {:>9} bytes  peak +{:>4} MiB  {:>7.2?}  {summary}",
            bomb.name,
            size,
            growth >> 20,
            elapsed
        ));
        assert!(
            growth < PEAK_RSS_GROWTH_BOUND,
            "{} ({}): peak RSS grew by {} MiB",
            bomb.name,
            bomb.attack,
            growth >> 20
        );
        assert!(elapsed < TIME_BOUND, "{} took {elapsed:?}", bomb.name);
        check_outcome(bomb.name, &outcome);
    }
    // The measurements, for the record (cargo test -- --nocapture).
    println!("{}", report.join("\n"));
}

fn check_outcome(name: &str, outcome: &Result<pipelines::ParsedDocument, ParseError>) {
    match name {
        "flate-bomb.pdf" | "objstm-bomb.pdf" => {
            let error = outcome.as_ref().unwrap_err();
            assert!(
                matches!(error, ParseError::DecompressionBomb { .. }),
                "{name}: {error:?}"
            );
            assert_eq!(
                error.to_string(),
                "the file is refused as a possible decompression bomb: its compressed streams expand to more than 200 MiB"
            );
        }
        "pages.pdf" => assert!(
            matches!(
                outcome,
                Err(ParseError::TooManyPages {
                    pages: 100_000,
                    limit: 2000
                })
            ),
            "{name}: {outcome:?}"
        ),
        "zip-bomb.docx" => assert!(
            matches!(outcome, Err(ParseError::ArchiveTooLarge(_))),
            "{name}: {outcome:?}"
        ),
        "nested.json" => assert!(
            matches!(outcome, Err(ParseError::Malformed { .. })),
            "{name}: {outcome:?}"
        ),
        // Too deep for the HTML5 tree builder: kept as text without structure.
        "nested.html" => {
            let text = outcome.as_ref().expect("parses as text").full_text();
            assert_eq!(text.trim(), "deep text");
        }
        "nested.md" => {
            let text = outcome.as_ref().expect("parses").full_text();
            assert!(
                text.contains("deep quote") && text.len() < 1_000_000,
                "{} chars",
                text.len()
            );
        }
        // Neither page has text that can be read; what matters is that the parse ended.
        "nested.pdf" => assert!(outcome.is_err(), "{name}: {outcome:?}"),
        // Shared kids are visited a bounded number of times (lopdf stops after as many kids
        // as the file has objects).
        "page-dag.pdf" => {
            let doc = outcome.as_ref().expect("the shared page parses");
            assert!(doc.sections.len() <= 64, "{} sections", doc.sections.len());
        }
        // Entities declared in a DTD are never expanded: the text is what is written.
        "laughs.xml" | "laughs.docx" => {
            let text = outcome.as_ref().expect("parses without expanding").full_text();
            assert!(text.contains("before") && text.contains("after"), "{text}");
            assert!(text.len() < 1000, "{} chars", text.len());
        }
        "nested.eml" => {
            if let Ok(doc) = outcome {
                assert!(doc.char_count() < 100_000, "{} chars", doc.char_count());
            }
        }
        other => panic!("no expectation for {other}"),
    }
}
