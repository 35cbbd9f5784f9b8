//! Upload checks, made before anything is stored, as Dify's `FileService.upload_file` makes them:
//! the file name, blocked extensions, supported types, per-type size limits, and content that
//! matches the extension. Pure functions of the name, the bytes and [`UploadRules`]; the HTTP layer
//! turns an [`UploadError`] into a status through [`UploadError::kind`].

use crate::parse::{Format, ParseError, format_for_upload};

/// Characters Dify refuses in file names: path separators and what Windows forbids.
pub const FORBIDDEN_NAME_CHARS: [char; 9] = ['/', '\\', ':', '*', '?', '"', '<', '>', '|'];

/// Longest file name kept, in characters; longer names are shortened, keeping the extension.
pub const MAX_NAME_CHARS: usize = 200;

const MIB: u64 = 1024 * 1024;

/// Upload rules; the defaults are Dify's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRules {
    /// Extensions refused whatever the purpose (Dify's `UPLOAD_FILE_EXTENSION_BLACKLIST`), lowercase
    /// without the dot. Empty by default.
    pub blocked_extensions: Vec<String>,
    /// Largest document (and any file not covered below), in bytes: 15 MiB (`UPLOAD_FILE_SIZE_LIMIT`).
    pub max_document_bytes: u64,
    /// Largest image, in bytes: 10 MiB (`UPLOAD_IMAGE_FILE_SIZE_LIMIT`).
    pub max_image_bytes: u64,
    /// Largest video, in bytes: 100 MiB (`UPLOAD_VIDEO_FILE_SIZE_LIMIT`).
    pub max_video_bytes: u64,
    /// Largest audio file, in bytes: 50 MiB (`UPLOAD_AUDIO_FILE_SIZE_LIMIT`).
    pub max_audio_bytes: u64,
}

impl Default for UploadRules {
    fn default() -> Self {
        Self {
            blocked_extensions: Vec::new(),
            max_document_bytes: 15 * MIB,
            max_image_bytes: 10 * MIB,
            max_video_bytes: 100 * MIB,
            max_audio_bytes: 50 * MIB,
        }
    }
}

impl UploadRules {
    /// The size limit for files of `class`.
    pub fn max_bytes(&self, class: FileClass) -> u64 {
        match class {
            FileClass::Document => self.max_document_bytes,
            FileClass::Image => self.max_image_bytes,
            FileClass::Video => self.max_video_bytes,
            FileClass::Audio => self.max_audio_bytes,
        }
    }

    fn is_blocked(&self, extension: &str) -> bool {
        self.blocked_extensions
            .iter()
            .any(|blocked| blocked.trim_start_matches('.').eq_ignore_ascii_case(extension))
    }
}

/// The kinds of file Dify gives separate size limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileClass {
    /// Everything that is not an image, video or audio file.
    Document,
    /// jpg, jpeg, png, webp, gif, svg.
    Image,
    /// mp4, mov, mpeg, webm.
    Video,
    /// mp3, m4a, wav, amr, mpga.
    Audio,
}

impl FileClass {
    /// The class of a lowercase extension without the dot (Dify's extension lists).
    pub fn of_extension(extension: &str) -> FileClass {
        match extension {
            "jpg" | "jpeg" | "png" | "webp" | "gif" | "svg" => FileClass::Image,
            "mp4" | "mov" | "mpeg" | "webm" => FileClass::Video,
            "mp3" | "m4a" | "wav" | "amr" | "mpga" => FileClass::Audio,
            _ => FileClass::Document,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            FileClass::Document => "documents",
            FileClass::Image => "images",
            FileClass::Video => "videos",
            FileClass::Audio => "audio files",
        }
    }
}

/// What the upload is for: a knowledge base takes only formats ragd can parse; an app's file
/// input takes any extension that is not blocked (Dify's `source="datasets"` switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadPurpose {
    /// A document for a knowledge base: the extension must be a parsed format.
    Dataset,
    /// Any other upload (app file inputs): only the name, blocklist and size rules apply.
    AppFile,
}

