-- Chat and completion apps: their easy-UI model config, the datasets they answer from, the end
-- users that call them, conversations, messages (with the retrieved chunks they cite) and feedback.

CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL,
    icon_type TEXT,
    icon TEXT,
    icon_background TEXT,
    enable_site BOOLEAN NOT NULL DEFAULT TRUE,
    enable_api BOOLEAN NOT NULL DEFAULT TRUE,
    -- Dify's easy-UI model config (model, pre_prompt, user_input_form, dataset_configs, ...) as JSON.
    model_config TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX apps_tenant ON apps (tenant_id, created_at);

-- The datasets an app retrieves from, kept in step with model_config's dataset_configs.
CREATE TABLE app_dataset_joins (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, dataset_id)
);
CREATE INDEX app_dataset_joins_dataset ON app_dataset_joins (dataset_id);

-- The callers of an app's API, named by the `user` they send.
CREATE TABLE end_users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (app_id, session_id)
);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    end_user_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    name TEXT NOT NULL,
    inputs TEXT NOT NULL,
    introduction TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'normal',
    from_source TEXT NOT NULL DEFAULT 'api',
    dialogue_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX conversations_user ON conversations (app_id, end_user_id, updated_at);

-- A message is written once, when its answer is complete (or stopped): a failed generation
-- leaves no row behind.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    parent_message_id TEXT,
    end_user_id TEXT NOT NULL,
    inputs TEXT NOT NULL,
    query TEXT NOT NULL,
    answer TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'normal',
    error TEXT,
    -- Files the caller attached (Dify's message_files), JSON.
    files TEXT NOT NULL DEFAULT '[]',
    -- The retrieved chunks the answer cites (Dify's retriever_resources), JSON.
    retriever_resources TEXT NOT NULL DEFAULT '[]',
    model_provider TEXT,
    model_id TEXT,
    message_tokens BIGINT NOT NULL DEFAULT 0,
    answer_tokens BIGINT NOT NULL DEFAULT 0,
    provider_response_latency DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, created_at);

CREATE TABLE message_feedbacks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    rating TEXT NOT NULL,
    content TEXT,
    from_source TEXT NOT NULL,
    from_end_user_id TEXT,
    from_account_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (message_id, from_source)
);
CREATE INDEX message_feedbacks_app ON message_feedbacks (app_id, created_at);
