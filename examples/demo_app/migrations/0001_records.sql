-- v1: the records table that tests write to and read back.
CREATE TABLE records (
    id          BIGSERIAL PRIMARY KEY,
    note        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
