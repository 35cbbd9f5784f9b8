//! The language of a text as far as indexing and ranking need it: its dominant script.
//!
//! Two decisions hang on it. A dataset whose first document arrives without a `doc_language`
//! (Dify's clients rarely send one) takes the language its text is written in, so a Korean
//! knowledge base gets the CJK analyzer and the multilingual model instead of English stemming
//! and an English model. And a query in a script the dataset's model never learned (Korean
//! against all-MiniLM-L6-v2) is not fused with that model's vectors, which carry almost no
//! meaning for it (measured on Korean: hybrid nDCG@5 0.118 against 0.813 for full text alone).

/// Letters of a text, grouped by the scripts that decide a language or a model's fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Script {
    Latin,
    Hangul,
    /// Hiragana and Katakana: Japanese even when most letters are kanji.
    Kana,
    Han,
    Cyrillic,
    Greek,
    Arabic,
    Hebrew,
    Thai,
    Devanagari,
    Other,
}

/// Fewer letters than this say nothing reliable about a text.
const MIN_LETTERS: usize = 4;
/// Letters read at most: the start of a document decides.
const SAMPLE_CHARS: usize = 20_000;

fn script_of(c: char) -> Option<Script> {
    if !c.is_alphabetic() {
        return None;
    }
    let script = match c as u32 {
        0x0041..=0x024F | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xFF21..=0xFF5A => {
            Script::Latin
        }
        0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xAC00..=0xD7AF | 0xD7B0..=0xD7FF => {
            Script::Hangul
        }
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F => Script::Han,
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            Script::Arabic
        }
        0x0590..=0x05FF => Script::Hebrew,
        0x0E00..=0x0E7F => Script::Thai,
        0x0900..=0x097F => Script::Devanagari,
        _ => Script::Other,
    };
    Some(script)
}

/// The script most letters of `text` are written in (its first [`SAMPLE_CHARS`] characters),
/// None for a text with too few letters to tell. Japanese mixes kanji (Han) with kana: a text
/// whose CJK letters are a tenth or more kana is [`Script::Kana`].
pub fn dominant_script(text: &str) -> Option<Script> {
    let mut counts = [0usize; 11];
    let index = |s: Script| s as usize;
    let mut letters = 0;
    for c in text.chars().take(SAMPLE_CHARS) {
        if let Some(script) = script_of(c) {
            counts[index(script)] += 1;
            letters += 1;
        }
    }
    if letters < MIN_LETTERS {
        return None;
    }
    let kana = counts[index(Script::Kana)];
    let han = counts[index(Script::Han)];
    if kana > 0 && kana * 10 >= kana + han {
        // Japanese: count its kanji with its kana.
        counts[index(Script::Kana)] += han;
        counts[index(Script::Han)] = 0;
    }
    const ALL: [Script; 11] = [
        Script::Latin,
        Script::Hangul,
        Script::Kana,
        Script::Han,
        Script::Cyrillic,
        Script::Greek,
        Script::Arabic,
        Script::Hebrew,
        Script::Thai,
        Script::Devanagari,
        Script::Other,
    ];
    ALL.into_iter().max_by_key(|s| counts[index(*s)])
}

/// The document language (as Dify names it) a text in a non-Latin script is most likely in;
/// None for Latin text (English stays the default: telling Latin languages apart is not worth
/// a wrong stemmer) and for texts too short to tell.
pub fn detect_language(text: &str) -> Option<&'static str> {
    match dominant_script(text)? {
        Script::Latin | Script::Other => None,
        Script::Hangul => Some("Korean"),
        Script::Kana => Some("Japanese"),
        Script::Han => Some("Chinese Simplified"),
        Script::Cyrillic => Some("Russian"),
        Script::Greek => Some("Greek"),
        Script::Arabic => Some("Arabic"),
        Script::Hebrew => Some("Hebrew"),
        Script::Thai => Some("Thai"),
        Script::Devanagari => Some("Hindi"),
    }
}

/// Whether a model trained on Latin-script text only can embed `query` meaningfully: false for
/// a query written mostly in another script.
pub fn latin_model_reads(query: &str) -> bool {
    matches!(dominant_script(query), None | Some(Script::Latin | Script::Other))
}

