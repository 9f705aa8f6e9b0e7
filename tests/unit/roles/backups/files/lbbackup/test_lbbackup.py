"""The backup tool's logic that needs no PostgreSQL: naming, listing, retention, freshness,
alerts (a real HTTP server and a real SMTP conversation on 127.0.0.1), masking, streaming
through boto3's managed transfers, the command line's failure path. Dumps, restores and PITR
run for real in the Molecule postgres scenario. Over 300 lines: the fakes (S3, webhook, SMTP)
serve every case, so they stay in one file."""

from __future__ import annotations

import datetime
import http.server
import io
import json
import socket
import socketserver
import subprocess
import sys
import threading

import os

import lbbackup
import pytest
from lbbackup import alerts, cli, commands, config as config_mod, database, logical, transport

# where conftest.py installed the tool, as the role does
INSTALLED = os.path.dirname(os.path.dirname(lbbackup.__file__))

NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.timezone.utc)
PASSPHRASE = "a-very-long-passphrase-1"
S3_SECRET = "s3-secret-key-value-1"


class FakeS3:
    """The few S3 calls the tool makes, over a dict."""

    def __init__(self):
        self.objects = {}

    def put_object(self, Bucket, Key, Body, **_kw):
        self.objects[Key] = Body if isinstance(Body, bytes) else Body.encode()

    def get_object(self, Bucket, Key, **_kw):
        return {"Body": io.BytesIO(self.objects[Key])}

    def list_objects_v2(self, Bucket, Prefix, Delimiter=None, ContinuationToken=None):
        keys = sorted(k for k in self.objects if k.startswith(Prefix))
        if Delimiter:
            prefixes = sorted({Prefix + k[len(Prefix):].split(Delimiter, 1)[0] + Delimiter
                               for k in keys if Delimiter in k[len(Prefix):]})
            return {"CommonPrefixes": [{"Prefix": p} for p in prefixes], "IsTruncated": False}
        return {"Contents": [{"Key": k, "Size": len(self.objects[k])} for k in keys], "IsTruncated": False}

    def delete_objects(self, Bucket, Delete):
        for obj in Delete["Objects"]:
            self.objects.pop(obj["Key"], None)

    def delete_object(self, Bucket, Key):
        self.objects.pop(Key, None)

    def get_paginator(self, name):
        assert name == "list_objects_v2"
        client = self

        class Paginator:
            def paginate(self, **kwargs):
                return [client.list_objects_v2(**kwargs)]

        return Paginator()

    def upload_fileobj(self, Fileobj, Bucket, Key, Config=None):
        chunks = []
        while True:  # as s3transfer reads a stream it cannot seek: part by part, to the end
            data = Fileobj.read(1024)
            if not data:
                break
            chunks.append(data)
        self.objects[Key] = b"".join(chunks)

    def download_fileobj(self, Bucket, Key, Fileobj, Config=None):
        data = self.objects[Key]
        for start in range(0, len(data), 1024):
            Fileobj.write(data[start:start + 1024])


def config(**extra):
    data = {"host": "db1", "environment": "production", "prefix": "lb/production", "passphrase": PASSPHRASE,
            "s3": {"bucket": "b", "secret_key": S3_SECRET, "access_key": "AKIAEXAMPLE"},
            "retention": {"daily": 30, "monthly": 12}}
    data.update(extra)
    return config_mod.Config(data)


def add_backup(client, cfg, database, stamp, manifest=True):
    bid = stamp.strftime(config_mod.ID_FORMAT)
    prefix = cfg.logical_prefix(database)
    client.put_object(Bucket="b", Key=prefix + bid + ".dump.gpg", Body=b"\x8c\x0d")
    if manifest:
        client.put_object(Bucket="b", Key=prefix + bid + ".json", Body=json.dumps({"id": bid}))
    return bid


def test_mask_text_hides_known_secrets_and_url_passwords():
    cfg = config()
    text = "failed with %s at https://user:hunter2@s3.example/x and %s" % (PASSPHRASE, S3_SECRET)
    masked = cfg.mask(text)
    assert PASSPHRASE not in masked and S3_SECRET not in masked and "hunter2" not in masked
    assert masked.count(config_mod.MASK) == 3 and "https://user:" in masked


