# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Point-in-time recovery with pgBackRest: base backups, the repository's state, and the
extraction of a point in time in a scratch container, copied into new live databases."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import time

from .config import BackupError
from .crypto import Pipeline
from .database import ScratchServer, compare_counts, create_database, drop_database, psql, row_counts, run_checks


def pgbackrest(cfg, args, timeout=6 * 3600, check=True):
    argv = ["pgbackrest", "--config=" + cfg.pgbackrest["config"], "--stanza=" + cfg.pgbackrest["stanza"]] + args
    # errors="replace": a repository encrypted with another passphrase makes pgBackRest print binary garbage
    res = subprocess.run(argv, capture_output=True, encoding="utf-8", errors="replace", timeout=timeout, check=False)
    if check and res.returncode != 0:
        detail = (res.stderr or res.stdout).strip()[-1200:]
        raise BackupError("pgbackrest %s failed (%s): %s" % (args[0], res.returncode, detail))
    return res


def pitr_info(cfg):
    res = pgbackrest(cfg, ["info", "--output=json"], timeout=300)
    try:
        info = json.loads(res.stdout or "[]")
    except ValueError:
        raise BackupError("pgBackRest cannot read the repository of stanza %s (is backups_pitr_cipher_pass the one it "
                          "was created with?): %s" % (cfg.pgbackrest["stanza"], (res.stdout + res.stderr).strip()[-300:]))
    stanza = info[0] if info else {}
    backups = [{"label": b["label"], "type": b["type"], "start": b["timestamp"]["start"],
                "stop": b["timestamp"]["stop"], "size": (b.get("info") or {}).get("size", 0)}
               for b in stanza.get("backup", [])]
    archive = (stanza.get("archive") or [{}])[-1]
    return {"status": (stanza.get("status") or {}).get("message"), "code": (stanza.get("status") or {}).get("code"),
            "backups": backups,
            "wal_min": archive.get("min"), "wal_max": archive.get("max")}


