//! Every document format on real files (pipelines/tests/fixtures, written by
//! scripts/make_format_fixtures.py with the formats' own libraries), through the public entry
//! points: `parse_guarded`, `format_for_upload`. Then hostile input: zip bombs, and random or
//! mutated bytes into every parser, which must end in Ok or Err, never a crash or a hang.

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use pipelines::ParsedDocument;
use pipelines::parse::{ContentKind, Format, ParseError, ParseLimits, format_for_upload, parse_guarded};
use proptest::prelude::*;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn parse_fixture(name: &str) -> ParsedDocument {
    let extension = name.rsplit('.').next().unwrap();
    let format = Format::from_extension(extension).unwrap();
    let bytes = fixture(name);
    assert_eq!(format_for_upload(extension, &bytes).unwrap(), format, "{name}");
    parse_guarded(bytes, format, &ParseLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn docx_headings_lists_and_tables() {
    let doc = parse_fixture("sample.docx");
    assert_eq!(doc.title.as_deref(), Some("Field Guide to Ragd"));
    assert_eq!(doc.sections.len(), 1);
    assert_eq!(
        doc.sections[0].text,
        "# Installing ragd\n\nRagd runs as one binary. Download it and start the server.\n\n\
         ## Requirements\n\n- A 64-bit Linux machine\n- Two gigabytes of memory\n\n\
         ## Steps\n\n1. Unpack the archive\n2. Run ragd serve\n3. Open the console\n\n\
         ## Ports\n\n| Service | Port | Protocol |\n| --- | --- | --- |\n| API | 5001 | HTTP |\n| Metrics | 9100 | HTTP\\|text |\n\n\
         Ports can be changed in ragd.toml."
    );
}

#[test]
fn xlsx_one_section_per_sheet_with_header_rows() {
    let doc = parse_fixture("sample.xlsx");
    assert_eq!(doc.title.as_deref(), Some("Stock workbook"));
    // The empty third sheet gives no section.
    assert_eq!(doc.sections.len(), 2);
    assert_eq!(
        doc.sections[0].text,
        "# Inventory\n\n| Item | Quantity | Price | Restocked | Active |\n| --- | --- | --- | --- | --- |\n\
         | Apples | 120 | 0.5 | 2024-03-01 | TRUE |\n| Pears | 35 | 0.75 | 2024-02-15 14:30:00 | FALSE |\n\
         | Plums \\| red | 7 |  |  |  |"
    );
    assert_eq!(
        doc.sections[1].text,
        "# Notes & Plans\n\n| Topic | Detail |\n| --- | --- |\n| Supplier | Orchard Co. second line |"
    );
}

#[test]
fn xls_sheets_numbers_dates_and_cjk() {
    let doc = parse_fixture("sample.xls");
    let texts: Vec<&str> = doc.sections.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "# Budget\n\n| Category | Amount | Due |\n| --- | --- | --- |\n| Rent | 1200 | 2024-04-01 |\n| Food | 310.25 |  |",
            "# People\n\n| Name | City |\n| --- | --- |\n| 王小明 | 北京 |",
        ]
    );
}

#[test]
fn xlsx_saved_as_xls_and_xls_saved_as_xlsx_still_parse() {
    let as_xls = parse_guarded(fixture("sample.xlsx"), Format::Xls, &ParseLimits::default()).unwrap();
    assert!(as_xls.sections[0].text.starts_with("# Inventory"));
    let as_xlsx = parse_guarded(fixture("sample.xls"), Format::Xlsx, &ParseLimits::default()).unwrap();
    assert!(as_xlsx.sections[0].text.starts_with("# Budget"));
}

#[test]
fn pptx_slides_numbers_and_notes() {
    let doc = parse_fixture("sample.pptx");
    assert_eq!(doc.title.as_deref(), Some("Quarterly Review"));
    let pages: Vec<Option<u32>> = doc.sections.iter().map(|s| s.page).collect();
    assert_eq!(pages, [Some(1), Some(2), Some(3)]);
    assert_eq!(doc.sections[0].text, "# Quarterly Review\n\nSecond quarter, 2024");
    assert_eq!(
        doc.sections[1].text,
        "# Highlights\n\nRevenue grew 12%\nTwo new regions\n\n## Notes\n\nMention the Lisbon office."
    );
    assert_eq!(
        doc.sections[2].text,
        "# Numbers\n\n| Region | Sales |\n| --- | --- |\n| North | 410 |\n| South | 385 |\n\n\
         Figures in thousands\n\n## Notes\n\nSouth caught up in June."
    );
}

