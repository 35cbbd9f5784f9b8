//! XML: the text content of any XML document, element structure flattened into lines; plus the
//! XML reading helpers that the XML-based formats (docx, pptx, xlsx packages, epub) share.
//!
//! Safety: quick-xml never fetches or expands entities declared in a DTD, and the DTD itself is
//! skipped, so external entities (XXE) and entity-expansion bombs have nothing to work with. Only
//! the five predefined entities and numeric character references are resolved; any other entity
//! reference is dropped. Reading is event-driven (no recursion), so nesting depth costs nothing.

use std::borrow::Cow;
use std::sync::LazyLock;

use encoding_rs::Encoding;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use regex::bytes::Regex;

use super::text;
use crate::document::{ParsedDocument, Section};

/// `encoding="..."` in the XML declaration.
static DECLARED_ENCODING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:\xEF\xBB\xBF)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']"#)
        .expect("valid regex")
});

/// Parses an XML document into one section of text lines.
pub(super) fn parse(bytes: &[u8]) -> ParsedDocument {
    let source = decode(bytes);
    let mut reader = reader(&source);
    let mut out = String::new();
    let mut boundary = Boundary::None;
    let mut title: Option<String> = None;
    // Some(text) while inside the first <title> element.
    let mut title_text: Option<String> = None;
    let mut title_depth = 0_usize;
    let mut depth = 0_usize;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(event) => event,
            Err(error) => {
                // Keep what was read before the damage; a broken tail should not lose the rest.
                tracing::debug!(%error, "xml parse stopped early");
                break;
            }
        };
        let piece: Option<Cow<'_, str>> = match event {
            Event::Start(start) => {
                depth += 1;
                if title.is_none() && title_text.is_none() && local_name(&start).eq_ignore_ascii_case("title")
                {
                    title_text = Some(String::new());
                    title_depth = depth;
                }
                // Right after text (`word<i>!</i>`) a start tag is inline markup; after an end
                // tag or whitespace it opens a sibling.
                if boundary != Boundary::None {
                    boundary = boundary.max(Boundary::Sibling);
                }
                None
            }
            Event::End(_) => {
                if depth == title_depth
                    && let Some(text) = title_text.take()
                {
                    let text = collapse_whitespace(&text);
                    title = Some(text).filter(|t| !t.is_empty());
                    title_depth = 0;
                }
                depth = depth.saturating_sub(1);
                boundary = boundary.max(Boundary::Inline);
                None
            }
            Event::Empty(_) => {
                boundary = boundary.max(Boundary::Sibling);
                None
            }
            Event::Text(text) => Some(text.xml10_content()),
            Event::CData(data) => Some(data.xml10_content()),
            Event::GeneralRef(reference) => reference_text(&reference).map(Cow::Owned),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => None,
            Event::Eof => break,
        };
        let Some(piece) = piece else { continue };
        if let Some(title_text) = title_text.as_mut() {
            title_text.push_str(&piece);
        }
        if piece.trim().is_empty() {
            if piece.contains('\n') {
                boundary = Boundary::Line;
            } else if !piece.is_empty() {
                boundary = boundary.max(Boundary::Space);
            }
            continue;
        }
        if piece.starts_with(char::is_whitespace) {
            boundary = boundary.max(Boundary::Space);
        }
        match boundary {
            Boundary::Line if !out.is_empty() => {
                trim_trailing_spaces(&mut out);
                out.push('\n');
            }
            Boundary::Sibling | Boundary::Space if !out.is_empty() && !out.ends_with(char::is_whitespace) => {
                out.push(' ');
            }
            _ => {}
        }
        push_collapsed(&mut out, piece.trim());
        boundary = if piece.ends_with(char::is_whitespace) {
            Boundary::Space
        } else {
            Boundary::None
        };
    }
    trim_trailing_spaces(&mut out);
    ParsedDocument {
        title,
        sections: vec![Section {
            text: out,
            page: None,
        }],
    }
}

/// What separates two pieces of text, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Boundary {
    /// Adjacent text (`a<b>b</b>` after the end tag).
    None,
    /// An end tag: inline markup, joins without space (`<b>bold</b>!`).
    Inline,
    /// Whitespace inside a line.
    Space,
    /// A new element started: siblings get a space (`<a>x</a><b>y</b>` -> `x y`).
    Sibling,
    /// Whitespace with a line break between elements: the document is laid out in lines.
    Line,
}

fn push_collapsed(out: &mut String, text: &str) {
    let mut first = true;
    for word in text.split_whitespace() {
        if !first {
            out.push(' ');
        }
        out.push_str(word);
        first = false;
    }
}

