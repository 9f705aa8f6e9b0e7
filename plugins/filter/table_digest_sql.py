# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: table_digest_sql
short_description: The PostgreSQL query giving each table's row count and content digest
version_added: 0.4.0
description:
  - "Builds one query whose single value is JSON, V({table: {rows, digest}}), computed the way
    launchbay.webstack.sqlite_source computes it from a SQLite file, so the two compare."
options:
  _input:
    description: "V({table: [[column, postgresql_type], ...]})."
    type: dict
    required: true
author: launchbay maintainers
"""

EXAMPLES = r"""
digest_query: "{{ {'customers': [['id', 'bigint'], ['name', 'text']]} | launchbay.webstack.table_digest_sql }}"
"""

RETURN = r"""
_value:
  description: The query (no trailing semicolon).
  type: str
"""

from ansible_collections.launchbay.webstack.plugins.module_utils._table_digest import pg_digest_query


class FilterModule(object):
    def filters(self):
        return {"table_digest_sql": pg_digest_query}
