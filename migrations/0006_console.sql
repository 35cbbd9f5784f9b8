-- Console accounts and sessions: the first-run setup, accounts with argon2 password hashes,
-- workspace membership with Dify's roles, invitations (activation tokens instead of mail),
-- refresh tokens, failed sign-ins (for the lockout), and each workspace's model settings.

ALTER TABLE tenants ADD COLUMN status TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE tenants ADD COLUMN plan TEXT NOT NULL DEFAULT 'basic';

-- One row once setup is done: its primary key makes a second setup fail even when two race.
CREATE TABLE console_setup (
    id INTEGER PRIMARY KEY,
    version TEXT NOT NULL,
    setup_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    -- NULL until an invited account is activated.
    password_hash TEXT,
    interface_language TEXT NOT NULL DEFAULT 'en-US',
    interface_theme TEXT NOT NULL DEFAULT 'light',
    timezone TEXT NOT NULL DEFAULT 'UTC',
    -- pending (invited, not activated), active, banned
    status TEXT NOT NULL DEFAULT 'active',
    current_tenant_id TEXT,
    last_login_at BIGINT,
    last_login_ip TEXT,
    last_active_at BIGINT,
    -- Access tokens carry the version they were issued under; a password change bumps it,
    -- which ends every earlier session.
    session_version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE tenant_members (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    invited_by TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, account_id)
);
CREATE INDEX tenant_members_account ON tenant_members (account_id);

CREATE TABLE member_invitations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);

CREATE TABLE login_failures (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, failed_at);

CREATE TABLE workspace_model_settings (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    embedding_model TEXT,
    rerank_provider TEXT,
    rerank_model TEXT,
    llm_base_url TEXT,
    -- AES-256-GCM under a key derived from the server's secret key; never returned in clear.
    llm_api_key_sealed TEXT,
    llm_model TEXT,
    llm_parameters TEXT,
    llm_context_window BIGINT,
    updated_by TEXT,
    updated_at BIGINT NOT NULL
);
