//! The console's logs of an app: its conversations of every end user, filtered and paged, with
//! the counts Dify's log list shows beside each.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::conversations::{CONVERSATION_COLUMNS, MESSAGE_COLUMNS, conversation_from_row, message_from_row};
use super::{
    Conversation, ConversationOrder, Message, Store, StoreError, like_pattern, numbered_placeholders,
};

/// Which conversations a log page shows (Dify's `annotation_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationStatus {
    All,
    Annotated,
    NotAnnotated,
}

/// Filters of a log page.
#[derive(Debug, Clone)]
pub struct LogFilter {
    /// `chat` or `completion`.
    pub mode: String,
    /// Matched (any case) in a question, an answer, or the conversation's name.
    pub keyword: String,
    /// Created at or after, in Unix seconds.
    pub start: Option<i64>,
    /// Created at or before, in Unix seconds.
    pub end: Option<i64>,
    pub annotation: AnnotationStatus,
    pub order: ConversationOrder,
    pub page: u32,
    pub limit: u32,
}

/// A conversation with what the log list shows beside it.
#[derive(Debug, Clone)]
pub struct ConversationLog {
    pub conversation: Conversation,
    pub end_user_session_id: Option<String>,
    pub message_count: i64,
    pub first_message: Option<Message>,
    pub annotated: bool,
    /// End users' likes and dislikes.
    pub user_likes: i64,
    pub user_dislikes: i64,
}

impl Store {
    /// A conversation of the app, whoever had it.
    pub async fn app_conversation(&self, app_id: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE app_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(app_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(conversation_from_row).transpose()
    }

    /// A page of the app's conversations as its logs show them, and how many match in all.
    pub async fn conversation_logs(
        &self,
        app_id: &str,
        filter: &LogFilter,
    ) -> Result<(Vec<ConversationLog>, i64), StoreError> {
        let annotated = "EXISTS (SELECT 1 FROM message_annotations a WHERE a.app_id = conversations.app_id \
                         AND a.conversation_id = conversations.id)";
        let mut conditions = vec![
            "app_id = $1".to_string(),
            "mode = $2".to_string(),
            "($3 = '%%' OR LOWER(name) LIKE LOWER($3) ESCAPE '\\' OR id IN (SELECT m.conversation_id FROM messages m \
             WHERE m.app_id = $1 AND (LOWER(m.query) LIKE LOWER($3) ESCAPE '\\' \
             OR LOWER(m.answer) LIKE LOWER($3) ESCAPE '\\')))"
                .to_string(),
            "created_at >= $4".to_string(),
            "created_at <= $5".to_string(),
        ];
        match filter.annotation {
            AnnotationStatus::All => {}
            AnnotationStatus::Annotated => conditions.push(annotated.to_string()),
            AnnotationStatus::NotAnnotated => conditions.push(format!("NOT {annotated}")),
        }
        let conditions = conditions.join(" AND ");
        let pattern = like_pattern(Some(&filter.keyword));
        let start = filter.start.unwrap_or(i64::MIN);
        let end = filter.end.unwrap_or(i64::MAX);
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM conversations WHERE {conditions}"
        )))
        .bind(app_id)
        .bind(&filter.mode)
        .bind(&pattern)
        .bind(start)
        .bind(end)
        .fetch_one(&self.pool)
        .await?;
        let (column, direction, _) = filter.order.sql();
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE {conditions} \
             ORDER BY {column} {direction}, id {direction} LIMIT $6 OFFSET $7"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(app_id)
            .bind(&filter.mode)
            .bind(&pattern)
            .bind(start)
            .bind(end)
            .bind(i64::from(filter.limit))
            .bind(i64::from(filter.page.saturating_sub(1)) * i64::from(filter.limit))
            .fetch_all(&self.pool)
            .await?;
        let conversations = rows
            .iter()
            .map(conversation_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((self.with_log_details(app_id, conversations).await?, total))
    }

    /// One conversation with its log details.
    pub async fn conversation_log(
        &self,
        app_id: &str,
        id: &str,
    ) -> Result<Option<ConversationLog>, StoreError> {
        let Some(conversation) = self.app_conversation(app_id, id).await? else {
            return Ok(None);
        };
        Ok(self.with_log_details(app_id, vec![conversation]).await?.pop())
    }

    async fn with_log_details(
        &self,
        app_id: &str,
        conversations: Vec<Conversation>,
    ) -> Result<Vec<ConversationLog>, StoreError> {
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = conversations.iter().map(|c| c.id.as_str()).collect();
        let list = numbered_placeholders(2, ids.len());
        let bind_all = |sql: String| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(app_id.to_string());
            for id in &ids {
                query = query.bind(id.to_string());
            }
            query
        };
        let mut first: HashMap<String, Message> = HashMap::new();
        let mut counts: HashMap<String, i64> = HashMap::new();
        let rows = bind_all(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE app_id = $1 AND conversation_id IN ({list}) \
             ORDER BY created_at ASC, id ASC"
        ))
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let message = message_from_row(row)?;
            *counts.entry(message.conversation_id.clone()).or_default() += 1;
            first.entry(message.conversation_id.clone()).or_insert(message);
        }
        let mut feedback: HashMap<(String, String), i64> = HashMap::new();
        let rows = bind_all(format!(
            "SELECT conversation_id, rating FROM message_feedbacks WHERE app_id = $1 AND from_source = 'user' \
             AND conversation_id IN ({list})"
        ))
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let key: (String, String) = (row.try_get("conversation_id")?, row.try_get("rating")?);
            *feedback.entry(key).or_default() += 1;
        }
        let rows = bind_all(format!(
            "SELECT DISTINCT conversation_id FROM message_annotations WHERE app_id = $1 \
             AND conversation_id IN ({list})"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut annotated = HashSet::new();
        for row in &rows {
            annotated.insert(row.try_get::<String, _>("conversation_id")?);
        }
        let end_users: Vec<&str> = conversations.iter().map(|c| c.end_user_id.as_str()).collect();
        let sql = format!(
            "SELECT id, session_id FROM end_users WHERE app_id = $1 AND id IN ({})",
            numbered_placeholders(2, end_users.len())
        );
        let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql)).bind(app_id);
        for id in &end_users {
            query = query.bind(*id);
        }
        let sessions: HashMap<String, String> = query.fetch_all(&self.pool).await?.into_iter().collect();
        Ok(conversations
            .into_iter()
            .map(|conversation| {
                let id = conversation.id.clone();
                ConversationLog {
                    end_user_session_id: sessions.get(&conversation.end_user_id).cloned(),
                    message_count: counts.get(&id).copied().unwrap_or(0),
                    first_message: first.remove(&id),
                    annotated: annotated.contains(&id),
                    user_likes: feedback.get(&(id.clone(), "like".into())).copied().unwrap_or(0),
                    user_dislikes: feedback.get(&(id, "dislike".into())).copied().unwrap_or(0),
                    conversation,
                }
            })
            .collect())
    }
}
