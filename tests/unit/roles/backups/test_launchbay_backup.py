"""The backup tool's logic that needs no PostgreSQL: naming, listing, retention, freshness,
alerts (a real HTTP server and a real SMTP conversation on 127.0.0.1), masking, the command
line's failure path. Dumps, restores and PITR run for real in the Molecule scenario."""

from __future__ import annotations

import datetime
import http.server
import importlib.util
import io
import json
import os
import socket
import socketserver
import sys
import threading

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
# the role installs plugins/plugin_utils/_retention.py beside the tool; import it the same way
sys.path.insert(0, os.path.join(REPO, "plugins", "plugin_utils"))
_SPEC = importlib.util.spec_from_file_location("launchbay_backup", os.path.join(REPO, "roles", "backups", "files", "launchbay_backup.py"))
tool = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(tool)

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


def config(**extra):
    data = {"host": "db1", "environment": "production", "prefix": "lb/production", "passphrase": PASSPHRASE,
            "s3": {"bucket": "b", "secret_key": S3_SECRET, "access_key": "AKIAEXAMPLE"},
            "retention": {"daily": 30, "monthly": 12}}
    data.update(extra)
    return tool.Config(data)


def add_backup(client, cfg, database, stamp, manifest=True):
    bid = stamp.strftime(tool.ID_FORMAT)
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
    assert masked.count(tool.MASK) == 3 and "https://user:" in masked


def test_list_backups_only_counts_dumps_with_a_manifest_newest_first():
    cfg, client = config(), FakeS3()
    old = add_backup(client, cfg, "app", NOW - datetime.timedelta(days=2))
    new = add_backup(client, cfg, "app", NOW)
    add_backup(client, cfg, "app", NOW + datetime.timedelta(hours=1), manifest=False)  # interrupted
    add_backup(client, cfg, "other", NOW)
    assert [b["id"] for b in tool.list_backups(client, cfg, "app")] == [new, old]
    assert tool.list_databases_in_bucket(client, cfg) == ["app", "other"]


def test_choose_backup_latest_named_and_missing():
    cfg, client = config(), FakeS3()
    first = add_backup(client, cfg, "app", NOW - datetime.timedelta(days=1))
    latest = add_backup(client, cfg, "app", NOW)
    assert tool.choose_backup(client, cfg, "app", "latest")["id"] == latest
    assert tool.choose_backup(client, cfg, "app", first)["id"] == first
    with pytest.raises(tool.BackupError, match="no backup 20200101T000000Z of app; the newest are: " + latest):
        tool.choose_backup(client, cfg, "app", "20200101T000000Z")
    with pytest.raises(tool.BackupError, match="no logical backup of shop"):
        tool.choose_backup(client, cfg, "shop", "latest")


def test_restores_read_the_source_environments_prefix():
    cfg, client = config(source_prefix="lb/staging-source"), FakeS3()
    staging = tool.Config(dict(cfg.data, prefix="lb/staging-source"))
    bid = add_backup(client, staging, "app", NOW)
    assert tool.choose_backup(client, cfg, "app", "latest")["id"] == bid
    assert tool.list_backups(client, cfg, "app") == []


def test_retention_deletes_what_the_policy_drops_and_old_orphans():
    cfg, client = config(retention={"daily": 3, "monthly": 2}), FakeS3()
    stamps = [NOW - datetime.timedelta(days=d) for d in range(0, 70, 5)]  # every 5 days for 10 weeks
    ids = [add_backup(client, cfg, "app", s) for s in stamps]
    orphan_old = add_backup(client, cfg, "app", NOW - datetime.timedelta(days=2, hours=3), manifest=False)
    orphan_new = add_backup(client, cfg, "app", NOW - datetime.timedelta(hours=2), manifest=False)
    result = tool.apply_retention(cfg, client, "app", now=NOW)
    kept = [k["id"] for k in result["kept"]]
    # 3 newest days, plus the newest of November (already kept) and of October
    assert kept == [ids[0], ids[1], ids[2], ids[5]]
    left = {k.rsplit("/", 1)[1].split(".")[0] for k in client.objects}
    assert left == set(kept) | {orphan_new}
    assert orphan_old not in left


def test_freshness_alerts_when_the_newest_dump_is_too_old():
    cfg, client = config(freshness_hours=26), FakeS3()
    args = tool.parser().parse_args(["freshness", "--logical-only"])
    add_backup(client, cfg, "app", NOW - datetime.timedelta(hours=3))
    add_backup(client, cfg, "shop", NOW - datetime.timedelta(hours=30))
    with pytest.raises(tool.BackupError, match=r"database shop: newest backup \S+ is 30.0 h old \(limit 26.0 h\)"):
        tool.cmd_freshness(cfg, args, client=client, now=NOW)
    add_backup(client, cfg, "shop", NOW - datetime.timedelta(hours=1))
    report = tool.cmd_freshness(cfg, args, client=client, now=NOW)["fresh"]
    assert report["app"]["age_hours"] == 3.0 and report["shop"]["age_hours"] == 1.0


def test_freshness_with_no_backup_at_all_is_stale():
    args = tool.parser().parse_args(["freshness", "--logical-only"])
    with pytest.raises(tool.BackupError, match="no logical backup at all"):
        tool.cmd_freshness(config(), args, client=FakeS3(), now=NOW)


