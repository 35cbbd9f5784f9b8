//! Document rows and their indexing status.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use sqlx::Row;

use super::segments::{NewChildChunk, NewSegment, insert_segments};
use super::{Store, StoreError, now};

/// Dify's `indexing_status` of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexingStatus {
    Waiting,
    Parsing,
    Cleaning,
    Splitting,
    Indexing,
    Paused,
    Completed,
    Error,
}

impl IndexingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexingStatus::Waiting => "waiting",
            IndexingStatus::Parsing => "parsing",
            IndexingStatus::Cleaning => "cleaning",
            IndexingStatus::Splitting => "splitting",
            IndexingStatus::Indexing => "indexing",
            IndexingStatus::Paused => "paused",
            IndexingStatus::Completed => "completed",
            IndexingStatus::Error => "error",
        }
    }
}

impl fmt::Display for IndexingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IndexingStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "waiting" => IndexingStatus::Waiting,
            "parsing" => IndexingStatus::Parsing,
            "cleaning" => IndexingStatus::Cleaning,
            "splitting" => IndexingStatus::Splitting,
            "indexing" => IndexingStatus::Indexing,
            "paused" => IndexingStatus::Paused,
            "completed" => IndexingStatus::Completed,
            "error" => IndexingStatus::Error,
            other => return Err(StoreError::Corrupt(format!("unknown indexing status {other:?}"))),
        })
    }
}

/// A document of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub dataset_id: String,
    pub name: String,
    /// Where it came from: a file path, or `corpus.jsonl#<_id>` for corpus lines.
    pub source: String,
    pub content_hash: String,
    pub indexing_status: IndexingStatus,
    pub error: Option<String>,
}

/// Fields of a document about to be indexed.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub id: String,
    pub name: String,
    pub source: String,
    pub content_hash: String,
    pub data_source_type: String,
    pub doc_metadata: Option<serde_json::Value>,
}

/// A parsed and chunked document ready to be marked completed with its segments.
#[derive(Debug, Clone)]
pub struct CompletedDocument {
    pub document_id: String,
    pub word_count: usize,
    pub tokens: usize,
    pub segments: Vec<NewSegment>,
    pub children: Vec<NewChildChunk>,
}

impl Store {
    /// Documents of a dataset by source, to skip unchanged inputs and resume interrupted runs.
    pub async fn documents_by_source(
        &self,
        dataset_id: &str,
    ) -> Result<HashMap<String, Document>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, dataset_id, name, source, content_hash, indexing_status, error \
             FROM documents WHERE dataset_id = $1",
        )
        .bind(dataset_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in rows {
            let status: String = row.try_get("indexing_status")?;
            let doc = Document {
                id: row.try_get("id")?,
                dataset_id: row.try_get("dataset_id")?,
                name: row.try_get("name")?,
                source: row.try_get("source")?,
                content_hash: row.try_get("content_hash")?,
                indexing_status: status.parse()?,
                error: row.try_get("error")?,
            };
            out.insert(doc.source.clone(), doc);
        }
        Ok(out)
    }

    /// Inserts documents in status `indexing` in one transaction, positions after the last one.
    pub async fn insert_documents(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        batch: &str,
        docs: &[NewDocument],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let max: Option<i64> =
            sqlx::query_scalar("SELECT MAX(position) FROM documents WHERE dataset_id = $1")
                .bind(dataset_id)
                .fetch_one(&mut *tx)
                .await?;
        let ts = now();
        for (i, doc) in docs.iter().enumerate() {
            sqlx::query(
                "INSERT INTO documents (id, tenant_id, dataset_id, position, name, data_source_type, source, \
                 content_hash, batch, indexing_status, doc_metadata, created_at, processing_started_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(&doc.id)
            .bind(tenant_id)
            .bind(dataset_id)
            .bind(max.unwrap_or(0) + 1 + i as i64)
            .bind(&doc.name)
            .bind(&doc.data_source_type)
            .bind(&doc.source)
            .bind(&doc.content_hash)
            .bind(batch)
            .bind(IndexingStatus::Indexing.as_str())
            .bind(doc.doc_metadata.as_ref().map(|m| m.to_string()))
            .bind(ts)
            .bind(ts)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes the segments of finished documents and marks them completed, all in one transaction,
    /// so a document is either fully visible or not at all.
    pub async fn complete_documents(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        docs: &[CompletedDocument],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let ts = now();
        for doc in docs {
            insert_segments(
                &mut tx,
                tenant_id,
                dataset_id,
                &doc.document_id,
                &doc.segments,
                &doc.children,
            )
            .await?;
            sqlx::query(
                "UPDATE documents SET indexing_status = $1, word_count = $2, tokens = $3, completed_at = $4, \
                 updated_at = $5, error = NULL WHERE id = $6 AND dataset_id = $7",
            )
            .bind(IndexingStatus::Completed.as_str())
            .bind(doc.word_count as i64)
            .bind(doc.tokens as i64)
            .bind(ts)
            .bind(ts)
            .bind(&doc.document_id)
            .bind(dataset_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks a document failed with a message for the person who added it.
    pub async fn fail_document(
        &self,
        dataset_id: &str,
        document_id: &str,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE documents SET indexing_status = $1, error = $2, updated_at = $3 WHERE id = $4 AND dataset_id = $5")
            .bind(IndexingStatus::Error.as_str())
            .bind(error)
            .bind(now())
            .bind(document_id)
            .bind(dataset_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes documents with their segments and child chunks.
    pub async fn delete_documents(
        &self,
        dataset_id: &str,
        document_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for id in document_ids {
            sqlx::query("DELETE FROM documents WHERE id = $1 AND dataset_id = $2")
                .bind(id)
                .bind(dataset_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Counts documents of a dataset by status.
    pub async fn count_documents(
        &self,
        dataset_id: &str,
    ) -> Result<HashMap<IndexingStatus, usize>, StoreError> {
        let rows = sqlx::query("SELECT indexing_status, COUNT(*) AS n FROM documents WHERE dataset_id = $1 GROUP BY indexing_status")
            .bind(dataset_id)
            .fetch_all(&self.pool)
            .await?;
        let mut out = HashMap::new();
        for row in rows {
            let status: String = row.try_get("indexing_status")?;
            let n: i64 = row.try_get("n")?;
            out.insert(status.parse()?, n as usize);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips() {
        for status in [
            IndexingStatus::Waiting,
            IndexingStatus::Parsing,
            IndexingStatus::Cleaning,
            IndexingStatus::Splitting,
            IndexingStatus::Indexing,
            IndexingStatus::Paused,
            IndexingStatus::Completed,
            IndexingStatus::Error,
        ] {
            assert_eq!(status.to_string().parse::<IndexingStatus>().unwrap(), status);
        }
        assert!("done".parse::<IndexingStatus>().is_err());
    }
}
