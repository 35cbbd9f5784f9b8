//! Chinese, Japanese, Korean, Hebrew and Arabic PDFs (pipelines/tests/fixtures, written by
//! scripts/make_pdf_fixtures.py with fpdf2 and reportlab): the text comes out line by line in
//! reading order, right-to-left lines in logical order, with no spaces inside CJK runs.

use std::path::PathBuf;

use pipelines::parse::{Format, ParseLimits, parse_guarded};
use unicode_normalization::UnicodeNormalization;

/// The non-blank lines of a fixture's text, NFKC-normalised (Arabic presentation forms become
/// letters) and with surrounding whitespace trimmed.
fn lines_of(name: &str) -> Vec<String> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let doc =
        parse_guarded(bytes, Format::Pdf, &ParseLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    doc.full_text()
        .nfkc()
        .collect::<String>()
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn cjk_lines_in_order_from_an_embedded_truetype_subset() {
    assert_eq!(
        lines_of("cjk.pdf"),
        [
            "知识库服务",
            "文档解析、清洗、分块和向量化。",
            "支持 PDF 与 Word 文件",
            "日本語のテキストも読めます。",
            "한국어 문장도 지원합니다.",
        ]
    );
}

#[test]
fn cjk_from_non_embedded_cid_fonts_with_predefined_cmaps() {
    assert_eq!(
        lines_of("cjk_cid.pdf"),
        ["简体中文文本", "日本語の文書", "한국어 문서"]
    );
}

#[test]
fn right_to_left_lines_come_out_in_logical_order() {
    assert_eq!(
        lines_of("rtl.pdf"),
        [
            "שלום עולם",
            "מסמך בעברית עם שתי שורות",
            "مرحبا بالعالم",
            "نص عربي قصير",
            "גרסה 2 של ragd",
        ]
    );
}
