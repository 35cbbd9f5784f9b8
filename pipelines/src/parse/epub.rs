//! EPUB (2 and 3): one section per chapter, in the reading order of the package's spine. The
//! package document is found through `META-INF/container.xml`; chapters are XHTML, converted with
//! the HTML parser (headings, lists and tables kept as Markdown; the EPUB 3 navigation `<nav>` is
//! dropped with the rest of the page chrome). The title is the package's `dc:title`. Books whose
//! chapters are DRM-encrypted fail as [`ParseError::Encrypted`] (font obfuscation is not DRM).

use std::collections::HashMap;

use quick_xml::events::Event;

use super::archive::{Archive, ArchiveLimits, resolve_reference};
use super::detect::ContentKind;
use super::{CancelFlag, ParseError, html, ooxml, xml};
use crate::document::{ParsedDocument, Section};

const FORMAT: &str = "EPUB";

/// Encryption algorithms that only obfuscate fonts.
const FONT_OBFUSCATION: &[&str] = &[
    "http://www.idpf.org/2008/embedding",
    "http://ns.adobe.com/pdf/enc#RC",
];

/// Parses an e-book into one section per chapter.
pub(super) fn parse(
    bytes: &[u8],
    limits: &ArchiveLimits,
    cancel: &CancelFlag,
) -> Result<ParsedDocument, ParseError> {
    if ContentKind::detect(bytes) != ContentKind::Zip {
        return Err(ParseError::Malformed {
            format: FORMAT,
            detail: format!(
                "it is not a zip package but {}",
                ContentKind::detect(bytes).describe()
            ),
        });
    }
    let mut archive = Archive::open(bytes, FORMAT, limits)?;
    let package_path = package_document(&mut archive)?;
    let package = Package::parse(
        &xml::decode(&archive.read_required(&package_path)?),
        &package_path,
    );
    let encrypted = encrypted_parts(&mut archive)?;
    let mut chapters: Vec<&Item> = package
        .spine
        .iter()
        .filter_map(|id| package.manifest.get(id))
        .filter(|item| item.is_document())
        .collect();
    if chapters.is_empty() {
        // No usable spine: fall back to the manifest's documents in their listed order.
        chapters = package
            .order
            .iter()
            .filter_map(|id| package.manifest.get(id))
            .filter(|i| i.is_document())
            .collect();
    }
    if chapters.iter().any(|chapter| encrypted.contains(&chapter.path)) {
        return Err(ParseError::Encrypted);
    }
    let mut seen = std::collections::HashSet::new();
    let mut sections = Vec::new();
    for chapter in chapters {
        if cancel.is_cancelled() {
            return Err(ParseError::Timeout(std::time::Duration::ZERO));
        }
        if !seen.insert(chapter.path.clone()) {
            continue;
        }
        let Some(content) = archive.read(&chapter.path)? else {
            tracing::debug!(chapter = %chapter.path, "epub chapter missing");
            continue;
        };
        let text = html::parse(&content)
            .sections
            .into_iter()
            .map(|section| section.text)
            .collect::<Vec<_>>()
            .join("\n\n");
        if !text.trim().is_empty() {
            sections.push(Section { text, page: None });
        }
    }
    Ok(ParsedDocument {
        title: package.title,
        sections,
    })
}

