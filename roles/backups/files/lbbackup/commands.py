# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commands on logical backups: dump every database, retention, listing, freshness,
restore a dump, the restore drill, and the role's setup check."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
import time

from .config import BackupError, backup_id, id_time
from .database import ScratchServer, create_database, drop_database, server_databases
from .logical import apply_retention, choose_backup, dump_database, pin_backup, restore_checked
from .pitr import pitr_info
from .transport import list_backups, list_databases_in_bucket, s3_client


def cmd_logical(cfg, args, client=None):
    client = client or s3_client(cfg)
    conn = ["-U", cfg.superuser]
    results, failures = {}, []
    try:
        databases = args.database or server_databases(cfg, conn)
    except BackupError as exc:
        raise BackupError("listing the databases failed: %s" % exc)
    # one id for the whole run: a named restore (restore_from=ID) finds every database's dump
    now = datetime.datetime.now(datetime.timezone.utc)
    for database in databases:
        try:
            manifest = dump_database(cfg, client, database, conn, now=now)
            if args.keep_days:
                manifest["pin"] = pin_backup(cfg, client, database, manifest["id"], args.keep_days, args.reason)
            manifest["retention"] = apply_retention(cfg, client, database)
            results[database] = manifest
        except Exception as exc:  # pylint: disable=broad-except
            failures.append((database, str(exc)))
    if failures:
        raise BackupError("; ".join("database %s: %s" % f for f in failures),) from None
    return {"backups": results}


def cmd_freshness(cfg, args, client=None, now=None):
    client = client or s3_client(cfg)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    limit = datetime.timedelta(hours=args.max_age_hours or cfg.freshness_hours)
    databases = args.database or cfg.databases or list_databases_in_bucket(client, cfg)
    report, stale = {}, []
    if not databases:
        stale.append("no logical backup at all under s3://%s/%s" % (cfg.s3["bucket"], cfg.logical_prefix("")))
    for database in databases:
        backups = list_backups(client, cfg, database)
        if not backups:
            stale.append("database %s: no logical backup" % database)
            report[database] = None
            continue
        age = now - id_time(backups[0]["id"])
        report[database] = {"newest": backups[0]["id"], "age_hours": round(age.total_seconds() / 3600, 2)}
        if age > limit:
            stale.append("database %s: newest backup %s is %.1f h old (limit %.1f h)"
                         % (database, backups[0]["id"], age.total_seconds() / 3600, limit.total_seconds() / 3600))
    if cfg.pgbackrest.get("enabled") and not args.logical_only:
        info = pitr_info(cfg)
        if not info["backups"]:
            stale.append("pgBackRest: no base backup")
        else:
            stop = datetime.datetime.fromtimestamp(info["backups"][-1]["stop"], datetime.timezone.utc)
            age = now - stop
            report["pgbackrest"] = {"newest": info["backups"][-1]["label"], "age_hours": round(age.total_seconds() / 3600, 2),
                                    "wal_max": info["wal_max"]}
            full_limit = limit * 8  # base backups are weekly full + daily differential
            if age > full_limit:
                stale.append("pgBackRest: newest base backup %s is %.1f h old"
                             % (info["backups"][-1]["label"], age.total_seconds() / 3600))
    if stale:
        raise BackupError("backups are stale: " + "; ".join(stale))
    return {"fresh": report}


def cmd_list(cfg, args, client=None):
    client = client or s3_client(cfg)
    databases = args.database or list_databases_in_bucket(client, cfg, source=True)
    out = {"logical": {db: list_backups(client, cfg, db, source=True) for db in databases}}
    if cfg.pgbackrest.get("enabled"):
        out["pgbackrest"] = pitr_info(cfg)
    return out


def cmd_retention(cfg, args, client=None):
    client = client or s3_client(cfg)
    databases = args.database or list_databases_in_bucket(client, cfg)
    return {"retention": {db: apply_retention(cfg, client, db) for db in databases}}