def utc_text(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00")


def window_problem(target, now, backups):
    """Why a recovery to the epoch `target` cannot be done, or None. The window runs from the end
    of the oldest base backup (the first consistent state) to the server's present."""
    if not backups:
        return "the repository has no base backup yet, so there is no point in time to recover to"
    oldest = min(b["stop"] for b in backups)
    window = "the recoverable window is %s to %s (now)" % (utc_text(oldest), utc_text(now))
    if target > now:
        return "restore_target_time %s is in the future: %s" % (utc_text(target), window)
    if target < oldest:
        return "restore_target_time %s is before the oldest base backup ended: %s" % (utc_text(target), window)
    return None


def restored_size(backups, label=None):
    """Bytes the cluster takes once pgBackRest restored a base backup: the one named `label`,
    else the largest (a point in time may start from any of them; they only grow apart)."""
    sizes = [b["size"] for b in backups if not label or b["label"] == label]
    return max(sizes) if sizes else 0


def scratch_space_problem(free, need, path):
    """Why the scratch volume cannot hold the restored cluster, or None (a tenth more than
    the base backup for the WAL that recovery writes and replays)."""
    need = int(need * 1.1)
    if free >= need:
        return None
    return ("not enough space for the restore's scratch copy of the cluster: %s has %d MiB free, the base backup restores "
            "to %d MiB; free space under Docker's data root or put the scratch volume on a disk with room "
            "(restore_scratch_volume_options)" % (path, free // 2**20, need // 2**20))


def cmd_pitr_window(cfg, args, client=None):
    """In the live server's container: is the target time inside the recoverable window?
    PostgreSQL itself reads the time, as recovery will."""
    if args.stanza:
        cfg.pgbackrest["stanza"] = args.stanza
    backups = pitr_info(cfg)["backups"]
    row = psql(["-U", cfg.superuser, "-d", "postgres", "-v", "t=" + args.target_time],
               "SELECT extract(epoch FROM :'t'::timestamptz)::float8, extract(epoch FROM now())::float8;\n", timeout=60)
    target, now = (float(x) for x in row.strip().split("|"))
    problem = window_problem(target, now, backups)
    if problem:
        raise BackupError(problem)
    return {"target": utc_text(target), "from": utc_text(min(b["stop"] for b in backups)), "to": utc_text(now)}


# pg_stat_archiver, the WAL waiting in pg_wal (.ready) and pg_wal's size, on the live server
ARCHIVER_SQL = """
SELECT a.archived_count, COALESCE(a.last_archived_wal, ''), COALESCE(extract(epoch FROM a.last_archived_time), 0)::float8,
       a.failed_count, COALESCE(a.last_failed_wal, ''), COALESCE(extract(epoch FROM a.last_failed_time), 0)::float8,
       extract(epoch FROM now())::float8,
       (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'),
       (SELECT COALESCE(sum(size), 0) FROM pg_ls_waldir())::bigint
  FROM pg_stat_archiver a;
"""
ARCHIVER_FIELDS = ("archived_count", "last_archived_wal", "last_archived_time", "failed_count", "last_failed_wal",
                   "last_failed_time", "now", "waiting", "pg_wal_bytes")


def archive_problems(stats, max_lag_seconds):
    """What an operator must know about WAL archiving, from `stats` (ARCHIVER_FIELDS): failing
    since when, or lagging; each says up to when point-in-time recovery can reach."""
    problems = []
    archived = stats["last_archived_time"]
    reach = ("point-in-time recovery cannot reach past %s until archiving catches up" % utc_text(archived)
             if archived else "no WAL was ever archived: there is no point in time to recover to")
    queue = "%d WAL segments wait in pg_wal (%d MiB in pg_wal)" % (stats["waiting"], stats["pg_wal_bytes"] // (1024 * 1024))
    if stats["last_failed_time"] and stats["last_failed_time"] >= archived:
        problems.append("WAL archiving is failing (%d failures, the last on %s at %s); %s; %s"
                        % (stats["failed_count"], stats["last_failed_wal"], utc_text(stats["last_failed_time"]), queue, reach))
    elif stats["waiting"] and stats["now"] - (archived or 0) > max_lag_seconds:
        problems.append("WAL archiving lags: nothing archived for %d minutes; %s; %s"
                        % ((stats["now"] - (archived or 0)) // 60, queue, reach))
    return problems


DROPPED_RE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\S* .*WARN: dropped WAL file '([0-9A-F]{24})'")


def dropped_wal(lines):
    """[(epoch, segment)] of the WAL files pgBackRest's asynchronous archive-push dropped (its
    log, one warning per file) because the queue exceeded archive-push-queue-max."""
    found = []
    for line in lines:
        match = DROPPED_RE.match(line)
        if match:
            when = datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
            found.append((when.timestamp(), match.group(2)))
    return found


def dropped_problem(dropped, backups):
    """The WAL dropped after the start of the newest base backup: recovery cannot cross it, so no
    time from before the first drop until the end of the next base backup can be restored."""
    newest = max((b["start"] for b in backups), default=0)
    unhealed = [(when, segment) for when, segment in dropped if when >= newest]
    if not unhealed:
        return None
    return ("pgBackRest dropped %d WAL segments (%s to %s, between %s and %s) to keep pg_wal under archive-push-queue-max "
            "while archiving failed: point-in-time recovery cannot cross them, so no time from before %s (back to when "
            "archiving began failing) until the end of the next base backup can be restored; take a full base backup now "
            "(playbooks/backup.yml -e backups_run_pitr_type=full)" % (
                len(unhealed), unhealed[0][1], unhealed[-1][1], utc_text(unhealed[0][0]), utc_text(unhealed[-1][0]),
                utc_text(unhealed[0][0])))


def cmd_archive_check(cfg, args, client=None):
    """On the live server: alert when WAL archiving fails or lags (pg_stat_archiver), and when
    pgBackRest dropped WAL that no base backup has covered since."""
    row = psql(["-U", cfg.superuser, "-d", "postgres"], ARCHIVER_SQL, timeout=60).strip().split("|")
    stats = dict(zip(ARCHIVER_FIELDS, row))
    for key in ("archived_count", "failed_count", "waiting", "pg_wal_bytes"):
        stats[key] = int(stats[key])
    for key in ("last_archived_time", "last_failed_time", "now"):
        stats[key] = float(stats[key])
    problems = archive_problems(stats, args.max_lag_minutes * 60)
    log = os.path.join(cfg.pgbackrest.get("log_path") or "/tmp",
                       "%s-archive-push-async.log" % cfg.pgbackrest["stanza"])
    try:
        with open(log, encoding="utf-8", errors="replace") as handle:
            dropped = dropped_wal(handle)
    except FileNotFoundError:
        dropped = []
    if dropped:
        problem = dropped_problem(dropped, pitr_info(cfg)["backups"])
        if problem:
            problems.append(problem)
    if problems:
        raise BackupError("; ".join(problems))
    return {"archiver": stats}


def cmd_pitr_backup(cfg, args, client=None):
    started = time.monotonic()
    pgbackrest(cfg, ["backup", "--type=" + args.type])
    info = pitr_info(cfg)
    return {"type": args.type, "seconds": round(time.monotonic() - started, 2), "latest": (info["backups"] or [None])[-1],
            "backups": len(info["backups"])}


def cmd_pitr_extract(cfg, args, client=None):
    """pgBackRest restore into this scratch container, then copy the databases to the live server."""
    started = time.monotonic()
    datadir, timeout = args.datadir, int(args.timeout_minutes * 60)
    stat = os.statvfs(datadir)
    problem = scratch_space_problem(stat.f_bavail * stat.f_frsize, restored_size(pitr_info(cfg)["backups"], args.set), datadir)
    if problem:
        raise BackupError(problem)
    restore = ["restore", "--pg1-path=" + datadir, "--archive-mode=off"]
    if args.target_time:
        restore += ["--type=time", "--target=" + args.target_time, "--target-action=promote"]
    elif args.set:
        restore += ["--set=" + args.set, "--type=immediate", "--target-action=promote"]
    pgbackrest(cfg, restore, timeout=timeout)
    server = ScratchServer(datadir)
    server.start(timeout=timeout)
    live_env = dict(os.environ)
    with open(args.live_password_file, encoding="utf-8") as handle:
        live_env["PGPASSWORD"] = handle.read().strip()
    live = ["-h", args.live_host, "-p", str(args.live_port), "-U", cfg.superuser]
    created, out = [], {}
    try:
        server.wait_promoted(timeout)
        recovered_to = psql(server.conn + ["-d", "postgres", "-c",
                                           "SELECT COALESCE(pg_last_xact_replay_timestamp()::text, '')"]).strip()
        for pair in args.database:
            source, _sep, into = pair.partition("=")
            owner = psql(server.conn + ["-d", "postgres", "-v", "db=" + source],
                         "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db';\n").strip()
            if not owner:
                raise BackupError("database %s is not in the backup" % source)
            expected = row_counts(server.conn + ["-d", source])
            create_database(live, into, owner, env=live_env, like=source)
            created.append(into)
            pipeline = Pipeline([("pg_dump", ["pg_dump", "--format=custom", "--compress=0"] + server.conn + ["-d", source]),
                                 ("pg_restore", ["pg_restore", "--exit-on-error", "--single-transaction"] + live
                                  + ["-d", into])], env=live_env)
            # pg_restore into a database writes nothing on stdout
            pipeline.stdout.close()
            failures = pipeline.wait(timeout=timeout)
            if failures:
                raise BackupError("copying %s failed: %s" % (source, "; ".join(failures)))
            actual = row_counts(live + ["-d", into], env=live_env)
            compare_counts(expected, actual, "copy of %s into %s" % (source, into))
            checks = run_checks(live, into, args.check or [], env=live_env)
            out[source] = {"database": into, "row_counts": actual, "checks": checks}
    except BaseException:
        for name in created:
            drop_database(live, name, env=live_env)
        raise
    finally:
        server.stop()
    return {"databases": out, "recovered_to": recovered_to, "target_time": args.target_time, "set": args.set,
            "seconds": round(time.monotonic() - started, 2)}