/// An upload that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedUpload {
    /// The name to store: as given, or shortened to [`MAX_NAME_CHARS`] keeping the extension.
    pub name: String,
    /// Lowercase extension without the dot; empty if the name has none.
    pub extension: String,
    /// The format the file parses as; always set for [`UploadPurpose::Dataset`].
    pub format: Option<Format>,
}

/// The HTTP-level kind of an upload error, so the API can pick Dify's code and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadErrorKind {
    /// The file name is unusable: Dify answers 400 `invalid_param`.
    BadName,
    /// The extension is on the blocklist: Dify answers 400 (`file_extension_blocked`).
    Blocked,
    /// The type is not accepted, or the content is not what the extension says: 415
    /// `unsupported_file_type`.
    UnsupportedType,
    /// Over the size limit for its kind of file: 413 `file_too_large`.
    TooLarge,
}

/// Why an upload is refused; the message is meant for the person uploading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("the file has no name")]
    EmptyName,
    #[error(
        "the file name {name:?} contains {found:?}, which is not allowed in file names (/ \\ : * ? \" < > |)"
    )]
    ForbiddenCharacter { name: String, found: char },
    #[error("the file name {0:?} is not a valid file name")]
    NotAFileName(String),
    #[error("files with the extension .{0} are not allowed for security reasons")]
    BlockedExtension(String),
    #[error(
        "the file has no extension, so its type is unknown; supported types: {}",
        supported_list()
    )]
    NoExtension,
    #[error(
        "file type .{extension} is not supported; supported types: {}",
        supported_list()
    )]
    UnsupportedType { extension: String },
    #[error("{0}")]
    ContentMismatch(String),
    #[error("the file is too large: {} MB, the limit for {} is {} MB", megabytes(*.size), .class.describe(), megabytes(*.limit))]
    TooLarge { size: u64, limit: u64, class: FileClass },
}

impl UploadError {
    /// Which kind of refusal this is.
    pub fn kind(&self) -> UploadErrorKind {
        match self {
            UploadError::EmptyName
            | UploadError::ForbiddenCharacter { .. }
            | UploadError::NotAFileName(_) => UploadErrorKind::BadName,
            UploadError::BlockedExtension(_) => UploadErrorKind::Blocked,
            UploadError::NoExtension
            | UploadError::UnsupportedType { .. }
            | UploadError::ContentMismatch(_) => UploadErrorKind::UnsupportedType,
            UploadError::TooLarge { .. } => UploadErrorKind::TooLarge,
        }
    }
}

