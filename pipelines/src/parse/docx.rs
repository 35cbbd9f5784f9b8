//! Word (docx): the main document part read as a stream of XML events into Markdown-like text.
//! Paragraphs become blocks; heading styles (by name, or by outline level, following `basedOn`)
//! become `#` lines; numbered and bulleted paragraphs become `1. ` / `- ` items indented by
//! level; tables become Markdown tables (a nested table is flattened into its cell). Footnotes and
//! endnotes follow the body. Deleted tracked changes, field codes and the fallback copies of
//! alternate content are skipped; page headers and footers are left out as page furniture.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};

use super::archive::{Archive, ArchiveLimits};
use super::detect::ContentKind;
use super::ooxml::{self, Relationship};
use super::{ParseError, table, xml};
use crate::document::{ParsedDocument, Section};

const FORMAT: &str = "docx";

/// Parses a Word document into one section.
pub(super) fn parse(bytes: &[u8], limits: &ArchiveLimits) -> Result<ParsedDocument, ParseError> {
    if ContentKind::detect(bytes) != ContentKind::Zip {
        return Err(ooxml::not_a_package(bytes, FORMAT));
    }
    let mut archive = Archive::open(bytes, FORMAT, limits)?;
    let main = ooxml::main_part(&mut archive, "word/document.xml")?;
    let rels = ooxml::relationships(&mut archive, &main)?;
    let part_of = |kind: &str, fallback: &str| {
        rels.iter()
            .find(|rel: &&Relationship| rel.is(kind) && !rel.external)
            .map_or_else(|| fallback.to_string(), |rel| rel.target.clone())
    };
    let styles = match archive.read(&part_of("styles", "word/styles.xml"))? {
        Some(bytes) => Styles::parse(&xml::decode(&bytes)),
        None => Styles::default(),
    };
    let numbering = match archive.read(&part_of("numbering", "word/numbering.xml"))? {
        Some(bytes) => Numbering::parse(&xml::decode(&bytes)),
        None => Numbering::default(),
    };
    let document = archive.read_required(&main)?;
    let mut body = BodyWriter::new(&styles, &numbering);
    body.write(&xml::decode(&document));
    for (kind, fallback) in [
        ("footnotes", "word/footnotes.xml"),
        ("endnotes", "word/endnotes.xml"),
    ] {
        if let Some(notes) = archive.read(&part_of(kind, fallback))? {
            body.write(&xml::decode(&notes));
        }
    }
    let first_heading = body.first_heading.clone();
    let text = body.finish();
    let title = ooxml::core_title(&mut archive)?.or(first_heading);
    Ok(ParsedDocument {
        title,
        sections: vec![Section { text, page: None }],
    })
}

/// What a paragraph style says about structure.
#[derive(Debug, Default, Clone)]
struct Style {
    name: String,
    based_on: Option<String>,
    outline_level: Option<u8>,
    numbering: Option<(String, u8)>,
}

#[derive(Debug, Default)]
struct Styles(HashMap<String, Style>);

impl Styles {
    fn parse(source: &str) -> Self {
        let mut styles = HashMap::new();
        let mut reader = xml::reader(source);
        let mut current: Option<(String, Style)> = None;
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) if xml::local_name(&e) == "style" => {
                    current = xml::attribute(&e, "styleId").map(|id| (id, Style::default()));
                }
                Ok(Event::End(e)) if e.local_name().into_inner() == "style" => {
                    if let Some((id, style)) = current.take() {
                        styles.insert(id, style);
                    }
                }
                Ok(Event::Start(e) | Event::Empty(e)) => {
                    if let Some((_, style)) = current.as_mut() {
                        let value = || xml::attribute(&e, "val").unwrap_or_default();
                        match xml::local_name(&e) {
                            "name" => style.name = value(),
                            "basedOn" => style.based_on = Some(value()),
                            "outlineLvl" => style.outline_level = value().parse().ok(),
                            "numId" => {
                                style.numbering = Some((value(), style.numbering.take().map_or(0, |n| n.1)))
                            }
                            "ilvl" => {
                                let level = value().parse().unwrap_or(0);
                                let id = style.numbering.take().map(|n| n.0).unwrap_or_default();
                                style.numbering = Some((id, level));
                            }
                            _ => {}
                        }
                    }
                }
                Ok(Event::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
        Styles(styles)
    }

