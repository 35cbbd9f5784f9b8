-- A dataset's index rebuild in progress: the generation being built beside the live one and how
-- far it got (segments are walked in id order), so a killed `ragd reindex` resumes where it stopped.
CREATE TABLE reindex_runs (
    dataset_id TEXT PRIMARY KEY REFERENCES datasets (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    target_generation BIGINT NOT NULL,
    embedding_model TEXT,
    embedding_dimension BIGINT,
    last_segment_id TEXT NOT NULL DEFAULT '',
    rows_written BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
