//! PDF: lopdf loads (and, with the empty user password, decrypts) the file; pdf-extract (a patched
//! copy, `vendor/pdf-extract/PATCHES.md`) reads the text layer page by page, annotation appearances
//! included. One section per page, `page` 1-based.
//!
//! Robustness: each page is extracted under its own panic guard, so one broken page costs that page
//! only; the document fails as `Malformed` only when no page could be read at all, and as `NoText`
//! when every page is blank (scans). Between pages the parser checks the guard's cancel flag, so a
//! parse abandoned after a timeout stops soon.
//!
//! pdf-extract 0.12.1 ignores the text-showing operators `'` and `"`; before extraction, content
//! streams using them are rewritten to the equivalent `T*`/`Tw`/`Tc` + `Tj` sequences. Other
//! objects it misreads are rewritten by `pdf_fixups`; `pdf_text` turns its glyphs into lines in
//! reading order.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, ObjectId};

use super::pdf_repair::rebuild_xref;
use super::pdf_text::PageText;
use super::{CancelFlag, ParseError, panic_message};
use crate::document::{ParsedDocument, Section};

/// Parses a PDF into one section per page, decoding at most `max_decoded_bytes` of stream data
/// in all (lopdf's decoding limits, `vendor/lopdf/PATCHES.md`): a file whose streams expand
/// beyond that fails as [`ParseError::DecompressionBomb`], whichever reader asked for the stream.
pub(super) fn parse(
    bytes: &[u8],
    max_pages: u32,
    max_decoded_bytes: u64,
    cancel: &CancelFlag,
) -> Result<ParsedDocument, ParseError> {
    let _decoding = lopdf::limits::scope(max_decoded_bytes, cancel.shared());
    let parsed = parse_within_limits(bytes, max_pages, cancel);
    // Readers often swallow a refused decode (and read the raw bytes instead): the flag tells.
    match lopdf::limits::exceeded() {
        Some(limit) => Err(ParseError::DecompressionBomb { limit }),
        None => parsed,
    }
}

/// Whether to stop early: the caller gave up, or the decoding budget is spent (the document
/// fails then anyway).
fn should_stop(cancel: &CancelFlag) -> bool {
    cancel.is_cancelled() || lopdf::limits::exceeded().is_some()
}

fn parse_within_limits(
    bytes: &[u8],
    max_pages: u32,
    cancel: &CancelFlag,
) -> Result<ParsedDocument, ParseError> {
    let mut doc = load(bytes)?;
    if should_stop(cancel) {
        return Err(ParseError::Timeout(Duration::ZERO));
    }
    // lopdf decrypts files whose user password is empty while loading and then drops `Encrypt`
    // from the trailer; a trailer that still has it means the content is still encrypted.
    if doc.is_encrypted() || doc.trailer.has(b"Encrypt") {
        doc.decrypt("").map_err(|error| {
            tracing::debug!(%error, "pdf needs a password");
            ParseError::Encrypted
        })?;
    }
    redo_decryption_with_referenced_filters(&mut doc);
    let pages = doc.get_pages();
    let page_count = u32::try_from(pages.len()).unwrap_or(u32::MAX);
    if page_count > max_pages {
        return Err(ParseError::TooManyPages {
            pages: page_count,
            limit: max_pages,
        });
    }
    if page_count == 0 {
        return Err(malformed("the document has no pages"));
    }
    rewrite_quote_operators(&mut doc, &pages, cancel);
    if should_stop(cancel) {
        return Err(ParseError::Timeout(Duration::ZERO));
    }
    super::pdf_fixups::apply(&mut doc);
    let title = document_title(&doc);

    let mut extractor = pdf_extract::PageExtractor::new();
    let mut sections = Vec::with_capacity(pages.len());
    let mut first_failure = None;
    let mut failures = 0;
    for (&page, &page_id) in &pages {
        if should_stop(cancel) {
            // Nobody waits for this result any more, or it fails anyway; stop spending CPU on it.
            return Err(ParseError::Timeout(Duration::ZERO));
        }
        let (text, failure) = match check_form_nesting(&doc, page_id) {
            Ok(()) => extract_page(&doc, &mut extractor, page_id, page),
            Err(detail) => (String::new(), Some(detail)),
        };
        if let Some(detail) = failure {
            tracing::warn!(page, %detail, "cannot extract text of pdf page");
            failures += 1;
            first_failure.get_or_insert(detail);
        }
        sections.push(Section {
            text,
            page: Some(page),
        });
    }
    let blank = sections.iter().all(|section| section.text.trim().is_empty());
    if blank && failures == sections.len() {
        return Err(malformed(&first_failure.unwrap_or_default()));
    }
    if blank {
        return Err(ParseError::NoText);
    }
    Ok(ParsedDocument { title, sections })
}

