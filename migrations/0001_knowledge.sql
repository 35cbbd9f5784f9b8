-- Datasets, documents, segments and child chunks: the source of truth the indexes derive from.
-- Timestamps are Unix seconds; JSON columns hold Dify's wire objects as text.

CREATE TABLE datasets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    indexing_technique TEXT,
    embedding_model TEXT,
    embedding_dimension INTEGER,
    doc_form TEXT NOT NULL DEFAULT 'text_model',
    doc_language TEXT NOT NULL DEFAULT 'English',
    process_rule TEXT NOT NULL,
    retrieval_model TEXT,
    index_generation BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    data_source_type TEXT NOT NULL DEFAULT 'upload_file',
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    batch TEXT NOT NULL,
    indexing_status TEXT NOT NULL,
    error TEXT,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    doc_metadata TEXT,
    word_count BIGINT NOT NULL DEFAULT 0,
    tokens BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    processing_started_at BIGINT,
    completed_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX documents_dataset ON documents (dataset_id, indexing_status);
CREATE INDEX documents_source ON documents (dataset_id, source);

CREATE TABLE document_segments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    content TEXT NOT NULL,
    answer TEXT,
    keywords TEXT,
    word_count BIGINT NOT NULL,
    tokens BIGINT NOT NULL,
    page BIGINT,
    hit_count BIGINT NOT NULL DEFAULT 0,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    status TEXT NOT NULL DEFAULT 'completed',
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    completed_at BIGINT
);
CREATE INDEX segments_document ON document_segments (document_id, position);

CREATE TABLE child_chunks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    segment_id TEXT NOT NULL REFERENCES document_segments (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    content TEXT NOT NULL,
    word_count BIGINT NOT NULL,
    type TEXT NOT NULL DEFAULT 'automatic',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX child_chunks_segment ON child_chunks (segment_id, position);
