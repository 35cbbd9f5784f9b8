-- Segment imports from CSV files (the console's batch import): the job a client polls, its
-- outcome and how many segments it added.
CREATE TABLE segment_import_jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    document_id TEXT NOT NULL,
    status TEXT NOT NULL,
    segments BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX segment_import_jobs_dataset ON segment_import_jobs (tenant_id, dataset_id);