/// lopdf 0.42 reads the crypt filters of an encryption dictionary only when `/CF` is written in
/// place; given by reference (as some writers do), it decrypts every string and stream with RC4
/// instead of the named AES filter, which garbles them. RC4 is its own inverse, so encrypting
/// again with the state lopdf used restores the file's bytes, which are then decrypted with the
/// filters the file names.
fn redo_decryption_with_referenced_filters(doc: &mut Document) {
    use lopdf::encryption::{EncryptionState, decrypt_object, encrypt_object};
    let Some(used) = doc.encryption_state.clone() else {
        return;
    };
    let stream_filter = used.default_stream_filter().to_vec();
    if used.version() < 4
        || !used.crypt_filters().is_empty()
        || stream_filter.is_empty()
        || stream_filter == b"Identity"
    {
        return;
    }
    // The filters dictionary: the object naming the stream filter with a `/CFM` method.
    let resolve = |object: &Object| match object {
        Object::Reference(id) => doc.get_object(*id).ok().cloned(),
        other => Some(other.clone()),
    };
    let filters = doc.objects.values().find_map(|object| {
        let dict = object.as_dict().ok()?;
        let named = resolve(dict.get(&stream_filter).ok()?)?;
        named.as_dict().ok()?.has(b"CFM").then(|| {
            let mut inline = lopdf::Dictionary::new();
            for (name, value) in dict.iter() {
                if let Some(value) = resolve(value) {
                    inline.set(name.clone(), value);
                }
            }
            inline
        })
    });
    let Some(filters) = filters else { return };
    let Ok(mut encrypt) = used.encode() else { return };
    encrypt.set("CF", Object::Dictionary(filters));
    let mut probe = Document::with_version("1.7");
    let encrypt_id = probe.add_object(Object::Dictionary(encrypt));
    probe.trailer.set("Encrypt", Object::Reference(encrypt_id));
    if let Ok(id) = doc.trailer.get(b"ID") {
        probe.trailer.set("ID", id.clone());
    }
    let Ok(named) = EncryptionState::decode(&probe, "") else {
        return;
    };
    for (&id, object) in doc.objects.iter_mut() {
        let original = object.clone();
        if encrypt_object(&used, id, object).is_err() || decrypt_object(&named, id, object).is_err() {
            *object = original;
        }
    }
    doc.encryption_state = Some(named);
}

/// Loads the file; if its cross-reference table or trailer is broken (or leads to no pages),
/// retries once with a rebuilt one, as poppler and qpdf do.
fn load(bytes: &[u8]) -> Result<Document, ParseError> {
    let error = match Document::load_mem(bytes) {
        Ok(doc) if !doc.get_pages().is_empty() || doc.trailer.has(b"Encrypt") => return Ok(doc),
        Ok(doc) => {
            let repaired = rebuild_xref(bytes).and_then(|b| Document::load_mem(&b).ok());
            return Ok(repaired.filter(|r| !r.get_pages().is_empty()).unwrap_or(doc));
        }
        Err(error @ (lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword)) => {
            return Err(load_error(error));
        }
        Err(error) => error,
    };
    match rebuild_xref(bytes).map(|repaired| Document::load_mem(&repaired)) {
        Some(Ok(doc)) => {
            tracing::debug!(%error, "pdf loaded with a rebuilt cross-reference table");
            Ok(doc)
        }
        Some(Err(_)) | None => Err(load_error(error)),
    }
}

fn malformed(detail: &str) -> ParseError {
    ParseError::Malformed {
        format: "PDF",
        detail: detail.to_string(),
    }
}

fn load_error(error: lopdf::Error) -> ParseError {
    match error {
        lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword => ParseError::Encrypted,
        other => malformed(&other.to_string()),
    }
}