#[test]
fn pptx_slide_limit_uses_max_pages() {
    let limits = ParseLimits {
        max_pages: 2,
        ..ParseLimits::default()
    };
    let error = parse_guarded(fixture("sample.pptx"), Format::Pptx, &limits).unwrap_err();
    assert!(
        matches!(error, ParseError::TooManyPages { pages: 3, limit: 2 }),
        "{error:?}"
    );
}

#[test]
fn epub_chapters_in_spine_order() {
    let doc = parse_fixture("sample.epub");
    assert_eq!(doc.title.as_deref(), Some("A Day at the Harbour"));
    let texts: Vec<&str> = doc.sections.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "# The Harbour\n\nThe boats came in at dawn.\n\n- nets\n- ropes",
            "# The Market\n\nFish were sold by noon.",
            "# The Storm\n\nBy evening the wind rose.",
        ]
    );
}

#[test]
fn eml_headers_plain_body_and_text_attachment() {
    let doc = parse_fixture("sample.eml");
    assert_eq!(
        doc.title.as_deref(),
        Some("Notes on the Analytical Engine — draft")
    );
    assert_eq!(
        doc.sections[0].text,
        "From: Ada Lovelace <ada@example.org>\nTo: Charles Babbage <charles@example.org>, team@example.org\n\
         Date: 2024-03-04T10:15:00Z\nSubject: Notes on the Analytical Engine — draft\n\n\
         Dear Charles,\n\nThe notes are attached. Note G has the Bernoulli numbers.\n\nAda\n\n\
         ## Attachment: note-g.txt\n\nNote G: a method for the Bernoulli numbers.\nStep 1: set up the cards."
    );
}

#[test]
fn csv_delimiters_and_encodings() {
    let cases = [
        (
            "sample_semicolon_cp1252.csv",
            "| Produit | Prix | Catégorie |\n| --- | --- | --- |\n| Café | 2,50 | Boissons |\n| Crème brûlée | 4,00 | Desserts |",
        ),
        (
            "sample_gbk.csv",
            "| 名称 | 数量 | 备注 |\n| --- | --- | --- |\n| 苹果 | 3 | 新鲜的红色苹果 |\n| 香蕉 | 5 | 来自南方的香蕉 |",
        ),
        (
            "sample_utf16.tsv",
            "| Name | Score |\n| --- | --- |\n| Åsa | 9 |\n| Jürgen | 7 |",
        ),
        (
            "sample_pipe.csv",
            "| id | comment |\n| --- | --- |\n| 1 | quoted \\| pipe |\n| 2 | plain |",
        ),
    ];
    for (name, expected) in cases {
        assert_eq!(parse_fixture(name).sections[0].text, expected, "{name}");
    }
}

#[test]
fn xml_json_jsonl_vtt_and_properties() {
    let xml = parse_fixture("sample.xml");
    assert_eq!(xml.title.as_deref(), Some("Seed catalogue"));
    assert_eq!(
        xml.sections[0].text,
        "Seed catalogue\nRunner bean\nSow in May & water well.\nPea\nSow < 5 cm deep"
    );
    assert_eq!(
        parse_fixture("sample.json").sections[0].text,
        "title: Service settings\nserver.host: 0.0.0.0\nserver.port: 5001\nserver.tls: false\n\
         datasets[0].name: handbook\ndatasets[0].top_k: 4\ndatasets[1].name: faq\n\
         datasets[1].tags[0]: support\ndatasets[1].tags[1]: billing"
    );
    assert_eq!(
        parse_fixture("sample.jsonl").sections[0].text,
        "question: How do I reset my password?\nanswer: Use the login page.\n\n\
         question: Can I export data?\nanswer: Yes, as CSV."
    );
    assert_eq!(
        parse_fixture("sample.vtt").sections[0].text,
        "Harbour Master: The boats are late today.\nThe wind is strong & cold."
    );
    assert_eq!(
        parse_fixture("sample.properties").sections[0].text,
        "# Application settings\napp.name=Ragd\napp.greeting=Grüß Gott\nserver.port=5001\n"
    );
}

#[test]
fn upload_checks_refuse_mismatched_content() {
    let zip = fixture("sample.docx");
    let error = format_for_upload("pdf", &zip).unwrap_err();
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
    assert!(matches!(
        format_for_upload("xlsx", &fixture("sample.json")),
        Err(ParseError::ContentMismatch {
            found: ContentKind::Text,
            ..
        })
    ));
    assert!(matches!(
        format_for_upload("csv", &fixture("sample.xls")),
        Err(ParseError::ContentMismatch {
            found: ContentKind::Ole,
            ..
        })
    ));
    assert!(matches!(
        format_for_upload("doc", &fixture("sample.xls")),
        Err(ParseError::Unsupported(_))
    ));
    assert_eq!(ContentKind::detect(&fixture("sample.epub")), ContentKind::Zip);
    assert_eq!(ContentKind::detect(&fixture("sample.xls")), ContentKind::Ole);
}

