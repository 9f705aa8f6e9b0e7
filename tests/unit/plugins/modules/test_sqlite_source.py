import os
import sqlite3


def make(path):
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, done BOOLEAN);"
                       "INSERT INTO notes VALUES (1, 'ä', 1), (2, NULL, 0);")
    conn.close()


def test_reads_copies_and_digests(run_module, tmp_path):
    src, dest = str(tmp_path / "app.db"), str(tmp_path / "work" / "copy.db")
    make(src)
    os.mkdir(tmp_path / "work")
    result = run_module("sqlite_source", {"path": src, "copy_to": dest, "space_paths": [str(tmp_path)],
                                          "digest_columns": {"notes": [["id", "bigint"], ["body", "text"], ["done", "boolean"]]}})
    assert result["changed"] is True and os.path.exists(dest)
    assert result["tables"] == [{"name": "notes", "rows": 2, "columns": ["id", "body", "done"], "references": []}]
    assert result["digests"]["notes"]["rows"] == 2 and result["free_bytes"][str(tmp_path)] > 0


def test_check_mode_takes_no_copy(run_module, tmp_path):
    src, dest = str(tmp_path / "app.db"), str(tmp_path / "copy.db")
    make(src)
    result = run_module("sqlite_source", {"path": src, "copy_to": dest, "_ansible_check_mode": True})
    assert result["changed"] is False and not os.path.exists(dest)


def test_a_missing_file_fails_naming_it(run_module, tmp_path):
    result = run_module("sqlite_source", {"path": str(tmp_path / "none.db")})
    assert result["failed"] is True and result["msg"] == "no SQLite file at %s" % (tmp_path / "none.db")
