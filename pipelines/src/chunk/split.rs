//! Splitting primitives on one string, returning byte spans so callers can map chunks back to pages
//! and tests can check coverage and overlap exactly.
//!
//! - [`split_fixed`] is Dify's `FixedRecursiveCharacterTextSplitter`: cut on the fixed separator
//!   (which is dropped), keep every piece that fits as its own chunk, and split only the pieces that
//!   are too long, recursively, with overlap.
//! - [`split_recursive`] is that recursive step (Dify's `EnhanceRecursiveCharacterTextSplitter`,
//!   used alone by the automatic rule). It is text-splitter: it merges the largest semantic units
//!   that fit (paragraphs, lines, sentences -- which covers `。` and `. ` -- then words, graphemes,
//!   characters), measured with the same [`TokenCounter`] the chunker reports, and overlaps
//!   consecutive chunks by whole units of at most `overlap` tokens. Text with Markdown headings
//!   goes through its Markdown splitter, which prefers heading and block boundaries.

use std::sync::LazyLock;

use rayon::prelude::*;
use regex::Regex;
use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};

use crate::tokens::TokenCounter;

/// How to cut one level of text: Dify's `segmentation` after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SplitSpec {
    /// Fixed separator, already unescaped (`\n`, not `\\n`); never empty.
    pub separator: String,
    pub max_tokens: usize,
    /// Tokens shared by consecutive chunks of a forced split; always below `max_tokens`.
    pub overlap: usize,
}

/// A chunk as a byte range of the text it was cut from, trimmed, never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub start: usize,
    pub end: usize,
    /// Index of the fixed-separator piece the span comes from.
    pub piece: usize,
    /// True if the piece was too long and was split recursively (with overlap).
    pub forced: bool,
}

/// A Markdown ATX heading line.
static MARKDOWN_HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^#{1,6}[ \t]+\S").expect("valid regex"));

/// Dify's fixed-separator split: pieces between separators that fit in `max_tokens` are chunks as
/// they are (never merged with their neighbours: users pick a separator to control segment
/// boundaries, e.g. one FAQ entry per segment); longer pieces are split recursively.
pub(super) fn split_fixed(text: &str, spec: &SplitSpec, counter: &TokenCounter) -> Vec<Span> {
    let pieces: Vec<(usize, &str)> = split_on(text, &spec.separator)
        .into_iter()
        .filter_map(|(offset, piece)| trim_span(offset, piece))
        .collect();
    let per_piece: Vec<Vec<Span>> = pieces
        .par_iter()
        .enumerate()
        .map(|(index, &(offset, piece))| {
            if counter.count(piece) <= spec.max_tokens {
                return vec![Span {
                    start: offset,
                    end: offset + piece.len(),
                    piece: index,
                    forced: false,
                }];
            }
            split_recursive(piece, spec.max_tokens, spec.overlap, counter)
                .into_iter()
                .map(|(start, chunk)| Span {
                    start: offset + start,
                    end: offset + start + chunk.len(),
                    piece: index,
                    forced: true,
                })
                .collect()
        })
        .collect();
    per_piece.into_iter().flatten().collect()
}

/// Recursive split of `text` into trimmed, non-empty chunks of at most `max_tokens`, consecutive
/// chunks sharing up to `overlap` tokens. Returns byte offsets into `text`.
pub(super) fn split_recursive<'t>(
    text: &'t str,
    max_tokens: usize,
    overlap: usize,
    counter: &TokenCounter,
) -> Vec<(usize, &'t str)> {
    // Validation keeps overlap below max_tokens; clamp anyway rather than panic on a bad caller.
    let overlap = overlap.min(max_tokens.saturating_sub(1));
    let spans = SpanSizer::new(text, counter);
    let chunks = split_with(text, max_tokens, overlap, &spans);
    // Counts from the whole text's tokens are exact for chunks cut between words, which is nearly
    // always; a chunk cut inside a word (one longer than a chunk) can hold a token more than
    // counted, so every chunk is checked and the rare one over the limit is cut again, counting
    // each candidate on its own.
    let mut out = Vec::with_capacity(chunks.len());
    for (offset, chunk) in chunks {
        if counter.count(chunk) <= max_tokens {
            out.extend(trim_span(offset, chunk));
        } else {
            out.extend(
                split_with(chunk, max_tokens, overlap, counter)
                    .into_iter()
                    .filter_map(|(inner, piece)| trim_span(offset + inner, piece)),
            );
        }
    }
    out
}

/// text-splitter's recursive split with `sizer` (the Markdown splitter for text with headings).
fn split_with<'t>(
    text: &'t str,
    max_tokens: usize,
    overlap: usize,
    sizer: &impl text_splitter::ChunkSizer,
) -> Vec<(usize, &'t str)> {
    let config = ChunkConfig::new(max_tokens)
        .with_sizer(sizer)
        .with_overlap(overlap)
        .expect("overlap is below the chunk capacity");
    // The Markdown splitter keeps leading indentation (code blocks, nested lists); callers trim.
    if MARKDOWN_HEADING.is_match(text) {
        MarkdownSplitter::new(config).chunk_indices(text).collect()
    } else {
        TextSplitter::new(config).chunk_indices(text).collect()
    }
}

/// Sizes pieces of one text from a single tokenization of the whole text: text-splitter asks for
/// the size of many overlapping candidates (growing prefixes, each level of the text), and
/// tokenizing each from scratch cost several times the text's own tokenization.
struct SpanSizer<'t> {
    text: &'t str,
    /// Start and end byte offsets of the text's tokens, both ascending.
    starts: Vec<usize>,
    ends: Vec<usize>,
    counter: &'t TokenCounter,
}