/// A zip holding `entries`, each (name, content, deflated).
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, content) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn zip_bombs_are_refused_quickly_in_every_zip_format() {
    // 100 MiB of zeros deflates to about 100 KiB.
    let zeros = vec![0_u8; 100 * 1024 * 1024];
    let cases = [
        (Format::Docx, "word/document.xml"),
        (Format::Xlsx, "xl/sharedStrings.xml"),
        (Format::Pptx, "ppt/presentation.xml"),
        (Format::Epub, "META-INF/container.xml"),
    ];
    for (format, part) in cases {
        let bomb = zip_of(&[(part, &zeros)]);
        assert!(bomb.len() < 256 * 1024, "{format:?} bomb is {} bytes", bomb.len());
        let started = Instant::now();
        let error = parse_guarded(bomb, format, &ParseLimits::default()).unwrap_err();
        assert!(
            matches!(error, ParseError::ArchiveTooLarge(_)),
            "{format:?}: {error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("the file is refused as a possible zip bomb"),
            "{error}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{format:?} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn decompressed_size_limit_comes_from_parse_limits() {
    // 2 MiB of pseudo-random digits: compresses about 2:1, so only the total size limit applies.
    let mut state = 0x2545_f491_u32;
    let digits: Vec<u8> = (0..2 * 1024 * 1024)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            b'0' + (state >> 16) as u8 % 10
        })
        .collect();
    let docx = zip_of(&[("word/document.xml", &digits)]);
    let limits = ParseLimits {
        max_decompressed_bytes: 1024 * 1024,
        ..ParseLimits::default()
    };
    let error = parse_guarded(docx.clone(), Format::Docx, &limits).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the file is refused as a possible zip bomb: its content expands to more than 1 MiB"
    );
    // Within the default limit the same file parses (it has no paragraphs: empty text).
    assert!(parse_guarded(docx, Format::Docx, &ParseLimits::default()).is_ok());
}

#[test]
fn too_many_archive_entries_are_refused() {
    let entries: Vec<(String, Vec<u8>)> = (0..10_001).map(|i| (format!("x/{i}.xml"), Vec::new())).collect();
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
    let error = parse_guarded(zip_of(&refs), Format::Docx, &ParseLimits::default()).unwrap_err();
    assert!(
        error.to_string().contains("10001 entries, the limit is 10000"),
        "{error}"
    );
}

/// Positions of BIFF records of `kind` with `len` bytes of data in a file.
fn biff_record_positions(bytes: &[u8], kind: u16, len: u16) -> Vec<usize> {
    let mut header = kind.to_le_bytes().to_vec();
    header.extend(len.to_le_bytes());
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == header.as_slice())
        .map(|(at, _)| at)
        .collect()
}

