//! Process rule validation: Dify's `process_rule` (API.md A.8) -> a [`Plan`] the chunker runs.
//! Messages follow Dify's `ValueError`s word for word, since they reach API clients as
//! `invalid_param`.

use super::split::SplitSpec;
use super::{ParentMode, ProcessMode, ProcessRule, RuleError, Segmentation};
use crate::clean::Cleaner;

/// Dify's `INDEXING_MAX_SEGMENTATION_TOKENS_LENGTH` and lower bound for `max_tokens`.
pub(super) const MIN_SEGMENT_TOKENS: usize = 50;
pub(super) const MAX_SEGMENT_TOKENS: usize = 4000;

/// The automatic rule's chunk size and overlap (`DatasetProcessRule.AUTOMATIC_RULES`).
pub(super) const AUTOMATIC_MAX_TOKENS: usize = 500;
pub(super) const AUTOMATIC_OVERLAP: usize = 50;

/// Largest parent in `full-doc` mode. Dify's console says text beyond 10,000 tokens is truncated;
/// ragd cuts a longer document into several parents of at most this size instead, so no text is
/// lost from the index.
pub(super) const FULL_DOC_MAX_TOKENS: usize = 10_000;

/// What the chunker does, after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Plan {
    /// Recursive split of the whole text.
    Automatic { max_tokens: usize, overlap: usize },
    /// Fixed separator first, recursive split of pieces that are too long.
    Custom(SplitSpec),
    /// Parents as in `parent`, children cut from each parent by `child`.
    Hierarchical { parent: ParentPlan, child: SplitSpec },
}

/// How hierarchical parents are cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ParentPlan {
    /// Like a custom rule: `segmentation` gives separator and size.
    Paragraph(SplitSpec),
    /// The whole document (in pieces of at most [`FULL_DOC_MAX_TOKENS`]).
    FullDoc,
}

fn invalid(message: &str) -> RuleError {
    RuleError::Invalid(message.to_string())
}

/// Validates `rule` and returns the cleaner and plan it describes.
///
/// `model_max_tokens` caps the automatic rule only: Dify's automatic 500 tokens exceed the window
/// of small embedding models (all-MiniLM-L6-v2 reads 256 tokens including `[CLS]`/`[SEP]`), and a
/// chunk longer than the window would be silently truncated when embedded, so its tail could never
/// be found. The automatic size becomes `min(500, model_max_tokens)` and the overlap keeps Dify's
/// ratio (`50 * size / 500`). Custom and hierarchical sizes are the user's explicit choice and are
/// honoured up to Dify's 4000.
pub(super) fn plan(rule: &ProcessRule, model_max_tokens: usize) -> Result<(Cleaner, Plan), RuleError> {
    match rule.mode {
        ProcessMode::Automatic => {
            // Dify discards any `rules` sent with the automatic mode.
            let cleaner = Cleaner {
                remove_extra_spaces: true,
                remove_urls_emails: false,
            };
            let max_tokens = AUTOMATIC_MAX_TOKENS.min(model_max_tokens.max(1));
            let overlap = AUTOMATIC_OVERLAP * max_tokens / AUTOMATIC_MAX_TOKENS;
            Ok((cleaner, Plan::Automatic { max_tokens, overlap }))
        }
        ProcessMode::Custom | ProcessMode::Hierarchical => {
            let rules = rule
                .rules
                .as_ref()
                .ok_or_else(|| invalid("Process rule rules is required"))?;
            let cleaner = Cleaner::from_rules(&rules.pre_processing_rules);
            let segmentation = rules
                .segmentation
                .as_ref()
                .ok_or_else(|| invalid("Process rule segmentation is required"))?;
            let separator = unescape_separator(&segmentation.separator)?;
            if rule.mode == ProcessMode::Custom {
                return Ok((cleaner, Plan::Custom(split_spec(segmentation, separator)?)));
            }
            // Dify's console always sends parent_mode; paragraph is its default.
            let parent = match rules.parent_mode.unwrap_or(ParentMode::Paragraph) {
                ParentMode::Paragraph => ParentPlan::Paragraph(split_spec(segmentation, separator)?),
                ParentMode::FullDoc => ParentPlan::FullDoc,
            };
            let subchunk = rules
                .subchunk_segmentation
                .as_ref()
                .ok_or_else(|| invalid("No subchunk segmentation found in rules."))?;
            let child = split_spec(subchunk, unescape_separator(&subchunk.separator)?)?;
            Ok((cleaner, Plan::Hierarchical { parent, child }))
        }
    }
}

/// A literal `\n` typed into the console arrives as backslash + n; Dify turns it into a newline.
fn unescape_separator(separator: &str) -> Result<String, RuleError> {
    let separator = separator.replace("\\n", "\n");
    if separator.is_empty() {
        return Err(invalid("Process rule segmentation separator is required"));
    }
    Ok(separator)
}

fn split_spec(segmentation: &Segmentation, separator: String) -> Result<SplitSpec, RuleError> {
    // Dify tests `not segmentation["max_tokens"]`, so 0 counts as missing.
    let max_tokens = segmentation
        .max_tokens
        .filter(|&max| max > 0)
        .ok_or_else(|| invalid("Process rule segmentation max_tokens is required"))?;
    if !(MIN_SEGMENT_TOKENS..=MAX_SEGMENT_TOKENS).contains(&max_tokens) {
        return Err(RuleError::Invalid(format!(
            "Custom segment length should be between {MIN_SEGMENT_TOKENS} and {MAX_SEGMENT_TOKENS}."
        )));
    }
    if segmentation.chunk_overlap >= max_tokens {
        return Err(invalid("Custom segment overlap must be less than max_tokens"));
    }
    Ok(SplitSpec {
        separator,
        max_tokens,
        overlap: segmentation.chunk_overlap,
    })
}
