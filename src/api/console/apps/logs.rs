//! The console's logs of an app (Dify's `console/app/conversation.py` and `message.py`):
//! `chat-conversations` and `completion-conversations` pages with Dify's filters (keyword, start
//! and end dates, annotation status, sort, page), one chat conversation, and its messages.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::find_app;
use crate::api::app::annotations::page_arg;
use crate::api::console::session::ConsoleUser;
use crate::api::extract::ApiQuery;
use crate::api::{ApiError, AppState};
use crate::apps::retrieval::history_resource;
use crate::store::{
    AnnotationHit, AnnotationStatus, App, ConversationLog, ConversationOrder, LogFilter, Message, PageStart,
};

const CONVERSATION_NOT_FOUND: &str = "Conversation Not Exists.";

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    keyword: Option<String>,
    start: Option<String>,
    end: Option<String>,
    annotation_status: Option<String>,
    sort_by: Option<String>,
    page: Option<String>,
    limit: Option<String>,
}

/// A `%Y-%m-%d %H:%M` time (UTC) as Unix seconds; `end` takes the whole minute, as Dify does.
fn minute(text: Option<&str>, name: &str, end: bool) -> Result<Option<i64>, ApiError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let time = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .map_err(|_| ApiError::invalid(format!("{name} must be a time as YYYY-MM-DD HH:MM")))?;
    let seconds = time.and_utc().timestamp();
    Ok(Some(if end { seconds + 59 } else { seconds }))
}

fn filter(query: &LogQuery, mode: &str) -> Result<LogFilter, ApiError> {
    let annotation = match query.annotation_status.as_deref() {
        None | Some("") | Some("all") => AnnotationStatus::All,
        Some("annotated") => AnnotationStatus::Annotated,
        Some("not_annotated") => AnnotationStatus::NotAnnotated,
        Some(_) => {
            return Err(ApiError::invalid(
                "annotation_status must be one of annotated, not_annotated, all",
            ));
        }
    };
    let order = match query.sort_by.as_deref() {
        None | Some("") => ConversationOrder::UpdatedDesc,
        Some(text) => ConversationOrder::parse(text).ok_or_else(|| {
            ApiError::invalid("sort_by must be one of created_at, -created_at, updated_at, -updated_at")
        })?,
    };
    Ok(LogFilter {
        mode: mode.to_string(),
        keyword: query.keyword.as_deref().unwrap_or("").trim().to_string(),
        start: minute(query.start.as_deref(), "start", false)?,
        end: minute(query.end.as_deref(), "end", true)?,
        annotation,
        order,
        page: page_arg(query.page.as_deref(), "page", 1, 99999)?,
        limit: page_arg(query.limit.as_deref(), "limit", 20, 100)?,
    })
}

/// The app, which must be of `mode` for a log route of that mode.
async fn app_of_mode(
    state: &AppState,
    user: &ConsoleUser,
    app_id: &str,
    mode: &str,
) -> Result<App, ApiError> {
    user.require_editor()?;
    let app = find_app(state, user, app_id).await?;
    if app.mode != mode {
        return Err(ApiError::invalid("App mode is not in the supported list."));
    }
    Ok(app)
}

fn model_config(app: &App) -> Value {
    json!({
        "model": app.model_config.get("model").cloned().unwrap_or(Value::Null),
        "pre_prompt": app.model_config.get("pre_prompt").cloned().unwrap_or(Value::Null),
    })
}

/// The fields every log item shares (Dify's conversation fields).
fn log_view(app: &App, log: &ConversationLog) -> Value {
    let conversation = &log.conversation;
    json!({
        "id": conversation.id,
        "status": conversation.status,
        "from_source": "api",
        "from_end_user_id": conversation.end_user_id,
        "from_end_user_session_id": log.end_user_session_id,
        "from_account_id": null,
        "from_account_name": null,
        "name": conversation.name,
        "introduction": conversation.introduction,
        "read_at": null,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "annotated": log.annotated,
        "model_config": model_config(app),
        "message_count": log.message_count,
        "user_feedback_stats": {"like": log.user_likes, "dislike": log.user_dislikes},
        "admin_feedback_stats": {"like": 0, "dislike": 0},
    })
}

fn chat_item(app: &App, log: &ConversationLog) -> Value {
    let mut item = log_view(app, log);
    item["summary"] = json!(
        log.first_message
            .as_ref()
            .map(|m| m.query.clone())
            .unwrap_or_else(|| log.conversation.name.clone())
    );
    item["status_count"] = Value::Null;
    item
}

fn completion_item(app: &App, log: &ConversationLog) -> Value {
    let mut item = log_view(app, log);
    item["annotation"] = Value::Null;
    item["message"] = match &log.first_message {
        Some(m) => json!({
            "inputs": m.inputs,
            "query": m.query,
            "message": [],
            "message_tokens": m.message_tokens,
            "answer": m.answer,
            "answer_tokens": m.answer_tokens,
            "provider_response_latency": m.provider_response_latency,
            "created_at": m.created_at,
        }),
        None => Value::Null,
    };
    item
}

async fn page(
    state: &AppState,
    app: &App,
    query: &LogQuery,
    item: fn(&App, &ConversationLog) -> Value,
) -> Result<Value, ApiError> {
    let filter = filter(query, &app.mode)?;
    let (logs, total) = state.engine.store().conversation_logs(&app.id, &filter).await?;
    Ok(json!({
        "page": filter.page,
        "limit": filter.limit,
        "total": total,
        "has_more": i64::from(filter.page) * i64::from(filter.limit) < total,
        "data": logs.iter().map(|log| item(app, log)).collect::<Vec<_>>(),
    }))
}

