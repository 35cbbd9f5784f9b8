//! Repairs for PDF files whose structure is broken, used when lopdf cannot load a file as it is
//! (as poppler and qpdf repair them): a fresh cross-reference table from the object headers found in
//! the file, and stream `/Length` values corrected to where `endstream` really is (hand-edited and
//! truncated files get both wrong, and lopdf drops a stream whose length is off).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::bytes::Regex as BytesRegex;

/// `N G obj` object headers.
static OBJECT_HEADER: LazyLock<BytesRegex> = LazyLock::new(|| {
    BytesRegex::new(r"(?-u)(?:^|[\r\n \t])(\d{1,10})[ \t\r\n]+(\d{1,5})[ \t\r\n]+obj\b").expect("valid regex")
});

/// Trailer entries worth carrying over to a rebuilt trailer.
static TRAILER_REFERENCE: LazyLock<BytesRegex> = LazyLock::new(|| {
    BytesRegex::new(r"(?-u)/(Root|Info|Encrypt)[ \t\r\n]*(\d{1,10})[ \t\r\n]+(\d{1,5})[ \t\r\n]+R")
        .expect("valid regex")
});
static TRAILER_ID: LazyLock<BytesRegex> = LazyLock::new(|| {
    BytesRegex::new(r"(?-u)/ID[ \t\r\n]*\[[ \t\r\n]*<[0-9A-Fa-f]*>[ \t\r\n]*<[0-9A-Fa-f]*>[ \t\r\n]*\]")
        .expect("valid regex")
});

/// Most objects a rebuilt cross-reference table may list.
const MAX_REBUILT_OBJECTS: usize = 10_000_000;

/// The file with a fresh cross-reference table and trailer appended, made by scanning for object
/// headers (a later definition of an object wins, as with incremental updates). Objects inside
/// object streams are found by lopdf through their container. None without objects or a `/Root`.
pub(super) fn rebuild_xref(bytes: &[u8]) -> Option<Vec<u8>> {
    let fixed = fix_stream_lengths(bytes);
    let bytes = fixed.as_slice();
    let mut offsets: BTreeMap<usize, (usize, u16)> = BTreeMap::new();
    for header in OBJECT_HEADER.captures_iter(bytes) {
        let id = header.get(1)?;
        let number: usize = std::str::from_utf8(id.as_bytes()).ok()?.parse().ok()?;
        let generation: u16 = std::str::from_utf8(header.get(2)?.as_bytes())
            .ok()?
            .parse()
            .ok()?;
        if number > 0 && number < MAX_REBUILT_OBJECTS {
            offsets.insert(number, (id.start(), generation));
        }
    }
    let size = offsets.keys().next_back()? + 1;
    let mut trailer_entries: BTreeMap<&[u8], String> = BTreeMap::new();
    for reference in TRAILER_REFERENCE.captures_iter(bytes) {
        let (key, number, generation) = (reference.get(1)?, reference.get(2)?, reference.get(3)?);
        let value = format!(
            "{} {} R",
            String::from_utf8_lossy(number.as_bytes()),
            String::from_utf8_lossy(generation.as_bytes())
        );
        trailer_entries.insert(key.as_bytes(), value);
    }
    trailer_entries.get(b"Root".as_slice())?;
    let mut out = Vec::with_capacity(bytes.len() + size * 20 + 256);
    out.extend_from_slice(bytes);
    out.push(b'\n');
    let xref_offset = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for number in 1..size {
        let entry = match offsets.get(&number) {
            Some((offset, generation)) => format!("{offset:010} {generation:05} n \n"),
            None => "0000000000 65535 f \n".to_string(),
        };
        out.extend_from_slice(entry.as_bytes());
    }
    let mut trailer = format!("trailer\n<< /Size {size}");
    for (key, value) in &trailer_entries {
        trailer.push_str(&format!(" /{} {value}", String::from_utf8_lossy(key)));
    }
    if let Some(id) = TRAILER_ID.find_iter(bytes).last() {
        trailer.push(' ');
        trailer.push_str(&String::from_utf8_lossy(id.as_bytes()));
    }
    trailer.push_str(&format!(" >>\nstartxref\n{xref_offset}\n%%EOF\n"));
    out.extend_from_slice(trailer.as_bytes());
    Some(out)
}

