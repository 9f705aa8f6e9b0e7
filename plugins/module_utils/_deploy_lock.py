# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy lock: one JSON file per environment. Every read-decide-write happens under an
exclusive flock of a guard file beside it, so two runs never decide on the same state (two
runs breaking one stale lock: one wins, the other finds the winner's lock). Private: no API
promise."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time

from ansible_collections.launchbay.webstack.plugins.module_utils._files import read_json, write_atomically

LOCK_SUFFIX = ".lock"
# An empty or torn lock file (a disk that filled up, a hand edit) is stale this many seconds
# after it was last written.
UNREADABLE_TTL = 60


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
    renewed = holder.get("renewed_at")
    controller = holder.get("controller")
    return "%s (since %s, %ds ago%s, reason: %s%s)" % (
        holder.get("owner", "unknown"),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(holder.get("acquired_at", now))),
        age,
        ", renewed %ds ago" % int(now - renewed) if renewed else "",
        holder.get("reason") or "none given",
        ", ansible-playbook PID %s" % controller.get("pid") if isinstance(controller, dict) else "",
    )


class DeployLock(object):
    """A lock file `<directory>/<name>.lock` holding owner, token, reason and times.

    The token identifies one run: acquiring again with the same token succeeds without a
    change (a run may take the lock in several plays), another token is refused while the
    lock is held and not stale. The holder renews it (renewed_at) while the run is alive; it is
    stale `ttl` seconds after it was taken or last renewed. `clock` and `sleep` are injectable
    for tests.
    """

    def __init__(self, directory, name, clock=time.time, sleep=time.sleep):
        if not name or "/" in name or name.startswith("."):
            raise LockError("invalid lock name %r" % (name,))
        self.directory = directory
        self.name = name
        self.path = os.path.join(directory, name + LOCK_SUFFIX)
        self.guard = os.path.join(directory, "." + name + ".guard")
        self.clock = clock
        self.sleep = sleep

    @contextlib.contextmanager
    def _guarded(self, check_mode=False):
        """Hold the guard's flock (the kernel drops it when the process dies); check mode
        creates nothing, so it reads without it."""
        if check_mode:
            yield
            return
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        fd = os.open(self.guard, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def read(self):
        try:
            data = read_json(self.path)
            if data is None:
                return None
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
        # empty, torn or hand-edited: held by an unknown owner, stale soon after its last write
        try:
            written = os.stat(self.path).st_mtime
        except FileNotFoundError:
            return None
        return {"owner": "unknown (unreadable lock file)", "token": None, "acquired_at": written, "ttl": UNREADABLE_TTL}

    def is_stale(self, holder):
        ttl = holder.get("ttl") or 0
        last = max(holder.get("acquired_at") or 0, holder.get("renewed_at") or 0)
        return ttl > 0 and self.clock() > last + ttl

    def _write(self, record):
        write_atomically(self.path, json.dumps(record, sort_keys=True), mode=0o600, prefix="." + self.name + "-")

    def _remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def acquire(self, owner, token, reason="", ttl=3600, wait_timeout=0, break_stale=False, check_mode=False,
                controller=None, break_dead=None):
        """Returns (changed, lock, broken, waited). Raises LockError when held by another run.

        `controller` (the run's ansible-playbook process) is recorded. `break_dead` is the
        controller of a run the caller found gone: its lock is taken over, stale or not, but only
        while that run still holds it (broken["broken_because"] says "gone" or "stale")."""
        started = self.clock()
        delay = 0.5
        while True:
            with self._guarded(check_mode):
                holder = self.read()
                if holder is not None and holder.get("token") == token:
                    return False, holder, None, self.clock() - started
                broken = None
                if holder is not None and break_dead and holder.get("controller") == break_dead:
                    broken, holder = dict(holder, broken_because="gone"), None
                elif holder is not None and self.is_stale(holder):
                    if not break_stale:
                        raise LockError(
                            "the deploy lock %s is stale (not renewed within its TTL of %ss), held by %s; "
                            "break it explicitly with break_stale=true if that run is gone"
                            % (self.path, holder.get("ttl"), describe(holder, self.clock())),
                            holder,
                        )
                    broken, holder = dict(holder, broken_because="stale"), None
                if holder is None:
                    record = {"owner": owner, "token": token, "reason": reason, "acquired_at": self.clock(),
                              "ttl": ttl, "host": socket.gethostname()}
                    if controller:
                        record["controller"] = controller
                    if not check_mode:
                        self._write(record)
                    return True, record, broken, self.clock() - started
            # held by another run: wait outside the guard
            waited = self.clock() - started
            if waited >= wait_timeout:
                raise LockError(
                    "the deploy lock %s is held by %s%s"
                    % (self.path, describe(holder, self.clock()), "; waited %ds" % waited if wait_timeout else ""),
                    holder,
                )
            self.sleep(min(delay, max(wait_timeout - waited, 0.1)))
            delay = min(delay * 2, 10)

    def renew(self, token, check_mode=False):
        """The holder says it is alive. Returns (changed, lock). Raises LockError when this run
        no longer holds it (broken as stale by another run, or released by force)."""
        with self._guarded(check_mode):
            holder = self.read()
            if holder is None and check_mode:
                return False, None  # a run in check mode takes the lock without writing it
            if holder is None or holder.get("token") != token:
                raise LockError(
                    "this run no longer holds the deploy lock %s (%s): stop, and check what the other run did"
                    % (self.path, "it is free" if holder is None else "held by " + describe(holder, self.clock())),
                    holder,
                )
            holder = dict(holder, renewed_at=self.clock())
            if not check_mode:
                self._write(holder)
            return True, holder

    def release(self, token, force=False, check_mode=False):
        """Returns (changed, previous). Raises LockError when another run holds it (unless force)."""
        with self._guarded(check_mode):
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
        with self._guarded(check_mode):
            holder = self.read()
            if holder is None:
                return False, None
            if not check_mode:
                self._remove()
            return True, holder
