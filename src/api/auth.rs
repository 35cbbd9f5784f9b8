//! `Authorization: Bearer <key>` for the service API (API.md §1).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::{ApiError, AppState, ErrorCode};
use crate::store::{ApiToken, App, TokenType};

/// A request authenticated with a dataset key; requests act in the key's workspace.
pub struct DatasetKey(pub ApiToken);

/// A request authenticated with an app key (`app-...`): the app it belongs to.
pub struct AppKey {
    pub app: App,
}

/// The token of an `Authorization: Bearer <token>` header (any case of the scheme), if the
/// request has one; for routes that answer a missing or malformed header in their own way.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(char::is_whitespace))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// The bearer token of a request, with Dify's messages for each way it can be wrong.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::unauthorized("Authorization header must be provided and start with 'Bearer'")
        })?;
    let (scheme, token) = header.trim().split_once(char::is_whitespace).ok_or_else(|| {
        ApiError::unauthorized("Authorization header must be provided and start with 'Bearer'")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized("Authorization scheme must be 'Bearer'"));
    }
    Ok(token.trim())
}

impl FromRequestParts<AppState> for DatasetKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let found = state
            .engine
            .store()
            .verify_api_token(token, TokenType::Dataset)
            .await?;
        found
            .map(DatasetKey)
            .ok_or_else(|| ApiError::unauthorized("Access token is invalid"))
    }
}

impl FromRequestParts<AppState> for AppKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let store = state.engine.store();
        let token = store
            .verify_api_token(token, TokenType::App)
            .await?
            .ok_or_else(|| ApiError::unauthorized("Access token is invalid"))?;
        // Dify's answers when the key outlived its app or the app's API is off.
        let app = match token.app_id.as_deref() {
            Some(app_id) => store.app(&token.tenant_id, app_id).await?,
            None => None,
        }
        .ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "The app no longer exists."))?;
        if !app.enable_api {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "The app's API service has been disabled.",
            ));
        }
        Ok(AppKey { app })
    }
}
