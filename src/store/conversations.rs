//! End users, conversations, messages and message feedback of apps. A message is written once,
//! with its conversation, when its answer is complete: a failed generation leaves nothing behind.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, now};

/// A caller of an app's API, named by the `user` it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct EndUser {
    pub id: String,
    pub session_id: String,
}

/// A conversation of an end user with an app.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: String,
    pub app_id: String,
    pub end_user_id: String,
    pub mode: String,
    pub name: String,
    pub inputs: serde_json::Value,
    pub introduction: String,
    pub status: String,
    pub dialogue_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A question and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub app_id: String,
    pub conversation_id: String,
    pub parent_message_id: Option<String>,
    pub end_user_id: String,
    pub inputs: serde_json::Value,
    pub query: String,
    pub answer: String,
    pub status: String,
    pub error: Option<String>,
    pub files: serde_json::Value,
    /// Stored retriever_resources items (Dify's history shape).
    pub retriever_resources: serde_json::Value,
    pub message_tokens: i64,
    pub answer_tokens: i64,
    pub provider_response_latency: f64,
    /// The annotation that answered instead of the model, if one did.
    pub annotation_id: Option<String>,
    pub created_at: i64,
}

/// A conversation to create with its first message.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub id: String,
    pub mode: String,
    pub name: String,
    pub inputs: serde_json::Value,
    pub introduction: String,
}

/// A finished answer to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: String,
    pub tenant_id: String,
    pub app_id: String,
    pub conversation_id: String,
    pub parent_message_id: Option<String>,
    pub end_user_id: String,
    pub inputs: serde_json::Value,
    pub query: String,
    pub answer: String,
    pub files: serde_json::Value,
    pub retriever_resources: serde_json::Value,
    pub model_provider: Option<String>,
    pub model_id: Option<String>,
    pub message_tokens: i64,
    pub answer_tokens: i64,
    pub provider_response_latency: f64,
    pub annotation_id: Option<String>,
    pub created_at: i64,
}

/// Conversation list order (Dify's `sort_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationOrder {
    CreatedAsc,
    CreatedDesc,
    UpdatedAsc,
    UpdatedDesc,
}

impl ConversationOrder {
    /// Dify's names: `created_at`, `-created_at`, `updated_at`, `-updated_at`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "created_at" => Some(Self::CreatedAsc),
            "-created_at" => Some(Self::CreatedDesc),
            "updated_at" => Some(Self::UpdatedAsc),
            "-updated_at" => Some(Self::UpdatedDesc),
            _ => None,
        }
    }

    /// Column, direction and the comparison that selects rows after a given one.
    pub(super) fn sql(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::CreatedAsc => ("created_at", "ASC", ">"),
            Self::CreatedDesc => ("created_at", "DESC", "<"),
            Self::UpdatedAsc => ("updated_at", "ASC", ">"),
            Self::UpdatedDesc => ("updated_at", "DESC", "<"),
        }
    }
}

/// One feedback on a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    pub id: String,
    pub app_id: String,
    pub conversation_id: String,
    pub message_id: String,
    pub rating: String,
    pub content: Option<String>,
    pub from_source: String,
    pub from_end_user_id: Option<String>,
    pub from_account_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where a page of conversations or messages starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    /// The page starts at the beginning.
    Start,
    /// The page starts after (conversations) or before (messages) this id.
    After(String),
}

pub(super) const CONVERSATION_COLUMNS: &str = "id, app_id, end_user_id, mode, name, inputs, introduction, status, \
    dialogue_count, created_at, updated_at";

pub(super) const MESSAGE_COLUMNS: &str = "id, app_id, conversation_id, parent_message_id, end_user_id, inputs, query, \
    answer, status, error, files, retriever_resources, message_tokens, answer_tokens, \
    provider_response_latency, annotation_id, created_at";

