//! HTML: a real HTML5 parser (scraper / html5ever) turned into Markdown-like text: headings become
//! `#` lines, paragraphs and blocks are separated by blank lines, list items become `- ` / `1. `
//! lines, tables become Markdown tables, whitespace is collapsed as a browser would. Page chrome
//! and non-content elements (script, style, noscript, nav, footer, head, ...) are dropped.

use std::sync::LazyLock;

use encoding_rs::Encoding;
use regex::bytes::Regex;
use scraper::{ElementRef, Html, Node, Selector};

use crate::document::{ParsedDocument, Section};

/// Elements whose content is never text for the reader.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "nav", "footer", "head", "template", "svg", "canvas", "iframe", "object",
    "embed", "select", "button", "math",
];

/// Elements that start and end a paragraph-like block.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "aside",
    "blockquote",
    "figure",
    "figcaption",
    "address",
    "details",
    "summary",
    "fieldset",
    "form",
    "legend",
    "center",
    "dl",
    "body",
    "html",
    "caption",
];

/// `<meta charset="...">` or `<meta http-equiv="Content-Type" content="...; charset=...">`.
static META_CHARSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<meta[^>]*charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)"#).expect("valid regex")
});

/// Deepest element nesting handed to the HTML5 parser. html5ever's tree building slows down
/// quadratically with depth (seconds at 10,000 levels, minutes at 100,000, and an abandoned parse
/// cannot be stopped), while real pages stay below a few hundred levels.
const MAX_NESTING: usize = 1000;

/// Elements without an end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
    "wbr",
];

/// Parses an HTML page into one section.
pub(super) fn parse(bytes: &[u8]) -> ParsedDocument {
    let text = super::text::decode(bytes, declared_charset(bytes));
    if nesting_exceeds(&text, MAX_NESTING) {
        tracing::warn!(
            limit = MAX_NESTING,
            "html nested too deeply, keeping its text without structure"
        );
        return ParsedDocument::from_text(strip_tags(&text));
    }
    let html = Html::parse_document(&text);
    let title_selector = Selector::parse("title").expect("valid selector");
    let title = html
        .select(&title_selector)
        .next()
        .map(|title| collapse_whitespace(&title.text().collect::<String>()))
        .filter(|title| !title.is_empty());
    let mut writer = Writer::default();
    writer.element(html.root_element());
    ParsedDocument {
        title,
        sections: vec![Section {
            text: writer.finish(),
            page: None,
        }],
    }
}

/// Whether elements nest deeper than `limit`, counting start tags (void and self-closed ones
/// aside) against end tags; unclosed tags count as open, as they do for the tree builder.
fn nesting_exceeds(text: &str, limit: usize) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0_usize;
    let mut at = 0;
    while let Some(offset) = bytes[at..].iter().position(|&b| b == b'<') {
        at += offset + 1;
        let closing = bytes.get(at) == Some(&b'/');
        let name_start = at + usize::from(closing);
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = text[name_start..name_start + name_len].to_ascii_lowercase();
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        let tag_end = bytes[name_start..]
            .iter()
            .position(|&b| b == b'>')
            .map(|p| name_start + p);
        let self_closed = tag_end.is_some_and(|end| bytes[end - 1] == b'/');
        if !self_closed && !VOID.contains(&name.as_str()) {
            depth += 1;
            if depth > limit {
                return true;
            }
        }
    }
    false
}

/// Markup removed, the common character references decoded, whitespace collapsed per line.
fn strip_tags(text: &str) -> String {
    static TAG: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"<[^>]*>").expect("valid regex"));
    let plain = TAG.replace_all(text, " ");
    let plain = plain
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    plain
        .lines()
        .map(collapse_whitespace)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The encoding declared in a `<meta>` tag near the start of the page.
fn declared_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let label = META_CHARSET.captures(head)?.get(1)?;
    Encoding::for_label(label.as_bytes())
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Clone, Copy)]
enum List {
    Unordered,
    Ordered { next: u64 },
}

/// Accumulates text with browser-like whitespace collapsing and Markdown block structure.
#[derive(Debug, Default)]
struct Writer {
    out: String,
    /// Whitespace was seen since the last character written.
    pending_space: bool,
    /// List-item marker not written yet: it goes before the item's first text.
    pending_marker: Option<String>,
    /// Depth of `<pre>` elements, inside which whitespace is kept.
    preformatted: usize,
    lists: Vec<List>,
}

impl Writer {
    fn finish(self) -> String {
        self.out.trim().to_string()
    }

