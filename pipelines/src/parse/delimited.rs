//! Delimited text (CSV, TSV, semicolon- and pipe-separated) as one Markdown table: the first
//! non-empty row is the header row. The encoding is detected like plain text's; the delimiter is
//! the candidate that splits a sample of records into the most consistent number of fields.
//! Quoted fields (with embedded delimiters, quotes and line breaks) follow RFC 4180.

use super::{table, text};
use crate::document::{ParsedDocument, Section};

/// Candidate delimiters, most common first (the first wins ties).
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Records looked at to choose the delimiter.
const SAMPLE_RECORDS: usize = 50;
/// Most rows rendered; a note says how many more there were.
pub const MAX_ROWS: usize = 200_000;

/// Parses delimited text into one section holding a Markdown table.
pub(super) fn parse(bytes: &[u8]) -> ParsedDocument {
    let source = text::decode(bytes, None);
    let delimiter = detect_delimiter(&source);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(source.as_bytes());
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut omitted = 0_usize;
    for record in reader.records() {
        let Ok(record) = record else {
            // Only invalid UTF-8 fails here, and the source is a Rust string: cannot happen.
            continue;
        };
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        if rows.len() >= MAX_ROWS {
            omitted += 1;
            continue;
        }
        rows.push(record.iter().map(str::to_string).collect());
    }
    let mut text = table::markdown_table(&rows);
    if omitted > 0 {
        tracing::warn!(omitted, "csv truncated");
        text.push_str(&format!(
            "\n\n_{omitted} more rows are not shown (the limit is {MAX_ROWS})_"
        ));
    }
    ParsedDocument {
        title: None,
        sections: vec![Section { text, page: None }],
    }
}

/// The delimiter whose split of the first records is most consistent: most records sharing the
/// same field count (above one), then the most fields.
fn detect_delimiter(source: &str) -> u8 {
    let mut best = (DELIMITERS[0], 0_usize, 0_usize);
    for delimiter in DELIMITERS {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(source.as_bytes());
        let mut counts: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for record in reader.records().take(SAMPLE_RECORDS).flatten() {
            if record.len() > 1 {
                *counts.entry(record.len()).or_default() += 1;
            }
        }
        let Some((fields, records)) = counts
            .into_iter()
            .max_by_key(|&(fields, records)| (records, fields))
        else {
            continue;
        };
        if (records, fields) > (best.1, best.2) {
            best = (delimiter, records, fields);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(bytes: &[u8]) -> String {
        parse(bytes).sections[0].text.clone()
    }

    #[test]
    fn delimiters_are_detected() {
        assert_eq!(detect_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(detect_delimiter("a;b;c\n1,5;2;3\n"), b';');
        assert_eq!(detect_delimiter("a\tb\n1\t2, 3\n"), b'\t');
        assert_eq!(detect_delimiter("a|b|c\n1|2|3\n"), b'|');
        assert_eq!(detect_delimiter("just one column\nof text\n"), b',');
    }

    #[test]
    fn quoted_fields_and_header_row() {
        let text =
            text_of(b"\n\nname,comment,qty\n\"Smith, J\",\"said \"\"hi\"\"\nthen left\",3\n,,\nx|y,,\n");
        assert_eq!(
            text,
            "| name | comment | qty |\n| --- | --- | --- |\n| Smith, J | said \"hi\" then left | 3 |\n| x\\|y |  |  |"
        );
    }

    #[test]
    fn semicolons_with_decimal_commas() {
        assert_eq!(
            text_of("Produkt;Preis\nÄpfel;1,50\n".as_bytes()),
            "| Produkt | Preis |\n| --- | --- |\n| Äpfel | 1,50 |"
        );
    }

    #[test]
    fn legacy_encodings_are_decoded() {
        let gbk = encoding_rs::GBK
            .encode("名称,数量,备注\n苹果,3,新鲜的红色苹果\n香蕉,5,来自南方的香蕉\n")
            .0;
        assert_eq!(
            text_of(&gbk),
            "| 名称 | 数量 | 备注 |\n| --- | --- | --- |\n| 苹果 | 3 | 新鲜的红色苹果 |\n| 香蕉 | 5 | 来自南方的香蕉 |"
        );
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "a\tb\r\n1\t2\r\n".encode_utf16() {
            utf16.extend(unit.to_le_bytes());
        }
        assert_eq!(text_of(&utf16), "| a | b |\n| --- | --- |\n| 1 | 2 |");
    }

    #[test]
    fn empty_and_ragged_input() {
        assert_eq!(text_of(b""), "");
        assert_eq!(
            text_of(b"a,b\n1\n1,2,3\n"),
            "| a | b |  |\n| --- | --- | --- |\n| 1 |  |  |\n| 1 | 2 | 3 |"
        );
    }
}
