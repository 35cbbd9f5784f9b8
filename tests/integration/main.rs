//! Integration tests: one binary (to keep link time down), one module per area.
//! Tests that need the real embedding model load it once per run through `support::embedder`.

mod annotations_api;
mod api_fuzz_found;
mod apps_api;
mod console_apps_api;
mod console_auth;
mod console_datasets;
mod console_flow;
mod console_isolation;
mod console_support;
mod engine_demo;
mod eval_mini;
mod external_knowledge;
mod fidelity_api;
mod ingest_recovery;
mod knowledge_api;
mod languages_api;
mod metadata_tags_api;
mod modes_api;
mod multi_process;
mod multilingual_api;
mod openai_stub;
mod ops_api;
mod parse_bombs;
mod reference_vectors;
mod reindex;
mod rerank_api;
mod robustness;
mod security_accounts;
mod security_files;
mod security_outbound;
mod segments_api;
mod storage_suite;
mod support;
mod web_console;
mod wire_shapes;
