//! First-run setup, sign-in, sign-out, token refresh and invitation activation.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::passport::new_refresh_token;
use super::session::{self, ACCESS_COOKIE, REFRESH_COOKIE, SessionTokens};
use crate::api::client::Client;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::{ApiError, AppState, ErrorCode};
use crate::store::{ACCOUNT_ACTIVE, Account, now};

/// Dify's password rule: at least 8 characters, with letters and digits.
pub(crate) fn check_password(password: &str) -> Result<(), ApiError> {
    let long = password.chars().count() >= 8;
    let letters = password.chars().any(|c| c.is_ascii_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if long && letters && digits {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "Password must contain letters and numbers, and the length must be at least 8.",
        ))
    }
}

/// A plausible e-mail address: one `@`, something on both sides, a dot in the domain.
pub(crate) fn check_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(email.to_string())
    } else {
        Err(ApiError::invalid(format!("{email} is not a valid email.")))
    }
}

/// Account and member names: 1 to 30 characters after trimming.
pub(crate) fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 30 {
        return Err(ApiError::invalid("Name must be between 1 and 30 characters."));
    }
    Ok(name.to_string())
}

/// An argon2id hash (PHC string) of the password, computed off the async threads.
pub(crate) async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&crate::api::signing::random_bytes::<16>())
            .map_err(|e| ApiError::internal(format!("password salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::internal(format!("password hash: {e}")))
    })
    .await
    .map_err(ApiError::internal)?
}

/// Whether `password` matches `hash`. With no hash (unknown or never activated account) a dummy
/// hash is checked all the same, so the answer takes as long and tells nothing about the address.
pub(crate) async fn verify_password(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| {
            DUMMY
                .get_or_init(|| {
                    let salt = SaltString::encode_b64(b"ragd-dummy-salt!").expect("a valid salt");
                    Argon2::default()
                        .hash_password(b"not a password", &salt)
                        .expect("argon2 hashes")
                        .to_string()
                })
                .clone()
        });
        let parsed =
            PasswordHash::new(&hash).map_err(|e| ApiError::internal(format!("stored password hash: {e}")))?;
        Ok(known
            && Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
    })
    .await
    .map_err(ApiError::internal)?
}

async fn require_setup(state: &AppState) -> Result<(), ApiError> {
    match state.engine.store().setup_at().await? {
        Some(_) => Ok(()),
        None => Err(ApiError::new(
            ErrorCode::NotSetup,
            "ragd has not been set up yet. Please complete the setup first.",
        )),
    }
}

pub async fn setup_status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(match state.engine.store().setup_at().await? {
        Some(at) => json!({"step": "finished", "setup_at": rfc3339(at)}),
        None => json!({"step": "not_started"}),
    }))
}

fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Debug, Deserialize)]
pub struct SetupBody {
    email: String,
    name: String,
    password: String,
    #[serde(default)]
    language: Option<String>,
}

pub async fn setup(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SetupBody>,
) -> Result<Response, ApiError> {
    let already = || {
        ApiError::new(
            ErrorCode::AlreadySetup,
            "ragd has been set up already. Please sign in.",
        )
    };
    if state.engine.store().setup_at().await?.is_some() {
        return Err(already());
    }
    if !init_validated(&state, &client, &headers) {
        return Err(ApiError::new(
            ErrorCode::NotInitValidated,
            "Init validation has not been completed yet. Please proceed with the init validation first.",
        ));
    }
    let email = check_email(&body.email)?;
    let name = check_name(&body.name)?;
    check_password(&body.password)?;
    let slot = state.console.guard.hash_slot()?;
    let hash = hash_password(body.password).await?;
    drop(slot);
    let language = body.language.unwrap_or_else(|| "en-US".into());
    if !state
        .engine
        .store()
        .setup_console(&email, &name, &hash, &language)
        .await?
    {
        return Err(already());
    }
    tracing::info!(email = %email, "console set up");
    Ok((StatusCode::CREATED, Json(json!({"result": "success"}))).into_response())
}

/// The cookie that proves the setup password was given, and how long it does.
const INIT_COOKIE: &str = "init_validated";
const INIT_TTL_SECS: i64 = 3600;
/// Longest setup password compared (longer is wrong without looking).
const MAX_INIT_PASSWORD_BYTES: usize = 1024;

