//! `ragd bench`: ingest and query benchmarks that print numbers (see src/bench).
//!
//! `ragd bench ingest` loads a corpus into a fresh data dir and reports documents/s, chunks/s,
//! tokens/s, time per stage, peak RSS, then runs the model alone on the same chunks and prints
//! the ratio of end-to-end to raw throughput. `ragd bench query` measures hybrid-search latency
//! and QPS under concurrent clients, optionally while the dataset is being reindexed.

use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use indexes::{Fusion, SearchMethod};
use serde_json::json;

use tokio_util::sync::CancellationToken;

use crate::bench::{self, QueryLoad};
use crate::config::Config;
use crate::engine::{IngestOptions, ReindexOptions, SearchOptions, find_dataset};
use crate::store::DEFAULT_TENANT;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Ingest a corpus into a fresh data dir and report throughput, stages, memory and the
    /// ratio to the raw model speed on the same chunks.
    Ingest(IngestBenchArgs),
    /// Query latency p50/p95/p99 and QPS with concurrent clients on an ingested dataset.
    Query(QueryBenchArgs),
}

#[derive(Debug, Args)]
pub struct IngestBenchArgs {
    /// Files, folders or JSONL corpora.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Economy mode: BM25 only, nothing embedded.
    #[arg(long)]
    economy: bool,
    /// Ingest each JSONL corpus this many times, with new ids (memory must stay flat).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Pipeline template (default from config).
    #[arg(long)]
    template: Option<String>,
    /// Skip the raw model run.
    #[arg(long)]
    no_raw: bool,
    /// Keep the data dir (default: the configured data dir is not touched; a temporary one is
    /// used and removed).
    #[arg(long)]
    keep: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct QueryBenchArgs {
    /// Dataset (id or name) in the configured data dir.
    #[arg(long)]
    dataset: String,
    /// Queries: a BEIR queries.jsonl (`text` field) or a text file with one query per line.
    #[arg(long)]
    queries: PathBuf,
    /// Concurrent client counts to measure, in turn.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    clients: Vec<usize>,
    /// Seconds per load level.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    #[arg(long, value_enum, default_value = "hybrid")]
    method: MethodArg,
    #[arg(long, default_value_t = 10)]
    top_k: usize,
    /// Also rebuild the dataset (`ragd reindex`) while the first client count queries it, and
    /// report failures and latency during the rebuild next to the idle figures.
    #[arg(long)]
    during_reindex: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MethodArg {
    Semantic,
    FullText,
    Hybrid,
}

impl BenchCommand {
    pub async fn execute(self, config: Config) -> anyhow::Result<()> {
        match self {
            BenchCommand::Ingest(args) => args.execute(config).await,
            BenchCommand::Query(args) => args.execute(config).await,
        }
    }
}

impl IngestBenchArgs {
    async fn execute(self, mut config: Config) -> anyhow::Result<()> {
        let scratch = std::env::temp_dir().join(format!("ragd-bench-{}", std::process::id()));
        std::fs::create_dir_all(&scratch)?;
        config.data_dir = scratch.join("data");
        config.database_url = None;
        let paths = repeated_inputs(&self.paths, self.repeat, &scratch)?;
        let progress = std::io::stderr().is_terminal();
        let engine = super::open_engine(config, progress).await?;
        // Load the model before the clock starts: loading is not ingest throughput.
        let embedder = engine.embedder().await?;
        let rss_before = bench::peak_rss_bytes();
        let report = engine
            .ingest(IngestOptions {
                tenant_id: DEFAULT_TENANT.into(),
                dataset: "bench".into(),
                paths,
                template: self.template.clone(),
                economy: self.economy,
                doc_language: None,
                embedding_model: None,
                progress,
            })
            .await?;
        let peak_rss = bench::peak_rss_bytes();
        let raw = if self.no_raw || self.economy {
            None
        } else {
            let dataset = engine.dataset_by_name(DEFAULT_TENANT, "bench").await?;
            let texts = bench::embedded_texts(&engine, &dataset).await?;
            let model = embedder.clone();
            Some(tokio::task::spawn_blocking(move || bench::raw_throughput(&model, &texts)).await??)
        };
        if !self.keep {
            let _ = std::fs::remove_dir_all(&scratch);
        } else {
            eprintln!("data kept in {}", scratch.display());
        }

        let e2e_texts_per_second = report.embedded as f64 / report.elapsed.as_secs_f64().max(1e-9);
        let ratio = raw.as_ref().map(|r| e2e_texts_per_second / r.texts_per_second());
        let mib = |b: Option<u64>| b.map(|b| b as f64 / (1024.0 * 1024.0));
        let out = json!({
            "mode": if self.economy { "economy" } else { "high_quality" },
            "model": embedder.model_id(),
            "repeat": self.repeat,
            "documents": report.documents,
            "failed": report.failed.len(),
            "chunks": report.chunks,
            "embedded_texts": report.embedded,
            "tokens": report.tokens,
            "seconds": report.elapsed.as_secs_f64(),
            "documents_per_second": report.documents_per_second(),
            "chunks_per_second": report.chunks_per_second(),
            "tokens_per_second": report.tokens_per_second(),
            "stages": {
                "prepare_cpu_seconds": report.stages.prepare.as_secs_f64(),
                "embed_seconds": report.stages.embed.as_secs_f64(),
                "embed_model_seconds": report.stages.embed_model.as_secs_f64(),
                "embed_tokenize_seconds": report.stages.embed_tokenize.as_secs_f64(),
                "write_seconds": report.stages.write.as_secs_f64(),
            },
            "peak_rss_mib": mib(peak_rss),
            "rss_after_model_load_mib": mib(rss_before),
            "raw": raw.as_ref().map(|r| json!({
                "texts": r.texts,
                "tokens": r.tokens,
                "model_seconds": r.model_seconds,
                "tokenize_seconds_not_counted": r.tokenize_seconds,
                "texts_per_second": r.texts_per_second(),
                "padding_share_unsorted": r.padding_unsorted,
                "padding_share_sorted": r.padding_sorted,
                "positions": r.positions,
            })),
            "positions": report.positions,
            "end_to_end_texts_per_second": e2e_texts_per_second,
            "end_to_end_over_raw": ratio,
        });
        if self.json {
            println!("{out}");
            return Ok(());
        }
        println!("mode               {}", out["mode"].as_str().unwrap_or_default());
        println!("model              {}", embedder.model_id());
        println!(
            "documents          {} ({} failed), {} chunks, {} tokens",
            report.documents,
            report.failed.len(),
            report.chunks,
            report.tokens
        );
        println!("seconds            {:.1}", report.elapsed.as_secs_f64());
        println!(
            "throughput         {:.1} documents/s, {:.1} chunks/s, {:.0} tokens/s",
            report.documents_per_second(),
            report.chunks_per_second(),
            report.tokens_per_second()
        );
        println!(
            "stages             prepare {:.1} s thread time (rayon), embed {:.1} s (model {:.1} s, tokenize {:.1} s), write {:.1} s (overlapping)",
            report.stages.prepare.as_secs_f64(),
            report.stages.embed.as_secs_f64(),
            report.stages.embed_model.as_secs_f64(),
            report.stages.embed_tokenize.as_secs_f64(),
            report.stages.write.as_secs_f64()
        );
        if let Some(peak) = mib(peak_rss) {
            println!(
                "peak RSS           {peak:.0} MiB (after loading the model: {:.0} MiB)",
                mib(rss_before).unwrap_or(0.0)
            );
        }
        if let (Some(raw), Some(ratio)) = (&raw, ratio) {
            println!(
                "raw model          {:.1} texts/s on the same {} texts ({:.1} s in the model; its {:.1} s of tokenization not counted)",
                raw.texts_per_second(),
                raw.texts,
                raw.model_seconds,
                raw.tokenize_seconds
            );
            println!(
                "padding            {:.1}% of positions in corpus order, {:.1}% sorted by tokens",
                raw.padding_unsorted * 100.0,
                raw.padding_sorted * 100.0
            );
            println!(
                "model positions    {} end to end, {} raw (padding and special tokens included)",
                report.positions, raw.positions
            );
            println!("end to end / raw   {ratio:.3} ({e2e_texts_per_second:.1} texts/s end to end)");
        }
        Ok(())
    }
}

/// The inputs with each JSONL corpus written `repeat` times under new ids into `scratch`.
fn repeated_inputs(paths: &[PathBuf], repeat: usize, scratch: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if repeat <= 1 {
        return Ok(paths.to_vec());
    }
    let mut out = Vec::new();
    for (n, path) in paths.iter().enumerate() {
        anyhow::ensure!(
            path.extension().is_some_and(|e| e == "jsonl"),
            "--repeat works on JSONL corpora only; {} is not one",
            path.display()
        );
        let target = scratch.join(format!("corpus-{n}-x{repeat}.jsonl"));
        let mut writer = BufWriter::new(std::fs::File::create(&target)?);
        for copy in 0..repeat {
            let reader = std::io::BufReader::new(
                std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
            );
            for line in reader.lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let mut doc: serde_json::Value = serde_json::from_str(&line)
                    .with_context(|| format!("{} holds a line that is not JSON", path.display()))?;
                if let Some(id) = doc.get("_id").and_then(|v| v.as_str()).map(str::to_owned) {
                    doc["_id"] = json!(format!("{id}-copy{copy}"));
                }
                serde_json::to_writer(&mut writer, &doc)?;
                writer.write_all(b"\n")?;
            }
        }
        writer.flush()?;
        out.push(target);
    }
    Ok(out)
}

impl QueryBenchArgs {
    async fn execute(self, config: Config) -> anyhow::Result<()> {
        let engine = Arc::new(super::open_engine(config, false).await?);
        let dataset = find_dataset(&engine, DEFAULT_TENANT, &self.dataset).await?;
        let queries = Arc::new(read_queries(&self.queries)?);
        anyhow::ensure!(!queries.is_empty(), "{} holds no queries", self.queries.display());
        let options = SearchOptions {
            tenant_id: DEFAULT_TENANT.into(),
            dataset: dataset.name.clone(),
            query: String::new(),
            method: match self.method {
                MethodArg::Semantic => SearchMethod::Semantic,
                MethodArg::FullText => SearchMethod::FullText,
                MethodArg::Hybrid => SearchMethod::Hybrid,
            },
            top_k: self.top_k,
            score_threshold: None,
            fusion: Fusion::default(),
            document_ids: None,
            metadata_filter: None,
            rerank: None,
        };
        // Warm up: the model, the index readers, the page cache.
        engine.embedder().await?;
        for query in queries.iter().take(20) {
            let mut warm = options.clone();
            warm.query = query.clone();
            engine.search_dataset(&dataset, &warm).await?;
        }
        let duration = Duration::from_secs(self.seconds.max(1));
        let mut levels: Vec<(String, QueryLoad)> = Vec::new();
        for &clients in &self.clients {
            let stop = CancellationToken::new();
            let timer = {
                let stop = stop.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(duration).await;
                    stop.cancel();
                })
            };
            let load = bench::query_load(
                engine.clone(),
                dataset.clone(),
                options.clone(),
                queries.clone(),
                clients,
                stop,
            )
            .await;
            timer.abort();
            levels.push(("idle".into(), load));
        }
        if self.during_reindex {
            let clients = self.clients.first().copied().unwrap_or(4);
            let rebuild = {
                let (engine, dataset) = (engine.clone(), dataset.clone());
                tokio::spawn(async move {
                    let options = ReindexOptions::default();
                    engine.reindex(&dataset, &options).await
                })
            };
            // The clients query exactly as long as the rebuild runs.
            let stop = CancellationToken::new();
            let load = {
                let stop = stop.clone();
                tokio::spawn(bench::query_load(
                    engine.clone(),
                    dataset.clone(),
                    options.clone(),
                    queries.clone(),
                    clients,
                    stop,
                ))
            };
            let rebuilt = rebuild.await;
            stop.cancel();
            let during = load.await?;
            let report = rebuilt??;
            levels.push((
                format!(
                    "during reindex ({:.0} s, {} rows)",
                    report.elapsed.as_secs_f64(),
                    report.rows
                ),
                during,
            ));
        }
        if self.json {
            let rows: Vec<_> = levels
                .iter()
                .map(|(phase, l)| {
                    json!({"phase": phase, "clients": l.clients, "queries": l.queries, "failed": l.failed,
                           "qps": l.qps(), "p50_ms": l.p50_ms, "p95_ms": l.p95_ms, "p99_ms": l.p99_ms})
                })
                .collect();
            println!("{}", json!({"dataset": dataset.name, "levels": rows}));
            return Ok(());
        }
        println!(
            "{:<34} {:>7} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8}",
            "phase", "clients", "queries", "failed", "QPS", "p50 ms", "p95 ms", "p99 ms"
        );
        for (phase, l) in &levels {
            println!(
                "{:<34} {:>7} {:>8} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
                phase,
                l.clients,
                l.queries,
                l.failed,
                l.qps(),
                l.p50_ms,
                l.p95_ms,
                l.p99_ms
            );
        }
        Ok(())
    }
}

/// Queries from a BEIR queries.jsonl (`text`) or a plain file (one per line).
fn read_queries(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let jsonl = path.extension().is_some_and(|e| e == "jsonl");
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            if jsonl {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_owned))
            } else {
                Some(line.trim().to_string())
            }
        })
        .map(|q| q.chars().take(crate::engine::MAX_QUERY_CHARS).collect())
        .collect())
}
