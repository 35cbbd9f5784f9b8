//! `GET /conversations`, `DELETE /conversations/{id}` (with a JSON body), `POST
//! /conversations/{id}/name`, and `GET /messages` (a conversation's history).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppKey, optional_user, path_uuid, require_mode};
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::{ApiError, AppState};
use crate::apps::AppMode;
use crate::apps::retrieval::history_resource;
use crate::store::{Conversation, ConversationOrder, Message, PageStart};

const CONVERSATION_NOT_FOUND: &str = "Conversation Not Exists.";

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    user: Option<String>,
    last_id: Option<String>,
    limit: Option<String>,
    sort_by: Option<String>,
}

/// Dify's `SimpleConversation`.
fn conversation_view(conversation: &Conversation) -> Value {
    json!({
        "id": conversation.id,
        "name": conversation.name,
        "inputs": conversation.inputs,
        "status": conversation.status,
        "introduction": conversation.introduction,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
    })
}

/// A `limit` parameter within `1..=max` (default 20).
fn limit(text: Option<&str>, max: u32) -> Result<u32, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(20),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid(format!("limit must be an integer between 1 and {max}"))),
    }
}

/// A page-start id parameter: empty means the first page; anything else must be a UUID.
fn page_start(id: Option<&str>, name: &str) -> Result<PageStart, ApiError> {
    match id.map(str::trim).filter(|id| !id.is_empty()) {
        None => Ok(PageStart::Start),
        Some(id) => uuid::Uuid::parse_str(id)
            .map(|u| PageStart::After(u.to_string()))
            .map_err(|_| ApiError::invalid(format!("{name} must be a valid UUID"))),
    }
}

pub async fn list(
    State(state): State<AppState>,
    key: AppKey,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let user = query.user.map(Value::String);
    let end_user = optional_user(&state, &key, user.as_ref()).await?;
    require_mode(&key, AppMode::Chat)?;
    let limit = limit(query.limit.as_deref(), 100)?;
    let start = page_start(query.last_id.as_deref(), "last_id")?;
    let order = match query.sort_by.as_deref() {
        None | Some("") => ConversationOrder::UpdatedDesc,
        Some(text) => ConversationOrder::parse(text).ok_or_else(|| {
            ApiError::invalid("sort_by must be one of created_at, -created_at, updated_at, -updated_at")
        })?,
    };
    let (conversations, has_more) = state
        .engine
        .store()
        .list_conversations(&key.app.id, &end_user.id, &start, limit, order)
        .await?
        .ok_or_else(|| ApiError::not_found("Last Conversation Not Exists."))?;
    Ok(Json(json!({
        "limit": limit,
        "has_more": has_more,
        "data": conversations.iter().map(conversation_view).collect::<Vec<_>>(),
    })))
}

/// A JSON body that may be missing (Dify's SDKs send DELETE bodies, other clients may not).
fn optional_body(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid(format!("The body is not valid JSON: {e}")))
}

pub async fn delete(
    State(state): State<AppState>,
    key: AppKey,
    Path(conversation_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = optional_body(&body)?;
    let end_user = optional_user(&state, &key, body.get("user")).await?;
    require_mode(&key, AppMode::Chat)?;
    let id = path_uuid(&conversation_id, CONVERSATION_NOT_FOUND)?;
    if !state
        .engine
        .store()
        .delete_conversation(&key.app.id, &end_user.id, &id)
        .await?
    {
        return Err(ApiError::not_found(CONVERSATION_NOT_FOUND));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn rename(
    State(state): State<AppState>,
    key: AppKey,
    Path(conversation_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let end_user = optional_user(&state, &key, body.get("user")).await?;
    require_mode(&key, AppMode::Chat)?;
    let id = path_uuid(&conversation_id, CONVERSATION_NOT_FOUND)?;
    let store = state.engine.store();
    let conversation = store
        .conversation(&key.app.id, &end_user.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(CONVERSATION_NOT_FOUND))?;
    let name = if body["auto_generate"].as_bool().unwrap_or(false) {
        // Named after its first question, as new conversations are.
        let first = store
            .list_messages(&conversation.id, &PageStart::Start, 1000)
            .await?
            .and_then(|(messages, _)| messages.into_iter().next());
        let query = first.map(|m| m.query).unwrap_or_default();
        let name: String = query.trim().chars().take(40).collect();
        if name.is_empty() {
            conversation.name.clone()
        } else {
            name
        }
    } else {
        match body["name"].as_str().map(str::trim) {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => return Err(ApiError::invalid("name is required when auto_generate is false")),
        }
    };
    let renamed = store
        .rename_conversation(&key.app.id, &end_user.id, &id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(CONVERSATION_NOT_FOUND))?;
    Ok(Json(conversation_view(&renamed)))
}

#[derive(Debug, Deserialize)]
pub struct MessagesQuery {
    user: Option<String>,
    conversation_id: Option<String>,
    first_id: Option<String>,
    limit: Option<String>,
}

/// Dify's message list item.
fn message_view(message: &Message, rating: Option<&String>) -> Value {
    let resources: Vec<Value> = message
        .retriever_resources
        .as_array()
        .map(|items| items.iter().map(history_resource).collect())
        .unwrap_or_default();
    json!({
        "id": message.id,
        "conversation_id": message.conversation_id,
        "parent_message_id": message.parent_message_id,
        "inputs": message.inputs,
        "query": message.query,
        "answer": message.answer,
        "status": message.status,
        "error": message.error,
        "message_files": message.files,
        "feedback": rating.map(|rating| json!({"rating": rating})),
        "retriever_resources": resources,
        "agent_thoughts": [],
        "created_at": message.created_at,
    })
}

pub async fn messages(
    State(state): State<AppState>,
    key: AppKey,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> Result<Json<Value>, ApiError> {
    let user = query.user.map(Value::String);
    let end_user = optional_user(&state, &key, user.as_ref()).await?;
    require_mode(&key, AppMode::Chat)?;
    let conversation_id = query
        .conversation_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::invalid("conversation_id is required"))?;
    let conversation_id = uuid::Uuid::parse_str(conversation_id)
        .map_err(|_| ApiError::invalid("conversation_id must be a valid UUID"))?
        .to_string();
    let limit = limit(query.limit.as_deref(), 100)?;
    let start = page_start(query.first_id.as_deref(), "first_id")?;
    let store = state.engine.store();
    let conversation = store
        .conversation(&key.app.id, &end_user.id, &conversation_id)
        .await?
        .ok_or_else(|| ApiError::not_found(CONVERSATION_NOT_FOUND))?;
    let (messages, has_more) = store
        .list_messages(&conversation.id, &start, limit)
        .await?
        .ok_or_else(|| ApiError::not_found("First Message Not Exists."))?;
    let ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
    let ratings = store.user_ratings(&ids).await?;
    Ok(Json(json!({
        "limit": limit,
        "has_more": has_more,
        "data": messages.iter().map(|m| message_view(m, ratings.get(&m.id))).collect::<Vec<_>>(),
    })))
}
