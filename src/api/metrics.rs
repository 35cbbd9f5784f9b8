//! `GET /metrics` in Prometheus' text format: HTTP requests and latency by method, route template
//! and status; documents per indexing status and the job queue, read from SQL at scrape time; and
//! the process's embedding throughput (`crate::metrics`).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::{ApiError, AppState};

/// Request latency buckets, in seconds: from cached lookups to large uploads.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The route label of requests that matched no route (so unknown paths cannot add series).
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

type LatencyFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The registry and the series the server updates.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    documents: Family<StatusLabel, Gauge>,
    queue_waiting: Gauge,
    queue_processing: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ragd");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency: LatencyFamily =
            Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS.iter().copied()));
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to the response head), in seconds",
            latency.clone(),
        );
        let documents = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "documents",
            "Documents per indexing status, read from the database at scrape time",
            documents.clone(),
        );
        let queue_waiting = Gauge::default();
        registry.register(
            "indexing_queue_depth",
            "Indexing jobs waiting for a worker (including jobs whose worker's lease ran out)",
            queue_waiting.clone(),
        );
        let queue_processing = Gauge::default();
        registry.register(
            "indexing_jobs_processing",
            "Indexing jobs held by a live worker",
            queue_processing.clone(),
        );
        let embedding = crate::metrics::embedding();
        registry.register(
            "embedded_chunks",
            "Chunks embedded by this process",
            embedding.chunks.clone(),
        );
        registry.register(
            "embedded_tokens",
            "Tokens embedded by this process, as the model's tokenizer counts them",
            embedding.tokens.clone(),
        );
        registry.register(
            "embedding_seconds",
            "Seconds this process spent in the embedding model",
            embedding.seconds.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            documents,
            queue_waiting,
            queue_processing,
        }
    }

    fn observe(&self, method: &Method, route: String, status: u16, seconds: f64) {
        let labels = RequestLabels {
            method: method_label(method).to_string(),
            route,
            status: status.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// Reads the database counts into their gauges and renders every series.
    async fn render(&self, state: &AppState) -> Result<String, ApiError> {
        let store = state.engine.store();
        let statuses = store.document_status_counts().await?;
        let queue = store.queue_depth().await?;
        // Statuses no document has any more must not keep their last value.
        self.documents.clear();
        for (status, count) in statuses {
            self.documents.get_or_create(&StatusLabel { status }).set(count);
        }
        self.queue_waiting.set(queue.waiting);
        self.queue_processing.set(queue.processing);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            .map_err(ApiError::internal)?;
        Ok(text)
    }
}

/// Methods outside the standard set share one label value.
fn method_label(method: &Method) -> &str {
    match *method {
        Method::GET
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::HEAD
        | Method::OPTIONS => method.as_str(),
        _ => "OTHER",
    }
}

/// Where the route layer leaves the matched route template for the outer metrics layer.
#[derive(Clone, Default)]
struct RouteSlot(Arc<OnceLock<String>>);

/// Outer layer: times every request and counts it under its route template (or `unmatched`),
/// whatever answered it (a handler, a rejection, the timeout, the fallback).
pub async fn track(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = slot
        .0
        .get()
        .cloned()
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_string());
    state.metrics.observe(
        &method,
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Route layer: runs once a route matched and records its template in the request's slot.
pub async fn mark_route(request: Request, next: Next) -> Response {
    if let (Some(slot), Some(path)) = (
        request.extensions().get::<RouteSlot>(),
        request.extensions().get::<MatchedPath>(),
    ) {
        let _ = slot.0.set(path.as_str().to_string());
    }
    next.run(request).await
}

/// `GET /metrics`. With `server.metrics_token` set, only `Authorization: Bearer <token>` reads
/// it (compared in constant time).
pub async fn scrape(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(expected) = &state.engine.config().server.metrics_token {
        let given = super::auth::bearer_token(&headers);
        if !given.is_some_and(|given| super::keys::same_secret(given, &expected.0)) {
            return Err(ApiError::unauthorized("A valid metrics token is required."));
        }
    }
    let text = state.metrics.render(&state).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}