impl<'t> SpanSizer<'t> {
    fn new(text: &'t str, counter: &'t TokenCounter) -> Self {
        let (starts, ends) = counter.offsets(text).into_iter().unzip();
        Self {
            text,
            starts,
            ends,
            counter,
        }
    }
}

impl text_splitter::ChunkSizer for SpanSizer<'_> {
    /// Tokens lying wholly inside `chunk`, which text-splitter passes as a slice of the text.
    fn size(&self, chunk: &str) -> usize {
        let base = self.text.as_ptr() as usize;
        let at = chunk.as_ptr() as usize;
        if at < base || at + chunk.len() > base + self.text.len() {
            return self.counter.count(chunk);
        }
        let (start, end) = (at - base, at - base + chunk.len());
        let first = self.starts.partition_point(|&s| s < start);
        let last = self.ends.partition_point(|&e| e <= end);
        last.saturating_sub(first)
    }
}

/// `text` cut at every occurrence of `separator`, with each piece's byte offset.
fn split_on<'t>(text: &'t str, separator: &str) -> Vec<(usize, &'t str)> {
    let mut pieces = Vec::new();
    let mut last = 0;
    for (index, _) in text.match_indices(separator) {
        pieces.push((last, &text[last..index]));
        last = index + separator.len();
    }
    pieces.push((last, &text[last..]));
    pieces
}

/// The piece without surrounding whitespace, with its adjusted offset; None if nothing is left.
fn trim_span(offset: usize, piece: &str) -> Option<(usize, &str)> {
    let start_trimmed = piece.trim_start();
    let offset = offset + (piece.len() - start_trimmed.len());
    let trimmed = start_trimmed.trim_end();
    (!trimmed.is_empty()).then_some((offset, trimmed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(separator: &str, max_tokens: usize, overlap: usize) -> SplitSpec {
        SplitSpec {
            separator: separator.to_string(),
            max_tokens,
            overlap,
        }
    }

    fn texts<'t>(text: &'t str, spans: &[Span]) -> Vec<&'t str> {
        spans.iter().map(|span| &text[span.start..span.end]).collect()
    }

    #[test]
    fn fixed_pieces_are_kept_separate_and_trimmed() {
        let text = "  first entry \n***\nsecond\n***\n\n***\nthird  ";
        let spans = split_fixed(text, &spec("***", 50, 0), &TokenCounter::Characters);
        assert_eq!(texts(text, &spans), ["first entry", "second", "third"]);
        assert!(spans.iter().all(|span| !span.forced));
        assert_eq!(spans.iter().map(|s| s.piece).collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn only_long_pieces_are_split_and_they_overlap() {
        let long = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu";
        let text = format!("short one\n\n{long}\n\nshort two");
        let spans = split_fixed(&text, &spec("\n\n", 30, 12), &TokenCounter::Characters);
        let chunks = texts(&text, &spans);
        assert_eq!(chunks.first(), Some(&"short one"));
        assert_eq!(chunks.last(), Some(&"short two"));
        let forced: Vec<&Span> = spans.iter().filter(|span| span.forced).collect();
        assert!(forced.len() >= 3, "{chunks:?}");
        for pair in forced.windows(2) {
            assert!(pair[1].start < pair[0].end, "no overlap in {chunks:?}");
        }
        for chunk in &chunks {
            assert!(chunk.chars().count() <= 30, "{chunk:?}");
        }
    }

    #[test]
    fn separator_absent_means_one_piece() {
        let text = "no separator here";
        let spans = split_fixed(text, &spec("\n\n", 50, 0), &TokenCounter::Characters);
        assert_eq!(texts(text, &spans), [text]);
    }

    #[test]
    fn span_counts_equal_exact_counts_between_words() {
        let counter = crate::tokens::tests::fixture_counter();
        let text = "Green tea is steamed early; oolong is bruised, then rolled. Black tea oxidises fully.";
        let sizer = SpanSizer::new(text, &counter);
        let mut starts: Vec<usize> = vec![0];
        starts.extend(text.match_indices(' ').map(|(i, _)| i + 1));
        for &start in &starts {
            for &end in starts.iter().filter(|&&e| e > start) {
                let piece = text[start..end].trim_end();
                assert_eq!(
                    text_splitter::ChunkSizer::size(&sizer, piece),
                    counter.count(piece),
                    "{piece:?}"
                );
            }
        }
        // A piece of another string is counted on its own.
        assert_eq!(text_splitter::ChunkSizer::size(&sizer, "tea tea"), 2);
    }

    #[test]
    fn chunks_never_exceed_the_limit_even_when_cut_inside_words() {
        let counter = crate::tokens::tests::fixture_counter();
        // A "word" far longer than a chunk forces cuts inside it.
        let text = format!("intro {} outro", "antidisestablishmentarianism".repeat(20));
        for (_, chunk) in split_recursive(&text, 16, 4, &counter) {
            assert!(counter.count(chunk) <= 16, "{chunk:?}");
        }
    }

    #[test]
    fn markdown_text_prefers_heading_boundaries() {
        let text = "# One\n\nalpha beta gamma.\n\n# Two\n\ndelta epsilon zeta.";
        let chunks = split_recursive(text, 30, 0, &TokenCounter::Characters);
        let chunks: Vec<&str> = chunks.into_iter().map(|(_, c)| c).collect();
        assert_eq!(
            chunks,
            ["# One\n\nalpha beta gamma.", "# Two\n\ndelta epsilon zeta."]
        );
    }
}
