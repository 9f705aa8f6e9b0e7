#!/usr/bin/env python
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""launchbay backup tool: runs inside the PostgreSQL image (pg_dump, pg_restore, gpg,
pgBackRest, python3-boto3), driven by the launchbay.webstack.backups role and its timers.

Commands (all print one JSON document on stdout; errors go to stderr, secrets masked):
  logical            pg_dump (custom format) of every database, encrypted with GnuPG
                     (AES-256, passphrase) while streaming to S3; a manifest beside each
                     dump records its SHA-256, size and the row counts of every table taken
                     in the dump's own snapshot; then the retention policy is applied.
  pitr-backup        pgBackRest base backup (--type full|diff|incr).
  freshness          alert when the newest backup is older than the threshold.
  list               the backups in the bucket.
  retention          apply the retention policy without a new backup.
  restore-logical    a logical backup into a NEW database on this server, checked against
                     its manifest (checksum, row counts); dropped again if anything fails.
  pitr-extract       (in a scratch container) pgBackRest restore of the whole cluster to a
                     point in time, then copy its databases into NEW databases on the live
                     server, row counts compared.
  drill              (in a scratch container) restore the newest logical backups into a
                     throwaway cluster, check them, report RTO and RPO, alert on failure.
  init               check the bucket (create it when allowed).
  alert              send a test alert.
Nothing unencrypted touches disk: pg_dump's output only ever exists in pipes.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import queue
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _retention import plan as retention_plan  # noqa: E402  (copied beside this file)

CHUNK = 16 * 1024 * 1024  # S3 multipart part size
ID_FORMAT = "%Y%m%dT%H%M%SZ"
ID_RE = re.compile(r"^\d{8}T\d{6}Z$")
MASK = "********"
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)([^\s@/]+)(@)")
COUNTS_SQL = r"""
SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
 ORDER BY 1 \gexec
"""


class BackupError(Exception):
    """A failure to report (and alert on) with a message an operator can act on."""


# --- configuration and masking ---------------------------------------------------------------


class Config:
    def __init__(self, data):
        self.data = data
        self.host = data.get("host") or socket.gethostname()
        self.environment = data["environment"]
        self.s3 = data["s3"]
        self.prefix = data.get("prefix", "").strip("/")
        self.source_prefix = (data.get("source_prefix") or self.prefix).strip("/")
        self.passphrase = data["passphrase"]
        self.databases = data.get("databases") or []
        self.exclude = data.get("exclude_databases") or []
        self.retention = data.get("retention") or {"daily": 30, "monthly": 12}
        self.alerts = data.get("alerts") or {}
        self.freshness_hours = float(data.get("freshness_hours", 26))
        self.pgbackrest = data.get("pgbackrest") or {}
        self.superuser = data.get("superuser", "postgres")
        self.compress_level = int(data.get("compress_level", 6))
        self.secrets = [s for s in (self.passphrase, self.s3.get("secret_key"), self.s3.get("access_key"),
                                    (self.alerts.get("email") or {}).get("password"),
                                    self.pgbackrest.get("cipher_pass"), self.alerts.get("webhook_url"))
                        if s]

    @classmethod
    def load(cls, path):
        try:
            with open(path, encoding="utf-8") as handle:
                return cls(json.load(handle))
        except (OSError, ValueError, KeyError) as exc:
            raise BackupError("cannot read the configuration %s: %s" % (path, exc))

    def logical_prefix(self, database, source=False):
        base = self.source_prefix if source else self.prefix
        return "/".join(p for p in (base, "logical", database) if p) + "/"

    def mask(self, text):
        return mask_text(text, self.secrets)


def mask_text(text, secrets):
    """`text` with every known secret and any URL password replaced by the mask."""
    text = str(text)
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)


def backup_id(now=None):
    return (now or datetime.datetime.now(datetime.timezone.utc)).strftime(ID_FORMAT)


