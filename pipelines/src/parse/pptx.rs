//! PowerPoint (pptx): one section per slide, in presentation order, `page` = slide number.
//!
//! A slide's section starts with its title as a `#` heading (`# Slide N` when it has none), then the
//! text of its other shapes in reading order (top to bottom, then left to right, using the shape's
//! own position or its layout's or master's placeholder position), tables as Markdown tables, and
//! finally the speaker notes under `## Notes`. Slide-number, date and footer placeholders are page
//! furniture and are left out.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};

use super::archive::{Archive, ArchiveLimits};
use super::detect::ContentKind;
use super::ooxml;
use super::{CancelFlag, ParseError, table, xml};
use crate::document::{ParsedDocument, Section};

const FORMAT: &str = "pptx";

/// Placeholder types that are page furniture.
const FURNITURE: &[&str] = &["sldNum", "dt", "ftr", "hdr", "sldImg"];

/// Parses a presentation into one section per slide.
pub(super) fn parse(
    bytes: &[u8],
    limits: &ArchiveLimits,
    max_pages: u32,
    cancel: &CancelFlag,
) -> Result<ParsedDocument, ParseError> {
    if ContentKind::detect(bytes) != ContentKind::Zip {
        return Err(ooxml::not_a_package(bytes, FORMAT));
    }
    let mut archive = Archive::open(bytes, FORMAT, limits)?;
    let main = ooxml::main_part(&mut archive, "ppt/presentation.xml")?;
    let slides = slide_parts(&mut archive, &main)?;
    let count = u32::try_from(slides.len()).unwrap_or(u32::MAX);
    if count > max_pages {
        return Err(ParseError::TooManyPages {
            pages: count,
            limit: max_pages,
        });
    }
    let mut layouts = LayoutCache::default();
    let mut sections = Vec::with_capacity(slides.len());
    for (index, slide) in slides.iter().enumerate() {
        if cancel.is_cancelled() {
            return Err(ParseError::Timeout(std::time::Duration::ZERO));
        }
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let Some(source) = archive.read(slide)? else {
            continue;
        };
        let rels = ooxml::relationships(&mut archive, slide)?;
        let mut shapes = read_shapes(&xml::decode(&source));
        if let Some(layout) = rels.iter().find(|r| r.is("slideLayout") && !r.external) {
            let inherited = layouts.positions(&mut archive, &layout.target)?;
            for shape in &mut shapes {
                if shape.offset.is_none() {
                    shape.offset = shape.placeholder.as_ref().and_then(|ph| ph.find_in(&inherited));
                }
            }
        }
        // SmartArt keeps its text in a diagram data part, not on the slide.
        let mut diagrams = Vec::new();
        for diagram in rels.iter().filter(|r| r.is("diagramData") && !r.external) {
            if let Some(source) = archive.read(&diagram.target)? {
                diagrams.extend(paragraph_texts(&xml::decode(&source)));
            }
        }
        let notes = match rels.iter().find(|r| r.is("notesSlide") && !r.external) {
            Some(notes) => match archive.read(&notes.target)? {
                Some(source) => notes_text(&xml::decode(&source)),
                None => String::new(),
            },
            None => String::new(),
        };
        sections.push(Section {
            text: render_slide(number, shapes, &diagrams, &notes),
            page: Some(number),
        });
    }
    let title = ooxml::core_title(&mut archive)?;
    Ok(ParsedDocument { title, sections })
}

