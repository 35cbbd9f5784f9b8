//! Who a console request acts as. The access token comes from `Authorization: Bearer` (API
//! clients) or from the `access_token` cookie (the browser). A cookie is sent by the browser on
//! its own, so cookie sessions must also prove they come from the console's pages: header
//! `X-CSRF-Token` must equal the `csrf_token` cookie, a token bound to the same user. Bearer
//! tokens are never sent implicitly, so they need no such proof.
//!
//! Every access token names a server-side session, checked on each request: signing out ends
//! it. Served over https, the cookies are `Secure` and named `__Host-...` (bound to this host,
//! unsettable over http or by a sibling domain); only those names are read then.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};

use crate::api::client::Client;
use crate::api::{ApiError, AppState, ErrorCode};
use crate::store::{ACCOUNT_ACTIVE, DatasetViewer, Role, now};

pub const ACCESS_COOKIE: &str = "access_token";
pub const REFRESH_COOKIE: &str = "refresh_token";
pub const CSRF_COOKIE: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in console user in their current workspace.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub account_id: String,
    /// The account's current workspace.
    pub tenant_id: String,
    /// The account's role there.
    pub role: Role,
    pub name: String,
    pub email: String,
    /// Datasets of the workspace whose partial member list names the account.
    pub granted: Vec<String>,
}

impl ConsoleUser {
    /// Owners, admins and editors.
    pub fn require_editor(&self) -> Result<(), ApiError> {
        require(self.role.is_editor())
    }

    /// Editors and dataset operators.
    pub fn require_dataset_editor(&self) -> Result<(), ApiError> {
        require(self.role.is_dataset_editor())
    }

    /// Owners and admins.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        require(self.role.is_admin_or_owner())
    }

    /// The workspace's owner only (Dify: changing roles and removing members).
    pub fn require_owner(&self) -> Result<(), ApiError> {
        require(self.role == Role::Owner)
    }

    /// Everyone but dataset operators.
    pub fn require_app_user(&self) -> Result<(), ApiError> {
        require(self.role.can_use_apps())
    }

    /// Who this account is when it names datasets to an app.
    pub fn dataset_viewer(&self) -> DatasetViewer {
        DatasetViewer {
            account_id: self.account_id.clone(),
            role: self.role,
            granted: self.granted.clone(),
        }
    }
}

fn require(allowed: bool) -> Result<(), ApiError> {
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "You do not have permission to perform this action.",
        ))
    }
}

/// The name a session cookie has: `__Host-` prefixed when served over https.
pub fn cookie_name(base: &str, https: bool) -> String {
    if https {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// Where the access token came from, which decides whether CSRF proof is needed.
enum Credential<'a> {
    Bearer(&'a str),
    Cookie(&'a str),
}

fn credential(headers: &HeaderMap, https: bool) -> Result<Credential<'_>, ApiError> {
    if let Some(header) = headers.get(AUTHORIZATION) {
        let header = header.to_str().unwrap_or("").trim();
        let Some((scheme, token)) = header.split_once(char::is_whitespace) else {
            return Err(ApiError::unauthorized(
                "Invalid Authorization header format. Expected 'Bearer <api-key>' format.",
            ));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::unauthorized("Authorization scheme must be 'Bearer'"));
        }
        return Ok(Credential::Bearer(token.trim()));
    }
    match cookie(headers, &cookie_name(ACCESS_COOKIE, https)) {
        Some(token) if !token.is_empty() => Ok(Credential::Cookie(token)),
        _ => Err(ApiError::unauthorized("Please sign in.")),
    }
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ts = now();
        let invalid =
            || ApiError::unauthorized("The session is invalid or has expired. Please sign in again.");
        let client = Client::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let credential = credential(&parts.headers, client.https)?;
        let token = match credential {
            Credential::Bearer(token) | Credential::Cookie(token) => token,
        };
        let claims = state
            .console
            .passport
            .verify_access(token, ts)
            .ok_or_else(invalid)?;
        if let Credential::Cookie(_) = credential {
            let header = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            let cookie = cookie(&parts.headers, &cookie_name(CSRF_COOKIE, client.https));
            let proven = matches!((header, cookie), (Some(h), Some(c)) if h == c
                && state.console.passport.verify_csrf(h, &claims.user_id, ts));
            if !proven {
                return Err(ApiError::unauthorized("CSRF token is missing or invalid."));
            }
        }
        let store = state.engine.store();
        let account = store.account(&claims.user_id).await?.ok_or_else(invalid)?;
        if account.status != ACCOUNT_ACTIVE {
            return Err(ApiError::new(ErrorCode::AccountBanned, "Account is not active."));
        }
        // Tokens issued before a password change no longer count, nor those of a session
        // that was signed out.
        if claims.sv != account.session_version || !store.session_is_live(&claims.sid, &account.id).await? {
            return Err(invalid());
        }
        let (tenant_id, role) =
            current_workspace(state, &account.id, account.current_tenant_id.as_deref()).await?;
        store.touch_account(&account).await?;
        let granted = store.granted_datasets(&tenant_id, &account.id).await?;
        Ok(ConsoleUser {
            granted,
            account_id: account.id,
            tenant_id,
            role,
            name: account.name,
            email: account.email,
        })
    }
}

/// The account's current workspace and role; when it has none (removed from it), the first
/// workspace it still belongs to becomes current.
async fn current_workspace(
    state: &AppState,
    account_id: &str,
    current: Option<&str>,
) -> Result<(String, Role), ApiError> {
    let store = state.engine.store();
    if let Some(current) = current
        && let Some(role) = store.member_role(current, account_id).await?
    {
        return Ok((current.to_string(), role));
    }
    let workspaces = store.workspaces_of(account_id).await?;
    let first = workspaces
        .first()
        .ok_or_else(|| ApiError::forbidden("The account no longer belongs to any workspace."))?;
    store.switch_workspace(account_id, &first.id).await?;
    Ok((first.id.clone(), first.role))
}

/// Sets the three session cookies on a response: the tokens httpOnly, the CSRF token readable
/// by the page's script (it must copy it into `X-CSRF-Token`); `Secure` and `__Host-` over https.
pub fn set_session_cookies(
    headers: &mut HeaderMap,
    tokens: &SessionTokens,
    access_ttl: i64,
    refresh_ttl: i64,
    https: bool,
) {
    let secure = if https { "; Secure" } else { "" };
    let cookies = [
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={access_ttl}{secure}",
            cookie_name(ACCESS_COOKIE, https),
            tokens.access_token
        ),
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={refresh_ttl}{secure}",
            cookie_name(REFRESH_COOKIE, https),
            tokens.refresh_token
        ),
        format!(
            "{}={}; Path=/; SameSite=Lax; Max-Age={access_ttl}{secure}",
            cookie_name(CSRF_COOKIE, https),
            tokens.csrf_token
        ),
    ];
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
}

/// Expires the session cookies.
pub fn clear_session_cookies(headers: &mut HeaderMap, https: bool) {
    let secure = if https { "; Secure" } else { "" };
    for name in [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE] {
        let name = cookie_name(name, https);
        if let Ok(value) = HeaderValue::from_str(&format!("{name}=; Path=/; Max-Age=0{secure}")) {
            headers.append(SET_COOKIE, value);
        }
    }
}

/// A fresh set of tokens for one account.
#[derive(Debug, Clone)]
pub struct SessionTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub csrf_token: String,
}
