-- v2: an optional tag per record. Backwards compatible: v1 keeps working on it,
-- so a code rollback from v2 to v1 needs no schema rollback.
ALTER TABLE records ADD COLUMN tag TEXT NOT NULL DEFAULT '';
CREATE INDEX records_tag_idx ON records (tag);