#[test]
fn xls_with_huge_declared_dimensions_is_refused_before_calamine_allocates() {
    let mut bytes = fixture("sample.xls");
    let dimensions = biff_record_positions(&bytes, 0x0200, 14);
    assert!(!dimensions.is_empty());
    for at in dimensions {
        // Rows 0..u32::MAX, columns 0..255: calamine would reserve about a trillion cells.
        bytes[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        bytes[at + 14..at + 16].copy_from_slice(&255_u16.to_le_bytes());
    }
    let error = parse_guarded(bytes, Format::Xls, &ParseLimits::default()).unwrap_err();
    assert!(
        matches!(error, ParseError::SpreadsheetTooLarge { .. }),
        "{error:?}"
    );
}

#[test]
fn xls_with_far_apart_cells_is_refused() {
    let mut bytes = fixture("sample.xls");
    // A LABELSST record (type 0x00FD, 10 bytes): move its cell to the last row and column.
    let at = biff_record_positions(&bytes, 0x00FD, 10)[0];
    bytes[at + 4..at + 6].copy_from_slice(&u16::MAX.to_le_bytes());
    bytes[at + 6..at + 8].copy_from_slice(&u16::MAX.to_le_bytes());
    let error = parse_guarded(bytes, Format::Xls, &ParseLimits::default()).unwrap_err();
    assert!(
        matches!(error, ParseError::SpreadsheetTooLarge { .. }),
        "{error:?}"
    );
}

/// Every format with a fixture to mutate.
fn seeds() -> Vec<(Format, Vec<u8>)> {
    [
        (Format::Docx, "sample.docx"),
        (Format::Xlsx, "sample.xlsx"),
        (Format::Xls, "sample.xls"),
        (Format::Pptx, "sample.pptx"),
        (Format::Epub, "sample.epub"),
        (Format::Eml, "sample.eml"),
        (Format::Csv, "sample_semicolon_cp1252.csv"),
        (Format::Xml, "sample.xml"),
        (Format::Json, "sample.json"),
        (Format::Jsonl, "sample.jsonl"),
        (Format::Vtt, "sample.vtt"),
        (Format::Text, "sample.properties"),
    ]
    .into_iter()
    .map(|(format, name)| (format, fixture(name)))
    .collect()
}

/// Cases per property: `PROPTEST_CASES` when set (long local fuzzing runs), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

/// Parses under the guard with a short time limit: Ok or Err are both fine, a timeout is a hang.
fn survives(bytes: Vec<u8>, format: Format) -> Result<(), TestCaseError> {
    let limits = ParseLimits {
        timeout: Duration::from_secs(30),
        ..ParseLimits::default()
    };
    match parse_guarded(bytes, format, &limits) {
        Err(ParseError::Timeout(_)) => Err(TestCaseError::fail(format!("{format:?} parser hung"))),
        Err(ParseError::Panicked(message)) => {
            // Contained, but worth knowing about.
            eprintln!("{format:?} parser panicked (contained): {message}");
            Ok(())
        }
        Ok(_) | Err(_) => Ok(()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_crash_any_parser(bytes in proptest::collection::vec(any::<u8>(), 0..4096), pick in 0..Format::ALL.len()) {
        survives(bytes, Format::ALL[pick])?;
    }

    #[test]
    fn random_bytes_behind_a_zip_or_ole_header_never_crash(
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
        header in prop::sample::select(vec![&b"PK\x03\x04"[..], b"PK\x05\x06", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", b"%PDF-1.4\n"]),
        pick in 0..Format::ALL.len(),
    ) {
        let mut bytes = header.to_vec();
        bytes.extend(tail);
        survives(bytes, Format::ALL[pick])?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_files_never_crash_their_parser(
        seed in 0..12_usize,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3_u8), 1..16),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        static SEEDS: std::sync::OnceLock<Vec<(Format, Vec<u8>)>> = std::sync::OnceLock::new();
        let (format, original) = &SEEDS.get_or_init(seeds)[seed];
        let mut bytes = original.clone();
        for (at, value, kind) in edits {
            if bytes.is_empty() {
                break;
            }
            let at = at.index(bytes.len());
            match kind {
                0 => bytes[at] = value,
                1 => bytes.insert(at, value),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        if truncate && !bytes.is_empty() {
            bytes.truncate(cut.index(bytes.len()));
        }
        survives(bytes, *format)?;
    }
}

/// Names and contents of a zip's entries.
type Entries = Vec<(String, Vec<u8>)>;

/// The entries of a zip fixture, decompressed.
fn unzip(bytes: &[u8]) -> Entries {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|index| {
            let mut entry = archive.by_index(index).unwrap();
            let name = entry.name().unwrap().into_owned();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
            (name, content)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), failure_persistence: None, ..ProptestConfig::default() })]

    /// Damage inside the packages' XML parts, where the byte-level mutations above rarely reach
    /// (they mostly break the compressed stream).
    #[test]
    fn mutated_xml_parts_of_real_packages_never_crash(
        seed in 0..4_usize,
        part in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![b'<', b'>', b'/', b'"', b'&', b'=', b'x', b'0', b'9', 0xFF, b' ']), 0..3_u8), 1..24),
    ) {
        static PACKAGES: std::sync::OnceLock<Vec<(Format, Entries)>> = std::sync::OnceLock::new();
        let packages = PACKAGES.get_or_init(|| {
            [(Format::Docx, "sample.docx"), (Format::Xlsx, "sample.xlsx"), (Format::Pptx, "sample.pptx"), (Format::Epub, "sample.epub")]
                .into_iter()
                .map(|(format, name)| (format, unzip(&fixture(name))))
                .collect()
        });
        let (format, entries) = &packages[seed];
        let mut entries = entries.clone();
        let xml_parts: Vec<usize> = (0..entries.len())
            .filter(|&i| [".xml", ".rels", ".opf", ".xhtml"].iter().any(|ext| entries[i].0.ends_with(ext)))
            .collect();
        let target = xml_parts[part.index(xml_parts.len())];
        let content = &mut entries[target].1;
        for (at, value, kind) in edits {
            if content.is_empty() {
                break;
            }
            let at = at.index(content.len());
            match kind {
                0 => content[at] = value,
                1 => content.insert(at, value),
                _ => {
                    content.remove(at);
                }
            }
        }
        let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
        survives(zip_of(&refs), *format)?;
    }
}
