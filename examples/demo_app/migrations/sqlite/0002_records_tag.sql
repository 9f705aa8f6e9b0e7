-- v2, SQLite form of ../0002_records_tag.sql.
ALTER TABLE records ADD COLUMN tag TEXT NOT NULL DEFAULT '';
CREATE INDEX records_tag_idx ON records (tag);
