-- `ragd reindex --rechunk`: documents are re-parsed and re-chunked in id order into the new index
-- generation; their new segments wait here (the live ones keep serving) and replace the live ones
-- in the transaction that switches generations. The run records the last document done.
ALTER TABLE reindex_runs ADD COLUMN rechunk BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE reindex_runs ADD COLUMN last_document_id TEXT NOT NULL DEFAULT '';

CREATE TABLE rechunk_segments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    content TEXT NOT NULL,
    word_count BIGINT NOT NULL,
    tokens BIGINT NOT NULL,
    page BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX rechunk_segments_document ON rechunk_segments (dataset_id, document_id);

CREATE TABLE rechunk_child_chunks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    segment_id TEXT NOT NULL REFERENCES rechunk_segments (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    content TEXT NOT NULL,
    word_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX rechunk_child_chunks_document ON rechunk_child_chunks (dataset_id, document_id);
