//! Annotations of apps, their reply setting, hit histories and the enable/disable jobs. Every
//! query names the app (and so the workspace the caller reached it through).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, like_pattern, now};

/// A curated question and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub id: String,
    pub app_id: String,
    pub conversation_id: Option<String>,
    pub message_id: Option<String>,
    pub question: String,
    /// The answer (Dify's `content`).
    pub content: String,
    pub hit_count: i64,
    pub account_id: Option<String>,
    pub created_at: i64,
}

/// An annotation to create.
#[derive(Debug, Clone)]
pub struct NewAnnotation {
    pub tenant_id: String,
    pub app_id: String,
    pub question: String,
    pub content: String,
    pub account_id: Option<String>,
    /// The question's vector and the model that made it, when reply is on.
    pub embedding: Option<(Vec<f32>, String)>,
}

/// An app's annotation reply setting (present only while reply is on).
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationSetting {
    pub id: String,
    pub app_id: String,
    pub score_threshold: f64,
    pub embedding_provider_name: String,
    pub embedding_model_name: String,
    /// The local model that embeds questions and queries.
    pub model_id: String,
}

/// One time an annotation answered a query.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationHit {
    pub id: String,
    pub annotation_id: String,
    pub source: String,
    pub question: String,
    pub account_id: Option<String>,
    pub score: f64,
    pub message_id: String,
    pub annotation_question: String,
    pub annotation_content: String,
    pub created_at: i64,
}

/// A hit to record (and count on its annotation).
#[derive(Debug, Clone)]
pub struct NewAnnotationHit {
    pub tenant_id: String,
    pub app_id: String,
    pub annotation: Annotation,
    pub source: String,
    pub question: String,
    pub account_id: Option<String>,
    pub score: f64,
    pub message_id: String,
}

/// An enable or disable job of annotation reply.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationJob {
    pub id: String,
    pub status: String,
    pub error_msg: String,
}

/// Age after which an unfinished annotation job is taken for dead.
pub const STALE_JOB_SECS: i64 = 600;

const ANNOTATION_COLUMNS: &str =
    "id, app_id, conversation_id, message_id, question, content, hit_count, account_id, created_at";

fn annotation_from_row(row: &AnyRow) -> Result<Annotation, StoreError> {
    Ok(Annotation {
        id: row.try_get("id")?,
        app_id: row.try_get("app_id")?,
        conversation_id: row.try_get("conversation_id")?,
        message_id: row.try_get("message_id")?,
        question: row.try_get("question")?,
        content: row.try_get("content")?,
        hit_count: row.try_get("hit_count")?,
        account_id: row.try_get("account_id")?,
        created_at: row.try_get("created_at")?,
    })
}

fn setting_from_row(row: &AnyRow) -> Result<AnnotationSetting, StoreError> {
    Ok(AnnotationSetting {
        id: row.try_get("id")?,
        app_id: row.try_get("app_id")?,
        score_threshold: row.try_get("score_threshold")?,
        embedding_provider_name: row.try_get("embedding_provider_name")?,
        embedding_model_name: row.try_get("embedding_model_name")?,
        model_id: row.try_get("model_id")?,
    })
}

fn hit_from_row(row: &AnyRow) -> Result<AnnotationHit, StoreError> {
    Ok(AnnotationHit {
        id: row.try_get("id")?,
        annotation_id: row.try_get("annotation_id")?,
        source: row.try_get("source")?,
        question: row.try_get("question")?,
        account_id: row.try_get("account_id")?,
        score: row.try_get("score")?,
        message_id: row.try_get("message_id")?,
        annotation_question: row.try_get("annotation_question")?,
        annotation_content: row.try_get("annotation_content")?,
        created_at: row.try_get("created_at")?,
    })
}

fn vector_text(vector: &[f32]) -> String {
    serde_json::to_string(vector).unwrap_or_else(|_| "[]".into())
}

/// `(page - 1) * limit`, without overflow.
fn offset(page: u32, limit: u32) -> i64 {
    i64::from(page.saturating_sub(1)) * i64::from(limit)
}

