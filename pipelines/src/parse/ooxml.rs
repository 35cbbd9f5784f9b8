//! Office Open XML packaging shared by docx, pptx and xlsx: relationships, the main part, the
//! document title, and what to say when an "Office" file is really an OLE file (password-protected
//! OOXML, or a legacy .doc/.xls/.ppt under a new extension).

use std::io::Cursor;

use quick_xml::events::Event;

use super::archive::{Archive, resolve_reference};
use super::detect::ContentKind;
use super::{ParseError, xml};

/// One relationship of a package part.
#[derive(Debug, Clone)]
pub(super) struct Relationship {
    pub id: String,
    /// The relationship type URI; compare with [`Relationship::is`].
    pub kind: String,
    /// The target part name, resolved against the source part (meaningless when `external`).
    pub target: String,
    pub external: bool,
}

impl Relationship {
    /// Whether the type ends with `/suffix` (transitional and strict OOXML use different
    /// namespaces for the same names).
    pub fn is(&self, suffix: &str) -> bool {
        self.kind
            .rsplit_once('/')
            .is_some_and(|(_, name)| name.eq_ignore_ascii_case(suffix))
    }
}

/// The relationships of `part` (`""` for the package itself), empty when it has none.
pub(super) fn relationships(archive: &mut Archive<'_>, part: &str) -> Result<Vec<Relationship>, ParseError> {
    let rels_name = match part.rsplit_once('/') {
        Some((folder, name)) => format!("{folder}/_rels/{name}.rels"),
        None if part.is_empty() => "_rels/.rels".to_string(),
        None => format!("_rels/{part}.rels"),
    };
    let Some(bytes) = archive.read(&rels_name)? else {
        return Ok(Vec::new());
    };
    let source = xml::decode(&bytes);
    let mut reader = xml::reader(&source);
    let mut found = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(element) | Event::Empty(element))
                if xml::local_name(&element) == "Relationship" =>
            {
                let external = xml::attribute(&element, "TargetMode").is_some_and(|mode| mode == "External");
                let target = xml::attribute(&element, "Target").unwrap_or_default();
                found.push(Relationship {
                    id: xml::attribute(&element, "Id").unwrap_or_default(),
                    kind: xml::attribute(&element, "Type").unwrap_or_default(),
                    target: if external {
                        target
                    } else {
                        resolve_reference(part, &target)
                    },
                    external,
                });
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    Ok(found)
}

/// The package's main part (the `officeDocument` relationship target), else `fallback`.
pub(super) fn main_part(archive: &mut Archive<'_>, fallback: &str) -> Result<String, ParseError> {
    let package = relationships(archive, "")?;
    Ok(package
        .iter()
        .find(|rel| rel.is("officeDocument") && !rel.external && archive.contains(&rel.target))
        .map_or_else(|| fallback.to_string(), |rel| rel.target.clone()))
}

/// The `dc:title` of the package's core properties, if set.
pub(super) fn core_title(archive: &mut Archive<'_>) -> Result<Option<String>, ParseError> {
    let package = relationships(archive, "")?;
    let core = package
        .iter()
        .find(|rel| rel.is("core-properties") && !rel.external)
        .map_or_else(|| "docProps/core.xml".to_string(), |rel| rel.target.clone());
    let Some(bytes) = archive.read(&core)? else {
        return Ok(None);
    };
    Ok(first_element_text(&xml::decode(&bytes), "title"))
}

