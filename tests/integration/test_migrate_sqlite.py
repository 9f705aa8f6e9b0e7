"""playbooks/migrate_sqlite.yml on the local stack: the demo app on SQLite (105,000 rows over
four tables with foreign keys, NULLs, booleans, dates, timestamps, blobs and non-ASCII text)
moved to PostgreSQL with the lab's pgloader, under HTTPS load; two injected failures undone;
the way back with and without rows written since the switch."""

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import LOCAL_SECRETS, REMOTE_TMP, REPO

sys.path.insert(0, os.path.join(REPO, "lab"))
from loadgen import LoadGenerator  # noqa: E402  pylint: disable=wrong-import-position
from sqlite_app import deploy_vars, fill  # noqa: E402  pylint: disable=wrong-import-position

DOMAIN = "demo.launchbay.test"
LAB_ACME = os.environ.get("LAUNCHBAY_LAB_ACME_DIR", os.path.expanduser("~/.config/launchbay/lab-acme"))
VOLUME = "lbi-sqlite-%d" % int(time.time())  # a new, empty file each run
DATABASE = "demo_sqlite"
RECORD = "/etc/launchbay/apps/demo/sqlite-migration.json"
ORDERS = (1, 12, 777, 40000, 63000)
VARS = deploy_vars(VOLUME, DATABASE)


def playbook(name, varsfile, *args, background=False):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), USER="migrate-test", ANSIBLE_REMOTE_TMP=REMOTE_TMP)
    cmd = ["ansible-playbook", "playbooks/%s.yml" % name, "-i", "inventories/local", "-e", "@" + varsfile, *args]
    if background:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    return res.returncode, " ".join((res.stdout + res.stderr).split())


def https(method, path, body=None):
    cmd = ["curl", "-sS", "--max-time", "10", "-X", method, "--resolve", "%s:443:127.0.0.1" % DOMAIN,
           "--cacert", os.path.join(LAB_ACME, "pebble-root.pem"), "https://%s%s" % (DOMAIN, path)]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=True).stdout)


def database_kind():
    return https("GET", "/health")["components"]["database"]["kind"]


def psql(sql):
    return subprocess.run(["docker", "exec", "-u", "postgres", "launchbay_postgres", "psql", "-XAtq", "-d", DATABASE, "-c", sql],
                          capture_output=True, text=True, timeout=30, check=True).stdout.strip()


def relations():
    return int(psql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v')"))


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def under_load(name, varsfile, *args):
    """The run with HTTPS load on the app; (rc, output, load summary)."""
    gen = LoadGenerator(DOMAIN, os.path.join(LAB_ACME, "pebble-root.pem"), path="/records?limit=1", rate=40, workers=4,
                        max_seconds=600).start()
    rc, out = playbook(name, varsfile, *args)
    load = gen.stop()
    return rc, out, load


def assert_users_saw_the_page_or_the_app(load):
    """During the pause users get 503 with Retry-After (the maintenance page), never an error."""
    assert set(load["failure_reasons"]) <= {"HTTP 503 Retry-After"}, load
    assert load["sent"] > 100, load


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory):
    """The demo app v3 deployed on SQLite in a volume, filled with 105,000 rows."""
    # earlier runs' volumes (one still mounted by the app stays until the app moves on)
    old = subprocess.run(["docker", "volume", "ls", "-q", "--filter", "name=lbi-sqlite-"], capture_output=True, text=True,
                         check=True).stdout.split()
    if old:
        subprocess.run(["docker", "volume", "rm", *old], capture_output=True, timeout=60, check=False)
    subprocess.run(["rm", "-rf", RECORD, "/var/lib/launchbay/exports/demo"], check=True)
    varsfile = str(tmp_path_factory.mktemp("migrate") / "sqlite.yml")
    with open(varsfile, "w", encoding="utf-8") as handle:
        handle.write(VARS)
    rc, out = playbook("deploy", varsfile)
    assert rc == 0, out[-3000:]
    assert database_kind() == "sqlite"
    psql("DO $$DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP"
         " EXECUTE format('DROP TABLE %I CASCADE', t); END LOOP; END $$")  # an earlier run's leftovers
    path = json.loads(subprocess.run(["docker", "volume", "inspect", VOLUME], capture_output=True, text=True,
                                     check=True).stdout)[0]["Mountpoint"] + "/app.db"
    counts = fill(path)
    assert sum(counts.values()) == 105000
    yield {"vars": varsfile, "file": path, "orders": {n: https("GET", "/orders/%d" % n) for n in ORDERS}}
    # the stack keeps no trace of this module's database (the app is on SQLite again by now)
    subprocess.run(["docker", "exec", "-u", "postgres", "launchbay_postgres", "psql", "-XAtq", "-c",
                    "DROP DATABASE IF EXISTS %s WITH (FORCE)" % DATABASE], capture_output=True, timeout=60, check=False)
    subprocess.run(["rm", "-f", RECORD], check=True)


