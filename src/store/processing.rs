//! Control of document indexing: pause, resume and retry (Dify's `processing/pause`,
//! `processing/resume` and `retry`), how a job's result becomes visible (guarded on the dataset's
//! embedding model and the pause flag), and the switch of a dataset between keyword-only
//! (`economy`) and vector (`high_quality`) indexing.
//!
//! Every transaction here that changes a document and its jobs writes the document row first
//! (which locks it), as `jobs` does, so concurrent ones queue instead of deadlocking.

use sqlx::Row;

use super::api_documents::enqueue_job;
use super::jobs::{JobKind, lock_document};
use super::segments::insert_segments;
use super::{CompletedDocument, Dataset, Store, StoreError, now};

/// Indexing statuses in which a document is queued or being worked on, and so can be paused.
const IN_PROGRESS: &str = "('waiting', 'parsing', 'cleaning', 'splitting', 'indexing')";

/// How a pause or resume request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingOutcome {
    Done,
    /// No such document in the dataset.
    NotFound,
    /// Pause: the document is not queued or indexing (completed or failed). Resume: it is not
    /// paused.
    WrongState,
}

/// Whether a job's result could be made visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    Completed,
    /// The document was paused meanwhile: nothing was recorded; the job waits for a resume.
    Paused,
    /// The dataset's embedding model changed while the job ran (a switch between keyword-only
    /// and vector indexing): nothing was recorded; the job must run again.
    ModelChanged,
}

impl Store {
    /// Pauses a queued or indexing document: its waiting job is set aside, and a worker holding
    /// it stops at the next stage. Pausing a paused document again succeeds.
    pub async fn pause_document(
        &self,
        dataset_id: &str,
        document_id: &str,
    ) -> Result<ProcessingOutcome, StoreError> {
        let sql = format!(
            "UPDATE documents SET is_paused = TRUE, paused_at = COALESCE(paused_at, $1), updated_at = $1 \
             WHERE id = $2 AND dataset_id = $3 AND indexing_status IN {IN_PROGRESS}"
        );
        self.flip_pause(dataset_id, document_id, &sql, "enqueued", "paused")
            .await
    }

    /// Resumes a paused document: its set-aside job is queued again (a job still held by a worker
    /// that has not reached its next stage simply goes on).
    pub async fn resume_document(
        &self,
        dataset_id: &str,
        document_id: &str,
    ) -> Result<ProcessingOutcome, StoreError> {
        let sql = "UPDATE documents SET is_paused = FALSE, paused_at = NULL, updated_at = $1 \
                   WHERE id = $2 AND dataset_id = $3 AND is_paused = TRUE";
        self.flip_pause(dataset_id, document_id, sql, "paused", "enqueued")
            .await
    }