/// Whether setup may go ahead: no setup password is configured, or this browser proved it.
fn init_validated(state: &AppState, client: &Client, headers: &HeaderMap) -> bool {
    if state.engine.config().console.init_password.is_none() {
        return true;
    }
    session::cookie(headers, &session::cookie_name(INIT_COOKIE, client.https))
        .is_some_and(|token| state.console.passport.verify_init(token, now()))
}

/// Dify's `GET /init`: `finished` once setup is done or may go ahead.
pub async fn init_status(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let finished =
        state.engine.store().setup_at().await?.is_some() || init_validated(&state, &client, &headers);
    Ok(Json(
        json!({"status": if finished { "finished" } else { "not_started" }}),
    ))
}

#[derive(Debug, Deserialize)]
pub struct InitBody {
    password: String,
}

/// Counts an attempt from the client's address before a password is checked (atomically, so
/// concurrent guesses cannot pass the limit); 429 once the address has used up its failures
/// within the lockout window.
async fn reserve_client_attempt(state: &AppState, client_ip: Option<&str>) -> Result<(), ApiError> {
    let console = &state.engine.config().console;
    let window = i64::try_from(console.login_lockout_secs).unwrap_or(i64::MAX);
    if let Some(ip) = client_ip
        && !state
            .engine
            .store()
            .reserve_client_attempt(ip, console.login_ip_max_failures, window)
            .await?
    {
        return Err(ApiError::new(
            ErrorCode::TooManyRequests,
            "Too many failed attempts from this address. Please try again later.",
        ));
    }
    Ok(())
}

/// Dify's `POST /init`: checks the setup password (`RAGD_INIT_PASSWORD`) and, when it matches,
/// sets a short-lived cookie that lets this browser run the setup. Wrong guesses count against
/// the client address like failed sign-ins.
pub async fn init_validate(
    State(state): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<InitBody>,
) -> Result<Response, ApiError> {
    let store = state.engine.store();
    if store.setup_at().await?.is_some() {
        return Err(ApiError::new(
            ErrorCode::AlreadySetup,
            "ragd has been set up already. Please sign in.",
        ));
    }
    let console = &state.engine.config().console;
    let client_ip = client.ip.map(|ip| ip.to_string());
    if let Some(expected) = &console.init_password {
        reserve_client_attempt(&state, client_ip.as_deref()).await?;
        if body.password.len() > MAX_INIT_PASSWORD_BYTES
            || !crate::api::keys::same_secret(&body.password, &expected.0)
        {
            return Err(ApiError::new(
                ErrorCode::InitValidateFailed,
                "Init validation failed. Please check the password and try again.",
            ));
        }
        if let Some(ip) = &client_ip {
            store.release_client_attempt(ip).await?;
        }
    }
    let token = state.console.passport.issue_init(now(), INIT_TTL_SECS);
    let secure = if client.https { "; Secure" } else { "" };
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={INIT_TTL_SECS}{secure}",
        session::cookie_name(INIT_COOKIE, client.https)
    );
    let mut response = (StatusCode::CREATED, Json(json!({"result": "success"}))).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
    #[serde(default)]
    #[allow(dead_code)]
    remember_me: bool,
    #[serde(default)]
    #[allow(dead_code)]
    invite_token: Option<String>,
}

/// Signs in with e-mail and password. What a caller can make the server spend on it is bounded:
/// at most `login_hash_concurrency` passwords are checked at once (more are answered 429 at
/// once), each client address and each address have their own failure limits, and every
/// attempt is counted before its password is checked, atomically, so concurrent guesses cannot
/// slip past a limit.
pub async fn login(
    State(state): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    require_setup(&state).await?;
    let _slot = state.console.guard.hash_slot()?;
    let store = state.engine.store();
    let console = &state.engine.config().console;
    let window = i64::try_from(console.login_lockout_secs).unwrap_or(i64::MAX);
    let client_ip = client.ip.map(|ip| ip.to_string());
    reserve_client_attempt(&state, client_ip.as_deref()).await?;
    let account = store.account_by_email(&body.email).await?;
    let reserved = match &account {
        Some(account) => {
            store
                .reserve_login_attempt(&account.id, console.login_max_failures, window)
                .await?
        }
        None => state.console.guard.reserve_unknown(
            &crate::store::normalize_email(&body.email),
            console.login_max_failures,
            now(),
            window,
        ),
    };
    if !reserved {
        return Err(ApiError::new(
            ErrorCode::LoginLimit,
            "Too many incorrect password attempts. Please try again later.",
        ));
    }
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    if !verify_password(body.password, hash).await? {
        return Err(ApiError::new(
            ErrorCode::AuthenticationFailed,
            "Invalid email or password.",
        ));
    }
    let account = account.expect("a verified password belongs to an account");
    if let Some(ip) = &client_ip {
        store.release_client_attempt(ip).await?;
    }
    if account.status != ACCOUNT_ACTIVE {
        return Err(ApiError::new(ErrorCode::AccountBanned, "Account is not active."));
    }
    store.record_login(&account.id, client_ip.as_deref()).await?;
    signed_in(&state, &client, &account, None).await
}

