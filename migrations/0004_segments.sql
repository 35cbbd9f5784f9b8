-- Segment fields the segment API reports and edits: who created, changed or disabled a segment,
-- and when it was last (re)indexed.

ALTER TABLE document_segments ADD COLUMN created_by TEXT;
ALTER TABLE document_segments ADD COLUMN updated_by TEXT;
ALTER TABLE document_segments ADD COLUMN disabled_at BIGINT;
ALTER TABLE document_segments ADD COLUMN disabled_by TEXT;
ALTER TABLE document_segments ADD COLUMN indexing_at BIGINT;
ALTER TABLE document_segments ADD COLUMN stopped_at BIGINT;
