//! Content sniffing: what a file's bytes are, whatever its name says, and whether that fits the
//! format its extension claims (a `.pdf` that is really a zip archive is refused before parsing).

use super::{Format, ParseError};

/// What a file is, judged from its first bytes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentKind {
    /// A PDF document (`%PDF-` header).
    Pdf,
    /// A zip archive: docx, xlsx, pptx and epub are zip packages.
    Zip,
    /// An OLE compound file: legacy Office (xls, doc, ppt, msg) and password-protected OOXML.
    Ole,
    /// Text in some encoding: no NUL bytes or control characters (UTF-16 is recognised).
    Text,
    /// Anything else: images, executables, unknown binary formats.
    Binary,
}

const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const PDF_MAGIC: &[u8] = b"%PDF-";
/// PDF readers accept junk before the header within the first kilobyte.
const PDF_HEADER_WINDOW: usize = 1024;
/// How much of the file the text check looks at.
const TEXT_SAMPLE: usize = 8192;

impl ContentKind {
    /// Sniffs the kind of `bytes`.
    pub fn detect(bytes: &[u8]) -> ContentKind {
        if bytes.starts_with(b"PK\x03\x04")
            || bytes.starts_with(b"PK\x05\x06")
            || bytes.starts_with(b"PK\x07\x08")
        {
            return ContentKind::Zip;
        }
        if bytes.starts_with(OLE_MAGIC) {
            return ContentKind::Ole;
        }
        if bytes.starts_with(PDF_MAGIC) {
            return ContentKind::Pdf;
        }
        let looks_text = looks_like_text(bytes);
        let window = &bytes[..bytes.len().min(PDF_HEADER_WINDOW)];
        // A header a little way in counts only when the file is not text: a text file may well
        // quote "%PDF-" near its start.
        if !looks_text && window.windows(PDF_MAGIC.len()).any(|w| w == PDF_MAGIC) {
            return ContentKind::Pdf;
        }
        if looks_text {
            ContentKind::Text
        } else {
            ContentKind::Binary
        }
    }

    /// A short description for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            ContentKind::Pdf => "a PDF document",
            ContentKind::Zip => "a zip archive",
            ContentKind::Ole => "a legacy Office (OLE) file",
            ContentKind::Text => "text",
            ContentKind::Binary => "binary data",
        }
    }
}

/// Text: a byte-order mark, or UTF-16 by its NUL pattern, or no NUL bytes and almost no control
/// characters other than whitespace and escape.
fn looks_like_text(bytes: &[u8]) -> bool {
    if encoding_rs::Encoding::for_bom(bytes).is_some() || super::text::sniff_utf16(bytes).is_some() {
        return true;
    }
    let sample = &bytes[..bytes.len().min(TEXT_SAMPLE)];
    if sample.contains(&0) {
        return false;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B) || b == 0x7F)
        .count();
    controls * 100 <= sample.len()
}

impl Format {
    /// The content kinds a file of this format may have. Office packages also accept OLE files,
    /// because a password-protected docx/xlsx/pptx is one: the parser then explains that the file
    /// is encrypted (or is a legacy .doc/.ppt under a new name) instead of the upload being refused
    /// as the wrong type. `.xls` accepts zip because xlsx files saved as `.xls` are common and parse.
    pub fn content_kinds(self) -> &'static [ContentKind] {
        match self {
            Format::Pdf => &[ContentKind::Pdf],
            Format::Docx | Format::Pptx | Format::Xlsx => &[ContentKind::Zip, ContentKind::Ole],
            Format::Xls => &[ContentKind::Ole, ContentKind::Zip],
            Format::Epub => &[ContentKind::Zip],
            Format::Text
            | Format::Markdown
            | Format::Html
            | Format::Csv
            | Format::Vtt
            | Format::Eml
            | Format::Xml
            | Format::Json
            | Format::Jsonl => &[ContentKind::Text],
        }
    }

    /// Checks that `bytes` are what this format's files are, so the API can answer 415 for a
    /// `.pdf` that is a zip archive or a `.docx` that is an image.
    pub fn check_content(self, bytes: &[u8]) -> Result<(), ParseError> {
        let found = ContentKind::detect(bytes);
        if self.content_kinds().contains(&found) {
            Ok(())
        } else {
            Err(ParseError::ContentMismatch { format: self, found })
        }
    }
}

