//! Document metadata: a dataset's metadata fields, its built-in fields switch, and the values that
//! documents hold in `documents.doc_metadata` (a JSON object, field name -> value).
//!
//! JSON is read and written here in Rust, never in SQL (SQLite and PostgreSQL differ there), so
//! renaming or deleting a field rewrites the objects of the documents that have it. Built-in field
//! values (document name, uploader, dates, source) are not stored: they are derived from the
//! document row whenever the dataset has them on, so they never go stale.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};
use sqlx::Row;

use super::{DEFAULT_OWNER_NAME, Store, StoreError, now};

/// Longest metadata field name accepted, in characters (Dify's limit).
pub const MAX_METADATA_NAME_CHARS: usize = 255;

/// Type of a metadata field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetadataType {
    String,
    Number,
    /// Unix seconds.
    Time,
}

impl MetadataType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataType::String => "string",
            MetadataType::Number => "number",
            MetadataType::Time => "time",
        }
    }

    /// The type with this wire name, if any.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "string" => Some(MetadataType::String),
            "number" => Some(MetadataType::Number),
            "time" => Some(MetadataType::Time),
            _ => None,
        }
    }
}

impl fmt::Display for MetadataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MetadataType {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown metadata type {s:?}")))
    }
}

/// The built-in fields Dify offers on every dataset, in its order.
pub const BUILT_IN_FIELDS: [(&str, MetadataType); 5] = [
    ("document_name", MetadataType::String),
    ("uploader", MetadataType::String),
    ("upload_date", MetadataType::Time),
    ("last_update_date", MetadataType::Time),
    ("source", MetadataType::String),
];

fn is_built_in(name: &str) -> bool {
    BUILT_IN_FIELDS.iter().any(|(field, _)| *field == name)
}

/// A metadata field defined on a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataField {
    pub id: String,
    pub dataset_id: String,
    pub name: String,
    pub kind: MetadataType,
    pub created_at: i64,
}

/// What is needed to show or filter a dataset's document metadata: its fields, and whether the
/// built-in fields are on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataSchema {
    pub fields: Vec<MetadataField>,
    pub built_in_field_enabled: bool,
}

/// New metadata values for one document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentMetadataUpdate {
    pub document_id: String,
    /// Field id and value (a string, a number or null).
    pub values: Vec<(String, Value)>,
    /// Keep the values of fields not named here (otherwise they are removed).
    pub partial: bool,
}

/// Which documents of a dataset to read metadata of.
#[derive(Debug, Clone, Copy)]
pub enum DocumentSelection<'a> {
    /// Documents retrieval can return: completed, enabled and not archived.
    Available,
    /// These documents, whatever their state.
    Ids(&'a [String]),
}

/// Dify's `source` value for a document's `data_source_type` (`MetadataDataSource`).
pub fn metadata_source(data_source_type: &str) -> &str {
    match data_source_type {
        "upload_file" | "local_file" => "file_upload",
        "website_crawl" => "website",
        "notion_import" => "notion",
        other => other,
    }
}

/// Built-in field values of a document, as Dify keeps them in `doc_metadata` (dates are float
/// Unix seconds).
pub fn built_in_values(
    name: &str,
    data_source_type: &str,
    created_at: i64,
    updated_at: i64,
) -> [(&'static str, Value); 5] {
    [
        ("document_name", Value::from(name)),
        ("uploader", Value::from(DEFAULT_OWNER_NAME)),
        ("upload_date", Value::from(created_at as f64)),
        ("last_update_date", Value::from(updated_at as f64)),
        ("source", Value::from(metadata_source(data_source_type))),
    ]
}

/// A document's stored values; anything but a JSON object holds no field values.
pub(super) fn parse_doc_metadata(text: Option<&str>) -> Result<Map<String, Value>, StoreError> {
    match text {
        None => Ok(Map::new()),
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Ok(Map::new()),
            Err(e) => Err(StoreError::Corrupt(format!("document doc_metadata: {e}"))),
        },
    }
}

/// A document's values after an update: a full update replaces them, a partial one keeps the
/// values of fields it does not name.
fn merge_values(
    current: Map<String, Value>,
    values: Vec<(String, Value)>,
    partial: bool,
) -> Map<String, Value> {
    let mut merged = if partial { current } else { Map::new() };
    for (name, value) in values {
        merged.insert(name, value);
    }
    merged
}

