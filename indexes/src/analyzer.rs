//! Full-text analyzers: how a dataset's text becomes BM25 terms, chosen by its language.
//!
//! - Languages tantivy stems (English, French, German, Spanish, Russian, ...): word split,
//!   lowercase, the language's stop words where tantivy has a list, Snowball stemming.
//! - Chinese: jieba-rs word segmentation in search mode (long words also give their parts), then
//!   lowercase and English stemming for the Latin words mixed into Chinese text.
//! - Japanese and Korean: overlapping character bigrams over CJK runs, as Elasticsearch's `cjk`
//!   analyzer does. A morphological analyzer (lindera) needs a dictionary that cannot be fetched
//!   here: Korean's (mecab-ko-dic) is only published compiled for MeCab.
//! - Any other language: word split and lowercase, no stemming (a wrong stemmer hurts more than
//!   none).
//!
//! The analyzer's name is recorded in the tantivy schema of the index it built, so an index is
//! always queried with the analyzer it was written with, whatever the dataset says later.

use std::sync::LazyLock;

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer, Token,
    TokenStream, Tokenizer,
};

/// Tokens longer than this are dropped (base64 blobs, URLs glued together): they never match a
/// typed query and only bloat the term dictionary.
pub(crate) const MAX_TOKEN_BYTES: usize = 40;

/// A full-text analyzer; see the module docs for what each does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Analyzer {
    /// Words, lowercased, stop words dropped (where tantivy has a list), Snowball-stemmed.
    Stemmed(Language),
    /// jieba-rs segmentation (search mode).
    Chinese,
    /// Character bigrams over Han, Hiragana, Katakana and Hangul runs; other words whole.
    CjkBigram,
    /// [`Analyzer::CjkBigram`] plus every CJK character on its own (a one-character word, or a
    /// query character whose neighbours differ, still matches). Measured against bigrams alone
    /// on the Korean set: see the README.
    CjkUnigramBigram,
    /// Words, lowercased.
    Simple,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::Stemmed(Language::English)
    }
}

/// Stemmed languages: English name, ISO 639-1 code, tantivy language.
const STEMMED: [(&str, &str, Language); 18] = [
    ("english", "en", Language::English),
    ("french", "fr", Language::French),
    ("german", "de", Language::German),
    ("spanish", "es", Language::Spanish),
    ("italian", "it", Language::Italian),
    ("portuguese", "pt", Language::Portuguese),
    ("russian", "ru", Language::Russian),
    ("dutch", "nl", Language::Dutch),
    ("swedish", "sv", Language::Swedish),
    ("norwegian", "no", Language::Norwegian),
    ("danish", "da", Language::Danish),
    ("finnish", "fi", Language::Finnish),
    ("hungarian", "hu", Language::Hungarian),
    ("romanian", "ro", Language::Romanian),
    ("turkish", "tr", Language::Turkish),
    ("greek", "el", Language::Greek),
    ("arabic", "ar", Language::Arabic),
    ("tamil", "ta", Language::Tamil),
];

const CHINESE: &str = "zh_jieba";
const CJK_BIGRAM: &str = "cjk_bigram";
const CJK_UNIGRAM_BIGRAM: &str = "cjk_uni_bigram";
const SIMPLE: &str = "simple_lower";

impl Analyzer {
    /// The analyzer for a document language as Dify names it ("English", "Chinese Simplified",
    /// "Japanese", "Korean", ...), or as an ISO code ("en", "zh-Hans", "ja", "ko-KR").
    /// Case and surrounding space do not matter; an unknown language gets [`Analyzer::Simple`].
    pub fn for_language(language: &str) -> Self {
        let language = language.trim().to_lowercase().replace('_', "-");
        // "Chinese Simplified" -> "chinese", "pt-BR" -> "pt", "Portuguese (Brazil)" -> "portuguese".
        let head = language.split([' ', '-', '(']).next().unwrap_or_default();
        match head {
            "chinese" | "zh" | "中文" | "简体中文" | "繁體中文" => Analyzer::Chinese,
            "japanese" | "ja" | "日本語" | "korean" | "ko" | "한국어" => Analyzer::CjkBigram,
            _ => STEMMED
                .iter()
                .find(|(name, code, _)| head == *name || head == *code)
                .map_or(Analyzer::Simple, |(_, _, language)| Analyzer::Stemmed(*language)),
        }
    }

    /// The name the analyzer is registered and recorded under in an index schema.
    /// English keeps `en_stem_stop`, the name indexes were built with before languages existed.
    pub fn name(self) -> String {
        match self {
            Analyzer::Stemmed(language) => {
                let code = STEMMED
                    .iter()
                    .find(|(_, _, l)| *l == language)
                    .map_or("xx", |(_, code, _)| *code);
                if StopWordFilter::new(language).is_some() {
                    format!("{code}_stem_stop")
                } else {
                    format!("{code}_stem")
                }
            }
            Analyzer::Chinese => CHINESE.into(),
            Analyzer::CjkBigram => CJK_BIGRAM.into(),
            Analyzer::CjkUnigramBigram => CJK_UNIGRAM_BIGRAM.into(),
            Analyzer::Simple => SIMPLE.into(),
        }
    }

