//! Tags of a workspace and their bindings to targets (datasets for `knowledge` tags).

use sqlx::Row;

use super::{Store, StoreError, like_pattern, now};

/// Tag type of tags bound to datasets.
pub const KNOWLEDGE_TAG: &str = "knowledge";
/// Tag type of tags bound to apps.
pub const APP_TAG: &str = "app";

/// A tag with the number of targets bound to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub id: String,
    pub name: String,
    /// `knowledge` (datasets) or `app`.
    pub kind: String,
    pub binding_count: i64,
}

fn tag_from_row(row: &sqlx::any::AnyRow) -> Result<Tag, StoreError> {
    Ok(Tag {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: row.try_get("type")?,
        binding_count: row.try_get("binding_count")?,
    })
}

/// Tags with their binding counts; `{where}` is spliced in after the tenant and type conditions.
const TAG_SELECT: &str = "SELECT t.id, t.name, t.type, t.created_at, COUNT(b.id) AS binding_count \
    FROM tags t LEFT JOIN tag_bindings b ON b.tag_id = t.id WHERE t.tenant_id = $1 AND t.type = $2";
const TAG_GROUP: &str = "GROUP BY t.id, t.name, t.type, t.created_at";

/// `$first, $first+1, ...` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Creates a tag; a name already used by a tag of the same type in the tenant is refused.
    pub async fn create_tag(&self, tenant_id: &str, kind: &str, name: &str) -> Result<Tag, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let result = sqlx::query(
            "INSERT INTO tags (id, tenant_id, type, name, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(kind)
        .bind(name)
        .bind(now())
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(Tag {
                id,
                name: name.to_string(),
                kind: kind.to_string(),
                binding_count: 0,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::DuplicateTagName(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The tenant's tags of a type, newest first, optionally those whose name contains `keyword`
    /// (case-insensitively).
    pub async fn tags(
        &self,
        tenant_id: &str,
        kind: &str,
        keyword: Option<&str>,
    ) -> Result<Vec<Tag>, StoreError> {
        let sql = format!(
            "{TAG_SELECT} AND LOWER(t.name) LIKE LOWER($3) ESCAPE '\\' {TAG_GROUP} ORDER BY t.created_at DESC, t.name"
        );
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(kind)
            .bind(like_pattern(keyword))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(tag_from_row).collect()
    }

    /// The tags among `ids` that exist in the tenant with this type.
    pub async fn tags_by_ids(
        &self,
        tenant_id: &str,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<Tag>, StoreError> {
        let mut tags = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "{TAG_SELECT} AND t.id IN ({}) {TAG_GROUP} ORDER BY t.name",
                placeholders(3, chunk.len())
            );
            // Built from constants and numbered placeholders only.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(kind);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                tags.push(tag_from_row(&row)?);
            }
        }
        Ok(tags)
    }

    /// The type of a tag of the tenant; None if it has no such tag.
    pub async fn tag_kind(&self, tenant_id: &str, id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT type FROM tags WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Renames a tag; None if it does not exist. Its own current name is not a clash.
    pub async fn rename_tag(
        &self,
        tenant_id: &str,
        kind: &str,
        id: &str,
        name: &str,
    ) -> Result<Option<Tag>, StoreError> {
        let result = sqlx::query("UPDATE tags SET name = $1 WHERE tenant_id = $2 AND type = $3 AND id = $4")
            .bind(name)
            .bind(tenant_id)
            .bind(kind)
            .bind(id)
            .execute(&self.pool)
            .await;
        match result {
            Ok(done) if done.rows_affected() == 0 => Ok(None),
            Ok(_) => Ok(self
                .tags_by_ids(tenant_id, kind, std::slice::from_ref(&id.to_string()))
                .await?
                .pop()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::DuplicateTagName(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a tag with its bindings; false if it did not exist.
    pub async fn delete_tag(&self, tenant_id: &str, kind: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM tag_bindings WHERE tenant_id = $1 AND tag_id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM tags WHERE tenant_id = $1 AND type = $2 AND id = $3")
            .bind(tenant_id)
            .bind(kind)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// Binds tags to a target; bindings that exist already are kept as they are.
    pub async fn bind_tags(
        &self,
        tenant_id: &str,
        tag_ids: &[String],
        target_id: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let ts = now();
        for tag_id in tag_ids {
            sqlx::query(
                "INSERT INTO tag_bindings (id, tenant_id, tag_id, target_id, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tag_id, target_id) DO NOTHING",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(tenant_id)
            .bind(tag_id)
            .bind(target_id)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes bindings of tags to a target; missing bindings are no error.
    pub async fn unbind_tags(
        &self,
        tenant_id: &str,
        tag_ids: &[String],
        target_id: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for tag_id in tag_ids {
            sqlx::query("DELETE FROM tag_bindings WHERE tenant_id = $1 AND target_id = $2 AND tag_id = $3")
                .bind(tenant_id)
                .bind(target_id)
                .bind(tag_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Tags of this type bound to a target, by name.
    pub async fn target_tags(
        &self,
        tenant_id: &str,
        kind: &str,
        target_id: &str,
    ) -> Result<Vec<Tag>, StoreError> {
        let sql = format!(
            "{TAG_SELECT} AND t.id IN (SELECT tag_id FROM tag_bindings WHERE tenant_id = $1 AND target_id = $3) \
             {TAG_GROUP} ORDER BY t.name"
        );
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(kind)
            .bind(target_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(tag_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_from_the_first() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 1), "$1");
    }
}
