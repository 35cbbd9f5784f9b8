//! The signed-in account's own profile: name, password, language, theme, time zone.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use super::auth::{check_name, check_password, hash_password, verify_password};
use crate::api::extract::ApiJson;
use crate::api::{ApiError, AppState, ErrorCode};
use crate::store::{Account, AccountField};

fn timestamp(ts: Option<i64>) -> Value {
    ts.map_or(Value::Null, Value::from)
}

/// Dify's account profile fields.
pub(crate) fn profile_view(account: &Account) -> Value {
    json!({
        "id": account.id,
        "name": account.name,
        "avatar": null,
        "avatar_url": null,
        "email": account.email,
        "is_password_set": account.password_hash.is_some(),
        "interface_language": account.interface_language,
        "interface_theme": account.interface_theme,
        "timezone": account.timezone,
        "last_login_at": timestamp(account.last_login_at),
        "last_login_ip": account.last_login_ip,
        "created_at": account.created_at,
    })
}

async fn load(state: &AppState, user: &ConsoleUser) -> Result<Account, ApiError> {
    state
        .engine
        .store()
        .account(&user.account_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("The account no longer exists."))
}

pub async fn profile(State(state): State<AppState>, user: ConsoleUser) -> Result<Json<Value>, ApiError> {
    Ok(Json(profile_view(&load(&state, &user).await?)))
}

async fn set_field(
    state: &AppState,
    user: &ConsoleUser,
    field: AccountField,
    value: &str,
) -> Result<Json<Value>, ApiError> {
    state
        .engine
        .store()
        .update_account_field(&user.account_id, field, value)
        .await?;
    Ok(Json(profile_view(&load(state, user).await?)))
}

#[derive(Debug, Deserialize)]
pub struct NameBody {
    name: String,
}

pub async fn name(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<Json<Value>, ApiError> {
    let name = check_name(&body.name)?;
    set_field(&state, &user, AccountField::Name, &name).await
}

#[derive(Debug, Deserialize)]
pub struct LanguageBody {
    interface_language: String,
}

/// Languages the console's pages come in (Dify's `languages`).
const LANGUAGES: [&str; 9] = [
    "en-US", "zh-Hans", "zh-Hant", "ja-JP", "ko-KR", "fr-FR", "de-DE", "es-ES", "pt-BR",
];

pub async fn interface_language(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<LanguageBody>,
) -> Result<Json<Value>, ApiError> {
    if !LANGUAGES.contains(&body.interface_language.as_str()) {
        return Err(ApiError::invalid(format!(
            "interface_language must be one of {}.",
            LANGUAGES.join(", ")
        )));
    }
    set_field(
        &state,
        &user,
        AccountField::InterfaceLanguage,
        &body.interface_language,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct ThemeBody {
    interface_theme: String,
}

pub async fn interface_theme(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<ThemeBody>,
) -> Result<Json<Value>, ApiError> {
    if !matches!(body.interface_theme.as_str(), "light" | "dark") {
        return Err(ApiError::invalid("interface_theme must be light or dark."));
    }
    set_field(&state, &user, AccountField::InterfaceTheme, &body.interface_theme).await
}

#[derive(Debug, Deserialize)]
pub struct TimezoneBody {
    timezone: String,
}

pub async fn timezone(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<TimezoneBody>,
) -> Result<Json<Value>, ApiError> {
    let tz = body.timezone.trim();
    // IANA names: `Area/Location` (or UTC), letters, digits and `/_+-` only.
    let plausible = !tz.is_empty()
        && tz.len() <= 64
        && tz
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
        && (tz == "UTC" || tz.contains('/'));
    if !plausible {
        return Err(ApiError::invalid(format!("{tz:?} is not a valid time zone.")));
    }
    set_field(&state, &user, AccountField::Timezone, tz).await
}

#[derive(Debug, Deserialize)]
pub struct PasswordBody {
    #[serde(default)]
    password: Option<String>,
    new_password: String,
    repeat_new_password: String,
}

/// Changes the password. Every other session ends: refresh tokens are revoked and access
/// tokens issued before now stop working (the caller signs in again).
pub async fn password(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Json<Value>, ApiError> {
    if body.new_password != body.repeat_new_password {
        return Err(ApiError::new(
            ErrorCode::RepeatPasswordNotMatch,
            "New passwords do not match.",
        ));
    }
    check_password(&body.new_password)?;
    let account = load(&state, &user).await?;
    let _slot = state.console.guard.hash_slot()?;
    let current = body.password.unwrap_or_default();
    if !verify_password(current, account.password_hash.clone()).await? {
        return Err(ApiError::new(
            ErrorCode::CurrentPasswordIncorrect,
            "Current password is incorrect.",
        ));
    }
    let hash = hash_password(body.new_password).await?;
    state
        .engine
        .store()
        .change_password(&user.account_id, &hash)
        .await?;
    Ok(Json(json!({"result": "success"})))
}
