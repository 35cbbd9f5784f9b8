-- Security hardening of console accounts (issue 19).
--
-- Sign-in throttling: failed sign-ins of an existing account are counted on its row, in one
-- atomic UPDATE (no read-then-write race); failures of unknown addresses are kept nowhere in SQL
-- (they were one row each, without bound). Per-client-address counters live in login_throttle,
-- one row per address, counted with an atomic upsert and dropped once their window has passed.
DROP TABLE login_failures;
ALTER TABLE accounts ADD COLUMN login_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN login_window_start BIGINT NOT NULL DEFAULT 0;

CREATE TABLE login_throttle (
    client TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
CREATE INDEX login_throttle_window ON login_throttle (window_start);
-- Server-side console sessions: access tokens carry the session id and are checked against this
-- table on each request, so signing out ends the access token too. Refresh tokens belong to a
-- session; earlier refresh tokens (of no session) are dropped: everyone signs in again once.
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_account ON console_sessions (account_id);

DROP TABLE refresh_tokens;
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES console_sessions (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