/// Text of one page, and why extraction stopped early if it did (text drawn before the failure
/// is kept). Drawing operators that cannot be carried out are skipped; a page left blank by them
/// counts as failed, with the first one's reason.
fn extract_page<'a>(
    doc: &'a Document,
    extractor: &mut pdf_extract::PageExtractor<'a>,
    page_id: ObjectId,
    page: u32,
) -> (String, Option<String>) {
    let mut output = PageText::new();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        extractor.page(doc, page_id, page, &mut output)
    }));
    let text = output.finish();
    let failure = match outcome {
        Ok(Ok(skipped)) => skipped.filter(|_| text.trim().is_empty()),
        Ok(Err(error)) => Some(error.to_string()),
        Err(payload) => Some(format!("parser panic: {}", panic_message(payload.as_ref()))),
    };
    (text, failure)
}

/// Deepest chain of form XObjects drawing each other that a page may use.
const MAX_FORM_DEPTH: usize = 64;
/// Most form XObject uses a page may make, nested uses included.
const MAX_FORM_USES: usize = 10_000;

/// Refuses pages whose form XObjects draw themselves (directly or through others), nest too deeply
/// or multiply too much. pdf-extract follows `Do` without any limit, and the resulting stack
/// overflow aborts the whole process instead of panicking, so this has to be checked before.
fn check_form_nesting(doc: &Document, page_id: ObjectId) -> Result<(), String> {
    let content = doc.get_page_content(page_id).map_err(|e| e.to_string())?;
    let resources = page_resources(doc, page_id);
    let mut uses = 0;
    check_forms_in(doc, &content, resources, &mut Vec::new(), &mut uses)
}

fn check_forms_in(
    doc: &Document,
    content: &[u8],
    resources: Option<&lopdf::Dictionary>,
    drawing: &mut Vec<ObjectId>,
    uses: &mut usize,
) -> Result<(), String> {
    if !content.windows(2).any(|w| w == b"Do") {
        return Ok(());
    }
    let Ok(decoded) = Content::decode(content) else {
        return Ok(());
    };
    let xobjects = resources
        .and_then(|r| r.get(b"XObject").ok())
        .and_then(|x| doc.dereference(x).ok())
        .and_then(|(_, x)| x.as_dict().ok());
    for operation in decoded.operations.iter().filter(|op| op.operator == "Do") {
        let Some(id) = operation
            .operands
            .first()
            .and_then(|name| name.as_name().ok())
            .and_then(|name| xobjects?.get(name).ok())
            .and_then(|x| x.as_reference().ok())
        else {
            continue;
        };
        if drawing.contains(&id) {
            return Err(format!("form xobject {} {} draws itself", id.0, id.1));
        }
        *uses += 1;
        if drawing.len() >= MAX_FORM_DEPTH || *uses > MAX_FORM_USES {
            return Err("form xobjects are nested or repeated too much".to_string());
        }
        let Ok(stream) = doc.get_object(id).and_then(Object::as_stream) else {
            continue;
        };
        let inner_resources = stream
            .dict
            .get(b"Resources")
            .ok()
            .and_then(|r| doc.dereference(r).ok())
            .and_then(|(_, r)| r.as_dict().ok())
            .or(resources);
        let inner = stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone());
        drawing.push(id);
        check_forms_in(doc, &inner, inner_resources, drawing, uses)?;
        drawing.pop();
    }
    Ok(())
}

/// The page's resources, inherited from the page tree as pdf-extract resolves them.
fn page_resources(doc: &Document, page_id: ObjectId) -> Option<&lopdf::Dictionary> {
    let mut node = doc.get_dictionary(page_id).ok()?;
    for _ in 0..MAX_FORM_DEPTH {
        if let Some(resources) = node
            .get(b"Resources")
            .ok()
            .and_then(|r| doc.dereference(r).ok())
            .and_then(|(_, r)| r.as_dict().ok())
        {
            return Some(resources);
        }
        node = doc
            .get_dictionary(node.get(b"Parent").ok()?.as_reference().ok()?)
            .ok()?;
    }
    None
}

/// The document information dictionary's `Title`, if it has a non-blank one.
fn document_title(doc: &Document) -> Option<String> {
    let info = match doc.trailer.get(b"Info").ok()? {
        Object::Reference(id) => doc.get_dictionary(*id).ok()?,
        Object::Dictionary(dict) => dict,
        _ => return None,
    };
    let title = lopdf::decode_text_string(info.get(b"Title").ok()?).ok()?;
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then_some(title)
}

