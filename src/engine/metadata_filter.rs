//! Dify's metadata filtering conditions (`retrieval_model.metadata_filtering_conditions`, API.md
//! A.7): parsing with Dify's operator spellings, evaluation against one document's metadata, and
//! resolution to the document ids that retrieval is then restricted to.
//!
//! Evaluation follows what Dify's SQL does on PostgreSQL (`DatasetRetrieval.
//! process_metadata_filter_func`): string operators compare the value's text (`doc_metadata ->>
//! name`), number and time operators its float cast; a missing key or a JSON null fails every
//! operator but `empty`. Where Dify's SQL would fail instead (the float cast of a non-numeric
//! text), the condition is false: no match, never an error. A condition Dify adds no SQL for (a
//! null value with an operator that needs one) does not filter. No SQL here.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Number, Value};

use super::{Engine, EngineError};
use crate::store::{Dataset, DocumentSelection};

/// How conditions combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicalOperator {
    And,
    Or,
}

/// A comparison, named as Dify spells it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparisonOperator {
    Contains,
    NotContains,
    StartWith,
    EndWith,
    Is,
    IsNot,
    Empty,
    NotEmpty,
    In,
    NotIn,
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
    Before,
    After,
}

impl ComparisonOperator {
    /// Every operator, in Dify's order.
    pub const ALL: [ComparisonOperator; 18] = [
        ComparisonOperator::Contains,
        ComparisonOperator::NotContains,
        ComparisonOperator::StartWith,
        ComparisonOperator::EndWith,
        ComparisonOperator::Is,
        ComparisonOperator::IsNot,
        ComparisonOperator::Empty,
        ComparisonOperator::NotEmpty,
        ComparisonOperator::In,
        ComparisonOperator::NotIn,
        ComparisonOperator::Equal,
        ComparisonOperator::NotEqual,
        ComparisonOperator::Greater,
        ComparisonOperator::Less,
        ComparisonOperator::GreaterOrEqual,
        ComparisonOperator::LessOrEqual,
        ComparisonOperator::Before,
        ComparisonOperator::After,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComparisonOperator::Contains => "contains",
            ComparisonOperator::NotContains => "not contains",
            ComparisonOperator::StartWith => "start with",
            ComparisonOperator::EndWith => "end with",
            ComparisonOperator::Is => "is",
            ComparisonOperator::IsNot => "is not",
            ComparisonOperator::Empty => "empty",
            ComparisonOperator::NotEmpty => "not empty",
            ComparisonOperator::In => "in",
            ComparisonOperator::NotIn => "not in",
            ComparisonOperator::Equal => "=",
            ComparisonOperator::NotEqual => "≠",
            ComparisonOperator::Greater => ">",
            ComparisonOperator::Less => "<",
            ComparisonOperator::GreaterOrEqual => "≥",
            ComparisonOperator::LessOrEqual => "≤",
            ComparisonOperator::Before => "before",
            ComparisonOperator::After => "after",
        }
    }
}

impl fmt::Display for ComparisonOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ComparisonOperator {
    type Err = FilterError;

    /// Dify's spellings, plus the ASCII `>=` and `<=` its filter code also accepts.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            ">=" => Ok(ComparisonOperator::GreaterOrEqual),
            "<=" => Ok(ComparisonOperator::LessOrEqual),
            _ => Self::ALL.into_iter().find(|op| op.as_str() == s).ok_or_else(|| {
                FilterError(format!(
                    "Invalid comparison_operator {s:?} in metadata_filtering_conditions: expected one of {}",
                    Self::ALL.map(|op| format!("{:?}", op.as_str())).join(", ")
                ))
            }),
        }
    }
}

/// A malformed metadata_filtering_conditions object (a client error).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// The value a condition compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionValue {
    Null,
    Text(String),
    Number(Number),
    /// A list (for `in` and `not in`); numbers are kept as their text.
    List(Vec<String>),
}

/// One condition on a metadata field.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub name: String,
    pub operator: ComparisonOperator,
    pub value: ConditionValue,
}

/// A parsed metadata_filtering_conditions object.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataFilter {
    pub logical_operator: LogicalOperator,
    pub conditions: Vec<Condition>,
}

