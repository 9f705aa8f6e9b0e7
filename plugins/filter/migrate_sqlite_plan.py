# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: migrate_sqlite_plan
short_description: Plan the copy of a SQLite database into the app's PostgreSQL schema
version_added: 0.4.0
description:
  - "Takes the SQLite tables (the C(tables) result of launchbay.webstack.sqlite_source, in
    foreign-key order) and the PostgreSQL columns the app's migrations made, and returns
    C(order) (the tables to load, parents first), C(columns) (V({table: [[column, type], ...]})
    for the digests of both sides), C(patterns) (V({table: {include, exclude}}) for pgloader's
    LIKE filters, which are case-insensitive and treat C(_) as a wildcard) and C(problems)
    (one sentence per table or column that exists on one side only)."
options:
  _input:
    description: The SQLite tables, each with C(name) and C(columns).
    type: list
    elements: dict
    required: true
  pg_columns:
    description: "The PostgreSQL columns, each V({table, column, type}), in column order."
    type: list
    elements: dict
    required: true
author: launchbay maintainers
"""

EXAMPLES = r"""
plan: "{{ source.tables | launchbay.webstack.migrate_sqlite_plan(pg_columns) }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
"""

import fnmatch


def _like(pattern, name):
    """SQLite's LIKE as pgloader uses it: case-insensitive, _ any one character, % any run."""
    glob = "".join("?" if ch == "_" else "*" if ch == "%" else "[%s]" % ch if ch in "[]*?" else ch for ch in pattern)
    return fnmatch.fnmatchcase(name.lower(), glob.lower())


def migrate_sqlite_plan(tables, pg_columns):
    target = {}
    for col in pg_columns or []:
        target.setdefault(col["table"], []).append([col["column"], col["type"]])
    names = [table["name"] for table in tables]
    problems, columns = [], {}
    for table in tables:
        name = table["name"]
        if name not in target:
            problems.append("table %s is in the SQLite file but the app's migrations did not create it in PostgreSQL" % name)
            continue
        pg_names = [column for column, _type in target[name]]
        only_sqlite = [c for c in table["columns"] if c not in pg_names]
        only_pg = [c for c in pg_names if c not in table["columns"]]
        if only_sqlite or only_pg:
            problems.append(
                "table %s: columns only in SQLite %s, only in PostgreSQL %s" % (name, only_sqlite, only_pg)
            )
            continue
        columns[name] = target[name]
    for name in sorted(set(target) - set(names)):
        problems.append("table %s is in PostgreSQL but not in the SQLite file" % name)
    patterns = {
        name: {"include": name, "exclude": [other for other in names if other != name and _like(name, other)]}
        for name in columns
    }
    return {"order": [name for name in names if name in columns], "columns": columns,
            "patterns": patterns, "problems": problems}


class FilterModule(object):
    def filters(self):
        return {"migrate_sqlite_plan": migrate_sqlite_plan}
