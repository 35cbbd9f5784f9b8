//! Dataset rows.

use sqlx::Row;

use super::{Store, StoreError, get_bool, like_pattern, now};

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
    pub updated_at: i64,
    pub description: String,
    /// `high_quality` (embeddings) or `economy` (BM25 only); None until the first document.
    pub indexing_technique: Option<String>,
    pub permission: String,
    pub provider: String,
    pub created_by: Option<String>,
    pub enable_api: bool,
    /// Dify retrieval_model JSON used when a query brings none.
    pub retrieval_model: Option<serde_json::Value>,
    /// Language of the documents (Dify's `doc_language` of the first one, English by default),
    /// which picks the full-text analyzer when the index is created.
    pub doc_language: String,
}

/// A console account as Dify's dataset permission sees it: its role, and the datasets whose
/// `partial_members` list names it (Dify's `dataset_permissions` rows).
#[derive(Debug, Clone)]
pub struct DatasetViewer {
    pub account_id: String,
    pub role: super::Role,
    /// Datasets of the workspace whose partial member list includes this account.
    pub granted: Vec<String>,
}

/// Dataset permissions (Dify's `DatasetPermissionEnum`).
pub const ONLY_ME: &str = "only_me";
pub const ALL_TEAM: &str = "all_team_members";
pub const PARTIAL_TEAM: &str = "partial_members";

/// `provider` of a dataset read through an External Knowledge API (ragd's own are `vendor`).
pub const EXTERNAL_PROVIDER: &str = "external";

impl Dataset {
    /// Dify's dataset permission, the one rule for every place a dataset is opened or listed for
    /// a console account (the SQL of lists is [`visibility_condition`], kept beside it): the
    /// owner reaches every dataset of the workspace; a dataset operator reaches the datasets it
    /// was given (named on their partial member list) and its own; others reach those shared
    /// with the team, their own, and the partial-members datasets that list them.
    pub fn visible_to(&self, viewer: &DatasetViewer) -> bool {
        if self.created_by.as_deref() == Some(viewer.account_id.as_str()) {
            return true;
        }
        let granted = viewer.granted.contains(&self.id);
        match viewer.role {
            super::Role::Owner => true,
            super::Role::DatasetOperator => granted,
            _ => self.permission == ALL_TEAM || (self.permission == PARTIAL_TEAM && granted),
        }
    }
}

/// The SQL condition of [`Dataset::visible_to`] over `datasets` columns, with the account's id
/// at placeholder `$account` and its granted dataset ids at `$granted...`, as a list applies it.
/// `keyless_own`: datasets without a creator (made with a dataset key) count as the viewer's
/// (they were made for the workspace owner). `as_member`: the owner listing without
/// `include_all` sees what a member would (Dify's dataset list). None: the viewer sees all.
pub fn visibility_condition(
    viewer: &DatasetViewer,
    account: usize,
    granted_first: usize,
    keyless_own: bool,
    as_member: bool,
) -> Option<String> {
    if viewer.role == super::Role::Owner && !as_member {
        return None;
    }
    let own = if keyless_own {
        format!("(created_by = ${account} OR created_by IS NULL)")
    } else {
        format!("created_by = ${account}")
    };
    let granted = if viewer.granted.is_empty() {
        "1 = 0".to_string()
    } else {
        format!(
            "id IN ({})",
            super::numbered_placeholders(granted_first, viewer.granted.len())
        )
    };
    Some(match viewer.role {
        super::Role::DatasetOperator => format!("({own} OR {granted})"),
        _ => format!("({own} OR permission = '{ALL_TEAM}' OR (permission = '{PARTIAL_TEAM}' AND {granted}))"),
    })
}

/// Fields a PATCH may change; None leaves a field as it is. The indexing technique and the
/// embedding model change together, through `switch_indexing_technique`.
#[derive(Debug, Clone, Default)]
pub struct DatasetChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub permission: Option<String>,
    pub retrieval_model: Option<serde_json::Value>,
    /// The accounts a `partial_members` dataset is shared with; replaced as a whole. A
    /// permission other than `partial_members` clears the list.
    pub partial_members: Option<Vec<String>>,
}