    /// Heading level (1-based) of a paragraph style, following `basedOn` a bounded number of times.
    fn heading_level(&self, style_id: &str) -> Option<u8> {
        let mut id = style_id.to_string();
        for _ in 0..16 {
            let Some(style) = self.0.get(&id) else {
                return builtin_heading_level(&id);
            };
            if let Some(level) = builtin_heading_level(&style.name) {
                return Some(level);
            }
            if let Some(level) = style.outline_level.filter(|&l| l < 9) {
                return Some(level + 1);
            }
            id = style.based_on.clone()?;
        }
        None
    }

    /// List numbering that a paragraph style carries, if any.
    fn numbering(&self, style_id: &str) -> Option<(String, u8)> {
        let mut id = style_id.to_string();
        for _ in 0..16 {
            let style = self.0.get(&id)?;
            if let Some(numbering) = &style.numbering {
                return Some(numbering.clone());
            }
            id = style.based_on.clone()?;
        }
        None
    }
}

/// `heading 1`..`heading 9`, `Heading1`, `Title` (names and ids of the built-in styles).
fn builtin_heading_level(name: &str) -> Option<u8> {
    let name = name.to_ascii_lowercase().replace(' ', "");
    if name == "title" {
        return Some(1);
    }
    let level: u8 = name.strip_prefix("heading")?.parse().ok()?;
    (1..=9).contains(&level).then_some(level)
}

/// Which (numbering id, level) pairs are ordered lists; everything else is bulleted.
#[derive(Debug, Default)]
struct Numbering {
    /// numId -> abstractNumId.
    instances: HashMap<String, String>,
    /// (abstractNumId, level) -> ordered.
    ordered: HashMap<(String, u8), bool>,
}