/// The answer of a successful sign-in: tokens in the body (older Dify clients read them there)
/// and in cookies (the browser console uses those). `session` continues a session (a refresh);
/// None starts a new one.
async fn signed_in(
    state: &AppState,
    client: &Client,
    account: &Account,
    session: Option<String>,
) -> Result<Response, ApiError> {
    let console = &state.engine.config().console;
    let access_ttl = i64::try_from(console.access_token_minutes.saturating_mul(60)).unwrap_or(i64::MAX);
    let refresh_ttl = i64::try_from(console.refresh_token_days.saturating_mul(86_400)).unwrap_or(i64::MAX);
    let ts = now();
    let store = state.engine.store();
    let refresh_token = new_refresh_token();
    let expires_at = ts.saturating_add(refresh_ttl);
    let session_id = match session {
        Some(session_id) => {
            store
                .rotate_session(&account.id, &session_id, &refresh_token, expires_at)
                .await?;
            session_id
        }
        None => {
            store
                .create_session(&account.id, &refresh_token, expires_at)
                .await?
        }
    };
    let tokens = SessionTokens {
        access_token: state.console.passport.issue_access(
            &account.id,
            account.session_version,
            &session_id,
            ts,
            access_ttl,
        ),
        refresh_token,
        csrf_token: state.console.passport.issue_csrf(&account.id, ts, access_ttl),
    };
    let mut response = Json(json!({
        "result": "success",
        "data": {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "csrf_token": tokens.csrf_token,
        },
    }))
    .into_response();
    session::set_session_cookies(
        response.headers_mut(),
        &tokens,
        access_ttl,
        refresh_ttl,
        client.https,
    );
    Ok(response)
}

/// An optional JSON body: `None` when empty (browsers send cookies and no body).
fn optional_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| ApiError::invalid(format!("Invalid JSON body: {e}")))
}

/// Ends the session: the access token it was made for and its refresh tokens stop working, and
/// the cookies are cleared. The session is found from the access token (bearer or cookie, even
/// expired) or from a refresh token (cookie, or `refresh_token` in the body for clients that
/// keep only that). Works signed in or not, so a stale browser can always sign out.
pub async fn logout(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let from_body = optional_body::<RefreshBody>(&body)?.and_then(|b| b.refresh_token);
    let store = state.engine.store();
    let access = crate::api::auth::bearer_token(&headers)
        .or_else(|| session::cookie(&headers, &session::cookie_name(ACCESS_COOKIE, client.https)));
    if let Some(session_id) = access.and_then(|token| state.console.passport.session_of(token)) {
        store.end_session(&session_id).await?;
    }
    let refresh_cookie = session::cookie(&headers, &session::cookie_name(REFRESH_COOKIE, client.https));
    for token in [from_body.as_deref(), refresh_cookie].into_iter().flatten() {
        store.end_session_of_refresh_token(token).await?;
    }
    let mut response = Json(json!({"result": "success"})).into_response();
    session::clear_session_cookies(response.headers_mut(), client.https);
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
pub struct RefreshBody {
    #[serde(default)]
    refresh_token: Option<String>,
}

/// New tokens for a valid refresh token (from the cookie, or the body as older clients send
/// it), in the same session. Each refresh token works once.
pub async fn refresh(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let from_body = optional_body::<RefreshBody>(&body)?.and_then(|b| b.refresh_token);
    let token = from_body
        .as_deref()
        .or_else(|| session::cookie(&headers, &session::cookie_name(REFRESH_COOKIE, client.https)))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("No refresh token provided."))?;
    let store = state.engine.store();
    let invalid = || ApiError::unauthorized("The refresh token is invalid or has expired.");
    let (account_id, session_id) = store.take_refresh_token(token).await?.ok_or_else(invalid)?;
    let account = store
        .account(&account_id)
        .await?
        .filter(|a| a.status == ACCOUNT_ACTIVE)
        .ok_or_else(invalid)?;
    signed_in(&state, &client, &account, Some(session_id)).await
}

