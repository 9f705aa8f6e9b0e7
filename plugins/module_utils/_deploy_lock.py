# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy lock: one JSON file per environment, created atomically. Private: no API promise."""

from __future__ import annotations

import json
import os
import socket
import time

from ansible_collections.launchbay.webstack.plugins.module_utils._files import read_json

LOCK_SUFFIX = ".lock"


class LockError(Exception):
    """The lock cannot be taken or released; `holder` is the lock as found (or None)."""

    def __init__(self, message, holder=None):
        super(LockError, self).__init__(message)
        self.holder = holder


def describe(holder, now):
    """One line about a lock for error messages: who, since when, why."""
    if not holder:
        return "nobody"
    age = int(now - holder.get("acquired_at", now))
    return "%s (since %s, %ds ago, reason: %s)" % (
        holder.get("owner", "unknown"),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(holder.get("acquired_at", now))),
        age,
        holder.get("reason") or "none given",
    )


class DeployLock(object):
    """A lock file `<directory>/<name>.lock` holding owner, token, reason and times.

    The token identifies one run: acquiring again with the same token succeeds without a
    change (a run may take the lock in several plays), another token is refused while the
    lock is held and not stale. `clock` and `sleep` are injectable for tests.
    """

    def __init__(self, directory, name, clock=time.time, sleep=time.sleep):
        if not name or "/" in name or name.startswith("."):
            raise LockError("invalid lock name %r" % (name,))
        self.directory = directory
        self.path = os.path.join(directory, name + LOCK_SUFFIX)
        self.clock = clock
        self.sleep = sleep

    def read(self):
        try:
            data = read_json(self.path)
            if data is None:
                return None
        except ValueError:
            # a torn or hand-edited file: treat it as held by an unknown owner, long ago
            return {"owner": "unknown (unreadable lock file)", "token": None, "acquired_at": 0, "ttl": 0}
        return data if isinstance(data, dict) else {"owner": "unknown", "token": None, "acquired_at": 0, "ttl": 0}

    def is_stale(self, holder):
        ttl = holder.get("ttl") or 0
        return ttl > 0 and self.clock() > holder.get("acquired_at", 0) + ttl

    def _write_new(self, record):
        """Create the file only if it does not exist (atomic on local filesystems)."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, sort_keys=True)
        return True

    def _remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def acquire(self, owner, token, reason="", ttl=3600, wait_timeout=0, break_stale=False, check_mode=False):
        """Returns (changed, lock, broken, waited). Raises LockError when held by another run."""
        started = self.clock()
        delay = 0.5
        broken = None
        while True:
            holder = self.read()
            if holder is not None and holder.get("token") == token:
                return False, holder, None, self.clock() - started
            if holder is not None and self.is_stale(holder):
                if not break_stale:
                    raise LockError(
                        "the deploy lock %s is stale (older than its TTL of %ss), held by %s; "
                        "break it explicitly with break_stale=true if that run is gone"
                        % (self.path, holder.get("ttl"), describe(holder, self.clock())),
                        holder,
                    )
                if not check_mode:
                    self._remove()
                broken = holder
                holder = None
            record = {
                "owner": owner,
                "token": token,
                "reason": reason,
                "acquired_at": self.clock(),
                "ttl": ttl,
                "host": socket.gethostname(),
            }
            if holder is None:
                if check_mode or self._write_new(record):
                    return True, record, broken, self.clock() - started
                continue  # another run created it between read and write: look again
            waited = self.clock() - started
            if waited >= wait_timeout:
                raise LockError(
                    "the deploy lock %s is held by %s%s"
                    % (self.path, describe(holder, self.clock()), "; waited %ds" % waited if wait_timeout else ""),
                    holder,
                )
            self.sleep(min(delay, max(wait_timeout - waited, 0.1)))
            delay = min(delay * 2, 10)

    def release(self, token, force=False, check_mode=False):
        """Returns (changed, previous). Raises LockError when another run holds it (unless force)."""
        holder = self.read()
        if holder is None:
            return False, None
        if holder.get("token") != token and not force:
            raise LockError(
                "not releasing the deploy lock %s: it is held by %s, not by this run"
                % (self.path, describe(holder, self.clock())),
                holder,
            )
        if not check_mode:
            self._remove()
        return True, holder

    def break_lock(self, check_mode=False):
        """Remove the lock whoever holds it. Returns (changed, previous)."""
        holder = self.read()
        if holder is None:
            return False, None
        if not check_mode:
            self._remove()
        return True, holder
