//! Console routes of apps (API.md C, Dify's `console/app/app.py`, `model_config.py`,
//! `apikey.py`): list, create, read, update and delete chat and completion apps, their easy-UI
//! model config, their API keys, annotations and logs. Editors change apps; every role but dataset_operator reads them.

mod annotations;
mod api_keys;
mod crud;
mod logs;

use axum::Router;
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use crate::api::console::session::ConsoleUser;
use crate::api::{ApiError, AppState};
use crate::store::{APP_TAG, App};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps", get(crud::list).post(crud::create))
        .route(
            "/apps/{app_id}",
            get(crud::detail).put(crud::update).delete(crud::remove),
        )
        .route("/apps/{app_id}/model-config", post(crud::model_config))
        .route("/apps/{app_id}/api-enable", post(crud::api_enable))
        .route("/apps/{app_id}/site-enable", post(crud::site_enable))
        .route(
            "/apps/{app_id}/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route("/apps/{app_id}/api-keys/{api_key_id}", delete(api_keys::remove))
        .route("/apps/{app_id}/completion-messages", post(debug_completion))
        .route(
            "/apps/{app_id}/annotations",
            get(annotations::list).post(annotations::create),
        )
        .route("/apps/{app_id}/annotations/export", get(annotations::export))
        .route("/apps/{app_id}/annotations/count", get(annotations::count))
        .route(
            "/apps/{app_id}/annotations/batch-import",
            post(annotations::batch_import),
        )
        .route(
            "/apps/{app_id}/annotations/batch-import-status/{job_id}",
            get(annotations::batch_import_status),
        )
        .route(
            "/apps/{app_id}/annotations/{annotation_id}",
            post(annotations::update).delete(annotations::remove),
        )
        .route(
            "/apps/{app_id}/annotations/{annotation_id}/hit-histories",
            get(annotations::hit_histories),
        )
        .route("/apps/{app_id}/annotation-setting", get(annotations::setting))
        .route(
            "/apps/{app_id}/annotation-settings/{annotation_setting_id}",
            post(annotations::update_setting),
        )
        .route(
            "/apps/{app_id}/annotation-reply/{action}",
            post(annotations::reply),
        )
        .route(
            "/apps/{app_id}/annotation-reply/{action}/status/{job_id}",
            get(annotations::reply_job),
        )
        .route("/apps/{app_id}/chat-conversations", get(logs::chat_conversations))
        .route(
            "/apps/{app_id}/chat-conversations/{conversation_id}",
            get(logs::chat_conversation),
        )
        .route(
            "/apps/{app_id}/chat-messages",
            get(logs::chat_messages).post(debug_chat),
        )
        .route(
            "/apps/{app_id}/completion-conversations",
            get(logs::completion_conversations),
        )
        .route(
            "/apps/{app_id}/completion-conversations/{conversation_id}",
            get(logs::completion_conversation),
        )
}

/// The console's playground (Dify's debug routes): the app answers the signed-in account, as an
/// end user of its own, with citations marked as coming from `dev`.
async fn debug(
    state: AppState,
    user: ConsoleUser,
    app_id: &str,
    mut body: Value,
    mode: crate::apps::AppMode,
) -> Result<axum::response::Response, ApiError> {
    user.require_editor()?;
    let app = find_app(&state, &user, app_id).await?;
    crate::apps::manage::check_playground(&state.engine, &app, &user.dataset_viewer()).await?;
    if !body.is_object() {
        return Err(ApiError::invalid("The request body must be a JSON object."));
    }
    body["user"] = json!(format!("console-{}", user.account_id));
    // The playground is Dify's debugger: its citations say `dev`.
    crate::api::app::messages::generate(state, crate::api::auth::AppKey { app }, body, mode, "dev").await
}

async fn debug_chat(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: ConsoleUser,
    axum::extract::Path(app_id): axum::extract::Path<String>,
    crate::api::extract::ApiJson(body): crate::api::extract::ApiJson<Value>,
) -> Result<axum::response::Response, ApiError> {
    debug(state, user, &app_id, body, crate::apps::AppMode::Chat).await
}

async fn debug_completion(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: ConsoleUser,
    axum::extract::Path(app_id): axum::extract::Path<String>,
    crate::api::extract::ApiJson(body): crate::api::extract::ApiJson<Value>,
) -> Result<axum::response::Response, ApiError> {
    debug(state, user, &app_id, body, crate::apps::AppMode::Completion).await
}

/// The app `app_id` of the user's workspace; an unknown or foreign one is 404.
async fn find_app(state: &AppState, user: &ConsoleUser, app_id: &str) -> Result<App, ApiError> {
    let id = uuid::Uuid::parse_str(app_id)
        .map_err(|_| ApiError::not_found("App not found."))?
        .to_string();
    state
        .engine
        .store()
        .app(&user.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("App not found."))
}

/// Dify's app detail (`app_detail_fields`), with the model config it runs and its tags.
async fn app_view(state: &AppState, app: &App, user: &ConsoleUser) -> Result<Value, ApiError> {
    let tags = state
        .engine
        .store()
        .target_tags(&app.tenant_id, APP_TAG, &app.id)
        .await?;
    let mut model_config = app.model_config.clone();
    if let Some(config) = model_config.as_object_mut() {
        config.insert("prompt_type".into(), json!("simple"));
        config.insert("created_at".into(), json!(app.created_at));
        config.insert("updated_at".into(), json!(app.updated_at));
    }
    let author_name = match app.created_by.as_deref() {
        Some(id) if id == user.account_id => user.name.clone(),
        _ => String::new(),
    };
    Ok(json!({
        "id": app.id,
        "name": app.name,
        "description": app.description,
        "mode": app.mode,
        "icon_type": app.icon_type,
        "icon": app.icon,
        "icon_background": app.icon_background,
        "icon_url": null,
        "enable_site": app.enable_site,
        "enable_api": app.enable_api,
        "model_config": model_config,
        "workflow": null,
        "use_icon_as_answer_icon": false,
        "created_by": app.created_by,
        "created_at": app.created_at,
        "updated_by": null,
        "updated_at": app.updated_at,
        "tags": tags
            .iter()
            .map(|t| json!({"id": t.id, "name": t.name, "type": t.kind}))
            .collect::<Vec<_>>(),
        "author_name": author_name,
        "access_mode": null,
    }))
}
