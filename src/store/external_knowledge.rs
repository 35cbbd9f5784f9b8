//! External knowledge (Dify's `external_knowledge_apis` and `external_knowledge_bindings`): the
//! External Knowledge API endpoints a workspace registered, and the datasets that read one.

use sqlx::Row;

use super::{Dataset, Store, StoreError, like_pattern, now};

/// A registered External Knowledge API; the key is kept sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalKnowledgeApi {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    /// Base URL; requests go to `{endpoint}/retrieval`.
    pub endpoint: String,
    pub api_key_sealed: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What an external dataset reads: the API, the knowledge id there, and its retrieval settings
/// (`{top_k, score_threshold, score_threshold_enabled}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalBinding {
    pub dataset_id: String,
    pub api_id: String,
    pub knowledge_id: String,
    pub retrieval_model: serde_json::Value,
}

/// Fields of a new or changed External Knowledge API.
#[derive(Debug, Clone)]
pub struct ExternalApiFields {
    pub name: String,
    pub description: String,
    pub endpoint: String,
    pub api_key_sealed: String,
}

/// A new external dataset.
#[derive(Debug, Clone)]
pub struct NewExternalDataset {
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    pub created_by: Option<String>,
    pub api_id: String,
    pub knowledge_id: String,
    pub retrieval_model: serde_json::Value,
}

const API_COLUMNS: &str =
    "id, tenant_id, name, description, endpoint, api_key_sealed, created_by, created_at, updated_at";

