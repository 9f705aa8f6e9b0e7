# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who runs on this controller, and whether a run recorded earlier is provably gone.

A run's identity is the ansible-playbook process: the kernel's boot id, the PID namespace, the
PID and the process's start time (clock ticks since boot, so a PID used again by another
process does not pass for it). A run is gone only when it ran in this boot and in this PID
namespace (so this controller sees every process it could be) and no process has that PID with
that start time (or only a zombie of it). Anything else (another machine, a container with its
own PIDs, a reboot since, a record without these fields) is not judged: the caller keeps waiting
for the lock's TTL.
Private: no API promise."""

from __future__ import annotations

import multiprocessing
import os

PROC = "/proc"


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _stat(pid, proc):
    """(state, start time) from /proc/PID/stat: fields 3 and 22, after the command name, which may
    hold spaces and parens; None when there is no such process."""
    stat = _read(os.path.join(proc, str(pid), "stat"))
    if not stat or ")" not in stat:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if len(fields) <= 19 or not fields[19].isdigit():
        return None
    return fields[0], int(fields[19])


def _start_time(pid, proc):
    found = _stat(pid, proc)
    return found[1] if found else None


def _pid_namespace(proc):
    try:
        return os.readlink(os.path.join(proc, "self", "ns", "pid"))
    except OSError:
        return None


def playbook_pid():
    """The ansible-playbook process: templating runs in its forked workers, or in itself."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None else os.getpid()


def _here(proc):
    """(boot id, PID namespace) of this process, or None when /proc does not tell."""
    boot_id = _read(os.path.join(proc, "sys", "kernel", "random", "boot_id"))
    namespace = _pid_namespace(proc)
    return (boot_id, namespace) if boot_id and namespace else None


def identity(pid, proc=PROC):
    """The record of process `pid` on this machine, or None when /proc does not tell."""
    here = _here(proc)
    started = _start_time(pid, proc)
    if here is None or started is None:
        return None
    return {"boot_id": here[0], "pid_namespace": here[1], "pid": int(pid), "started": started}


def is_gone(record, proc=PROC):
    """True only when `record` (from identity()) names a process of this boot and PID namespace
    that no longer runs."""
    if not isinstance(record, dict):
        return False
    pid = record.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid < 1 or record.get("started") is None:
        return False
    if _here(proc) != (record.get("boot_id"), record.get("pid_namespace")):
        return False
    found = _stat(pid, proc)
    # a zombie (killed, not yet reaped by its parent) runs nothing any more
    return found is None or found[1] != record["started"] or found[0] in ("Z", "X")
