//! Token counting with the embedding model's own tokenizer, so chunk sizes mean what the model sees.
//!
//! Counts never include special tokens (`[CLS]`, `[SEP]`): Dify's `max_tokens` and the segment
//! `tokens` field count text tokens only, and the embedder adds the specials itself.

use std::path::Path;
use std::sync::Arc;

/// Counts tokens of text. Cheap to clone (the tokenizer is shared).
#[derive(Clone)]
pub enum TokenCounter {
    /// The embedding model's tokenizer with padding and truncation switched off.
    Tokenizer(std::sync::Arc<tokenizers::Tokenizer>),
    /// Unicode characters; for tests and models without a tokenizer file.
    Characters,
}

impl TokenCounter {
    /// Loads `tokenizer.json`, switching off its padding and truncation.
    ///
    /// Model repositories ship tokenizers that pad and truncate to the model window (128 for
    /// all-MiniLM-L6-v2); left on, every text would count as exactly that many tokens.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let mut tokenizer = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| format!("cannot load tokenizer {}: {e}", path.display()))?;
        tokenizer.with_padding(None);
        tokenizer.with_truncation(None).map_err(|e| {
            format!(
                "cannot switch off truncation of tokenizer {}: {e}",
                path.display()
            )
        })?;
        Ok(TokenCounter::Tokenizer(Arc::new(tokenizer)))
    }

    /// Tokens in `text`, without special tokens.
    pub fn count(&self, text: &str) -> usize {
        match self {
            TokenCounter::Tokenizer(tokenizer) => match tokenizer.encode_fast(text, false) {
                Ok(encoding) => encoding.len(),
                Err(error) => {
                    // WordPiece and BPE tokenizers do not fail on text; if one ever does, a
                    // character count still bounds chunk sizes instead of aborting the document.
                    tracing::warn!(%error, "tokenizer failed, counting characters instead");
                    text.chars().count()
                }
            },
            TokenCounter::Characters => text.chars().count(),
        }
    }
}

impl TokenCounter {
    /// Byte ranges of the tokens of `text` (special tokens excluded), in order.
    pub fn offsets(&self, text: &str) -> Vec<(usize, usize)> {
        match self {
            TokenCounter::Tokenizer(tokenizer) => match tokenizer.encode(text, false) {
                Ok(encoding) => encoding.get_offsets().to_vec(),
                Err(_) => text.char_indices().map(|(i, c)| (i, i + c.len_utf8())).collect(),
            },
            TokenCounter::Characters => text.char_indices().map(|(i, c)| (i, i + c.len_utf8())).collect(),
        }
    }
}

/// Lets text-splitter size chunks with the same counts the chunker reports.
impl text_splitter::ChunkSizer for TokenCounter {
    fn size(&self, chunk: &str) -> usize {
        self.count(chunk)
    }
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenCounter::Tokenizer(_) => f.write_str("TokenCounter::Tokenizer"),
            TokenCounter::Characters => f.write_str("TokenCounter::Characters"),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    use super::*;

    /// The all-MiniLM-L6-v2 tokenizer fixture, loaded once per test binary.
    pub(crate) fn fixture_counter() -> TokenCounter {
        static COUNTER: OnceLock<TokenCounter> = OnceLock::new();
        COUNTER
            .get_or_init(|| {
                let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer.json");
                TokenCounter::from_file(&path).expect("tokenizer fixture loads")
            })
            .clone()
    }

    #[test]
    fn counts_word_pieces_without_special_tokens() {
        let counter = fixture_counter();
        // "hello" and "world" are single WordPiece tokens; no [CLS]/[SEP] are added.
        assert_eq!(counter.count("hello world"), 2);
        assert_eq!(counter.count(""), 0);
    }

    #[test]
    fn padding_and_truncation_are_off() {
        let counter = fixture_counter();
        // The shipped tokenizer.json pads and truncates at 128; neither may leak into counts.
        assert!(counter.count("short") < 5);
        let long = "word ".repeat(600);
        assert_eq!(counter.count(&long), 600);
    }

    #[test]
    fn offsets_cover_each_token_once() {
        let counter = fixture_counter();
        let text = "Hello, world of tea";
        let offsets = counter.offsets(text);
        assert_eq!(offsets.len(), counter.count(text));
        let pieces: Vec<&str> = offsets.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(pieces, ["Hello", ",", "world", "of", "tea"]);
    }

    #[test]
    fn characters_count_unicode_scalars() {
        assert_eq!(TokenCounter::Characters.count("héllo 世界"), 8);
    }

    #[test]
    fn missing_file_is_an_error() {
        let error = TokenCounter::from_file(Path::new("/nonexistent/tokenizer.json")).unwrap_err();
        assert!(error.starts_with("cannot load tokenizer"), "{error}");
    }
}
