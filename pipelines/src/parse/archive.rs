//! The one zip reader behind every zip-based format (docx, xlsx, pptx, epub).
//!
//! It enforces [`ArchiveLimits`] so a zip bomb fails fast with [`ParseError::ArchiveTooLarge`]:
//! the entry count is checked from the end-of-central-directory record before the zip crate
//! allocates anything for the entries, and every entry read is bounded by what is left of the
//! decompressed-size budget, by the size its header declares (a header that lies is refused, not
//! believed) and by a compression-ratio check.
//!
//! Entry names are never used as file-system paths: nothing here touches the disk. Names are
//! normalised as package part names (`/` separators, `.` and `..` resolved without ever leaving
//! the archive root) and looked up in an index built once, so `../../etc/passwd` is just the name
//! `etc/passwd`, and absolute or backslashed names are the same kind of string.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::LazyLock;

use zip::ZipArchive;
use zip::result::ZipError;

use super::ParseError;

/// Limits for unpacking zip-based documents; set through [`super::ParseLimits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ArchiveLimits {
    /// Total bytes the parser may decompress from one document, over all entries it reads.
    pub max_decompressed_bytes: u64,
    /// Most entries (files and folders) the archive may list.
    pub max_entries: usize,
    /// Highest decompressed/compressed size ratio accepted for an entry of at least
    /// [`RATIO_CHECK_MIN_BYTES`].
    pub max_compression_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        super::ParseLimits::default().archive()
    }
}

/// Entries smaller than this are not ratio-checked: tiny XML parts compress extremely well and
/// cannot hurt anyone.
pub(super) const RATIO_CHECK_MIN_BYTES: u64 = 1024 * 1024;

/// An opened zip archive with its unpacking budget.
pub(super) struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// Normalised part name -> entry index; a second map holds lowercased names, because OPC
    /// part names compare case-insensitively and some writers disagree with their own references.
    by_name: HashMap<String, usize>,
    by_lowercase_name: HashMap<String, usize>,
    /// Normalised names in archive order.
    names: Vec<String>,
    remaining: u64,
    limits: ArchiveLimits,
    format: &'static str,
}

impl<'a> Archive<'a> {
    /// Opens `bytes` as a zip archive holding a `format` document.
    pub(super) fn open(
        bytes: &'a [u8],
        format: &'static str,
        limits: &ArchiveLimits,
    ) -> Result<Self, ParseError> {
        let declared = declared_entry_count(bytes);
        if declared > limits.max_entries as u64 {
            return Err(too_many_entries(declared, limits.max_entries));
        }
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|error| zip_error(format, &error))?;
        if zip.len() > limits.max_entries {
            return Err(too_many_entries(zip.len() as u64, limits.max_entries));
        }
        let mut by_name = HashMap::with_capacity(zip.len());
        let mut by_lowercase_name = HashMap::with_capacity(zip.len());
        let mut names = Vec::with_capacity(zip.len());
        for index in 0..zip.len() {
            let raw = zip
                .name_for_index(index)
                .and_then(Result::ok)
                .map(|name| name.into_owned())
                .unwrap_or_default();
            let name = normalize_part_name(&raw);
            // The first entry of a duplicated name wins, as in most readers.
            by_name.entry(name.clone()).or_insert(index);
            by_lowercase_name.entry(name.to_lowercase()).or_insert(index);
            names.push(name);
        }
        Ok(Self {
            zip,
            by_name,
            by_lowercase_name,
            names,
            remaining: limits.max_decompressed_bytes,
            limits: limits.clone(),
            format,
        })
    }

    /// Normalised names of all entries, in archive order.
    pub(super) fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether the archive has an entry with this part name.
    pub(super) fn contains(&self, name: &str) -> bool {
        self.index_of(name).is_some()
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        let name = normalize_part_name(name);
        self.by_name
            .get(&name)
            .or_else(|| self.by_lowercase_name.get(&name.to_lowercase()))
            .copied()
    }

    /// Reads the entry `name` (a part name, normalised here); `Ok(None)` if there is none.
    pub(super) fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ParseError> {
        match self.index_of(name) {
            Some(index) => self.read_index(index).map(Some),
            None => Ok(None),
        }
    }

    /// Reads the entry `name`, failing as `Malformed` when it is missing.
    pub(super) fn read_required(&mut self, name: &str) -> Result<Vec<u8>, ParseError> {
        self.read(name)?.ok_or_else(|| ParseError::Malformed {
            format: self.format,
            detail: format!("the part {name} is missing"),
        })
    }

    /// Reads entry number `index` within the budget.
    fn read_index(&mut self, index: usize) -> Result<Vec<u8>, ParseError> {
        let format = self.format;
        let name = self.names[index].clone();
        let limits = self.limits.clone();
        let remaining = self.remaining;
        let mut entry = self
            .zip
            .by_index(index)
            .map_err(|error| zip_error(format, &error))?;
        if entry.is_dir() {
            return Ok(Vec::new());
        }
        let declared = entry.size();
        let compressed = entry.compressed_size();
        if declared > remaining {
            return Err(expands_too_much(limits.max_decompressed_bytes));
        }
        check_ratio(&name, declared, compressed, &limits)?;
        // Never read past the declared size: a header that understates its entry is a bomb trying
        // to slip under the checks above.
        let mut data = Vec::with_capacity(usize::try_from(declared.min(1024 * 1024)).unwrap_or(0));
        let read = (&mut entry)
            .take(declared.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|error| ParseError::Malformed {
                format,
                detail: format!("cannot unpack {name}: {error}"),
            })? as u64;
        if read > declared {
            return Err(ParseError::ArchiveTooLarge(format!(
                "the entry {name} holds more data than its header declares"
            )));
        }
        check_ratio(&name, read, compressed, &limits)?;
        self.remaining -= read;
        Ok(data)
    }
}

