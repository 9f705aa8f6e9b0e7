# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A row count and a content digest per table, computed the same way from a SQLite file
(in Python, by the sqlite_source module) and from PostgreSQL (one SQL query built here), so
a migration can prove that every value arrived.

Each value gets a canonical text chosen by the column's PostgreSQL type (the target schema
is the app's own, made by its migrations): integers as digits, booleans as t/f, dates as
YYYY-MM-DD, timestamps in UTC with microseconds, bytes as hex, NULL as \\N. A row's text is
its values joined by U+001F; the table's digest is the sum of the first 60 bits of each
row's MD5. A sum does not depend on row order, so neither side sorts.
"""

from __future__ import annotations

import datetime
import hashlib

SEPARATOR = "\x1f"
NULL = "\\N"
INTEGER_TYPES = ("smallint", "integer", "bigint")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def pg_expression(column, pg_type):
    """The SQL giving the canonical text of `column` (NULL stays NULL)."""
    col = quote_ident(column)
    if pg_type == "boolean":
        return "CASE %s WHEN true THEN 't' WHEN false THEN 'f' END" % col
    if pg_type == "date":
        return "to_char(%s, 'YYYY-MM-DD')" % col
    if pg_type == "timestamp with time zone":
        return "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')" % col
    if pg_type == "timestamp without time zone":
        return "to_char(%s, 'YYYY-MM-DD HH24:MI:SS.US')" % col
    if pg_type == "bytea":
        return "encode(%s, 'hex')" % col
    return "%s::text" % col


def _timestamp(value, aware):
    if isinstance(value, (int, float)):  # SQLite apps may keep epoch seconds
        moment = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    else:
        moment = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if aware and moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return moment.replace(tzinfo=None).strftime(TIMESTAMP_FORMAT)


def canonical(value, pg_type):
    """The canonical text of a SQLite value bound for a column of `pg_type` (None for NULL).
    A value that is not of the type (SQLite lets 'n/a' into an INTEGER column) keeps its own
    text: PostgreSQL refuses it at the copy, or the digests differ."""
    if value is None:
        return None
    try:
        return _canonical(value, pg_type)
    except (TypeError, ValueError):
        return "?" + str(value)


def _canonical(value, pg_type):
    if pg_type == "boolean":
        if isinstance(value, str):
            return "t" if value.strip().lower() in ("1", "t", "true", "yes", "on") else "f"
        return "t" if value else "f"
    if pg_type in INTEGER_TYPES:
        return str(int(value))
    if pg_type == "date":
        return datetime.date.fromisoformat(str(value).strip()[:10]).isoformat()
    if pg_type == "timestamp with time zone":
        return _timestamp(value, aware=True)
    if pg_type == "timestamp without time zone":
        return _timestamp(value, aware=False)
    if pg_type == "bytea":
        return (value.encode("utf-8") if isinstance(value, str) else bytes(value)).hex()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def row_value(texts):
    """The 60-bit number a row adds to its table's digest."""
    joined = SEPARATOR.join(NULL if text is None else text for text in texts)
    return int(hashlib.md5(joined.encode("utf-8")).hexdigest()[:15], 16)


def sqlite_digest(conn, table, columns):
    """{rows, digest} of `table` in a sqlite3 connection; columns: [[name, pg_type], ...]."""
    names = ", ".join(quote_ident(name) for name, _type in columns)
    types = [pg_type for _name, pg_type in columns]
    rows = 0
    total = 0
    for row in conn.execute("SELECT %s FROM %s" % (names, quote_ident(table))):
        rows += 1
        total += row_value([canonical(value, pg_type) for value, pg_type in zip(row, types)])
    return {"rows": rows, "digest": str(total)}


def pg_digest_query(columns_by_table):
    """One query whose single value is JSON: {table: {rows, digest}} for PostgreSQL."""
    parts = []
    for table in sorted(columns_by_table):
        texts = " || chr(31) || ".join(
            "coalesce(%s, '%s')" % (pg_expression(name, pg_type), NULL) for name, pg_type in columns_by_table[table]
        )
        parts.append(
            "'%s', (SELECT json_build_object('rows', count(*), 'digest',"
            " coalesce(sum(('x' || substr(md5(%s), 1, 15))::bit(60)::bigint), 0)::text) FROM %s)"
            % (table.replace("'", "''"), texts, quote_ident(table))
        )
    return "SELECT json_build_object(%s)" % ", ".join(parts)