def test_list_backups_only_counts_dumps_with_a_manifest_newest_first():
    cfg, client = config(), FakeS3()
    old = add_backup(client, cfg, "app", NOW - datetime.timedelta(days=2))
    new = add_backup(client, cfg, "app", NOW)
    add_backup(client, cfg, "app", NOW + datetime.timedelta(hours=1), manifest=False)  # interrupted
    add_backup(client, cfg, "other", NOW)
    assert [b["id"] for b in transport.list_backups(client, cfg, "app")] == [new, old]
    assert transport.list_databases_in_bucket(client, cfg) == ["app", "other"]


def test_choose_backup_latest_named_and_missing():
    cfg, client = config(), FakeS3()
    first = add_backup(client, cfg, "app", NOW - datetime.timedelta(days=1))
    latest = add_backup(client, cfg, "app", NOW)
    assert logical.choose_backup(client, cfg, "app", "latest")["id"] == latest
    assert logical.choose_backup(client, cfg, "app", first)["id"] == first
    with pytest.raises(config_mod.BackupError, match="no backup 20200101T000000Z of app; the newest are: " + latest):
        logical.choose_backup(client, cfg, "app", "20200101T000000Z")
    with pytest.raises(config_mod.BackupError, match="no logical backup of shop"):
        logical.choose_backup(client, cfg, "shop", "latest")


def test_restores_read_the_source_environments_prefix():
    cfg, client = config(source_prefix="lb/staging-source"), FakeS3()
    staging = config_mod.Config(dict(cfg.data, prefix="lb/staging-source"))
    bid = add_backup(client, staging, "app", NOW)
    assert logical.choose_backup(client, cfg, "app", "latest")["id"] == bid
    assert transport.list_backups(client, cfg, "app") == []


def test_retention_deletes_what_the_policy_drops_and_old_orphans():
    cfg, client = config(retention={"daily": 3, "monthly": 2}), FakeS3()
    stamps = [NOW - datetime.timedelta(days=d) for d in range(0, 70, 5)]  # every 5 days for 10 weeks
    ids = [add_backup(client, cfg, "app", s) for s in stamps]
    orphan_old = add_backup(client, cfg, "app", NOW - datetime.timedelta(days=2, hours=3), manifest=False)
    orphan_new = add_backup(client, cfg, "app", NOW - datetime.timedelta(hours=2), manifest=False)
    result = logical.apply_retention(cfg, client, "app", now=NOW)
    kept = [k["id"] for k in result["kept"]]
    # 3 newest days, plus the newest of November (already kept) and of October
    assert kept == [ids[0], ids[1], ids[2], ids[5]]
    left = {k.rsplit("/", 1)[1].split(".")[0] for k in client.objects}
    assert left == set(kept) | {orphan_new}
    assert orphan_old not in left


def test_a_pinned_dump_outlives_the_daily_rule_until_its_pin_expires():
    cfg, client = config(retention={"daily": 3, "monthly": 0}), FakeS3()
    before_migration = add_backup(client, cfg, "app", NOW - datetime.timedelta(hours=5))
    logical.pin_backup(cfg, client, "app", before_migration, 30, "before the migration of run r1",
                       now=NOW - datetime.timedelta(hours=5))
    later_same_day = add_backup(client, cfg, "app", NOW - datetime.timedelta(hours=1))
    result = logical.apply_retention(cfg, client, "app", now=NOW)
    kept = {k["id"]: k["reasons"] for k in result["kept"]}
    # the daily rule alone keeps only the newest dump of the day
    assert set(kept) == {later_same_day, before_migration}, kept
    assert kept[before_migration][0].startswith("before the migration of run r1, kept until ")
    assert cfg.logical_prefix("app") + before_migration + ".dump.gpg" in client.objects
    # 31 days on, the pin has expired: the dump goes the way of the policy, and so does the pin
    later = NOW + datetime.timedelta(days=31)
    result = logical.apply_retention(cfg, client, "app", now=later)
    assert before_migration not in [k["id"] for k in result["kept"]]
    assert not [k for k in client.objects if k.startswith(cfg.pin_prefix("app"))]
    assert cfg.logical_prefix("app") + before_migration + ".dump.gpg" not in client.objects


def test_the_logical_command_pins_when_asked():
    args = cli.parser().parse_args(["logical", "--keep-days", "30", "--reason", "before the migration"])
    assert args.keep_days == 30 and args.reason == "before the migration"
    assert cli.parser().parse_args(["logical"]).keep_days == 0


