-- Website import: crawls run in the background and keep their pages until documents are made
-- of them; documents remember where they came from (Dify's data_source_info) so that a re-sync
-- can fetch them again.
ALTER TABLE documents ADD COLUMN data_source_info TEXT;

CREATE TABLE website_crawls (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    -- Set for a re-sync: the dataset whose documents the crawl is compared with.
    dataset_id TEXT,
    url TEXT NOT NULL,
    options TEXT NOT NULL,
    -- active, completed or failed
    status TEXT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    completed BIGINT NOT NULL DEFAULT 0,
    -- Whether the crawl stopped at its page limit (pages it did not see may still exist).
    limit_reached BOOLEAN NOT NULL DEFAULT FALSE,
    -- A re-sync's counts (JSON), once applied.
    sync TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX website_crawls_tenant ON website_crawls (tenant_id, created_at);

CREATE TABLE website_crawl_pages (
    crawl_id TEXT NOT NULL REFERENCES website_crawls (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    url TEXT NOT NULL,
    -- ok, gone (404/410) or failed
    outcome TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    content TEXT,
    content_hash TEXT,
    error TEXT,
    PRIMARY KEY (crawl_id, position)
);
