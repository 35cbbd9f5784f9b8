//! The bomb corpus: hostile documents made at test time (nothing large is committed), each small
//! on disk and built to exhaust memory, stack or time in a naive parser. Shared by
//! `pipelines/tests/bombs.rs` (the parsers) and `tests/integration/parse_bombs.rs` (a server).
//!
//! Dependencies: `flate2` and `zip` (both test crates have them).

#![allow(dead_code)]

use std::io::{Cursor, Write};

use flate2::{Compress, Compression, FlushCompress};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// One hostile document: its file name (the extension gives the format) and bytes.
pub struct Bomb {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// What it attacks, for messages.
    pub attack: &'static str,
}

/// Every bomb of the corpus.
pub fn corpus() -> Vec<Bomb> {
    vec![
        Bomb {
            name: "flate-bomb.pdf",
            bytes: pdf_flate_bomb(8 << 30),
            attack: "a page content stream that inflates to 8 GiB",
        },
        Bomb {
            name: "objstm-bomb.pdf",
            bytes: pdf_object_stream_bomb(8 << 30),
            attack: "an object stream, decoded at load, that inflates to 8 GiB",
        },
        Bomb {
            name: "nested.pdf",
            bytes: pdf_deeply_nested(1_000_000),
            attack: "arrays and dictionaries nested a million deep, and a page whose Parent chain loops",
        },
        Bomb {
            name: "pages.pdf",
            bytes: pdf_page_tree(100_000),
            attack: "a page tree of 100,000 pages",
        },
        Bomb {
            name: "page-dag.pdf",
            bytes: pdf_page_dag(40, 16),
            attack: "a page tree whose nodes share their kids, 16^40 pages if followed",
        },
        Bomb {
            name: "zip-bomb.docx",
            bytes: docx_zip_bomb(),
            attack: "a docx whose document part unzips to 256 MiB of zeros",
        },
        Bomb {
            name: "laughs.xml",
            bytes: billion_laughs_xml(),
            attack: "billion laughs: entities expanding to 10^9 copies",
        },
        Bomb {
            name: "laughs.docx",
            bytes: billion_laughs_docx(),
            attack: "a docx whose document part is a billion-laughs DTD",
        },
        Bomb {
            name: "nested.html",
            bytes: format!("{}deep text", "<div>".repeat(200_000)).into_bytes(),
            attack: "HTML elements nested 200,000 deep",
        },
        Bomb {
            name: "nested.md",
            bytes: format!(
                "{}deep quote\n\n{}deep item\n",
                "> ".repeat(10_000),
                "  ".repeat(5_000) + "- "
            )
            .into_bytes(),
            attack: "Markdown block quotes nested 10,000 deep and a list item indented 10,000 columns",
        },
        Bomb {
            name: "nested.json",
            bytes: format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000)).into_bytes(),
            attack: "JSON arrays nested a million deep",
        },
        Bomb {
            name: "nested.eml",
            bytes: eml_nested_multipart(10_000),
            attack: "MIME multiparts nested 10,000 deep",
        },
    ]
}

/// Raw deflate of `len` zeros ending in a full flush: byte-aligned and with no back-references
/// into what came before, so copies of it can be concatenated.
fn deflated_zeros_chunk(len: usize) -> Vec<u8> {
    let zeros = vec![0_u8; len];
    let mut compress = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(len / 512 + 1024);
    while (compress.total_in() as usize) < len {
        let consumed = compress.total_in() as usize;
        if out.capacity() - out.len() < 1024 {
            out.reserve(64 * 1024);
        }
        compress
            .compress_vec(&zeros[consumed..], &mut out, FlushCompress::None)
            .expect("deflate");
    }
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(64 * 1024);
        }
        let before = out.len();
        compress
            .compress_vec(&[], &mut out, FlushCompress::Full)
            .expect("deflate");
        if out.len() == before {
            break;
        }
    }
    out
}

/// A zlib stream of `inflated` zeros (a multiple of 16 MiB), about 1/1000 of that in size, made
/// without ever holding the inflated data: one deflated 16 MiB chunk repeated, a final empty
/// block and the Adler-32 of that many zeros (a = 1, b = n mod 65521).
pub fn zlib_zeros(inflated: u64) -> Vec<u8> {
    const CHUNK: u64 = 16 << 20;
    let chunk = deflated_zeros_chunk(CHUNK as usize);
    let copies = inflated.div_ceil(CHUNK);
    let mut out = Vec::with_capacity(2 + chunk.len() * copies as usize + 6);
    out.extend_from_slice(&[0x78, 0xDA]);
    for _ in 0..copies {
        out.extend_from_slice(&chunk);
    }
    // Final fixed-Huffman block holding only the end-of-block code.
    out.extend_from_slice(&[0x03, 0x00]);
    let total = copies * CHUNK;
    let adler = (((total % 65_521) as u32) << 16) | 1;
    out.extend_from_slice(&adler.to_be_bytes());
    out
}

