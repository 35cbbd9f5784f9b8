//! Segment keywords, as Dify's keyword table has them: up to `keyword_number` words per segment
//! ranked by TF-IDF, stop words left out.
//!
//! Dify runs jieba's TF-IDF with its own idf table; here a word is what the dataset's full-text
//! [`Analyzer`] makes a token of (jieba words for Chinese, character bigrams for Japanese and
//! Korean, words elsewhere), and the IDF comes from the texts extracted together (a document's
//! segments). A word's weight is its count in the segment times `ln((n + 1) / (df + 1)) + 1`,
//! ties going to the word seen first. Words are compared by their indexed term (so "Bees" and
//! "bee" are one word) and returned as first written.
//!
//! Keywords also feed full-text search: [`extra_keywords`] are those a segment's text does not
//! already contain, which the full-text index adds to the segment's row.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use tantivy::tokenizer::{RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenStream};

use crate::analyzer::{Analyzer, CjkBigramTokenizer, JIEBA, MAX_TOKEN_BYTES, terms};

/// Keywords per segment when the dataset sets none (Dify's `max_keywords_per_chunk`).
pub const DEFAULT_KEYWORD_NUMBER: usize = 10;

/// Function words of English and Chinese that are never keywords (besides the stop words the
/// analyzer itself drops).
static STOP_WORDS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("stopwords.txt").split_whitespace().collect());

/// One occurrence of a candidate word.
struct Word {
    /// As written in the text.
    surface: String,
    /// The term the full-text index has for it.
    term: String,
}

/// Extracts keywords of texts with the analyzer of their dataset.
pub struct KeywordExtractor {
    analyzer: Analyzer,
    /// The analyzer's filters, to turn a word into its indexed term.
    indexed: TextAnalyzer,
    /// Lowercased word -> its term (None: a stop word). Words repeat a lot across segments.
    term_of: HashMap<String, Option<String>>,
}

impl KeywordExtractor {
    pub fn new(analyzer: Analyzer) -> Self {
        Self {
            analyzer,
            indexed: analyzer.build(),
            term_of: HashMap::new(),
        }
    }

    /// Up to `limit` keywords of each text, best first; the IDF is computed over `texts`.
    pub fn extract_all(&mut self, texts: &[&str], limit: usize) -> Vec<Vec<String>> {
        let words: Vec<Vec<Word>> = texts.iter().map(|text| self.words(text)).collect();
        let mut df: HashMap<&str, usize> = HashMap::new();
        for text_words in &words {
            let distinct: HashSet<&str> = text_words.iter().map(|w| w.term.as_str()).collect();
            for term in distinct {
                *df.entry(term).or_default() += 1;
            }
        }
        let n = texts.len() as f64;
        words
            .iter()
            .map(|text_words| rank(text_words, limit, |term| df.get(term).copied().unwrap_or(0), n))
            .collect()
    }

    /// Up to `limit` keywords of one text (a segment added or edited on its own).
    pub fn extract(&mut self, text: &str, limit: usize) -> Vec<String> {
        self.extract_all(&[text], limit).pop().unwrap_or_default()
    }

    /// Candidate words of `text` in order.
    fn words(&mut self, text: &str) -> Vec<Word> {
        let surfaces: Vec<String> = match self.analyzer {
            Analyzer::Chinese => JIEBA
                .cut(text, true)
                .into_iter()
                .map(|token| token.word.to_string())
                .collect(),
            // Bigrams only: a single character is a poor keyword.
            Analyzer::CjkBigram | Analyzer::CjkUnigramBigram => {
                tokens(&mut TextAnalyzer::from(CjkBigramTokenizer::default()), text)
            }
            Analyzer::Stemmed(_) | Analyzer::Simple => {
                let mut words = TextAnalyzer::builder(SimpleTokenizer::default())
                    .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                    .build();
                tokens(&mut words, text)
            }
        };
        surfaces
            .into_iter()
            .filter_map(|surface| {
                let term = self.term(&surface)?;
                Some(Word { surface, term })
            })
            .collect()
    }

