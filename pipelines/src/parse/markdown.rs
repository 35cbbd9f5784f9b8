//! Markdown and MDX: the source text is kept as is (headings stay `#` lines, which the chunkers use
//! as boundaries); only front matter is dropped. The title is the first level-1 heading, else the
//! first heading of any level.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use crate::document::{ParsedDocument, Section};

/// Parses a Markdown file into one section.
pub(super) fn parse(bytes: &[u8]) -> ParsedDocument {
    let text = super::text::decode(bytes, None);
    let body = strip_front_matter(&text);
    let title = first_heading(body);
    ParsedDocument {
        title,
        sections: vec![Section {
            text: body.to_string(),
            page: None,
        }],
    }
}

/// Drops a leading YAML (`---` ... `---`/`...`) or TOML (`+++` ... `+++`) front matter block.
/// An unterminated block is not front matter and is kept.
fn strip_front_matter(text: &str) -> &str {
    let mut lines = text.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return text;
    };
    let closers: &[&str] = match first.trim_end() {
        "---" => &["---", "..."],
        "+++" => &["+++"],
        _ => return text,
    };
    let mut offset = first.len();
    for line in lines {
        offset += line.len();
        if closers.contains(&line.trim_end()) {
            return text[offset..].trim_start_matches('\n');
        }
    }
    text
}

/// Plain text of the first level-1 heading, else of the first heading.
fn first_heading(markdown: &str) -> Option<String> {
    let mut first_any: Option<String> = None;
    let mut current: Option<(HeadingLevel, String)> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => current = Some((level, String::new())),
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text)) = current.take() {
                    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    if text.is_empty() {
                        continue;
                    }
                    if level == HeadingLevel::H1 {
                        return Some(text);
                    }
                    first_any.get_or_insert(text);
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, text)) = current.as_mut() {
                    text.push(' ');
                }
            }
            _ => {}
        }
    }
    first_any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_markdown_source_and_takes_h1_title() {
        let source = "Intro line\n\n## Setup\n\nRun `make`.\n\n# The *Real* Title\n\nBody.\n";
        let doc = parse(source.as_bytes());
        assert_eq!(doc.title.as_deref(), Some("The Real Title"));
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(doc.sections[0].text, source);
        assert_eq!(doc.sections[0].page, None);
    }

    #[test]
    fn falls_back_to_first_heading_of_any_level() {
        let doc = parse(b"## Only `h2` here\n\ntext\n\n### later\n");
        assert_eq!(doc.title.as_deref(), Some("Only h2 here"));
        assert_eq!(parse(b"no headings at all\n").title, None);
    }

    #[test]
    fn setext_headings_count() {
        assert_eq!(
            parse(b"Big Title\n=========\n\ntext\n").title.as_deref(),
            Some("Big Title")
        );
    }

    #[test]
    fn drops_yaml_and_toml_front_matter() {
        let doc = parse(b"---\ntitle: front\ntags: [a]\n---\n\n# Heading\n\nBody\n");
        assert_eq!(doc.sections[0].text, "# Heading\n\nBody\n");
        assert_eq!(doc.title.as_deref(), Some("Heading"));
        let doc = parse(b"+++\ntitle = \"x\"\n+++\nBody\n");
        assert_eq!(doc.sections[0].text, "Body\n");
        let doc = parse(b"---\r\na: 1\r\n...\r\nBody\r\n");
        assert_eq!(doc.sections[0].text, "Body\n");
    }

    #[test]
    fn keeps_unterminated_front_matter_and_thematic_breaks() {
        let source = "---\nnot closed\n\ntext\n";
        assert_eq!(parse(source.as_bytes()).sections[0].text, source);
        let source = "text\n\n---\n\nmore\n";
        assert_eq!(parse(source.as_bytes()).sections[0].text, source);
    }
}