/// A direct `/Length N` followed, within the same object, by a `stream` keyword and its data.
static STREAM_LENGTH: LazyLock<BytesRegex> =
    LazyLock::new(|| BytesRegex::new(r"(?-u)/Length[ \t\r\n]*(\d{1,10})(?:[^0-9R]|$)").expect("valid regex"));

/// What follows the object number of an indirect reference.
static REFERENCE_TAIL: LazyLock<BytesRegex> =
    LazyLock::new(|| BytesRegex::new(r"(?-u)^[ \t\r\n]+\d{1,5}[ \t\r\n]+R").expect("valid regex"));

/// The bytes with each direct stream `/Length` set to the distance from the data start to its
/// `endstream` (end-of-line markers before `endstream` not counted). Lengths that are right, or
/// given by reference, are left alone.
fn fix_stream_lengths(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut copied = 0;
    for length in STREAM_LENGTH.captures_iter(bytes) {
        let Some(number) = length.get(1) else { continue };
        if number.start() < copied || REFERENCE_TAIL.is_match(&bytes[number.end()..]) {
            continue;
        }
        let Some(actual) = actual_stream_length(bytes, number.end()) else {
            continue;
        };
        let declared: Option<usize> = std::str::from_utf8(number.as_bytes())
            .ok()
            .and_then(|n| n.parse().ok());
        if declared == Some(actual) {
            continue;
        }
        out.extend_from_slice(&bytes[copied..number.start()]);
        out.extend_from_slice(actual.to_string().as_bytes());
        copied = number.end();
    }
    out.extend_from_slice(&bytes[copied..]);
    out
}

/// Length of the stream data whose dictionary continues at `from`: None when no `stream` keyword
/// comes before the object ends, or no `endstream` after it.
fn actual_stream_length(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = &bytes[from..];
    let keyword = find(rest, b"stream")?;
    if find(&rest[..keyword], b"endobj").is_some() {
        return None;
    }
    let mut start = from + keyword + b"stream".len();
    if bytes.get(start) == Some(&b'\r') {
        start += 1;
    }
    if bytes.get(start) == Some(&b'\n') {
        start += 1;
    }
    let mut end = start + find(&bytes[start..], b"endstream")?;
    if end > start && bytes[end - 1] == b'\n' {
        end -= 1;
    }
    if end > start && bytes[end - 1] == b'\r' {
        end -= 1;
    }
    Some(end - start)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_stream_lengths_are_corrected() {
        let bytes = b"1 0 obj << /Length 3 /Filter /X >> stream\nBT (Hello) Tj ET\nendstream endobj\n\
                      2 0 obj << /Length 5 >>\r\nstream\r\nright\r\nendstream endobj\n\
                      3 0 obj << /Length 4 0 R >> stream\nby reference\nendstream endobj\n";
        let fixed = String::from_utf8(fix_stream_lengths(bytes)).unwrap();
        assert!(
            fixed.starts_with("1 0 obj << /Length 16 /Filter /X >>"),
            "{fixed}"
        );
        assert!(fixed.contains("2 0 obj << /Length 5 >>"), "{fixed}");
        assert!(fixed.contains("/Length 4 0 R"), "{fixed}");
    }

    #[test]
    fn lengths_outside_streams_are_left_alone() {
        let bytes = b"1 0 obj << /Length 3 >> endobj 2 0 obj << /Length 3 >> stream\nabc\nendstream endobj";
        assert_eq!(fix_stream_lengths(bytes), bytes.to_vec());
    }
}
