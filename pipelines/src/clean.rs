//! Dify's pre-processing rules (`clean_processor.py`, API.md A.8).
//!
//! Always: `<|` -> `<`, `|>` -> `>`, control characters and U+FFFE removed. Optional rules:
//! `remove_extra_spaces` and `remove_urls_emails`. `remove_stopwords` is accepted and ignored, as in
//! Dify. Two deliberate differences from Dify's Python, both bug fixes:
//! - Dify's control-character class also lists `\xEF\xBF\xBE`, which in a Python `str` pattern
//!   means the letters `ï`, `¿` and `¾`; those letters are kept here.
//! - Markdown links and images are protected from e-mail removal as well as from URL removal, so
//!   `[me](https://example.com/a@b.cd)` survives whole.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// One pre-processing rule as Dify sends it: `{id, enabled}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreProcessingRule {
    /// `remove_extra_spaces`, `remove_urls_emails` or `remove_stopwords`.
    pub id: String,
    /// Whether the rule applies.
    pub enabled: bool,
}

/// Applies the always-on cleanups plus the enabled rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaner {
    /// Collapse 3+ newlines to 2 and runs of 2+ other whitespace characters to one space.
    pub remove_extra_spaces: bool,
    /// Remove e-mail addresses and bare `http(s)://` URLs, keeping Markdown links and images.
    pub remove_urls_emails: bool,
}

/// Three or more newlines.
static EXTRA_NEWLINES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\n{3,}").expect("valid regex"));

/// Two or more whitespace characters other than `\n` (Dify's list: tab, CR, space, no-break
/// space, Ogham space mark, Mongolian vowel separator, en quad .. hair space, narrow no-break
/// space, medium mathematical space, ideographic space).
static EXTRA_SPACES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\t\r \u{00a0}\u{1680}\u{180e}\u{2000}-\u{200a}\u{202f}\u{205f}\u{3000}]{2,}")
        .expect("valid regex")
});

/// Dify's e-mail pattern.
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+").expect("valid regex"));

/// Dify's URL pattern.
static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"https?://\S+").expect("valid regex"));

/// Markdown links `[text](http...)` and images `![alt](http...)`, which keep their URLs.
static MARKDOWN_LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"!?\[[^\]]*\]\(https?://[^)]+\)").expect("valid regex"));

impl Cleaner {
    /// Builds a cleaner from Dify's rule list (unknown ids and `remove_stopwords` are ignored).
    ///
    /// A repeated id counts once, the last occurrence winning, as Dify's de-duplication does.
    pub fn from_rules(rules: &[PreProcessingRule]) -> Self {
        let mut cleaner = Cleaner::default();
        for rule in rules {
            match rule.id.as_str() {
                "remove_extra_spaces" => cleaner.remove_extra_spaces = rule.enabled,
                "remove_urls_emails" => cleaner.remove_urls_emails = rule.enabled,
                _ => {}
            }
        }
        cleaner
    }

    /// Cleans `text`: the always-on rules, then URL/e-mail removal, then whitespace collapsing
    /// (so gaps left by removed URLs are collapsed too).
    pub fn clean(&self, text: &str) -> String {
        let mut text: String = text
            .replace("<|", "<")
            .replace("|>", ">")
            .chars()
            .filter(|&c| !is_stripped_char(c))
            .collect();
        if self.remove_urls_emails {
            text = remove_urls_emails(&text);
        }
        if self.remove_extra_spaces {
            text = EXTRA_NEWLINES.replace_all(&text, "\n\n").into_owned();
            text = EXTRA_SPACES.replace_all(&text, " ").into_owned();
        }
        text
    }
}

/// Control characters except `\t`, `\n` and `\r`, plus DEL and the non-character U+FFFE.
fn is_stripped_char(c: char) -> bool {
    matches!(c, '\u{00}'..='\u{08}' | '\u{0B}' | '\u{0C}' | '\u{0E}'..='\u{1F}' | '\u{7F}' | '\u{FFFE}')
}

/// Removes e-mails and bare URLs everywhere except inside Markdown links and images.
fn remove_urls_emails(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for link in MARKDOWN_LINK.find_iter(text) {
        out.push_str(&strip_urls_emails(&text[last..link.start()]));
        out.push_str(link.as_str());
        last = link.end();
    }
    out.push_str(&strip_urls_emails(&text[last..]));
    out
}