    /// The analyzer recorded under `name` (see [`Self::name`]), None if unknown.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            CHINESE => Some(Analyzer::Chinese),
            CJK_BIGRAM => Some(Analyzer::CjkBigram),
            CJK_UNIGRAM_BIGRAM => Some(Analyzer::CjkUnigramBigram),
            SIMPLE => Some(Analyzer::Simple),
            _ => STEMMED
                .iter()
                .map(|(_, _, language)| Analyzer::Stemmed(*language))
                .find(|analyzer| analyzer.name() == name),
        }
    }

    /// Whether a query is read in tantivy's query syntax. Not for Chinese, Japanese and Korean:
    /// their sentences have no spaces, and the query parser turns a run of several tokens into a
    /// phrase that must match exactly; their queries are the OR of their terms instead.
    pub fn parses_query_syntax(self) -> bool {
        matches!(self, Analyzer::Stemmed(_) | Analyzer::Simple)
    }

    /// The tantivy analyzer.
    pub fn build(self) -> TextAnalyzer {
        match self {
            Analyzer::Stemmed(language) => {
                let words = TextAnalyzer::builder(SimpleTokenizer::default())
                    .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                    .filter(LowerCaser);
                match StopWordFilter::new(language) {
                    Some(stop_words) => words.filter(stop_words).filter(Stemmer::new(language)).build(),
                    None => words.filter(Stemmer::new(language)).build(),
                }
            }
            Analyzer::Chinese => TextAnalyzer::builder(JiebaTokenizer)
                .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                .filter(LowerCaser)
                .filter(Stemmer::new(Language::English))
                .build(),
            Analyzer::CjkBigram => TextAnalyzer::builder(CjkBigramTokenizer::default())
                .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                .filter(LowerCaser)
                .build(),
            Analyzer::CjkUnigramBigram => TextAnalyzer::builder(CjkBigramTokenizer { unigrams: true })
                .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                .filter(LowerCaser)
                .build(),
            Analyzer::Simple => TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                .filter(LowerCaser)
                .build(),
        }
    }

    /// The terms `text` is indexed (or searched) as.
    pub fn terms(self, text: &str) -> Vec<String> {
        terms(&mut self.build(), text)
    }
}

/// The terms a tantivy analyzer makes of `text`.
pub(crate) fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

/// Tokens computed up front, handed out one by one.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    /// Index of the current token plus one (0 before the first `advance`).
    next: usize,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        Self { tokens, next: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next.saturating_sub(1)]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next.saturating_sub(1)]
    }
}

/// The word-frequency dictionary jieba-rs embeds, loaded once per process.
pub(crate) static JIEBA: LazyLock<jieba_rs::Jieba> = LazyLock::new(jieba_rs::Jieba::new);

/// jieba-rs search-mode segmentation; pieces without a letter or digit (spaces, punctuation) are
/// dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct JiebaTokenizer;

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let base = text.as_ptr() as usize;
        let mut tokens = Vec::new();
        for piece in JIEBA.cut_for_search(text, true) {
            let word = piece.word;
            if !word.chars().any(char::is_alphanumeric) {
                continue;
            }
            // Pieces are slices of `text`: their byte offsets follow from their addresses.
            let from = (word.as_ptr() as usize)
                .checked_sub(base)
                .filter(|from| from + word.len() <= text.len())
                .unwrap_or(0);
            tokens.push(Token {
                offset_from: from,
                offset_to: from + word.len(),
                position: tokens.len(),
                text: word.to_string(),
                position_length: 1,
            });
        }
        VecTokenStream::new(tokens)
    }
}

/// Han, Hiragana, Katakana (full and half width) and Hangul.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F // Han
        | 0x3040..=0x309F // Hiragana
        | 0x30A0..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F // Katakana
        | 0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF // Hangul
    )
}

/// Overlapping bigrams over each run of CJK characters (a lone character stays a unigram), and
/// runs of other letters and digits as whole words. "東京大学で" gives 東京, 京大, 大学, 学で:
/// a query shares bigrams with the text that contains its words, whatever the segmentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CjkBigramTokenizer {
    /// Also every CJK character on its own.
    pub unigrams: bool,
}