def id_time(value):
    return datetime.datetime.strptime(value, ID_FORMAT).replace(tzinfo=datetime.timezone.utc)


# --- S3 ----------------------------------------------------------------------------------------


def s3_client(cfg):
    import boto3  # only in the image: the unit tests inject a client
    from botocore.config import Config as BotoConfig

    s3 = cfg.s3
    return boto3.client(
        "s3",
        endpoint_url=s3.get("endpoint_url") or None,
        region_name=s3.get("region") or "us-east-1",
        aws_access_key_id=s3.get("access_key"),
        aws_secret_access_key=s3.get("secret_key"),
        verify=s3.get("ca_file") or True,
        config=BotoConfig(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60,
                          s3={"addressing_style": "path" if s3.get("path_style") else "auto"}),
    )


def list_keys(client, bucket, prefix):
    keys, token = [], None
    while True:
        kwargs = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        page = client.list_objects_v2(**kwargs)
        keys.extend(page.get("Contents", []))
        if not page.get("IsTruncated"):
            return keys
        token = page["NextContinuationToken"]


def list_backups(client, cfg, database, source=False):
    """Complete logical backups of `database` (those with a manifest), newest first."""
    prefix = cfg.logical_prefix(database, source)
    found = []
    for obj in list_keys(client, cfg.s3["bucket"], prefix):
        name = obj["Key"][len(prefix):]
        if name.endswith(".json") and ID_RE.match(name[:-5]):
            found.append({"id": name[:-5], "key": prefix + name[:-5] + ".dump.gpg", "manifest": obj["Key"],
                          "time": id_time(name[:-5]).isoformat()})
    return sorted(found, key=lambda b: b["id"], reverse=True)


def list_databases_in_bucket(client, cfg, source=False):
    base = "/".join(p for p in ((cfg.source_prefix if source else cfg.prefix), "logical") if p) + "/"
    page = client.list_objects_v2(Bucket=cfg.s3["bucket"], Prefix=base, Delimiter="/")
    return sorted(p["Prefix"][len(base):].strip("/") for p in page.get("CommonPrefixes", []))


class MultipartUpload:
    """Streams chunks into one S3 object; abort() leaves nothing behind."""

    def __init__(self, client, bucket, key):
        self.client, self.bucket, self.key = client, bucket, key
        self.upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        self.parts = []

    def part(self, data):
        number = len(self.parts) + 1
        res = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                      PartNumber=number, Body=data)
        self.parts.append({"ETag": res["ETag"], "PartNumber": number})

    def complete(self):
        if not self.parts:
            self.part(b"")
        self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                              MultipartUpload={"Parts": self.parts})

    def abort(self):
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except Exception:  # pylint: disable=broad-except
            pass


# --- processes -----------------------------------------------------------------------------------


class Pipeline:
    """Processes chained stdout -> stdin; collects each one's stderr in the background."""

    def __init__(self, commands, stdin=None, env=None, pass_fds_for=None):
        self.procs, self.errors, self._threads = [], [], []
        prev = stdin
        for index, (name, argv) in enumerate(commands):
            extra = (pass_fds_for or {}).get(name, ())
            proc = subprocess.Popen(argv, stdin=prev if prev is not None else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, pass_fds=extra)
            if prev is not None and index > 0:
                prev.close()  # the next process owns it now
            prev = proc.stdout
            self.procs.append((name, proc))
            buf = []
            self.errors.append(buf)
            thread = threading.Thread(target=lambda p=proc, b=buf: b.append(p.stderr.read()), daemon=True)
            thread.start()
            self._threads.append(thread)
        self.stdout = prev

    def wait(self, timeout=None):
        failures = []
        for (name, proc), buf, thread in zip(self.procs, self.errors, self._threads):
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            thread.join(5)
            if rc != 0:
                err = b"".join(buf).decode("utf-8", "replace").strip()
                failures.append("%s exited with %s: %s" % (name, rc, err[-800:] or "(no output)"))
        return failures

    def kill(self):
        for _name, proc in self.procs:
            if proc.poll() is None:
                proc.kill()


