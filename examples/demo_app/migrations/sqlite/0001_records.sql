-- v1, SQLite form of ../0001_records.sql.
CREATE TABLE records (
    id          INTEGER PRIMARY KEY,
    note        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
