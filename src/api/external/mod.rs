//! Dify's External Knowledge API served by ragd: a Dify workspace adds ragd as an external
//! knowledge base with the endpoint `http(s)://RAGD_HOST/external` and a ragd dataset API key, and
//! Dify's `ExternalDatasetService` then posts `{knowledge_id, query, retrieval_setting,
//! metadata_condition}` to `{endpoint}/retrieval`.
//!
//! Errors use the spec's own envelope, `{error_code, error_msg}`, not Dify's service API one:
//! 1001 (403) a missing or malformed `Authorization` header, 1002 (403) a key that fails, 2001
//! (404) an unknown knowledge id. The spec names no code for the rest; ragd answers 3001 (400)
//! for a body it cannot use and 5001 (with the failure's own status) when the retrieval fails.

mod retrieval;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use super::{ApiError, AppState, ErrorCode};

pub fn routes() -> Router<AppState> {
    Router::new().route("/retrieval", post(retrieval::retrieve))
}

/// An error answer of the External Knowledge API.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalError {
    pub status: StatusCode,
    pub code: u16,
    pub message: String,
}

impl ExternalError {
    pub const MALFORMED_AUTHORIZATION: u16 = 1001;
    pub const AUTHORIZATION_FAILED: u16 = 1002;
    pub const KNOWLEDGE_NOT_FOUND: u16 = 2001;
    pub const INVALID_REQUEST: u16 = 3001;
    pub const RETRIEVAL_FAILED: u16 = 5001;

    fn malformed_authorization() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: Self::MALFORMED_AUTHORIZATION,
            message: "Invalid Authorization header format. Expected 'Bearer <api-key>' format.".into(),
        }
    }

    fn authorization_failed(message: &str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: Self::AUTHORIZATION_FAILED,
            message: message.into(),
        }
    }

    fn knowledge_not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: Self::KNOWLEDGE_NOT_FOUND,
            message: "The knowledge does not exist.".into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: Self::INVALID_REQUEST,
            message: message.into(),
        }
    }
}

impl IntoResponse for ExternalError {
    fn into_response(self) -> Response {
        let body = json!({"error_code": self.code, "error_msg": self.message});
        (self.status, Json(body)).into_response()
    }
}

/// The retrieval path's errors in this API's envelope: a client's mistake stays a 400, a missing
/// dataset a 2001, and a failure keeps its status and its (already client-safe) message.
impl From<ApiError> for ExternalError {
    fn from(error: ApiError) -> Self {
        let status = error.code.status();
        if error.code == ErrorCode::NotFound {
            Self::knowledge_not_found()
        } else if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            Self {
                status,
                code: Self::RETRIEVAL_FAILED,
                message: error.message,
            }
        } else {
            Self::invalid(error.message)
        }
    }
}