    /// Pause and resume: `document_sql` (binds: time, document id, dataset id) marks the
    /// document, and if it matched, the document's job moves from `from` to `to` in the same
    /// transaction; otherwise nothing changes and the answer says whether the document exists.
    async fn flip_pause(
        &self,
        dataset_id: &str,
        document_id: &str,
        document_sql: &str,
        from: &str,
        to: &str,
    ) -> Result<ProcessingOutcome, StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        // Built from constants only.
        let marked = sqlx::query(sqlx::AssertSqlSafe(document_sql.to_string()))
            .bind(ts)
            .bind(document_id)
            .bind(dataset_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if marked == 0 {
            tx.rollback().await?;
            return self.missing_or(dataset_id, document_id).await;
        }
        sqlx::query("UPDATE jobs SET status = $1, updated_at = $2 WHERE document_id = $3 AND status = $4")
            .bind(to)
            .bind(ts)
            .bind(document_id)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ProcessingOutcome::Done)
    }

    async fn missing_or(&self, dataset_id: &str, document_id: &str) -> Result<ProcessingOutcome, StoreError> {
        let exists: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE id = $1 AND dataset_id = $2")
                .bind(document_id)
                .bind(dataset_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(if exists == 0 {
            ProcessingOutcome::NotFound
        } else {
            ProcessingOutcome::WrongState
        })
    }

    /// Queues these documents again if they failed (status `error`), with the kind of work that
    /// failed; others are left as they are. Returns the ids queued.
    pub async fn retry_documents(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        document_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        let mut retried = Vec::new();
        for id in document_ids {
            let reset = sqlx::query(
                "UPDATE documents SET indexing_status = 'waiting', error = NULL, stopped_at = NULL, \
                 processing_started_at = NULL, parsing_completed_at = NULL, cleaning_completed_at = NULL, \
                 splitting_completed_at = NULL, completed_at = NULL, updated_at = $1 \
                 WHERE id = $2 AND dataset_id = $3 AND indexing_status = 'error'",
            )
            .bind(ts)
            .bind(id)
            .bind(dataset_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if reset == 0 {
                continue;
            }
            let last_kind: Option<String> = sqlx::query_scalar(
                "SELECT kind FROM jobs WHERE document_id = $1 \
                 ORDER BY CASE WHEN status = 'failed' THEN 0 ELSE 1 END, updated_at DESC, id LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let kind = match last_kind {
                Some(kind) => kind.parse()?,
                None => JobKind::IndexDocument,
            };
            enqueue_job(&mut tx, tenant_id, dataset_id, id, kind, ts).await?;
            retried.push(id.clone());
        }
        tx.commit().await?;
        Ok(retried)
    }

    /// Whether a document is paused (a missing document counts as not paused).
    pub async fn document_paused(&self, document_id: &str) -> Result<bool, StoreError> {
        let paused: Option<i64> =
            sqlx::query_scalar("SELECT CAST(is_paused AS INTEGER) FROM documents WHERE id = $1")
                .bind(document_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(paused.unwrap_or(0) != 0)
    }

    /// Makes an indexed document visible: replaces its segments with `doc`'s and marks it
    /// completed, in one transaction, unless it was paused meanwhile or the dataset's embedding
    /// model is no longer `embedding_model` (the rows just written would lack, or have needless,
    /// vectors).
    pub async fn complete_indexed_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc: &CompletedDocument,
        embedding_model: Option<&str>,
    ) -> Result<Completion, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(refused) =
            completion_guard(&mut tx, dataset_id, &doc.document_id, embedding_model).await?
        {
            tx.rollback().await?;
            return Ok(refused);
        }
        let ts = now();
        sqlx::query("DELETE FROM document_segments WHERE document_id = $1")
            .bind(&doc.document_id)
            .execute(&mut *tx)
            .await?;
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
            "UPDATE documents SET indexing_status = 'completed', word_count = $1, tokens = $2, completed_at = $3, \
             updated_at = $4, error = NULL, indexing_latency = CAST($5 - COALESCE(processing_started_at, $6) AS DOUBLE PRECISION) \
             WHERE id = $7 AND dataset_id = $8",
        )
        .bind(doc.word_count as i64)
        .bind(doc.tokens as i64)
        .bind(ts)
        .bind(ts)
        .bind(ts)
        .bind(ts)
        .bind(&doc.document_id)
        .bind(dataset_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Completion::Completed)
    }

    /// Marks a document whose segments were (re-)embedded completed again, with the same guards
    /// as [`Self::complete_indexed_document`]; its segments are not touched.
    pub async fn complete_embedded_document(
        &self,
        dataset_id: &str,
        document_id: &str,
        embedding_model: Option<&str>,
    ) -> Result<Completion, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(refused) = completion_guard(&mut tx, dataset_id, document_id, embedding_model).await? {
            tx.rollback().await?;
            return Ok(refused);
        }
        let ts = now();
        sqlx::query(
            "UPDATE documents SET indexing_status = 'completed', completed_at = $1, updated_at = $2, error = NULL \
             WHERE id = $3 AND dataset_id = $4",
        )
        .bind(ts)
        .bind(ts)
        .bind(document_id)
        .bind(dataset_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Completion::Completed)
    }

    /// Records that an embedding job started on a document (`indexing`, as Dify shows it).
    pub async fn set_embedding_started(&self, document_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE documents SET indexing_status = 'indexing', error = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(now())
        .bind(document_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Switches a dataset's indexing technique, if it is still `from`: records `technique` and
    /// the embedding model (None for keyword-only). Switching to a model when the dataset had
    /// none puts every completed document back to `indexing` with a job that embeds its
    /// segments. Returns the updated dataset, None if the dataset changed meanwhile.
    pub async fn switch_indexing_technique(
        &self,
        dataset: &Dataset,
        technique: &str,
        model: Option<(&str, usize)>,
    ) -> Result<Option<Dataset>, StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        // Written first: this locks the dataset row that document completions lock too.
        let switched = sqlx::query(
            "UPDATE datasets SET indexing_technique = $1, embedding_model = $2, embedding_dimension = $3, \
             updated_at = $4 WHERE tenant_id = $5 AND id = $6 AND COALESCE(indexing_technique, '') = $7 \
             AND COALESCE(embedding_model, '') = $8",
        )
        .bind(technique)
        .bind(model.map(|(id, _)| id))
        .bind(model.map(|(_, dimension)| dimension as i64))
        .bind(ts)
        .bind(&dataset.tenant_id)
        .bind(&dataset.id)
        .bind(dataset.indexing_technique.as_deref().unwrap_or(""))
        .bind(dataset.embedding_model.as_deref().unwrap_or(""))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if switched == 0 {
            return Ok(None);
        }
        if model.is_some() && dataset.embedding_model.is_none() {
            let ids: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM documents WHERE dataset_id = $1 AND indexing_status = 'completed' ORDER BY position",
            )
            .bind(&dataset.id)
            .fetch_all(&mut *tx)
            .await?;
            for id in &ids {
                sqlx::query(
                    "UPDATE documents SET indexing_status = 'indexing', updated_at = $1 WHERE id = $2",
                )
                .bind(ts)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                enqueue_job(
                    &mut tx,
                    &dataset.tenant_id,
                    &dataset.id,
                    id,
                    JobKind::EmbedSegments,
                    ts,
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.dataset(&dataset.tenant_id, &dataset.id).await
    }
}

/// The checks before a job's result becomes visible, run first in its transaction: the dataset
/// row is written (locked) first, so a technique switch either committed before (and is seen) or
/// waits for this transaction (and then sees the completed document).
async fn completion_guard(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dataset_id: &str,
    document_id: &str,
    embedding_model: Option<&str>,
) -> Result<Option<Completion>, StoreError> {
    sqlx::query("UPDATE datasets SET updated_at = updated_at WHERE id = $1")
        .bind(dataset_id)
        .execute(&mut **tx)
        .await?;
    lock_document(tx, document_id).await?;
    let row = sqlx::query(
        "SELECT ds.embedding_model, CAST(d.is_paused AS INTEGER) AS is_paused FROM datasets ds \
         JOIN documents d ON d.dataset_id = ds.id WHERE ds.id = $1 AND d.id = $2",
    )
    .bind(dataset_id)
    .bind(document_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Err(StoreError::DocumentNotFound(document_id.to_string()));
    };
    let current: Option<String> = row.try_get("embedding_model")?;
    if current.as_deref() != embedding_model {
        return Ok(Some(Completion::ModelChanged));
    }
    if row.try_get::<i64, _>("is_paused")? != 0 {
        return Ok(Some(Completion::Paused));
    }
    Ok(None)
}