def cmd_init(cfg, args, client=None):
    """What the role checks on every apply, in one call: the tools in this image, the bucket
    (created when allowed), and the state of the pgBackRest stanza."""
    needed = ["pg_dump", "pg_restore", "psql", "gpg"] + (["pgbackrest"] if cfg.pgbackrest.get("enabled") else [])
    missing = [tool for tool in needed if not shutil.which(tool)]
    if missing:
        raise BackupError("the PostgreSQL image lacks %s (backups_postgres_image / postgres_image must provide "
                          "pg_dump, gpg, pgbackrest and python3-boto3)" % ", ".join(missing))
    client = client or s3_client(cfg)
    bucket = cfg.s3["bucket"]
    out = {"bucket": bucket, "created": False}
    try:
        client.head_bucket(Bucket=bucket)
    except Exception as exc:  # pylint: disable=broad-except
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code not in ("404", "NoSuchBucket", "NotFound") or not args.create_bucket:
            raise BackupError("the bucket %s cannot be used: %s" % (bucket, exc))
        client.create_bucket(Bucket=bucket)
        out["created"] = True
    if cfg.pgbackrest.get("enabled"):
        info = pitr_info(cfg)
        out["stanza"] = {"code": info["code"], "status": info["status"], "backups": len(info["backups"])}
    return out


def cmd_restore_logical(cfg, args, client=None):
    client = client or s3_client(cfg)
    conn = ["-U", cfg.superuser]
    backup = choose_backup(client, cfg, args.source_database, args.backup)
    started = time.monotonic()
    create_database(conn, args.into, args.owner, like=args.like)
    try:
        manifest, counts, checks = restore_checked(cfg, client, backup, conn, args.into, args.check,
                                                   owner=args.owner, no_owner=args.no_owner)
    except BaseException:
        drop_database(conn, args.into)
        raise
    return {"database": args.into, "source_database": args.source_database, "backup": backup["id"],
            "backup_time": manifest["time"], "row_counts": counts, "checks": checks,
            "seconds": round(time.monotonic() - started, 2)}


def cmd_drill(cfg, args, client=None, now=None):
    """Restore the newest dumps into a throwaway cluster; RTO = time to a checked restore, RPO = age."""
    client = client or s3_client(cfg)
    started = time.monotonic()
    now = now or datetime.datetime.now(datetime.timezone.utc)
    workdir = tempfile.mkdtemp(prefix="lb-drill-")
    server = ScratchServer(os.path.join(workdir, "data"))
    report = {"host": cfg.host, "environment": cfg.environment, "started": now.isoformat(), "databases": {}}
    try:
        server.init()
        server.start()
        databases = args.database or cfg.databases or list_databases_in_bucket(client, cfg, source=True)
        if not databases:
            raise BackupError("no logical backups to drill under s3://%s/%s" % (cfg.s3["bucket"], cfg.logical_prefix("", True)))
        for database in databases:
            backup = choose_backup(client, cfg, database, "latest")
            create_database(server.conn, database, "postgres")
            _manifest, counts, checks = restore_checked(
                cfg, client, backup, server.conn, database,
                args.check or (cfg.data.get("drill_checks") or {}).get(database), no_owner=True)
            report["databases"][database] = {
                "backup": backup["id"], "rpo_hours": round((now - id_time(backup["id"])).total_seconds() / 3600, 2),
                "tables": len(counts), "rows": sum(counts.values()), "checks": len(checks)}
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report["rto_seconds"] = round(time.monotonic() - started, 2)
    report["rpo_hours"] = max([d["rpo_hours"] for d in report["databases"].values()] or [0])
    key = "/".join(p for p in (cfg.prefix, "drills", backup_id(now) + ".json") if p)
    client.put_object(Bucket=cfg.s3["bucket"], Key=key, Body=json.dumps(report, indent=2).encode("utf-8"))
    report["report_key"] = key
    return report
