"""The demo app's SQLite mode, on a real SQLite file: the same schema and answers as on
PostgreSQL (the integration tests cover that side)."""

import os
import sqlite3
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "examples", "demo_app"))
import demo_app  # noqa: E402  pylint: disable=wrong-import-position


def config(path, schema=3):
    env = {"DATABASE_URL": "sqlite:///" + str(path), "SECRET_KEY": "x" * 16, "APP_SCHEMA_VERSION": str(schema)}
    return demo_app.load_config(env)


@pytest.fixture
def app(tmp_path):
    cfg = config(tmp_path / "app.db")
    assert demo_app.migrate_sqlite(cfg) == 0
    return demo_app.App(cfg)


def test_sqlite_url_needs_an_absolute_path(tmp_path):
    assert config(tmp_path / "a.db")["sqlite_path"] == str(tmp_path / "a.db")
    with pytest.raises(demo_app.ConfigError, match="sqlite:////absolute/path.db"):
        demo_app.load_config({"DATABASE_URL": "sqlite:///relative.db", "SECRET_KEY": "x" * 16})


def test_migrate_applies_each_version_once(tmp_path):
    cfg = config(tmp_path / "app.db", schema=2)
    assert demo_app.migrate_sqlite(cfg) == 0
    assert demo_app.SqliteDatabase(cfg["sqlite_path"]).run(demo_app.db_schema_version) == 2
    cfg = config(tmp_path / "app.db", schema=3)
    assert demo_app.migrate_sqlite(cfg) == 0
    assert demo_app.migrate_sqlite(cfg) == 0
    conn = sqlite3.connect(cfg["sqlite_path"])
    assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")] == [1, 2, 3]


def test_a_held_write_lock_refuses_a_second_migrate(tmp_path):
    cfg = config(tmp_path / "app.db")
    holder = sqlite3.connect(cfg["sqlite_path"], timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    original = demo_app.SqliteDatabase.connect
    demo_app.SqliteDatabase.connect = lambda self: sqlite3.connect(self.path, timeout=0.1, isolation_level=None)
    try:
        assert demo_app.migrate_sqlite(cfg) == 4
    finally:
        demo_app.SqliteDatabase.connect = original
        holder.execute("ROLLBACK")


def test_records_and_health(app):
    status, body = app.add_record("grüße ✓")
    assert status == 201 and body["record"]["note"] == "grüße ✓"
    assert body["record"]["created_at"].endswith("Z")
    assert app.get_record(body["record"]["id"])[1]["record"] == body["record"]
    assert app.list_records(10)[1]["count"] == 1
    status, health = app.health()
    assert status == 200
    assert health["components"]["database"]["kind"] == "sqlite"
    assert health["components"]["schema"] == {"status": "ok", "database": 3, "required": 3}


def test_an_order_shows_every_type(app):
    conn = app.db.connect()
    conn.execute("INSERT INTO customers (id, name, email, vip, born, created_at) VALUES "
                 "(1, 'Zoë', NULL, 1, '1990-02-28', '2026-01-02 03:04:05')")
    conn.execute("INSERT INTO orders (id, customer_id, total_cents, paid, note, placed_at) VALUES "
                 "(7, 1, 1250, NULL, 'naïve', '2026-01-02 03:04:05.250000')")
    conn.execute("INSERT INTO attachments (order_id, name, body) VALUES (7, 'a.bin', ?), (7, 'none', NULL)",
                 (b"\x00\xff",))
    status, body = app.get_order(7)
    assert status == 200
    order = body["order"]
    assert order["paid"] is None and order["note"] == "naïve"
    assert order["placed_at"] == "2026-01-02T03:04:05.250000Z"
    assert order["customer"] == {"id": 1, "name": "Zoë", "email": None, "vip": True, "born": "1990-02-28"}
    assert [a["sha256"] is None for a in order["attachments"]] == [False, True]
    assert app.get_order(8)[0] == 404


def test_foreign_keys_are_enforced(app):
    conn = app.db.connect()
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO orders (customer_id, total_cents) VALUES (99, 1)")