/// Document and word totals of a dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DatasetCounts {
    pub documents: i64,
    pub available_documents: i64,
    pub words: i64,
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
    pub description: String,
    pub indexing_technique: Option<String>,
    pub permission: String,
    pub retrieval_model: Option<serde_json::Value>,
    pub created_by: Option<String>,
}

pub(super) fn dataset_from_row(row: &sqlx::any::AnyRow) -> Result<Dataset, StoreError> {
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
        updated_at: row.try_get("updated_at")?,
        description: row.try_get("description")?,
        indexing_technique: row.try_get("indexing_technique")?,
        permission: row.try_get("permission")?,
        provider: row.try_get("provider")?,
        created_by: row.try_get("created_by")?,
        enable_api: get_bool(row, "enable_api")?,
        retrieval_model: row
            .try_get::<Option<String>, _>("retrieval_model")?
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("dataset retrieval_model: {e}")))?,
        doc_language: row.try_get("doc_language")?,
    })
}

pub(super) const DATASET_COLUMNS: &str = "id, tenant_id, name, embedding_model, embedding_dimension, doc_form, \
    process_rule, index_generation, created_at, updated_at, description, indexing_technique, permission, \
    provider, created_by, CAST(enable_api AS INTEGER) AS enable_api, retrieval_model, doc_language";

