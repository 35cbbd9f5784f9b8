-- Segment keywords are extracted when a document is chunked; a re-chunked segment waits in
-- `rechunk_segments` with its new keywords until the generation switch.
ALTER TABLE rechunk_segments ADD COLUMN keywords TEXT;
