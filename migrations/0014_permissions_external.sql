-- Dify's dataset permissions and external knowledge.
--
-- dataset_permissions: the accounts of a `partial_members` dataset's list (Dify's
-- `dataset_permissions`); a dataset operator reaches only the datasets it is listed on.
CREATE TABLE dataset_permissions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (dataset_id, account_id)
);
CREATE INDEX dataset_permissions_account ON dataset_permissions (tenant_id, account_id);

-- External knowledge APIs of a workspace (Dify's `external_knowledge_apis`): an endpoint that
-- answers Dify's External Knowledge API, and its key, sealed like model provider keys.
CREATE TABLE external_knowledge_apis (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    endpoint TEXT NOT NULL,
    api_key_sealed TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- The external knowledge an external dataset (provider `external`) reads, and how.
CREATE TABLE external_knowledge_bindings (
    dataset_id TEXT PRIMARY KEY REFERENCES datasets (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    external_knowledge_api_id TEXT NOT NULL REFERENCES external_knowledge_apis (id),
    external_knowledge_id TEXT NOT NULL,
    retrieval_model TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX external_knowledge_bindings_api ON external_knowledge_bindings (external_knowledge_api_id);
