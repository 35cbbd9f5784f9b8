-- Annotations of apps (Dify's message_annotations): curated question/answer pairs that, with
-- annotation reply on, answer a close enough question directly instead of the model. Each
-- question keeps its vector under the model the app's setting names, computed when written
-- (reply on) or when reply is enabled.
CREATE TABLE message_annotations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    conversation_id TEXT,
    message_id TEXT,
    question TEXT NOT NULL,
    content TEXT NOT NULL,
    hit_count BIGINT NOT NULL DEFAULT 0,
    account_id TEXT,
    -- The question's vector (JSON array of floats) and the local model that made it.
    embedding TEXT,
    embedding_model TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX message_annotations_app ON message_annotations (app_id, created_at);

-- One row per app with annotation reply on; disabling deletes it (Dify does the same).
CREATE TABLE app_annotation_settings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL UNIQUE REFERENCES apps (id) ON DELETE CASCADE,
    score_threshold DOUBLE PRECISION NOT NULL,
    -- The names the caller gave (Dify's collection binding), reported back as given.
    embedding_provider_name TEXT NOT NULL,
    embedding_model_name TEXT NOT NULL,
    -- The local model that embeds questions and queries for this app.
    model_id TEXT NOT NULL,
    created_by TEXT,
    updated_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE app_annotation_hit_histories (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    annotation_id TEXT NOT NULL,
    source TEXT NOT NULL,
    question TEXT NOT NULL,
    account_id TEXT,
    score DOUBLE PRECISION NOT NULL,
    message_id TEXT NOT NULL,
    annotation_question TEXT NOT NULL,
    annotation_content TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX app_annotation_hit_histories_annotation ON app_annotation_hit_histories (annotation_id, created_at);

-- Enable and disable jobs of annotation reply, polled by the status routes.
CREATE TABLE app_annotation_jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    error_msg TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX app_annotation_jobs_app ON app_annotation_jobs (app_id, action, status);

-- The annotation that answered a message, if one did (Dify's annotation_reply metadata).
ALTER TABLE messages ADD COLUMN annotation_id TEXT;