impl Tokenizer for CjkBigramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut push = |from: usize, to: usize| {
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position: tokens.len(),
                text: text[from..to].to_string(),
                position_length: 1,
            });
        };
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let end_of = |i: usize| chars.get(i + 1).map_or(text.len(), |(at, _)| *at);
        let mut i = 0;
        while i < chars.len() {
            let (start, c) = chars[i];
            if is_cjk(c) {
                let mut j = i;
                while j + 1 < chars.len() && is_cjk(chars[j + 1].1) {
                    j += 1;
                }
                if i == j || self.unigrams {
                    for (k, (at, _)) in chars.iter().enumerate().take(j + 1).skip(i) {
                        push(*at, end_of(k));
                    }
                }
                for (k, (at, _)) in chars.iter().enumerate().take(j).skip(i) {
                    push(*at, end_of(k + 1));
                }
                i = j + 1;
            } else if c.is_alphanumeric() {
                let mut j = i;
                while j + 1 < chars.len() && chars[j + 1].1.is_alphanumeric() && !is_cjk(chars[j + 1].1) {
                    j += 1;
                }
                push(start, end_of(j));
                i = j + 1;
            } else {
                i += 1;
            }
        }
        VecTokenStream::new(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dify_language_names_choose_the_analyzer() {
        for (language, expected) in [
            ("English", Analyzer::Stemmed(Language::English)),
            (" english ", Analyzer::Stemmed(Language::English)),
            ("en-US", Analyzer::Stemmed(Language::English)),
            ("Chinese Simplified", Analyzer::Chinese),
            ("Chinese Traditional", Analyzer::Chinese),
            ("zh-Hans", Analyzer::Chinese),
            ("Japanese", Analyzer::CjkBigram),
            ("ko_KR", Analyzer::CjkBigram),
            ("Korean", Analyzer::CjkBigram),
            ("French", Analyzer::Stemmed(Language::French)),
            ("Portuguese (Brazil)", Analyzer::Stemmed(Language::Portuguese)),
            ("de", Analyzer::Stemmed(Language::German)),
            ("Vietnamese", Analyzer::Simple),
            ("", Analyzer::Simple),
        ] {
            assert_eq!(Analyzer::for_language(language), expected, "{language:?}");
        }
    }

    #[test]
    fn names_round_trip_and_english_keeps_its_old_name() {
        assert_eq!(Analyzer::default().name(), "en_stem_stop");
        let mut all = vec![
            Analyzer::Chinese,
            Analyzer::CjkBigram,
            Analyzer::CjkUnigramBigram,
            Analyzer::Simple,
        ];
        all.extend(STEMMED.iter().map(|(_, _, l)| Analyzer::Stemmed(*l)));
        for analyzer in all {
            assert_eq!(
                Analyzer::from_name(&analyzer.name()),
                Some(analyzer),
                "{analyzer:?}"
            );
        }
        assert_eq!(Analyzer::Stemmed(Language::Greek).name(), "el_stem");
        assert_eq!(Analyzer::from_name("klingon"), None);
    }

    #[test]
    fn english_lowercases_stems_and_drops_stop_words() {
        let english = Analyzer::default();
        assert_eq!(
            english.terms("The Runner is running and runs"),
            ["runner", "run", "run"]
        );
        assert!(english.terms("the and of a").is_empty());
        assert_eq!(english.terms(&format!("ok {}", "x".repeat(60))), ["ok"]);
    }

    #[test]
    fn french_uses_its_own_stop_words_and_stemmer() {
        let french = Analyzer::for_language("French");
        assert_eq!(french.terms("Les chanteuses chantaient"), ["chanteux", "chant"]);
    }

    #[test]
    fn chinese_is_segmented_into_words() {
        let terms = Analyzer::Chinese.terms("我们在北京大学学习机器学习，Running fast。");
        for word in ["北京", "大学", "北京大学", "学习", "机器"] {
            assert!(terms.iter().any(|t| t == word), "{word} missing from {terms:?}");
        }
        // Latin words inside Chinese text are lowercased and stemmed; punctuation is gone.
        assert!(terms.iter().any(|t| t == "run"), "{terms:?}");
        assert!(!terms.iter().any(|t| t == "，" || t == "。"), "{terms:?}");
        // Offsets point at the piece in the text.
        let mut tokenizer = JiebaTokenizer;
        let text = "北京大学";
        let mut stream = tokenizer.token_stream(text);
        while let Some(token) = stream.next() {
            assert_eq!(&text[token.offset_from..token.offset_to], token.text);
        }
    }

    #[test]
    fn japanese_and_korean_become_bigrams() {
        assert_eq!(
            Analyzer::CjkBigram.terms("東京大学で学ぶ"),
            ["東京", "京大", "大学", "学で", "で学", "学ぶ"]
        );
        assert_eq!(
            Analyzer::CjkBigram.terms("서울은 한국의 수도"),
            ["서울", "울은", "한국", "국의", "수도"]
        );
        // Lone characters stay unigrams; Latin words and digits stay whole and are lowercased.
        assert_eq!(
            Analyzer::CjkBigram.terms("猫 iPhone 15を買う"),
            ["猫", "iphone", "15", "を買", "買う"]
        );
        for unigrams in [false, true] {
            let mut tokenizer = CjkBigramTokenizer { unigrams };
            let text = "ｶﾀｶﾅ ok 서울";
            let mut stream = tokenizer.token_stream(text);
            while let Some(token) = stream.next() {
                assert_eq!(&text[token.offset_from..token.offset_to], token.text);
            }
        }
    }

    #[test]
    fn unigram_bigram_adds_every_character() {
        assert_eq!(
            Analyzer::CjkUnigramBigram.terms("서울은 수도 猫"),
            ["서", "울", "은", "서울", "울은", "수", "도", "수도", "猫"]
        );
    }
}