impl Store {
    /// Creates a dataset; a name already used in the tenant is refused.
    pub async fn create_dataset(&self, new: NewDataset) -> Result<Dataset, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        let result = sqlx::query(
            "INSERT INTO datasets (id, tenant_id, name, embedding_model, embedding_dimension, doc_form, \
             process_rule, created_at, updated_at, description, indexing_technique, permission, retrieval_model, \
             created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
        .bind(&new.description)
        .bind(&new.indexing_technique)
        .bind(&new.permission)
        .bind(new.retrieval_model.as_ref().map(|m| m.to_string()))
        .bind(&new.created_by)
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
        let sql = format!("SELECT {DATASET_COLUMNS} FROM datasets WHERE tenant_id = $1 AND id = $2");
        // Built from constant column lists only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    pub async fn dataset_by_name(&self, tenant_id: &str, name: &str) -> Result<Option<Dataset>, StoreError> {
        let sql = format!("SELECT {DATASET_COLUMNS} FROM datasets WHERE tenant_id = $1 AND name = $2");
        // Built from constant column lists only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    /// Sets the process rule that new documents (and `ragd reindex --rechunk`) cut with.
    pub async fn set_dataset_process_rule(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        rule: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE datasets SET process_rule = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(rule.to_string())
        .bind(now())
        .bind(tenant_id)
        .bind(dataset_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the model of a dataset created before it had one (keyword-only until now).
    pub async fn set_dataset_embedding(
        &self,
        dataset_id: &str,
        model: &str,
        dimension: usize,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE datasets SET embedding_model = $1, embedding_dimension = $2, updated_at = $3 \
             WHERE id = $4 AND embedding_model IS NULL",
        )
        .bind(model)
        .bind(dimension as i64)
        .bind(now())
        .bind(dataset_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Moves a dataset that has no document yet from model `from` to `to` (both of `dimension`
    /// dimensions, so its empty vector table fits either); false if it has a document or another
    /// model by now.
    pub async fn adopt_dataset_model(
        &self,
        dataset_id: &str,
        from: &str,
        to: &str,
        dimension: usize,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE datasets SET embedding_model = $1, updated_at = $2 WHERE id = $3 \
             AND embedding_model = $4 AND embedding_dimension = $5 \
             AND NOT EXISTS (SELECT 1 FROM documents WHERE dataset_id = $6)",
        )
        .bind(to)
        .bind(now())
        .bind(dataset_id)
        .bind(from)
        .bind(dimension as i64)
        .bind(dataset_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    /// Records the dataset's document language while it has no document: the first document
    /// decides, because the full-text index is built with that language's analyzer.
    pub async fn set_dataset_language(&self, dataset_id: &str, language: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE datasets SET doc_language = $1, updated_at = $2 WHERE id = $3 \
             AND NOT EXISTS (SELECT 1 FROM documents WHERE dataset_id = $4)",
        )
        .bind(language)
        .bind(now())
        .bind(dataset_id)
        .bind(dataset_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Store {
    /// A page of the tenant's datasets, newest first, optionally filtered by a name keyword;
    /// returns the page and the total count.
    pub async fn list_datasets(
        &self,
        tenant_id: &str,
        keyword: Option<&str>,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<Dataset>, i64), StoreError> {
        let pattern = like_pattern(keyword);
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM datasets WHERE tenant_id = $1 AND LOWER(name) LIKE LOWER($2) ESCAPE '\\'",
        )
        .bind(tenant_id)
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await?;
        // Built from constant column lists only.
        let sql = format!(
            "SELECT {DATASET_COLUMNS} FROM datasets WHERE tenant_id = $1 AND LOWER(name) LIKE LOWER($2) ESCAPE '\\' \
             ORDER BY created_at DESC, id LIMIT $3 OFFSET $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(&pattern)
            .bind(i64::from(limit))
            .bind(i64::from(page.saturating_sub(1)) * i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let datasets = rows.iter().map(dataset_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok((datasets, total))
    }

    /// Applies `changes`; a new name already used in the tenant is refused.
    pub async fn update_dataset(
        &self,
        tenant_id: &str,
        id: &str,
        changes: DatasetChanges,
    ) -> Result<Option<Dataset>, StoreError> {
        let Some(current) = self.dataset(tenant_id, id).await? else {
            return Ok(None);
        };
        let name = changes.name.unwrap_or(current.name);
        let permission = changes.permission.unwrap_or(current.permission);
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE datasets SET name = $1, description = $2, permission = $3, retrieval_model = $4, \
             updated_at = $5 WHERE tenant_id = $6 AND id = $7",
        )
        .bind(&name)
        .bind(changes.description.unwrap_or(current.description))
        .bind(&permission)
        .bind(
            changes
                .retrieval_model
                .or(current.retrieval_model)
                .map(|m| m.to_string()),
        )
        .bind(now())
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::DuplicateDatasetName(name));
            }
            Err(e) => return Err(e.into()),
        }
        // Dify keeps the list only while the dataset is shared with partial members.
        if permission != PARTIAL_TEAM {
            Self::replace_partial_members(&mut tx, tenant_id, id, &[]).await?;
        } else if let Some(members) = &changes.partial_members {
            Self::replace_partial_members(&mut tx, tenant_id, id, members).await?;
        }
        tx.commit().await?;
        self.dataset(tenant_id, id).await
    }

    /// Deletes a dataset with its documents, segments and jobs; false if it did not exist.
    pub async fn delete_dataset(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM jobs WHERE dataset_id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        // Tag bindings name their target without a foreign key (a target may be an app).
        sqlx::query("DELETE FROM tag_bindings WHERE tenant_id = $1 AND target_id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM datasets WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// Document and word totals of a dataset.
    pub async fn dataset_counts(&self, dataset_id: &str) -> Result<DatasetCounts, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS documents, \
             CAST(COALESCE(SUM(CASE WHEN indexing_status = 'completed' AND enabled AND NOT archived THEN 1 ELSE 0 END), 0) AS BIGINT) AS available, \
             CAST(COALESCE(SUM(word_count), 0) AS BIGINT) AS words FROM documents WHERE dataset_id = $1",
        )
        .bind(dataset_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(DatasetCounts {
            documents: row.try_get("documents")?,
            available_documents: row.try_get("available")?,
            words: row.try_get("words")?,
        })
    }
}
