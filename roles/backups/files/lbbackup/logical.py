# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logical backups: a dump of one database encrypted while it streams to S3 (its manifest
beside it), retention, and the restore of a dump into a database, checked against it.
Nothing unencrypted touches disk: pg_dump's output only ever exists in pipes."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import tempfile
import time

from ._retention import plan as retention_plan  # the collection's own policy, installed beside
from .config import ID_RE, BackupError, backup_id, id_time
from .crypto import Pipeline, gpg_argv, passphrase_fd
from .database import SnapshotHolder, compare_counts, psql, row_counts, run_checks
from .transport import download_stream, list_backups, list_keys, upload_stream


def dump_database(cfg, client, database, conn_args, now=None):
    """One encrypted dump streamed to S3; returns its manifest. Nothing is kept on failure."""
    bid = backup_id(now)
    prefix = cfg.logical_prefix(database)
    key = prefix + bid + ".dump.gpg"
    started = time.monotonic()
    holder = SnapshotHolder(conn_args + ["-d", database])
    home = tempfile.mkdtemp(prefix="lb-gpg-")
    pipeline = None
    try:
        counts = row_counts(conn_args + ["-d", database], snapshot=holder.snapshot)
        fd = passphrase_fd(cfg.passphrase)
        pipeline = Pipeline(
            [("pg_dump", ["pg_dump", "--format=custom", "--compress=%d" % cfg.compress_level,
                          "--snapshot=" + holder.snapshot] + conn_args + ["-d", database]),
             ("gpg", gpg_argv(home, fd))],
            pass_fds_for={"gpg": (fd,)})
        os.close(fd)

        def finished():
            # at the stream's end: pg_dump or gpg failing aborts the upload
            failures = pipeline.wait(timeout=60)
            if failures:
                raise BackupError("; ".join(failures))

        sha256, size = upload_stream(client, cfg.s3["bucket"], key, pipeline.stdout, finish=finished)
        if size == 0:
            client.delete_object(Bucket=cfg.s3["bucket"], Key=key)
            raise BackupError("the encrypted dump is empty")
    except BaseException:
        if pipeline:
            pipeline.kill()
        raise
    finally:
        holder.close()
        shutil.rmtree(home, ignore_errors=True)
    manifest = {
        "id": bid, "database": database, "key": key, "format": "pg_dump custom, GnuPG AES256",
        "sha256": sha256, "bytes": size, "row_counts": counts,
        "host": cfg.host, "environment": cfg.environment, "seconds": round(time.monotonic() - started, 2),
        "time": id_time(bid).isoformat(),
        "server_version": psql(conn_args + ["-d", database, "-c", "SHOW server_version"]).strip(),
    }
    client.put_object(Bucket=cfg.s3["bucket"], Key=prefix + bid + ".json",
                      Body=json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"),
                      ContentType="application/json")
    return manifest


def pin_backup(cfg, client, database, bid, days, reason, now=None):
    """Keep the dump `bid` for `days` whatever the retention policy says (like the dump taken
    before a migration, which a later dump of the same day would otherwise replace)."""
    until = (now or datetime.datetime.now(datetime.timezone.utc)) + datetime.timedelta(days=days)
    pin = {"id": bid, "keep_until": until.isoformat(), "reason": reason or "pinned"}
    client.put_object(Bucket=cfg.s3["bucket"], Key=cfg.pin_prefix(database) + bid + ".json",
                      Body=json.dumps(pin, sort_keys=True).encode("utf-8"), ContentType="application/json")
    return pin


def live_pins(cfg, client, database, now):
    """{dump id: pin} of the pins still in force; expired pins are deleted."""
    pins, expired = {}, []
    for obj in list_keys(client, cfg.s3["bucket"], cfg.pin_prefix(database)):
        pin = json.loads(client.get_object(Bucket=cfg.s3["bucket"], Key=obj["Key"])["Body"].read())
        if datetime.datetime.fromisoformat(pin["keep_until"]) > now:
            pins[pin["id"]] = pin
        else:
            expired.append(obj["Key"])
    for key in expired:
        client.delete_object(Bucket=cfg.s3["bucket"], Key=key)
    return pins


