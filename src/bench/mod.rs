//! Measurements behind `ragd bench`: the raw speed of the embedding model on a dataset's chunks,
//! query latency under concurrent clients, peak memory. Numbers are printed, never asserted:
//! these machines are noisy, so targets are read as ratios taken in one run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pipelines::Embedder;
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, EngineError, SearchOptions};
use crate::store::Dataset;

/// Texts per model call, as the ingest loop sends them.
const CALL_TEXTS: usize = 256;

/// Peak resident memory of this process so far (Linux `VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let kib = line.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim();
        kib.parse::<u64>().ok().map(|k| k * 1024)
    })
}

/// The model alone on a set of texts.
#[derive(Debug, Clone)]
pub struct RawThroughput {
    pub texts: usize,
    pub tokens: usize,
    /// Seconds of model calls, tokenization excluded.
    pub model_seconds: f64,
    /// Token positions the model computed, padding included.
    pub positions: usize,
    /// Seconds the embedder's tokenizer took on the same texts (not part of the model's time).
    pub tokenize_seconds: f64,
    /// Share of padded positions when batches are cut in the order given (unsorted).
    pub padding_unsorted: f64,
    /// The same with texts sorted by token count, as ragd batches them.
    pub padding_sorted: f64,
}

impl RawThroughput {
    pub fn texts_per_second(&self) -> f64 {
        self.texts as f64 / self.model_seconds.max(1e-9)
    }
}

/// Every indexed segment text of a dataset (child chunks instead in parent-child datasets):
/// what the model embedded.
pub async fn embedded_texts(engine: &Engine, dataset: &Dataset) -> Result<Vec<String>, EngineError> {
    let mut texts = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = engine
            .store()
            .segment_sources_after(&dataset.id, &cursor, 1000)
            .await?;
        let Some(last) = page.last() else { break };
        cursor = last.id.clone();
        for source in page {
            if source.children.is_empty() {
                texts.push(source.content);
            } else {
                texts.extend(source.children.into_iter().map(|(_, text)| text));
            }
        }
    }
    Ok(texts)
}

/// Runs `texts` through the model in a tight loop, sorted by token count and in calls of the
/// ingest loop's size. The embedder times its tokenizer and its model apart, so the model's own
/// time is measured, not estimated.
pub fn raw_throughput(embedder: &Arc<dyn Embedder>, texts: &[String]) -> Result<RawThroughput, EngineError> {
    let counter = embedder.token_counter();
    let window = embedder.max_tokens().max(1);
    let tokens: Vec<usize> = texts.iter().map(|t| counter.count(t)).collect();
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| tokens[i]);
    let sorted: Vec<&str> = order.iter().map(|&i| texts[i].as_str()).collect();
    let (mut model, mut tokenize, mut positions) = (Duration::ZERO, Duration::ZERO, 0);
    for call in sorted.chunks(CALL_TEXTS) {
        let cost = embedder.embed_batch(call)?.cost;
        model += cost.model;
        tokenize += cost.tokenize;
        positions += cost.positions;
    }
    let fitted: Vec<usize> = tokens.iter().map(|&t| t.min(window) + 2).collect();
    let sorted_tokens: Vec<usize> = order.iter().map(|&i| fitted[i]).collect();
    Ok(RawThroughput {
        texts: texts.len(),
        tokens: tokens.iter().sum(),
        model_seconds: model.as_secs_f64(),
        positions,
        tokenize_seconds: tokenize.as_secs_f64(),
        padding_unsorted: padding_share(&fitted, 64),
        padding_sorted: padding_share(&sorted_tokens, 64),
    })
}

/// Share of positions that are padding when `lengths` are cut into batches of `batch` in
/// order and each batch is padded to its longest text.
pub fn padding_share(lengths: &[usize], batch: usize) -> f64 {
    let (mut padded, mut real) = (0usize, 0usize);
    for group in lengths.chunks(batch.max(1)) {
        let longest = group.iter().copied().max().unwrap_or(0);
        padded += longest * group.len();
        real += group.iter().sum::<usize>();
    }
    if padded == 0 {
        0.0
    } else {
        1.0 - real as f64 / padded as f64
    }
}

/// Latency figures of one load level.
#[derive(Debug, Clone)]
pub struct QueryLoad {
    pub clients: usize,
    pub queries: usize,
    pub failed: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl QueryLoad {
    pub fn qps(&self) -> f64 {
        self.queries as f64 / self.seconds.max(1e-9)
    }
}

/// `clients` concurrent loops each running `options` with the next query until `stop` is
/// cancelled.
pub async fn query_load(
    engine: Arc<Engine>,
    dataset: Dataset,
    options: SearchOptions,
    queries: Arc<Vec<String>>,
    clients: usize,
    stop: CancellationToken,
) -> QueryLoad {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients.max(1) {
        let (engine, dataset, queries) = (engine.clone(), dataset.clone(), queries.clone());
        let mut options = options.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut failed) = (Vec::new(), 0usize);
            let mut next = client;
            while !stop.is_cancelled() && !queries.is_empty() {
                options.query = queries[next % queries.len()].clone();
                next += clients;
                let asked = Instant::now();
                match engine.search_dataset(&dataset, &options).await {
                    Ok(_) => latencies.push(asked.elapsed()),
                    Err(e) => {
                        tracing::warn!(error = %e, "benchmark query failed");
                        failed += 1;
                    }
                }
            }
            (latencies, failed)
        }));
    }
    let (mut latencies, mut failed) = (Vec::new(), 0);
    for task in tasks {
        if let Ok((l, f)) = task.await {
            latencies.extend(l);
            failed += f;
        } else {
            failed += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    QueryLoad {
        clients,
        queries: latencies.len(),
        failed,
        seconds,
        p50_ms: percentile_ms(&latencies, 0.50),
        p95_ms: percentile_ms(&latencies, 0.95),
        p99_ms: percentile_ms(&latencies, 0.99),
    }
}

/// The `q` quantile (nearest rank) of sorted latencies, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_share_counts_padded_positions() {
        // One batch of [2, 4]: padded to 4 + 4 = 8 positions, 6 real.
        assert!((padding_share(&[2, 4], 64) - 0.25).abs() < 1e-9);
        // Sorted batches of 2 waste nothing when lengths pair up.
        assert_eq!(padding_share(&[2, 2, 4, 4], 2), 0.0);
        // Interleaved, the same lengths waste a third.
        assert!((padding_share(&[2, 4, 2, 4], 2) - 0.25).abs() < 1e-9);
        assert_eq!(padding_share(&[], 64), 0.0);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&ms, 0.50), 50.0);
        assert_eq!(percentile_ms(&ms, 0.99), 99.0);
        assert_eq!(percentile_ms(&ms[..1], 0.95), 1.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().is_some_and(|b| b > 1024 * 1024));
        }
    }
}