/// The whitespace-collapsed text of the first element with local name `name`.
pub(super) fn first_element_text(source: &str, name: &str) -> Option<String> {
    let mut reader = xml::reader(source);
    let mut inside = 0_usize;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(element)) => {
                if inside > 0 {
                    inside += 1;
                } else if xml::local_name(&element) == name {
                    inside = 1;
                }
            }
            Ok(Event::End(_)) if inside > 0 => {
                inside -= 1;
                if inside == 0 {
                    let collapsed = xml::collapse_whitespace(&text);
                    if !collapsed.is_empty() {
                        return Some(collapsed);
                    }
                    text.clear();
                }
            }
            Ok(Event::Text(t)) if inside > 0 => text.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) if inside > 0 => text.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if inside > 0 => {
                text.push_str(&xml::reference_text(&r).unwrap_or_default())
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// The error for an Office Open XML file whose bytes are not a zip package: encrypted documents
/// are OLE files holding an `EncryptedPackage` stream; other OLE files are legacy binary Office
/// documents with the wrong extension.
pub(super) fn not_a_package(bytes: &[u8], format: &'static str) -> ParseError {
    if ContentKind::detect(bytes) != ContentKind::Ole {
        return ParseError::Malformed {
            format,
            detail: format!(
                "it is not a zip package but {}",
                ContentKind::detect(bytes).describe()
            ),
        };
    }
    let encrypted = cfb::CompoundFile::open(Cursor::new(bytes))
        .map(|file| file.exists("EncryptedPackage") || file.exists("EncryptionInfo"))
        .unwrap_or(false);
    if encrypted {
        ParseError::Encrypted
    } else {
        ParseError::Malformed {
            format,
            detail: format!("it is a legacy binary Office file; open it in Office and save it as .{format}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::archive::ArchiveLimits;
    use super::super::archive::tests::zip_of;
    use super::*;

    #[test]
    fn relationships_resolve_against_their_part() {
        let bytes = zip_of(&[
            (
                "_rels/.rels",
                br#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
                <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/main.xml"/>
                <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="/docProps/core.xml"/>
                </Relationships>"#,
            ),
            ("word/main.xml", b"<w:document/>"),
            (
                "word/_rels/main.xml.rels",
                br#"<Relationships><Relationship Id="rId7" Type="x/styles" Target="styles.xml"/>
                <Relationship Id="rId8" Type="x/hyperlink" Target="https://example.com/" TargetMode="External"/>
                <Relationship Id="rId9" Type="x/image" Target="../media/a.png"/></Relationships>"#,
            ),
            (
                "docProps/core.xml",
                b"<cp:coreProperties xmlns:dc=\"d\"><dc:title> Annual  report &amp; plan </dc:title></cp:coreProperties>",
            ),
        ]);
        let mut archive = Archive::open(&bytes, "docx", &ArchiveLimits::default()).unwrap();
        assert_eq!(
            main_part(&mut archive, "word/document.xml").unwrap(),
            "word/main.xml"
        );
        let rels = relationships(&mut archive, "word/main.xml").unwrap();
        assert_eq!(rels.len(), 3);
        assert!(rels[0].is("styles") && rels[0].target == "word/styles.xml" && rels[0].id == "rId7");
        assert!(rels[1].external && rels[1].target == "https://example.com/");
        assert_eq!(rels[2].target, "media/a.png");
        assert_eq!(
            core_title(&mut archive).unwrap().as_deref(),
            Some("Annual report & plan")
        );
    }

    #[test]
    fn missing_relationships_fall_back() {
        let bytes = zip_of(&[("word/document.xml", b"<w:document/>")]);
        let mut archive = Archive::open(&bytes, "docx", &ArchiveLimits::default()).unwrap();
        assert_eq!(
            main_part(&mut archive, "word/document.xml").unwrap(),
            "word/document.xml"
        );
        assert!(
            relationships(&mut archive, "word/document.xml")
                .unwrap()
                .is_empty()
        );
        assert_eq!(core_title(&mut archive).unwrap(), None);
    }

    #[test]
    fn encrypted_office_files_are_reported_as_encrypted() {
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        file.create_stream("EncryptionInfo").unwrap();
        file.create_stream("EncryptedPackage").unwrap();
        let bytes = file.into_inner().into_inner();
        assert!(matches!(not_a_package(&bytes, "docx"), ParseError::Encrypted));
        let mut legacy = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        legacy.create_stream("WordDocument").unwrap();
        let bytes = legacy.into_inner().into_inner();
        let error = not_a_package(&bytes, "docx");
        assert!(error.to_string().contains("legacy binary Office file"), "{error}");
        assert!(
            not_a_package(b"hello", "pptx")
                .to_string()
                .contains("not a zip package but text")
        );
    }
}