fn json_column(row: &AnyRow, column: &str) -> Result<serde_json::Value, StoreError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(super) fn conversation_from_row(row: &AnyRow) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: row.try_get("id")?,
        app_id: row.try_get("app_id")?,
        end_user_id: row.try_get("end_user_id")?,
        mode: row.try_get("mode")?,
        name: row.try_get("name")?,
        inputs: json_column(row, "inputs")?,
        introduction: row.try_get("introduction")?,
        status: row.try_get("status")?,
        dialogue_count: row.try_get("dialogue_count")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn message_from_row(row: &AnyRow) -> Result<Message, StoreError> {
    Ok(Message {
        id: row.try_get("id")?,
        app_id: row.try_get("app_id")?,
        conversation_id: row.try_get("conversation_id")?,
        parent_message_id: row.try_get("parent_message_id")?,
        end_user_id: row.try_get("end_user_id")?,
        inputs: json_column(row, "inputs")?,
        query: row.try_get("query")?,
        answer: row.try_get("answer")?,
        status: row.try_get("status")?,
        error: row.try_get("error")?,
        files: json_column(row, "files")?,
        retriever_resources: json_column(row, "retriever_resources")?,
        message_tokens: row.try_get("message_tokens")?,
        answer_tokens: row.try_get("answer_tokens")?,
        provider_response_latency: row.try_get("provider_response_latency")?,
        annotation_id: row.try_get("annotation_id")?,
        created_at: row.try_get("created_at")?,
    })
}

