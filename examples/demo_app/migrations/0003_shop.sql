-- v3: a small shop. Its columns hold what a database migration must carry exactly:
-- booleans, dates, timestamps, bytes, NULLs, unicode, unique and foreign keys, a check.
CREATE TABLE customers (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT UNIQUE,
    vip         BOOLEAN NOT NULL DEFAULT false,
    born        DATE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE orders (
    id           BIGSERIAL PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    total_cents  BIGINT NOT NULL CHECK (total_cents >= 0),
    paid         BOOLEAN,
    note         TEXT,
    placed_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE TABLE attachments (
    id        BIGSERIAL PRIMARY KEY,
    order_id  BIGINT NOT NULL REFERENCES orders (id),
    name      TEXT NOT NULL,
    body      BYTEA
);
CREATE INDEX attachments_order_idx ON attachments (order_id);
