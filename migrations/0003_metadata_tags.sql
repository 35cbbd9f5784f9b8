-- Document metadata fields of a dataset, the built-in fields switch, and knowledge tags.
-- Values of metadata fields live in documents.doc_metadata (a JSON object name -> value), so a
-- field's rename or removal rewrites that object; no JSON is read or written in SQL.

ALTER TABLE datasets ADD COLUMN built_in_field_enabled BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE dataset_metadata (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    -- Creation order within the dataset (timestamps are whole seconds).
    position BIGINT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (dataset_id, name)
);

CREATE TABLE tags (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, type, name)
);

-- target_id is a dataset for knowledge tags (an app for app tags), so it has no foreign key;
-- deleting a dataset deletes its bindings explicitly.
CREATE TABLE tag_bindings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    tag_id TEXT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    target_id TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (tag_id, target_id)
);
CREATE INDEX tag_bindings_target ON tag_bindings (tenant_id, target_id);
