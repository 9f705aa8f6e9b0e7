# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: sqlite_mount
short_description: Find the volume that holds an app's SQLite file
version_added: 0.4.0
description:
  - Takes a C(sqlite:////path/in/container.db) URL and the app's mounts (C(app_volumes)), and
    returns the mount that holds the file, as C(source) (a volume name or a host path),
    C(kind) (V(volume) or V(bind)), C(container_path), C(relative) (the file's path inside the
    mount) and C(path) (the file's path in the container).
  - Raises an error that names the URL or the mounts when the URL is not a SQLite one or no
    mount holds the file (a file in the container's own layer is lost with the container).
options:
  _input:
    description: The app's database URL.
    type: str
    required: true
  volumes:
    description: The app's mounts, C(SOURCE:/path[:ro]).
    type: list
    elements: str
    required: true
author: launchbay maintainers
"""

EXAMPLES = r"""
migrate_sqlite_mount: "{{ 'sqlite:////data/app.db' | launchbay.webstack.sqlite_mount(['app_data:/data']) }}"
# {"source": "app_data", "kind": "volume", "container_path": "/data", "relative": "app.db", "path": "/data/app.db"}
"""

RETURN = r"""
_value:
  description: The mount holding the file.
  type: dict
"""

import posixpath
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError


def sqlite_mount(url, volumes):
    parts = urlsplit(url or "")
    if parts.scheme != "sqlite" or parts.netloc or not parts.path.startswith("//"):
        raise AnsibleFilterError("the app's DATABASE_URL must be sqlite:////absolute/path.db for a migration from SQLite")
    path = posixpath.normpath(parts.path[1:])
    best = None
    for entry in volumes or []:
        fields = entry.split(":")
        if len(fields) < 2:
            continue
        source, target = fields[0], posixpath.normpath(fields[1])
        if path.startswith(target.rstrip("/") + "/") and (best is None or len(target) > len(best["container_path"])):
            best = {
                "source": source,
                "kind": "bind" if source.startswith("/") else "volume",
                "container_path": target,
                "relative": posixpath.relpath(path, target),
                "path": path,
            }
    if best is None:
        raise AnsibleFilterError(
            "no entry of app_volumes holds %s (found %s): mount a volume there, like app_data:%s"
            % (path, volumes, posixpath.dirname(path))
        )
    return best


class FilterModule(object):
    def filters(self):
        return {"sqlite_mount": sqlite_mount}