/// Rewrites `'` and `"` in page contents and form XObjects into operators pdf-extract handles.
fn rewrite_quote_operators(doc: &mut Document, pages: &BTreeMap<u32, ObjectId>, cancel: &CancelFlag) {
    for &page_id in pages.values() {
        if should_stop(cancel) {
            return;
        }
        let Ok(content) = doc.get_page_content(page_id) else {
            continue;
        };
        if let Some(rewritten) = rewrite_content(&content)
            && let Err(error) = doc.change_page_content(page_id, rewritten)
        {
            tracing::debug!(%error, "cannot rewrite pdf page content");
        }
    }
    let forms: Vec<ObjectId> = doc
        .objects
        .iter()
        .filter_map(|(&id, object)| match object {
            Object::Stream(stream)
                if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Form") =>
            {
                Some(id)
            }
            _ => None,
        })
        .collect();
    for id in forms {
        if should_stop(cancel) {
            return;
        }
        if let Some(Object::Stream(stream)) = doc.objects.get_mut(&id) {
            let content = stream
                .decompressed_content()
                .unwrap_or_else(|_| stream.content.clone());
            if let Some(rewritten) = rewrite_content(&content) {
                stream.set_plain_content(rewritten);
            }
        }
    }
}

/// The content stream with `'`/`"` replaced, or None if it has none (or cannot be parsed).
fn rewrite_content(content: &[u8]) -> Option<Vec<u8>> {
    // Cheap pre-check: most content streams contain neither byte at all.
    if !content.iter().any(|&b| b == b'\'' || b == b'"') {
        return None;
    }
    let mut decoded = Content::decode(content).ok()?;
    if !decoded
        .operations
        .iter()
        .any(|op| op.operator == "'" || op.operator == "\"")
    {
        return None;
    }
    decoded.operations = rewrite_quote_operations(std::mem::take(&mut decoded.operations));
    decoded.encode().ok()
}

/// `s '` is `T* s Tj`; `aw ac s "` is `aw Tw ac Tc T* s Tj` (PDF 32000-1, table 109).
/// Malformed uses (wrong operand count) are dropped, as a viewer would skip them.
fn rewrite_quote_operations(operations: Vec<Operation>) -> Vec<Operation> {
    let mut out = Vec::with_capacity(operations.len() + 8);
    for operation in operations {
        match operation.operator.as_str() {
            "'" => {
                if let [text @ Object::String(..)] = operation.operands.as_slice() {
                    out.push(Operation::new("T*", vec![]));
                    out.push(Operation::new("Tj", vec![text.clone()]));
                }
            }
            "\"" => {
                if let [word, character, text @ Object::String(..)] = operation.operands.as_slice() {
                    out.push(Operation::new("Tw", vec![word.clone()]));
                    out.push(Operation::new("Tc", vec![character.clone()]));
                    out.push(Operation::new("T*", vec![]));
                    out.push(Operation::new("Tj", vec![text.clone()]));
                }
            }
            _ => out.push(operation),
        }
    }
    out
}

/// Small PDFs built with lopdf, for tests here and in the chunker.
#[cfg(test)]
pub(crate) mod fixtures {
    use lopdf::dictionary;
    use lopdf::{Document, Object, Stream};

    /// A PDF with one page per content stream, Helvetica as `/F1`, 612x792 points.
    pub(crate) fn pdf_with_contents(contents: &[&str], title: Option<&str>) -> Document {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let font_id = doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => "Helvetica",
        });
        let resources_id = doc.add_object(dictionary! {
            "Font" => dictionary! { "F1" => font_id },
        });
        let mut kids = Vec::new();
        for content in contents {
            let content_id = doc.add_object(Stream::new(dictionary! {}, content.as_bytes().to_vec()));
            let page_id = doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "Contents" => content_id,
            });
            kids.push(Object::from(page_id));
        }
        let count = i64::try_from(kids.len()).expect("few pages");
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => kids,
                "Count" => count,
                "Resources" => resources_id,
                "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            }),
        );
        let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog_id);
        if let Some(title) = title {
            let info_id = doc.add_object(dictionary! { "Title" => Object::string_literal(title) });
            doc.trailer.set("Info", info_id);
        }
        doc
    }

    /// A page that shows `lines` one under the other with `Tj` and `T*`.
    pub(crate) fn text_page(lines: &[&str]) -> String {
        let mut content = String::from("BT /F1 12 Tf 14 TL 72 720 Td\n");
        for (index, line) in lines.iter().enumerate() {
            if index > 0 {
                content.push_str("T*\n");
            }
            content.push_str(&format!("({line}) Tj\n"));
        }
        content.push_str("ET\n");
        content
    }

    /// Serialized PDF bytes.
    pub(crate) fn to_bytes(mut doc: Document) -> Vec<u8> {
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).expect("pdf serializes");
        bytes
    }

    /// A PDF whose pages show the given lines.
    pub(crate) fn text_pdf(pages: &[&[&str]]) -> Vec<u8> {
        let contents: Vec<String> = pages.iter().map(|lines| text_page(lines)).collect();
        let contents: Vec<&str> = contents.iter().map(String::as_str).collect();
        to_bytes(pdf_with_contents(&contents, None))
    }
}

