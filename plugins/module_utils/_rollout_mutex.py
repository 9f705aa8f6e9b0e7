# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One rollout of an app at a time on a host, whoever started it.

The deploy lock keeps two runs apart, but a run that takes over the lock of a run whose
controller died (or breaks a stale one) may find that run's module still at work on the host:
an SSH session or an Ansible worker outlives a killed ansible-playbook. The rollout modules
therefore hold an exclusive flock of `<directory>/<app>.rollout` while they decide and act.
The kernel drops it when the holding process ends, however it ends, so a wait on a holder that
died ends at once; a live holder is waited for at most `timeout` seconds, then the module fails
naming its PID. Check mode changes nothing and takes nothing.
Private: no API promise."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time

DIRECTORY = "/run/launchbay"


class RolloutBusy(Exception):
    pass


def _holder(fd):
    """What the holder wrote of itself ({} when nothing readable)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder, now):
    if not holder.get("pid"):
        return "another process"
    return "process %s (%s, for %ds)" % (holder["pid"], holder.get("what") or "a rollout", int(now - holder.get("since", now)))


@contextlib.contextmanager
def rollout_mutex(app, what, timeout, check_mode=False, directory=DIRECTORY, clock=time.time, sleep=time.sleep):
    """Hold the app's rollout flock for the block; yields a list of events (the wait, if any).

    Raises RolloutBusy when another live process holds it for more than `timeout` seconds."""
    events = []
    if check_mode:
        yield events
        return
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(directory, app + ".rollout"), os.O_RDWR | os.O_CREAT, 0o600)
    acquired = False
    try:
        began = clock()
        holder = None
        delay = 0.05
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                acquired = True
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            holder = _holder(fd) or holder or {}
            waited = clock() - began
            if waited >= timeout:
                raise RolloutBusy("another rollout of %s runs on this host: %s still holds %s after %ds of waiting; "
                                  "a run whose controller died leaves its module running until it ends"
                                  % (app, _describe(holder, clock()), os.path.join(directory, app + ".rollout"), int(waited)))
            sleep(min(delay, max(timeout - waited, 0.01)))
            delay = min(delay * 2, 0.5)
        if holder is not None:
            events.append("waited %.1fs for the rollout of %s to end" % (clock() - began, _describe(holder, clock())))
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps({"pid": os.getpid(), "since": clock(), "what": what}).encode("utf-8"))
        yield events
    finally:
        if acquired:  # the next waiter must not read a holder that has ended
            os.ftruncate(fd, 0)
        os.close(fd)