/// The format of an upload: its extension (with or without the dot, any case) must be supported
/// and its content must match it. Fails with [`ParseError::Unsupported`] or
/// [`ParseError::ContentMismatch`], both answered with 415 by the API.
pub fn format_for_upload(extension: &str, bytes: &[u8]) -> Result<Format, ParseError> {
    let format = Format::from_extension(extension)
        .ok_or_else(|| ParseError::Unsupported(extension.trim_start_matches('.').to_ascii_lowercase()))?;
    format.check_content(bytes)?;
    Ok(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_apart() {
        assert_eq!(
            ContentKind::detect(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj"),
            ContentKind::Pdf
        );
        assert_eq!(
            ContentKind::detect(b"\x00\x00junk\x00%PDF-1.4\n"),
            ContentKind::Pdf
        );
        assert_eq!(
            ContentKind::detect(b"PK\x03\x04\x14\x00\x00\x00"),
            ContentKind::Zip
        );
        assert_eq!(ContentKind::detect(b"PK\x05\x06\x00\x00"), ContentKind::Zip);
        let mut ole = OLE_MAGIC.to_vec();
        ole.extend([0_u8; 100]);
        assert_eq!(ContentKind::detect(&ole), ContentKind::Ole);
        assert_eq!(
            ContentKind::detect(b"hello, world\r\n\tcaf\xC3\xA9"),
            ContentKind::Text
        );
        assert_eq!(ContentKind::detect(b""), ContentKind::Text);
        // GBK and windows-1252 bytes are still text.
        assert_eq!(
            ContentKind::detect(&encoding_rs::GBK.encode("中文文本").0),
            ContentKind::Text
        );
        assert_eq!(ContentKind::detect(b"\xFF\xFEh\x00i\x00"), ContentKind::Text);
        assert_eq!(
            ContentKind::detect(b"h\x00e\x00l\x00l\x00o\x00"),
            ContentKind::Text
        );
        assert_eq!(
            ContentKind::detect(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
            ContentKind::Binary
        );
        assert_eq!(
            ContentKind::detect(b"\x01\x02\x03\x04\x05 mostly control"),
            ContentKind::Binary
        );
    }

    #[test]
    fn a_text_file_quoting_the_pdf_header_is_text() {
        assert_eq!(
            ContentKind::detect(b"Notes on the %PDF-1.7 header"),
            ContentKind::Text
        );
        assert!(
            Format::Text
                .check_content(b"Notes on the %PDF-1.7 header")
                .is_ok()
        );
    }

    #[test]
    fn a_pdf_that_is_a_zip_is_refused() {
        let error = format_for_upload("pdf", b"PK\x03\x04\x14\x00rest of a zip").unwrap_err();
        assert!(
            matches!(
                error,
                ParseError::ContentMismatch {
                    format: Format::Pdf,
                    found: ContentKind::Zip
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "the file content does not match its type: a .pdf file must be a PDF document, but this one is a zip archive"
        );
    }

    #[test]
    fn matching_content_is_accepted() {
        assert_eq!(format_for_upload(".PDF", b"%PDF-1.4\n").unwrap(), Format::Pdf);
        assert_eq!(format_for_upload("docx", b"PK\x03\x04...").unwrap(), Format::Docx);
        assert_eq!(format_for_upload("xls", b"PK\x03\x04...").unwrap(), Format::Xls);
        assert_eq!(format_for_upload("csv", b"a,b\n1,2\n").unwrap(), Format::Csv);
        let mut ole = OLE_MAGIC.to_vec();
        ole.extend([0_u8; 64]);
        assert_eq!(format_for_upload("xls", &ole).unwrap(), Format::Xls);
        assert_eq!(format_for_upload("docx", &ole).unwrap(), Format::Docx);
    }

    #[test]
    fn mismatches_and_unknown_extensions_are_refused() {
        assert!(matches!(
            format_for_upload("exe", b"MZ"),
            Err(ParseError::Unsupported(ext)) if ext == "exe"
        ));
        assert!(matches!(
            format_for_upload("txt", b"\x89PNG\r\n\x1a\n\x00\x00"),
            Err(ParseError::ContentMismatch {
                found: ContentKind::Binary,
                ..
            })
        ));
        assert!(matches!(
            format_for_upload("epub", b"%PDF-1.4"),
            Err(ParseError::ContentMismatch {
                found: ContentKind::Pdf,
                ..
            })
        ));
        assert!(matches!(
            format_for_upload("docx", b"plain text"),
            Err(ParseError::ContentMismatch {
                found: ContentKind::Text,
                ..
            })
        ));
        assert!(matches!(
            format_for_upload("md", b"PK\x03\x04"),
            Err(ParseError::ContentMismatch {
                found: ContentKind::Zip,
                ..
            })
        ));
    }

    #[test]
    fn every_format_accepts_some_kind() {
        for format in Format::ALL {
            assert!(!format.content_kinds().is_empty(), "{format:?}");
        }
    }
}
