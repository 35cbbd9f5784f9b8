//! `GET /v1/openapi.json`: the OpenAPI 3 description of every route, kept in `openapi.json`
//! beside this file. A test checks it against the routes the router registers, both ways.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The document, as committed.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

pub async fn document() -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        OPENAPI_JSON,
    )
        .into_response()
}
