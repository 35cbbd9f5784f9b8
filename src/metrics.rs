//! Process-wide counters that the engine updates and `ragd serve` exposes at `/metrics`.
//!
//! Embedding happens in the engine (workers inside `ragd serve`, the CLI), far from the HTTP
//! layer, so its counters live here, once per process; the HTTP layer registers them with its
//! registry. A `ragd worker` process keeps its own and does not expose them.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;

/// Embedding throughput.
#[derive(Debug, Default)]
pub struct EmbeddingMetrics {
    /// Texts (chunks) embedded.
    pub chunks: Counter,
    /// Tokens in those texts, as the model's tokenizer counts them.
    pub tokens: Counter,
    /// Wall-clock seconds spent in the model.
    pub seconds: Counter<f64, AtomicU64>,
}

impl EmbeddingMetrics {
    /// Records one model call.
    pub fn record(&self, chunks: usize, tokens: usize, elapsed: Duration) {
        self.chunks.inc_by(chunks as u64);
        self.tokens.inc_by(tokens as u64);
        self.seconds.inc_by(elapsed.as_secs_f64());
    }
}

/// This process's embedding counters.
pub fn embedding() -> &'static EmbeddingMetrics {
    static METRICS: OnceLock<EmbeddingMetrics> = OnceLock::new();
    METRICS.get_or_init(EmbeddingMetrics::default)
}