#[derive(Debug, Deserialize)]
pub struct ActivationQuery {
    token: String,
    #[serde(default)]
    workspace_id: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

pub async fn activation_check(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ActivationQuery>,
) -> Result<Json<Value>, ApiError> {
    let invitation = state.engine.store().invitation(&query.token).await?;
    let matches = |i: &crate::store::Invitation| {
        query.workspace_id.as_deref().is_none_or(|w| w == i.tenant_id)
            && query
                .email
                .as_deref()
                .is_none_or(|e| crate::store::normalize_email(e) == i.email)
    };
    Ok(Json(match invitation.filter(matches) {
        Some(i) => json!({
            "is_valid": true,
            "data": {"workspace_name": i.tenant_name, "workspace_id": i.tenant_id, "email": i.email},
        }),
        None => json!({"is_valid": false}),
    }))
}

#[derive(Debug, Deserialize)]
pub struct ActivateBody {
    token: String,
    name: String,
    password: String,
    #[serde(default)]
    interface_language: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
}

/// Activates an invited account and signs it in.
pub async fn activate(
    State(state): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<ActivateBody>,
) -> Result<Response, ApiError> {
    let store = state.engine.store();
    let invalid = || ApiError::invalid("The invitation link is invalid or has expired.");
    let invitation = store.invitation(&body.token).await?.ok_or_else(invalid)?;
    let name = check_name(&body.name)?;
    check_password(&body.password)?;
    let slot = state.console.guard.hash_slot()?;
    let hash = hash_password(body.password).await?;
    drop(slot);
    let language = body.interface_language.unwrap_or_else(|| "en-US".into());
    let timezone = body.timezone.unwrap_or_else(|| "UTC".into());
    if !store
        .activate_account(&invitation, &name, &hash, &language, &timezone)
        .await?
    {
        return Err(invalid());
    }
    let account = store.account(&invitation.account_id).await?.ok_or_else(invalid)?;
    signed_in(&state, &client, &account, None).await
}

/// What the console's pages may offer on this server (Dify's `system-features`, reduced to the
/// switches that mean something here).
pub async fn system_features(State(state): State<AppState>) -> Json<Value> {
    let console = &state.engine.config().console;
    Json(json!({
        "enable_email_password_login": true,
        "enable_email_code_login": false,
        "enable_social_oauth_login": false,
        "is_allow_register": false,
        "is_allow_create_workspace": console.allow_workspace_creation,
        "is_email_setup": false,
        "sso_enforced_for_signin": false,
        "license": {"status": "none"},
    }))
}

/// The workspace's feature switches (Dify's `features`): self-hosted, nothing billed.
pub async fn features(_user: super::ConsoleUser) -> Json<Value> {
    Json(json!({
        "billing": {"enabled": false, "subscription": {"plan": "sandbox", "interval": ""}},
        "members": {"size": 0, "limit": 0},
        "apps": {"size": 0, "limit": 0},
        "vector_space": {"size": 0, "limit": 0},
        "documents_upload_quota": {"size": 0, "limit": 0},
        "dataset_operator_enabled": true,
        "can_replace_logo": false,
        "model_load_balancing_enabled": false,
        "knowledge_rate_limit": 0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_letters_digits_and_length() {
        assert!(check_password("abcdefg1").is_ok());
        assert!(check_password("abcdefgh").is_err());
        assert!(check_password("12345678").is_err());
        assert!(check_password("abc1").is_err());
    }

    #[test]
    fn emails_are_checked_loosely_but_surely() {
        assert_eq!(check_email(" ada@example.com ").unwrap(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn password_hashes_verify_only_their_password() {
        let hash = hash_password("correct horse 1".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse 1".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse 1".into(), Some(hash)).await.unwrap());
        assert!(!verify_password("anything 1".into(), None).await.unwrap());
    }
}
