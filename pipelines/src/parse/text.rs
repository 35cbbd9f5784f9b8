//! Plain text: encoding detection and newline normalisation, shared by the Markdown and HTML
//! parsers.
//!
//! Detection order: byte-order mark, then UTF-16 without a BOM (NUL bytes in every other position),
//! then valid UTF-8, then a caller's hint (HTML `<meta charset>`), then chardetng's guess (GBK,
//! Shift_JIS, EUC-KR, windows-1252, ...). Decoding never fails: bytes that do not fit the chosen
//! encoding become U+FFFD.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE};

use crate::document::ParsedDocument;

/// Parses a plain-text file into one section.
pub(super) fn parse(bytes: &[u8]) -> ParsedDocument {
    ParsedDocument::from_text(decode(bytes, None))
}

/// Decodes `bytes` to a string with `\n` line ends; `hint` is a declared encoding, used only when
/// the bytes carry no BOM and are not valid UTF-8.
pub(super) fn decode(bytes: &[u8], hint: Option<&'static Encoding>) -> String {
    let text = if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        encoding
            .decode_without_bom_handling(&bytes[bom_len..])
            .0
            .into_owned()
    } else if let Some(encoding) = sniff_utf16(bytes) {
        encoding.decode_without_bom_handling(bytes).0.into_owned()
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        text.to_string()
    } else {
        let encoding = hint.unwrap_or_else(|| guess_encoding(bytes));
        encoding.decode_without_bom_handling(bytes).0.into_owned()
    };
    normalize_newlines(text)
}

fn guess_encoding(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    detector.guess(None, false)
}

/// UTF-16 without a BOM: text that is mostly ASCII has a NUL in every other byte.
pub(super) fn sniff_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(8192) & !1];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even_nuls, mut odd_nuls) = (0, 0);
    for pair in sample.chunks_exact(2) {
        even_nuls += usize::from(pair[0] == 0);
        odd_nuls += usize::from(pair[1] == 0);
    }
    let mostly = |n: usize| n * 10 >= pairs * 3;
    let rarely = |n: usize| n * 20 < pairs;
    if mostly(odd_nuls) && rarely(even_nuls) {
        Some(UTF_16LE)
    } else if mostly(even_nuls) && rarely(odd_nuls) {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// `\r\n` and lone `\r` become `\n`.
pub(super) fn normalize_newlines(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        if bom {
            bytes.extend(if big_endian { [0xFE, 0xFF] } else { [0xFF, 0xFE] });
        }
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        bytes
    }

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode("héllo wörld".as_bytes(), None), "héllo wörld");
        let mut with_bom = vec![0xEF, 0xBB, 0xBF];
        with_bom.extend("héllo".as_bytes());
        assert_eq!(decode(&with_bom, None), "héllo");
    }

    #[test]
    fn utf16_with_bom_both_byte_orders() {
        let text = "Grüße, 世界\nline two";
        assert_eq!(decode(&utf16(text, false, true), None), text);
        assert_eq!(decode(&utf16(text, true, true), None), text);
    }

    #[test]
    fn utf16_without_bom_is_sniffed() {
        let text = "plain ASCII text saved as UTF-16 by Windows Notepad";
        assert_eq!(decode(&utf16(text, false, false), None), text);
        assert_eq!(decode(&utf16(text, true, false), None), text);
    }

    #[test]
    fn legacy_encodings_are_detected() {
        let cases = [
            (
                "这是一个用于测试编码检测的中文文本。我们需要足够长的内容，以便检测器能够做出正确的判断。知识库需要正确读取每一个字符。",
                encoding_rs::GBK,
            ),
            (
                "これは文字コードの検出をテストするための日本語の文章です。検出器が正しく判断できるように、十分な長さの文章が必要です。",
                encoding_rs::SHIFT_JIS,
            ),
            (
                "이것은 인코딩 감지를 테스트하기 위한 한국어 문장입니다. 감지기가 올바르게 판단할 수 있도록 충분히 긴 내용이 필요합니다.",
                encoding_rs::EUC_KR,
            ),
            (
                "Ceci est un texte français, écrit en Windows-1252 : déjà, où, élève, garçon, cœur.",
                encoding_rs::WINDOWS_1252,
            ),
        ];
        for (text, encoding) in cases {
            let (bytes, _, unmappable) = encoding.encode(text);
            assert!(!unmappable, "{} cannot encode the sample", encoding.name());
            assert!(
                std::str::from_utf8(&bytes).is_err(),
                "sample must not be valid UTF-8"
            );
            assert_eq!(decode(&bytes, None), text, "{}", encoding.name());
        }
    }

    #[test]
    fn hint_is_used_for_non_utf8_bytes_only() {
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("café");
        assert_eq!(decode(&latin, Some(encoding_rs::WINDOWS_1252)), "café");
        // Valid UTF-8 wins over a wrong declaration.
        assert_eq!(decode("café".as_bytes(), Some(encoding_rs::WINDOWS_1252)), "café");
    }

    #[test]
    fn newlines_are_normalised() {
        assert_eq!(decode(b"a\r\nb\rc\n\r\nd", None), "a\nb\nc\n\nd");
        let doc = parse(b"one\r\ntwo");
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(doc.sections[0].text, "one\ntwo");
        assert_eq!(doc.sections[0].page, None);
        assert_eq!(doc.title, None);
    }
}