    fn children(&mut self, element: ElementRef<'_>) {
        for child in element.children() {
            match child.value() {
                Node::Text(text) => self.text(text),
                Node::Element(_) => {
                    if let Some(child) = ElementRef::wrap(child) {
                        self.element(child);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, element: ElementRef<'_>) {
        let name = element.value().name();
        if SKIPPED.contains(&name) || element.value().attr("hidden").is_some() {
            return;
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = usize::from(name.as_bytes()[1] - b'0');
                self.block_break();
                self.pending_marker = Some(format!("{} ", "#".repeat(level)));
                self.children(element);
                self.pending_marker = None;
                self.block_break();
            }
            "br" => self.line_break(),
            "hr" => self.block_break(),
            "pre" => {
                self.block_break();
                self.preformatted += 1;
                self.children(element);
                self.preformatted -= 1;
                self.block_break();
            }
            "ul" | "ol" => {
                if self.lists.is_empty() {
                    self.block_break();
                } else {
                    self.line_break();
                }
                let list = if name == "ol" {
                    let start = element.value().attr("start").and_then(|s| s.trim().parse().ok());
                    List::Ordered {
                        next: start.unwrap_or(1),
                    }
                } else {
                    List::Unordered
                };
                self.lists.push(list);
                self.children(element);
                self.lists.pop();
                if self.lists.is_empty() {
                    self.block_break();
                } else {
                    self.line_break();
                }
            }
            "li" => {
                self.line_break();
                let indent = "  ".repeat(self.lists.len().saturating_sub(1));
                let marker = match self.lists.last_mut() {
                    Some(List::Ordered { next }) => {
                        let marker = format!("{indent}{next}. ");
                        *next += 1;
                        marker
                    }
                    Some(List::Unordered) | None => format!("{indent}- "),
                };
                self.pending_marker = Some(marker);
                self.children(element);
                self.pending_marker = None;
                self.line_break();
            }
            "dt" | "dd" | "tr" => {
                self.line_break();
                self.children(element);
                self.line_break();
            }
            "table" => {
                self.block_break();
                self.table(element);
                self.block_break();
            }
            _ if BLOCKS.contains(&name) => {
                self.block_break();
                self.children(element);
                self.block_break();
            }
            _ => self.children(element),
        }
    }

    fn text(&mut self, text: &str) {
        if self.preformatted > 0 {
            self.write_marker();
            self.out.push_str(text);
            self.pending_space = false;
            return;
        }
        for c in text.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            self.write_marker();
            if self.pending_space && !self.out.is_empty() && !self.out.ends_with(['\n', ' ']) {
                self.out.push(' ');
            }
            self.pending_space = false;
            self.out.push(c);
        }
    }

    fn write_marker(&mut self) {
        if let Some(marker) = self.pending_marker.take() {
            self.out.push_str(&marker);
            self.pending_space = false;
        }
    }

    fn trim_trailing_spaces(&mut self) {
        let kept = self.out.trim_end_matches([' ', '\t']).len();
        self.out.truncate(kept);
    }

    /// Ends the current block with a blank line (a line break inside lists). Does nothing while a
    /// list or heading marker waits for its text, so `<li><p>x</p></li>` stays one `- x` line.
    fn block_break(&mut self) {
        if !self.lists.is_empty() {
            self.line_break();
            return;
        }
        self.pending_space = false;
        if self.pending_marker.is_some() || self.out.is_empty() {
            return;
        }
        self.trim_trailing_spaces();
        while !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn line_break(&mut self) {
        self.pending_space = false;
        if self.pending_marker.is_some() || self.out.is_empty() {
            return;
        }
        self.trim_trailing_spaces();
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    /// Writes a table as a Markdown table; the first row is the header row.
    fn table(&mut self, table: ElementRef<'_>) {
        let mut rows: Vec<Vec<String>> = Vec::new();
        for row in table_rows(table) {
            let cells: Vec<String> = row
                .children()
                .filter_map(ElementRef::wrap)
                .filter(|cell| matches!(cell.value().name(), "td" | "th"))
                .map(|cell| {
                    let mut writer = Writer::default();
                    writer.children(cell);
                    collapse_whitespace(&writer.finish()).replace('|', "\\|")
                })
                .collect();
            if cells.iter().any(|cell| !cell.is_empty()) {
                rows.push(cells);
            }
        }
        for caption in table.children().filter_map(ElementRef::wrap) {
            if caption.value().name() == "caption" {
                self.element(caption);
            }
        }
        let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
        for (index, row) in rows.iter().enumerate() {
            self.out.push('|');
            for column in 0..columns {
                self.out.push(' ');
                self.out.push_str(row.get(column).map_or("", String::as_str));
                self.out.push_str(" |");
            }
            self.out.push('\n');
            if index == 0 {
                self.out.push('|');
                self.out.push_str(&" --- |".repeat(columns));
                self.out.push('\n');
            }
        }
    }
}

/// Rows of a table, in order, not descending into nested tables.
fn table_rows(table: ElementRef<'_>) -> Vec<ElementRef<'_>> {
    let mut rows = Vec::new();
    for child in table.children().filter_map(ElementRef::wrap) {
        match child.value().name() {
            "tr" => rows.push(child),
            "thead" | "tbody" | "tfoot" => rows.extend(
                child
                    .children()
                    .filter_map(ElementRef::wrap)
                    .filter(|row| row.value().name() == "tr"),
            ),
            _ => {}
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(html: &str) -> String {
        parse(html.as_bytes()).sections[0].text.clone()
    }

    #[test]
    fn title_headings_and_paragraphs() {
        let doc = parse(
            b"<html><head><title>  My   Page </title><style>p{}</style></head><body>\
              <h1>Main <em>title</em></h1><p>First   paragraph\n with  spaces.</p>\
              <h3>Sub</h3><div>Block <b>bold</b> text</div></body></html>",
        );
        assert_eq!(doc.title.as_deref(), Some("My Page"));
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(doc.sections[0].page, None);
        assert_eq!(
            doc.sections[0].text,
            "# Main title\n\nFirst paragraph with spaces.\n\n### Sub\n\nBlock bold text"
        );
    }

    #[test]
    fn drops_scripts_navigation_and_hidden_content() {
        let text = text_of(
            "<body><nav><a href=/>Home</a></nav><script>var x = 1;</script>\
             <noscript>enable js</noscript><p>Content</p><div hidden>secret</div>\
             <footer>Copyright</footer></body>",
        );
        assert_eq!(text, "Content");
    }

    #[test]
    fn lists_become_markdown_items() {
        let text = text_of(
            "<p>Steps:</p><ol><li>Install</li><li><p>Configure</p>\
             <ul><li>port</li><li>host</li></ul></li></ol><ul><li>last</li></ul>",
        );
        assert_eq!(
            text,
            "Steps:\n\n1. Install\n2. Configure\n  - port\n  - host\n\n- last"
        );
    }

    #[test]
    fn tables_become_markdown_tables() {
        let text = text_of(
            "<table><thead><tr><th>Name</th><th>Size</th></tr></thead>\
             <tbody><tr><td>a|b</td><td>1 <b>MB</b></td></tr><tr><td>c</td></tr></tbody></table>\
             <p>after</p>",
        );
        assert_eq!(
            text,
            "| Name | Size |\n| --- | --- |\n| a\\|b | 1 MB |\n| c |  |\n\nafter"
        );
    }

    #[test]
    fn preformatted_text_keeps_its_whitespace() {
        let text = text_of("<p>code:</p><pre>fn main() {\n    run();\n}</pre>");
        assert_eq!(text, "code:\n\nfn main() {\n    run();\n}");
    }

    #[test]
    fn line_breaks_and_entities() {
        assert_eq!(text_of("<p>a<br>b&nbsp;&amp;&nbsp;c</p>"), "a\nb & c");
    }

    #[test]
    fn declared_legacy_charset_is_honoured() {
        let mut bytes = b"<html><head><meta charset=\"windows-1252\"></head><body><p>".to_vec();
        bytes.extend(encoding_rs::WINDOWS_1252.encode("café déjà").0.iter());
        bytes.extend(b"</p></body></html>");
        assert_eq!(text_of_bytes(&bytes), "café déjà");
    }

    fn text_of_bytes(bytes: &[u8]) -> String {
        parse(bytes).sections[0].text.clone()
    }

    #[test]
    fn absurd_nesting_keeps_the_text_without_the_slow_tree_builder() {
        let started = std::time::Instant::now();
        let deep = format!(
            "<p>before</p>{}deep &amp; text{}",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        );
        assert_eq!(text_of(&deep), "before deep & text");
        let unclosed = format!("{}x", "<b>".repeat(5_000));
        assert_eq!(text_of(&unclosed), "x");
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
        // Ordinary nesting, void elements and self-closed tags do not count.
        let normal = format!(
            "{}{}x{}",
            "<br><img src=a><span/>".repeat(5_000),
            "<div>".repeat(50),
            "</div>".repeat(50)
        );
        assert!(!nesting_exceeds(&normal, MAX_NESTING));
        assert!(nesting_exceeds(&"<div>".repeat(MAX_NESTING + 1), MAX_NESTING));
        assert!(!nesting_exceeds("a < b and 1<2 </>", MAX_NESTING));
    }

    #[test]
    fn empty_or_broken_markup_does_not_fail() {
        assert_eq!(text_of(""), "");
        assert_eq!(text_of("<p>unclosed <b>tags <i>here"), "unclosed tags here");
    }
}