def test_a_value_postgresql_refuses_is_undone(on_sqlite):
    conn = sqlite3.connect(on_sqlite["file"])
    conn.execute("INSERT INTO orders (id, customer_id, total_cents, placed_at) VALUES (99999, 1, 'n/a', '2026-01-01 00:00:00')")
    conn.commit()
    before = sha256(on_sqlite["file"])
    rc, out, load = under_load("migrate_sqlite", on_sqlite["vars"])
    assert rc != 0
    # pgloader skips the row it cannot load; the verification sees it missing
    assert "The migration was undone: The copy differs from the SQLite file: orders: 63001 rows in SQLite, 63000 in PostgreSQL." \
        in out, out[-3000:]
    assert "The app serves from SQLite as before" in out and "is empty again" in out
    assert_users_saw_the_page_or_the_app(load)
    assert database_kind() == "sqlite" and sha256(on_sqlite["file"]) == before
    assert relations() == 0
    assert not os.path.exists(RECORD)
    conn.execute("DELETE FROM orders WHERE id = 99999")
    conn.commit()
    conn.close()


def test_a_killed_copy_is_undone(on_sqlite):
    before = sha256(on_sqlite["file"])
    run = playbook("migrate_sqlite", on_sqlite["vars"], background=True)
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and time.monotonic() < deadline and run.poll() is None:
        ids = subprocess.run(["docker", "ps", "-q", "--filter", "label=launchbay.role=migrate-copy", "--filter", "label=launchbay.app=demo"],
                             capture_output=True, text=True, check=True).stdout.split()
        if ids:
            subprocess.run(["docker", "kill", ids[0]], capture_output=True, check=False)
            killed = ids[0]
        time.sleep(0.1)
    out = " ".join(run.communicate(timeout=600)[0].split())
    assert killed, "no copy container appeared: " + out[-3000:]
    assert run.returncode != 0
    assert "killed" in out and "The migration was undone" in out, out[-3000:]
    assert database_kind() == "sqlite" and sha256(on_sqlite["file"]) == before
    assert relations() == 0


def test_migration_under_load_keeps_every_row(on_sqlite):
    rc, out, load = under_load("migrate_sqlite", on_sqlite["vars"])
    assert rc == 0, out[-4000:]
    assert_users_saw_the_page_or_the_app(load)
    assert "Verified: 4 tables, 105000 rows, every row count and content digest equal" in out
    assert "rows/s" in out and "4 of 4 tables done" in out and "writes were paused for" in out
    assert database_kind() == "postgresql"
    # the same records through HTTPS, now read from PostgreSQL
    assert {n: https("GET", "/orders/%d" % n) for n in ORDERS} == on_sqlite["orders"]
    assert [int(psql("SELECT count(*) FROM %s" % t)) for t in ("customers", "orders", "attachments", "records")] == \
        [10500, 63000, 21000, 10500]
    # new writes go to PostgreSQL, past the highest id
    assert https("POST", "/records", {"note": "after the switch ✓"})["record"]["id"] == 10501
    assert psql("SELECT note FROM records WHERE id = 10501") == "after the switch ✓"
    # the SQLite file is kept, read-only, with its checksum
    record = json.load(open(RECORD, encoding="utf-8"))
    assert record["state"] == "switched" and record["file_sha256"] == sha256(on_sqlite["file"])
    assert oct(os.stat(on_sqlite["file"]).st_mode & 0o777) == "0o444"


def test_a_deploy_that_would_put_the_app_back_on_sqlite_is_refused(on_sqlite):
    rc, out = playbook("deploy", on_sqlite["vars"])
    assert rc != 0
    assert "app_secrets.DATABASE_URL is a SQLite URL, but demo was moved to PostgreSQL" in out, out[-3000:]
    assert database_kind() == "postgresql"


def test_the_way_back_refuses_to_lose_new_rows_then_exports_them(on_sqlite):
    rc, out = playbook("migrate_sqlite", on_sqlite["vars"], "-e", "migrate_sqlite_rollback=true")
    assert rc != 0
    assert "would lose what was written to PostgreSQL since the switch" in out and "1 new row(s)" in out, out[-3000:]
    assert "records: 10500 rows at the switch, 10501 now" in out
    assert database_kind() == "postgresql"

    rc, out, load = under_load("migrate_sqlite", on_sqlite["vars"], "-e", "migrate_sqlite_rollback=true",
                               "-e", "migrate_sqlite_new_rows=export")
    assert rc == 0, out[-4000:]
    assert_users_saw_the_page_or_the_app(load)
    assert database_kind() == "sqlite" and relations() == 0
    exported = subprocess.run("cat /var/lib/launchbay/exports/demo/records.*.csv", shell=True, capture_output=True,
                              text=True, check=True).stdout
    assert "10501,after the switch ✓," in exported
    assert {n: https("GET", "/orders/%d" % n) for n in ORDERS} == on_sqlite["orders"]
    assert https("POST", "/records", {"note": "on SQLite again"})["record"]["id"] == 10501


def test_the_way_back_without_new_rows(on_sqlite):
    rc, out = playbook("migrate_sqlite", on_sqlite["vars"], "-vvv")
    assert rc == 0, out[-4000:]
    assert database_kind() == "postgresql"
    # at -vvv: neither the app's database password, nor its secret key, nor the copy's temporary password
    for name in ("postgres_app", "app_secret_key"):
        with open(os.path.join(LOCAL_SECRETS, name), encoding="utf-8") as handle:
            secret = handle.read().strip()
        assert len(secret) >= 16 and secret not in out, name
    assert "LOGIN PASSWORD '" not in out and "launchbay_migrate_" in out
    rc, out = playbook("migrate_sqlite", on_sqlite["vars"], "-e", "migrate_sqlite_rollback=true")
    assert rc == 0, out[-4000:]
    assert "Nothing was written since the switch" in out
    assert database_kind() == "sqlite" and relations() == 0
    assert https("GET", "/records/10501")["record"]["note"] == "on SQLite again"
