//! `POST /messages/{id}/feedbacks` (an end user's like or dislike) and `GET /app/feedbacks`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppKey, required_user};
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::{ApiError, AppState};
use crate::store::{EndUser, Feedback, Message, PageStart};

const MESSAGE_NOT_FOUND: &str = "Message Not Exists.";

/// `GET /messages/{id}/suggested?user=`: next questions for a chat message's conversation, when
/// the app has `suggested_questions_after_answer` enabled (see `apps::suggest`).
pub async fn suggested(
    State(state): State<AppState>,
    key: AppKey,
    Path(message_id): Path<String>,
    ApiQuery(query): ApiQuery<SuggestedQuery>,
) -> Result<Json<Value>, ApiError> {
    let user = query.user.map(Value::String);
    let end_user = required_user(&state, &key, user.as_ref()).await?;
    super::require_mode(&key, crate::apps::AppMode::Chat)?;
    let message_id = super::path_uuid(&message_id, MESSAGE_NOT_FOUND)?;
    let message = own_message(&state, &key, &end_user, &message_id).await?;
    let config = super::app_config(&key)?;
    if !config.suggests_questions() {
        return Err(ApiError::new(
            crate::api::ErrorCode::BadRequest,
            "Suggested Questions Is Disabled.",
        ));
    }
    // The turns before this message and the message itself, oldest first.
    let before = state
        .engine
        .store()
        .list_messages(
            &message.conversation_id,
            &PageStart::After(message.id.clone()),
            crate::apps::suggest::HISTORY_TURNS - 1,
        )
        .await?
        .map(|(messages, _)| messages)
        .unwrap_or_default();
    let turns: Vec<(String, String)> = before
        .into_iter()
        .chain([message])
        .filter(|m| m.status == "normal")
        .map(|m| (m.query, m.answer))
        .collect();
    let provider = super::provider(&state, &key.app.tenant_id).await?;
    let questions = crate::apps::suggest::suggested_questions(
        &provider,
        &config.model.name,
        &turns,
        crate::apps::llm::RetryPolicy::default(),
    )
    .await;
    Ok(Json(json!({"result": "success", "data": questions})))
}

/// A message of the app asked by this end user (Dify looks messages up by their user, so
/// another user's message is not found).
async fn own_message(
    state: &AppState,
    key: &AppKey,
    end_user: &EndUser,
    id: &str,
) -> Result<Message, ApiError> {
    state
        .engine
        .store()
        .message(&key.app.id, id)
        .await?
        .filter(|m| m.end_user_id == end_user.id)
        .ok_or_else(|| ApiError::not_found(MESSAGE_NOT_FOUND))
}

#[derive(Debug, Deserialize)]
pub struct SuggestedQuery {
    user: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    key: AppKey,
    Path(message_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let end_user = required_user(&state, &key, body.get("user")).await?;
    let message_id = super::path_uuid(&message_id, MESSAGE_NOT_FOUND)?;
    let rating = match &body["rating"] {
        Value::Null => None,
        Value::String(rating) if rating == "like" || rating == "dislike" => Some(rating.as_str()),
        other => {
            return Err(ApiError::invalid(format!(
                "rating must be like, dislike or null, not {other}"
            )));
        }
    };
    let content = match &body["content"] {
        Value::Null => None,
        Value::String(content) => Some(content.as_str()),
        _ => return Err(ApiError::invalid("content must be a string")),
    };
    let message = own_message(&state, &key, &end_user, &message_id).await?;
    state
        .engine
        .store()
        .set_user_feedback(&message, &key.app.tenant_id, &end_user.id, rating, content)
        .await?;
    Ok(Json(json!({"result": "success"})))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
}

/// Dify's `AppFeedbackResponse`; its timestamps are ISO 8601 strings.
fn feedback_view(feedback: &Feedback) -> Value {
    let iso = |ts: i64| {
        chrono::DateTime::from_timestamp(ts, 0)
            .map(|t| t.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_default()
    };
    json!({
        "id": feedback.id,
        "app_id": feedback.app_id,
        "conversation_id": feedback.conversation_id,
        "message_id": feedback.message_id,
        "rating": feedback.rating,
        "content": feedback.content,
        "from_source": feedback.from_source,
        "from_end_user_id": feedback.from_end_user_id,
        "from_account_id": feedback.from_account_id,
        "created_at": iso(feedback.created_at),
        "updated_at": iso(feedback.updated_at),
    })
}

pub async fn list(
    State(state): State<AppState>,
    key: AppKey,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let number = |text: Option<&str>, default: u32, max: u32, name: &str| match text.filter(|t| !t.is_empty())
    {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid(format!("{name} must be an integer between 1 and {max}"))),
    };
    let page = number(query.page.as_deref(), 1, u32::MAX, "page")?;
    let limit = number(query.limit.as_deref(), 20, 101, "limit")?;
    let feedbacks = state
        .engine
        .store()
        .app_feedbacks(&key.app.id, page, limit)
        .await?;
    Ok(Json(
        json!({"data": feedbacks.iter().map(feedback_view).collect::<Vec<_>>()}),
    ))
}