/// A PDF assembled object by object with a correct cross-reference table; object `n` is
/// `objects[n - 1]`, the catalog is object 1.
pub struct Pdf {
    objects: Vec<Vec<u8>>,
}

impl Pdf {
    pub fn new() -> Self {
        Self { objects: Vec::new() }
    }

    /// Adds an object (its body, without `n 0 obj`), returning its number.
    pub fn add(&mut self, body: impl Into<Vec<u8>>) -> usize {
        self.objects.push(body.into());
        self.objects.len()
    }

    /// Sets object `number`'s body (for objects reserved before their body was known).
    pub fn set(&mut self, number: usize, body: impl Into<Vec<u8>>) {
        self.objects[number - 1] = body.into();
    }

    /// A stream object body.
    pub fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut body = format!("<<{dict} /Length {}>>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        body
    }

    pub fn finish(self) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for (index, body) in self.objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", index + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes());
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<</Size {} /Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n",
                self.objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }
}

impl Default for Pdf {
    fn default() -> Self {
        Self::new()
    }
}

const FONT: &str = "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>";

/// A one-page PDF whose page content is a Flate stream of `inflated` zeros.
pub fn pdf_flate_bomb(inflated: u64) -> Vec<u8> {
    let mut pdf = Pdf::new();
    pdf.add("<</Type/Catalog/Pages 2 0 R>>");
    pdf.add("<</Type/Pages/Kids[3 0 R]/Count 1>>");
    pdf.add(
        "<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
    );
    pdf.add(Pdf::stream("/Filter/FlateDecode", &zlib_zeros(inflated)));
    pdf.add(FONT);
    pdf.finish()
}

/// A PDF whose page objects live in an object stream that inflates to `inflated` bytes (zeros
/// after the real objects): lopdf decodes object streams while loading the file.
pub fn pdf_object_stream_bomb(inflated: u64) -> Vec<u8> {
    let mut pdf = Pdf::new();
    pdf.add("<</Type/Catalog/Pages 2 0 R>>");
    pdf.add("<</Type/Pages/Kids[3 0 R]/Count 1>>");
    pdf.add("<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>");
    pdf.add(Pdf::stream(
        "/Type/ObjStm/N 1/First 4/Filter/FlateDecode",
        &zlib_zeros(inflated),
    ));
    pdf.finish()
}

/// A PDF with arrays and dictionaries nested `depth` deep (in an object and in the page's
/// content stream), and a second page whose `Parent` chain loops and that names no resources,
/// so inherited attributes are looked up around the loop.
pub fn pdf_deeply_nested(depth: usize) -> Vec<u8> {
    let mut pdf = Pdf::new();
    pdf.add("<</Type/Catalog/Pages 2 0 R/Nested 6 0 R>>");
    pdf.add("<</Type/Pages/Kids[3 0 R 5 0 R]/Count 2>>");
    pdf.add(
        "<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 7 0 R>>>>>>",
    );
    let mut content = b"BT /F1 12 Tf 72 700 Td ".to_vec();
    content.extend(std::iter::repeat_n(b'[', depth));
    content.extend(std::iter::repeat_n(b']', depth));
    content.extend_from_slice(b" Tj ");
    content.extend(std::iter::repeat_n(b"<</A ".as_slice(), depth / 10).flatten());
    content.extend_from_slice(b" ET");
    pdf.add(Pdf::stream("", &content));
    // Object 8 is its own parent, through object 5.
    pdf.add("<</Type/Page/Parent 8 0 R/Contents 4 0 R>>");
    let mut nested = "[".repeat(depth);
    nested.push_str(&"]".repeat(depth));
    pdf.add(nested);
    pdf.add(FONT);
    pdf.add("<</Type/Pages/Parent 5 0 R/Kids[5 0 R]/Count 1>>");
    pdf.finish()
}

