# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tool's results as Prometheus metrics, for the node exporter's textfile collector: each
job's last run (success or failure, when) and the newest backup of each kind. The monitoring
role's alerts BackupFailed, BackupStale and BaseBackupStale read them.

The state of earlier runs is kept beside the metrics (launchbay_backup.json), so one job's run
keeps what the others reported. Both files are replaced atomically: the collector never reads
half a file. Writing them never fails a backup."""

from __future__ import annotations

import json
import os
import tempfile
import time

from .config import id_time

STATE_FILE = "launchbay_backup.json"
METRICS_FILE = "launchbay_backup.prom"

HELP = {
    "launchbay_backup_last_run_success": "1 when the job's last run succeeded, 0 when it failed.",
    "launchbay_backup_last_run_timestamp_seconds": "When the job last ran.",
    "launchbay_backup_last_success_timestamp_seconds": "When the job last succeeded.",
    "launchbay_backup_newest_timestamp_seconds": "When the newest backup of this kind (and database) was taken.",
    "launchbay_backup_newest_bytes": "Size of the newest backup of this kind (and database).",
}


def newest_backups(command, result):
    """[(key, labels, unix time, bytes)] of the backups a successful run reports."""
    found = []
    if command == "logical":
        for database, manifest in sorted((result.get("backups") or {}).items()):
            found.append(("logical/" + database, {"kind": "logical", "database": database},
                          id_time(manifest["id"]).timestamp(), manifest.get("bytes")))
    elif command == "freshness":
        for database, report in sorted((result.get("fresh") or {}).items()):
            if database != "pgbackrest" and report:
                found.append(("logical/" + database, {"kind": "logical", "database": database},
                              id_time(report["newest"]).timestamp(), None))
    elif command == "pitr-backup" and result.get("latest"):
        found.append(("base", {"kind": "base"}, float(result["latest"]["stop"]), result["latest"].get("size")))
    return found


def update_state(state, command, result, failed, now):
    job = state.setdefault("jobs", {}).setdefault(command, {})
    job["last_run"] = now
    job["success"] = 0 if failed else 1
    if not failed:
        job["last_success"] = now
        newest = state.setdefault("newest", {})
        for key, labels, when, size in newest_backups(command, result or {}):
            known = newest.get(key) or {}
            if when >= known.get("time", 0):
                newest[key] = {"labels": labels, "time": when, "bytes": size if size is not None else known.get("bytes")}
    return state


def _labels(labels):
    return "{%s}" % ",".join('%s="%s"' % (k, str(v).replace("\\", "\\\\").replace('"', '\\"')) for k, v in sorted(labels.items()))


def render(state):
    samples = {name: [] for name in HELP}
    for name, job in sorted((state.get("jobs") or {}).items()):
        labels = _labels({"job_name": name})
        samples["launchbay_backup_last_run_success"].append((labels, job["success"]))
        samples["launchbay_backup_last_run_timestamp_seconds"].append((labels, job["last_run"]))
        if "last_success" in job:
            samples["launchbay_backup_last_success_timestamp_seconds"].append((labels, job["last_success"]))
    for _key, backup in sorted((state.get("newest") or {}).items()):
        labels = _labels(backup["labels"])
        samples["launchbay_backup_newest_timestamp_seconds"].append((labels, backup["time"]))
        if backup.get("bytes") is not None:
            samples["launchbay_backup_newest_bytes"].append((labels, backup["bytes"]))
    lines = []
    for name, rows in samples.items():
        if rows:
            lines += ["# HELP %s %s" % (name, HELP[name]), "# TYPE %s gauge" % name]
            lines += ["%s%s %s" % (name, labels, repr(float(value))) for labels, value in rows]
    return "\n".join(lines) + "\n"


def _replace(directory, name, text):
    fd, tmp = tempfile.mkstemp(prefix=".%s." % name, dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(directory, name))
    except BaseException:
        os.unlink(tmp)
        raise


def record(directory, command, result, failed, now=None):
    """Add this run to the metrics in `directory`. Returns a problem to report, or None."""
    if not directory:
        return None
    try:
        try:
            with open(os.path.join(directory, STATE_FILE), encoding="utf-8") as handle:
                state = json.load(handle)
        except (FileNotFoundError, ValueError):
            state = {}
        state = update_state(state, command, result, failed, now if now is not None else time.time())
        _replace(directory, STATE_FILE, json.dumps(state, sort_keys=True))
        _replace(directory, METRICS_FILE, render(state))
    except OSError as exc:
        return "metrics not written to %s: %s" % (directory, exc)
    return None
