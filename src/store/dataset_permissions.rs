//! Partial member lists of datasets (Dify's `dataset_permissions`): which accounts of the
//! workspace a `partial_members` dataset is shared with, and which datasets an account was given.

use super::{Store, StoreError, now};

impl Store {
    /// The datasets of the workspace whose partial member list names the account.
    pub async fn granted_datasets(
        &self,
        tenant_id: &str,
        account_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT dataset_id FROM dataset_permissions WHERE tenant_id = $1 AND account_id = $2 ORDER BY dataset_id",
        )
        .bind(tenant_id)
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The account ids on a dataset's partial member list, in the order they were added.
    pub async fn partial_members(
        &self,
        tenant_id: &str,
        dataset_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT account_id FROM dataset_permissions WHERE tenant_id = $1 AND dataset_id = $2 \
             ORDER BY created_at, account_id",
        )
        .bind(tenant_id)
        .bind(dataset_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Replaces a dataset's partial member list (an empty list clears it).
    pub(super) async fn replace_partial_members(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        tenant_id: &str,
        dataset_id: &str,
        account_ids: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM dataset_permissions WHERE tenant_id = $1 AND dataset_id = $2")
            .bind(tenant_id)
            .bind(dataset_id)
            .execute(&mut **tx)
            .await?;
        let ts = now();
        let mut seen = std::collections::HashSet::new();
        for account_id in account_ids.iter().filter(|id| seen.insert(id.as_str())) {
            sqlx::query(
                "INSERT INTO dataset_permissions (id, tenant_id, dataset_id, account_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(tenant_id)
            .bind(dataset_id)
            .bind(account_id)
            .bind(ts)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Sets a dataset's partial member list.
    pub async fn set_partial_members(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        account_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        Self::replace_partial_members(&mut tx, tenant_id, dataset_id, account_ids).await?;
        tx.commit().await?;
        Ok(())
    }
}
