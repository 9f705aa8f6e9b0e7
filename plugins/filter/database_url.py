# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: database_url
short_description: Build a PostgreSQL connection URL with its user and password encoded
version_added: 0.3.0
description:
  - Builds C(postgresql://USER:PASSWORD@HOST:PORT/DATABASE) from its parts, percent-encoding the
    user, the password and the database name, so a password holding C(@), C(:), C(/), C(#),
    C(?), C(%), spaces, newlines or non-ASCII characters arrives byte-exact at the app (libpq
    and every URL parser decode it).
  - Raises an error naming a missing or empty part.
options:
  _input:
    description: "The parts: C(user), C(password), C(host), C(database), and optionally C(port) (5432) and C(scheme)."
    type: dict
    required: true
author: launchbay maintainers
"""

EXAMPLES = r"""
app_secrets:
  DATABASE_URL: >-
    {{ {'user': postgres_initial_user, 'password': vault_postgres_app_password, 'host': 'launchbay_postgres',
        'database': postgres_initial_database} | launchbay.webstack.database_url }}
"""

RETURN = r"""
_value:
  description: The URL.
  type: str
"""

from urllib.parse import quote

from ansible.errors import AnsibleFilterError


def database_url(parts):
    if not isinstance(parts, dict):
        raise AnsibleFilterError("database_url: expects a dict of user, password, host, database, got %s" % type(parts).__name__)
    missing = [k for k in ("user", "password", "host", "database") if not str(parts.get(k) or "")]
    if missing:
        raise AnsibleFilterError("database_url: missing or empty: %s" % ", ".join(missing))
    port = parts.get("port") or 5432
    if isinstance(port, bool) or not str(port).isdigit():
        raise AnsibleFilterError("database_url: port must be a number, got %r" % (port,))
    return "%s://%s:%s@%s:%s/%s" % (
        parts.get("scheme") or "postgresql",
        quote(str(parts["user"]), safe=""),
        quote(str(parts["password"]), safe=""),
        parts["host"],
        port,
        quote(str(parts["database"]), safe=""),
    )


class FilterModule(object):
    def filters(self):
        return {"database_url": database_url}