def test_one_run_gives_every_database_the_same_id(monkeypatch):
    seen = []

    def fake_dump(_cfg, _client, database, _conn, now=None):
        seen.append(now)
        return {"id": config_mod.backup_id(now)}

    monkeypatch.setattr(commands, "dump_database", fake_dump)
    monkeypatch.setattr(commands, "apply_retention", lambda *_a: {})
    args = cli.parser().parse_args(["logical", "--database", "app", "--database", "shop"])
    result = commands.cmd_logical(type("Cfg", (), {"superuser": "postgres"})(), args, client=object())
    assert len(set(seen)) == 1 and seen[0] is not None
    assert result["backups"]["app"]["id"] == result["backups"]["shop"]["id"]


def test_freshness_alerts_when_the_newest_dump_is_too_old():
    cfg, client = config(freshness_hours=26), FakeS3()
    args = cli.parser().parse_args(["freshness", "--logical-only"])
    add_backup(client, cfg, "app", NOW - datetime.timedelta(hours=3))
    add_backup(client, cfg, "shop", NOW - datetime.timedelta(hours=30))
    with pytest.raises(config_mod.BackupError, match=r"database shop: newest backup \S+ is 30.0 h old \(limit 26.0 h\)"):
        commands.cmd_freshness(cfg, args, client=client, now=NOW)
    add_backup(client, cfg, "shop", NOW - datetime.timedelta(hours=1))
    report = commands.cmd_freshness(cfg, args, client=client, now=NOW)["fresh"]
    assert report["app"]["age_hours"] == 3.0 and report["shop"]["age_hours"] == 1.0


def test_freshness_with_no_backup_at_all_is_stale():
    args = cli.parser().parse_args(["freshness", "--logical-only"])
    with pytest.raises(config_mod.BackupError, match="no logical backup at all"):
        commands.cmd_freshness(config(), args, client=FakeS3(), now=NOW)


def test_compare_counts_names_each_difference():
    database.compare_counts({"public.a": 1}, {"public.a": 1}, "ok")
    with pytest.raises(config_mod.BackupError, match=r"public.a 3!=2, public.b 1!=None"):
        database.compare_counts({"public.a": 3, "public.b": 1}, {"public.a": 2}, "restore")
    assert database.parse_counts("public.a|3\nx.y|0\n") == {"public.a": 3, "x.y": 0}


@pytest.fixture
def webhook():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/hook" % server.server_port, received
    server.shutdown()


