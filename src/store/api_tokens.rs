//! API keys. Only a SHA-256 of each key is stored; the key itself is shown once, at creation.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Store, StoreError, now};

/// Kind of API key (API.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// `dataset-...`: workspace-wide access to the knowledge API.
    Dataset,
    /// `app-...`: one app's API.
    App,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Dataset => "dataset",
            TokenType::App => "app",
        }
    }
}

/// A verified API key.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: String,
    pub tenant_id: String,
    pub token_type: String,
    pub app_id: Option<String>,
}

/// A dataset API key as the console lists it: never the key itself, only its hint.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiTokenInfo {
    pub id: String,
    pub token_type: String,
    /// The key's first and last characters (`dataset-ab...wxyz`).
    pub hint: String,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
}

/// A key just made: the only time the key itself is known.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedApiToken {
    pub id: String,
    pub key: String,
    pub created_at: i64,
}

/// Keys are `<type>-` plus 24 characters from a 62-letter alphabet (about 143 bits).
pub(super) fn generate_key(token_type: TokenType) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut random = [0u8; 32];
    random[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    random[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    // Rejection-free mapping: 256 % 62 bias is negligible for keys of this length.
    let body: String = random
        .iter()
        .take(24)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{}-{body}", token_type.as_str())
}

pub(super) fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Store {
    /// Creates a key and returns it in clear (the only time it is available).
    pub async fn create_api_token(
        &self,
        tenant_id: &str,
        token_type: TokenType,
        app_id: Option<&str>,
    ) -> Result<String, StoreError> {
        let issued = self.issue_api_token(tenant_id, token_type, app_id, None).await?;
        // Without a limit a key is always issued.
        issued
            .map(|token| token.key)
            .ok_or_else(|| StoreError::Corrupt("no key issued without a limit".into()))
    }

    /// Creates a key unless the workspace (or the app, for app keys) already has `max` keys of
    /// this type: then None. Counted and inserted in one write transaction, so concurrent
    /// requests cannot pass the limit together.
    pub async fn issue_api_token(
        &self,
        tenant_id: &str,
        token_type: TokenType,
        app_id: Option<&str>,
        max: Option<usize>,
    ) -> Result<Option<IssuedApiToken>, StoreError> {
        let key = generate_key(token_type);
        let hint = format!(
            "{}...{}",
            &key[..key.find('-').unwrap_or(0) + 3],
            &key[key.len() - 4..]
        );
        let mut tx = self.begin_write().await?;
        if let Some(max) = max {
            // The count and the insert must not interleave with another creation: the tenant's
            // row is locked first (a no-op update; on SQLite the write transaction already
            // excludes other writers, on PostgreSQL this is what serializes them).
            sqlx::query("UPDATE tenants SET status = status WHERE id = $1")
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
            let count: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM api_tokens WHERE tenant_id = $1 AND type = $2 \
                 AND COALESCE(app_id, '') = $3",
            )
            .bind(tenant_id)
            .bind(token_type.as_str())
            .bind(app_id.unwrap_or(""))
            .fetch_one(&mut *tx)
            .await?;
            if count >= max as i64 {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let created_at = now();
        sqlx::query(
            "INSERT INTO api_tokens (id, tenant_id, type, token_hash, token_hint, app_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(token_type.as_str())
        .bind(hash_key(&key))
        .bind(hint)
        .bind(app_id)
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(IssuedApiToken { id, key, created_at }))
    }

    /// The keys of a type in a workspace (of one app, for app keys), oldest first.
    pub async fn list_api_tokens(
        &self,
        tenant_id: &str,
        token_type: TokenType,
        app_id: Option<&str>,
    ) -> Result<Vec<ApiTokenInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, type, token_hint, last_used_at, created_at FROM api_tokens \
             WHERE tenant_id = $1 AND type = $2 AND COALESCE(app_id, '') = $3 ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .bind(token_type.as_str())
        .bind(app_id.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiTokenInfo {
                    id: row.try_get("id")?,
                    token_type: row.try_get("type")?,
                    hint: row.try_get("token_hint")?,
                    last_used_at: row.try_get("last_used_at")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Deletes a key of a type in a workspace (of one app, for app keys); false if there is none.
    pub async fn delete_api_token(
        &self,
        tenant_id: &str,
        token_type: TokenType,
        app_id: Option<&str>,
        id: &str,
    ) -> Result<bool, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM api_tokens WHERE tenant_id = $1 AND type = $2 AND COALESCE(app_id, '') = $3 AND id = $4",
        )
        .bind(tenant_id)
        .bind(token_type.as_str())
        .bind(app_id.unwrap_or(""))
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted > 0)
    }

    /// The key's record if `key` is a known key of `token_type`; updates `last_used_at` at most
    /// once a minute.
    pub async fn verify_api_token(
        &self,
        key: &str,
        token_type: TokenType,
    ) -> Result<Option<ApiToken>, StoreError> {
        let row = sqlx::query("SELECT id, tenant_id, type, app_id, last_used_at FROM api_tokens WHERE token_hash = $1 AND type = $2")
            .bind(hash_key(key))
            .bind(token_type.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let token = ApiToken {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            token_type: row.try_get("type")?,
            app_id: row.try_get("app_id")?,
        };
        let last_used: Option<i64> = row.try_get("last_used_at")?;
        let ts = now();
        if last_used.is_none_or(|t| ts - t >= 60) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(ts)
                .bind(&token.id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_dify_shape_and_differ() {
        let a = generate_key(TokenType::Dataset);
        let b = generate_key(TokenType::Dataset);
        assert!(a.starts_with("dataset-"));
        assert_eq!(a.len(), "dataset-".len() + 24);
        assert!(a["dataset-".len()..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        assert!(generate_key(TokenType::App).starts_with("app-"));
    }
}