pub async fn chat_conversations(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Json<Value>, ApiError> {
    let app = app_of_mode(&state, &user, &app_id, "chat").await?;
    Ok(Json(page(&state, &app, &query, chat_item).await?))
}

pub async fn completion_conversations(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Json<Value>, ApiError> {
    let app = app_of_mode(&state, &user, &app_id, "completion").await?;
    Ok(Json(page(&state, &app, &query, completion_item).await?))
}

fn conversation_id(id: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found(CONVERSATION_NOT_FOUND))
}

pub async fn chat_conversation(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((app_id, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let app = app_of_mode(&state, &user, &app_id, "chat").await?;
    let id = conversation_id(&id)?;
    let log = state
        .engine
        .store()
        .conversation_log(&app.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(CONVERSATION_NOT_FOUND))?;
    Ok(Json(chat_item(&app, &log)))
}

pub async fn completion_conversation(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((app_id, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let app = app_of_mode(&state, &user, &app_id, "completion").await?;
    let id = conversation_id(&id)?;
    let log = state
        .engine
        .store()
        .conversation_log(&app.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(CONVERSATION_NOT_FOUND))?;
    Ok(Json(completion_item(&app, &log)))
}

#[derive(Debug, Deserialize)]
pub struct MessagesQuery {
    conversation_id: Option<String>,
    first_id: Option<String>,
    limit: Option<String>,
}

/// Dify's console message detail (`message_detail_fields`).
fn message_view(message: &Message, rating: Option<&String>, hit: Option<&AnnotationHit>) -> Value {
    let resources: Vec<Value> = message
        .retriever_resources
        .as_array()
        .map(|items| items.iter().map(history_resource).collect())
        .unwrap_or_default();
    let feedbacks: Vec<Value> = rating
        .map(|rating| {
            json!({"rating": rating, "content": null, "from_source": "user",
                   "from_end_user_id": message.end_user_id, "from_account": null})
        })
        .into_iter()
        .collect();
    let mut metadata = json!({});
    if !resources.is_empty() {
        metadata["retriever_resources"] = json!(resources);
    }
    json!({
        "id": message.id,
        "conversation_id": message.conversation_id,
        "parent_message_id": message.parent_message_id,
        "inputs": message.inputs,
        "query": message.query,
        "message": [],
        "message_tokens": message.message_tokens,
        "answer": message.answer,
        "answer_tokens": message.answer_tokens,
        "provider_response_latency": message.provider_response_latency,
        "from_source": "api",
        "from_end_user_id": message.end_user_id,
        "from_account_id": null,
        "feedbacks": feedbacks,
        "workflow_run_id": null,
        "annotation": null,
        "annotation_hit_history": hit.map(|hit| json!({
            "annotation_id": hit.annotation_id,
            "annotation_create_account": null,
            "created_at": hit.created_at,
        })),
        "created_at": message.created_at,
        "agent_thoughts": [],
        "message_files": message.files,
        "metadata": metadata,
        "status": message.status,
        "error": message.error,
    })
}

/// A chat conversation's messages, oldest first, paged back from `first_id`.
pub async fn chat_messages(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(app_id): Path<String>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> Result<Json<Value>, ApiError> {
    let app = app_of_mode(&state, &user, &app_id, "chat").await?;
    let conversation_id = query
        .conversation_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::invalid("conversation_id is required"))?;
    let conversation_id = uuid::Uuid::parse_str(conversation_id)
        .map_err(|_| ApiError::invalid("conversation_id must be a valid UUID"))?
        .to_string();
    let limit = page_arg(query.limit.as_deref(), "limit", 20, 100)?;
    let start = match query
        .first_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        None => PageStart::Start,
        Some(id) => PageStart::After(
            uuid::Uuid::parse_str(id)
                .map_err(|_| ApiError::invalid("first_id must be a valid UUID"))?
                .to_string(),
        ),
    };
    let store = state.engine.store();
    let conversation = store
        .app_conversation(&app.id, &conversation_id)
        .await?
        .ok_or_else(|| ApiError::not_found(CONVERSATION_NOT_FOUND))?;
    let (messages, has_more) = store
        .list_messages(&conversation.id, &start, limit)
        .await?
        .ok_or_else(|| ApiError::not_found("First message not found"))?;
    let ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
    let ratings = store.user_ratings(&ids).await?;
    let hits = store.hits_of_messages(&app.id, &ids).await?;
    Ok(Json(json!({
        "limit": limit,
        "has_more": has_more,
        "data": messages
            .iter()
            .map(|m| message_view(m, ratings.get(&m.id), hits.get(&m.id)))
            .collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_are_minutes_and_end_takes_the_whole_minute() {
        assert_eq!(
            minute(Some("2024-01-02 03:04"), "start", false).unwrap(),
            Some(1_704_164_640)
        );
        assert_eq!(
            minute(Some("2024-01-02 03:04"), "end", true).unwrap(),
            Some(1_704_164_699)
        );
        assert_eq!(minute(Some(" "), "start", false).unwrap(), None);
        assert!(minute(Some("2024-01-02"), "start", false).is_err());
        assert!(minute(Some("yesterday"), "end", true).is_err());
    }
}
