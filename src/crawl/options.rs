//! What a crawl request may ask for, checked before anything is started. Dify's console sends
//! `limit` and `max_depth` as numbers or as the text of a form field, and `includes`/`excludes`
//! as comma-separated text; both are accepted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most pages one crawl may import.
pub const MAX_LIMIT: usize = 500;
/// Deepest link distance from the start page.
pub const MAX_DEPTH: usize = 10;
/// Dify's defaults: ten pages, two links deep.
const DEFAULT_LIMIT: usize = 10;
const DEFAULT_DEPTH: usize = 2;

/// Checked crawl options, as stored with the crawl.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrawlOptions {
    /// False crawls the start page only.
    pub crawl_sub_pages: bool,
    /// Keep only the page's `<main>`/`<article>` when it has one.
    pub only_main_content: bool,
    /// Regular expressions a page's path must match one of (none: every path).
    pub includes: Vec<String>,
    /// Regular expressions no page's path may match.
    pub excludes: Vec<String>,
    /// Most pages imported.
    pub limit: usize,
    /// Most links followed from the start page.
    pub max_depth: usize,
    /// Also start from the site's sitemap.
    pub use_sitemap: bool,
}

impl CrawlOptions {
    /// Reads Dify's `options` object; the error says which field is wrong.
    pub fn from_value(options: Option<&Value>) -> Result<Self, String> {
        let empty = serde_json::Map::new();
        let options = match options {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(map)) => map,
            Some(_) => return Err("options must be an object.".into()),
        };
        let flag = |name: &str, default: bool| match options.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("options.{name} must be true or false.")),
        };
        let parsed = Self {
            crawl_sub_pages: flag("crawl_sub_pages", true)?,
            only_main_content: flag("only_main_content", false)?,
            includes: patterns(options.get("includes"), "includes")?,
            excludes: patterns(options.get("excludes"), "excludes")?,
            limit: number(options.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?,
            max_depth: number(options.get("max_depth"), "max_depth", DEFAULT_DEPTH, 0, MAX_DEPTH)?,
            use_sitemap: flag("use_sitemap", false)?,
        };
        Ok(parsed)
    }
}

fn number(
    value: Option<&Value>,
    name: &str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, String> {
    let out_of_range = || format!("options.{name} must be a whole number from {min} to {max}.");
    let n = match value {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| out_of_range())?,
        Some(Value::Number(n)) => n.as_i64().ok_or_else(out_of_range)?,
        Some(_) => return Err(out_of_range()),
    };
    match usize::try_from(n) {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(out_of_range()),
    }
}

fn patterns(value: Option<&Value>, name: &str) -> Result<Vec<String>, String> {
    let list: Vec<String> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or_else(|| format!("options.{name} must be text or a list of texts."))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("options.{name} must be text or a list of texts.")),
    };
    let list: Vec<String> = list.into_iter().filter(|p| !p.is_empty()).collect();
    if list.len() > 50 {
        return Err(format!("options.{name} may hold at most 50 patterns."));
    }
    for pattern in &list {
        compile(pattern).map_err(|e| format!("options.{name}: {pattern:?} is not a valid pattern: {e}"))?;
    }
    Ok(list)
}

/// A path pattern, size-bounded so that a request cannot make a huge automaton.
pub(super) fn compile(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).size_limit(1 << 20).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dify_form_values_are_read_and_bad_ones_named() {
        let options = CrawlOptions::from_value(Some(&json!({
            "crawl_sub_pages": true, "limit": "25", "max_depth": "", "includes": "/docs/.*, /blog",
            "excludes": "", "only_main_content": true, "use_sitemap": true
        })))
        .unwrap();
        assert_eq!(options.limit, 25);
        assert_eq!(options.max_depth, DEFAULT_DEPTH);
        assert_eq!(options.includes, ["/docs/.*", "/blog"]);
        assert!(options.excludes.is_empty());
        for (bad, field) in [
            (json!({"limit": 0}), "limit"),
            (json!({"limit": 501}), "limit"),
            (json!({"limit": "ten"}), "limit"),
            (json!({"limit": 2.5}), "limit"),
            (json!({"max_depth": -1}), "max_depth"),
            (json!({"includes": "(unclosed"}), "includes"),
            (json!({"use_sitemap": "yes"}), "use_sitemap"),
        ] {
            let error = CrawlOptions::from_value(Some(&bad)).unwrap_err();
            assert!(error.contains(field), "{bad}: {error}");
        }
        assert!(CrawlOptions::from_value(Some(&json!([1]))).is_err());
    }
}