/// Slide part names in presentation order (`p:sldIdLst`), else every slide relationship.
fn slide_parts(archive: &mut Archive<'_>, main: &str) -> Result<Vec<String>, ParseError> {
    let rels = ooxml::relationships(archive, main)?;
    let source = xml::decode(&archive.read_required(main)?);
    let mut reader = xml::reader(&source);
    let mut ids = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if xml::local_name(&e) == "sldId" => {
                if let Some(id) = xml::relationship_id(&e) {
                    ids.push(id);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let mut slides: Vec<String> = ids
        .iter()
        .filter_map(|id| rels.iter().find(|r| &r.id == id && r.is("slide") && !r.external))
        .map(|r| r.target.clone())
        .collect();
    if slides.is_empty() {
        slides = rels
            .iter()
            .filter(|r| r.is("slide") && !r.external)
            .map(|r| r.target.clone())
            .collect();
        slides.sort_by_key(|name| trailing_number(name));
    }
    let mut seen = std::collections::HashSet::new();
    slides.retain(|name| seen.insert(name.clone()));
    Ok(slides)
}

/// `ppt/slides/slide12.xml` -> 12.
fn trailing_number(name: &str) -> u64 {
    let stem = name.trim_end_matches(".xml");
    let digits: String = stem
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().unwrap_or(u64::MAX)
}

/// A placeholder reference: its type and index.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Placeholder {
    kind: Option<String>,
    index: Option<String>,
}

impl Placeholder {
    fn is_title(&self) -> bool {
        matches!(self.kind.as_deref(), Some("title" | "ctrTitle"))
    }

    fn is_furniture(&self) -> bool {
        self.kind.as_deref().is_some_and(|kind| FURNITURE.contains(&kind))
    }

    /// The position of the matching placeholder among `shapes`: same index, else same type.
    fn find_in(&self, shapes: &[Shape]) -> Option<(i64, i64)> {
        let placeholders = || {
            shapes
                .iter()
                .filter_map(|s| Some((s.placeholder.as_ref()?, s.offset?)))
        };
        let by_index = self
            .index
            .as_ref()
            .and_then(|index| placeholders().find(|(ph, _)| ph.index.as_ref() == Some(index)));
        let kind = self.kind.as_deref().unwrap_or("body");
        by_index
            .or_else(|| placeholders().find(|(ph, _)| ph.kind.as_deref().unwrap_or("body") == kind))
            .map(|(_, offset)| offset)
    }
}

/// A top-level shape of a slide (a group counts as one shape).
#[derive(Debug, Default)]
struct Shape {
    placeholder: Option<Placeholder>,
    /// (y, x) of the shape's top-left corner, in EMU.
    offset: Option<(i64, i64)>,
    /// Text paragraphs and rendered tables, in order.
    blocks: Vec<String>,
}

impl Shape {
    fn text(&self) -> String {
        self.blocks.join("\n")
    }
}

/// A table being read inside a shape.
#[derive(Debug, Default)]
struct Table {
    rows: Vec<Vec<String>>,
    row: Vec<String>,
    cell: Option<String>,
}

/// Reads the top-level shapes of a slide, layout, master or notes page.
fn read_shapes(source: &str) -> Vec<Shape> {
    let mut reader = xml::reader(source);
    let mut shapes = Vec::new();
    let mut depth = 0_usize;
    // Depth of the shape tree element, and of a shape's own element.
    let mut tree_depth: Option<usize> = None;
    let mut current: Option<Shape> = None;
    let mut paragraph: Option<String> = None;
    let mut tables: Vec<Table> = Vec::new();
    let mut in_text = false;
    let mut skip = 0_usize;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => event,
        };
        match event {
            Event::Start(e) => {
                depth += 1;
                let name = xml::local_name(&e).to_string();
                if skip > 0 || name == "Fallback" {
                    skip += 1;
                    continue;
                }
                if name == "spTree" && tree_depth.is_none() {
                    tree_depth = Some(depth);
                    continue;
                }
                if tree_depth.is_some_and(|tree| depth == tree + 1)
                    && !matches!(name.as_str(), "nvGrpSpPr" | "grpSpPr")
                {
                    current = Some(Shape::default());
                }
                in_text = name == "t";
                if let Some(shape) = current.as_mut() {
                    open(&name, &e, shape, &mut paragraph, &mut tables);
                }
            }
            Event::Empty(e) => {
                if skip > 0 {
                    continue;
                }
                let name = xml::local_name(&e).to_string();
                if let Some(shape) = current.as_mut() {
                    open(&name, &e, shape, &mut paragraph, &mut tables);
                    close(&name, shape, &mut paragraph, &mut tables);
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let name = e.local_name().into_inner().to_string();
                if name == "t" {
                    in_text = false;
                }
                if let Some(shape) = current.as_mut() {
                    close(&name, shape, &mut paragraph, &mut tables);
                }
                if tree_depth.is_some_and(|tree| depth == tree)
                    && let Some(shape) = current.take()
                {
                    shapes.push(shape);
                    paragraph = None;
                    tables.clear();
                }
                if tree_depth.is_some_and(|tree| depth < tree) {
                    tree_depth = None;
                }
            }
            Event::Text(t) if in_text && skip == 0 => {
                push_text(&mut paragraph, &mut tables, &t.xml10_content())
            }
            Event::GeneralRef(r) if in_text && skip == 0 => {
                push_text(
                    &mut paragraph,
                    &mut tables,
                    &xml::reference_text(&r).unwrap_or_default(),
                );
            }
            _ => {}
        }
    }
    if let Some(shape) = current.take() {
        shapes.push(shape);
    }
    shapes
}

