//! App rows: chat and completion apps, their model config, the datasets they answer from and
//! their API keys.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::tags::APP_TAG;
use super::{Store, StoreError, get_bool, like_pattern, now, numbered_placeholders};

/// A chat or completion app.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    /// `chat` or `completion`.
    pub mode: String,
    pub icon_type: Option<String>,
    pub icon: Option<String>,
    pub icon_background: Option<String>,
    pub enable_site: bool,
    pub enable_api: bool,
    /// Dify's easy-UI model config, as stored (normalised by `apps::AppConfig`).
    pub model_config: serde_json::Value,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Fields needed to create an app.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    pub mode: String,
    pub icon_type: Option<String>,
    pub icon: Option<String>,
    pub icon_background: Option<String>,
    pub model_config: serde_json::Value,
    pub created_by: Option<String>,
}

/// Fields an update may change; None leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AppChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub icon_type: Option<String>,
    pub icon: Option<String>,
    pub icon_background: Option<String>,
    pub enable_site: Option<bool>,
    pub enable_api: Option<bool>,
}

/// An app API key as lists show it: its hint, never the key.
#[derive(Debug, Clone, PartialEq)]
pub struct AppApiKey {
    pub id: String,
    pub token_hint: String,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
}

const APP_COLUMNS: &str = "id, tenant_id, name, description, mode, icon_type, icon, icon_background, \
    CAST(enable_site AS INTEGER) AS enable_site, CAST(enable_api AS INTEGER) AS enable_api, model_config, \
    created_by, created_at, updated_at";

