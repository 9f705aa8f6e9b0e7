# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: migrate_sqlite_compare
short_description: Compare per-table row counts and content digests of two databases
version_added: 0.4.0
description:
  - "Takes two V({table: {rows, digest}}) maps (the SQLite copy and PostgreSQL after the copy;
    or PostgreSQL at the switch and now) and returns C(problems) (one sentence per table that
    differs), C(changed) (the tables that differ) and C(new_rows) (rows the second map has
    beyond the first, over all tables)."
options:
  _input:
    description: The first map (the source, or the state recorded at the switch).
    type: dict
    required: true
  other:
    description: The second map.
    type: dict
    required: true
  names:
    description: What to call the two sides in the sentences.
    type: list
    elements: str
    default: [in SQLite, in PostgreSQL]
author: launchbay maintainers
"""

EXAMPLES = r"""
differences: "{{ sqlite_digests | launchbay.webstack.migrate_sqlite_compare(pg_digests) }}"
"""

RETURN = r"""
_value:
  description: "V({problems, changed, new_rows})."
  type: dict
"""


def migrate_sqlite_compare(first, other, names=("in SQLite", "in PostgreSQL")):
    one, two = names
    problems, changed, new_rows = [], [], 0
    for table in sorted(set(first) | set(other)):
        a, b = first.get(table), other.get(table)
        if a is None or b is None:
            problems.append("%s: only %s" % (table, one if b is None else two))
        elif int(a["rows"]) != int(b["rows"]):
            problems.append("%s: %s rows %s, %s %s" % (table, a["rows"], one, b["rows"], two))
        elif str(a["digest"]) != str(b["digest"]):
            problems.append("%s: the same %s rows, different content" % (table, a["rows"]))
        else:
            continue
        changed.append(table)
        new_rows += max(0, int((b or {}).get("rows", 0)) - int((a or {}).get("rows", 0)))
    return {"problems": problems, "changed": changed, "new_rows": new_rows}


class FilterModule(object):
    def filters(self):
        return {"migrate_sqlite_compare": migrate_sqlite_compare}