impl Numbering {
    fn parse(source: &str) -> Self {
        let mut numbering = Numbering::default();
        let mut reader = xml::reader(source);
        let mut abstract_id: Option<String> = None;
        let mut level: u8 = 0;
        let mut num_id: Option<String> = None;
        loop {
            match reader.read_event() {
                Ok(Event::Start(e) | Event::Empty(e)) => match xml::local_name(&e) {
                    "abstractNum" => abstract_id = xml::attribute(&e, "abstractNumId"),
                    "lvl" => {
                        level = xml::attribute(&e, "ilvl")
                            .and_then(|l| l.parse().ok())
                            .unwrap_or(0)
                    }
                    "numFmt" => {
                        if let Some(id) = &abstract_id {
                            let format = xml::attribute(&e, "val").unwrap_or_default();
                            let ordered = !matches!(format.as_str(), "bullet" | "none" | "");
                            numbering.ordered.insert((id.clone(), level), ordered);
                        }
                    }
                    "num" => num_id = xml::attribute(&e, "numId"),
                    "abstractNumId" => {
                        if let (Some(num), Some(value)) = (&num_id, xml::attribute(&e, "val")) {
                            numbering.instances.insert(num.clone(), value);
                        }
                    }
                    _ => {}
                },
                Ok(Event::End(e)) => match e.local_name().into_inner() {
                    "abstractNum" => abstract_id = None,
                    "num" => num_id = None,
                    _ => {}
                },
                Ok(Event::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
        numbering
    }

    fn is_ordered(&self, num_id: &str, level: u8) -> bool {
        self.instances
            .get(num_id)
            .and_then(|abstract_id| self.ordered.get(&(abstract_id.clone(), level)))
            .copied()
            .unwrap_or(false)
    }
}

/// A paragraph being read.
#[derive(Debug, Default)]
struct Paragraph {
    style: Option<String>,
    outline_level: Option<u8>,
    num_id: Option<String>,
    list_level: Option<u8>,
    text: String,
}

/// A table being read.
#[derive(Debug, Default)]
struct Table {
    rows: Vec<Vec<String>>,
    row: Option<Vec<String>>,
    cell: Option<String>,
    /// Grid columns the open cell spans.
    span: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum BlockKind {
    Paragraph,
    ListItem,
}

/// Turns document XML into Markdown blocks.
struct BodyWriter<'a> {
    styles: &'a Styles,
    numbering: &'a Numbering,
    blocks: Vec<(BlockKind, String)>,
    /// Counters per numbering instance and level, for ordered items.
    counters: HashMap<String, [u32; 9]>,
    first_heading: Option<String>,
}

/// Elements whose content is not document text.
const SKIPPED: &[&str] = &[
    "Fallback",
    "delText",
    "instrText",
    "moveFrom",
    "rPr",
    "sectPr",
    "tblPr",
];

impl<'a> BodyWriter<'a> {
    fn new(styles: &'a Styles, numbering: &'a Numbering) -> Self {
        Self {
            styles,
            numbering,
            blocks: Vec::new(),
            counters: HashMap::new(),
            first_heading: None,
        }
    }

    fn write(&mut self, source: &str) {
        let mut reader = xml::reader(source);
        let mut paragraphs: Vec<Paragraph> = Vec::new();
        let mut tables: Vec<Table> = Vec::new();
        let mut in_text = false;
        let mut skip = 0_usize;
        loop {
            let event = match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(event) => event,
                Err(error) => {
                    tracing::debug!(%error, "docx xml ended early");
                    break;
                }
            };
            match event {
                Event::Start(e) => {
                    let name = xml::local_name(&e);
                    if skip > 0 || SKIPPED.contains(&name) {
                        skip += 1;
                        continue;
                    }
                    self.open(name, &e, &mut paragraphs, &mut tables);
                    in_text = name == "t";
                }
                Event::Empty(e) if skip == 0 => {
                    let name = xml::local_name(&e);
                    self.open(name, &e, &mut paragraphs, &mut tables);
                    self.close(name, &mut paragraphs, &mut tables);
                }
                Event::End(e) => {
                    if skip > 0 {
                        skip -= 1;
                        continue;
                    }
                    let name = e.local_name().into_inner().to_string();
                    if name == "t" {
                        in_text = false;
                    }
                    self.close(&name, &mut paragraphs, &mut tables);
                }
                Event::Text(t) if in_text && skip == 0 => push_text(&mut paragraphs, &t.xml10_content()),
                Event::GeneralRef(r) if in_text && skip == 0 => {
                    push_text(&mut paragraphs, &xml::reference_text(&r).unwrap_or_default());
                }
                _ => {}
            }
        }
        // Unclosed elements in a truncated file: keep their text.
        while !paragraphs.is_empty() {
            self.close("p", &mut paragraphs, &mut tables);
        }
        while !tables.is_empty() {
            self.close("tbl", &mut paragraphs, &mut tables);
        }
    }

    fn open(
        &mut self,
        name: &str,
        e: &BytesStart<'_>,
        paragraphs: &mut Vec<Paragraph>,
        tables: &mut Vec<Table>,
    ) {
        let value = || xml::attribute(e, "val");
        match name {
            "p" => paragraphs.push(Paragraph::default()),
            "pStyle" => {
                if let Some(p) = paragraphs.last_mut() {
                    p.style = value();
                }
            }
            "outlineLvl" => {
                if let Some(p) = paragraphs.last_mut() {
                    p.outline_level = value().and_then(|v| v.parse().ok());
                }
            }
            "numId" => {
                if let Some(p) = paragraphs.last_mut() {
                    p.num_id = value();
                }
            }
            "ilvl" => {
                if let Some(p) = paragraphs.last_mut() {
                    p.list_level = value().and_then(|v| v.parse().ok());
                }
            }
            // A tab stop definition has a position; a tab character in a run has none.
            "tab" if xml::attribute(e, "pos").is_none() => push_text(paragraphs, "\t"),
            "br" | "cr" => push_text(paragraphs, "\n"),
            "noBreakHyphen" => push_text(paragraphs, "-"),
            "tbl" => tables.push(Table::default()),
            "tr" => {
                if let Some(t) = tables.last_mut() {
                    t.row = Some(Vec::new());
                }
            }
            "tc" => {
                if let Some(t) = tables.last_mut() {
                    t.cell = Some(String::new());
                    t.span = 1;
                }
            }
            "gridSpan" => {
                if let Some(t) = tables.last_mut() {
                    t.span = value().and_then(|v| v.parse().ok()).unwrap_or(1).clamp(1, 64);
                }
            }
            _ => {}
        }
    }

    fn close(&mut self, name: &str, paragraphs: &mut Vec<Paragraph>, tables: &mut Vec<Table>) {
        match name {
            "p" => {
                let Some(paragraph) = paragraphs.pop() else { return };
                match tables.last_mut().and_then(|t| t.cell.as_mut()) {
                    // Paragraphs of a table cell join into the cell's single line.
                    Some(cell) if paragraphs.is_empty() => {
                        let text = paragraph.text.trim();
                        if !text.is_empty() {
                            if !cell.is_empty() {
                                cell.push(' ');
                            }
                            cell.push_str(text);
                        }
                    }
                    _ => self.paragraph(paragraph),
                }
            }
            "tc" => {
                if let Some(t) = tables.last_mut()
                    && let Some(cell) = t.cell.take()
                {
                    let row = t.row.get_or_insert_with(Vec::new);
                    row.push(cell);
                    row.extend(std::iter::repeat_n(String::new(), t.span.saturating_sub(1)));
                }
            }
            "tr" => {
                if let Some(t) = tables.last_mut()
                    && let Some(row) = t.row.take()
                {
                    t.rows.push(row);
                }
            }
            "tbl" => {
                let Some(mut finished) = tables.pop() else { return };
                if let Some(row) = finished.row.take() {
                    finished.rows.push(row);
                }
                match tables.last_mut().and_then(|t| t.cell.as_mut()) {
                    Some(cell) => {
                        // A nested table is flattened into its cell.
                        for row in &finished.rows {
                            for text in row.iter().filter(|c| !c.is_empty()) {
                                if !cell.is_empty() {
                                    cell.push(' ');
                                }
                                cell.push_str(text);
                            }
                        }
                    }
                    None => {
                        let rendered = table::markdown_table(&finished.rows);
                        if !rendered.is_empty() {
                            self.blocks.push((BlockKind::Paragraph, rendered));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Renders a finished paragraph as a heading, a list item or plain text.
    fn paragraph(&mut self, paragraph: Paragraph) {
        let text = paragraph.text.trim();
        if text.is_empty() {
            return;
        }
        let style = paragraph.style.as_deref();
        let heading = style
            .and_then(|s| self.styles.heading_level(s))
            .or_else(|| paragraph.outline_level.filter(|&l| l < 9).map(|l| l + 1));
        if let Some(level) = heading {
            let text = xml::collapse_whitespace(text);
            if self.first_heading.is_none() {
                self.first_heading = Some(text.clone());
            }
            let hashes = "#".repeat(usize::from(level.min(6)));
            self.blocks
                .push((BlockKind::Paragraph, format!("{hashes} {text}")));
            return;
        }
        let list = match (paragraph.num_id, paragraph.list_level) {
            // numId 0 explicitly removes numbering inherited from the style.
            (Some(id), _) if id == "0" => None,
            (Some(id), level) => Some((id, level.unwrap_or(0))),
            (None, level) => style
                .and_then(|s| self.styles.numbering(s))
                .filter(|(id, _)| id != "0")
                .map(|(id, style_level)| (id, level.unwrap_or(style_level))),
        };
        match list {
            Some((id, level)) => {
                let level = level.min(8);
                let marker = if self.numbering.is_ordered(&id, level) {
                    let counters = self.counters.entry(id).or_insert([0; 9]);
                    counters[usize::from(level)] += 1;
                    for deeper in &mut counters[usize::from(level) + 1..] {
                        *deeper = 0;
                    }
                    format!("{}. ", counters[usize::from(level)])
                } else {
                    "- ".to_string()
                };
                let indent = "  ".repeat(usize::from(level));
                let text = text.replace('\n', " ");
                self.blocks
                    .push((BlockKind::ListItem, format!("{indent}{marker}{text}")));
            }
            None => self.blocks.push((BlockKind::Paragraph, text.to_string())),
        }
    }

    /// Blocks joined by blank lines; consecutive list items by single line breaks.
    fn finish(self) -> String {
        let mut out = String::new();
        let mut previous: Option<&BlockKind> = None;
        for (kind, text) in &self.blocks {
            if let Some(previous) = previous {
                out.push_str(
                    if *previous == BlockKind::ListItem && *kind == BlockKind::ListItem {
                        "\n"
                    } else {
                        "\n\n"
                    },
                );
            }
            out.push_str(text);
            previous = Some(kind);
        }
        out
    }
}

fn push_text(paragraphs: &mut [Paragraph], text: &str) {
    if let Some(paragraph) = paragraphs.last_mut() {
        paragraph.text.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::super::archive::tests::zip_of;
    use super::*;

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

    fn docx(body: &str, styles: &str, numbering: &str) -> Vec<u8> {
        let document = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>{body}</w:body></w:document>"#
        );
        let styles = format!(r#"<w:styles {W}>{styles}</w:styles>"#);
        let numbering = format!(r#"<w:numbering {W}>{numbering}</w:numbering>"#);
        zip_of(&[
            ("word/document.xml", document.as_bytes()),
            ("word/styles.xml", styles.as_bytes()),
            ("word/numbering.xml", numbering.as_bytes()),
        ])
    }

    fn text_of(body: &str) -> String {
        let doc = parse(&docx(body, "", ""), &ArchiveLimits::default()).unwrap();
        doc.sections[0].text.clone()
    }

    #[test]
    fn headings_by_style_name_outline_level_and_inheritance() {
        let styles = r#"<w:style w:type="paragraph" w:styleId="Kop1"><w:name w:val="heading 1"/></w:style>
            <w:style w:type="paragraph" w:styleId="Custom"><w:name w:val="My Section"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
            <w:style w:type="paragraph" w:styleId="Derived"><w:name w:val="Derived"/><w:basedOn w:val="Custom"/></w:style>"#;
        let body = r#"<w:p><w:pPr><w:pStyle w:val="Kop1"/></w:pPr><w:r><w:t>Intro</w:t></w:r></w:p>
            <w:p><w:r><w:t xml:space="preserve">Some </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>bold</w:t></w:r><w:r><w:t xml:space="preserve"> text.</w:t></w:r></w:p>
            <w:p><w:pPr><w:pStyle w:val="Derived"/></w:pPr><w:r><w:t>Details</w:t></w:r></w:p>
            <w:p><w:pPr><w:pStyle w:val="Heading3"/></w:pPr><w:r><w:t>Builtin id</w:t></w:r></w:p>"#;
        let doc = parse(&docx(body, styles, ""), &ArchiveLimits::default()).unwrap();
        assert_eq!(
            doc.sections[0].text,
            "# Intro\n\nSome bold text.\n\n## Details\n\n### Builtin id"
        );
        assert_eq!(doc.title.as_deref(), Some("Intro"));
    }

    #[test]
    fn bulleted_and_numbered_lists() {
        let numbering = r#"<w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/></w:lvl><w:lvl w:ilvl="1"><w:numFmt w:val="bullet"/></w:lvl></w:abstractNum>
            <w:abstractNum w:abstractNumId="1"><w:lvl w:ilvl="0"><w:numFmt w:val="decimal"/></w:lvl><w:lvl w:ilvl="1"><w:numFmt w:val="lowerLetter"/></w:lvl></w:abstractNum>
            <w:num w:numId="5"><w:abstractNumId w:val="0"/></w:num><w:num w:numId="6"><w:abstractNumId w:val="1"/></w:num>"#;
        let item = |num: u8, level: u8, text: &str| {
            format!(
                r#"<w:p><w:pPr><w:numPr><w:ilvl w:val="{level}"/><w:numId w:val="{num}"/></w:numPr></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>"#
            )
        };
        let body = [
            "<w:p><w:r><w:t>Shopping:</w:t></w:r></w:p>".to_string(),
            item(5, 0, "milk"),
            item(5, 1, "whole"),
            item(5, 0, "bread"),
            "<w:p><w:r><w:t>Steps:</w:t></w:r></w:p>".to_string(),
            item(6, 0, "open"),
            item(6, 1, "carefully"),
            item(6, 1, "slowly"),
            item(6, 0, "close"),
        ]
        .concat();
        let doc = parse(&docx(&body, "", numbering), &ArchiveLimits::default()).unwrap();
        assert_eq!(
            doc.sections[0].text,
            "Shopping:\n\n- milk\n  - whole\n- bread\n\nSteps:\n\n1. open\n  1. carefully\n  2. slowly\n2. close"
        );
    }

    #[test]
    fn tables_become_markdown_with_spans_and_nested_tables_flattened() {
        let cell = |text: &str| format!("<w:tc><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>");
        let body = format!(
            "<w:tbl><w:tblPr><w:tblStyle w:val=\"Grid\"/></w:tblPr><w:tr>{}{}{}</w:tr><w:tr>{}<w:tc><w:tcPr><w:gridSpan w:val=\"2\"/></w:tcPr><w:p><w:r><w:t>wide|cell</w:t></w:r></w:p></w:tc></w:tr>\
             <w:tr><w:tc><w:p><w:r><w:t>two</w:t></w:r></w:p><w:p><w:r><w:t>paragraphs</w:t></w:r></w:p></w:tc><w:tc><w:tbl><w:tr>{}{}</w:tr></w:tbl><w:p/></w:tc>{}</w:tr></w:tbl>\
             <w:p><w:r><w:t>After</w:t></w:r></w:p>",
            cell("Name"),
            cell("Qty"),
            cell("Note"),
            cell("apple"),
            cell("in"),
            cell("ner"),
            cell("x")
        );
        assert_eq!(
            text_of(&body),
            "| Name | Qty | Note |\n| --- | --- | --- |\n| apple | wide\\|cell |  |\n| two paragraphs | in ner | x |\n\nAfter"
        );
    }

    #[test]
    fn deleted_text_field_codes_and_fallbacks_are_skipped() {
        let body = r#"<w:p><w:r><w:t>kept</w:t></w:r><w:del><w:r><w:delText>deleted</w:delText></w:r></w:del>
            <w:ins><w:r><w:t xml:space="preserve"> inserted</w:t></w:r></w:ins>
            <w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>PAGE \* MERGEFORMAT</w:instrText></w:r>
            <w:r><w:tab/><w:t>tabbed</w:t><w:br/><w:t>next &amp; line</w:t></w:r></w:p>
            <w:p><w:r><mc:AlternateContent><mc:Choice><w:drawing><w:txbxContent><w:p><w:r><w:t>box</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice>
            <mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>box</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r><w:r><w:t>outer</w:t></w:r></w:p>"#;
        assert_eq!(
            text_of(body),
            "kept inserted\ttabbed\nnext & line\n\nbox\n\nouter"
        );
    }

    #[test]
    fn core_title_wins_and_footnotes_follow_the_body() {
        let document =
            format!(r#"<w:document {W}><w:body><w:p><w:r><w:t>Body</w:t></w:r></w:p></w:body></w:document>"#);
        let footnotes = format!(
            r#"<w:footnotes {W}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote><w:footnote w:id="1"><w:p><w:r><w:t>A note.</w:t></w:r></w:p></w:footnote></w:footnotes>"#
        );
        let bytes = zip_of(&[
            ("word/document.xml", document.as_bytes()),
            ("word/footnotes.xml", footnotes.as_bytes()),
            (
                "docProps/core.xml",
                b"<cp:coreProperties><dc:title>The Title</dc:title></cp:coreProperties>",
            ),
        ]);
        let doc = parse(&bytes, &ArchiveLimits::default()).unwrap();
        assert_eq!(doc.title.as_deref(), Some("The Title"));
        assert_eq!(doc.sections[0].text, "Body\n\nA note.");
    }

    #[test]
    fn missing_document_part_is_malformed() {
        let bytes = zip_of(&[("word/other.xml", b"<x/>")]);
        assert!(matches!(
            parse(&bytes, &ArchiveLimits::default()),
            Err(ParseError::Malformed { format: "docx", .. })
        ));
    }
}