/// A PDF with `pages` pages, each with a line of text, under one flat `Kids` array.
pub fn pdf_page_tree(pages: usize) -> Vec<u8> {
    let mut pdf = Pdf::new();
    pdf.add("<</Type/Catalog/Pages 2 0 R>>");
    pdf.add(Vec::new());
    pdf.add(Pdf::stream("", b"BT /F1 12 Tf 72 700 Td (a page) Tj ET"));
    pdf.add(FONT);
    let mut kids = String::with_capacity(pages * 10);
    for _ in 0..pages {
        let page = pdf.add("<</Type/Page/Parent 2 0 R/Contents 3 0 R>>");
        kids.push_str(&format!("{page} 0 R "));
    }
    // Media box and resources are inherited from the root node, keeping the file under 10 MB.
    pdf.set(
        2,
        format!(
            "<</Type/Pages/MediaBox[0 0 612 792]/Resources<</Font<</F1 4 0 R>>>>/Kids[{kids}]/Count {pages}>>"
        ),
    );
    pdf.finish()
}

/// A page tree `levels` deep where every node lists the next node `fanout` times: followed
/// naively it has fanout^levels pages, from a file of a few kilobytes.
pub fn pdf_page_dag(levels: usize, fanout: usize) -> Vec<u8> {
    let mut pdf = Pdf::new();
    pdf.add("<</Type/Catalog/Pages 3 0 R>>");
    pdf.add(Pdf::stream("", b"BT /F1 12 Tf 72 700 Td (shared) Tj ET"));
    // Nodes 3 .. 3 + levels - 1, then the one page.
    let first = 3;
    let page = first + levels;
    for level in 0..levels {
        let node = first + level;
        let kid = node + 1;
        let kids = format!("{kid} 0 R ").repeat(fanout);
        let parent = if level == 0 {
            String::new()
        } else {
            format!("/Parent {} 0 R", node - 1)
        };
        pdf.add(format!("<</Type/Pages{parent}/Kids[{kids}]/Count 1>>"));
    }
    assert_eq!(pdf.add(format!(
        "<</Type/Page/Parent {} 0 R/MediaBox[0 0 612 792]/Contents 2 0 R/Resources<</Font<</F1 {} 0 R>>>>>>",
        page - 1,
        page + 1
    )), page);
    pdf.add(FONT);
    pdf.finish()
}

/// A zip of `(name, content)` entries, deflated.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(true);
    for (name, content) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

/// A docx whose `word/document.xml` is 256 MiB of zeros (about 1 MiB zipped: more than the
/// 200 MiB budget, and compressed far beyond the ratio real documents reach), written in 16 MiB
/// pieces.
pub fn docx_zip_bomb() -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    writer.start_file("[Content_Types].xml", options).unwrap();
    writer.write_all(CONTENT_TYPES.as_bytes()).unwrap();
    writer.start_file("word/document.xml", options).unwrap();
    let piece = vec![0_u8; 16 << 20];
    for _ in 0..16 {
        writer.write_all(&piece).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// The DTD of the billion-laughs attack: `&lol9;` expands to 10^9 "lol"s.
fn laughs_dtd(root: &str) -> String {
    let mut dtd = format!("<!DOCTYPE {root} [\n<!ENTITY lol \"lol\">\n");
    for level in 1..=9 {
        let previous = if level == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", level - 1)
        };
        let refs = format!("&{previous};").repeat(10);
        dtd.push_str(&format!("<!ENTITY lol{level} \"{refs}\">\n"));
    }
    dtd.push_str("]>\n");
    dtd
}

pub fn billion_laughs_xml() -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?>\n{}<lolz><title>laughs</title><p>before &lol9; after</p></lolz>\n",
        laughs_dtd("lolz")
    )
    .into_bytes()
}

pub fn billion_laughs_docx() -> Vec<u8> {
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>before &lol9; after</w:t></w:r></w:p></w:body></w:document>",
        laughs_dtd("w:document")
    );
    zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("word/document.xml", document.as_bytes()),
    ])
}

/// An e-mail whose body is `depth` multiparts, each inside the previous one.
pub fn eml_nested_multipart(depth: usize) -> Vec<u8> {
    let mut out =
        String::from("From: a@example.com\r\nTo: b@example.com\r\nSubject: nested\r\nMIME-Version: 1.0\r\n");
    for level in 0..depth {
        out.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n"
        ));
    }
    out.push_str("Content-Type: text/plain\r\n\r\ninnermost\r\n");
    for level in (0..depth).rev() {
        out.push_str(&format!("--b{level}--\r\n"));
    }
    out.into_bytes()
}