fn app_from_row(row: &AnyRow) -> Result<App, StoreError> {
    let config: String = row.try_get("model_config")?;
    Ok(App {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        mode: row.try_get("mode")?,
        icon_type: row.try_get("icon_type")?,
        icon: row.try_get("icon")?,
        icon_background: row.try_get("icon_background")?,
        enable_site: get_bool(row, "enable_site")?,
        enable_api: get_bool(row, "enable_api")?,
        model_config: serde_json::from_str(&config)
            .map_err(|e| StoreError::Corrupt(format!("app model_config: {e}")))?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Creates an app with its model config and dataset bindings.
    pub async fn create_app(&self, app: NewApp, dataset_ids: &[String]) -> Result<App, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO apps (id, tenant_id, name, description, mode, icon_type, icon, icon_background, \
             model_config, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(&id)
        .bind(&app.tenant_id)
        .bind(&app.name)
        .bind(&app.description)
        .bind(&app.mode)
        .bind(&app.icon_type)
        .bind(&app.icon)
        .bind(&app.icon_background)
        .bind(app.model_config.to_string())
        .bind(&app.created_by)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        bind_datasets(&mut tx, &app.tenant_id, &id, dataset_ids, ts).await?;
        tx.commit().await?;
        self.app(&app.tenant_id, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("created app vanished".into()))
    }

    /// The app with this id in the workspace.
    pub async fn app(&self, tenant_id: &str, id: &str) -> Result<Option<App>, StoreError> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(app_from_row).transpose()
    }

    /// A page of the workspace's apps, newest first, with the total; `mode` None means all.
    pub async fn list_apps(
        &self,
        tenant_id: &str,
        mode: Option<&str>,
        name: Option<&str>,
        tag_ids: &[String],
        page: u32,
        limit: u32,
    ) -> Result<(Vec<App>, i64), StoreError> {
        let pattern = like_pattern(name);
        let mut filter = String::from(
            "tenant_id = $1 AND ($2 = '' OR mode = $2) AND LOWER(name) LIKE LOWER($3) ESCAPE '\\'",
        );
        // Only apps bound to one of the app tags (Dify's `tag_ids`).
        if !tag_ids.is_empty() {
            filter.push_str(&format!(
                " AND id IN (SELECT b.target_id FROM tag_bindings b JOIN tags t ON t.id = b.tag_id \
                 WHERE b.tenant_id = $1 AND t.type = '{APP_TAG}' AND b.tag_id IN ({}))",
                numbered_placeholders(4, tag_ids.len())
            ));
        }
        let next = 4 + tag_ids.len();
        let mode = mode.unwrap_or("");
        // Both built from constants and numbered placeholders only.
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM apps WHERE {filter}"
        )))
        .bind(tenant_id)
        .bind(mode)
        .bind(&pattern);
        let sql = format!(
            "SELECT {APP_COLUMNS} FROM apps WHERE {filter} ORDER BY created_at DESC, id LIMIT ${next} OFFSET ${}",
            next + 1
        );
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(mode)
            .bind(&pattern);
        for id in tag_ids {
            count = count.bind(id);
            rows = rows.bind(id);
        }
        let total = count.fetch_one(&self.pool).await?;
        let rows = rows
            .bind(i64::from(limit))
            .bind(i64::from(page.saturating_sub(1)) * i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let apps = rows.iter().map(app_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok((apps, total))
    }

    /// Applies `changes`; None when the app does not exist.
    pub async fn update_app(
        &self,
        tenant_id: &str,
        id: &str,
        changes: AppChanges,
    ) -> Result<Option<App>, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE apps SET name = COALESCE($1, name), description = COALESCE($2, description), \
             icon_type = COALESCE($3, icon_type), icon = COALESCE($4, icon), \
             icon_background = COALESCE($5, icon_background), \
             enable_site = COALESCE($6, enable_site), enable_api = COALESCE($7, enable_api), updated_at = $8 \
             WHERE tenant_id = $9 AND id = $10",
        )
        .bind(changes.name)
        .bind(changes.description)
        .bind(changes.icon_type)
        .bind(changes.icon)
        .bind(changes.icon_background)
        .bind(changes.enable_site)
        .bind(changes.enable_api)
        .bind(now())
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.app(tenant_id, id).await
    }

    /// Replaces the model config and the dataset bindings; false when the app does not exist.
    pub async fn set_app_model_config(
        &self,
        tenant_id: &str,
        id: &str,
        model_config: &serde_json::Value,
        dataset_ids: &[String],
    ) -> Result<bool, StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE apps SET model_config = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(model_config.to_string())
        .bind(ts)
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM app_dataset_joins WHERE app_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        bind_datasets(&mut tx, tenant_id, id, dataset_ids, ts).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes an app with its conversations, messages, feedback and API keys; false when it
    /// does not exist.
    pub async fn delete_app(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        // Children first, so PostgreSQL and SQLite without foreign keys agree.
        for table in [
            "app_annotation_hit_histories",
            "app_annotation_jobs",
            "app_annotation_settings",
            "message_annotations",
            "message_feedbacks",
            "messages",
            "conversations",
            "end_users",
            "app_dataset_joins",
        ] {
            let sql = format!("DELETE FROM {table} WHERE app_id = $1 AND tenant_id = $2");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM api_tokens WHERE type = 'app' AND app_id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        // Tag bindings name their target without a foreign key (a target may be a dataset).
        sqlx::query("DELETE FROM tag_bindings WHERE tenant_id = $1 AND target_id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM apps WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// The workspace's apps bound to a dataset, oldest first (a dataset in use is not deleted).
    pub async fn apps_using_dataset(
        &self,
        tenant_id: &str,
        dataset_id: &str,
    ) -> Result<Vec<App>, StoreError> {
        let sql = format!(
            "SELECT {APP_COLUMNS} FROM apps WHERE tenant_id = $1 AND id IN \
             (SELECT app_id FROM app_dataset_joins WHERE tenant_id = $1 AND dataset_id = $2) ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(dataset_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(app_from_row).collect()
    }

    /// Ids of the datasets an app is bound to, in configured order.
    pub async fn app_dataset_ids(&self, tenant_id: &str, app_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT dataset_id FROM app_dataset_joins WHERE tenant_id = $1 AND app_id = $2 ORDER BY position",
        )
        .bind(tenant_id)
        .bind(app_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// An app's API keys, oldest first.
    pub async fn app_api_keys(&self, tenant_id: &str, app_id: &str) -> Result<Vec<AppApiKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, token_hint, last_used_at, created_at FROM api_tokens \
             WHERE tenant_id = $1 AND type = 'app' AND app_id = $2 ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .bind(app_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AppApiKey {
                    id: row.try_get("id")?,
                    token_hint: row.try_get("token_hint")?,
                    last_used_at: row.try_get("last_used_at")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Removes one of an app's keys; false when it is not the app's.
    pub async fn delete_app_api_key(
        &self,
        tenant_id: &str,
        app_id: &str,
        key_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM api_tokens WHERE id = $1 AND tenant_id = $2 AND type = 'app' AND app_id = $3",
        )
        .bind(key_id)
        .bind(tenant_id)
        .bind(app_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

async fn bind_datasets(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    tenant_id: &str,
    app_id: &str,
    dataset_ids: &[String],
    ts: i64,
) -> Result<(), StoreError> {
    for (position, dataset_id) in dataset_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO app_dataset_joins (app_id, tenant_id, dataset_id, position, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(app_id)
        .bind(tenant_id)
        .bind(dataset_id)
        .bind(position as i64)
        .bind(ts)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