fn is_markup(extension: &str) -> bool {
    let extension = extension.trim_start_matches('.').to_ascii_lowercase();
    matches!(extension.as_str(), "html" | "htm" | "xhtml" | "xml")
}

/// Whether an upload with this extension is text that [`text_sample`] can read.
pub fn is_text_format(extension: &str) -> bool {
    let extension = extension.trim_start_matches('.').to_ascii_lowercase();
    is_markup(&extension)
        || matches!(
            extension.as_str(),
            "txt" | "text" | "md" | "markdown" | "mdx" | "csv" | "tsv" | "json" | "jsonl" | "vtt" | "srt"
        )
}

/// Bytes of an upload read to tell its language.
pub const SAMPLE_BYTES: usize = 64 * 1024;

/// The readable text at the start of an upload whose format is text (plain text, Markdown,
/// HTML with its tags skipped, CSV, JSON, subtitles), None for binary formats (PDF, Office):
/// those are parsed by a worker later, and their dataset keeps the language it was given.
pub fn text_sample(extension: &str, bytes: &[u8]) -> Option<String> {
    if !is_text_format(extension) {
        return None;
    }
    let markup = is_markup(extension);
    let head = &bytes[..bytes.len().min(SAMPLE_BYTES)];
    let decoded = String::from_utf8_lossy(head);
    if !markup {
        return Some(decoded.into_owned());
    }
    // Tag names and attributes are Latin whatever the page's language.
    let mut out = String::with_capacity(decoded.len());
    let mut in_tag = false;
    for c in decoded.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_decide_the_language() {
        assert_eq!(
            detect_language("한국어 문서입니다. 검색이 잘 되어야 합니다."),
            Some("Korean")
        );
        assert_eq!(
            detect_language("これは日本語の文書です。検索できます。"),
            Some("Japanese")
        );
        assert_eq!(
            detect_language("这是一个中文文档，用于检索测试。"),
            Some("Chinese Simplified")
        );
        assert_eq!(detect_language("Это документ на русском языке."), Some("Russian"));
        assert_eq!(detect_language("An English document about honeybees."), None);
        assert_eq!(detect_language("Ein deutsches Dokument über Bienen."), None);
        assert_eq!(detect_language("123 456 !!"), None, "no letters");
        assert_eq!(detect_language("한국"), None, "too short to tell");
    }

    #[test]
    fn a_few_foreign_words_do_not_change_the_language() {
        let mixed = "한국어 문서에 English words가 조금 섞여 있어도 한국어입니다. 검색 시스템 설명.";
        assert_eq!(detect_language(mixed), Some("Korean"));
        let english = "The Korean word 한국 means Korea; this text is about the Korean language.";
        assert_eq!(detect_language(english), None);
    }

    #[test]
    fn japanese_is_told_from_chinese_by_its_kana() {
        // Mostly kanji, some kana: still Japanese.
        assert_eq!(
            detect_language("東京都港区六本木の美術館で展覧会が開催された"),
            Some("Japanese")
        );
        assert_eq!(
            detect_language("北京市朝阳区的美术馆举办了展览会"),
            Some("Chinese Simplified")
        );
    }

    #[test]
    fn samples_come_from_text_formats_only() {
        let html = "<html><head><title>꿀벌</title></head><body class=\"main-content\"><p>꿀벌은 꽃가루를 먹습니다</p></body></html>";
        let sample = text_sample("html", html.as_bytes()).unwrap();
        assert_eq!(detect_language(&sample), Some("Korean"), "{sample}");
        assert!(text_sample(".MD", "# 제목".as_bytes()).is_some());
        assert_eq!(text_sample("pdf", b"%PDF-1.7"), None);
        assert_eq!(text_sample("docx", b"PK"), None);
    }

    #[test]
    fn a_latin_model_reads_latin_queries_only() {
        assert!(latin_model_reads("what do honeybees eat"));
        assert!(latin_model_reads("42"));
        assert!(!latin_model_reads("꿀벌은 무엇을 먹나요"));
        assert!(!latin_model_reads("蜜蜂吃什么"));
        assert!(latin_model_reads("BM25 ranking 점수"));
    }
}
