import sqlite3

from ansible_collections.launchbay.webstack.plugins.module_utils._table_digest import (
    canonical, pg_digest_query, pg_expression, row_value, sqlite_digest)

COLUMNS = [["id", "bigint"], ["paid", "boolean"], ["born", "date"], ["at", "timestamp with time zone"],
           ["body", "bytea"], ["note", "text"]]


def test_canonical_text_per_postgresql_type():
    assert canonical(None, "text") is None
    assert canonical(1, "boolean") == "t" and canonical(0, "boolean") == "f" and canonical("true", "boolean") == "t"
    assert canonical(42, "bigint") == "42"
    assert canonical("1990-02-28", "date") == "1990-02-28"
    assert canonical("2026-01-02 03:04:05", "timestamp with time zone") == "2026-01-02 03:04:05.000000"
    assert canonical("2026-01-02T04:04:05.25+01:00", "timestamp with time zone") == "2026-01-02 03:04:05.250000"
    assert canonical(b"\x00\xff", "bytea") == "00ff"
    assert canonical("Zoë ✓", "text") == "Zoë ✓"


def test_a_value_of_the_wrong_type_keeps_its_own_text():
    assert canonical("n/a", "bigint") == "?n/a"


def test_null_and_empty_text_differ():
    assert row_value([None]) != row_value([""])
    assert row_value(["a", "b"]) != row_value(["ab", ""])


def table(rows):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, paid BOOLEAN, born DATE, at TIMESTAMP, body BLOB, note TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", rows)
    return conn


ROWS = [(1, 1, "1990-02-28", "2026-01-02 03:04:05", b"\x00", "Zoë"), (2, None, None, "2026-01-02 03:04:05.5", None, None)]


def test_the_digest_does_not_depend_on_row_order():
    one = sqlite_digest(table(ROWS), "t", COLUMNS)
    two = sqlite_digest(table(list(reversed(ROWS))), "t", COLUMNS)
    assert one == two and one["rows"] == 2


def test_one_changed_value_changes_the_digest():
    changed = [ROWS[0], (2, 0, None, "2026-01-02 03:04:05.5", None, None)]
    assert sqlite_digest(table(ROWS), "t", COLUMNS)["digest"] != sqlite_digest(table(changed), "t", COLUMNS)["digest"]


def test_the_postgresql_query_mirrors_the_canonical_forms():
    sql = pg_digest_query({"t": COLUMNS, 'we"ird': [["id", "bigint"]]})
    assert "CASE \"paid\" WHEN true THEN 't' WHEN false THEN 'f' END" in sql
    assert "to_char(\"at\" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')" in sql
    assert "encode(\"body\", 'hex')" in sql and "coalesce(\"note\"::text, '\\N')" in sql
    assert 'FROM "we""ird"' in sql and "substr(md5(" in sql
    assert pg_expression("born", "date") == "to_char(\"born\", 'YYYY-MM-DD')"
