#!/usr/bin/env python
"""Backups that restore: the postgres scenario's end-to-end sequence (run by verify.yml).
One file of about 300 lines on purpose: its steps share one converged host and run in order.

On the Molecule host (systemd, Docker, PostgreSQL with the backups role, moto S3 behind a
TLS proxy and a webhook receiver on the egress network), with the demo app writing rows:
  1  rows A through the app; playbooks/backup.yml -vvv (secrets searched in the output)
  2  rows B; note the time T; rows C
  3  the objects in the bucket are encrypted (dumps: GnuPG packets, not PGDMP; pgBackRest: Salted__)
  4  restore latest (pgBackRest, -vvv): the app finds A+B+C; the old database is kept
  5  restore to T: the app finds exactly A+B
  6  a named dump restored from "production" into "staging" needs sanitizing SQL; with it, the
     rows are A, scrubbed; not switched
  7  a corrupted dump: the restore fails, the live database is untouched and the app serves
  8  retention: 45 simulated daily dumps; the timer's service deletes what the policy drops;
     two more full base backups expire the first one (repo1-retention-full=2), files deleted
  9  S3 unreachable: the timer's service fails and the webhook gets host, database and error, no secret
 10  freshness with a tiny limit alerts; the restore drill passes and reports RTO and RPO
Usage: backups_e2e.py MOLECULE_INVENTORY_FILE
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HOST = "lbm-postgres-1"
APP = "shop-app-1"
IMAGE = "launchbay-lab/postgres:15"
SECRETS = ["molecule-backup-passphrase-1", "molecule-pgbackrest-cipher-1", "molecule-s3-secret-key-1",
           "molecule-superuser-pw-1", "molecule-shop-pw-1", "molecule-app-secret-key-1"]
TOOL = ["python3", "/etc/launchbay/backups/launchbay_backup.py", "--config", "/etc/launchbay/backups/backup.json"]
BUCKET = "lb-backups"
PREFIX = "launchbay/molecule"


def sh(*cmd, check=True, stdin=None, timeout=900):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, input=stdin)
    if check and res.returncode != 0:
        raise AssertionError("%s failed: %s" % (" ".join(cmd[:12]), (res.stdout + res.stderr)[-3000:]))
    return res.stdout


def on_host(*cmd, check=True, stdin=None):
    return sh("docker", "exec", "-i", HOST, *cmd, check=check, stdin=stdin)


def sql(query, db="shop"):
    return on_host("docker", "exec", "-u", "postgres", "launchbay_postgres", "psql", "-XqAt", "-d", db, "-c", query).strip()


def s3(code):
    """Python with boto3 in a container on the egress network (the bucket as the tool sees it)."""
    head = ("import boto3, json, sys\n"
            "c = boto3.client('s3', endpoint_url='https://s3:443', aws_access_key_id='molecule-access-key',"
            " aws_secret_access_key='molecule-s3-secret-key-1', region_name='us-east-1',"
            " verify='/etc/launchbay/backups/s3-ca.pem')\n")
    return on_host("docker", "run", "--rm", "-i", "--network", "launchbay_egress", "-v",
                   "/etc/launchbay/backups:/etc/launchbay/backups:ro", "--entrypoint", "python3", IMAGE, "-",
                   stdin=head + code)


def playbook(name, *args, inventory):
    started = time.monotonic()
    res = subprocess.run(["ansible-playbook", os.path.join(REPO, "playbooks", name + ".yml"), "-i", inventory, *args],
                         capture_output=True, text=True, timeout=900, check=False, env=dict(os.environ, USER="e2e"))
    return res.returncode, res.stdout + res.stderr, time.monotonic() - started


def flat(text):
    return " ".join(text.split())


def no_secrets(text, what):
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, "%s: secrets in the output: %s" % (what, leaked)


def app_get(path):
    out = on_host("docker", "exec", APP, "python3", "-c",
                  "import urllib.request,sys; print(urllib.request.urlopen('http://127.0.0.1:8000%s', timeout=5).read().decode())" % path)
    return json.loads(out)


def add_rows(prefix, count):
    for i in range(count):
        on_host("docker", "exec", APP, "python3", "-c",
                "import urllib.request, json; r = urllib.request.Request('http://127.0.0.1:8000/records',"
                " data=json.dumps({'note': '%s-%d'}).encode(), headers={'Content-Type': 'application/json'});"
                " urllib.request.urlopen(r, timeout=5).read()" % (prefix, i))


def notes():
    return sorted(sql("SELECT note FROM records").split())


def start_app():
    on_host("docker", "rm", "-f", APP, check=False)
    env = ["-e", "DATABASE_URL=postgresql://shop:molecule-shop-pw-1@launchbay_postgres:5432/shop",
           "-e", "SECRET_KEY=molecule-app-secret-key-1"]
    on_host("docker", "run", "--rm", "--network", "launchbay_internal", *env, "launchbay-lab/demo-app:v1", "migrate")
    on_host("docker", "run", "-d", "--name", APP, "--network", "launchbay_internal", *env,
            "--health-interval", "1s", "--health-start-period", "2s",
            "--label", "launchbay.app=shop", "--label", "launchbay.role=app", "launchbay-lab/demo-app:v1")
    wait_healthy()


def wait_healthy(timeout=60):
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = on_host("docker", "inspect", "-f", "{{.State.Health.Status}}", APP).strip()
        if state == "healthy":
            return
        time.sleep(1)
    raise AssertionError("the app is %s after %ss" % (state, timeout))


def hook_lines():
    out = on_host("sh", "-c", "cat /srv/hook/requests.jsonl 2>/dev/null || true")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def on_failure_runs(unit):
    """How many times systemd's OnFailure unit for `unit` has finished (or failed)."""
    log = on_host("journalctl", "-u", "launchbay-backup-alert@%s.service" % unit, "-o", "cat", "--no-pager", check=False)
    return sum(1 for line in log.splitlines() if line.startswith(("Finished ", "Failed to start ")))