def passphrase_fd(passphrase):
    """A pipe whose read end carries the passphrase to gpg (--passphrase-fd); never a file."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, passphrase.encode("utf-8"))
    os.close(write_fd)
    return read_fd


def gpg_argv(home, fd, decrypt=False):
    base = ["gpg", "--homedir", home, "--batch", "--quiet", "--no-tty", "--pinentry-mode", "loopback",
            "--passphrase-fd", str(fd)]
    if decrypt:
        return base + ["--decrypt"]
    return base + ["--symmetric", "--cipher-algo", "AES256", "--s2k-digest-algo", "SHA512",
                   "--compress-algo", "none", "--output", "-"]


def psql(args, sql=None, env=None, timeout=600):
    res = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + args, input=sql,
                         capture_output=True, encoding="utf-8", errors="replace", env=env, timeout=timeout, check=False)
    if res.returncode != 0:
        raise BackupError("psql failed: %s" % res.stderr.strip()[-800:])
    return res.stdout


def parse_counts(text):
    counts = {}
    for line in text.splitlines():
        if "|" in line:
            table, _sep, number = line.rpartition("|")
            counts[table] = int(number)
    return counts


def row_counts(conn_args, env=None, snapshot=None):
    head = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
    if snapshot:
        head += "SET TRANSACTION SNAPSHOT '%s';\n" % snapshot
    return parse_counts(psql(conn_args, head + COUNTS_SQL + "COMMIT;\n", env=env))


def server_databases(cfg, conn_args):
    names = psql(conn_args + ["-d", "postgres", "-c",
                              "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
                              "AND datname <> 'postgres' ORDER BY 1"]).split()
    if cfg.databases:
        missing = sorted(set(cfg.databases) - set(names))
        if missing:
            raise BackupError("databases to back up do not exist: %s" % ", ".join(missing))
        names = list(cfg.databases)
    return [n for n in names if n not in cfg.exclude and not re.search(r"_(restore|before_restore)_\d{8}T\d{6}Z$", n)]


# --- logical backup --------------------------------------------------------------------------------


class SnapshotHolder:
    """An open transaction that exported its snapshot, so pg_dump and the row counts see the same data."""

    def __init__(self, conn_args):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + conn_args,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proc.stdin.write("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n")
        self.proc.stdin.flush()
        self.snapshot = self.proc.stdout.readline().strip()
        if not self.snapshot:
            raise BackupError("could not export a snapshot: %s" % self.proc.stderr.read().strip())

    def close(self):
        try:
            self.proc.stdin.write("COMMIT;\n")
            self.proc.stdin.close()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def dump_database(cfg, client, database, conn_args, now=None):
    """One encrypted dump streamed to S3; returns its manifest. Nothing is kept on failure."""
    bid = backup_id(now)
    prefix = cfg.logical_prefix(database)
    key = prefix + bid + ".dump.gpg"
    started = time.monotonic()
    holder = SnapshotHolder(conn_args + ["-d", database])
    home = tempfile.mkdtemp(prefix="lb-gpg-")
    upload = None
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
        digest, size = hashlib.sha256(), 0
        upload = MultipartUpload(client, cfg.s3["bucket"], key)
        while True:
            data = read_full(pipeline.stdout, CHUNK)
            if not data:
                break
            digest.update(data)
            size += len(data)
            upload.part(data)
        failures = pipeline.wait(timeout=60)
        if failures:
            raise BackupError("; ".join(failures))
        if size == 0:
            raise BackupError("the encrypted dump is empty")
        upload.complete()
        upload = None
    except BaseException:
        if pipeline:
            pipeline.kill()
        if upload:
            upload.abort()
        raise
    finally:
        holder.close()
        shutil.rmtree(home, ignore_errors=True)
    manifest = {
        "id": bid, "database": database, "key": key, "format": "pg_dump custom, GnuPG AES256",
        "sha256": digest.hexdigest(), "bytes": size, "row_counts": counts,
        "host": cfg.host, "environment": cfg.environment, "seconds": round(time.monotonic() - started, 2),
        "time": id_time(bid).isoformat(),
        "server_version": psql(conn_args + ["-d", database, "-c", "SHOW server_version"]).strip(),
    }
    client.put_object(Bucket=cfg.s3["bucket"], Key=prefix + bid + ".json",
                      Body=json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"),
                      ContentType="application/json")
    return manifest


def read_full(stream, size):
    """Up to `size` bytes: S3 parts other than the last must be at least 5 MiB."""
    chunks, left = [], size
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        chunks.append(data)
        left -= len(data)
    return b"".join(chunks)


def apply_retention(cfg, client, database, now=None):
    """Delete the dumps the policy does not keep; also incomplete uploads over a day old."""
    backups = list_backups(client, cfg, database)
    keep, delete = retention_plan(backups, int(cfg.retention.get("daily", 30)), int(cfg.retention.get("monthly", 12)),
                                  key="id", time_key="time")
    kept_ids = {b["id"] for b in keep}
    doomed = []
    for backup in delete:
        doomed += [backup["key"], backup["manifest"]]
    now = now or datetime.datetime.now(datetime.timezone.utc)
    for obj in list_keys(client, cfg.s3["bucket"], cfg.logical_prefix(database)):
        name = obj["Key"].rsplit("/", 1)[-1]
        bid = name.split(".", 1)[0]
        if ID_RE.match(bid) and bid not in kept_ids and obj["Key"] not in doomed \
                and bid not in {b["id"] for b in delete} and now - id_time(bid) > datetime.timedelta(days=1):
            doomed.append(obj["Key"])  # a dump without a manifest: an interrupted run
    for start in range(0, len(doomed), 1000):
        client.delete_objects(Bucket=cfg.s3["bucket"],
                              Delete={"Objects": [{"Key": k} for k in doomed[start:start + 1000]], "Quiet": True})
    return {"kept": [{"id": b["id"], "reasons": b["reasons"]} for b in keep], "deleted": sorted(doomed)}


def cmd_logical(cfg, args, client=None):
    client = client or s3_client(cfg)
    conn = ["-U", cfg.superuser]
    results, failures = {}, []
    try:
        databases = args.database or server_databases(cfg, conn)
    except BackupError as exc:
        raise BackupError("listing the databases failed: %s" % exc)
    for database in databases:
        try:
            manifest = dump_database(cfg, client, database, conn)
            manifest["retention"] = apply_retention(cfg, client, database)
            results[database] = manifest
        except Exception as exc:  # pylint: disable=broad-except
            failures.append((database, str(exc)))
    if failures:
        raise BackupError("; ".join("database %s: %s" % f for f in failures),) from None
    return {"backups": results}


# --- pgBackRest --------------------------------------------------------------------------------------


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
                "stop": b["timestamp"]["stop"]} for b in stanza.get("backup", [])]
    archive = (stanza.get("archive") or [{}])[-1]
    return {"status": (stanza.get("status") or {}).get("message"), "code": (stanza.get("status") or {}).get("code"),
            "backups": backups,
            "wal_min": archive.get("min"), "wal_max": archive.get("max")}


def cmd_pitr_backup(cfg, args, client=None):
    started = time.monotonic()
    pgbackrest(cfg, ["backup", "--type=" + args.type])
    info = pitr_info(cfg)
    return {"type": args.type, "seconds": round(time.monotonic() - started, 2), "latest": (info["backups"] or [None])[-1],
            "backups": len(info["backups"])}


# --- freshness, listing, alerts ----------------------------------------------------------------------


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


def alert_text(cfg, job, error):
    return "launchbay backup FAILED on %s (%s), job %s: %s" % (cfg.host, cfg.environment, job, cfg.mask(error))


def send_alert(cfg, job, error, database=None):
    """Webhook (Slack-compatible JSON) and/or email. Returns what was sent; never raises."""
    text = alert_text(cfg, job, error)
    sent, problems = [], []
    url = cfg.alerts.get("webhook_url")
    if url:
        body = json.dumps({"text": text, "host": cfg.host, "environment": cfg.environment, "job": job,
                           "database": database, "error": cfg.mask(error)}).encode("utf-8")
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # nosec - operator's URL
                response.read()
            sent.append("webhook")
        except Exception as exc:  # pylint: disable=broad-except
            problems.append("webhook: %s" % cfg.mask(exc))
    email = cfg.alerts.get("email") or {}
    if email.get("to"):
        msg = EmailMessage()
        msg["Subject"] = "[launchbay] backup %s failed on %s" % (job, cfg.host)
        msg["From"] = email.get("from") or "launchbay@%s" % cfg.host
        msg["To"] = ", ".join(email["to"])
        msg.set_content(text + "\n")
        try:
            with smtplib.SMTP(email.get("host", "localhost"), int(email.get("port", 25)), timeout=15) as smtp:
                if email.get("starttls"):
                    smtp.starttls()
                if email.get("username"):
                    smtp.login(email["username"], email.get("password", ""))
                smtp.send_message(msg)
            sent.append("email")
        except Exception as exc:  # pylint: disable=broad-except
            problems.append("email: %s" % cfg.mask(exc))
    return sent, problems


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


def cmd_alert(cfg, args, client=None):
    sent, problems = send_alert(cfg, "alert-test", args.message)
    if problems:
        raise BackupError("; ".join(problems))
    return {"sent": sent}


# --- restores ------------------------------------------------------------------------------------------


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


def _download(body, chunks, stop):
    """Put the object's chunks on the queue, then None (or the exception that ended it)."""
    try:
        for chunk in iter(lambda: body.read(CHUNK), b""):
            while not stop.is_set():
                try:
                    chunks.put(chunk, timeout=1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
    except Exception as exc:  # pylint: disable=broad-except
        chunks.put(exc)
        return
    chunks.put(None)


def restore_stream(cfg, client, backup, conn_args, target, owner=None, env=None, no_owner=False):
    """Download, check and decrypt one dump into the existing empty database `target`."""
    manifest = json.loads(client.get_object(Bucket=cfg.s3["bucket"], Key=backup["manifest"])["Body"].read())
    body = client.get_object(Bucket=cfg.s3["bucket"], Key=backup["key"])["Body"]
    home = tempfile.mkdtemp(prefix="lb-gpg-")
    fd = passphrase_fd(cfg.passphrase)
    restore_args = ["pg_restore", "--exit-on-error", "--single-transaction"] + conn_args + ["-d", target]
    if no_owner:
        restore_args += ["--no-owner", "--no-privileges"] + (["--role=" + owner] if owner else [])
    gpg = subprocess.Popen(gpg_argv(home, fd, decrypt=True), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, pass_fds=(fd,))
    os.close(fd)
    pipeline = Pipeline([("pg_restore", restore_args)], stdin=gpg.stdout, env=env)
    gpg.stdout.close()
    gpg_err = []
    threading.Thread(target=lambda: gpg_err.append(gpg.stderr.read()), daemon=True).start()
    digest, size = hashlib.sha256(), 0
    # the download runs ahead in its own thread (a few chunks), so the network and the
    # restore overlap instead of taking turns
    chunks, stop = queue.Queue(maxsize=4), threading.Event()
    threading.Thread(target=_download, args=(body, chunks, stop), daemon=True).start()
    try:
        try:
            while True:
                chunk = chunks.get(timeout=600)
                if chunk is None:
                    break
                if isinstance(chunk, Exception):
                    raise BackupError("download of %s failed: %s" % (backup["key"], chunk))
                digest.update(chunk)
                size += len(chunk)
                gpg.stdin.write(chunk)
        except BrokenPipeError:
            pass  # gpg or pg_restore stopped: their errors say why
        finally:
            stop.set()
            try:
                gpg.stdin.close()
            except BrokenPipeError:
                pass
        gpg_rc = gpg.wait(600)
        failures = pipeline.wait(timeout=6 * 3600)
    finally:
        pipeline.kill()
        shutil.rmtree(home, ignore_errors=True)
    problems = []
    if digest.hexdigest() != manifest["sha256"] or size != manifest["bytes"]:
        problems.append("checksum mismatch: the object has sha256 %s (%d bytes), its manifest says %s (%d bytes)"
                        % (digest.hexdigest(), size, manifest["sha256"], manifest["bytes"]))
    if gpg_rc != 0:
        problems.append("gpg could not decrypt it (%s): %s" % (gpg_rc, b"".join(gpg_err).decode("utf-8", "replace").strip()[-400:]))
    problems += failures
    if problems:
        raise BackupError("backup %s of %s: %s" % (backup["id"], manifest["database"], "; ".join(problems)))
    return manifest


def compare_counts(expected, actual, what):
    if expected != actual:
        diff = sorted(set(expected) | set(actual))
        detail = ", ".join("%s %s!=%s" % (t, expected.get(t), actual.get(t)) for t in diff
                           if expected.get(t) != actual.get(t))
        raise BackupError("%s: row counts differ (expected!=restored): %s" % (what, detail))


# Database-level privileges and settings are not in a dump (they belong to CREATE DATABASE):
# a restored database takes them from the live one it replaces, so the switch keeps them.
COPY_DATABASE_SQL = r"""
SELECT stmt FROM (
  SELECT 1 AS ord, format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') AS stmt
    FROM pg_database WHERE datname = :'like' AND datacl IS NOT NULL
  UNION ALL
  SELECT 2, format('GRANT %s ON DATABASE %I TO %s%s', a.privilege_type, :'db',
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                   CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
    FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = :'like'
  UNION ALL
  -- list settings are stored already quoted element by element (as pg_dump treats them)
  SELECT 3, format(CASE WHEN split_part(c, '=', 1) IN ('search_path', 'temp_tablespaces', 'session_preload_libraries',
                                                        'local_preload_libraries', 'shared_preload_libraries')
                        THEN 'ALTER DATABASE %I SET %s = %s' ELSE 'ALTER DATABASE %I SET %s = %L' END,
                   :'db', split_part(c, '=', 1), substr(c, strpos(c, '=') + 1))
    FROM pg_database d JOIN pg_db_role_setting s ON s.setdatabase = d.oid AND s.setrole = 0, unnest(s.setconfig) c
   WHERE d.datname = :'like'
) t ORDER BY ord \gexec
"""


def create_database(conn_args, name, owner, env=None, like=None):
    """A new empty database; with `like`, also that database's privileges and settings."""
    args = conn_args + ["-d", "postgres", "-v", "db=" + name, "-v", "owner=" + owner, "-v", "like=" + (like or "")]
    psql(args, 'CREATE DATABASE :"db" OWNER :"owner" TEMPLATE template0;\n' + (COPY_DATABASE_SQL if like else ""), env=env)


def drop_database(conn_args, name, env=None):
    try:
        psql(conn_args + ["-d", "postgres", "-v", "db=" + name], 'DROP DATABASE IF EXISTS :"db" WITH (FORCE);\n', env=env)
    except BackupError:
        pass


def run_checks(conn_args, database, checks, env=None):
    """Each check is SQL whose first value must be true (t); returns what each gave."""
    results = []
    for sql in checks:
        out = psql(conn_args + ["-d", database], sql, env=env).strip().splitlines()
        value = out[0].split("|")[0] if out else ""
        results.append({"sql": sql, "value": value})
        if value not in ("t", "true", "1"):
            raise BackupError("check failed on %s (gave %r): %s" % (database, value, sql))
    return results


def cmd_restore_logical(cfg, args, client=None):
    client = client or s3_client(cfg)
    conn = ["-U", cfg.superuser]
    backup = choose_backup(client, cfg, args.source_database, args.backup)
    started = time.monotonic()
    create_database(conn, args.into, args.owner, like=args.like)
    try:
        manifest = restore_stream(cfg, client, backup, conn, args.into, owner=args.owner, no_owner=args.no_owner)
        counts = row_counts(conn + ["-d", args.into])
        compare_counts(manifest["row_counts"], counts, "restore of %s into %s" % (backup["id"], args.into))
        checks = run_checks(conn, args.into, args.check or [])
    except BaseException:
        drop_database(conn, args.into)
        raise
    return {"database": args.into, "source_database": args.source_database, "backup": backup["id"],
            "backup_time": manifest["time"], "row_counts": counts, "checks": checks,
            "seconds": round(time.monotonic() - started, 2)}


class ScratchServer:
    """A throwaway PostgreSQL server in this (scratch) container: socket in a private dir."""

    def __init__(self, datadir, port=5433, settings=None):
        self.datadir, self.port = datadir, port
        self.sockdir = tempfile.mkdtemp(prefix="lb-sock-")
        self.settings = dict({"archive_mode": "off", "listen_addresses": "", "port": str(port),
                              "unix_socket_directories": self.sockdir, "hba_file": self._hba()}, **(settings or {}))
        self.conn = ["-h", self.sockdir, "-p", str(port), "-U", "postgres"]

    def _hba(self):
        path = os.path.join(self.sockdir, "pg_hba.conf")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("local all all trust\n")
        return path

    def init(self):
        res = subprocess.run(["initdb", "-D", self.datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                              "--locale=C.UTF-8"], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise BackupError("initdb failed: %s" % res.stderr.strip())

    def start(self, timeout=600):
        opts = " ".join("-c %s='%s'" % (k, v) for k, v in self.settings.items())
        res = subprocess.run(["pg_ctl", "-D", self.datadir, "-o", opts, "-l", os.path.join(self.sockdir, "log"),
                              "-w", "-t", str(timeout), "start"], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise BackupError("the scratch server did not start: %s %s" % (res.stdout.strip(), self.log_tail()))

    def log_tail(self):
        try:
            with open(os.path.join(self.sockdir, "log"), encoding="utf-8", errors="replace") as handle:
                return handle.read()[-1500:]
        except OSError:
            return ""

    def wait_promoted(self, timeout=3600):
        deadline, delay = time.monotonic() + timeout, 0.5
        last = None
        while time.monotonic() < deadline:
            try:
                last = psql(self.conn + ["-d", "postgres", "-c", "SELECT pg_is_in_recovery()"]).strip()
                if last == "f":
                    return
            except BackupError as exc:
                last = str(exc)
            time.sleep(delay)
            delay = min(delay * 2, 5)
        raise BackupError("recovery did not finish in %ss (last: %s) %s" % (timeout, last, self.log_tail()))

    def stop(self):
        subprocess.run(["pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "stop"], capture_output=True, check=False)


def cmd_pitr_extract(cfg, args, client=None):
    """pgBackRest restore into this scratch container, then copy the databases to the live server."""
    started = time.monotonic()
    datadir = args.datadir
    restore = ["restore", "--pg1-path=" + datadir, "--archive-mode=off"]
    if args.target_time:
        restore += ["--type=time", "--target=" + args.target_time, "--target-action=promote"]
    elif args.set:
        restore += ["--set=" + args.set, "--type=immediate", "--target-action=promote"]
    pgbackrest(cfg, restore)
    server = ScratchServer(datadir)
    server.start()
    live_env = dict(os.environ)
    with open(args.live_password_file, encoding="utf-8") as handle:
        live_env["PGPASSWORD"] = handle.read().strip()
    live = ["-h", args.live_host, "-p", str(args.live_port), "-U", cfg.superuser]
    created, out = [], {}
    try:
        server.wait_promoted()
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
            # pg_restore writes nothing on stdout; drain it so nothing blocks
            pipeline.stdout.read()
            failures = pipeline.wait(timeout=6 * 3600)
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
            manifest = restore_stream(cfg, client, backup, server.conn, database, no_owner=True)
            counts = row_counts(server.conn + ["-d", database])
            compare_counts(manifest["row_counts"], counts, "drill of %s" % database)
            checks = run_checks(server.conn, database, args.check or (cfg.data.get("drill_checks") or {}).get(database) or [])
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


# --- command line ------------------------------------------------------------------------------------------

COMMANDS = {
    "logical": cmd_logical, "pitr-backup": cmd_pitr_backup, "freshness": cmd_freshness, "list": cmd_list,
    "retention": cmd_retention, "restore-logical": cmd_restore_logical, "pitr-extract": cmd_pitr_extract,
    "drill": cmd_drill, "alert": cmd_alert, "init": cmd_init,
}
ALERTING = {"logical", "pitr-backup", "freshness", "drill", "retention"}


def parser():
    top = argparse.ArgumentParser(prog="launchbay_backup", description=__doc__.split("\n\n", maxsplit=1)[0])
    top.add_argument("--config", default="/etc/launchbay/backups/backup.json")
    top.add_argument("--no-alert", action="store_true", help="report failures only on stderr")
    sub = top.add_subparsers(dest="command", required=True)
    for name in ("logical", "retention", "list"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--database", action="append", help="only this database (repeatable)")
    cmd = sub.add_parser("pitr-backup")
    cmd.add_argument("--type", choices=["full", "diff", "incr"], default="full")
    cmd = sub.add_parser("freshness")
    cmd.add_argument("--database", action="append")
    cmd.add_argument("--max-age-hours", type=float)
    cmd.add_argument("--logical-only", action="store_true")
    cmd = sub.add_parser("restore-logical")
    cmd.add_argument("--source-database", required=True)
    cmd.add_argument("--backup", default="latest")
    cmd.add_argument("--into", required=True)
    cmd.add_argument("--owner", required=True)
    cmd.add_argument("--no-owner", action="store_true")
    cmd.add_argument("--like", help="copy database privileges and settings from this (live) database")
    cmd.add_argument("--check", action="append")
    cmd = sub.add_parser("pitr-extract")
    cmd.add_argument("--datadir", required=True)
    cmd.add_argument("--target-time")
    cmd.add_argument("--set")
    cmd.add_argument("--database", action="append", required=True, help="SOURCE=INTO")
    cmd.add_argument("--live-host", required=True)
    cmd.add_argument("--live-port", type=int, default=5432)
    cmd.add_argument("--live-password-file", required=True)
    cmd.add_argument("--check", action="append")
    cmd = sub.add_parser("drill")
    cmd.add_argument("--database", action="append")
    cmd.add_argument("--check", action="append")
    cmd = sub.add_parser("init")
    cmd.add_argument("--create-bucket", action="store_true")
    cmd = sub.add_parser("alert")
    cmd.add_argument("--message", default="test alert: the backup alerts reach you")
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    cfg = None
    try:
        cfg = Config.load(args.config)
        result = COMMANDS[args.command](cfg, args)
    except Exception as exc:  # pylint: disable=broad-except
        message = cfg.mask(exc) if cfg else mask_text(exc, [])
        out = {"failed": True, "command": args.command, "error": message}
        if cfg and args.command in ALERTING and not args.no_alert:
            database = None
            match = re.match(r"database (\S+):", message)
            if match:
                database = match.group(1)
            out["alerted"], problems = send_alert(cfg, args.command, message, database)
            if problems:
                out["alert_problems"] = problems
        print(json.dumps(out, sort_keys=True))
        print("launchbay_backup %s: %s" % (args.command, message), file=sys.stderr)
        return 1
    print(json.dumps(result, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