fn parse_value(value: Option<&Value>) -> Result<ConditionValue, FilterError> {
    let invalid = || {
        FilterError("A metadata condition value must be a string, a number, a list of strings or null".into())
    };
    Ok(match value {
        None | Some(Value::Null) => ConditionValue::Null,
        Some(Value::String(s)) => ConditionValue::Text(s.clone()),
        Some(Value::Number(n)) => ConditionValue::Number(n.clone()),
        Some(Value::Array(items)) => {
            let mut list = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => list.push(s.clone()),
                    Value::Number(n) => list.push(n.to_string()),
                    Value::Null => {}
                    Value::Bool(_) | Value::Array(_) | Value::Object(_) => return Err(invalid()),
                }
            }
            ConditionValue::List(list)
        }
        Some(Value::Bool(_) | Value::Object(_)) => return Err(invalid()),
    })
}

impl MetadataFilter {
    /// Parses the JSON object. None when there is nothing to apply: no object, null, or `{}`
    /// (Dify skips filtering for an empty object too).
    pub fn from_json(value: Option<&Value>) -> Result<Option<Self>, FilterError> {
        let object = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(object)) if object.is_empty() => return Ok(None),
            Some(Value::Object(object)) => object,
            Some(_) => {
                return Err(FilterError(
                    "metadata_filtering_conditions must be an object".into(),
                ));
            }
        };
        // Dify treats a null logical_operator as `or`, by accident of its `== "and"` test; the
        // declared default is `and`, and so is ragd's for null.
        let logical_operator = match object.get("logical_operator") {
            None | Some(Value::Null) => LogicalOperator::And,
            Some(Value::String(s)) if s == "and" => LogicalOperator::And,
            Some(Value::String(s)) if s == "or" => LogicalOperator::Or,
            Some(other) => {
                return Err(FilterError(format!(
                    "Invalid logical_operator {other} in metadata_filtering_conditions: expected \"and\" or \"or\""
                )));
            }
        };
        let items = match object.get("conditions") {
            None | Some(Value::Null) => &Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                return Err(FilterError(
                    "metadata_filtering_conditions.conditions must be a list".into(),
                ));
            }
        };
        let mut conditions = Vec::with_capacity(items.len());
        for item in items {
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| FilterError("Every metadata condition needs a name (a string)".into()))?;
            let operator = item
                .get("comparison_operator")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    FilterError("Every metadata condition needs a comparison_operator (a string)".into())
                })?
                .parse()?;
            conditions.push(Condition {
                name: name.to_string(),
                operator,
                value: parse_value(item.get("value"))?,
            });
        }
        Ok(Some(Self {
            logical_operator,
            conditions,
        }))
    }

    /// Whether a document with these metadata values passes. With no condition that filters,
    /// every document passes (Dify then restricts retrieval to the available documents only).
    pub fn matches(&self, metadata: &Map<String, Value>) -> bool {
        let mut active = self.conditions.iter().filter(|c| c.filters()).peekable();
        if active.peek().is_none() {
            return true;
        }
        match self.logical_operator {
            LogicalOperator::And => active.all(|c| c.matches(metadata)),
            LogicalOperator::Or => active.any(|c| c.matches(metadata)),
        }
    }
}

/// A stored value as text, as PostgreSQL's `->>` gives it; None for missing or null.
fn stored_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other @ (Value::Array(_) | Value::Object(_)) => Some(other.to_string()),
    }
}