fn strip_urls_emails(text: &str) -> String {
    let without_emails = EMAIL.replace_all(text, "");
    URL.replace_all(&without_emails, "").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, enabled: bool) -> PreProcessingRule {
        PreProcessingRule {
            id: id.to_string(),
            enabled,
        }
    }

    fn all_rules() -> Cleaner {
        Cleaner {
            remove_extra_spaces: true,
            remove_urls_emails: true,
        }
    }

    #[test]
    fn from_rules_reads_enabled_flags() {
        let cleaner = Cleaner::from_rules(&[
            rule("remove_extra_spaces", true),
            rule("remove_urls_emails", false),
            rule("remove_stopwords", true),
            rule("something_new", true),
        ]);
        assert_eq!(
            cleaner,
            Cleaner {
                remove_extra_spaces: true,
                remove_urls_emails: false
            }
        );
    }

    #[test]
    fn from_rules_last_duplicate_wins() {
        let cleaner = Cleaner::from_rules(&[
            rule("remove_urls_emails", true),
            rule("remove_urls_emails", false),
        ]);
        assert!(!cleaner.remove_urls_emails);
        let cleaner = Cleaner::from_rules(&[
            rule("remove_urls_emails", false),
            rule("remove_urls_emails", true),
        ]);
        assert!(cleaner.remove_urls_emails);
    }

    #[test]
    fn always_replaces_special_token_brackets() {
        let cleaner = Cleaner::default();
        assert_eq!(cleaner.clean("<|endoftext|> a |> b <|"), "<endoftext> a > b <");
    }

    #[test]
    fn always_strips_control_characters_and_fffe() {
        let cleaner = Cleaner::default();
        let text = "a\u{0}b\u{8}c\u{b}d\u{c}e\u{e}f\u{1f}g\u{7f}h\u{fffe}i";
        assert_eq!(cleaner.clean(text), "abcdefghi");
        // Tab, newline and carriage return are not control characters to remove.
        assert_eq!(cleaner.clean("a\tb\nc\rd"), "a\tb\nc\rd");
        // Letters that Dify's Python pattern strips by accident are kept.
        assert_eq!(cleaner.clean("naïve ¿qué? ¾"), "naïve ¿qué? ¾");
    }

    #[test]
    fn without_rules_whitespace_and_urls_stay() {
        let cleaner = Cleaner::default();
        let text = "a   b\n\n\n\nc https://example.com x@y.org";
        assert_eq!(cleaner.clean(text), text);
    }

    #[test]
    fn remove_extra_spaces_collapses_newline_runs() {
        let cleaner = Cleaner {
            remove_extra_spaces: true,
            remove_urls_emails: false,
        };
        assert_eq!(
            cleaner.clean("a\n\n\nb\n\n\n\n\n\nc\n\nd\ne"),
            "a\n\nb\n\nc\n\nd\ne"
        );
    }

    #[test]
    fn remove_extra_spaces_collapses_horizontal_whitespace_runs() {
        let cleaner = Cleaner {
            remove_extra_spaces: true,
            remove_urls_emails: false,
        };
        assert_eq!(
            cleaner.clean("a  b\t\tc \u{a0}d\u{3000}\u{3000}e\u{2002}\u{2009}f"),
            "a b c d e f"
        );
        // A single tab or no-break space is not a run.
        assert_eq!(cleaner.clean("a\tb\u{a0}c d"), "a\tb\u{a0}c d");
        // Newlines are not part of horizontal runs.
        assert_eq!(cleaner.clean("a \n b"), "a \n b");
    }

    #[test]
    fn remove_urls_emails_strips_bare_urls_and_emails() {
        let cleaner = Cleaner {
            remove_extra_spaces: false,
            remove_urls_emails: true,
        };
        assert_eq!(
            cleaner.clean("mail jane.doe+x@mail.example.com or see https://example.com/a?b=c now"),
            "mail  or see  now"
        );
        assert_eq!(cleaner.clean("plain http://x.y/z"), "plain ");
    }

    #[test]
    fn remove_urls_emails_keeps_markdown_links_and_images() {
        let cleaner = Cleaner {
            remove_extra_spaces: false,
            remove_urls_emails: true,
        };
        let text = "see [docs](https://docs.example.com/x) and ![logo](http://img.example.com/l.png) \
                    but not https://bare.example.com";
        assert_eq!(
            cleaner.clean(text),
            "see [docs](https://docs.example.com/x) and ![logo](http://img.example.com/l.png) but not "
        );
        // A link whose text is itself a URL keeps both.
        let text = "[https://a.example.com](https://a.example.com)";
        assert_eq!(cleaner.clean(text), text);
    }

    #[test]
    fn removed_urls_leave_collapsed_spaces_when_both_rules_are_on() {
        assert_eq!(
            all_rules().clean("a https://x.example.com b\n\n\n\nc"),
            "a b\n\nc"
        );
    }
}
