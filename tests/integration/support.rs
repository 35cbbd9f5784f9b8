//! Shared helpers: the real embedding model (loaded once), fresh engines in temporary dirs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use pipelines::Embedder;
use ragd::config::Config;
use ragd::engine::{Engine, IngestOptions, IngestReport};
use ragd::store::{DEFAULT_TENANT, Store};

/// The configured real embedding model (fetched and verified on first use), shared by all tests.
pub fn embedder() -> Arc<dyn Embedder> {
    static EMBEDDER: OnceLock<Arc<dyn Embedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            let config = Config::load(None).expect("config");
            let embedder = ragd::models::load_embedder(&config.models, &config.embedding, false)
                .expect("the embedding model must load (run `ragd models fetch`)");
            Arc::new(embedder)
        })
        .clone()
}

/// The pinned multilingual model (fetched and built on first use), shared by all tests.
pub fn multilingual_embedder() -> Arc<dyn Embedder> {
    static EMBEDDER: OnceLock<Arc<dyn Embedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            let config = Config::load(None).expect("config");
            let embedder = ragd::models::load_predefined(
                &config.models,
                &config.embedding,
                ragd::config::PredefinedModel::MultilingualE5Small,
                false,
            )
            .expect("the multilingual model must load (run `ragd models fetch`)");
            Arc::new(embedder)
        })
        .clone()
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// An engine over a fresh data dir with the real model. Keep the TempDir alive for the test.
pub async fn engine() -> (Engine, tempfile::TempDir) {
    engine_with(|_| {}).await
}

/// [`engine`] with the config changed by `edit` first.
pub async fn engine_with(edit: impl FnOnce(&mut Config)) -> (Engine, tempfile::TempDir) {
    engine_with_embedder(embedder(), edit).await
}

/// [`engine`] with a given embedder (a wrapper around the real one, say) and config edit.
pub async fn engine_with_embedder(
    embedder: Arc<dyn Embedder>,
    edit: impl FnOnce(&mut Config),
) -> (Engine, tempfile::TempDir) {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("ragd=warn")
        .try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::load(None).expect("config");
    config.data_dir = dir.path().to_path_buf();
    // Each test gets its own SQLite file, whatever DATABASE_URL says (see storage_suite).
    config.database_url = None;
    edit(&mut config);
    let store = Store::open(&config.database_url()).await.expect("store");
    (Engine::with_embedder(config, store, embedder), dir)
}

pub async fn ingest(engine: &Engine, dataset: &str, paths: &[PathBuf]) -> IngestReport {
    engine
        .ingest(IngestOptions {
            tenant_id: DEFAULT_TENANT.into(),
            dataset: dataset.into(),
            paths: paths.to_vec(),
            template: None,
            economy: false,
            doc_language: None,
            embedding_model: None,
            progress: false,
        })
        .await
        .expect("ingest")
}