fn trim_trailing_spaces(out: &mut String) {
    let kept = out.trim_end_matches([' ', '\t']).len();
    out.truncate(kept);
}

pub(super) fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes an XML file to text: BOM, UTF-16 sniffing and UTF-8 first, then the encoding its
/// declaration names (see [`text::decode`]).
pub(super) fn decode(bytes: &[u8]) -> String {
    let declared = DECLARED_ENCODING
        .captures(&bytes[..bytes.len().min(1024)])
        .and_then(|captures| captures.get(1))
        .and_then(|label| Encoding::for_label(label.as_bytes()));
    text::decode(bytes, declared)
}

/// A lenient reader over decoded XML: mismatched or unmatched end tags and stray `&` do not stop
/// it, because damaged office files still deserve their text.
pub(super) fn reader(source: &str) -> Reader<&[u8]> {
    let mut reader = Reader::from_str(source);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    reader
}

/// The local name (without namespace prefix) of an element.
pub(super) fn local_name<'a>(element: &'a BytesStart<'_>) -> &'a str {
    element.local_name().into_inner()
}

/// The value of the attribute whose local name is `name` (any prefix), predefined entities and
/// character references resolved.
pub(super) fn attribute(element: &BytesStart<'_>, name: &str) -> Option<String> {
    element.attributes().flatten().find_map(|attribute| {
        (attribute.key.local_name().into_inner() == name).then(|| attribute_value(&attribute))
    })
}

fn attribute_value(attribute: &Attribute<'_>) -> String {
    attribute
        .normalized_value(XmlVersion::Implicit1_0)
        .map(Cow::into_owned)
        .unwrap_or_else(|_| attribute.value.to_string())
}

/// The value of a namespaced `id` attribute (`r:id`, whatever the prefix), as opposed to a plain
/// `id`: relationship references in OOXML.
pub(super) fn relationship_id(element: &BytesStart<'_>) -> Option<String> {
    element.attributes().flatten().find_map(|attribute| {
        (attribute.key.prefix().is_some() && attribute.key.local_name().into_inner() == "id")
            .then(|| attribute_value(&attribute))
    })
}

/// The text of a predefined entity or character reference; None for any other entity, which is
/// never looked up.
pub(super) fn reference_text(reference: &BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(c.to_string());
    }
    let text = match reference.xml10_content().as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return None,
    };
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(xml: &str) -> String {
        parse(xml.as_bytes()).sections[0].text.clone()
    }

    #[test]
    fn pretty_printed_elements_become_lines() {
        let doc = parse(
            b"<?xml version=\"1.0\"?>\n<catalog>\n  <book id=\"1\">\n    <title>Rust &amp; You</title>\n    \
              <price>10</price>\n  </book>\n  <book><title>Second</title></book>\n</catalog>\n",
        );
        assert_eq!(doc.title.as_deref(), Some("Rust & You"));
        assert_eq!(doc.sections[0].text, "Rust & You\n10\nSecond");
    }

    #[test]
    fn mixed_content_keeps_inline_words_together() {
        assert_eq!(
            text_of("<p>Hello <b>bold</b> world<i>!</i></p>"),
            "Hello bold world!"
        );
        assert_eq!(text_of("<r><a>x</a><b>y</b></r>"), "x y");
        assert_eq!(text_of("<r><![CDATA[a < b]]> &#x41;&#66;</r>"), "a < b AB");
    }

    #[test]
    fn external_and_internal_entities_are_never_expanded() {
        let xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n\
                   <!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\n<r>a &xxe; b &lol2; c</r>";
        let text = text_of(xxe);
        assert_eq!(text, "a b c");
        assert!(!text.contains("root:"));
    }

    #[test]
    fn declared_legacy_encoding_and_utf16_are_decoded() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>".to_vec();
        bytes.extend(encoding_rs::WINDOWS_1252.encode("café").0.iter());
        bytes.extend(b"</r>");
        assert_eq!(parse(&bytes).sections[0].text, "café");
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "<?xml version=\"1.0\" encoding=\"UTF-16\"?><r>日本</r>".encode_utf16() {
            utf16.extend(unit.to_le_bytes());
        }
        assert_eq!(parse(&utf16).sections[0].text, "日本");
    }

    #[test]
    fn broken_xml_keeps_text_read_so_far() {
        assert_eq!(text_of("<a><b>kept</c> more <"), "kept more");
        assert_eq!(text_of(""), "");
        assert_eq!(text_of("just text & stray"), "just text & stray");
    }

    #[test]
    fn deep_nesting_is_fine() {
        let xml = format!("{}deep{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        assert_eq!(text_of(&xml), "deep");
    }
}