fn open(
    name: &str,
    e: &BytesStart<'_>,
    shape: &mut Shape,
    paragraph: &mut Option<String>,
    tables: &mut Vec<Table>,
) {
    match name {
        "ph" => {
            shape.placeholder = Some(Placeholder {
                kind: xml::attribute(e, "type"),
                index: xml::attribute(e, "idx"),
            });
        }
        "off" if shape.offset.is_none() => {
            let coordinate = |name| xml::attribute(e, name).and_then(|v| v.parse::<i64>().ok());
            if let (Some(x), Some(y)) = (coordinate("x"), coordinate("y")) {
                shape.offset = Some((y, x));
            }
        }
        "p" if paragraph.is_none() => *paragraph = Some(String::new()),
        "br" => push_text(paragraph, tables, "\n"),
        "tbl" => tables.push(Table::default()),
        "tr" => {
            if let Some(t) = tables.last_mut() {
                t.row.clear();
            }
        }
        "tc" => {
            if let Some(t) = tables.last_mut() {
                t.cell = Some(String::new());
            }
        }
        _ => {}
    }
}

fn close(name: &str, shape: &mut Shape, paragraph: &mut Option<String>, tables: &mut Vec<Table>) {
    match name {
        "p" => {
            let Some(text) = paragraph.take() else { return };
            let text = text.trim();
            if text.is_empty() {
                return;
            }
            match tables.last_mut().and_then(|t| t.cell.as_mut()) {
                Some(cell) => {
                    if !cell.is_empty() {
                        cell.push(' ');
                    }
                    cell.push_str(text);
                }
                None => shape.blocks.push(text.to_string()),
            }
        }
        "tc" => {
            if let Some(t) = tables.last_mut()
                && let Some(cell) = t.cell.take()
            {
                t.row.push(cell);
            }
        }
        "tr" => {
            if let Some(t) = tables.last_mut() {
                let row = std::mem::take(&mut t.row);
                t.rows.push(row);
            }
        }
        "tbl" => {
            if let Some(finished) = tables.pop() {
                let rendered = table::markdown_table(&finished.rows);
                if !rendered.is_empty() {
                    shape.blocks.push(rendered);
                }
            }
        }
        _ => {}
    }
}

fn push_text(paragraph: &mut Option<String>, tables: &mut [Table], text: &str) {
    if let Some(paragraph) = paragraph.as_mut() {
        paragraph.push_str(text);
    } else if let Some(cell) = tables.last_mut().and_then(|t| t.cell.as_mut()) {
        cell.push_str(text);
    }
}

/// Placeholder positions of layouts (and their masters), read once per part.
#[derive(Default)]
struct LayoutCache(HashMap<String, Vec<Shape>>);

impl LayoutCache {
    /// Shapes of `layout` with positions, missing ones taken from its master.
    fn positions(&mut self, archive: &mut Archive<'_>, layout: &str) -> Result<Vec<Shape>, ParseError> {
        if !self.0.contains_key(layout) {
            let mut shapes = match archive.read(layout)? {
                Some(source) => read_shapes(&xml::decode(&source)),
                None => Vec::new(),
            };
            let rels = ooxml::relationships(archive, layout)?;
            if let Some(master) = rels.iter().find(|r| r.is("slideMaster") && !r.external) {
                let master_shapes = match self.0.get(&master.target) {
                    Some(cached) => cached.iter().map(copy_position).collect(),
                    None => match archive.read(&master.target)? {
                        Some(source) => read_shapes(&xml::decode(&source)),
                        None => Vec::new(),
                    },
                };
                for shape in &mut shapes {
                    if shape.offset.is_none() {
                        shape.offset = shape
                            .placeholder
                            .as_ref()
                            .and_then(|ph| ph.find_in(&master_shapes));
                    }
                }
                self.0
                    .entry(master.target.clone())
                    .or_insert_with(|| master_shapes.iter().map(copy_position).collect());
            }
            self.0.insert(layout.to_string(), shapes);
        }
        Ok(self.0[layout].iter().map(copy_position).collect())
    }
}

/// A shape reduced to what placeholder lookups need.
fn copy_position(shape: &Shape) -> Shape {
    Shape {
        placeholder: shape.placeholder.clone(),
        offset: shape.offset,
        blocks: Vec::new(),
    }
}