fn feedback_from_row(row: &AnyRow) -> Result<Feedback, StoreError> {
    Ok(Feedback {
        id: row.try_get("id")?,
        app_id: row.try_get("app_id")?,
        conversation_id: row.try_get("conversation_id")?,
        message_id: row.try_get("message_id")?,
        rating: row.try_get("rating")?,
        content: row.try_get("content")?,
        from_source: row.try_get("from_source")?,
        from_end_user_id: row.try_get("from_end_user_id")?,
        from_account_id: row.try_get("from_account_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// The end user an app knows as `session_id`, created on first use.
    pub async fn end_user(
        &self,
        tenant_id: &str,
        app_id: &str,
        session_id: &str,
    ) -> Result<EndUser, StoreError> {
        let find = || async {
            sqlx::query_scalar::<_, String>("SELECT id FROM end_users WHERE app_id = $1 AND session_id = $2")
                .bind(app_id)
                .bind(session_id)
                .fetch_optional(&self.pool)
                .await
        };
        if let Some(id) = find().await? {
            return Ok(EndUser {
                id,
                session_id: session_id.to_string(),
            });
        }
        let mut tx = self.begin_write().await?;
        // A concurrent first request may have created it meanwhile: the write lock (SQLite) or
        // the unique key (PostgreSQL, answered by the lookup below) settles it.
        sqlx::query(
            "INSERT INTO end_users (id, tenant_id, app_id, session_id, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (app_id, session_id) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(tenant_id)
        .bind(app_id)
        .bind(session_id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let id = find()
            .await?
            .ok_or_else(|| StoreError::Corrupt("created end user vanished".into()))?;
        Ok(EndUser {
            id,
            session_id: session_id.to_string(),
        })
    }

    /// The end user's conversation with this id in the app.
    pub async fn conversation(
        &self,
        app_id: &str,
        end_user_id: &str,
        id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE app_id = $1 AND end_user_id = $2 AND id = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(app_id)
            .bind(end_user_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(conversation_from_row).transpose()
    }

    /// A page of an end user's conversations of one mode, and whether more follow; None when
    /// the page should start after a conversation that does not exist.
    pub async fn list_conversations(
        &self,
        app_id: &str,
        end_user_id: &str,
        start: &PageStart,
        limit: u32,
        order: ConversationOrder,
    ) -> Result<Option<(Vec<Conversation>, bool)>, StoreError> {
        let (column, direction, after) = order.sql();
        let mut sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE app_id = $1 AND end_user_id = $2"
        );
        let mut cursor = None;
        if let PageStart::After(last_id) = start {
            let Some(last) = self.conversation(app_id, end_user_id, last_id).await? else {
                return Ok(None);
            };
            let value = match column {
                "created_at" => last.created_at,
                _ => last.updated_at,
            };
            sql.push_str(&format!(
                " AND ({column} {after} $3 OR ({column} = $3 AND id {after} $4))"
            ));
            cursor = Some((value, last.id));
        }
        let limit_at = if cursor.is_some() { 5 } else { 3 };
        sql.push_str(&format!(
            " ORDER BY {column} {direction}, id {direction} LIMIT ${limit_at}"
        ));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(app_id)
            .bind(end_user_id);
        if let Some((value, id)) = cursor {
            query = query.bind(value).bind(id);
        }
        let rows = query.bind(i64::from(limit) + 1).fetch_all(&self.pool).await?;
        let mut conversations = rows
            .iter()
            .map(conversation_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let has_more = conversations.len() > limit as usize;
        conversations.truncate(limit as usize);
        Ok(Some((conversations, has_more)))
    }

    /// Renames a conversation; the renamed conversation, or None when it is not the user's.
    pub async fn rename_conversation(
        &self,
        app_id: &str,
        end_user_id: &str,
        id: &str,
        name: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE conversations SET name = $1, updated_at = $2 WHERE app_id = $3 AND end_user_id = $4 AND id = $5",
        )
        .bind(name)
        .bind(now())
        .bind(app_id)
        .bind(end_user_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.conversation(app_id, end_user_id, id).await
    }

    /// Deletes a conversation with its messages and their feedback; false when it is not the user's.
    pub async fn delete_conversation(
        &self,
        app_id: &str,
        end_user_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let owned: Option<String> = sqlx::query_scalar(
            "SELECT id FROM conversations WHERE app_id = $1 AND end_user_id = $2 AND id = $3",
        )
        .bind(app_id)
        .bind(end_user_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if owned.is_none() {
            return Ok(false);
        }
        for sql in [
            "DELETE FROM message_feedbacks WHERE conversation_id = $1",
            "DELETE FROM messages WHERE conversation_id = $1",
            "DELETE FROM conversations WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Stores a finished answer, creating its conversation first when it is new, in one
    /// transaction. False when an existing conversation was deleted meanwhile (nothing stored).
    pub async fn save_message(
        &self,
        message: &NewMessage,
        new_conversation: Option<&NewConversation>,
    ) -> Result<bool, StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        if let Some(conversation) = new_conversation {
            sqlx::query(
                "INSERT INTO conversations (id, tenant_id, app_id, end_user_id, mode, name, inputs, introduction, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(&conversation.id)
            .bind(&message.tenant_id)
            .bind(&message.app_id)
            .bind(&message.end_user_id)
            .bind(&conversation.mode)
            .bind(&conversation.name)
            .bind(conversation.inputs.to_string())
            .bind(&conversation.introduction)
            .bind(message.created_at)
            .execute(&mut *tx)
            .await?;
        }
        let touched = sqlx::query(
            "UPDATE conversations SET dialogue_count = dialogue_count + 1, updated_at = $1 \
             WHERE id = $2 AND app_id = $3",
        )
        .bind(ts)
        .bind(&message.conversation_id)
        .bind(&message.app_id)
        .execute(&mut *tx)
        .await?;
        if touched.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO messages (id, tenant_id, app_id, conversation_id, parent_message_id, end_user_id, inputs, \
             query, answer, files, retriever_resources, model_provider, model_id, message_tokens, answer_tokens, \
             provider_response_latency, annotation_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        )
        .bind(&message.id)
        .bind(&message.tenant_id)
        .bind(&message.app_id)
        .bind(&message.conversation_id)
        .bind(&message.parent_message_id)
        .bind(&message.end_user_id)
        .bind(message.inputs.to_string())
        .bind(&message.query)
        .bind(&message.answer)
        .bind(message.files.to_string())
        .bind(message.retriever_resources.to_string())
        .bind(&message.model_provider)
        .bind(&message.model_id)
        .bind(message.message_tokens)
        .bind(message.answer_tokens)
        .bind(message.provider_response_latency)
        .bind(&message.annotation_id)
        .bind(message.created_at)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A page of a conversation's messages in chronological order: the latest `limit`, or the
    /// `limit` before `first_id`; and whether older ones exist. None when `first_id` is not a
    /// message of the conversation.
    pub async fn list_messages(
        &self,
        conversation_id: &str,
        start: &PageStart,
        limit: u32,
    ) -> Result<Option<(Vec<Message>, bool)>, StoreError> {
        let rows = match start {
            PageStart::Start => {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(conversation_id)
                    .bind(i64::from(limit) + 1)
                    .fetch_all(&self.pool)
                    .await?
            }
            PageStart::After(first_id) => {
                let first: Option<(i64, String)> = sqlx::query_as(
                    "SELECT created_at, id FROM messages WHERE conversation_id = $1 AND id = $2",
                )
                .bind(conversation_id)
                .bind(first_id)
                .fetch_optional(&self.pool)
                .await?;
                let Some((created_at, id)) = first else {
                    return Ok(None);
                };
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 \
                     AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
                     ORDER BY created_at DESC, id DESC LIMIT $4"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(conversation_id)
                    .bind(created_at)
                    .bind(id)
                    .bind(i64::from(limit) + 1)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let mut messages = rows.iter().map(message_from_row).collect::<Result<Vec<_>, _>>()?;
        let has_more = messages.len() > limit as usize;
        messages.truncate(limit as usize);
        messages.reverse();
        Ok(Some((messages, has_more)))
    }

    /// A message of the app.
    pub async fn message(&self, app_id: &str, id: &str) -> Result<Option<Message>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE app_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(app_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// Sets (or with None, removes) an end user's rating of a message.
    pub async fn set_user_feedback(
        &self,
        message: &Message,
        tenant_id: &str,
        end_user_id: &str,
        rating: Option<&str>,
        content: Option<&str>,
    ) -> Result<(), StoreError> {
        let ts = now();
        let mut tx = self.begin_write().await?;
        match rating {
            None => {
                sqlx::query("DELETE FROM message_feedbacks WHERE message_id = $1 AND from_source = 'user'")
                    .bind(&message.id)
                    .execute(&mut *tx)
                    .await?;
            }
            Some(rating) => {
                let updated = sqlx::query(
                    "UPDATE message_feedbacks SET rating = $1, content = $2, from_end_user_id = $3, updated_at = $4 \
                     WHERE message_id = $5 AND from_source = 'user'",
                )
                .bind(rating)
                .bind(content)
                .bind(end_user_id)
                .bind(ts)
                .bind(&message.id)
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() == 0 {
                    sqlx::query(
                        "INSERT INTO message_feedbacks (id, tenant_id, app_id, conversation_id, message_id, rating, \
                         content, from_source, from_end_user_id, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'user', $8, $9, $9)",
                    )
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(tenant_id)
                    .bind(&message.app_id)
                    .bind(&message.conversation_id)
                    .bind(&message.id)
                    .bind(rating)
                    .bind(content)
                    .bind(end_user_id)
                    .bind(ts)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The end users' ratings of these messages, by message id.
    pub async fn user_ratings(
        &self,
        message_ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        if message_ids.is_empty() {
            return Ok(Default::default());
        }
        let sql = format!(
            "SELECT message_id, rating FROM message_feedbacks WHERE from_source = 'user' AND message_id IN ({})",
            super::numbered_placeholders(1, message_ids.len())
        );
        let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
        for id in message_ids {
            query = query.bind(id);
        }
        Ok(query.fetch_all(&self.pool).await?.into_iter().collect())
    }

    /// A page of an app's feedback, newest first.
    pub async fn app_feedbacks(
        &self,
        app_id: &str,
        page: u32,
        limit: u32,
    ) -> Result<Vec<Feedback>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, app_id, conversation_id, message_id, rating, content, from_source, from_end_user_id, \
             from_account_id, created_at, updated_at FROM message_feedbacks WHERE app_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(app_id)
        .bind(i64::from(limit))
        .bind(i64::from(page.saturating_sub(1)) * i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(feedback_from_row).collect()
    }
}