def apply_retention(cfg, client, database, now=None):
    """Delete the dumps the policy does not keep and no pin holds; also incomplete uploads
    over a day old."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    backups = list_backups(client, cfg, database)
    keep, delete = retention_plan(backups, int(cfg.retention.get("daily", 30)), int(cfg.retention.get("monthly", 12)),
                                  key="id", time_key="time")
    pins = live_pins(cfg, client, database, now)
    for backup in [b for b in delete if b["id"] in pins]:
        pin = pins[backup["id"]]
        delete.remove(backup)
        keep.append(dict(backup, reasons=["%s, kept until %s" % (pin["reason"], pin["keep_until"])]))
    keep.sort(key=lambda b: b["id"], reverse=True)
    kept_ids = {b["id"] for b in keep}
    deleted_ids = {b["id"] for b in delete}
    doomed = []
    for backup in delete:
        doomed += [backup["key"], backup["manifest"]]
    for obj in list_keys(client, cfg.s3["bucket"], cfg.logical_prefix(database)):
        bid = obj["Key"].rsplit("/", 1)[-1].split(".", 1)[0]
        if ID_RE.match(bid) and bid not in kept_ids and bid not in deleted_ids and obj["Key"] not in doomed \
                and now - id_time(bid) > datetime.timedelta(days=1):
            doomed.append(obj["Key"])  # a dump without a manifest: an interrupted run
    for start in range(0, len(doomed), 1000):
        client.delete_objects(Bucket=cfg.s3["bucket"],
                              Delete={"Objects": [{"Key": k} for k in doomed[start:start + 1000]], "Quiet": True})
    return {"kept": [{"id": b["id"], "reasons": b["reasons"]} for b in keep], "deleted": sorted(doomed)}


def choose_backup(client, cfg, database, wanted):
    backups = list_backups(client, cfg, database, source=True)
    if not backups:
        raise BackupError("no logical backup of %s under s3://%s/%s"
                          % (database, cfg.s3["bucket"], cfg.logical_prefix(database, True)))
    if wanted in (None, "", "latest"):
        return backups[0]
    for backup in backups:
        if backup["id"] == wanted:
            return backup
    raise BackupError("no backup %s of %s; the newest are: %s" % (wanted, database,
                                                                  ", ".join(b["id"] for b in backups[:5])))


def restore_stream(cfg, client, backup, conn_args, target, owner=None, env=None, no_owner=False):
    """Download, check and decrypt one dump into the existing empty database `target`:
    S3 (boto3's parallel ranged download) | sha256 | gpg -d | pg_restore --single-transaction."""
    bucket = cfg.s3["bucket"]
    manifest = json.loads(client.get_object(Bucket=bucket, Key=backup["manifest"])["Body"].read())
    home = tempfile.mkdtemp(prefix="lb-gpg-")
    fd = passphrase_fd(cfg.passphrase)
    restore_args = ["pg_restore", "--exit-on-error", "--single-transaction"] + conn_args + ["-d", target]
    if no_owner:
        restore_args += ["--no-owner", "--no-privileges"] + (["--role=" + owner] if owner else [])
    pipeline = Pipeline([("gpg", gpg_argv(home, fd, decrypt=True)), ("pg_restore", restore_args)],
                        stdin=subprocess.PIPE, env=env, pass_fds_for={"gpg": (fd,)})
    os.close(fd)
    problems, sha256, size = [], None, 0
    try:
        try:
            sha256, size = download_stream(client, bucket, backup["key"], pipeline.stdin)
        except BrokenPipeError:
            pass  # gpg or pg_restore stopped: their errors say why
        except BackupError as exc:
            problems.append(str(exc))
        pipeline.close_stdin()
        pipeline.stdout.read()  # pg_restore writes nothing there; drained so nothing blocks
        failures = pipeline.wait(timeout=6 * 3600)
    finally:
        pipeline.kill()
        shutil.rmtree(home, ignore_errors=True)
    if sha256 is not None and (sha256 != manifest["sha256"] or size != manifest["bytes"]):
        problems.append("checksum mismatch: the object has sha256 %s (%d bytes), its manifest says %s (%d bytes)"
                        % (sha256, size, manifest["sha256"], manifest["bytes"]))
    problems += [f.replace("gpg exited with", "gpg could not decrypt it: exit") for f in failures]
    if problems:
        raise BackupError("backup %s of %s: %s" % (backup["id"], manifest["database"], "; ".join(problems)))
    return manifest


def restore_checked(cfg, client, backup, conn_args, target, checks, **restore):
    """restore_stream, then the row counts against the manifest and the SQL checks.
    Returns (manifest, row counts, check results). Used by restores and by the drill."""
    manifest = restore_stream(cfg, client, backup, conn_args, target, **restore)
    counts = row_counts(conn_args + ["-d", target])
    compare_counts(manifest["row_counts"], counts, "restore of %s into %s" % (backup["id"], target))
    return manifest, counts, run_checks(conn_args, target, checks or [])
