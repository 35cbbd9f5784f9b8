//! Extractors whose rejections speak the error envelope instead of axum's plain text.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{ApiError, ErrorCode};

/// A JSON body; malformed or mistyped bodies are 400 `invalid_param` naming the problem, and so
/// are strings holding a NUL character, which PostgreSQL cannot store in text.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let too_large = || ApiError::of(ErrorCode::PayloadTooLarge);
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                _ => ApiError::invalid(rejection.body_text()),
            })?;
        if json_has_nul(&bytes) {
            return Err(ApiError::invalid(
                "JSON strings must not contain NUL characters (\\u0000).",
            ));
        }
        match axum::Json::<T>::from_request(Request::from_parts(parts, Body::from(bytes)), state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
            Err(rejection) => Err(ApiError::invalid(rejection.body_text())),
        }
    }
}

/// Whether JSON text holds an escaped NUL (`\u0000` after an odd run of backslashes; a raw NUL
/// byte is not valid JSON at all).
fn json_has_nul(bytes: &[u8]) -> bool {
    bytes.windows(5).enumerate().any(|(at, window)| {
        window == b"u0000" && bytes[..at].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1
    })
}

/// A multipart form. A request that is not one (no content type, another type, no boundary) is
/// 400 `no_file_uploaded` in the envelope, as Dify answers a form without its file; axum's own
/// rejection would be plain text.
pub struct ApiMultipart(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Multipart::from_request(req, state)
            .await
            .map(ApiMultipart)
            .map_err(|_| ApiError::of(ErrorCode::NoFileUploaded))
    }
}

/// Query-string parameters; bad values are 400 `invalid_param`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::invalid(rejection.body_text())),
        }
    }
}

/// Checks that a path id is a UUID; anything else cannot name a resource, so it is a 404.
pub fn uuid_path(id: &str, what: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found(format!("{what} not found.")))
}

#[cfg(test)]
mod tests {
    use super::json_has_nul;

    #[test]
    fn escaped_nul_characters_are_found_and_escaped_backslashes_are_not() {
        assert!(json_has_nul(br#"{"a": "x\u0000y"}"#));
        assert!(json_has_nul(br#"{"\u0000": 1}"#));
        assert!(json_has_nul(br#"["\\\u0000"]"#));
        assert!(!json_has_nul(br#"{"a": "x\\u0000y"}"#));
        assert!(!json_has_nul(br#"{"a": "u0000", "b": "\u0001"}"#));
    }
}