#[cfg(test)]
mod tests {
    use lopdf::encryption::{EncryptionState, EncryptionVersion, Permissions};

    use super::fixtures::*;
    use super::*;
    use crate::parse::{Format, ParseLimits, parse_guarded};

    fn parse_bytes(bytes: Vec<u8>) -> Result<ParsedDocument, ParseError> {
        parse_guarded(bytes, Format::Pdf, &ParseLimits::default())
    }

    fn squash(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn two_pages_give_two_sections_with_page_numbers() {
        let bytes = text_pdf(&[&["Hello from page one", "second line"], &["Page two text"]]);
        let doc = parse_bytes(bytes).unwrap();
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[0].page, Some(1));
        assert_eq!(doc.sections[1].page, Some(2));
        assert_eq!(doc.sections[0].text.trim(), "Hello from page one\nsecond line");
        assert_eq!(doc.sections[1].text.trim(), "Page two text");
    }

    #[test]
    fn title_comes_from_the_info_dictionary() {
        let page = text_page(&["body"]);
        let bytes = to_bytes(pdf_with_contents(&[&page], Some("  Annual   Report ")));
        assert_eq!(
            parse_bytes(bytes).unwrap().title.as_deref(),
            Some("Annual Report")
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let error = parse_bytes(b"this is not a pdf at all".to_vec()).unwrap_err();
        assert!(
            matches!(error, ParseError::Malformed { format: "PDF", .. }),
            "{error:?}"
        );
        let mut truncated = text_pdf(&[&["cut short"]]);
        truncated.truncate(truncated.len() / 3);
        let error = parse_bytes(truncated).unwrap_err();
        assert!(
            matches!(error, ParseError::Malformed { .. } | ParseError::NoText),
            "{error:?}"
        );
    }

    /// Replaces the number after the last `startxref` with a wrong offset.
    fn break_startxref(bytes: &mut Vec<u8>) {
        let at = bytes
            .windows(9)
            .rposition(|w| w == b"startxref")
            .expect("has startxref")
            + 9;
        bytes.truncate(at);
        bytes.extend_from_slice(b"\n12\n%%EOF\n");
    }

    #[test]
    fn broken_cross_reference_table_is_rebuilt() {
        let mut bytes = text_pdf(&[&["recovered page one"], &["recovered page two"]]);
        break_startxref(&mut bytes);
        assert!(
            Document::load_mem(&bytes).is_err(),
            "lopdf alone must fail on this file"
        );
        let doc = parse_bytes(bytes).unwrap();
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[1].text.trim(), "recovered page two");
    }

    #[test]
    fn rebuilt_table_lists_objects_and_root() {
        let bytes = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
                      2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n";
        let rebuilt = String::from_utf8(rebuild_xref(bytes).unwrap()).unwrap();
        assert!(
            rebuilt.contains("xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n"),
            "{rebuilt}"
        );
        assert!(
            rebuilt.contains("trailer\n<< /Size 3 /Root 1 0 R >>"),
            "{rebuilt}"
        );
        assert_eq!(rebuild_xref(b"1 0 obj << >> endobj"), None, "no root");
        assert_eq!(rebuild_xref(b"garbage"), None);
    }

    #[test]
    fn pages_without_text_give_no_text() {
        // A filled rectangle and an empty page: a scan would look like this to a text extractor.
        let bytes = to_bytes(pdf_with_contents(&["0 0 1 rg 72 72 200 200 re f\n", ""], None));
        let error = parse_bytes(bytes).unwrap_err();
        assert!(matches!(error, ParseError::NoText), "{error:?}");
    }

