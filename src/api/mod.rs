//! HTTP APIs. Handlers parse and check input, call one engine or store function, and shape the
//! answer; no business logic and no SQL here.

pub(crate) mod app;
mod auth;
pub mod caller;
pub mod client;
pub mod console;
pub mod error;
pub mod external;
mod extract;
mod files;
pub mod keys;
mod knowledge;
pub mod metrics;
pub mod openapi;
pub mod sealing;
pub mod signing;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::engine::Engine;
pub use error::{ApiError, ErrorCode};

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// Makes and checks signed file links.
    pub files: Arc<signing::FileSigner>,
    pub metrics: Arc<metrics::Metrics>,
    /// Console session tokens and sealed secrets.
    pub console: Arc<console::ConsoleKeys>,
}

impl AppState {
    /// The state for an engine: keys derived from its secret key (generated into the data dir
    /// on first use; a configured one must be at least 32 bytes) and a fresh metrics registry.
    pub fn new(engine: Arc<Engine>) -> std::io::Result<Self> {
        let config = engine.config();
        let key = signing::secret_key(config)?;
        if config.secret_key.is_some() {
            keys::check_configured(&key).map_err(std::io::Error::other)?;
        }
        let file_key = keys::derive(&key, keys::Purpose::FileLinks).to_vec();
        let files = signing::FileSigner::with_key(file_key, config);
        let console = console::ConsoleKeys::new(&key, config).map_err(std::io::Error::other)?;
        Ok(Self {
            files: Arc::new(files),
            metrics: Arc::new(metrics::Metrics::new()),
            console: Arc::new(console),
            engine,
        })
    }
}

/// Room for the `data` field and the multipart framing around an upload of the largest size.
const MULTIPART_OVERHEAD_BYTES: u64 = 1024 * 1024;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// [`router`] with `extra` routes served under the same layers (error envelope, panic guard,
/// limits, metrics, tracing): for tests that need a route the product does not have.
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let config = state.engine.config();
    let body_limit = config
        .upload
        .max_file_bytes()
        .saturating_add(MULTIPART_OVERHEAD_BYTES);
    let timeout = Duration::from_secs(config.server.request_timeout_secs);
    // With a listener of their own, metrics are not on the API's (see `metrics_router`).
    let metrics_here = config.server.metrics_listen.is_none();
    let router = Router::new().route("/health", get(health));
    let router = if metrics_here {
        router.route("/metrics", get(metrics::scrape))
    } else {
        router
    };
    router
        .route("/files/{file_id}/file-preview", get(files::file_preview))
        .route("/v1", get(root))
        .route("/v1/", get(root))
        .route("/v1/openapi.json", get(openapi::document))
        .nest("/v1", knowledge::routes().merge(app::routes()))
        .nest("/console/api", console::routes())
        .nest("/external", external::routes())
        .merge(web::routes())
        .merge(extra)
        // Before the route layer, so 405 answers are counted under their route too.
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn(metrics::mark_route))
        // Browsers asking for a console page get the web app; everything else the JSON 404.
        .fallback(web::fallback)
        // Innermost, so the timeout, metrics and trace layers see the 500 like any other answer.
        .layer(middleware::from_fn(catch_panic))
        .layer(DefaultBodyLimit::max(
            usize::try_from(body_limit).unwrap_or(usize::MAX),
        ))
        .layer(middleware::from_fn_with_state(timeout, time_limit))
        .layer(middleware::from_fn(refuse_nul))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// `/metrics` alone, for `server.metrics_listen` (a port kept off the public network).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::scrape))
        .with_state(state)
}

/// The span of one request: its id (set or propagated by the request-id layers), method and
/// path. The query is left out, as signed links carry their signature there.
fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// Answers a request whose handler panicked with the 500 envelope, without the panic's text
/// (it may hold anything), which goes to the log under the request's span. The panic ends
/// that request only; the server goes on.
async fn catch_panic(request: Request, next: Next) -> Response {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(panic) => {
            let message = crate::engine::compute::panic_message(panic.as_ref());
            tracing::error!(panic = %message, "a request handler panicked");
            ApiError::of(ErrorCode::InternalServerError).into_response()
        }
    }
}

/// Answers 408 in the error envelope when a request takes longer than `limit`.
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::of(ErrorCode::RequestTimeout).into_response(),
    }
}

/// NUL characters mean nothing in a path or a query and PostgreSQL cannot store them in text, so
/// a URI carrying one (`%00`) is refused before routing: in the path as a URL that names nothing
/// (404), in the query as a bad parameter (400).
async fn refuse_nul(request: Request, next: Next) -> Response {
    let has_nul = |text: &str| text.as_bytes().windows(3).any(|w| w == b"%00");
    let uri = request.uri();
    if has_nul(uri.path()) {
        return ApiError::new(ErrorCode::NotFound, NOT_FOUND_MESSAGE).into_response();
    }
    if uri.query().is_some_and(has_nul) {
        return ApiError::invalid("Query parameters must not contain NUL characters (%00).").into_response();
    }
    next.run(request).await
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

/// The fallback's message, which tells an unrouted path from a missing resource.
pub const NOT_FOUND_MESSAGE: &str = "The requested URL was not found on the server.";

async fn method_not_allowed() -> ApiError {
    ApiError::of(ErrorCode::MethodNotAllowed)
}

/// Serves until ctrl-c or SIGTERM, then finishes in-flight requests.
pub async fn serve(engine: Arc<Engine>, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "ragd listening");
    eprintln!("ragd listening on http://{}", listener.local_addr()?);
    let state = AppState::new(engine)?;
    if let Some(address) = state.engine.config().server.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(address).await?;
        tracing::info!(address = %metrics.local_addr()?, "metrics listening");
        let app = metrics_router(state.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(metrics, app).await {
                tracing::error!(%error, "the metrics listener stopped");
            }
        });
    }
    // The peer address is what sign-in throttling counts (see `client`).
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
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
