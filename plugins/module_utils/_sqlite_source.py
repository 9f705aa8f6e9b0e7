# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only access to a SQLite file for the sqlite_source module: integrity, tables in
foreign-key order, counts, a consistent copy (SQLite's online backup API) and digests."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from urllib.parse import quote

from ansible_collections.launchbay.webstack.plugins.module_utils._table_digest import quote_ident, sqlite_digest


class SourceError(Exception):
    """A problem with the SQLite file that stops a migration; the message says which."""


def foreign_key_order(references):
    """Table names with every table after the tables it references; references: {table: [parents]}."""
    ordered, visiting, done = [], set(), set()

    def visit(table, path):
        if table in done:
            return
        if table in visiting:
            raise SourceError("the foreign keys form a cycle (%s), so no table can be loaded first"
                              % " -> ".join(path + [table]))
        visiting.add(table)
        for parent in sorted(references.get(table, ())):
            if parent != table and parent in references:
                visit(parent, path + [table])
        visiting.discard(table)
        done.add(table)
        ordered.append(table)

    for name in sorted(references):
        visit(name, [])
    return ordered


class SqliteSource(object):
    def __init__(self, path, exclude=()):
        self.path = path
        self.exclude = set(exclude)

    def connect(self):
        if not os.path.isfile(self.path):
            raise SourceError("no SQLite file at %s" % self.path)
        try:
            conn = sqlite3.connect("file:%s?mode=ro" % quote(self.path), uri=True, timeout=10)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise SourceError("%s cannot be opened as a SQLite database: %s" % (self.path, exc))
        return conn

    def describe(self, integrity_check=True):
        conn = self.connect()
        try:
            integrity = "skipped"
            if integrity_check:
                found = [row[0] for row in conn.execute("PRAGMA integrity_check")]
                integrity = "; ".join(found)
                if found != ["ok"]:
                    raise SourceError("PRAGMA integrity_check on %s reports: %s" % (self.path, "; ".join(found[:5])))
                violations = conn.execute("PRAGMA foreign_key_check").fetchall()
                if violations:
                    raise SourceError(
                        "%s has %d rows whose foreign key points at no row (PostgreSQL would refuse them), such as %s"
                        % (self.path, len(violations), ", ".join(
                            "%s rowid %s -> %s" % (row[0], row[1], row[2]) for row in violations[:5]))
                    )
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            version = 0
            if "schema_migrations" in names:
                version = int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])
            references, columns = {}, {}
            for name in names:
                if name in self.exclude:
                    continue
                references[name] = sorted({row[2] for row in conn.execute("PRAGMA foreign_key_list(%s)" % quote_ident(name))})
                columns[name] = [row[1] for row in conn.execute("PRAGMA table_info(%s)" % quote_ident(name))]
            tables = []
            for name in foreign_key_order(references):
                rows = conn.execute("SELECT count(*) FROM %s" % quote_ident(name)).fetchone()[0]
                tables.append({"name": name, "rows": rows, "columns": columns[name], "references": references[name]})
            return {
                "integrity": integrity,
                "size_bytes": os.path.getsize(self.path),
                "schema_version": version,
                "tables": tables,
            }
        finally:
            conn.close()

    def copy(self, dest):
        """A consistent copy at `dest` (mode 0600); returns its SHA-256."""
        tmp = dest + ".partial"
        if os.path.exists(tmp):
            os.unlink(tmp)
        src = self.connect()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(tmp, dest)
        return file_sha256(dest)

    def digests(self, columns_by_table):
        conn = self.connect()
        try:
            for table, columns in columns_by_table.items():
                # checked here: SQLite reads an unknown "column" as a string literal
                have = {row[1] for row in conn.execute("PRAGMA table_info(%s)" % quote_ident(table))}
                missing = [name for name, _type in columns if name not in have]
                if missing:
                    raise SourceError("table %s of %s has no column %s (the SQLite schema differs from PostgreSQL's)"
                                      % (table, self.path, ", ".join(missing)))
            return {table: sqlite_digest(conn, table, columns) for table, columns in columns_by_table.items()}
        except sqlite3.OperationalError as exc:
            raise SourceError("digest of %s: %s (the SQLite schema differs from PostgreSQL's)" % (self.path, exc))
        finally:
            conn.close()

    @staticmethod
    def free_bytes(path):
        while path and not os.path.exists(path):
            path = os.path.dirname(path)
        stat = os.statvfs(path or "/")
        return stat.f_bavail * stat.f_frsize


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