    #[test]
    fn blank_pages_among_text_pages_are_kept_empty() {
        let first = text_page(&["only text"]);
        let bytes = to_bytes(pdf_with_contents(&[&first, ""], None));
        let doc = parse_bytes(bytes).unwrap();
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[1].text.trim(), "");
        assert_eq!(doc.sections[1].page, Some(2));
    }

    #[test]
    fn too_many_pages_is_refused() {
        let bytes = text_pdf(&[&["a"], &["b"], &["c"]]);
        let limits = ParseLimits {
            max_pages: 2,
            ..ParseLimits::default()
        };
        let error = parse_guarded(bytes, Format::Pdf, &limits).unwrap_err();
        assert!(
            matches!(error, ParseError::TooManyPages { pages: 3, limit: 2 }),
            "{error:?}"
        );
    }

    #[test]
    fn decoding_budget_comes_from_parse_limits() {
        // 2 MiB of content that deflates to a few KiB: within the default budget, not within 1 MiB.
        let content = format!("{}{}", text_page(&["within budget"]), " ".repeat(2 << 20));
        let mut doc = pdf_with_contents(&[&content], None);
        for object in doc.objects.values_mut() {
            if let Object::Stream(stream) = object {
                stream.compress().unwrap();
            }
        }
        let bytes = to_bytes(doc);
        assert!(bytes.len() < 64 * 1024, "{} bytes", bytes.len());
        let parsed = parse_bytes(bytes.clone()).unwrap();
        assert_eq!(parsed.sections[0].text.trim(), "within budget");
        let limits = ParseLimits {
            max_decompressed_bytes: 1 << 20,
            ..ParseLimits::default()
        };
        let error = parse_guarded(bytes, Format::Pdf, &limits).unwrap_err();
        assert!(
            matches!(error, ParseError::DecompressionBomb { limit } if limit == 1 << 20),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "the file is refused as a possible decompression bomb: its compressed streams expand to more than 1 MiB"
        );
    }

    #[test]
    fn ascii_hex_and_run_length_streams_are_decoded() {
        let content = text_page(&["decoded text"]);
        let hex: String = content.bytes().map(|b| format!("{b:02x}")).collect::<String>() + ">";
        // RunLength: literal runs of at most 128 bytes, then the end-of-data marker.
        let mut run_length = Vec::new();
        for piece in content.as_bytes().chunks(128) {
            run_length.push(u8::try_from(piece.len() - 1).unwrap());
            run_length.extend_from_slice(piece);
        }
        run_length.push(128);
        for (filter, data) in [
            ("ASCIIHexDecode", hex.into_bytes()),
            ("RunLengthDecode", run_length),
        ] {
            let mut doc = pdf_with_contents(&["placeholder"], None);
            let page = *doc.get_pages().values().next().unwrap();
            let contents = doc
                .get_dictionary(page)
                .unwrap()
                .get(b"Contents")
                .unwrap()
                .as_reference()
                .unwrap();
            let mut stream = lopdf::Stream::new(lopdf::dictionary! { "Filter" => filter }, data);
            stream.allows_compression = false;
            doc.objects.insert(contents, Object::Stream(stream));
            let parsed = parse_bytes(to_bytes(doc)).unwrap();
            assert_eq!(parsed.sections[0].text.trim(), "decoded text", "{filter}");
        }
    }

    #[test]
    fn quote_operators_are_not_lost() {
        let content = "BT /F1 12 Tf 14 TL 72 720 Td (first line) Tj (second line) ' \
                       1 0 (third line) \" ET\n";
        let bytes = to_bytes(pdf_with_contents(&[content], None));
        // pdf-extract alone loses the text of both operators; when it stops doing so, the
        // rewrite can go.
        let upstream = pdf_extract::extract_text_from_mem(&bytes).unwrap();
        assert_eq!(squash(&upstream), "first line");
        let doc = parse_bytes(bytes).unwrap();
        assert_eq!(squash(&doc.sections[0].text), "first line second line third line");
        assert_eq!(doc.sections[0].text.trim().lines().count(), 3);
    }

    #[test]
    fn quote_rewrite_maps_operands() {
        let ops = rewrite_quote_operations(vec![
            Operation::new("'", vec![Object::string_literal("a")]),
            Operation::new("\"", vec![2.into(), 1.into(), Object::string_literal("b")]),
            Operation::new("'", vec![]),
            Operation::new("Tj", vec![Object::string_literal("c")]),
        ]);
        let operators: Vec<&str> = ops.iter().map(|op| op.operator.as_str()).collect();
        assert_eq!(operators, ["T*", "Tj", "Tw", "Tc", "T*", "Tj", "Tj"]);
        assert_eq!(ops[2].operands, vec![Object::Integer(2)]);
        assert_eq!(ops[3].operands, vec![Object::Integer(1)]);
    }

    #[test]
    fn a_broken_page_costs_only_that_page() {
        // Tj before any Tf makes pdf-extract panic (no current font); the other page survives.
        let good = text_page(&["survivor"]);
        let bytes = to_bytes(pdf_with_contents(&["BT (no font) Tj ET\n", &good], None));
        let doc = parse_bytes(bytes).unwrap();
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[0].text.trim(), "");
        assert_eq!(doc.sections[1].text.trim(), "survivor");
    }

    #[test]
    fn self_drawing_form_xobjects_fail_the_page_not_the_process() {
        use lopdf::{Stream, dictionary};
        let second = text_page(&["second page survives"]);
        let mut doc = pdf_with_contents(&["/X1 Do\n", &second], None);
        // Form X1 draws X2, which draws X1: unguarded, pdf-extract recurses until the stack
        // overflows and the process aborts.
        let (x1, x2) = (doc.new_object_id(), doc.new_object_id());
        let form = |name: &str, other: ObjectId| {
            let resources = dictionary! { "XObject" => dictionary! { name => other } };
            let dict = dictionary! { "Type" => "XObject", "Subtype" => "Form", "Resources" => resources };
            Object::Stream(Stream::new(dict, format!("/{name} Do\n").into_bytes()))
        };
        doc.objects.insert(x1, form("X2", x2));
        doc.objects.insert(x2, form("X1", x1));
        // The pages inherit the resources dictionary that names the font; add X1 to it.
        for object in doc.objects.values_mut() {
            if let Object::Dictionary(dict) = object
                && dict.has(b"Font")
            {
                dict.set("XObject", dictionary! { "X1" => x1 });
            }
        }
        let first_page = doc.get_pages()[&1];
        let error = check_form_nesting(&doc, first_page).unwrap_err();
        assert!(error.contains("draws itself"), "{error}");
        let parsed = parse_bytes(to_bytes(doc)).unwrap();
        assert_eq!(parsed.sections[0].text, "");
        assert_eq!(parsed.sections[1].text.trim(), "second page survives");
    }

    #[test]
    fn only_broken_pages_is_malformed() {
        let bytes = to_bytes(pdf_with_contents(&["BT (no font) Tj ET\n"], None));
        let error = parse_bytes(bytes).unwrap_err();
        assert!(
            matches!(error, ParseError::Malformed { format: "PDF", .. }),
            "{error:?}"
        );
    }

    #[test]
    fn embedded_one_byte_cmaps_and_cidrange_to_unicode_maps_read() {
        use lopdf::{Stream, dictionary};
        // A Type0 font with a one-byte embedded encoding CMap, whose ToUnicode map gives some
        // codes with bfrange and others with cidrange (as some producers write it).
        let mut doc = pdf_with_contents(&["BT /F2 12 Tf 72 700 Td <41424320313233> Tj ET\n"], None);
        let encoding = doc.add_object(Stream::new(
            dictionary! { "Type" => "CMap", "CMapName" => "OneByte-H" },
            b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
              1 begincodespacerange <00> <FF> endcodespacerange\n\
              2 begincidrange <00> <3F> 0 <40> <FF> 100 endcidrange\n\
              endcmap CMapName currentdict /CMap defineresource pop end end\n"
                .to_vec(),
        ));
        let to_unicode = doc.add_object(Stream::new(
            dictionary! {},
            b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
              1 begincodespacerange <00> <FF> endcodespacerange\n\
              1 beginbfrange <41> <43> <0041> endbfrange\n\
              2 begincidrange <20> <20> 32 <31> <33> 49 endcidrange\n\
              endcmap CMapName currentdict /CMap defineresource pop end end\n"
                .to_vec(),
        ));
        let descriptor = doc.add_object(dictionary! { "Type" => "FontDescriptor", "FontName" => "Test" });
        let descendant = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "CIDFontType2", "BaseFont" => "Test", "DW" => 500,
            "FontDescriptor" => descriptor,
        });
        let font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "Test", "Encoding" => encoding,
            "DescendantFonts" => vec![descendant.into()], "ToUnicode" => to_unicode,
        });
        use_as_f2(&mut doc, font);
        let parsed = parse_bytes(to_bytes(doc)).unwrap();
        assert_eq!(parsed.sections[0].text.trim(), "ABC 123");
    }

    #[test]
    fn predefined_jis_cmaps_read_without_a_font_descriptor() {
        use lopdf::dictionary;
        // Hiragana in JIS X 0208 codes (0x2422 is あ) with the predefined vertical CMap `V`, in a
        // non-embedded CID font that has no FontDescriptor, as old Japanese generators wrote it.
        let mut doc = pdf_with_contents(&["BT /F2 12 Tf 72 700 Td <24222424> Tj ET\n"], None);
        let font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "Ryumin-Light-V", "Encoding" => "V",
            "DescendantFonts" => vec![Object::Dictionary(dictionary! {
                "Type" => "Font", "Subtype" => "CIDFontType0",
                "CIDSystemInfo" => dictionary! {
                    "Registry" => Object::string_literal("Adobe"),
                    "Ordering" => Object::string_literal("Japan1"),
                    "Supplement" => 1,
                },
            })],
        });
        use_as_f2(&mut doc, font);
        let parsed = parse_bytes(to_bytes(doc)).unwrap();
        assert_eq!(parsed.sections[0].text.trim(), "あい");
    }

    /// Makes `font` the resource `F2` of every font dictionary of the document.
    fn use_as_f2(doc: &mut Document, font: ObjectId) {
        for object in doc.objects.values_mut() {
            if let Object::Dictionary(dict) = object
                && let Ok(Object::Dictionary(fonts)) = dict.get_mut(b"Font")
            {
                fonts.set("F2", font);
            }
        }
    }

    fn encrypted_pdf(user_password: &str) -> Vec<u8> {
        let page = text_page(&["confidential text"]);
        let mut doc = pdf_with_contents(&[&page], None);
        doc.trailer.set(
            "ID",
            vec![
                Object::string_literal("0123456789abcdef"),
                Object::string_literal("0123456789abcdef"),
            ],
        );
        let version = EncryptionVersion::V2 {
            document: &doc,
            owner_password: "owner-secret",
            user_password,
            key_length: 128,
            permissions: Permissions::all(),
        };
        let state = EncryptionState::try_from(version).expect("encryption state");
        doc.encrypt(&state).expect("document encrypts");
        to_bytes(doc)
    }

    #[test]
    fn aes_filters_given_by_reference_decrypt() {
        use lopdf::encryption::crypt_filters::{Aes128CryptFilter, CryptFilter};
        use std::collections::BTreeMap;
        use std::sync::Arc;

        let page = text_page(&["confidential text"]);
        let mut doc = pdf_with_contents(&[&page], None);
        doc.trailer.set(
            "ID",
            vec![
                Object::string_literal("0123456789abcdef"),
                Object::string_literal("0123456789abcdef"),
            ],
        );
        let filter: Arc<dyn CryptFilter> = Arc::new(Aes128CryptFilter);
        let version = EncryptionVersion::V4 {
            document: &doc,
            encrypt_metadata: true,
            crypt_filters: BTreeMap::from([(b"StdCF".to_vec(), filter)]),
            stream_filter: b"StdCF".to_vec(),
            string_filter: b"StdCF".to_vec(),
            owner_password: "owner-secret",
            user_password: "",
            permissions: Permissions::all(),
        };
        let state = EncryptionState::try_from(version).expect("encryption state");
        doc.encrypt(&state).expect("document encrypts");
        // Write the filters as their own object, referenced from the encryption dictionary.
        let encrypt_id = doc.trailer.get(b"Encrypt").unwrap().as_reference().unwrap();
        let filters = doc
            .get_dictionary(encrypt_id)
            .unwrap()
            .get(b"CF")
            .unwrap()
            .clone();
        let filters_id = doc.add_object(filters);
        doc.get_dictionary_mut(encrypt_id)
            .unwrap()
            .set("CF", Object::Reference(filters_id));
        let parsed = parse_bytes(to_bytes(doc)).unwrap();
        assert_eq!(parsed.sections[0].text.trim(), "confidential text");
    }

    #[test]
    fn user_password_is_encrypted_error() {
        let error = parse_bytes(encrypted_pdf("user-secret")).unwrap_err();
        assert!(matches!(error, ParseError::Encrypted), "{error:?}");
    }

    #[test]
    fn empty_user_password_opens() {
        let doc = parse_bytes(encrypted_pdf("")).unwrap();
        assert_eq!(doc.sections[0].text.trim(), "confidential text");
    }
}
