//! Prints what ragd extracts from a file, page by page, for looking at parser output by eye:
//! `cargo run -p pipelines --example print_text -- FILE [EXTENSION]`.

use std::process::ExitCode;

use pipelines::parse::{Format, ParseLimits, parse_guarded};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: print_text FILE [EXTENSION]");
        return ExitCode::FAILURE;
    };
    let extension = args
        .next()
        .unwrap_or_else(|| path.rsplit('.').next().unwrap_or_default().to_string());
    let Some(format) = Format::from_extension(&extension) else {
        eprintln!("unsupported extension {extension}");
        return ExitCode::FAILURE;
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    match parse_guarded(bytes, format, &ParseLimits::default()) {
        Ok(doc) => {
            if let Some(title) = &doc.title {
                println!("title: {title}");
            }
            for section in &doc.sections {
                if let Some(page) = section.page {
                    println!("--- page {page}");
                }
                println!("{}", section.text);
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