fn api_from_row(row: &sqlx::any::AnyRow) -> Result<ExternalKnowledgeApi, StoreError> {
    Ok(ExternalKnowledgeApi {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        endpoint: row.try_get("endpoint")?,
        api_key_sealed: row.try_get("api_key_sealed")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn duplicate(result: Result<sqlx::any::AnyQueryResult, sqlx::Error>, name: &str) -> Result<u64, StoreError> {
    match result {
        Ok(done) => Ok(done.rows_affected()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(StoreError::DuplicateExternalApiName(name.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

impl Store {
    /// Registers an API; a name already used in the workspace is refused.
    pub async fn create_external_api(
        &self,
        tenant_id: &str,
        created_by: Option<&str>,
        fields: &ExternalApiFields,
    ) -> Result<ExternalKnowledgeApi, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        let result = sqlx::query(
            "INSERT INTO external_knowledge_apis (id, tenant_id, name, description, endpoint, api_key_sealed, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(&fields.endpoint)
        .bind(&fields.api_key_sealed)
        .bind(created_by)
        .bind(ts)
        .bind(ts)
        .execute(&self.pool)
        .await;
        duplicate(result, &fields.name)?;
        self.external_api(tenant_id, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("external knowledge API vanished after insert".into()))
    }

    pub async fn external_api(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ExternalKnowledgeApi>, StoreError> {
        let sql =
            format!("SELECT {API_COLUMNS} FROM external_knowledge_apis WHERE tenant_id = $1 AND id = $2");
        // Built from constant column lists only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(api_from_row).transpose()
    }

    /// A page of the workspace's APIs, newest first, optionally by name keyword; and the total.
    pub async fn external_apis(
        &self,
        tenant_id: &str,
        keyword: Option<&str>,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<ExternalKnowledgeApi>, i64), StoreError> {
        let pattern = like_pattern(keyword);
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM external_knowledge_apis WHERE tenant_id = $1 \
             AND LOWER(name) LIKE LOWER($2) ESCAPE '\\'",
        )
        .bind(tenant_id)
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await?;
        let sql = format!(
            "SELECT {API_COLUMNS} FROM external_knowledge_apis WHERE tenant_id = $1 \
             AND LOWER(name) LIKE LOWER($2) ESCAPE '\\' ORDER BY created_at DESC, id LIMIT $3 OFFSET $4"
        );
        // Built from constant column lists only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(&pattern)
            .bind(i64::from(limit))
            .bind(i64::from(page.saturating_sub(1)) * i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok((rows.iter().map(api_from_row).collect::<Result<_, _>>()?, total))
    }

    /// Changes an API; None if it does not exist in the workspace.
    pub async fn update_external_api(
        &self,
        tenant_id: &str,
        id: &str,
        fields: &ExternalApiFields,
    ) -> Result<Option<ExternalKnowledgeApi>, StoreError> {
        let result = sqlx::query(
            "UPDATE external_knowledge_apis SET name = $1, description = $2, endpoint = $3, api_key_sealed = $4, \
             updated_at = $5 WHERE tenant_id = $6 AND id = $7",
        )
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(&fields.endpoint)
        .bind(&fields.api_key_sealed)
        .bind(now())
        .bind(tenant_id)
        .bind(id)
        .execute(&self.pool)
        .await;
        if duplicate(result, &fields.name)? == 0 {
            return Ok(None);
        }
        self.external_api(tenant_id, id).await
    }

    /// Deletes an API that no dataset reads: Ok(false) if it does not exist, the error
    /// `ExternalApiInUse` if a dataset still reads it.
    pub async fn delete_external_api(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let bound: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM external_knowledge_bindings WHERE tenant_id = $1 AND external_knowledge_api_id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if bound > 0 {
            return Err(StoreError::ExternalApiInUse(bound));
        }
        let deleted = sqlx::query("DELETE FROM external_knowledge_apis WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// The datasets reading an API, as `(id, name)`, by name.
    pub async fn external_api_datasets(
        &self,
        tenant_id: &str,
        api_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.name FROM external_knowledge_bindings b JOIN datasets d ON d.id = b.dataset_id \
             WHERE b.tenant_id = $1 AND b.external_knowledge_api_id = $2 ORDER BY d.name, d.id",
        )
        .bind(tenant_id)
        .bind(api_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("name")?)))
            .collect()
    }

    /// Creates an external dataset (provider `external`) and its binding, together; a name
    /// already used in the workspace is refused, an API of another workspace is not found.
    pub async fn create_external_dataset(&self, new: NewExternalDataset) -> Result<Dataset, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        let mut tx = self.begin_write().await?;
        let api_exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM external_knowledge_apis WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&new.tenant_id)
        .bind(&new.api_id)
        .fetch_one(&mut *tx)
        .await?;
        if api_exists == 0 {
            return Err(StoreError::ExternalApiNotFound);
        }
        let result = sqlx::query(
            "INSERT INTO datasets (id, tenant_id, name, doc_form, process_rule, created_at, updated_at, description, \
             permission, provider, created_by) VALUES ($1, $2, $3, 'text_model', '{\"mode\": \"automatic\"}', $4, $5, \
             $6, 'only_me', 'external', $7)",
        )
        .bind(&id)
        .bind(&new.tenant_id)
        .bind(&new.name)
        .bind(ts)
        .bind(ts)
        .bind(&new.description)
        .bind(&new.created_by)
        .execute(&mut *tx)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::DuplicateDatasetName(new.name));
            }
            Err(e) => return Err(e.into()),
        }
        sqlx::query(
            "INSERT INTO external_knowledge_bindings (dataset_id, tenant_id, external_knowledge_api_id, \
             external_knowledge_id, retrieval_model, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&new.tenant_id)
        .bind(&new.api_id)
        .bind(&new.knowledge_id)
        .bind(new.retrieval_model.to_string())
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.dataset(&new.tenant_id, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("dataset vanished after insert".into()))
    }

    /// What an external dataset reads; None for a dataset of ragd's own.
    pub async fn external_binding(
        &self,
        tenant_id: &str,
        dataset_id: &str,
    ) -> Result<Option<ExternalBinding>, StoreError> {
        let row = sqlx::query(
            "SELECT dataset_id, external_knowledge_api_id, external_knowledge_id, retrieval_model \
             FROM external_knowledge_bindings WHERE tenant_id = $1 AND dataset_id = $2",
        )
        .bind(tenant_id)
        .bind(dataset_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let model: String = row.try_get("retrieval_model")?;
            Ok(ExternalBinding {
                dataset_id: row.try_get("dataset_id")?,
                api_id: row.try_get("external_knowledge_api_id")?,
                knowledge_id: row.try_get("external_knowledge_id")?,
                retrieval_model: serde_json::from_str(&model)
                    .map_err(|e| StoreError::Corrupt(format!("external retrieval_model: {e}")))?,
            })
        })
        .transpose()
    }

    /// Sets an external dataset's retrieval settings.
    pub async fn set_external_retrieval_model(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        model: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE external_knowledge_bindings SET retrieval_model = $1 WHERE tenant_id = $2 AND dataset_id = $3")
            .bind(model.to_string())
            .bind(tenant_id)
            .bind(dataset_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
