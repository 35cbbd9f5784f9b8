//! Uploaded files looked up by id, for signed file links (which name a file, not a document).

use sqlx::Row;

use super::{Store, StoreError, UploadFile};

/// An uploaded file and who it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    pub tenant_id: String,
    /// The account that uploaded it, when recorded.
    pub created_by: Option<String>,
    pub file: UploadFile,
}

impl Store {
    /// The uploaded file with this id, in any workspace.
    pub async fn upload_file(&self, file_id: &str) -> Result<Option<StoredFile>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, name, size, extension, mime_type, hash, storage_key, created_by, created_at \
             FROM upload_files WHERE id = $1",
        )
        .bind(file_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StoredFile {
                tenant_id: row.try_get("tenant_id")?,
                created_by: row.try_get("created_by")?,
                file: UploadFile {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    size: row.try_get("size")?,
                    extension: row.try_get("extension")?,
                    mime_type: row.try_get("mime_type")?,
                    hash: row.try_get("hash")?,
                    storage_key: row.try_get("storage_key")?,
                    created_at: row.try_get("created_at")?,
                },
            })
        })
        .transpose()
    }

    /// How many uploaded files a workspace has (tests check refused uploads leave none behind).
    pub async fn count_upload_files(&self, tenant_id: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM upload_files WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
