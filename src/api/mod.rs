//! HTTP APIs. Handlers parse and check input, call one engine or store function, and shape the
//! answer; no business logic and no SQL here.

mod auth;
pub mod error;
mod extract;
mod knowledge;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, extract::DefaultBodyLimit};
use serde_json::json;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::engine::Engine;
pub use error::{ApiError, ErrorCode};

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
}

/// Largest request body accepted (uploads included).
pub const MAX_BODY_BYTES: usize = 20 * 1024 * 1024;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/", get(root))
        .nest("/v1", knowledge::routes().route("/", get(root)))
        .fallback(not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(120),
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn root() -> Json<serde_json::Value> {
    Json(json!({
        "welcome": "Dify OpenAPI",
        "api_version": "v1",
        "server_version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn not_found() -> ApiError {
    ApiError::not_found("The requested URL was not found on the server.")
}

/// Serves until ctrl-c or SIGTERM, then finishes in-flight requests.
pub async fn serve(engine: Arc<Engine>, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "ragd listening");
    eprintln!("ragd listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router(AppState { engine }))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
