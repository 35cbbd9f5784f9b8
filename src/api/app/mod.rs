//! The app service API, `/v1/...` with an app key (API.md section B): chat and completion
//! messages, conversations, message history, feedback, file upload, and the app's parameters.

pub(crate) mod annotations;
mod conversations;
mod feedbacks;
mod files;
mod info;
pub(crate) mod messages;

use axum::Router;
use axum::routing::{delete, get, post, put};
use serde_json::Value;

use super::auth::AppKey;
use super::{ApiError, AppState, ErrorCode};
use crate::apps::llm::{DEFAULT_CONTEXT_WINDOW, Provider, ProviderSettings};
use crate::apps::{AppConfig, AppMode};
use crate::store::EndUser;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chat-messages", post(messages::chat))
        .route("/chat-messages/{task_id}/stop", post(messages::stop_chat))
        .route("/completion-messages", post(messages::completion))
        .route(
            "/completion-messages/{task_id}/stop",
            post(messages::stop_completion),
        )
        .route("/conversations", get(conversations::list))
        .route("/conversations/{conversation_id}", delete(conversations::delete))
        .route(
            "/conversations/{conversation_id}/name",
            post(conversations::rename),
        )
        .route("/messages", get(conversations::messages))
        .route("/messages/{message_id}/feedbacks", post(feedbacks::create))
        .route("/messages/{message_id}/suggested", get(feedbacks::suggested))
        .route("/app/feedbacks", get(feedbacks::list))
        .route("/files/upload", post(files::upload))
        .route("/files/{file_id}/preview", get(files::preview))
        .route("/parameters", get(info::parameters))
        .route("/meta", get(info::meta))
        .route("/info", get(info::info))
        .route("/site", get(info::site))
        .route(
            "/apps/annotations",
            get(annotations::list).post(annotations::create),
        )
        .route(
            "/apps/annotations/{annotation_id}",
            put(annotations::update).delete(annotations::delete),
        )
        .route("/apps/annotation-reply/{action}", post(annotations::reply))
        .route(
            "/apps/annotation-reply/{action}/status/{job_id}",
            get(annotations::reply_job),
        )
}

/// The end user Dify uses when a route's `user` is optional and missing.
const DEFAULT_USER: &str = "DEFAULT-USER";

/// The `user` of a request (a string, or a number taken as its text).
fn user_arg(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// The end user a request names with a required `user`.
async fn required_user(state: &AppState, key: &AppKey, value: Option<&Value>) -> Result<EndUser, ApiError> {
    let user = user_arg(value).ok_or_else(|| ApiError::invalid("Arg user must be provided."))?;
    end_user(state, key, &user).await
}

/// The end user a request names with an optional `user`.
async fn optional_user(state: &AppState, key: &AppKey, value: Option<&Value>) -> Result<EndUser, ApiError> {
    let user = user_arg(value).unwrap_or_else(|| DEFAULT_USER.to_string());
    end_user(state, key, &user).await
}

async fn end_user(state: &AppState, key: &AppKey, session_id: &str) -> Result<EndUser, ApiError> {
    Ok(state
        .engine
        .store()
        .end_user(&key.app.tenant_id, &key.app.id, session_id)
        .await?)
}

/// The app's mode, with Dify's error for a route of the other mode.
fn require_mode(key: &AppKey, wanted: AppMode) -> Result<(), ApiError> {
    if key.app.mode == wanted.as_str() {
        return Ok(());
    }
    Err(match wanted {
        AppMode::Chat => ApiError::new(
            ErrorCode::NotChatApp,
            "Please check if your Chat app mode matches the right API route.",
        ),
        AppMode::Completion => ApiError::new(
            ErrorCode::NotCompletionApp,
            "Please check if your Completion app mode matches the right API route.",
        ),
    })
}

/// The app's stored config; a broken one is Dify's `app_unavailable`-like internal error.
fn app_config(key: &AppKey) -> Result<AppConfig, ApiError> {
    AppConfig::parse(&key.app.model_config).map_err(ApiError::internal)
}

/// The model that answers the workspace's apps: its configured provider, the server default, or
/// the built-in extractive provider.
async fn provider(state: &AppState, tenant_id: &str) -> Result<Provider, ApiError> {
    Ok(
        match crate::api::console::model_settings::llm_provider(state, tenant_id).await? {
            Some(configured) => Provider::OpenAi(ProviderSettings {
                base_url: configured.base_url,
                http: state.engine.outbound().clone(),
                api_key: configured.api_key,
                model: configured.model,
                parameters: configured.parameters.as_object().cloned().unwrap_or_default(),
                context_window: configured.context_window.unwrap_or(DEFAULT_CONTEXT_WINDOW),
            }),
            None => Provider::Extractive,
        },
    )
}

/// A path id that must be a UUID naming something of `what`.
fn path_uuid(id: &str, message: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found(message))
}
