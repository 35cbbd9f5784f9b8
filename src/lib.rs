//! ragd: a self-hosted knowledge-base service that speaks Dify's HTTP API.
//!
//! `cli` parses commands and calls the `engine`, which owns datasets, ingestion and retrieval on
//! top of the `store` (SQL metadata), the `pipelines` crate (parse, chunk, embed) and the
//! `indexes` crate (LanceDB + tantivy). `models` fetches and verifies the offline models; `eval` scores retrieval on BEIR-layout
//! evaluation sets.

pub mod api;
pub mod apps;
pub mod bench;
pub mod cli;
pub mod config;
pub mod crawl;
pub mod engine;
pub mod eval;
pub mod jobs;
pub mod metrics;
pub mod models;
pub mod outbound;
pub mod rerank;
pub mod store;