def test_compare_counts_names_each_difference():
    tool.compare_counts({"public.a": 1}, {"public.a": 1}, "ok")
    with pytest.raises(tool.BackupError, match=r"public.a 3!=2, public.b 1!=None"):
        tool.compare_counts({"public.a": 3, "public.b": 1}, {"public.a": 2}, "restore")
    assert tool.parse_counts("public.a|3\nx.y|0\n") == {"public.a": 3, "x.y": 0}


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
    sent, problems = tool.send_alert(cfg, "logical", "database app: upload failed, key %s" % S3_SECRET, "app")
    assert sent == ["webhook", "email"] and problems == []
    body = received[0]
    assert body["host"] == "db1" and body["database"] == "app" and body["job"] == "logical"
    assert body["text"].startswith("launchbay backup FAILED on db1 (production), job logical: database app: upload failed")
    assert S3_SECRET not in json.dumps(body) and tool.MASK in body["error"]
    assert "Subject: [launchbay] backup logical failed on db1" in messages[0] and S3_SECRET not in messages[0]


def test_an_unreachable_webhook_is_reported_not_raised():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = config(alerts={"webhook_url": "http://127.0.0.1:%d/" % port})
    sent, problems = tool.send_alert(cfg, "logical", "boom")
    assert sent == [] and problems and problems[0].startswith("webhook:")


def test_main_reports_a_failure_as_json_and_alerts(tmp_path, webhook, capsys, monkeypatch):
    url, received = webhook
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(dict(config().data, alerts={"webhook_url": url})))

    def broken(cfg, args, client=None):
        raise tool.BackupError("database app: S3 said no (secret %s)" % PASSPHRASE)

    monkeypatch.setitem(tool.COMMANDS, "logical", broken)
    assert tool.main(["--config", str(path), "logical"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] and out["alerted"] == ["webhook"] and PASSPHRASE not in json.dumps(out)
    assert received[0]["database"] == "app"
    assert tool.main(["--config", str(path), "--no-alert", "logical"]) == 1
    assert len(received) == 1


def test_a_missing_config_fails_clearly(tmp_path, capsys):
    assert tool.main(["--config", str(tmp_path / "nope.json"), "list"]) == 1
    assert "cannot read the configuration" in json.loads(capsys.readouterr().out)["error"]


def test_multipart_upload_aborts_on_failure():
    calls = []

    class Client:
        def create_multipart_upload(self, **kw):
            return {"UploadId": "u1"}

        def upload_part(self, **kw):
            raise OSError("network down")

        def abort_multipart_upload(self, **kw):
            calls.append(kw)

    upload = tool.MultipartUpload(Client(), "b", "k")
    with pytest.raises(OSError):
        upload.part(b"x")
    upload.abort()
    assert calls == [{"Bucket": "b", "Key": "k", "UploadId": "u1"}]


def test_init_names_the_missing_tools(monkeypatch):
    monkeypatch.setattr(tool.shutil, "which", lambda name: None if name in ("gpg", "pgbackrest") else "/usr/bin/" + name)
    cfg = config(pgbackrest={"enabled": True})
    with pytest.raises(tool.BackupError, match="lacks gpg, pgbackrest"):
        tool.cmd_init(cfg, tool.parser().parse_args(["init"]), client=FakeS3())


def test_init_creates_a_missing_bucket_only_when_allowed(monkeypatch):
    monkeypatch.setattr(tool.shutil, "which", lambda name: "/usr/bin/" + name)

    class Missing(Exception):
        response = {"Error": {"Code": "404"}}

    class Client(FakeS3):
        created = []

        def head_bucket(self, Bucket):
            raise Missing("Not Found")

        def create_bucket(self, Bucket):
            self.created.append(Bucket)

    with pytest.raises(tool.BackupError, match="the bucket b cannot be used"):
        tool.cmd_init(config(), tool.parser().parse_args(["init"]), client=Client())
    out = tool.cmd_init(config(), tool.parser().parse_args(["init", "--create-bucket"]), client=Client())
    assert out == {"bucket": "b", "created": True} and Client.created == ["b"]


def test_the_download_runs_ahead_in_order_and_stops_when_told():
    import queue as queue_mod

    data = bytes(range(256)) * (tool.CHUNK // 256 * 2 + 10)  # two full chunks and a bit
    chunks, stop = queue_mod.Queue(maxsize=4), threading.Event()
    tool._download(io.BytesIO(data), chunks, stop)  # pylint: disable=protected-access
    got = []
    while True:
        item = chunks.get_nowait()
        if item is None:
            break
        got.append(item)
    assert b"".join(got) == data and len(got) == 3

    class Failing(io.BytesIO):
        def read(self, *_args):
            raise OSError("connection reset")

    chunks = queue_mod.Queue(maxsize=4)
    tool._download(Failing(), chunks, stop)  # pylint: disable=protected-access
    assert isinstance(chunks.get_nowait(), OSError)

    chunks, stop = queue_mod.Queue(maxsize=1), threading.Event()
    stop.set()
    tool._download(io.BytesIO(data), chunks, stop)  # returns although nobody reads
    assert chunks.qsize() <= 1