fn check_ratio(name: &str, size: u64, compressed: u64, limits: &ArchiveLimits) -> Result<(), ParseError> {
    if size >= RATIO_CHECK_MIN_BYTES && size / compressed.max(1) > limits.max_compression_ratio {
        return Err(ParseError::ArchiveTooLarge(format!(
            "the entry {name} is compressed more than {}:1, which only zip bombs do",
            limits.max_compression_ratio
        )));
    }
    Ok(())
}

fn expands_too_much(limit: u64) -> ParseError {
    ParseError::ArchiveTooLarge(format!(
        "its content expands to more than {} MiB",
        limit / (1024 * 1024)
    ))
}

fn too_many_entries(count: u64, limit: usize) -> ParseError {
    ParseError::ArchiveTooLarge(format!("it has {count} entries, the limit is {limit}"))
}

fn zip_error(format: &'static str, error: &ZipError) -> ParseError {
    match error {
        ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) | ZipError::InvalidPassword => {
            ParseError::Encrypted
        }
        ZipError::DecompressedSizeLimitExceeded { limit, .. } => expands_too_much(*limit),
        other => ParseError::Malformed {
            format,
            detail: other.to_string(),
        },
    }
}

/// The largest entry count that any end-of-central-directory record the zip crate might accept
/// declares, read before the zip crate sizes its tables from it: classic records in the file's
/// tail, and zip64 records wherever a zip64 locator in the tail allows them to be (a zip64 record
/// may carry an extensible data sector and so start far before the tail). Zip64 candidates count
/// only when their length field makes them end exactly at the locator, as the zip crate requires.
fn declared_entry_count(bytes: &[u8]) -> u64 {
    const EOCD: &[u8] = b"PK\x05\x06";
    const ZIP64_LOCATOR: &[u8] = b"PK\x06\x07";
    let read_u64 = |at: usize| {
        let mut le = [0_u8; 8];
        le.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(le)
    };
    // The classic record is 22 bytes plus a comment of at most 65535 bytes; the zip64 locator
    // (20 bytes) sits right before it.
    let tail_start = bytes.len().saturating_sub(22 + 65_535 + 20);
    let mut most = 0_u64;
    for at in tail_start..bytes.len().saturating_sub(3) {
        let record = &bytes[at..];
        if record.starts_with(EOCD) && record.len() >= 22 {
            // 0xFFFF means "see the zip64 record".
            for count in [[record[8], record[9]], [record[10], record[11]]].map(u16::from_le_bytes) {
                if count != u16::MAX {
                    most = most.max(u64::from(count));
                }
            }
        } else if record.starts_with(ZIP64_LOCATOR) && record.len() >= 20 {
            let Ok(search_start) = usize::try_from(read_u64(at + 8)) else {
                continue;
            };
            if search_start >= at {
                continue;
            }
            for candidate in zip64_record_starts(&bytes[search_start..at]).map(|o| search_start + o) {
                if candidate + 56 <= at
                    && read_u64(candidate + 4).checked_add(12) == Some((at - candidate) as u64)
                {
                    most = most.max(read_u64(candidate + 24).max(read_u64(candidate + 32)));
                }
            }
        }
    }
    most
}