/// Sizes in messages: MiB with at most one decimal, as people read "15 MB".
fn megabytes(bytes: u64) -> String {
    let tenths = (bytes * 10).div_ceil(MIB);
    if tenths.is_multiple_of(10) {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

fn supported_list() -> String {
    Format::ALL
        .iter()
        .flat_map(|format| format.extensions())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs every check on an upload, in Dify's order: name, blocklist, type, size, then content.
pub fn check_upload(
    name: &str,
    bytes: &[u8],
    purpose: UploadPurpose,
    rules: &UploadRules,
) -> Result<AcceptedUpload, UploadError> {
    let (name, extension) = check_name_and_type(name, purpose, rules)?;
    check_size(&extension, bytes.len() as u64, rules)?;
    let format = match Format::from_extension(&extension) {
        Some(_) => Some(check_content(&extension, bytes)?),
        None => None,
    };
    Ok(AcceptedUpload {
        name,
        extension,
        format,
    })
}

/// The checks that need only the name, in Dify's order: the name itself, the blocklist, and (for
/// datasets) a supported type. Returns the name to store and its lowercase extension, so a server
/// can refuse a bad upload before reading its bytes.
pub fn check_name_and_type(
    name: &str,
    purpose: UploadPurpose,
    rules: &UploadRules,
) -> Result<(String, String), UploadError> {
    let name = check_file_name(name)?;
    let extension = extension_of(&name);
    if !extension.is_empty() && rules.is_blocked(&extension) {
        return Err(UploadError::BlockedExtension(extension));
    }
    if purpose == UploadPurpose::Dataset {
        if extension.is_empty() {
            return Err(UploadError::NoExtension);
        }
        if Format::from_extension(&extension).is_none() {
            return Err(UploadError::UnsupportedType { extension });
        }
    }
    Ok((name, extension))
}

/// Checks a file name and returns the name to store: surrounding whitespace trimmed, and
/// shortened to [`MAX_NAME_CHARS`] characters keeping the extension.
///
/// Names are refused when empty, when they contain a path separator or another character of
/// [`FORBIDDEN_NAME_CHARS`] (which rules out path traversal such as `../x.pdf`), when they are `.`
/// or `..`, or when they contain control characters.
pub fn check_file_name(name: &str) -> Result<String, UploadError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(UploadError::EmptyName);
    }
    if let Some(found) = name.chars().find(|c| FORBIDDEN_NAME_CHARS.contains(c)) {
        return Err(UploadError::ForbiddenCharacter {
            name: name.to_string(),
            found,
        });
    }
    // NUL and other control characters cut or corrupt names in file systems, logs and headers.
    if name == "." || name == ".." || name.chars().any(char::is_control) {
        return Err(UploadError::NotAFileName(name.to_string()));
    }
    Ok(shorten_name(name))
}

/// The name cut to [`MAX_NAME_CHARS`] characters, keeping `.extension`. Dify keeps 200 characters
/// of the part before the first dot and then adds the extension, which can end longer than 200;
/// here the whole name fits.
fn shorten_name(name: &str) -> String {
    if name.chars().count() <= MAX_NAME_CHARS {
        return name.to_string();
    }
    // A very long "extension" is not one worth keeping.
    let suffix = match raw_extension(name) {
        Some(extension) if extension.chars().count() <= 16 => format!(".{extension}"),
        _ => String::new(),
    };
    let stem_chars = MAX_NAME_CHARS - suffix.chars().count();
    let stem: String = name.chars().take(stem_chars).collect();
    format!("{}{suffix}", stem.trim_end())
}

/// The lowercase extension without the dot, as Python's `os.path.splitext` finds it: after the last
/// dot, unless that dot only starts the name (`.bashrc` has none).
pub fn extension_of(name: &str) -> String {
    raw_extension(name).map(str::to_lowercase).unwrap_or_default()
}

/// The extension as written, without the dot; None when there is none.
fn raw_extension(name: &str) -> Option<&str> {
    let stem_start = name.len() - name.trim_start_matches('.').len();
    let dot = name[stem_start..].rfind('.')?;
    Some(&name[stem_start + dot + 1..]).filter(|extension| !extension.is_empty())
}

/// Checks the size against the limit for the extension's class of file.
pub fn check_size(extension: &str, size: u64, rules: &UploadRules) -> Result<(), UploadError> {
    let class = FileClass::of_extension(extension);
    let limit = rules.max_bytes(class);
    if size > limit {
        return Err(UploadError::TooLarge { size, limit, class });
    }
    Ok(())
}

/// Checks that the bytes are what a parsed format's extension says they are.
fn check_content(extension: &str, bytes: &[u8]) -> Result<Format, UploadError> {
    format_for_upload(extension, bytes).map_err(|error| match error {
        ParseError::Unsupported(extension) => UploadError::UnsupportedType { extension },
        other => UploadError::ContentMismatch(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";
    const ZIP: &[u8] = b"PK\x03\x04\x14\x00\x00\x00";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";

    fn dataset(name: &str, bytes: &[u8]) -> Result<AcceptedUpload, UploadError> {
        check_upload(name, bytes, UploadPurpose::Dataset, &UploadRules::default())
    }

    #[test]
    fn a_good_document_is_accepted() {
        let accepted = dataset("  Annual Report.PDF ", PDF).unwrap();
        assert_eq!(accepted.name, "Annual Report.PDF");
        assert_eq!(accepted.extension, "pdf");
        assert_eq!(accepted.format, Some(Format::Pdf));
    }

    #[test]
    fn forbidden_characters_are_refused() {
        for name in [
            "a/b.pdf",
            "a\\b.pdf",
            "c:x.pdf",
            "what?.pdf",
            "star*.pdf",
            "\"q\".pdf",
            "<x>.pdf",
            "a|b.pdf",
        ] {
            let error = dataset(name, PDF).unwrap_err();
            assert!(
                matches!(error, UploadError::ForbiddenCharacter { .. }),
                "{name}: {error:?}"
            );
            assert_eq!(error.kind(), UploadErrorKind::BadName);
        }
        let error = check_file_name("report?.pdf").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the file name \"report?.pdf\" contains '?', which is not allowed in file names (/ \\ : * ? \" < > |)"
        );
    }

    #[test]
    fn path_traversal_and_non_names_are_refused() {
        for name in ["../../etc/passwd", "..\\boot.ini", "/etc/passwd.txt"] {
            assert!(matches!(
                check_file_name(name),
                Err(UploadError::ForbiddenCharacter { .. })
            ));
        }
        for name in [".", "..", "a\0b.pdf", "line\nbreak.txt"] {
            let error = check_file_name(name).unwrap_err();
            assert!(
                matches!(error, UploadError::NotAFileName(_)),
                "{name:?}: {error:?}"
            );
            assert_eq!(error.kind(), UploadErrorKind::BadName);
        }
        for name in ["", "   "] {
            assert_eq!(check_file_name(name), Err(UploadError::EmptyName));
        }
        // Dots inside a name are fine.
        assert_eq!(check_file_name("v1..2 notes.md").unwrap(), "v1..2 notes.md");
    }

    #[test]
    fn long_names_are_shortened_keeping_the_extension() {
        let long = format!("{}.Pdf", "x".repeat(300));
        let short = check_file_name(&long).unwrap();
        assert_eq!(short.chars().count(), MAX_NAME_CHARS);
        assert!(short.ends_with("x.Pdf"), "{short}");
        // Characters, not bytes: multi-byte names are cut on character boundaries.
        let cjk = format!("{}.docx", "报告".repeat(150));
        let short = check_file_name(&cjk).unwrap();
        assert_eq!(short.chars().count(), MAX_NAME_CHARS);
        assert!(
            short.ends_with("告.docx") || short.ends_with("报.docx"),
            "{short}"
        );
        // A name of exactly the limit is kept as is.
        let exact = format!("{}.md", "y".repeat(MAX_NAME_CHARS - 3));
        assert_eq!(check_file_name(&exact).unwrap(), exact);
        // No extension: just cut.
        assert_eq!(
            check_file_name(&"z".repeat(250)).unwrap().chars().count(),
            MAX_NAME_CHARS
        );
    }

    #[test]
    fn extensions_follow_splitext() {
        assert_eq!(extension_of("report.PDF"), "pdf");
        assert_eq!(extension_of("archive.tar.gz"), "gz");
        assert_eq!(extension_of(".bashrc"), "");
        assert_eq!(extension_of("..hidden.md"), "md");
        assert_eq!(extension_of("noext"), "");
        assert_eq!(extension_of("trailing."), "");
    }

    #[test]
    fn blocked_extensions_are_refused_for_every_purpose() {
        let rules = UploadRules {
            blocked_extensions: vec!["exe".into(), ".SVG".into()],
            ..UploadRules::default()
        };
        for purpose in [UploadPurpose::Dataset, UploadPurpose::AppFile] {
            let error = check_upload("setup.EXE", b"MZ", purpose, &rules).unwrap_err();
            assert_eq!(error, UploadError::BlockedExtension("exe".into()));
            assert_eq!(error.kind(), UploadErrorKind::Blocked);
            assert_eq!(
                error.to_string(),
                "files with the extension .exe are not allowed for security reasons"
            );
        }
        assert!(matches!(
            check_upload("logo.svg", b"<svg/>", UploadPurpose::AppFile, &rules),
            Err(UploadError::BlockedExtension(ext)) if ext == "svg"
        ));
        // Nothing is blocked by default.
        assert!(
            check_upload(
                "setup.exe",
                b"MZ",
                UploadPurpose::AppFile,
                &UploadRules::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn datasets_take_only_parsed_formats() {
        let error = dataset("photo.png", PNG).unwrap_err();
        assert_eq!(
            error,
            UploadError::UnsupportedType {
                extension: "png".into()
            }
        );
        assert_eq!(error.kind(), UploadErrorKind::UnsupportedType);
        assert!(
            error
                .to_string()
                .starts_with("file type .png is not supported; supported types: txt, ")
        );
        assert_eq!(dataset("README", b"hello").unwrap_err(), UploadError::NoExtension);
        // An app file input takes it.
        let accepted =
            check_upload("photo.png", PNG, UploadPurpose::AppFile, &UploadRules::default()).unwrap();
        assert_eq!(accepted.format, None);
        assert_eq!(accepted.extension, "png");
    }

    #[test]
    fn content_must_match_the_extension() {
        let error = dataset("report.pdf", ZIP).unwrap_err();
        assert_eq!(error.kind(), UploadErrorKind::UnsupportedType);
        assert_eq!(
            error.to_string(),
            "the file content does not match its type: a .pdf file must be a PDF document, but this one is a zip archive"
        );
        // Also for app files whose extension is a format ragd knows.
        assert!(matches!(
            check_upload("notes.txt", PNG, UploadPurpose::AppFile, &UploadRules::default()),
            Err(UploadError::ContentMismatch(_))
        ));
        assert_eq!(dataset("book.docx", ZIP).unwrap().format, Some(Format::Docx));
    }

    #[test]
    fn size_limits_depend_on_the_kind_of_file() {
        let rules = UploadRules::default();
        assert_eq!(check_size("pdf", 15 * MIB, &rules), Ok(()));
        let error = check_size("pdf", 15 * MIB + 1, &rules).unwrap_err();
        assert_eq!(error.kind(), UploadErrorKind::TooLarge);
        assert_eq!(
            error.to_string(),
            "the file is too large: 15.1 MB, the limit for documents is 15 MB"
        );
        assert_eq!(
            check_size("PNG".to_lowercase().as_str(), 10 * MIB, &rules),
            Ok(())
        );
        assert!(matches!(
            check_size("jpg", 10 * MIB + 1, &rules),
            Err(UploadError::TooLarge {
                class: FileClass::Image,
                ..
            })
        ));
        assert_eq!(check_size("mp4", 100 * MIB, &rules), Ok(()));
        assert!(check_size("webm", 100 * MIB + 1, &rules).is_err());
        assert_eq!(check_size("mp3", 50 * MIB, &rules), Ok(()));
        assert!(check_size("wav", 50 * MIB + 1, &rules).is_err());
        // Unknown kinds count as documents.
        assert!(check_size("bin", 15 * MIB + 1, &rules).is_err());
        let dataset_error = dataset("big.txt", &vec![b'a'; 16 * 1024 * 1024]).unwrap_err();
        assert_eq!(
            dataset_error,
            UploadError::TooLarge {
                size: 16 * MIB,
                limit: 15 * MIB,
                class: FileClass::Document
            }
        );
        // Limits are configurable.
        let small = UploadRules {
            max_document_bytes: 4,
            ..UploadRules::default()
        };
        assert!(check_upload("a.txt", b"hello", UploadPurpose::Dataset, &small).is_err());
    }

    #[test]
    fn name_and_type_are_checked_without_the_bytes() {
        let rules = UploadRules {
            blocked_extensions: vec!["exe".into()],
            ..UploadRules::default()
        };
        let long = format!("{}.md", "n".repeat(300));
        let (name, extension) = check_name_and_type(&long, UploadPurpose::Dataset, &rules).unwrap();
        assert_eq!((name.chars().count(), extension.as_str()), (MAX_NAME_CHARS, "md"));
        assert!(matches!(
            check_name_and_type("a:b.pdf", UploadPurpose::Dataset, &rules),
            Err(UploadError::ForbiddenCharacter { found: ':', .. })
        ));
        assert_eq!(
            check_name_and_type("run.EXE", UploadPurpose::Dataset, &rules),
            Err(UploadError::BlockedExtension("exe".into()))
        );
        assert_eq!(
            check_name_and_type("clip.mp4", UploadPurpose::Dataset, &rules),
            Err(UploadError::UnsupportedType {
                extension: "mp4".into()
            })
        );
        assert!(check_name_and_type("clip.mp4", UploadPurpose::AppFile, &rules).is_ok());
    }

    #[test]
    fn megabytes_read_naturally() {
        assert_eq!(megabytes(15 * MIB), "15");
        assert_eq!(megabytes(MIB / 2), "0.5");
        assert_eq!(megabytes(1), "0.1");
    }
}