/// A stored value as a float, as a float cast of its text gives it; None where that cast fails.
fn stored_float(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A time given as text: Unix seconds, RFC 3339, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` (UTC).
fn parse_time(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Some(seconds);
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp() as f64);
    }
    if let Ok(time) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Some(time.and_utc().timestamp() as f64);
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc().timestamp() as f64)
}

impl Condition {
    /// False for conditions Dify adds no SQL for: a null value with an operator that needs one,
    /// and `is`/`is not`/`=`/`≠` with a list.
    fn filters(&self) -> bool {
        use ComparisonOperator as Op;
        match (&self.value, self.operator) {
            (ConditionValue::Null, op) => matches!(op, Op::Empty | Op::NotEmpty),
            (ConditionValue::List(_), Op::Is | Op::IsNot | Op::Equal | Op::NotEqual) => false,
            (ConditionValue::Text(_) | ConditionValue::Number(_) | ConditionValue::List(_), _) => true,
        }
    }

    /// The value as the text string operators compare with (a list compares with nothing).
    fn value_text(&self) -> Option<String> {
        match &self.value {
            ConditionValue::Text(s) => Some(s.clone()),
            ConditionValue::Number(n) => Some(n.to_string()),
            ConditionValue::Null | ConditionValue::List(_) => None,
        }
    }

    /// The value as the float number and time operators compare with.
    fn value_float(&self) -> Option<f64> {
        match &self.value {
            ConditionValue::Number(n) => n.as_f64(),
            ConditionValue::Text(s) => parse_time(s),
            ConditionValue::Null | ConditionValue::List(_) => None,
        }
    }

    /// The values `in`/`not in` look for: a list, a comma-separated text, or one number.
    fn value_list(&self) -> Vec<String> {
        match &self.value {
            ConditionValue::List(list) => list.clone(),
            ConditionValue::Text(s) => s
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect(),
            ConditionValue::Number(n) => vec![n.to_string()],
            ConditionValue::Null => Vec::new(),
        }
    }

    fn matches(&self, metadata: &Map<String, Value>) -> bool {
        use ComparisonOperator as Op;
        let stored = metadata.get(&self.name);
        let text = |test: &dyn Fn(&str, &str) -> bool| match (stored_text(stored), self.value_text()) {
            (Some(stored), Some(value)) => test(&stored, &value),
            _ => false,
        };
        let float = |test: &dyn Fn(f64, f64) -> bool| match (stored_float(stored), self.value_float()) {
            (Some(stored), Some(value)) => test(stored, value),
            _ => false,
        };
        match self.operator {
            Op::Contains => text(&|s, v| s.contains(v)),
            Op::NotContains => text(&|s, v| !s.contains(v)),
            Op::StartWith => text(&|s, v| s.starts_with(v)),
            Op::EndWith => text(&|s, v| s.ends_with(v)),
            // A text value compares as text, a number as a number (Dify's two `is` branches).
            Op::Is | Op::Equal => match &self.value {
                ConditionValue::Number(_) => float(&|s, v| s == v),
                ConditionValue::Text(_) | ConditionValue::Null | ConditionValue::List(_) => {
                    text(&|s, v| s == v)
                }
            },
            Op::IsNot | Op::NotEqual => match &self.value {
                ConditionValue::Number(_) => float(&|s, v| s != v),
                ConditionValue::Text(_) | ConditionValue::Null | ConditionValue::List(_) => {
                    text(&|s, v| s != v)
                }
            },
            Op::Empty => stored_text(stored).is_none(),
            Op::NotEmpty => stored_text(stored).is_some(),
            Op::Less | Op::Before => float(&|s, v| s < v),
            Op::Greater | Op::After => float(&|s, v| s > v),
            Op::LessOrEqual => float(&|s, v| s <= v),
            Op::GreaterOrEqual => float(&|s, v| s >= v),
            Op::In | Op::NotIn => {
                let list = self.value_list();
                let wanted = self.operator == Op::In;
                if list.is_empty() {
                    // `x IN ()` is false and `x NOT IN ()` true, for every document.
                    return !wanted;
                }
                stored_text(stored).is_some_and(|s| list.contains(&s) == wanted)
            }
        }
    }
}

impl Engine {
    /// Ids of the dataset's available documents (completed, enabled, not archived) whose metadata
    /// passes `filter`; built-in field values count when the dataset has them on.
    pub async fn documents_matching(
        &self,
        dataset: &Dataset,
        filter: &MetadataFilter,
    ) -> Result<Vec<String>, EngineError> {
        let documents = self
            .store
            .documents_metadata(&dataset.tenant_id, &dataset.id, DocumentSelection::Available)
            .await?;
        Ok(documents
            .into_iter()
            .filter(|(_, metadata)| filter.matches(metadata))
            .map(|(id, _)| id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn filter(value: Value) -> MetadataFilter {
        MetadataFilter::from_json(Some(&value)).unwrap().unwrap()
    }

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    /// Evaluates one condition against several documents; true where it matches.
    fn check(operator: &str, value: Value, documents: &[Value]) -> Vec<bool> {
        let f =
            filter(json!({"conditions": [{"name": "f", "comparison_operator": operator, "value": value}]}));
        documents.iter().map(|d| f.matches(&object(d.clone()))).collect()
    }

    #[test]
    fn every_dify_spelling_parses_and_round_trips() {
        for op in ComparisonOperator::ALL {
            assert_eq!(op.as_str().parse::<ComparisonOperator>().unwrap(), op);
        }
        assert_eq!(
            ">=".parse::<ComparisonOperator>().unwrap(),
            ComparisonOperator::GreaterOrEqual
        );
        assert_eq!(
            "<=".parse::<ComparisonOperator>().unwrap(),
            ComparisonOperator::LessOrEqual
        );
        for bad in ["like", "Contains", "==", "!=", "", "not_contains"] {
            assert!(bad.parse::<ComparisonOperator>().is_err(), "{bad}");
        }
    }

    #[test]
    fn malformed_objects_are_refused() {
        for bad in [
            json!("author is Ann"),
            json!({"logical_operator": "xor", "conditions": []}),
            json!({"conditions": {"name": "a"}}),
            json!({"conditions": [{"comparison_operator": "is", "value": "x"}]}),
            json!({"conditions": [{"name": "a", "value": "x"}]}),
            json!({"conditions": [{"name": "a", "comparison_operator": "like", "value": "x"}]}),
            json!({"conditions": [{"name": "a", "comparison_operator": "is", "value": true}]}),
            json!({"conditions": [{"name": "a", "comparison_operator": "in", "value": [{"x": 1}]}]}),
        ] {
            assert!(MetadataFilter::from_json(Some(&bad)).is_err(), "{bad}");
        }
        assert_eq!(MetadataFilter::from_json(None).unwrap(), None);
        assert_eq!(MetadataFilter::from_json(Some(&json!({}))).unwrap(), None);
        assert_eq!(MetadataFilter::from_json(Some(&Value::Null)).unwrap(), None);
        let f = filter(json!({"logical_operator": null}));
        assert_eq!(f.logical_operator, LogicalOperator::And);
        assert!(f.matches(&Map::new()), "no conditions: everything passes");
    }

    #[test]
    fn string_operators() {
        let docs = [
            json!({"f": "Annual report 2024"}),
            json!({"f": "summary"}),
            json!({"f": 2024}),
            json!({}),
            json!({"f": null}),
        ];
        assert_eq!(
            check("contains", json!("report"), &docs),
            [true, false, false, false, false]
        );
        assert_eq!(
            check("contains", json!(2024), &docs),
            [true, false, true, false, false]
        );
        assert_eq!(
            check("contains", json!("Report"), &docs),
            [false; 5],
            "case-sensitive like PostgreSQL"
        );
        assert_eq!(
            check("not contains", json!("report"), &docs),
            [false, true, true, false, false]
        );
        assert_eq!(
            check("start with", json!("Annual"), &docs),
            [true, false, false, false, false]
        );
        assert_eq!(
            check("end with", json!("24"), &docs),
            [true, false, true, false, false]
        );
        assert_eq!(
            check("contains", json!(["report"]), &docs),
            [false; 5],
            "a list is no text"
        );
    }

    #[test]
    fn is_and_is_not_compare_text_or_numbers() {
        let docs = [
            json!({"f": "draft"}),
            json!({"f": 5}),
            json!({"f": "5"}),
            json!({"f": 5.0}),
            json!({}),
        ];
        assert_eq!(
            check("is", json!("draft"), &docs),
            [true, false, false, false, false]
        );
        assert_eq!(check("is", json!("5"), &docs), [false, true, true, false, false]);
        assert_eq!(
            check("=", json!(5), &docs),
            [false, true, true, true, false],
            "a number compares as a float"
        );
        assert_eq!(
            check("is not", json!("draft"), &docs),
            [false, true, true, true, false]
        );
        assert_eq!(check("≠", json!(5), &docs), [false, false, false, false, false]);
        assert_eq!(
            check("≠", json!(6), &docs),
            [false, true, true, true, false],
            "text that is no number: no match"
        );
        assert_eq!(
            check("is", json!(["draft"]), &docs),
            [true; 5],
            "a list with `is` does not filter"
        );
    }

    #[test]
    fn empty_and_not_empty() {
        let docs = [json!({"f": ""}), json!({"f": null}), json!({}), json!({"f": 0})];
        assert_eq!(check("empty", Value::Null, &docs), [false, true, true, false]);
        assert_eq!(check("not empty", Value::Null, &docs), [true, false, false, true]);
    }

    #[test]
    fn in_and_not_in() {
        let docs = [json!({"f": "a"}), json!({"f": "b"}), json!({"f": 3}), json!({})];
        assert_eq!(check("in", json!(["a", "c"]), &docs), [true, false, false, false]);
        assert_eq!(check("in", json!("a, b"), &docs), [true, true, false, false]);
        assert_eq!(check("in", json!([3]), &docs), [false, false, true, false]);
        assert_eq!(check("not in", json!(["a"]), &docs), [false, true, true, false]);
        assert_eq!(check("in", json!([]), &docs), [false; 4]);
        assert_eq!(
            check("not in", json!([]), &docs),
            [true; 4],
            "NOT IN () holds everywhere"
        );
    }

    #[test]
    fn number_comparisons() {
        let docs = [
            json!({"f": 1}),
            json!({"f": 5}),
            json!({"f": "7.5"}),
            json!({"f": "many"}),
            json!({}),
        ];
        assert_eq!(check(">", json!(4), &docs), [false, true, true, false, false]);
        assert_eq!(check("<", json!(5), &docs), [true, false, false, false, false]);
        assert_eq!(check("≥", json!(5), &docs), [false, true, true, false, false]);
        assert_eq!(check(">=", json!(5), &docs), [false, true, true, false, false]);
        assert_eq!(check("≤", json!(5), &docs), [true, true, false, false, false]);
        assert_eq!(check("<=", json!("5"), &docs), [true, true, false, false, false]);
        assert_eq!(
            check(">", json!("lots"), &docs),
            [false; 5],
            "no number to compare with"
        );
    }

    #[test]
    fn time_comparisons_take_seconds_or_dates() {
        // 2024-01-01T00:00:00Z is 1704067200.
        let docs = [
            json!({"f": 1_704_067_199}),
            json!({"f": 1_704_067_201.5}),
            json!({}),
        ];
        assert_eq!(check("before", json!(1_704_067_200), &docs), [true, false, false]);
        assert_eq!(check("after", json!(1_704_067_200), &docs), [false, true, false]);
        assert_eq!(check("after", json!("2024-01-01"), &docs), [false, true, false]);
        assert_eq!(
            check("before", json!("2024-01-01T00:00:00Z"), &docs),
            [true, false, false]
        );
        assert_eq!(
            check("before", json!("2024-01-01 00:00:00"), &docs),
            [true, false, false]
        );
        assert_eq!(check("before", json!("last tuesday"), &docs), [false; 3]);
    }

    #[test]
    fn null_values_do_not_filter() {
        let docs = [json!({"f": "a"}), json!({})];
        assert_eq!(check("is", Value::Null, &docs), [true, true]);
        assert_eq!(check("contains", Value::Null, &docs), [true, true]);
    }

    #[test]
    fn logical_operators_combine_conditions() {
        let and = filter(json!({"logical_operator": "and", "conditions": [
            {"name": "author", "comparison_operator": "is", "value": "Ann"},
            {"name": "year", "comparison_operator": ">", "value": 2020}]}));
        let or = MetadataFilter {
            logical_operator: LogicalOperator::Or,
            ..and.clone()
        };
        let ann_old = object(json!({"author": "Ann", "year": 2019}));
        let ann_new = object(json!({"author": "Ann", "year": 2021}));
        let bob_old = object(json!({"author": "Bob", "year": 2019}));
        assert!(!and.matches(&ann_old) && and.matches(&ann_new) && !and.matches(&bob_old));
        assert!(or.matches(&ann_old) && or.matches(&ann_new) && !or.matches(&bob_old));
        // A skipped (null) condition does not sink an `and`.
        let skipping = filter(json!({"conditions": [
            {"name": "author", "comparison_operator": "is", "value": "Ann"},
            {"name": "year", "comparison_operator": ">", "value": null}]}));
        assert!(skipping.matches(&ann_old));
    }

    #[test]
    fn unknown_fields_match_nothing_but_emptiness() {
        let f = |op: &str| {
            filter(json!({"conditions": [{"name": "nope", "comparison_operator": op, "value": "x"}]}))
        };
        let doc = object(json!({"author": "Ann"}));
        assert!(!f("is").matches(&doc));
        assert!(!f("not contains").matches(&doc));
        assert!(f("empty").matches(&doc));
    }
}
