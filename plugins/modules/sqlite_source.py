#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sqlite_source
short_description: Read a SQLite database before a migration, and take a consistent copy of it
version_added: 0.2.0
description:
  - Opens a SQLite file read-only and reports what a migration needs to know about it
    ("PRAGMA integrity_check" and "PRAGMA foreign_key_check", its tables in foreign-key order with their columns and row
    counts, the app's schema version) and the free space where the copy and the new database go.
  - With O(copy_to), takes a consistent copy with SQLite's online backup API (mode 0600).
  - With O(digest_columns), computes each table's row count and content digest the way
    launchbay.webstack's PostgreSQL side does, so the two can be compared value by value.
options:
  path:
    description: The SQLite file on the host (for a file in a Docker volume, under the volume's mount point).
    type: path
    required: true
  copy_to:
    description: Take a consistent copy to this path (replaced if it exists). Digests are computed on the copy.
    type: path
  exclude:
    description: Tables left out of the listing and the digests (the app's own migration bookkeeping).
    type: list
    elements: str
    default: [schema_migrations]
  digest_columns:
    description:
      - "Tables to digest: V({table: [[column, postgresql_type], ...]}), the target schema's columns in order."
    type: dict
  space_paths:
    description: Paths whose file system's free bytes are reported (in RV(free_bytes)).
    type: list
    elements: path
    default: []
  integrity_check:
    description: Run "PRAGMA integrity_check" and "PRAGMA foreign_key_check" and fail when either reports a problem.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes
attributes:
  diff_mode:
    support: none
    details: Only O(copy_to) writes, a new file.
notes:
  - In check mode no copy is taken; everything else is read as usual.
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Check the app's SQLite file
  launchbay.webstack.sqlite_source:
    path: /var/lib/docker/volumes/app_data/_data/app.db
    space_paths: [/var/lib/launchbay]
  register: source

- name: Copy it while writes are paused, with the digests of the target's columns
  launchbay.webstack.sqlite_source:
    path: /var/lib/docker/volumes/app_data/_data/app.db
    copy_to: /var/lib/launchbay/migrate_sqlite/app/copy.db
    digest_columns:
      customers: [[id, bigint], [name, text], [vip, boolean], [born, date]]
"""

RETURN = r"""
integrity:
  description: The result of "PRAGMA integrity_check" (V(ok) when it passed; V(skipped) when not run).
  returned: always
  type: str
size_bytes:
  description: Size of the SQLite file.
  returned: always
  type: int
schema_version:
  description: The highest version in the app's schema_migrations table (0 without one).
  returned: always
  type: int
tables:
  description: The tables, parents before the tables whose foreign keys point at them.
  returned: always
  type: list
  elements: dict
  sample: [{name: customers, rows: 1000, columns: [id, name], references: []}]
digests:
  description: "V({table: {rows, digest}}) of O(digest_columns), computed on the copy when one was taken."
  returned: when O(digest_columns) is set
  type: dict
copy_sha256:
  description: SHA-256 of the copy.
  returned: when a copy was taken
  type: str
free_bytes:
  description: Free bytes of each of O(space_paths) (the nearest existing folder is asked).
  returned: always
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._sqlite_source import SqliteSource, SourceError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            copy_to=dict(type="path"),
            exclude=dict(type="list", elements="str", default=["schema_migrations"]),
            digest_columns=dict(type="dict"),
            space_paths=dict(type="list", elements="path", default=[]),
            integrity_check=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    source = SqliteSource(params["path"], exclude=params["exclude"])
    try:
        result = source.describe(integrity_check=params["integrity_check"])
        result["free_bytes"] = {path: source.free_bytes(path) for path in params["space_paths"]}
        digest_from = params["path"]
        changed = False
        if params["copy_to"] and not module.check_mode:
            result["copy_sha256"] = source.copy(params["copy_to"])
            digest_from = params["copy_to"]
            changed = True
        if params["digest_columns"]:
            result["digests"] = SqliteSource(digest_from).digests(params["digest_columns"])
    except SourceError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # noqa: BLE001 - report anything else with its trace
        module.fail_json(msg="reading %s failed: %s" % (params["path"], exc), exception=traceback.format_exc())
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