    /// The indexed term of a candidate word, None if it cannot be a keyword: shorter than two
    /// characters, without a letter, a stop word, or dropped by the analyzer.
    fn term(&mut self, surface: &str) -> Option<String> {
        let lower = surface.trim().to_lowercase();
        if let Some(known) = self.term_of.get(&lower) {
            return known.clone();
        }
        let keep = lower.chars().count() >= 2
            && lower.chars().any(char::is_alphabetic)
            && !STOP_WORDS.contains(lower.as_str());
        // Search-mode Chinese gives a word and its parts: the longest term is the word.
        let term = keep
            .then(|| {
                terms(&mut self.indexed, &lower)
                    .into_iter()
                    .max_by_key(String::len)
            })
            .flatten();
        self.term_of.insert(lower, term.clone());
        term
    }
}

/// Token texts of `text`, as written.
fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

/// The `limit` best words of one text by TF-IDF.
fn rank(words: &[Word], limit: usize, df: impl Fn(&str) -> usize, n: f64) -> Vec<String> {
    // term -> (count, first position, surface)
    let mut seen: HashMap<&str, (usize, usize, &str)> = HashMap::new();
    for (position, word) in words.iter().enumerate() {
        seen.entry(word.term.as_str())
            .or_insert((0, position, word.surface.as_str()))
            .0 += 1;
    }
    let mut scored: Vec<(f64, usize, &str)> = seen
        .into_iter()
        .map(|(term, (count, first, surface))| {
            let idf = ((n + 1.0) / (df(term) as f64 + 1.0)).ln() + 1.0;
            (count as f64 * idf, first, surface)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(limit)
        .map(|(_, _, surface)| surface.to_string())
        .collect()
}

/// The keywords whose terms `text` does not all contain: what the full-text index must add to
/// the text's row for a search for the keyword to find it.
pub fn extra_keywords(analyzer: Analyzer, text: &str, keywords: &[String]) -> Vec<String> {
    if keywords.is_empty() {
        return Vec::new();
    }
    let mut indexed = analyzer.build();
    let in_text: HashSet<String> = terms(&mut indexed, text).into_iter().collect();
    keywords
        .iter()
        .filter(|keyword| {
            terms(&mut indexed, keyword)
                .iter()
                .any(|term| !in_text.contains(term))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequent_words_rare_across_texts_come_first() {
        let mut extractor = KeywordExtractor::new(Analyzer::default());
        let texts = [
            "Honeybees build combs of wax. The combs hold honey, and honeybees guard the combs.",
            "The queen lays eggs. The queen is fed royal jelly.",
            "Workers are honeybees too; the workers forage.",
        ];
        let keywords = extractor.extract_all(&texts, 3);
        assert_eq!(keywords[0][0], "combs");
        assert!(keywords[0].contains(&"Honeybees".to_string()), "{keywords:?}");
        assert_eq!(keywords[1][0], "queen");
        for list in &keywords {
            assert!(list.len() <= 3);
            assert!(!list.iter().any(|k| k.eq_ignore_ascii_case("the")), "{list:?}");
        }
    }

    #[test]
    fn one_word_in_two_forms_is_one_keyword() {
        let mut extractor = KeywordExtractor::new(Analyzer::default());
        let keywords = extractor.extract("Bees and a bee: bees everywhere", 10);
        assert_eq!(keywords, ["Bees", "everywhere"]);
    }

    #[test]
    fn chinese_keywords_are_jieba_words_without_function_words() {
        let mut extractor = KeywordExtractor::new(Analyzer::Chinese);
        let keywords = extractor.extract("蜜蜂采集花蜜，蜜蜂酿造蜂蜜。我们的蜂蜜很甜。", 3);
        assert_eq!(keywords[0], "蜜蜂");
        assert!(keywords.contains(&"蜂蜜".to_string()), "{keywords:?}");
        assert!(!keywords.contains(&"我们".to_string()));
    }

    #[test]
    fn japanese_keywords_are_bigrams() {
        let mut extractor = KeywordExtractor::new(Analyzer::CjkBigram);
        let keywords = extractor.extract("東京大学。東京大学の学生。", 2);
        assert_eq!(keywords, ["東京", "京大"]);
    }

    #[test]
    fn extra_keywords_are_those_missing_from_the_text() {
        let keywords = vec!["bees".to_string(), "pollination".to_string()];
        let extra = extra_keywords(Analyzer::default(), "A bee flies.", &keywords);
        assert_eq!(extra, ["pollination"]);
        assert!(extra_keywords(Analyzer::default(), "text", &[]).is_empty());
    }
}
