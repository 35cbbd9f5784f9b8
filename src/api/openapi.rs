//! The OpenAPI 3 descriptions of the HTTP surface, kept beside the routers: `openapi.json` for
//! the knowledge and app API (`GET /v1/openapi.json`) and `console/openapi.json` for the console
//! API (`GET /console/api/openapi.json`). Tests check each against the routes its router
//! registers, both ways; `scripts/api_fuzz.sh` fuzzes the server from them.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The knowledge and app API document, as committed.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// The console API document, as committed.
pub const CONSOLE_OPENAPI_JSON: &str = include_str!("console/openapi.json");

fn json_document(text: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        text,
    )
        .into_response()
}

pub async fn document() -> Response {
    json_document(OPENAPI_JSON)
}

pub async fn console_document() -> Response {
    json_document(CONSOLE_OPENAPI_JSON)
}
