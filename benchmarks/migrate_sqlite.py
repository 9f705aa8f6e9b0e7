#!/usr/bin/env python
"""SQLite -> PostgreSQL: the whole migration against pgloader alone, on the same data.

On the local stack (README command 1 deploys it): deploys the demo app (v3) on SQLite in a
new volume, fills it with --rows rows over four tables, then measures in the same run:
  baseline   pgloader alone: one pgloader run that loads the same file (a consistent copy)
             into a scratch database, schema, data and indexes (the lab's pgloader image)
  migration  playbooks/migrate_sqlite.yml end to end: checks, the schema by the app's
             migrations, the write pause, pgloader per table, the verification of every
             table, the health-gated switch
and prints rows per second of each, their ratio, and the write pause the playbook reports.
Afterwards the app goes back to SQLite (discarding nothing: no rows are written meanwhile)
and then the normal local deploy puts the stack back as README command 1 leaves it.
Usage: benchmarks/migrate_sqlite.py [--rows 105000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "lab"))
from sqlite_app import deploy_vars, fill  # noqa: E402  pylint: disable=wrong-import-position

VOLUME = "lbbench-sqlite-%d" % int(time.time())
DATABASE, SCRATCH = "bench_sqlite", "bench_pgloader_alone"
RECORD = "/etc/launchbay/apps/demo/sqlite-migration.json"
PGLOADER = "launchbay-lab/pgloader:bookworm"


def sh(*cmd, check=True, timeout=3600, stdin=None):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, input=stdin)
    if check and res.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(cmd[:8]), (res.stdout + res.stderr)[-3000:]))
    return res.stdout


def psql(sql, database="postgres"):
    return sh("docker", "exec", "-i", "-u", "postgres", "launchbay_postgres", "psql", "-XAtq", "-v", "ON_ERROR_STOP=1",
              "-d", database, stdin=sql)


def playbook(name, varsfile, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    started = time.monotonic()
    res = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "playbooks/%s.yml" % name,
                          "-i", "inventories/local", "-e", "@" + varsfile, *args],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=3600, check=False)
    out = " ".join((res.stdout + res.stderr).split())
    if res.returncode != 0:
        sys.exit("%s failed: %s" % (name, out[-3000:]))
    return time.monotonic() - started, out


def pgloader_alone(source, workdir):
    """Seconds for one pgloader run of the whole file into a scratch database."""
    shutil.copy(source, os.path.join(workdir, "app.db"))
    user, password = "lbbench_%s" % secrets.token_hex(4), secrets.token_hex(20)
    psql('DROP DATABASE IF EXISTS %s; CREATE ROLE "%s" LOGIN PASSWORD \'%s\'; CREATE DATABASE %s OWNER "%s";'
         % (SCRATCH, user, password, SCRATCH, user))
    address = json.loads(sh("docker", "inspect", "launchbay_postgres"))[0]["NetworkSettings"]["Networks"]
    address = address["launchbay_internal"]["IPAddress"]
    try:
        started = time.monotonic()
        sh("docker", "run", "--rm", "--network", "launchbay_internal", "-v", "%s:/work" % workdir, PGLOADER,
           "timeout", "3600", "pgloader", "--on-error-stop", "sqlite:///work/app.db",
           "postgresql://%s:%s@%s:5432/%s" % (user, password, address, SCRATCH))
        return time.monotonic() - started
    finally:
        psql('DROP DATABASE IF EXISTS %s; DROP ROLE IF EXISTS "%s";' % (SCRATCH, user))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=105000)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="lbbench-")
    varsfile = os.path.join(workdir, "sqlite.yml")
    with open(varsfile, "w", encoding="utf-8") as handle:
        handle.write(deploy_vars(VOLUME, DATABASE))
    sh("rm", "-f", RECORD)
    try:
        print("setup: the demo app on SQLite (%s), %d rows" % (VOLUME, args.rows), flush=True)
        psql("DROP DATABASE IF EXISTS %s" % DATABASE)
        playbook("deploy", varsfile)
        source = json.loads(sh("docker", "volume", "inspect", VOLUME))[0]["Mountpoint"] + "/app.db"
        fill(source, args.rows)

        alone = pgloader_alone(source, workdir)
        whole, out = playbook("migrate_sqlite", varsfile)
        pause = float(re.search(r"writes were paused for ([0-9.]+) s", out).group(1))
        tables = re.findall(r"(\w+): (\d+) rows in ([0-9.]+) s \((\d+) rows/s\)", out)

        print("rows: %d in %d tables" % (args.rows, len(tables)))
        for name, rows, seconds, rate in tables:
            print("  copy of %-12s %7s rows  %5s s  %7s rows/s" % (name, rows, seconds, rate))
        print("pgloader alone:        %6.1f s  %8.0f rows/s" % (alone, args.rows / alone))
        print("whole migration:       %6.1f s  %8.0f rows/s  (%.2fx pgloader alone's time)"
              % (whole, args.rows / whole, whole / alone))
        print("write pause:           %6.1f s  (%.2fx pgloader alone's time)" % (pause, pause / alone))
    finally:
        if os.path.exists(RECORD):
            playbook("migrate_sqlite", varsfile, "-e", "migrate_sqlite_rollback=true", "-e", "migrate_sqlite_new_rows=discard")
        os.unlink(RECORD) if os.path.exists(RECORD) else None
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
        subprocess.run([os.path.join(REPO, "lab", "deploy-local.sh")], cwd=REPO, env=env, capture_output=True, timeout=1800,
                       check=False)
        sh("docker", "volume", "rm", VOLUME, check=False)
        psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DATABASE)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
