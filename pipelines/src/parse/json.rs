//! JSON and JSON Lines flattened into `path: value` lines (`user.name: Ada`, `tags[0]: x`), which
//! keep every value next to the keys that give it meaning. The items of a top-level array and the
//! records of a JSON Lines file are separated by blank lines, so chunkers split between them.
//! Depth is bounded twice: serde_json refuses nesting deeper than 128 levels, and below
//! [`MAX_DEPTH`] a subtree is written as compact JSON on its path's line.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{ParseError, text};
use crate::document::{ParsedDocument, Section};

/// Deepest path written out key by key.
pub const MAX_DEPTH: usize = 32;

/// A JSON value that keeps object keys in document order (serde_json's own `Value` sorts them
/// unless a crate-wide feature is switched on).
#[derive(Debug)]
enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// Compact JSON, for subtrees below the depth bound.
    fn compact(&self) -> String {
        match self {
            Value::Null => "null".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.clone(),
            Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
            Value::Array(items) => format!(
                "[{}]",
                items.iter().map(Value::compact).collect::<Vec<_>>().join(",")
            ),
            Value::Object(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{}:{}", serde_json::Value::String(k.clone()), v.compact()))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(
            serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            entries.push((key, value));
        }
        Ok(Value::Object(entries))
    }
}

/// Parses a JSON document; invalid JSON fails as `Malformed` with serde's line and column.
pub(super) fn parse(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    let source = text::decode(bytes, None);
    let value: Value = serde_json::from_str(&source).map_err(|error| ParseError::Malformed {
        format: "JSON",
        detail: error.to_string(),
    })?;
    let title = match &value {
        Value::Object(entries) => ["title", "name"]
            .iter()
            .find_map(|key| {
                entries
                    .iter()
                    .find(|(k, _)| k == key)
                    .and_then(|(_, v)| v.as_str())
            })
            .map(|title| title.trim().to_string())
            .filter(|title| !title.is_empty()),
        _ => None,
    };
    let text = match &value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| flattened(item, &format!("[{index}]"), 1))
            .filter(|block| !block.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n"),
        other => flattened(other, "", 0),
    };
    Ok(ParsedDocument {
        title,
        sections: vec![Section { text, page: None }],
    })
}

/// Parses JSON Lines: each line flattened on its own; a line that is not JSON is kept as text.
pub(super) fn parse_lines(bytes: &[u8]) -> ParsedDocument {
    let source = text::decode(bytes, None);
    let records: Vec<String> = source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(value) => flattened(&value, "", 0),
            Err(_) => line.to_string(),
        })
        .filter(|record| !record.is_empty())
        .collect();
    ParsedDocument::from_text(records.join("\n\n"))
}

fn flattened(value: &Value, path: &str, depth: usize) -> String {
    let mut lines = Vec::new();
    flatten(value, path, depth, &mut lines);
    lines.join("\n")
}

fn flatten(value: &Value, path: &str, depth: usize, lines: &mut Vec<String>) {
    match value {
        Value::Object(entries) if depth < MAX_DEPTH && !entries.is_empty() => {
            for (key, child) in entries {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(child, &child_path, depth + 1, lines);
            }
        }
        Value::Array(items) if depth < MAX_DEPTH && !items.is_empty() => {
            for (index, child) in items.iter().enumerate() {
                flatten(child, &format!("{path}[{index}]"), depth + 1, lines);
            }
        }
        Value::Null => {}
        Value::String(text) if text.trim().is_empty() => {}
        Value::String(text) => lines.push(line(path, text)),
        Value::Number(number) => lines.push(line(path, number)),
        Value::Bool(value) => lines.push(line(path, &value.to_string())),
        // Empty containers and subtrees below the depth bound.
        other => lines.push(line(path, &other.compact())),
    }
}

fn line(path: &str, value: &str) -> String {
    if path.is_empty() {
        value.to_string()
    } else {
        format!("{path}: {value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_flatten_to_paths() {
        let doc = parse(
            br#"{"title": "Guide", "meta": {"tags": ["a", "b"], "views": 10, "ok": true, "none": null},
                "items": [{"id": 1, "name": "x"}, []], "empty": {}}"#,
        )
        .unwrap();
        assert_eq!(doc.title.as_deref(), Some("Guide"));
        assert_eq!(
            doc.sections[0].text,
            "title: Guide\nmeta.tags[0]: a\nmeta.tags[1]: b\nmeta.views: 10\nmeta.ok: true\n\
             items[0].id: 1\nitems[0].name: x\nitems[1]: []\nempty: {}"
        );
    }

    #[test]
    fn top_level_arrays_and_scalars() {
        let doc = parse(br#"[{"q": "why?", "a": "because"}, {"q": "how?"}, "plain"]"#).unwrap();
        assert_eq!(
            doc.sections[0].text,
            "[0].q: why?\n[0].a: because\n\n[1].q: how?\n\n[2]: plain"
        );
        assert_eq!(parse(br#""just text""#).unwrap().sections[0].text, "just text");
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
        let text = parse(deep.as_bytes()).unwrap().sections[0].text.clone();
        assert!(text.starts_with(&"[0]".repeat(MAX_DEPTH)), "{text}");
        assert!(
            text.ends_with(&format!(": {}1{}", "[".repeat(8), "]".repeat(8))),
            "{text}"
        );
        let too_deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            parse(too_deep.as_bytes()),
            Err(ParseError::Malformed { .. })
        ));
    }

    #[test]
    fn invalid_json_is_malformed_with_position() {
        let error = parse(b"{\"a\": 1,\n  oops}").unwrap_err();
        assert!(error.to_string().contains("line 2 column 3"), "{error}");
    }

    #[test]
    fn json_lines_records_are_separated() {
        let doc = parse_lines(b"{\"user\": \"ada\", \"msg\": \"hi\"}\n\n[1, 2]\nnot json\n");
        assert_eq!(
            doc.sections[0].text,
            "user: ada\nmsg: hi\n\n[0]: 1\n[1]: 2\n\nnot json"
        );
    }
}
