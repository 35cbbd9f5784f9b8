-- The query log: every retrieval against a dataset (service API retrieve/hit-testing, later apps),
-- newest first per dataset for the console's hit-testing history (Dify's dataset_queries).
CREATE TABLE dataset_queries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    source TEXT NOT NULL,
    source_app_id TEXT,
    created_by_role TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX dataset_queries_latest ON dataset_queries (dataset_id, created_at);
