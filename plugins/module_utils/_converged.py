# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record a role leaves on a host after a full, successful run, and the proof that
nothing it depends on changed since. Private: no API promise.

A record holds, for one role on one host:
- the role's inputs: one keyed digest per variable (HMAC-SHA256 with a random key kept on
  the host, mode 0600; the controller sends SHA-256 digests, never values), and one for the
  role's code (its files and the collection's plugins);
- the state it left: each managed file's SHA-256, mode and owner (or its absence), each
  container's ID and whether it ran, each network's ID.

`check` compares all of it with now and answers (True, "") or (False, the first difference
in words). A record older than `max_age` seconds is not trusted (a full run repairs drift
the record cannot see, such as a database user dropped by hand, at least that often).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import time

from ansible_collections.launchbay.webstack.plugins.module_utils._docker_api import DockerError
from ansible_collections.launchbay.webstack.plugins.module_utils._files import read_json, write_atomically

KEY_FILE = ".key"


def file_state(path):
    """What a file is now: its SHA-256, mode and owner, or absent."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return {"absent": True}
    if stat.S_ISDIR(info.st_mode):
        return {"dir": True, "mode": "%04o" % stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "mode": "%04o" % stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}


def container_state(docker, name):
    """A container's ID and whether it runs, or absent."""
    info = docker.inspect(name)
    if not info:
        return {"absent": True}
    return {"id": info["Id"], "running": bool(info["State"].get("Running"))}


def network_state(docker, name):
    info = docker.network(name)
    return {"id": info["Id"]} if info else {"absent": True}


class ConvergedRecord(object):
    """The records of one host, in `directory` (one JSON file per role, mode 0600)."""

    def __init__(self, directory, docker=None, now=time.time):
        self.directory = directory
        self.docker = docker
        self.now = now

    def _key(self, create):
        path = os.path.join(self.directory, KEY_FILE)
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            if not create:
                return None
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key

    def path(self, name):
        return os.path.join(self.directory, "%s.json" % name)

    @staticmethod
    def _keyed(key, digests):
        return dict((name, hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest())
                    for name, value in digests.items())

    def state(self, files=(), containers=(), networks=()):
        """What the role's resources are now."""
        found = {"files": dict((path, file_state(path)) for path in files)}
        if containers or networks:
            found["containers"] = dict((name, container_state(self.docker, name)) for name in containers)
            found["networks"] = dict((name, network_state(self.docker, name)) for name in networks)
        return found

    def check(self, name, inputs, files=(), containers=(), networks=(), max_age=86400):
        """(True, "") when the record of `name` matches the inputs and the state now, else
        (False, why)."""
        try:
            record = read_json(self.path(name))
        except ValueError:
            return False, "the record of the last full run cannot be read"
        key = self._key(create=False)
        if not record or key is None:
            return False, "no record of a full run on this host"
        age = self.now() - float(record.get("recorded_at", 0))
        if age > max_age or age < -60:
            return False, "the record of the last full run is %d hours old (at most %d)" % (age // 3600, max_age // 3600)
        keyed = self._keyed(key, inputs)
        before = record.get("inputs", {})
        changed = sorted(set(keyed) ^ set(before)) + sorted(k for k in keyed if k in before and keyed[k] != before[k])
        if changed:
            return False, "changed since the last full run: %s" % ", ".join(changed[:8])
        try:
            now = self.state(files, containers, networks)
        except DockerError as exc:
            return False, "the Docker engine cannot tell: %s" % exc
        for kind in ("files", "containers", "networks"):
            was = record.get("state", {}).get(kind, {})
            for item, current in sorted(now.get(kind, {}).items()):
                if item not in was:
                    return False, "%s %s is not in the record" % (kind[:-1], item)
                if was[item] != current:
                    return False, "%s %s changed since the last full run (%s, was %s)" % (
                        kind[:-1], item, describe(current), describe(was[item]))
        return True, ""

    def record(self, name, inputs, files=(), containers=(), networks=()):
        """Write the record of a full run that just ended well; the record written."""
        key = self._key(create=True)
        record = {"recorded_at": self.now(), "inputs": self._keyed(key, inputs),
                  "state": self.state(files, containers, networks)}
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        write_atomically(self.path(name), json.dumps(record, indent=1, sort_keys=True) + "\n", 0o600)
        return record

    def forget(self, name):
        """Remove the record (the next run is a full one); whether there was one."""
        try:
            os.unlink(self.path(name))
            return True
        except FileNotFoundError:
            return False


def describe(state):
    """A resource's state in a few words (for the reason a role runs in full)."""
    if state.get("absent"):
        return "absent"
    if "sha256" in state:
        return "sha256 %s…, mode %s, owner %s:%s" % (state["sha256"][:12], state["mode"], state["uid"], state["gid"])
    if "running" in state:
        return "id %s, %s" % (state["id"][:12], "running" if state["running"] else "stopped")
    if state.get("dir"):
        return "folder, mode %s, owner %s:%s" % (state["mode"], state["uid"], state["gid"])
    return "id %s" % state.get("id", "?")[:12]
