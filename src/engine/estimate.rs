//! Chunk previews: what a process rule would make of uploaded files, without indexing them
//! (the console's indexing estimate). Parsing and chunking are the indexer's own, run off the
//! async runtime.

use std::path::PathBuf;

use pipelines::Format;
use pipelines::ParseError;
use pipelines::chunk::{Chunk, Chunker, ProcessRule};
use pipelines::parse::try_parse_guarded;

use super::{Engine, EngineError};

/// A stored file to preview.
#[derive(Debug, Clone)]
pub struct EstimateFile {
    pub name: String,
    pub path: PathBuf,
    pub format: Format,
}

/// How many chunks the files make, and the first of them.
#[derive(Debug, Clone)]
pub struct ChunkEstimate {
    pub total_segments: usize,
    pub preview: Vec<Chunk>,
}

impl Engine {
    /// Parses and chunks `files` with `rule` as indexing would, keeping the first `preview`
    /// chunks. A file that cannot be parsed is an input error naming it.
    pub async fn estimate_chunks(
        &self,
        files: Vec<EstimateFile>,
        rule: &ProcessRule,
        preview: usize,
    ) -> Result<ChunkEstimate, EngineError> {
        let embedder = self.embedder().await?;
        let chunker = Chunker::new(
            rule,
            embedder.token_counter(),
            self.automatic_chunk_cap(embedder.max_tokens()),
        )?;
        let limits = self.parse_limits();
        let work = move || {
            let mut estimate = ChunkEstimate {
                total_segments: 0,
                preview: Vec::new(),
            };
            for file in files {
                let bytes = std::fs::read(&file.path)
                    .map_err(|e| EngineError::Task(format!("cannot read {}: {e}", file.path.display())))?;
                let parsed = try_parse_guarded(bytes, file.format, &limits).map_err(|e| match e {
                    ParseError::Busy => EngineError::Busy(e.to_string()),
                    other => EngineError::Input(format!("{}: {other}", file.name)),
                })?;
                let chunks = chunker.chunk(&parsed);
                estimate.total_segments += chunks.len();
                let room = preview.saturating_sub(estimate.preview.len());
                estimate.preview.extend(chunks.into_iter().take(room));
            }
            Ok(estimate)
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| EngineError::Task(e.to_string()))?
    }
}