/// Offsets of zip64 end-of-central-directory signatures in `haystack` (memchr-fast).
fn zip64_record_starts(haystack: &[u8]) -> impl Iterator<Item = usize> + '_ {
    static SIGNATURE: LazyLock<regex::bytes::Regex> =
        LazyLock::new(|| regex::bytes::Regex::new(r"(?-u)PK\x06\x06").expect("valid regex"));
    SIGNATURE.find_iter(haystack).map(|m| m.start())
}

/// Normalises a zip entry name or package reference to a part name: `/`-separated, no leading
/// slash, `.` dropped, `..` popping a segment but never above the root, URL escapes kept as they
/// are (OPC names are compared as written).
pub(super) fn normalize_part_name(name: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in name.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    segments.join("/")
}

/// Resolves `target` (a relationship target or an href) against the part `base` it appears in.
/// Absolute targets (`/word/x.xml`) start at the archive root. Fragments and queries are dropped;
/// `%20`-style escapes are decoded, as EPUB and OPC references are URIs.
pub(super) fn resolve_reference(base: &str, target: &str) -> String {
    let target = target.split(['#', '?']).next().unwrap_or("");
    let target = percent_decode(target);
    if target.starts_with('/') {
        return normalize_part_name(&target);
    }
    let folder = match base.rfind('/') {
        Some(slash) => &base[..slash],
        None => "",
    };
    normalize_part_name(&format!("{folder}/{target}"))
}

fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(value) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16)
        {
            out.push(value);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
pub(super) mod tests {
    use std::io::Write;
    use std::time::Instant;

    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    use super::*;

    /// Builds a deflated zip from (name, content) pairs.
    pub(in crate::parse) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, content) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_entries_by_normalised_name() {
        let bytes = zip_of(&[("word/document.xml", b"<doc/>"), ("Docs/A.txt", b"a")]);
        let mut archive = Archive::open(&bytes, "docx", &ArchiveLimits::default()).unwrap();
        assert_eq!(archive.names(), ["word/document.xml", "Docs/A.txt"]);
        assert_eq!(archive.read("/word/document.xml").unwrap().unwrap(), b"<doc/>");
        assert_eq!(
            archive.read("word/./x/../document.xml").unwrap().unwrap(),
            b"<doc/>"
        );
        assert_eq!(archive.read("docs/a.txt").unwrap().unwrap(), b"a");
        assert!(archive.read("word/missing.xml").unwrap().is_none());
        assert!(archive.contains("Docs/A.txt"));
        assert!(matches!(
            archive.read_required("nope.xml"),
            Err(ParseError::Malformed { format: "docx", .. })
        ));
    }

    #[test]
    fn traversal_names_stay_inside_the_archive() {
        assert_eq!(normalize_part_name("../../etc/passwd"), "etc/passwd");
        assert_eq!(normalize_part_name("/abs/../x.xml"), "x.xml");
        assert_eq!(normalize_part_name("a\\..\\..\\b.xml"), "b.xml");
        assert_eq!(
            resolve_reference("word/document.xml", "../media/i.png"),
            "media/i.png"
        );
        assert_eq!(resolve_reference("word/document.xml", "../../../../x"), "x");
        assert_eq!(
            resolve_reference("ppt/slides/slide1.xml", "/ppt/notesSlides/n1.xml"),
            "ppt/notesSlides/n1.xml"
        );
        assert_eq!(
            resolve_reference("OEBPS/content.opf", "text/ch%201.xhtml#part"),
            "OEBPS/text/ch 1.xhtml"
        );
        assert_eq!(resolve_reference("content.opf", "ch1.xhtml"), "ch1.xhtml");
        let bytes = zip_of(&[("../../evil.xml", b"x")]);
        let mut archive = Archive::open(&bytes, "docx", &ArchiveLimits::default()).unwrap();
        assert_eq!(archive.names(), ["evil.xml"]);
        assert_eq!(archive.read("evil.xml").unwrap().unwrap(), b"x");
    }

    #[test]
    fn zip_bomb_is_refused_quickly() {
        // 64 MiB of zeros deflates to about 64 KiB: ratio about 1000:1.
        let zeros = vec![0_u8; 64 * 1024 * 1024];
        let bytes = zip_of(&[("word/document.xml", &zeros)]);
        assert!(bytes.len() < 200 * 1024, "bomb is {} bytes", bytes.len());
        let started = Instant::now();
        let mut archive = Archive::open(&bytes, "docx", &ArchiveLimits::default()).unwrap();
        let error = archive.read("word/document.xml").unwrap_err();
        assert!(matches!(error, ParseError::ArchiveTooLarge(_)), "{error:?}");
        assert!(
            error.to_string().contains("compressed more than 200:1"),
            "{error}"
        );
        assert!(started.elapsed().as_secs() < 5);
    }

    #[test]
    fn total_decompressed_budget_is_enforced_across_entries() {
        let limits = ArchiveLimits {
            max_decompressed_bytes: 1000,
            ..ArchiveLimits::default()
        };
        let part = vec![b'x'; 600];
        let bytes = zip_of(&[("a.xml", &part), ("b.xml", &part)]);
        let mut archive = Archive::open(&bytes, "docx", &limits).unwrap();
        assert_eq!(archive.read("a.xml").unwrap().unwrap().len(), 600);
        let error = archive.read("b.xml").unwrap_err();
        assert!(matches!(error, ParseError::ArchiveTooLarge(_)), "{error:?}");
    }

    #[test]
    fn entry_count_limit_is_checked_before_reading() {
        let entries: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("f{i}.xml"), vec![b'a'])).collect();
        let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
        let bytes = zip_of(&refs);
        let limits = ArchiveLimits {
            max_entries: 10,
            ..ArchiveLimits::default()
        };
        let error = Archive::open(&bytes, "epub", &limits).err().unwrap();
        assert!(
            error.to_string().contains("20 entries, the limit is 10"),
            "{error}"
        );
        assert_eq!(declared_entry_count(&bytes), 20);
    }

    #[test]
    fn zip64_entry_counts_are_found_even_far_from_the_tail() {
        // A zip64 end record with a 100 KB extensible data sector, declaring 50,000 entries.
        let mut bytes = vec![0_u8; 1000];
        let record_at = bytes.len();
        let extensible = 100_000;
        bytes.extend(b"PK\x06\x06");
        bytes.extend((44_u64 + extensible).to_le_bytes());
        bytes.extend([45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend(50_000_u64.to_le_bytes());
        bytes.extend(50_000_u64.to_le_bytes());
        bytes.extend(0_u64.to_le_bytes());
        bytes.extend(0_u64.to_le_bytes());
        bytes.extend(vec![0_u8; usize::try_from(extensible).unwrap()]);
        bytes.extend(b"PK\x06\x07");
        bytes.extend(0_u32.to_le_bytes());
        bytes.extend(u64::try_from(record_at).unwrap().to_le_bytes());
        bytes.extend(1_u32.to_le_bytes());
        bytes.extend(b"PK\x05\x06");
        bytes.extend([0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        bytes.extend([0xFF; 8]);
        bytes.extend([0, 0]);
        assert_eq!(declared_entry_count(&bytes), 50_000);
        let error = Archive::open(&bytes, "docx", &ArchiveLimits::default())
            .err()
            .unwrap();
        assert!(error.to_string().contains("50000 entries"), "{error}");
        // A stray signature whose length does not reach the locator is not believed.
        let stray_at = 500;
        bytes[stray_at..stray_at + 4].copy_from_slice(b"PK\x06\x06");
        bytes[stray_at + 32..stray_at + 40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(declared_entry_count(&bytes), 50_000);
    }

    #[test]
    fn a_header_that_understates_its_entry_is_refused() {
        let content = vec![b'y'; 5000];
        let mut bytes = zip_of(&[("a.xml", &content)]);
        // Patch the uncompressed size (offset 24 in the local header, 24 in the central header) to 100.
        let patch = |bytes: &mut Vec<u8>, signature: &[u8], offset: usize| {
            let at = bytes.windows(4).position(|w| w == signature).unwrap();
            bytes[at + offset..at + offset + 4].copy_from_slice(&100_u32.to_le_bytes());
        };
        patch(&mut bytes, b"PK\x03\x04", 22);
        patch(&mut bytes, b"PK\x01\x02", 24);
        let mut archive = Archive::open(&bytes, "docx", &ArchiveLimits::default()).unwrap();
        let error = archive.read("a.xml").unwrap_err();
        assert!(
            matches!(
                error,
                ParseError::ArchiveTooLarge(_) | ParseError::Malformed { .. }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let error = Archive::open(
            b"PK\x03\x04 definitely not a zip",
            "docx",
            &ArchiveLimits::default(),
        )
        .err()
        .unwrap();
        assert!(
            matches!(error, ParseError::Malformed { format: "docx", .. }),
            "{error:?}"
        );
    }
}
