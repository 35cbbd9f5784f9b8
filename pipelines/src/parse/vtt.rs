//! WebVTT subtitles: the spoken text only. The header, NOTE/STYLE/REGION blocks, cue identifiers,
//! timing lines and inline timestamps are dropped; `<v Speaker>` voice spans become
//! `Speaker: text`; other markup tags are removed and character references decoded. A cue that
//! repeats the previous one (roll-up captions) is kept once.

use super::text;
use crate::document::ParsedDocument;

/// Parses a WebVTT file into one section of spoken lines.
pub(super) fn parse(bytes: &[u8]) -> ParsedDocument {
    let source = text::decode(bytes, None);
    let mut lines: Vec<String> = Vec::new();
    for block in source.split("\n\n").map(|block| block.trim_matches('\n')) {
        let mut block_lines = block.lines();
        let Some(first) = block_lines.next() else { continue };
        let first_word = first.split_whitespace().next().unwrap_or("");
        if matches!(first_word, "WEBVTT" | "NOTE" | "STYLE" | "REGION") {
            continue;
        }
        // A cue is an optional identifier line, the timing line, then the payload.
        let payload: Vec<&str> = if first.contains("-->") {
            block_lines.collect()
        } else {
            match block_lines.next() {
                Some(timing) if timing.contains("-->") => block_lines.collect(),
                // Not a cue (stray text): keep it rather than lose words.
                _ => block.lines().collect(),
            }
        };
        for line in payload {
            let spoken = cue_text(line);
            if !spoken.is_empty() && lines.last() != Some(&spoken) {
                lines.push(spoken);
            }
        }
    }
    ParsedDocument::from_text(lines.join("\n"))
}

/// A payload line without tags and timestamps; a voice span's speaker becomes a prefix.
fn cue_text(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = &rest[open..];
            break;
        };
        let tag = &rest[open + 1..open + close];
        if let Some(speaker) = tag.strip_prefix('v').filter(|s| s.starts_with([' ', '.'])) {
            // `<v.loud Esme>`: classes come before the space-separated name.
            let name = speaker.split_once(' ').map_or("", |(_, name)| name).trim();
            if !name.is_empty() {
                out.push_str(name);
                out.push_str(": ");
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    decode_references(out.trim())
}

fn decode_references(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&lrm;", "\u{200E}")
        .replace("&rlm;", "\u{200F}")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spoken_text_only() {
        let vtt = "WEBVTT - Title of the file\nKind: captions\n\nSTYLE\n::cue { color: red }\n\n\
                   NOTE this is a comment\nspanning lines\n\n1\n00:00:01.000 --> 00:00:04.000 align:start\n\
                   <v Roger Bingham>We are in New York City\n\n\
                   intro-2\n00:00:04.000 --> 00:00:06.500\n<v.loud Neil>&lt;Really&gt; <i>big</i> city\n\
                   <00:00:05.000><c.yellow>second</c> line &amp; more\n\n\
                   00:00:06.500 --> 00:00:08.000\n<c.yellow>second</c> line &amp; more\n";
        let doc = parse(vtt.as_bytes());
        assert_eq!(
            doc.sections[0].text,
            "Roger Bingham: We are in New York City\nNeil: <Really> big city\nsecond line & more"
        );
    }

    #[test]
    fn crlf_and_hours_optional_timestamps() {
        let doc = parse(
            b"WEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\nHello\r\n\r\n00:02.000 --> 00:03.000\r\nWorld\r\n",
        );
        assert_eq!(doc.sections[0].text, "Hello\nWorld");
    }
}
