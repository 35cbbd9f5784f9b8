//! Criterion benches of each ingest and query stage on in-repo fixtures: parse, clean + chunk,
//! tokenize, embed (the real model; fetched on first use like in the tests), fusion, and BM25 /
//! vector / hybrid search on a dataset index. `cargo bench --bench stages`; end-to-end figures
//! come from `ragd bench` (see README).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use indexes::{DatasetIndex, Filter, Fusion, IndexRow, SearchMethod, SearchRequest};
use pipelines::chunk::{Chunker, ProcessRule};
use pipelines::{Embedder, Format, ParseLimits, ParsedDocument, TokenCounter};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn limits() -> ParseLimits {
    ragd::config::Config::default().ingest.parse_limits()
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, path, format) in [
        ("pdf", "datasets/demo/honeybees.pdf", Format::Pdf),
        ("html", "datasets/demo/sourdough-bread.html", Format::Html),
        ("markdown", "datasets/demo/volcanoes.md", Format::Markdown),
        ("docx", "pipelines/tests/fixtures/sample.docx", Format::Docx),
        ("xlsx", "pipelines/tests/fixtures/sample.xlsx", Format::Xlsx),
    ] {
        let bytes = std::fs::read(repo(path)).expect("fixture");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || bytes.clone(),
                |bytes| pipelines::parse::parse_guarded(bytes, format, &limits()).expect("parses"),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// A few thousand words of real prose from the demo corpus.
fn prose() -> String {
    let mut text = String::new();
    for file in ["solar-system.md", "volcanoes.md", "tea.txt", "account-help.txt"] {
        text.push_str(&std::fs::read_to_string(repo(&format!("datasets/demo/{file}"))).expect("demo"));
        text.push_str("\n\n");
    }
    text.repeat(4)
}

fn counter() -> TokenCounter {
    TokenCounter::from_file(&repo("pipelines/tests/fixtures/tokenizer.json")).expect("tokenizer")
}

fn chunk(c: &mut Criterion) {
    let text = prose();
    let doc = ParsedDocument::from_text(text.clone());
    let rule = ProcessRule::from_json(&serde_json::json!({"mode": "automatic"})).expect("rule");
    let chunker = Chunker::new(&rule, counter(), 254).expect("chunker");
    let mut group = c.benchmark_group("chunk");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("clean_and_chunk_automatic", |b| {
        b.iter(|| chunker.chunk(black_box(&doc)))
    });
    group.finish();

    let chunks: Vec<String> = chunker.chunk(&doc).into_iter().map(|c| c.text).collect();
    let counter = counter();
    let mut group = c.benchmark_group("tokenize");
    group.throughput(Throughput::Elements(chunks.len() as u64));
    group.bench_function("count_chunk_tokens", |b| {
        b.iter(|| chunks.iter().map(|t| counter.count(t)).sum::<usize>())
    });
    group.finish();
}

fn embed(c: &mut Criterion) {
    let config = ragd::config::Config::load(None).expect("config");
    let embedder = match ragd::models::load_embedder(&config.models, &config.embedding, false) {
        Ok(embedder) => embedder,
        Err(e) => {
            eprintln!("skipping the embed bench: the model is not available ({e})");
            return;
        }
    };
    let text = prose();
    let rule = ProcessRule::from_json(&serde_json::json!({"mode": "automatic"})).expect("rule");
    let chunker = Chunker::new(&rule, embedder.token_counter(), embedder.max_tokens()).expect("chunker");
    let chunks: Vec<String> = chunker
        .chunk(&ParsedDocument::from_text(text))
        .into_iter()
        .map(|c| c.text)
        .take(64)
        .collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    let mut group = c.benchmark_group("embed");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(refs.len() as u64));
    group.bench_function(format!("{}_chunks_{}", refs.len(), embedder.model_id()), |b| {
        b.iter(|| embedder.embed_documents(black_box(&refs)).expect("embeds"))
    });
    group.finish();
}

fn fusion(c: &mut Criterion) {
    let list = |offset: usize| -> Vec<(String, f32)> {
        (0..100)
            .map(|i| (format!("seg{}", (i * 7 + offset) % 150), 1.0 - i as f32 / 100.0))
            .collect()
    };
    let (vector, keyword) = (list(0), list(3));
    let mut group = c.benchmark_group("fusion");
    group.bench_function("weighted_100x100", |b| {
        b.iter(|| indexes::fusion::fuse_weighted(black_box(&vector), black_box(&keyword), 0.7, 0.3))
    });
    group.bench_function("rrf_100x100", |b| {
        b.iter(|| indexes::fusion::fuse_rrf(&[black_box(&vector), black_box(&keyword)], 60.0))
    });
    group.finish();
}

/// A dataset index with `rows` rows of demo sentences and deterministic unit vectors.
async fn demo_index(dir: &Path, rows: usize) -> DatasetIndex {
    let index = DatasetIndex::open(dir, Some(64)).await.expect("index");
    let words: Vec<String> = prose().split_whitespace().map(str::to_owned).collect();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let batch: Vec<IndexRow> = (0..rows)
        .map(|i| {
            let start = (i * 13) % (words.len() - 40);
            let mut vector: Vec<f32> = (0..64).map(|_| next()).collect();
            pipelines::embed::normalize(&mut vector);
            IndexRow {
                id: format!("row{i}"),
                segment_id: format!("row{i}"),
                document_id: format!("doc{}", i % 100),
                text: words[start..start + 40].join(" "),
                keywords: Vec::new(),
                vector: Some(vector),
                enabled: true,
            }
        })
        .collect();
    index.upsert(batch).await.expect("upsert");
    index.optimize().await.expect("optimize");
    index
}

fn search(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let index = runtime.block_on(demo_index(dir.path(), 5000));
    let mut query_vector = vec![0.1f32; 64];
    pipelines::embed::normalize(&mut query_vector);
    let mut group = c.benchmark_group("search_5000_rows");
    for (name, method) in [
        ("full_text", SearchMethod::FullText),
        ("semantic", SearchMethod::Semantic),
        ("hybrid", SearchMethod::Hybrid),
    ] {
        let request = SearchRequest {
            query: "volcanic eruptions and the planets of the solar system".into(),
            method,
            top_k: 10,
            score_threshold: None,
            fusion: Fusion::default(),
            filter: Filter::default(),
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime
                    .block_on(index.search(black_box(&request), Some(&query_vector)))
                    .expect("search")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse, chunk, embed, fusion, search);
criterion_main!(benches);
