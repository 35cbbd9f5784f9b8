-- Workspaces, API keys, uploaded files, the job queue, and the document fields the knowledge API
-- reports (per-stage timestamps, pause, process rule, origin).

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO tenants (id, name, created_at) VALUES ('00000000-0000-0000-0000-000000000001', 'Default workspace', 0);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_hint TEXT NOT NULL,
    app_id TEXT,
    last_used_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE upload_files (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    extension TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    hash TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    locked_by TEXT,
    locked_until BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_claim ON jobs (status, created_at);
CREATE INDEX jobs_document ON jobs (document_id);

ALTER TABLE datasets ADD COLUMN permission TEXT NOT NULL DEFAULT 'only_me';
ALTER TABLE datasets ADD COLUMN provider TEXT NOT NULL DEFAULT 'vendor';
ALTER TABLE datasets ADD COLUMN created_by TEXT;
ALTER TABLE datasets ADD COLUMN enable_api BOOLEAN NOT NULL DEFAULT TRUE;

ALTER TABLE documents ADD COLUMN upload_file_id TEXT;
ALTER TABLE documents ADD COLUMN created_from TEXT NOT NULL DEFAULT 'api';
ALTER TABLE documents ADD COLUMN doc_form TEXT NOT NULL DEFAULT 'text_model';
ALTER TABLE documents ADD COLUMN doc_language TEXT NOT NULL DEFAULT 'English';
ALTER TABLE documents ADD COLUMN process_rule TEXT;
ALTER TABLE documents ADD COLUMN parsing_completed_at BIGINT;
ALTER TABLE documents ADD COLUMN cleaning_completed_at BIGINT;
ALTER TABLE documents ADD COLUMN splitting_completed_at BIGINT;
ALTER TABLE documents ADD COLUMN stopped_at BIGINT;
ALTER TABLE documents ADD COLUMN paused_at BIGINT;
ALTER TABLE documents ADD COLUMN is_paused BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE documents ADD COLUMN disabled_at BIGINT;
ALTER TABLE documents ADD COLUMN indexing_latency DOUBLE PRECISION;
