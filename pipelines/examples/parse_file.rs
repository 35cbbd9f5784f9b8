//! Parses files given on the command line and prints one summary line per file
//! (`result pages chars title seconds path`), for checking parsers against real-world corpora.

use std::time::Instant;

use pipelines::parse::{Format, ParseLimits, parse_guarded};

fn main() {
    let limits = ParseLimits::default();
    for path in std::env::args().skip(1) {
        let extension = std::path::Path::new(&path)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("");
        let Some(format) = Format::from_extension(extension) else {
            println!("unsupported\t{path}");
            continue;
        };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                println!("unreadable\t{error}\t{path}");
                continue;
            }
        };
        let started = Instant::now();
        let outcome = parse_guarded(bytes, format, &limits);
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok(doc) => println!(
                "ok\t{}\t{}\t{:?}\t{seconds:.2}\t{path}",
                doc.sections.len(),
                doc.char_count(),
                doc.title.unwrap_or_default(),
            ),
            Err(error) => println!("error\t{error}\t{seconds:.2}\t{path}"),
        }
    }
}
