import os
import sqlite3

import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._sqlite_source import (
    SourceError, SqliteSource, file_sha256, foreign_key_order)


@pytest.fixture
def shop(tmp_path):
    path = str(tmp_path / "app.db")
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT);
        INSERT INTO schema_migrations VALUES (1, 'a'), (3, 'c');
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers (id));
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE attachments (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders (id));
        INSERT INTO customers VALUES (1, 'Zoë'); INSERT INTO orders VALUES (1, 1), (2, 1);
    """)
    conn.close()
    return path


def test_tables_come_parents_first_with_counts(shop):
    found = SqliteSource(shop, exclude=["schema_migrations"]).describe()
    assert [t["name"] for t in found["tables"]] == ["customers", "orders", "attachments"]
    assert [t["rows"] for t in found["tables"]] == [1, 2, 0]
    assert found["integrity"] == "ok" and found["schema_version"] == 3
    assert found["tables"][1]["columns"] == ["id", "customer_id"]


def test_a_foreign_key_cycle_is_refused():
    with pytest.raises(SourceError, match="cycle"):
        foreign_key_order({"a": ["b"], "b": ["a"]})
    assert foreign_key_order({"a": ["a"]}) == ["a"]  # a table pointing at itself is fine


def test_rows_whose_foreign_key_points_nowhere_are_refused(shop):
    conn = sqlite3.connect(shop)
    conn.execute("INSERT INTO orders VALUES (3, 99)")
    conn.commit()
    with pytest.raises(SourceError, match="1 rows whose foreign key points at no row.*orders rowid 3 -> customers"):
        SqliteSource(shop).describe()


def test_a_damaged_file_is_refused(shop, tmp_path):
    with open(shop, "r+b") as handle:
        handle.seek(0)
        handle.write(b"garbage garbage garbage")
    with pytest.raises(SourceError, match="cannot be opened as a SQLite database"):
        SqliteSource(shop).describe()
    with pytest.raises(SourceError, match="no SQLite file"):
        SqliteSource(str(tmp_path / "missing.db")).describe()


def test_the_copy_is_whole_and_private(shop, tmp_path):
    dest = str(tmp_path / "copy.db")
    digest = SqliteSource(shop).copy(dest)
    assert digest == file_sha256(dest)
    assert oct(os.stat(dest).st_mode & 0o777) == "0o600"
    assert sqlite3.connect(dest).execute("SELECT name FROM customers").fetchone() == ("Zoë",)


def test_digests_name_a_schema_difference(shop):
    with pytest.raises(SourceError, match="table customers of .* has no column email"):
        SqliteSource(shop).digests({"customers": [["id", "bigint"], ["email", "text"]]})
    assert SqliteSource(shop).digests({"customers": [["id", "bigint"], ["name", "text"]]})["customers"]["rows"] == 1


def test_free_bytes_asks_the_nearest_existing_folder(tmp_path):
    assert SqliteSource.free_bytes(str(tmp_path / "not" / "yet")) > 0