impl Store {
    /// Creates an annotation.
    pub async fn create_annotation(&self, new: NewAnnotation) -> Result<Annotation, StoreError> {
        // Time-ordered ids keep "newest first" stable between annotations of the same second.
        let id = uuid::Uuid::now_v7().to_string();
        let ts = now();
        let (vector, model) = match &new.embedding {
            Some((vector, model)) => (Some(vector_text(vector)), Some(model.clone())),
            None => (None, None),
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO message_annotations (id, tenant_id, app_id, question, content, account_id, embedding, \
             embedding_model, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(&id)
        .bind(&new.tenant_id)
        .bind(&new.app_id)
        .bind(&new.question)
        .bind(&new.content)
        .bind(&new.account_id)
        .bind(vector)
        .bind(model)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.annotation(&new.app_id, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("created annotation vanished".into()))
    }

    /// The app's annotation with this id.
    pub async fn annotation(&self, app_id: &str, id: &str) -> Result<Option<Annotation>, StoreError> {
        let sql =
            format!("SELECT {ANNOTATION_COLUMNS} FROM message_annotations WHERE app_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(app_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(annotation_from_row).transpose()
    }

    /// A page of the app's annotations, newest first, whose question or answer contains
    /// `keyword` (any case); and how many match in all.
    pub async fn list_annotations(
        &self,
        app_id: &str,
        keyword: &str,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<Annotation>, i64), StoreError> {
        let filter = "app_id = $1 AND (LOWER(question) LIKE LOWER($2) ESCAPE '\\' \
                      OR LOWER(content) LIKE LOWER($2) ESCAPE '\\')";
        let pattern = like_pattern(Some(keyword));
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM message_annotations WHERE {filter}"
        )))
        .bind(app_id)
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await?;
        let sql = format!(
            "SELECT {ANNOTATION_COLUMNS} FROM message_annotations WHERE {filter} \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(app_id)
            .bind(&pattern)
            .bind(i64::from(limit))
            .bind(offset(page, limit))
            .fetch_all(&self.pool)
            .await?;
        let annotations = rows.iter().map(annotation_from_row).collect::<Result<_, _>>()?;
        Ok((annotations, total))
    }

    /// Changes an annotation's question and answer (and its vector, or clears a stale one);
    /// None when the app has no such annotation.
    pub async fn update_annotation(
        &self,
        app_id: &str,
        id: &str,
        question: &str,
        content: &str,
        embedding: Option<(Vec<f32>, String)>,
    ) -> Result<Option<Annotation>, StoreError> {
        let (vector, model) = match &embedding {
            Some((vector, model)) => (Some(vector_text(vector)), Some(model.clone())),
            None => (None, None),
        };
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE message_annotations SET question = $1, content = $2, embedding = $3, embedding_model = $4, \
             updated_at = $5 WHERE app_id = $6 AND id = $7",
        )
        .bind(question)
        .bind(content)
        .bind(vector)
        .bind(model)
        .bind(now())
        .bind(app_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.annotation(app_id, id).await
    }

    /// Deletes an annotation with its hit history; false when the app has no such annotation.
    pub async fn delete_annotation(&self, app_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM app_annotation_hit_histories WHERE app_id = $1 AND annotation_id = $2")
            .bind(app_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM message_annotations WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// The app's annotations whose question has no vector under `model_id` yet.
    pub async fn annotations_to_embed(
        &self,
        app_id: &str,
        model_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, question FROM message_annotations WHERE app_id = $1 \
             AND (embedding IS NULL OR embedding_model IS NULL OR embedding_model <> $2) ORDER BY id",
        )
        .bind(app_id)
        .bind(model_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores a question's vector, unless the question changed since it was read.
    pub async fn set_annotation_embedding(
        &self,
        app_id: &str,
        id: &str,
        question: &str,
        vector: &[f32],
        model_id: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE message_annotations SET embedding = $1, embedding_model = $2 \
             WHERE app_id = $3 AND id = $4 AND question = $5",
        )
        .bind(vector_text(vector))
        .bind(model_id)
        .bind(app_id)
        .bind(id)
        .bind(question)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every annotation vector of the app made by `model_id`, by annotation id.
    pub async fn annotation_vectors(
        &self,
        app_id: &str,
        model_id: &str,
    ) -> Result<Vec<(String, Vec<f32>)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, embedding FROM message_annotations WHERE app_id = $1 AND embedding_model = $2 \
             AND embedding IS NOT NULL",
        )
        .bind(app_id)
        .bind(model_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, text)| {
                serde_json::from_str(&text)
                    .map(|vector| (id, vector))
                    .map_err(|e| StoreError::Corrupt(format!("annotation embedding: {e}")))
            })
            .collect()
    }

    /// The app's annotation reply setting; None while reply is off.
    pub async fn annotation_setting(&self, app_id: &str) -> Result<Option<AnnotationSetting>, StoreError> {
        let row = sqlx::query(
            "SELECT id, app_id, score_threshold, embedding_provider_name, embedding_model_name, model_id \
             FROM app_annotation_settings WHERE app_id = $1",
        )
        .bind(app_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(setting_from_row).transpose()
    }

    /// Turns reply on, or changes the setting of an app that has it on.
    pub async fn put_annotation_setting(
        &self,
        tenant_id: &str,
        setting: &AnnotationSetting,
        account_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO app_annotation_settings (id, tenant_id, app_id, score_threshold, embedding_provider_name, \
             embedding_model_name, model_id, created_by, updated_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9) \
             ON CONFLICT (app_id) DO UPDATE SET score_threshold = $4, embedding_provider_name = $5, \
             embedding_model_name = $6, model_id = $7, updated_by = $8, updated_at = $9",
        )
        .bind(&setting.id)
        .bind(tenant_id)
        .bind(&setting.app_id)
        .bind(setting.score_threshold)
        .bind(&setting.embedding_provider_name)
        .bind(&setting.embedding_model_name)
        .bind(&setting.model_id)
        .bind(account_id)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the threshold of the setting `id`; None when the app has no such setting.
    pub async fn set_annotation_threshold(
        &self,
        app_id: &str,
        id: &str,
        score_threshold: f64,
        account_id: &str,
    ) -> Result<Option<AnnotationSetting>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE app_annotation_settings SET score_threshold = $1, updated_by = $2, updated_at = $3 \
             WHERE app_id = $4 AND id = $5",
        )
        .bind(score_threshold)
        .bind(account_id)
        .bind(now())
        .bind(app_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(self.annotation_setting(app_id).await?.filter(|s| s.id == id))
    }

    /// Turns reply off.
    pub async fn delete_annotation_setting(&self, app_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM app_annotation_settings WHERE app_id = $1")
            .bind(app_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a hit and counts it on its annotation, in one transaction.
    pub async fn record_annotation_hit(&self, hit: &NewAnnotationHit) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE message_annotations SET hit_count = hit_count + 1 WHERE app_id = $1 AND id = $2")
            .bind(&hit.app_id)
            .bind(&hit.annotation.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO app_annotation_hit_histories (id, tenant_id, app_id, annotation_id, source, question, \
             account_id, score, message_id, annotation_question, annotation_content, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&hit.tenant_id)
        .bind(&hit.app_id)
        .bind(&hit.annotation.id)
        .bind(&hit.source)
        .bind(&hit.question)
        .bind(&hit.account_id)
        .bind(hit.score)
        .bind(&hit.message_id)
        .bind(&hit.annotation.question)
        .bind(&hit.annotation.content)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of an annotation's hits, newest first, and how many there are.
    pub async fn annotation_hits(
        &self,
        app_id: &str,
        annotation_id: &str,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<AnnotationHit>, i64), StoreError> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM app_annotation_hit_histories WHERE app_id = $1 AND annotation_id = $2",
        )
        .bind(app_id)
        .bind(annotation_id)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT id, annotation_id, source, question, account_id, score, message_id, annotation_question, \
             annotation_content, created_at FROM app_annotation_hit_histories \
             WHERE app_id = $1 AND annotation_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
        )
        .bind(app_id)
        .bind(annotation_id)
        .bind(i64::from(limit))
        .bind(offset(page, limit))
        .fetch_all(&self.pool)
        .await?;
        let hits = rows.iter().map(hit_from_row).collect::<Result<_, _>>()?;
        Ok((hits, total))
    }

    /// The hit that answered each of these messages, by message id.
    pub async fn hits_of_messages(
        &self,
        app_id: &str,
        message_ids: &[String],
    ) -> Result<std::collections::HashMap<String, AnnotationHit>, StoreError> {
        if message_ids.is_empty() {
            return Ok(Default::default());
        }
        let sql = format!(
            "SELECT id, annotation_id, source, question, account_id, score, message_id, annotation_question, \
             annotation_content, created_at FROM app_annotation_hit_histories WHERE app_id = $1 \
             AND message_id IN ({})",
            super::numbered_placeholders(2, message_ids.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(app_id);
        for id in message_ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| hit_from_row(row).map(|hit| (hit.message_id.clone(), hit)))
            .collect()
    }

    /// Starts a job record, or returns the unfinished one of the same action (Dify answers a
    /// second request with the running job). The bool says whether the job is new. A job left
    /// unfinished for [`STALE_JOB_SECS`] (its process died) is not waited for: the new one redoes
    /// its work, which is idempotent.
    pub async fn start_annotation_job(
        &self,
        tenant_id: &str,
        app_id: &str,
        action: &str,
    ) -> Result<(AnnotationJob, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        let running: Option<String> = sqlx::query_scalar(
            "SELECT id FROM app_annotation_jobs WHERE app_id = $1 AND action = $2 \
             AND status IN ('waiting', 'processing') AND created_at >= $3 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(app_id)
        .bind(action)
        .bind(now() - STALE_JOB_SECS)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = running {
            tx.commit().await?;
            let job = AnnotationJob {
                id,
                status: "processing".into(),
                error_msg: String::new(),
            };
            return Ok((job, false));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        sqlx::query(
            "INSERT INTO app_annotation_jobs (id, tenant_id, app_id, action, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'waiting', $5, $5)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(app_id)
        .bind(action)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let job = AnnotationJob {
            id,
            status: "waiting".into(),
            error_msg: String::new(),
        };
        Ok((job, true))
    }

    /// Moves a job to `status` (`processing`, `completed` or `error` with its message).
    pub async fn set_annotation_job(
        &self,
        id: &str,
        status: &str,
        error_msg: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE app_annotation_jobs SET status = $1, error_msg = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(error_msg)
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The app's job of this action with this id.
    pub async fn annotation_job(
        &self,
        app_id: &str,
        action: &str,
        id: &str,
    ) -> Result<Option<AnnotationJob>, StoreError> {
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT id, status, error_msg FROM app_annotation_jobs WHERE app_id = $1 AND action = $2 AND id = $3",
        )
        .bind(app_id)
        .bind(action)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, status, error_msg)| AnnotationJob {
            id,
            status,
            error_msg,
        }))
    }
}