/// Renames (`to: Some`) or removes (`to: None`) a key; true if the object changed.
fn rekey(values: &mut Map<String, Value>, from: &str, to: Option<&str>) -> bool {
    let Some(value) = values.remove(from) else {
        return false;
    };
    if let Some(to) = to {
        values.insert(to.to_string(), value);
    }
    true
}

fn field_from_row(row: &sqlx::any::AnyRow) -> Result<MetadataField, StoreError> {
    let kind: String = row.try_get("type")?;
    Ok(MetadataField {
        id: row.try_get("id")?,
        dataset_id: row.try_get("dataset_id")?,
        name: row.try_get("name")?,
        kind: kind.parse()?,
        created_at: row.try_get("created_at")?,
    })
}

const FIELD_COLUMNS: &str = "id, dataset_id, name, type, created_at";

impl Store {
    /// Defines a metadata field; a name used by another field or by a built-in one is refused.
    pub async fn create_metadata_field(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        name: &str,
        kind: MetadataType,
    ) -> Result<MetadataField, StoreError> {
        if is_built_in(name) {
            return Err(StoreError::DuplicateMetadataName {
                name: name.to_string(),
                built_in: true,
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        let result = sqlx::query(
            "INSERT INTO dataset_metadata (id, tenant_id, dataset_id, name, type, position, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, COALESCE(MAX(position), 0) + 1, $6, $7 FROM dataset_metadata \
             WHERE dataset_id = $3",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(dataset_id)
        .bind(name)
        .bind(kind.as_str())
        .bind(ts)
        .bind(ts)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(MetadataField {
                id,
                dataset_id: dataset_id.to_string(),
                name: name.to_string(),
                kind,
                created_at: ts,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::DuplicateMetadataName {
                    name: name.to_string(),
                    built_in: false,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The metadata fields of a dataset, in creation order.
    pub async fn metadata_fields(
        &self,
        tenant_id: &str,
        dataset_id: &str,
    ) -> Result<Vec<MetadataField>, StoreError> {
        let sql = format!(
            "SELECT {FIELD_COLUMNS} FROM dataset_metadata WHERE tenant_id = $1 AND dataset_id = $2 \
             ORDER BY position"
        );
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(dataset_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(field_from_row).collect()
    }

    /// A dataset's metadata fields and built-in fields switch.
    pub async fn metadata_schema(
        &self,
        tenant_id: &str,
        dataset_id: &str,
    ) -> Result<MetadataSchema, StoreError> {
        let fields = self.metadata_fields(tenant_id, dataset_id).await?;
        // As an integer: the Any driver cannot carry SQLite's BOOLEAN (see store::get_bool).
        let enabled: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(built_in_field_enabled AS INTEGER) FROM datasets WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(dataset_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(MetadataSchema {
            fields,
            built_in_field_enabled: enabled.is_some_and(|e| e != 0),
        })
    }

    /// Renames a field and the key holding its values in every document of the dataset, in one
    /// transaction; None if the field does not exist.
    pub async fn rename_metadata_field(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        field_id: &str,
        name: &str,
    ) -> Result<Option<MetadataField>, StoreError> {
        if is_built_in(name) {
            return Err(StoreError::DuplicateMetadataName {
                name: name.to_string(),
                built_in: true,
            });
        }
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT {FIELD_COLUMNS} FROM dataset_metadata WHERE tenant_id = $1 AND dataset_id = $2 AND id = $3"
        );
        // Built from constants only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(dataset_id)
            .bind(field_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(mut field) = row.as_ref().map(field_from_row).transpose()? else {
            return Ok(None);
        };
        if field.name == name {
            return Ok(Some(field));
        }
        let result = sqlx::query(
            "UPDATE dataset_metadata SET name = $1, updated_at = $2 WHERE tenant_id = $3 AND dataset_id = $4 AND id = $5",
        )
        .bind(name)
        .bind(now())
        .bind(tenant_id)
        .bind(dataset_id)
        .bind(field_id)
        .execute(&mut *tx)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::DuplicateMetadataName {
                    name: name.to_string(),
                    built_in: false,
                });
            }
            Err(e) => return Err(e.into()),
        }
        rekey_documents(&mut tx, tenant_id, dataset_id, &field.name, Some(name)).await?;
        tx.commit().await?;
        field.name = name.to_string();
        Ok(Some(field))
    }

    /// Deletes a field and its values from every document of the dataset, in one transaction;
    /// false if the field does not exist.
    pub async fn delete_metadata_field(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        field_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let name: Option<String> = sqlx::query_scalar(
            "SELECT name FROM dataset_metadata WHERE tenant_id = $1 AND dataset_id = $2 AND id = $3",
        )
        .bind(tenant_id)
        .bind(dataset_id)
        .bind(field_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(name) = name else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM dataset_metadata WHERE tenant_id = $1 AND dataset_id = $2 AND id = $3")
            .bind(tenant_id)
            .bind(dataset_id)
            .bind(field_id)
            .execute(&mut *tx)
            .await?;
        rekey_documents(&mut tx, tenant_id, dataset_id, &name, None).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Turns the built-in fields of a dataset on or off.
    pub async fn set_built_in_field_enabled(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        enabled: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE datasets SET built_in_field_enabled = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
            .bind(enabled)
            .bind(now())
            .bind(tenant_id)
            .bind(dataset_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Per field name, how many documents of the dataset hold a (non-null) value for it.
    pub async fn metadata_value_counts(
        &self,
        tenant_id: &str,
        dataset_id: &str,
    ) -> Result<HashMap<String, i64>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT doc_metadata FROM documents WHERE tenant_id = $1 AND dataset_id = $2 AND doc_metadata IS NOT NULL",
        )
        .bind(tenant_id)
        .bind(dataset_id)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = HashMap::new();
        for text in rows {
            for (name, value) in parse_doc_metadata(Some(&text))? {
                if !value.is_null() {
                    *counts.entry(name).or_insert(0) += 1;
                }
            }
        }
        Ok(counts)
    }

    /// Sets metadata values of documents, all or nothing. Field ids must be fields of the dataset
    /// and documents must belong to it; values are stored under the field's current name.
    pub async fn update_documents_metadata(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        updates: &[DocumentMetadataUpdate],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let rows =
            sqlx::query("SELECT id, name FROM dataset_metadata WHERE tenant_id = $1 AND dataset_id = $2")
                .bind(tenant_id)
                .bind(dataset_id)
                .fetch_all(&mut *tx)
                .await?;
        let mut names = HashMap::with_capacity(rows.len());
        for row in rows {
            names.insert(row.try_get::<String, _>("id")?, row.try_get::<String, _>("name")?);
        }
        let ts = now();
        for update in updates {
            let values = update
                .values
                .iter()
                .map(|(id, value)| {
                    names
                        .get(id)
                        .map(|name| (name.clone(), value.clone()))
                        .ok_or_else(|| StoreError::MetadataNotFound(id.clone()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let current: Option<Option<String>> = sqlx::query_scalar(
                "SELECT doc_metadata FROM documents WHERE tenant_id = $1 AND dataset_id = $2 AND id = $3",
            )
            .bind(tenant_id)
            .bind(dataset_id)
            .bind(&update.document_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(current) = current else {
                return Err(StoreError::DocumentNotFound(update.document_id.clone()));
            };
            let merged = merge_values(parse_doc_metadata(current.as_deref())?, values, update.partial);
            sqlx::query(
                "UPDATE documents SET doc_metadata = $1, updated_at = $2 WHERE tenant_id = $3 AND dataset_id = $4 AND id = $5",
            )
            .bind(Value::Object(merged).to_string())
            .bind(ts)
            .bind(tenant_id)
            .bind(dataset_id)
            .bind(&update.document_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Metadata of documents as filters and retrieval records see it: the stored values plus,
    /// when the dataset has them on, the built-in field values.
    pub async fn documents_metadata(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        selection: DocumentSelection<'_>,
    ) -> Result<Vec<(String, Map<String, Value>)>, StoreError> {
        let built_in: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(built_in_field_enabled AS INTEGER) FROM datasets WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(dataset_id)
        .fetch_optional(&self.pool)
        .await?;
        let built_in = built_in.is_some_and(|e| e != 0);
        const COLUMNS: &str = "SELECT id, name, data_source_type, doc_metadata, created_at, updated_at FROM documents \
             WHERE tenant_id = $1 AND dataset_id = $2";
        let rows = match selection {
            DocumentSelection::Available => {
                let sql = format!(
                    "{COLUMNS} AND indexing_status = 'completed' AND enabled = TRUE AND archived = FALSE"
                );
                // Built from constants only.
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant_id)
                    .bind(dataset_id)
                    .fetch_all(&self.pool)
                    .await?
            }
            DocumentSelection::Ids(ids) => {
                let mut rows = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let placeholders = (3..3 + chunk.len())
                        .map(|n| format!("${n}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!("{COLUMNS} AND id IN ({placeholders})");
                    // Built from constants and numbered placeholders only.
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(tenant_id)
                        .bind(dataset_id);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    rows.extend(query.fetch_all(&self.pool).await?);
                }
                rows
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let text: Option<String> = row.try_get("doc_metadata")?;
            let mut values = parse_doc_metadata(text.as_deref())?;
            if built_in {
                let name: String = row.try_get("name")?;
                let source: String = row.try_get("data_source_type")?;
                for (field, value) in built_in_values(
                    &name,
                    &source,
                    row.try_get("created_at")?,
                    row.try_get("updated_at")?,
                ) {
                    values.insert(field.to_string(), value);
                }
            }
            out.push((row.try_get("id")?, values));
        }
        Ok(out)
    }
}

/// Renames or removes a key in the stored values of every document of a dataset.
async fn rekey_documents(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    dataset_id: &str,
    from: &str,
    to: Option<&str>,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT id, doc_metadata FROM documents WHERE tenant_id = $1 AND dataset_id = $2 AND doc_metadata IS NOT NULL",
    )
    .bind(tenant_id)
    .bind(dataset_id)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        let text: Option<String> = row.try_get("doc_metadata")?;
        let mut values = parse_doc_metadata(text.as_deref())?;
        if !rekey(&mut values, from, to) {
            continue;
        }
        let id: String = row.try_get("id")?;
        sqlx::query(
            "UPDATE documents SET doc_metadata = $1 WHERE tenant_id = $2 AND dataset_id = $3 AND id = $4",
        )
        .bind(Value::Object(values).to_string())
        .bind(tenant_id)
        .bind(dataset_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn full_updates_replace_and_partial_updates_keep() {
        let current = object(json!({"author": "Ann", "year": 2020}));
        let update = vec![("year".to_string(), json!(2024))];
        assert_eq!(
            Value::Object(merge_values(current.clone(), update.clone(), false)),
            json!({"year": 2024})
        );
        assert_eq!(
            Value::Object(merge_values(current, update, true)),
            json!({"author": "Ann", "year": 2024})
        );
    }

    #[test]
    fn rekeying_renames_or_removes_only_present_keys() {
        let mut values = object(json!({"author": "Ann", "year": null}));
        assert!(rekey(&mut values, "author", Some("writer")));
        assert_eq!(
            Value::Object(values.clone()),
            json!({"writer": "Ann", "year": null})
        );
        assert!(!rekey(&mut values, "author", Some("x")));
        assert!(
            rekey(&mut values, "year", None),
            "a null value is still a value to move"
        );
        assert_eq!(Value::Object(values), json!({"writer": "Ann"}));
    }

    #[test]
    fn stored_values_parse_leniently_but_not_silently() {
        assert!(parse_doc_metadata(None).unwrap().is_empty());
        assert!(parse_doc_metadata(Some("[1, 2]")).unwrap().is_empty());
        assert_eq!(parse_doc_metadata(Some(r#"{"a": 1}"#)).unwrap()["a"], json!(1));
        assert!(parse_doc_metadata(Some("{not json")).is_err());
    }

    #[test]
    fn built_in_values_follow_dify() {
        let values = built_in_values("a.pdf", "upload_file", 100, 200);
        let map: Map<String, Value> = values.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        assert_eq!(
            Value::Object(map),
            json!({"document_name": "a.pdf", "uploader": "owner", "upload_date": 100.0,
                   "last_update_date": 200.0, "source": "file_upload"})
        );
        assert_eq!(metadata_source("website_crawl"), "website");
        assert_eq!(metadata_source("notion_import"), "notion");
        assert_eq!(metadata_source("online_drive"), "online_drive");
        for (name, _) in BUILT_IN_FIELDS {
            assert!(is_built_in(name));
        }
        assert!(!is_built_in("author"));
        assert_eq!("time".parse::<MetadataType>().unwrap(), MetadataType::Time);
        assert!("date".parse::<MetadataType>().is_err());
    }
}