def on_failure_ran(unit, runs, timeout=60):
    """Until the OnFailure unit for `unit` has finished `runs` times and is not running (bounded)."""
    name = "launchbay-backup-alert@%s.service" % unit
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = on_host("systemctl", "show", "-p", "ActiveState", "--value", name, check=False).strip()
        if on_failure_runs(unit) >= runs and active in ("inactive", "failed"):
            return
        time.sleep(0.5)
    raise AssertionError("%s did not finish %d runs within %ss" % (name, runs, timeout))


def archive_check_until(done, timeout):
    """Run the tool's archive check (no alert) until `done(result)` (bounded); the last result."""
    deadline = time.monotonic() + timeout
    while True:
        res = subprocess.run(["docker", "exec", HOST, "docker", "exec", "-u", "postgres", "launchbay_postgres", *TOOL, "--no-alert",
                              "archive-check", "--max-lag-minutes", "60"], capture_output=True, text=True, timeout=120, check=False)
        if done(res):
            return res
        if time.monotonic() > deadline:
            raise AssertionError("archive check never got there within %ss: %s %s" % (timeout, res.stdout, res.stderr))
        time.sleep(2)


def wait_postgres(timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = on_host("docker", "inspect", "-f", "{{.State.Health.Status}}", "launchbay_postgres", check=False).strip()
        if state == "healthy":
            return
        time.sleep(1)
    raise AssertionError("PostgreSQL not healthy again within %ss" % timeout)


def step(title):
    print("== %s" % title, flush=True)


QUEUE_SEGMENTS = 3  # the scenario's backups_pitr_archive_queue_max (48MiB) in 16 MiB WAL segments


def waiting_wal():
    return int(on_host("docker", "exec", "launchbay_postgres", "sh", "-c",
                       "ls /var/lib/postgresql/data/pg_wal/archive_status | grep -c '[.]ready$' || true").strip())


def wal_past_the_queue_limit(limit=300):
    """S3 away, one WAL segment written every ~2 s: the segments waiting in pg_wal go past the
    queue limit, then pgBackRest drops them and pg_wal shrinks back; PostgreSQL never restarts
    (the asynchronous archive-push's failing exit must not look like a crashed backend)."""
    postmaster = sql("SELECT pg_postmaster_start_time()", "postgres")
    began, peak, written = time.monotonic(), 0, 0
    while True:
        sql("INSERT INTO wal_fill SELECT generate_series(1, 1000)")
        sql("SELECT pg_switch_wal()", "postgres")
        written += 1
        waiting = waiting_wal()
        peak = max(peak, waiting)
        if peak > QUEUE_SEGMENTS and waiting <= QUEUE_SEGMENTS:
            break
        assert time.monotonic() - began < limit, (
            "pg_wal did not shrink within %d s: %d segments wait (peak %d, queue limit %d)" % (limit, waiting, peak, QUEUE_SEGMENTS))
        time.sleep(2)
    assert sql("SELECT pg_postmaster_start_time()", "postgres") == postmaster, "PostgreSQL restarted while S3 was away"
    dropped = on_host("docker", "exec", "launchbay_postgres", "sh", "-c",
                      "grep -c 'WARN: dropped WAL file' /tmp/launchbay-archive-push-async.log || true").strip()
    assert int(dropped) >= QUEUE_SEGMENTS, "pgBackRest's log names %s dropped segments" % dropped
    return ("S3 cut under a write load (%d WAL segments in %.0f s, queue limit %d): at most %d segments waited in pg_wal, "
            "then pgBackRest dropped %s and pg_wal shrank to %d; PostgreSQL never restarted"
            % (written, time.monotonic() - began, QUEUE_SEGMENTS, peak, dropped, waiting))


def main(inventory):
    figures = []
    step("1 rows A through the app; backup.yml")
    start_app()
    sql("TRUNCATE records")  # a re-run starts from no rows and no dumps
    s3("for o in c.list_objects_v2(Bucket='%s', Prefix='%s/logical/').get('Contents', []):\n"
       "    c.delete_object(Bucket='%s', Key=o['Key'])\n" % (BUCKET, PREFIX, BUCKET))
    add_rows("a", 3)
    rc, out, seconds = playbook("backup", "-vvv", inventory=inventory)
    assert rc == 0, flat(out)[-3000:]
    no_secrets(out, "backup.yml -vvv")
    assert "shop: " in flat(out) and "reports: " in flat(out), "every database is dumped: " + flat(out)[-1500:]
    figures.append("backup.yml: %.1f s" % seconds)
    listing = json.loads(on_host("docker", "exec", "-u", "postgres", "launchbay_postgres", *TOOL, "list"))
    first_dump = listing["logical"]["shop"][0]["id"]
    assert set(listing["logical"]) >= {"shop", "reports"}, listing["logical"].keys()

    step("2 rows B, time T, rows C")
    add_rows("b", 4)
    time.sleep(1.5)
    target = sql("SELECT now()")
    time.sleep(1.5)
    add_rows("c", 5)
    all_rows = notes()
    assert len(all_rows) == 12, all_rows

    step("3 the bucket holds only encrypted data")
    heads = json.loads(s3(
        "out = {}\n"
        "for page in c.get_paginator('list_objects_v2').paginate(Bucket='%s', Prefix='%s/'):\n"
        "    for o in page.get('Contents', []):\n"
        "        k = o['Key']\n"
        "        if k.endswith('.json'): continue\n"
        "        if '/pgbackrest/' in k and sum('/pgbackrest/' in x for x in out) >= 100: continue  # a sample\n"
        "        out[k] = c.get_object(Bucket='%s', Key=k, Range='bytes=0-7')['Body'].read().hex()\n"
        "print(json.dumps(out))\n" % (BUCKET, PREFIX, BUCKET)))
    dumps = [k for k in heads if k.endswith(".dump.gpg")]
    pgbr = [k for k in heads if "/pgbackrest/" in k]
    assert dumps and pgbr, heads
    for key in dumps:
        raw = bytes.fromhex(heads[key])
        assert not raw.startswith(b"PGDMP") and raw[0] & 0x80, "%s is not a GnuPG packet: %r" % (key, raw)
    for key in pgbr:
        assert bytes.fromhex(heads[key]).startswith(b"Salted__"), "%s is not encrypted: %r" % (key, heads[key])
    figures.append("bucket: %d dumps (GnuPG), %d pgBackRest objects checked (Salted__)" % (len(dumps), len(pgbr)))

    step("4 restore latest")
    rc, out, seconds = playbook("restore", "-vvv", inventory=inventory)
    assert rc == 0, flat(out)[-3000:]
    no_secrets(out, "restore.yml -vvv")
    wait_healthy()
    assert notes() == all_rows, notes()
    assert app_get("/records")["count"] == 12
    switch = flat(out).split("the app was paused for ")[1].split(" s")[0]
    kept = sql("SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'shop_before_restore_%'", "postgres")
    assert kept, "the previous database is kept"
    figures.append("restore latest: %.1f s, switch %s s, 12 rows, kept %s" % (seconds, switch, kept))

    step("5 restore to T")
    rc, out, seconds = playbook("restore", "-e", json.dumps({"restore_target_time": target}), inventory=inventory)
    assert rc == 0, flat(out)[-3000:]
    wait_healthy()
    expected = sorted(n for n in all_rows if n[0] in "ab")
    assert notes() == expected, "PITR to %s: %s" % (target, notes())
    assert app_get("/records")["count"] == 7
    figures.append("restore to T: %.1f s, exactly the 7 rows before T" % seconds)

    # FAULT pitr-future-target, FAULT pitr-idle-target
    step("5b a time in the future is refused before the lock; a time after the last transaction restores that state")
    future = sql("SELECT (now() + interval '1 hour')::text")
    rc, out, seconds = playbook("restore", "-e", json.dumps({"restore_target_time": future}), inventory=inventory)
    assert rc != 0 and "is in the future: the recoverable window is " in flat(out), flat(out)[-2000:]
    assert "take the lock" not in flat(out), "refused before the lock: " + flat(out)[-2000:]
    figures.append("restore to now + 1 h: refused in %.1f s, %s" % (seconds, flat(out).split("is in the future: ")[1][:80]))
    time.sleep(1.5)
    idle = sql("SELECT now()")  # nothing is written after this until the restore
    rc, out, seconds = playbook("restore", "-e", json.dumps({"restore_target_time": idle}), inventory=inventory)
    assert rc == 0, flat(out)[-3000:]
    wait_healthy()
    assert notes() == expected, "PITR to %s on an idle database: %s" % (idle, notes())
    figures.append("restore to a time after the last transaction (idle database): %.1f s, the 7 rows" % seconds)

    # FAULT full-disk-backup-path
    step("5c a disk too small for the restore: refused before anything is written, naming the space")
    databases = "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"
    before, volumes, dbs = notes(), on_host("docker", "volume", "ls", "-q"), sql(databases, "postgres")
    rc, out, seconds = playbook("restore", "-e", json.dumps({"restore_scratch_volume_options": {
        "type": "tmpfs", "device": "tmpfs", "o": "size=8m,uid=999,gid=999"}}), inventory=inventory)
    assert rc != 0 and "has 8 MiB free, the base backup restores to" in flat(out), flat(out)[-3000:]
    scratch_refusal = flat(out).split("not enough space for the restore's scratch copy of the cluster: ")[1][:110]
    rc, out, seconds_live = playbook("restore", "-e", "restore_free_space_margin_mb=100000000", inventory=inventory)
    assert rc != 0 and "Not enough space on the live server for the restored copies" in flat(out), flat(out)[-3000:]
    assert "restore_free_space_margin_mb keeps 100000000 MiB free" in flat(out), flat(out)[-3000:]
    wait_healthy()
    assert notes() == before, "the live data is untouched: %s" % notes()
    assert sql(databases, "postgres") == dbs, "no database created or dropped"
    assert on_host("docker", "volume", "ls", "-q") == volumes, "the scratch volume is gone"
    assert not on_host("sh", "-c", "ls /var/lib/launchbay/locks/*.lock 2>/dev/null || true").strip(), "the lock is free"
    figures.append("scratch volume on an 8 MiB tmpfs: refused in %.1f s (%s); live disk below the margin: refused in %.1f s; "
                   "data, volumes and lock as before" % (seconds, scratch_refusal, seconds_live))

    step("6 named dump from another environment: sanitizing required")
    cross = ["-e", "backups_environment=staging", "-e", "backups_s3_prefix=launchbay/staging",
             "-e", "restore_source_environment=molecule",
             "-e", "restore_from=" + first_dump, "-e", "restore_switch=false", "-e", '{"restore_databases": ["shop"]}']
    rc, out = playbook("restore", *cross, inventory=inventory)[:2]
    assert rc != 0 and "needs restore_sanitize_sql" in flat(out), flat(out)[-2000:]
    rc, out, seconds = playbook("restore", *cross, "-e", json.dumps({"restore_sanitize_sql": [
        "UPDATE records SET note = 'scrubbed'"]}), inventory=inventory)
    assert rc == 0, flat(out)[-3000:]
    restored = sql("SELECT datname FROM pg_database WHERE datname ~ '^shop_restore_'", "postgres")
    assert restored, "the restored database exists beside the live one"
    assert sql("SELECT note || ':' || count(*) FROM records GROUP BY note", restored) == "scrubbed:3"
    assert notes() == expected, "not switched: the live database is unchanged"
    sql('DROP DATABASE "%s"' % restored, "postgres")
    figures.append("named dump %s from molecule into staging, sanitized, not switched: %.1f s" % (first_dump, seconds))

    # FAULT restore-app-unhealthy
    step("6b the app is not healthy on the restored data: the switch is undone, the app serves, the lock is free")
    before = notes()
    rc, out, seconds = playbook("restore", "-e", "restore_from=" + first_dump, "-e", json.dumps({
        "restore_databases": ["shop"], "restore_sanitize_sql": ["DELETE FROM schema_migrations"]}), inventory=inventory)
    assert rc != 0 and "The app was not healthy after the restore" in flat(out), flat(out)[-3000:]
    assert "The switch was undone: shop are the databases the app had before and it serves from them again" in flat(out), flat(out)[-3000:]
    wait_healthy()
    assert notes() == before, "the data the app had: %s" % notes()
    assert not on_host("sh", "-c", "ls /var/lib/launchbay/locks/*.lock 2>/dev/null || true").strip(), "the lock is free"
    kept = sql("SELECT datname FROM pg_database WHERE datname ~ '^shop_restore_'", "postgres")
    assert kept and sql("SELECT count(*) FROM schema_migrations", kept) == "0", "the restored data is kept for a look"
    sql('DROP DATABASE "%s"' % kept, "postgres")
    figures.append("restore the app is not healthy on: failed in %.1f s, switch undone, app serving the %d rows it had, lock free"
                   % (seconds, len(before)))

    # FAULT corrupted-backup, FAULT truncated-backup
    step("7 a corrupted dump fails and changes nothing")
    dump = [d for d in json.loads(on_host("docker", "exec", "-u", "postgres", "launchbay_postgres", *TOOL, "list"))
            ["logical"]["shop"] if d["id"] == first_dump][0]
    s3("k = '%s'\nb = bytearray(c.get_object(Bucket='%s', Key=k)['Body'].read())\n"
       "b[len(b) // 2] ^= 0xFF\nc.put_object(Bucket='%s', Key=k, Body=bytes(b))\n" % (dump["key"], BUCKET, BUCKET))
    before = notes()
    rc, out = playbook("restore", "-e", "restore_from=" + dump["id"], inventory=inventory)[:2]
    assert rc != 0 and "checksum mismatch" in flat(out), flat(out)[-2500:]
    assert notes() == before, "the live database is untouched"
    assert not sql("SELECT datname FROM pg_database WHERE datname ~ '_restore_' AND datname !~ '_before_restore_'", "postgres"), "no leftovers"
    wait_healthy()
    assert app_get("/records")["count"] == 7
    figures.append("corrupted dump %s: refused (checksum mismatch), live data and app unchanged" % dump["id"])
    # a dump cut short (an upload that stopped half way, a full disk where it was copied)
    s3("k = '%s'\nb = c.get_object(Bucket='%s', Key=k)['Body'].read()\n"
       "c.put_object(Bucket='%s', Key=k, Body=b[:len(b) // 2])\n" % (dump["key"], BUCKET, BUCKET))
    rc, out = playbook("restore", "-e", "restore_from=" + dump["id"], inventory=inventory)[:2]
    assert rc != 0 and ("checksum mismatch" in flat(out) or "size" in flat(out)), flat(out)[-2500:]
    assert notes() == before, "the live database is untouched"
    figures.append("truncated dump %s: refused, live data unchanged" % dump["id"])

    step("8 retention")
    today = datetime.datetime.now(datetime.timezone.utc)
    fake = [today - datetime.timedelta(days=d, hours=1) for d in range(1, 46)]
    s3("import datetime\nfor stamp in %r:\n"
       "    base = '%s/logical/shop/' + stamp\n"
       "    c.put_object(Bucket='%s', Key=base + '.dump.gpg', Body=b'old')\n"
       "    c.put_object(Bucket='%s', Key=base + '.json', Body=b'{}')\n"
       % ([f.strftime("%Y%m%dT%H%M%SZ") for f in fake], PREFIX, BUCKET, BUCKET))
    on_host("systemctl", "start", "launchbay-backup-logical.service")
    listed = on_host("docker", "exec", "-u", "postgres", "launchbay_postgres", *TOOL, "list")
    ids = [b["id"] for b in json.loads(listed)["logical"]["shop"]]
    # expected, by hand: every day of the last 30 that has a dump, plus the newest dump of each
    # month (up to 12) whose newest dump is older than that
    days_kept = set(sorted({today.date()} | {f.date() for f in fake}, reverse=True)[:30])
    newest_of_month = {}
    for stamp in [today] + fake:
        newest_of_month.setdefault((stamp.year, stamp.month), stamp)
    expected_fake = {f.strftime("%Y%m%dT%H%M%SZ") for f in fake
                     if f.date() in days_kept or newest_of_month[(f.year, f.month)] == f}
    kept_fake = {i for i in ids if i in {f.strftime("%Y%m%dT%H%M%SZ") for f in fake}}
    assert kept_fake == expected_fake, "kept %s, expected %s" % (sorted(kept_fake), sorted(expected_fake))
    gone = len(fake) - len(kept_fake)
    assert gone >= 14, gone
    left = s3("print(sum(1 for o in c.list_objects_v2(Bucket='%s', Prefix='%s/logical/shop/').get('Contents', [])))"
              % (BUCKET, PREFIX)).strip()
    assert int(left) == 2 * len(ids), "objects and manifests of deleted dumps are gone: %s objects, %d dumps" % (left, len(ids))
    figures.append("retention: 45 simulated daily dumps, %d deleted, %d kept (30 days + monthly)" % (gone, len(kept_fake)))

    # pgBackRest's retention (repo1-retention-full=2): two more full backups expire the first
    # full one and what depends on it, and its files leave the bucket
    def base_backups():
        return json.loads(on_host("docker", "exec", "-u", "postgres", "launchbay_postgres", *TOOL, "list"))["pgbackrest"]["backups"]

    first_full = [b["label"] for b in base_backups() if b["type"] == "full"][0]
    for _round in range(2):
        on_host("docker", "exec", "-u", "postgres", "launchbay_postgres", *TOOL, "pitr-backup", "--type", "full")
    after = base_backups()
    assert [b["type"] for b in after] == ["full", "full"], after
    assert first_full not in [b["label"] for b in after]
    left = s3("print(len(c.list_objects_v2(Bucket='%s', Prefix='%s/pgbackrest/backup/launchbay/%s/').get('Contents', [])))"
              % (BUCKET, PREFIX, first_full)).strip()
    assert left == "0", "%s objects of the expired backup %s remain" % (left, first_full)
    figures.append("pgBackRest retention: 2 full backups kept, %s and its incremental expired and deleted" % first_full)

    # FAULT s3-cut-backup
    step("9 S3 unreachable: the backup fails and the webhook is called")
    timers = on_host("systemctl", "list-timers", "--all", "--no-pager")
    for name in ("logical", "base-full", "base-diff", "freshness", "drill"):
        assert "launchbay-backup-%s.timer" % name in timers, timers
    seen, runs = len(hook_lines()), on_failure_runs("launchbay-backup-logical.service")
    # cut off, not stopped: moto keeps the bucket only in memory
    on_host("docker", "network", "disconnect", "launchbay_egress", "s3")
    try:
        res = subprocess.run(["docker", "exec", HOST, "systemctl", "start", "launchbay-backup-logical.service"],
                             capture_output=True, text=True, timeout=600, check=False)
        assert res.returncode != 0, "the backup must fail without S3"
        state = on_host("systemctl", "is-failed", "launchbay-backup-logical.service", check=False).strip()
        assert state == "failed", state
        # FAULT s3-cut-wal: WAL written meanwhile cannot be archived; the archive check says so
        sql("CREATE TABLE IF NOT EXISTS wal_fill (n int); INSERT INTO wal_fill SELECT generate_series(1, 1000)")
        sql("SELECT pg_switch_wal()", "postgres")
        archive_check_until(lambda res: res.returncode != 0 and "WAL archiving is failing" in res.stdout, 120)
        seen_wal = len(hook_lines())
        on_host("systemctl", "start", "launchbay-backup-archive-check.service", check=False)
        wal_alerts = [a for a in hook_lines()[seen_wal:] if "WAL archiving is failing" in a["text"]]
        assert wal_alerts and "cannot reach past" in wal_alerts[0]["text"], hook_lines()[seen_wal:]
        # FAULT s3-cut-wal (a write load past the queue limit)
        step("9a S3 still away under a write load: pgBackRest drops WAL past the queue limit, pg_wal stays bounded")
        figures.append(wal_past_the_queue_limit())
    finally:
        on_host("docker", "network", "connect", "launchbay_egress", "s3")
    # archiving catches up; the check now names the dropped WAL until a full base backup covers it
    gap = archive_check_until(lambda res: "pgBackRest dropped" in res.stdout and "is failing" not in res.stdout, 240)
    assert gap.returncode != 0 and "take a full base backup now" in gap.stdout, gap.stdout
    on_host("docker", "exec", "-u", "postgres", "launchbay_postgres", *TOOL, "pitr-backup", "--type", "full")
    caught_up = archive_check_until(lambda res: res.returncode == 0, 240)
    figures.append("S3 cut during WAL archiving: alert '%s'; archiving caught up after S3 returned (%s archived); "
                   "the dropped WAL reported ('%s') until a full base backup"
                   % (wal_alerts[0]["text"][:150], json.loads(caught_up.stdout)["archiver"]["last_archived_wal"],
                      gap.stdout.strip()[:120]))

    # (the archive-check timer may alert about the same outage meanwhile: its own job)
    alerts = [a for a in hook_lines()[seen:] if a["job"] == "logical"]
    assert alerts, "the webhook got nothing about the logical backup: %s" % hook_lines()[seen:]
    alert = alerts[-1]
    assert alert["host"] == HOST and alert["job"] == "logical" and alert["text"].startswith("launchbay backup FAILED"), alert
    assert "shop" in json.dumps(alert) and alert["error"], alert
    no_secrets(json.dumps(alerts), "webhook body")
    # the tool alerted and exited 3, so systemd's OnFailure unit ran and stayed quiet
    on_failure_ran("launchbay-backup-logical.service", runs + 1)
    logical_alerts = [a for a in hook_lines()[seen:] if "logical" in a["job"]]
    assert len(logical_alerts) == 1, "one alert, not two: %s" % logical_alerts
    figures.append("S3 unreachable: service failed, one webhook alert: %s" % alert["text"][:160])

    # FAULT job-cannot-start
    step("9b a job that cannot even start (PostgreSQL's container stopped) alerts through systemd's OnFailure")
    seen, runs = len(hook_lines()), on_failure_runs("launchbay-backup-logical.service")
    on_host("docker", "stop", "launchbay_postgres")
    try:
        on_host("systemctl", "start", "launchbay-backup-logical.service", check=False)
        on_failure_ran("launchbay-backup-logical.service", runs + 1)
        alerts = [a for a in hook_lines()[seen:] if "logical" in a["job"]]
        assert len(alerts) == 1 and "before the backup tool could report why" in alerts[0]["text"], alerts
        assert alerts[0]["job"] == "launchbay-backup-logical.service", alerts[0]
    finally:
        on_host("docker", "start", "launchbay_postgres")
    wait_postgres()
    figures.append("job unable to start: one alert by OnFailure: %s" % alerts[0]["text"][:120])

    step("9c an alert on demand: playbooks/test_alerts.yml")
    seen = len(hook_lines())
    rc, out, seconds = playbook("test_alerts", inventory=inventory)
    assert rc == 0 and "Test alert sent by webhook." in flat(out), flat(out)[-2000:]
    assert [a["text"].split(":")[0] for a in hook_lines()[seen:]] == ["launchbay backup alert TEST from %s (molecule)" % HOST]
    figures.append("test_alerts.yml: %.1f s, the webhook got the test alert" % seconds)

    step("10 freshness and the drill")
    time.sleep(3)
    res = subprocess.run(["docker", "exec", HOST, "docker", "exec", "-u", "postgres", "launchbay_postgres", *TOOL,
                          "freshness", "--max-age-hours", "0.0001", "--logical-only"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode != 0 and "stale" in res.stdout, res.stdout + res.stderr
    assert "stale" in hook_lines()[-1]["text"], hook_lines()[-1]
    on_host("systemctl", "start", "launchbay-backup-freshness.service")
    rc, out, seconds = playbook("restore_drill", inventory=inventory)
    assert rc == 0 and "Restore drill passed" in flat(out), flat(out)[-2500:]
    figures.append("drill: " + flat(out).split("Restore drill passed: ")[1].split(" report ")[0])
    print("\n".join(figures))


if __name__ == "__main__":
    main(sys.argv[1])