/// The speaker notes of a notes page: its body placeholders.
fn notes_text(source: &str) -> String {
    read_shapes(source)
        .iter()
        .filter(|shape| {
            shape
                .placeholder
                .as_ref()
                .is_some_and(|ph| matches!(ph.kind.as_deref(), None | Some("body")))
        })
        .map(Shape::text)
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The text of every DrawingML paragraph (`a:p`) in a part, in document order.
fn paragraph_texts(source: &str) -> Vec<String> {
    let mut reader = xml::reader(source);
    let mut texts = Vec::new();
    let mut paragraph: Option<String> = None;
    let mut in_text = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = xml::local_name(&e);
                in_text = name == "t";
                if name == "p" && paragraph.is_none() {
                    paragraph = Some(String::new());
                }
            }
            Ok(Event::Empty(e)) if xml::local_name(&e) == "br" => {
                if let Some(p) = paragraph.as_mut() {
                    p.push('\n');
                }
            }
            Ok(Event::End(e)) => match e.local_name().into_inner() {
                "t" => in_text = false,
                "p" => {
                    if let Some(text) = paragraph
                        .take()
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty())
                    {
                        texts.push(text);
                    }
                }
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => {
                if let Some(p) = paragraph.as_mut() {
                    p.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) if in_text => {
                if let Some(p) = paragraph.as_mut() {
                    p.push_str(&xml::reference_text(&r).unwrap_or_default());
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    texts
}

/// Title heading, body shapes in reading order, SmartArt text, notes.
fn render_slide(number: u32, shapes: Vec<Shape>, diagrams: &[String], notes: &str) -> String {
    let (titles, mut body): (Vec<Shape>, Vec<Shape>) = shapes
        .into_iter()
        .filter(|shape| !shape.placeholder.as_ref().is_some_and(Placeholder::is_furniture))
        .partition(|shape| shape.placeholder.as_ref().is_some_and(Placeholder::is_title));
    let title = titles
        .iter()
        .map(|shape| xml::collapse_whitespace(&shape.text()))
        .find(|text| !text.is_empty());
    // Reading order only when every shape's position is known; otherwise document order.
    if body.iter().all(|shape| shape.offset.is_some()) {
        body.sort_by_key(|shape| shape.offset);
    }
    let mut parts = vec![match title {
        Some(title) => format!("# {title}"),
        None => format!("# Slide {number}"),
    }];
    parts.extend(body.iter().map(Shape::text).filter(|text| !text.is_empty()));
    if !diagrams.is_empty() {
        parts.push(diagrams.join("\n"));
    }
    if !notes.trim().is_empty() {
        parts.push(format!("## Notes\n\n{}", notes.trim()));
    }
    parts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::super::archive::tests::zip_of;
    use super::*;

    const NS: &str = r#"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main""#;

    fn shape(ph: &str, offset: Option<(i64, i64)>, paragraphs: &[&str]) -> String {
        let xfrm = offset.map_or(String::new(), |(x, y)| {
            format!(r#"<p:spPr><a:xfrm><a:off x="{x}" y="{y}"/><a:ext cx="1" cy="1"/></a:xfrm></p:spPr>"#)
        });
        let paras: String = paragraphs
            .iter()
            .map(|p| format!("<a:p><a:r><a:rPr lang=\"en\"/><a:t>{p}</a:t></a:r></a:p>"))
            .collect();
        format!(
            r#"<p:sp><p:nvSpPr><p:cNvPr id="2" name="s"/><p:cNvSpPr/><p:nvPr>{ph}</p:nvPr></p:nvSpPr>{xfrm}<p:txBody><a:bodyPr/>{paras}</p:txBody></p:sp>"#
        )
    }

    fn slide(shapes: &str) -> String {
        format!(
            r#"<p:sld {NS}><p:cSld><p:spTree><p:nvGrpSpPr/><p:grpSpPr/>{shapes}</p:spTree></p:cSld></p:sld>"#
        )
    }

    fn rel(id: &str, kind: &str, target: &str) -> String {
        format!(
            r#"<Relationship Id="{id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}" Target="{target}"/>"#
        )
    }

    fn rels(items: &[String]) -> Vec<u8> {
        format!("<Relationships>{}</Relationships>", items.concat()).into_bytes()
    }

    fn presentation() -> Vec<u8> {
        // Slide order in the list differs from the part names: rId3 (slide2.xml) comes first.
        let presentation = format!(
            r#"<p:presentation {NS}><p:sldIdLst><p:sldId id="256" r:id="rId3"/><p:sldId id="257" r:id="rId2"/></p:sldIdLst></p:presentation>"#
        );
        let first = slide(
            &[
                shape(
                    r#"<p:ph type="body" idx="1"/>"#,
                    None,
                    &["Body from layout position"],
                ),
                shape("", Some((100, 5000)), &["Lower box"]),
                shape("", Some((100, 10)), &["Top box", "second line"]),
                shape(r#"<p:ph type="title"/>"#, None, &["Welcome &amp; intro"]),
                shape(r#"<p:ph type="sldNum" idx="12"/>"#, None, &["1"]),
            ]
            .concat(),
        );
        let table = r#"<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="4" name="t"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm><a:off x="0" y="0"/></p:xfrm><a:graphic><a:graphicData><a:tbl><a:tr><a:tc><a:txBody><a:p><a:r><a:t>Q</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>Revenue</a:t></a:r></a:p></a:txBody></a:tc></a:tr><a:tr><a:tc><a:txBody><a:p><a:r><a:t>1</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>10</a:t></a:r></a:p></a:txBody></a:tc></a:tr></a:tbl></a:graphicData></a:graphic></p:graphicFrame>"#;
        let second = slide(table);
        let layout = slide(&shape(r#"<p:ph type="body" idx="1"/>"#, Some((0, 2000)), &[]));
        let notes = format!(
            r#"<p:notes {NS}><p:cSld><p:spTree><p:nvGrpSpPr/><p:grpSpPr/>{}{}</p:spTree></p:cSld></p:notes>"#,
            shape(r#"<p:ph type="sldImg"/>"#, None, &[]),
            shape(r#"<p:ph type="body" idx="1"/>"#, None, &["Say hello first."])
        );
        zip_of(&[
            ("_rels/.rels", &rels(&[rel("rId1", "officeDocument", "ppt/presentation.xml")])),
            ("ppt/presentation.xml", presentation.as_bytes()),
            (
                "ppt/_rels/presentation.xml.rels",
                &rels(&[rel("rId2", "slide", "slides/slide1.xml"), rel("rId3", "slide", "slides/slide2.xml")]),
            ),
            ("ppt/slides/slide2.xml", first.as_bytes()),
            (
                "ppt/slides/_rels/slide2.xml.rels",
                &rels(&[
                    rel("rId1", "slideLayout", "../slideLayouts/slideLayout1.xml"),
                    rel("rId2", "notesSlide", "../notesSlides/notesSlide1.xml"),
                    rel("rId3", "diagramData", "../diagrams/data1.xml"),
                ]),
            ),
            (
                "ppt/diagrams/data1.xml",
                br#"<dgm:dataModel xmlns:dgm="d" xmlns:a="a"><dgm:ptLst><dgm:pt><dgm:t><a:bodyPr/><a:p><a:r><a:t>Plan</a:t></a:r></a:p></dgm:t></dgm:pt><dgm:pt><dgm:t><a:p><a:r><a:t>Build &amp; ship</a:t></a:r></a:p></dgm:t></dgm:pt></dgm:ptLst></dgm:dataModel>"#,
            ),
            ("ppt/slides/slide1.xml", second.as_bytes()),
            ("ppt/slideLayouts/slideLayout1.xml", layout.as_bytes()),
            ("ppt/notesSlides/notesSlide1.xml", notes.as_bytes()),
        ])
    }

    #[test]
    fn slides_in_presentation_order_with_titles_reading_order_and_notes() {
        let doc = parse(
            &presentation(),
            &ArchiveLimits::default(),
            100,
            &CancelFlag::default(),
        )
        .unwrap();
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[0].page, Some(1));
        assert_eq!(
            doc.sections[0].text,
            "# Welcome & intro\n\nTop box\nsecond line\n\nBody from layout position\n\nLower box\n\nPlan\nBuild & ship\n\n## Notes\n\nSay hello first."
        );
        assert_eq!(doc.sections[1].page, Some(2));
        assert_eq!(
            doc.sections[1].text,
            "# Slide 2\n\n| Q | Revenue |\n| --- | --- |\n| 1 | 10 |"
        );
    }

    #[test]
    fn slide_count_is_limited() {
        let error = parse(
            &presentation(),
            &ArchiveLimits::default(),
            1,
            &CancelFlag::default(),
        )
        .unwrap_err();
        assert!(
            matches!(error, ParseError::TooManyPages { pages: 2, limit: 1 }),
            "{error:?}"
        );
    }

    #[test]
    fn trailing_numbers_order_slides_without_a_list() {
        assert_eq!(trailing_number("ppt/slides/slide12.xml"), 12);
        assert_eq!(trailing_number("ppt/slides/x.xml"), u64::MAX);
    }
}
