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