/// The package document named by the container, else the first `.opf` in the archive.
fn package_document(archive: &mut Archive<'_>) -> Result<String, ParseError> {
    if let Some(container) = archive.read("META-INF/container.xml")? {
        let source = xml::decode(&container);
        let mut reader = xml::reader(&source);
        loop {
            match reader.read_event() {
                Ok(Event::Start(e) | Event::Empty(e)) if xml::local_name(&e) == "rootfile" => {
                    if let Some(path) = xml::attribute(&e, "full-path") {
                        let path = resolve_reference("", &path);
                        if archive.contains(&path) {
                            return Ok(path);
                        }
                    }
                }
                Ok(Event::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
    archive
        .names()
        .iter()
        .find(|name| name.to_ascii_lowercase().ends_with(".opf"))
        .cloned()
        .ok_or_else(|| ParseError::Malformed {
            format: FORMAT,
            detail: "no package document (.opf) found".to_string(),
        })
}

/// A manifest item.
#[derive(Debug)]
struct Item {
    path: String,
    media_type: String,
}

impl Item {
    fn is_document(&self) -> bool {
        let path = self.path.to_ascii_lowercase();
        matches!(self.media_type.as_str(), "application/xhtml+xml" | "text/html")
            || (self.media_type.is_empty()
                && (path.ends_with(".xhtml") || path.ends_with(".html") || path.ends_with(".htm")))
    }
}

/// What the package document says: title, manifest and spine.
#[derive(Debug, Default)]
struct Package {
    title: Option<String>,
    manifest: HashMap<String, Item>,
    /// Manifest ids in listed order.
    order: Vec<String>,
    /// Spine item ids in reading order.
    spine: Vec<String>,
}

impl Package {
    fn parse(source: &str, package_path: &str) -> Package {
        let mut package = Package {
            title: ooxml::first_element_text(source, "title"),
            ..Package::default()
        };
        let mut reader = xml::reader(source);
        loop {
            match reader.read_event() {
                Ok(Event::Start(e) | Event::Empty(e)) => match xml::local_name(&e) {
                    "item" => {
                        if let (Some(id), Some(href)) = (xml::attribute(&e, "id"), xml::attribute(&e, "href"))
                        {
                            let item = Item {
                                path: resolve_reference(package_path, &href),
                                media_type: xml::attribute(&e, "media-type")
                                    .unwrap_or_default()
                                    .to_ascii_lowercase(),
                            };
                            package.order.push(id.clone());
                            package.manifest.entry(id).or_insert(item);
                        }
                    }
                    "itemref" => {
                        if let Some(id) = xml::attribute(&e, "idref") {
                            package.spine.push(id);
                        }
                    }
                    _ => {}
                },
                Ok(Event::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
        package
    }
}

/// Parts encrypted with a real cipher according to `META-INF/encryption.xml`.
fn encrypted_parts(archive: &mut Archive<'_>) -> Result<Vec<String>, ParseError> {
    let Some(bytes) = archive.read("META-INF/encryption.xml")? else {
        return Ok(Vec::new());
    };
    let source = xml::decode(&bytes);
    let mut reader = xml::reader(&source);
    let mut parts = Vec::new();
    let mut algorithm = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => match xml::local_name(&e) {
                "EncryptedData" => algorithm.clear(),
                "EncryptionMethod" => algorithm = xml::attribute(&e, "Algorithm").unwrap_or_default(),
                "CipherReference" => {
                    if let Some(uri) = xml::attribute(&e, "URI")
                        && !FONT_OBFUSCATION.contains(&algorithm.as_str())
                    {
                        parts.push(resolve_reference("", &uri));
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::super::archive::tests::zip_of;
    use super::*;

    const CONTAINER: &[u8] = br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#;

    fn opf(spine: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>A  Small Book</dc:title></metadata>
            <manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
            <item id="c1" href="text/one.xhtml" media-type="application/xhtml+xml"/><item id="c2" href="text/two%20b.xhtml" media-type="application/xhtml+xml"/>
            <item id="css" href="style.css" media-type="text/css"/></manifest><spine>{spine}</spine></package>"#
        )
    }

    fn chapter(heading: &str, body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>{heading}</title></head><body><h1>{heading}</h1><p>{body}</p></body></html>"#
        )
    }

    fn book(spine: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
        let opf = opf(spine);
        let one = chapter("One", "First chapter text.");
        let two = chapter("Two", "Second chapter text.");
        let nav = r#"<html xmlns="http://www.w3.org/1999/xhtml"><body><nav epub:type="toc"><ol><li>One</li></ol></nav></body></html>"#;
        let mut entries: Vec<(&str, &[u8])> = vec![
            ("mimetype", b"application/epub+zip"),
            ("META-INF/container.xml", CONTAINER),
            ("OEBPS/content.opf", opf.as_bytes()),
            ("OEBPS/nav.xhtml", nav.as_bytes()),
            ("OEBPS/text/one.xhtml", one.as_bytes()),
            ("OEBPS/text/two b.xhtml", two.as_bytes()),
            ("OEBPS/style.css", b"p{}"),
        ];
        entries.extend_from_slice(extra);
        zip_of(&entries)
    }

    #[test]
    fn chapters_follow_the_spine_not_the_manifest() {
        let bytes = book(
            r#"<itemref idref="nav"/><itemref idref="c2"/><itemref idref="c1"/><itemref idref="css"/>"#,
            &[],
        );
        let doc = parse(&bytes, &ArchiveLimits::default(), &CancelFlag::default()).unwrap();
        assert_eq!(doc.title.as_deref(), Some("A Small Book"));
        let texts: Vec<&str> = doc.sections.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            ["# Two\n\nSecond chapter text.", "# One\n\nFirst chapter text."]
        );
    }

    #[test]
    fn empty_spine_falls_back_to_manifest_order() {
        let bytes = book("", &[]);
        let doc = parse(&bytes, &ArchiveLimits::default(), &CancelFlag::default()).unwrap();
        assert_eq!(doc.sections.len(), 2);
        assert!(doc.sections[0].text.starts_with("# One"));
    }

    #[test]
    fn drm_encrypted_chapters_are_reported() {
        let encryption = br#"<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><enc:CipherData><enc:CipherReference URI="OEBPS/text/one.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>"#;
        let bytes = book(
            r#"<itemref idref="c1"/>"#,
            &[("META-INF/encryption.xml", encryption)],
        );
        assert!(matches!(
            parse(&bytes, &ArchiveLimits::default(), &CancelFlag::default()),
            Err(ParseError::Encrypted)
        ));
        let fonts = br#"<encryption><EncryptedData><EncryptionMethod Algorithm="http://www.idpf.org/2008/embedding"/><CipherData><CipherReference URI="OEBPS/text/one.xhtml"/></CipherData></EncryptedData></encryption>"#;
        let bytes = book(r#"<itemref idref="c1"/>"#, &[("META-INF/encryption.xml", fonts)]);
        assert!(parse(&bytes, &ArchiveLimits::default(), &CancelFlag::default()).is_ok());
    }

    #[test]
    fn missing_package_is_malformed() {
        let bytes = zip_of(&[("mimetype", b"application/epub+zip")]);
        assert!(matches!(
            parse(&bytes, &ArchiveLimits::default(), &CancelFlag::default()),
            Err(ParseError::Malformed { format: "EPUB", .. })
        ));
    }
}
