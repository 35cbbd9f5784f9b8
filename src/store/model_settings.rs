//! Each workspace's model settings: its default embedding and rerank models and its chat model
//! provider. The provider's API key arrives here already sealed (see `api::sealing`).

use sqlx::Row;

use super::{Store, StoreError, now};

/// A workspace's OpenAI-compatible chat model, with its key decrypted.
#[derive(Clone, PartialEq)]
pub struct LlmProvider {
    /// Base URL up to `/v1`; `/chat/completions` is appended.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    /// Request parameters: `temperature`, `max_tokens`, `top_p`, ...
    pub parameters: serde_json::Value,
    /// Tokens the model reads and writes in one call; `None` means 4096.
    pub context_window: Option<u32>,
}

impl std::fmt::Debug for LlmProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmProvider")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("model", &self.model)
            .field("parameters", &self.parameters)
            .field("context_window", &self.context_window)
            .finish()
    }
}

/// Model settings as stored, the provider key still sealed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredModelSettings {
    pub embedding_model: Option<String>,
    pub rerank_provider: Option<String>,
    pub rerank_model: Option<String>,
    pub llm_base_url: Option<String>,
    pub llm_api_key_sealed: Option<String>,
    pub llm_model: Option<String>,
    pub llm_parameters: Option<serde_json::Value>,
    pub llm_context_window: Option<u32>,
    pub updated_at: Option<i64>,
}

impl Store {
    /// The workspace's settings; all empty if it never saved any.
    pub async fn model_settings(&self, tenant_id: &str) -> Result<StoredModelSettings, StoreError> {
        let row = sqlx::query(
            "SELECT embedding_model, rerank_provider, rerank_model, llm_base_url, llm_api_key_sealed, \
             llm_model, llm_parameters, llm_context_window, updated_at FROM workspace_model_settings WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(StoredModelSettings::default());
        };
        let parameters: Option<String> = row.try_get("llm_parameters")?;
        let window: Option<i64> = row.try_get("llm_context_window")?;
        Ok(StoredModelSettings {
            embedding_model: row.try_get("embedding_model")?,
            rerank_provider: row.try_get("rerank_provider")?,
            rerank_model: row.try_get("rerank_model")?,
            llm_base_url: row.try_get("llm_base_url")?,
            llm_api_key_sealed: row.try_get("llm_api_key_sealed")?,
            llm_model: row.try_get("llm_model")?,
            llm_parameters: parameters
                .map(|p| serde_json::from_str(&p))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("llm_parameters: {e}")))?,
            llm_context_window: window.and_then(|w| u32::try_from(w).ok()),
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// Replaces the workspace's settings with `settings`.
    pub async fn save_model_settings(
        &self,
        tenant_id: &str,
        account_id: &str,
        settings: &StoredModelSettings,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM workspace_model_settings WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO workspace_model_settings (tenant_id, embedding_model, rerank_provider, rerank_model, \
             llm_base_url, llm_api_key_sealed, llm_model, llm_parameters, llm_context_window, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(tenant_id)
        .bind(&settings.embedding_model)
        .bind(&settings.rerank_provider)
        .bind(&settings.rerank_model)
        .bind(&settings.llm_base_url)
        .bind(&settings.llm_api_key_sealed)
        .bind(&settings.llm_model)
        .bind(settings.llm_parameters.as_ref().map(|p| p.to_string()))
        .bind(settings.llm_context_window.map(i64::from))
        .bind(account_id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