class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message."""

    def handle(self):
        self.wfile.write(b"220 test\r\n")
        data = False
        lines = []
        for raw in self.rfile:
            line = raw.decode().rstrip("\r\n")
            if data:
                if line == ".":
                    data = False
                    self.server.messages.append("\n".join(lines))
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line)
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb == "DATA":
                data = True
                self.wfile.write(b"354 go\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            elif verb == "EHLO":
                self.wfile.write(b"250 test\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp():
    server = socketserver.TCPServer(("127.0.0.1", 0), SMTPHandler)
    server.messages = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], server.messages
    server.shutdown()
    server.server_close()


def test_alerts_go_to_the_webhook_and_by_email_with_secrets_masked(webhook, smtp):
    url, received = webhook
    port, messages = smtp
    cfg = config(alerts={"webhook_url": url, "email": {"to": ["ops@example.com"], "host": "127.0.0.1", "port": port}})
    sent, problems = alerts.send_alert(cfg, "logical", "database app: upload failed, key %s" % S3_SECRET, "app")
    assert sent == ["webhook", "email"] and problems == []
    body = received[0]
    assert body["host"] == "db1" and body["database"] == "app" and body["job"] == "logical"
    assert body["text"].startswith("launchbay backup FAILED on db1 (production), job logical: database app: upload failed")
    assert S3_SECRET not in json.dumps(body) and config_mod.MASK in body["error"]
    assert "Subject: [launchbay] backup logical failed on db1" in messages[0] and S3_SECRET not in messages[0]


def test_an_unreachable_webhook_is_reported_not_raised():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = config(alerts={"webhook_url": "http://127.0.0.1:%d/" % port})
    sent, problems = alerts.send_alert(cfg, "logical", "boom")
    assert sent == [] and problems and problems[0].startswith("webhook:")


def test_main_reports_a_failure_as_json_and_alerts(tmp_path, webhook, capsys, monkeypatch):
    url, received = webhook
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(dict(config().data, alerts={"webhook_url": url})))

    def broken(cfg, args, client=None):
        raise config_mod.BackupError("database app: S3 said no (secret %s)" % PASSPHRASE)

    monkeypatch.setitem(cli.COMMANDS, "logical", broken)
    # 3: failed and alerted, so systemd's OnFailure unit does not alert a second time
    assert cli.main(["--config", str(path), "logical"]) == 3
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] and out["alerted"] == ["webhook"] and PASSPHRASE not in json.dumps(out)
    assert received[0]["database"] == "app"
    assert cli.main(["--config", str(path), "--no-alert", "logical"]) == 1
    assert len(received) == 1


def test_the_alert_command_names_the_job_and_fails_without_a_channel(tmp_path, webhook, capsys):
    url, received = webhook
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(dict(config().data, alerts={"webhook_url": url})))
    assert cli.main(["--config", str(path), "alert"]) == 0
    assert received[-1]["text"].startswith("launchbay backup alert TEST from ")
    assert cli.main(["--config", str(path), "alert", "--job", "launchbay-backup-logical.service", "--message", "gone"]) == 0
    assert received[-1]["job"] == "launchbay-backup-logical.service" and "FAILED" in received[-1]["text"]
    path.write_text(json.dumps(dict(config().data, alerts={})))
    assert cli.main(["--config", str(path), "alert"]) == 1
    assert "no alert channel is configured" in capsys.readouterr().err


def test_a_missing_config_fails_clearly(tmp_path, capsys):
    assert cli.main(["--config", str(tmp_path / "nope.json"), "list"]) == 1
    assert "cannot read the configuration" in json.loads(capsys.readouterr().out)["error"]


def test_upload_stream_hashes_what_passed_and_leaves_nothing_when_the_producer_failed():
    client = FakeS3()
    data = bytes(range(256)) * 100
    sha, size = transport.upload_stream(client, "b", "k", io.BytesIO(data))
    assert client.objects["k"] == data and size == len(data)
    assert sha == __import__("hashlib").sha256(data).hexdigest()

    def failed():
        raise config_mod.BackupError("pg_dump exited with 1: connection refused")

    with pytest.raises(config_mod.BackupError, match="pg_dump exited with 1"):
        transport.upload_stream(client, "b", "k2", io.BytesIO(data), finish=failed)
    assert "k2" not in client.objects


def test_download_stream_writes_in_order_and_names_the_key_on_failure():
    client = FakeS3()
    data = bytes(range(256)) * 100
    client.objects["k"] = data
    sink = io.BytesIO()
    sha, size = transport.download_stream(client, "b", "k", sink)
    assert sink.getvalue() == data and size == len(data) and sha == __import__("hashlib").sha256(data).hexdigest()
    with pytest.raises(config_mod.BackupError, match="download of missing failed"):
        transport.download_stream(client, "b", "missing", io.BytesIO())


def test_the_entry_point_runs_the_package_as_installed(tmp_path):
    res = subprocess.run([sys.executable, INSTALLED + "/launchbay_backup.py", "--config", str(tmp_path / "none.json"), "list"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 1 and "cannot read the configuration" in json.loads(res.stdout.strip().splitlines()[-1])["error"]


def test_init_names_the_missing_tools(monkeypatch):
    monkeypatch.setattr(commands.shutil, "which", lambda name: None if name in ("gpg", "pgbackrest") else "/usr/bin/" + name)
    cfg = config(pgbackrest={"enabled": True})
    with pytest.raises(config_mod.BackupError, match="lacks gpg, pgbackrest"):
        commands.cmd_init(cfg, cli.parser().parse_args(["init"]), client=FakeS3())


def test_init_creates_a_missing_bucket_only_when_allowed(monkeypatch):
    monkeypatch.setattr(commands.shutil, "which", lambda name: "/usr/bin/" + name)

    class Missing(Exception):
        response = {"Error": {"Code": "404"}}

    class Client(FakeS3):
        created = []

        def head_bucket(self, Bucket):
            raise Missing("Not Found")

        def create_bucket(self, Bucket):
            self.created.append(Bucket)

    with pytest.raises(config_mod.BackupError, match="the bucket b cannot be used"):
        commands.cmd_init(config(), cli.parser().parse_args(["init"]), client=Client())
    out = commands.cmd_init(config(), cli.parser().parse_args(["init", "--create-bucket"]), client=Client())
    assert out == {"bucket": "b", "created": True} and Client.created == ["b"]
