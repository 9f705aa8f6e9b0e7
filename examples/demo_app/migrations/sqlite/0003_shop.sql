-- v3, SQLite form of ../0003_shop.sql (the same columns, in SQLite type names).
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT UNIQUE,
    vip         BOOLEAN NOT NULL DEFAULT 0,
    born        DATE,
    created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE orders (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    total_cents  INTEGER NOT NULL CHECK (total_cents >= 0),
    paid         BOOLEAN,
    note         TEXT,
    placed_at    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE TABLE attachments (
    id        INTEGER PRIMARY KEY,
    order_id  INTEGER NOT NULL REFERENCES orders (id),
    name      TEXT NOT NULL,
    body      BLOB
);
CREATE INDEX attachments_order_idx ON attachments (order_id);
