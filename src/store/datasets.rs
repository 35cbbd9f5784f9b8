//! Dataset rows.

use sqlx::Row;

use super::{Store, StoreError, now};

/// A knowledge base.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// Model that embedded this dataset; queries must use the same one.
    pub embedding_model: Option<String>,
    pub embedding_dimension: Option<usize>,
    pub doc_form: String,
    /// Dify process rule JSON used for new documents.
    pub process_rule: serde_json::Value,
    pub index_generation: i64,
    pub created_at: i64,
}

/// Fields needed to create a dataset.
#[derive(Debug, Clone)]
pub struct NewDataset {
    pub tenant_id: String,
    pub name: String,
    pub embedding_model: Option<String>,
    pub embedding_dimension: Option<usize>,
    pub doc_form: String,
    pub process_rule: serde_json::Value,
}

fn dataset_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Dataset, StoreError> {
    let process_rule: String = row.try_get("process_rule")?;
    Ok(Dataset {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        embedding_model: row.try_get("embedding_model")?,
        embedding_dimension: row
            .try_get::<Option<i64>, _>("embedding_dimension")?
            .map(|d| d as usize),
        doc_form: row.try_get("doc_form")?,
        process_rule: serde_json::from_str(&process_rule)
            .map_err(|e| StoreError::Corrupt(format!("dataset process_rule: {e}")))?,
        index_generation: row.try_get("index_generation")?,
        created_at: row.try_get("created_at")?,
    })
}

const DATASET_COLUMNS: &str = "id, tenant_id, name, embedding_model, embedding_dimension, doc_form, \
                               process_rule, index_generation, created_at";

impl Store {
    /// Creates a dataset; a name already used in the tenant is refused.
    pub async fn create_dataset(&self, new: NewDataset) -> Result<Dataset, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        let result = sqlx::query(
            "INSERT INTO datasets (id, tenant_id, name, embedding_model, embedding_dimension, doc_form, \
             process_rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&new.tenant_id)
        .bind(&new.name)
        .bind(&new.embedding_model)
        .bind(new.embedding_dimension.map(|d| d as i64))
        .bind(&new.doc_form)
        .bind(new.process_rule.to_string())
        .bind(ts)
        .bind(ts)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::DuplicateDatasetName(new.name));
            }
            Err(e) => return Err(e.into()),
        }
        self.dataset(&new.tenant_id, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("dataset vanished after insert".into()))
    }

    pub async fn dataset(&self, tenant_id: &str, id: &str) -> Result<Option<Dataset>, StoreError> {
        let sql = format!("SELECT {DATASET_COLUMNS} FROM datasets WHERE tenant_id = ? AND id = ?");
        // Built from constant column lists only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    pub async fn dataset_by_name(&self, tenant_id: &str, name: &str) -> Result<Option<Dataset>, StoreError> {
        let sql = format!("SELECT {DATASET_COLUMNS} FROM datasets WHERE tenant_id = ? AND name = ?");
        // Built from constant column lists only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    /// Records the model of a dataset created before it had one (keyword-only until now).
    pub async fn set_dataset_embedding(
        &self,
        dataset_id: &str,
        model: &str,
        dimension: usize,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE datasets SET embedding_model = ?, embedding_dimension = ?, updated_at = ? \
             WHERE id = ? AND embedding_model IS NULL",
        )
        .bind(model)
        .bind(dimension as i64)
        .bind(now())
        .bind(dataset_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
