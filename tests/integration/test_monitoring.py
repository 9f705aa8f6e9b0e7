"""Monitoring on the local stack: real Prometheus, Alertmanager and exporters (Debian's
packages), alerts delivered to a webhook receiver this test runs on 127.0.0.1.

The stack is deployed once with short timings (2 s scrapes, alerts after 10 s) and a webhook;
then faults a user would meet: PostgreSQL stopped (the app's health fails: alert naming app,
host and component, then resolved), a certificate close to expiry, a failed and a stale
backup, a filling disk. Planned maintenance silences the app's alerts.
"""

import datetime
import http.server
import json
import os
import secrets
import socketserver
import stat
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from conftest import LABEL, PREFIX, REPO, free_port, wait_until

PROMETHEUS = "http://127.0.0.1:9090"
ALERTMANAGER = "http://127.0.0.1:9093"
CONFIG_DIR = "/etc/launchbay/monitoring"
TEXTFILE_DIR = "/var/lib/launchbay/metrics"
TLS_NAME = "lbi-short-cert"


class Receiver(object):
    """Alertmanager's webhook notifications, as they arrive (each with its arrival time)."""

    def __init__(self, token):
        self.token = token
        self.notifications = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                if query.get("token") == [receiver.token]:
                    receiver.notifications.append((time.monotonic(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/alerts?token=%s" % (self.port, self.token)

    def alerts(self, since=0.0, status=None, started_after=None, **labels):
        """(arrival, alert) of every alert notified since `since` with these labels (and that began
        firing after the wall-clock time `started_after`)."""
        found = []
        for at, payload in list(self.notifications):
            for alert in payload.get("alerts", []):
                if started_after is not None and iso_epoch(alert["startsAt"]) < started_after:
                    continue
                if at >= since and (status is None or alert["status"] == status) and all(
                        alert["labels"].get(k) == v for k, v in labels.items()):
                    found.append((at, alert))
        return found

    def wait(self, timeout, since=0.0, status="firing", started_after=None, **labels):
        return wait_until(lambda: self.alerts(since, status, started_after, **labels), timeout,
                          "a %s notification of %s; received: %s" % (status, labels, self.summary()), interval=0.5)[0]

    def summary(self):
        return sorted({(a["labels"].get("alertname"), a["status"]) for _at, p in self.notifications for a in p.get("alerts", [])})


def iso_epoch(text):
    """Alertmanager's RFC 3339 times (nanoseconds, Z) as epoch seconds."""
    head, _dot, rest = text.replace("Z", "+00:00").partition(".")
    zone = rest[rest.find("+"):] if "+" in rest else (rest[rest.find("-"):] if "-" in rest else "")
    return datetime.datetime.fromisoformat(head + zone).timestamp()


def prometheus(query):
    url = PROMETHEUS + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())["data"]["result"]


def docker(*args, check=True, timeout=120):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def deploy(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    return subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-playbook"), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900, check=False)


def short_lived_certificate(directory, days=5):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", str(days), "-subj", "/CN=short.launchbay.test", "-keyout", os.path.join(directory, "key.pem"),
                    "-out", os.path.join(directory, "cert.pem")], check=True, capture_output=True, timeout=60)
    os.chmod(os.path.join(directory, "key.pem"), 0o644)  # read by the server container's user


@pytest.fixture(scope="module")
def monitored(local_stack, tmp_path_factory):
    """The local stack with short alert timings, a webhook, and a server with a 5-day certificate."""
    receiver = Receiver("LeakHook-" + secrets.token_hex(12))
    tls_dir = str(tmp_path_factory.mktemp("tls"))
    short_lived_certificate(tls_dir)
    tls_port = free_port()
    docker("rm", "-f", TLS_NAME, check=False)
    docker("run", "-d", "--name", TLS_NAME, "--label", LABEL, "-p", "127.0.0.1:%d:8443" % tls_port, "-v", tls_dir + ":/tls:ro",
           PREFIX + "/workstation:bookworm", "openssl", "s_server", "-quiet", "-accept", "8443",
           "-cert", "/tls/cert.pem", "-key", "/tls/key.pem", "-www")
    settings = {
        "monitoring_alert_webhook_urls": [receiver.url],
        "monitoring_scrape_interval": "2s", "monitoring_evaluation_interval": "2s",
        "monitoring_health_for": "10s", "monitoring_disk_for": "4s",
        "monitoring_alert_group_wait": "1s", "monitoring_alert_group_interval": "3s", "monitoring_alert_repeat_interval": "1h",
        "monitoring_tls_targets": ["127.0.0.1:%d" % tls_port],
        # 36 s: the dump the test takes ages past it while the test watches
        "monitoring_backup_max_age_hours": 0.01,
    }
    started = time.monotonic()
    res = deploy("-vvv", "playbooks/deploy.yml", "-i", "inventories/local", "-e", json.dumps(settings))
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    print("deploy with monitoring settings: %.1f s" % (time.monotonic() - started))
    yield {"receiver": receiver, "tls_port": tls_port, "output": res.stdout + res.stderr, "settings": settings}
    docker("rm", "-f", TLS_NAME, check=False)
    receiver.server.shutdown()


def test_every_target_is_up_and_nothing_listens_beyond_the_loopback(monitored):
    def all_up():
        found = prometheus("up")
        return found if len(found) >= 7 and all(s["value"][1] == "1" for s in found) else None

    jobs = wait_until(all_up, 60, "every scrape target up")
    assert {s["metric"]["job"] for s in jobs} >= {"prometheus", "alertmanager", "node", "traefik", "postgres", "health", "tls"}
    health = prometheus('probe_success{job="health"}')
    assert [(s["metric"]["domain"], s["value"][1]) for s in health] == [("demo.launchbay.test", "1")]
    for port in (9090, 9093, 9115, 9100, 9187, 8082):
        assert listeners(port) == {"127.0.0.1"}, port


def listeners(port):
    """The addresses a TCP port listens on in this network namespace (/proc/net/tcp, tcp6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table, encoding="ascii") as handle:
            for line in handle.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # LISTEN
                    raw = bytes.fromhex(address)
                    if width == 8:
                        found.add(".".join(str(b) for b in reversed(raw)))
                    else:
                        found.add("::" if raw == bytes(16) else raw.hex())
    return found


def test_postgres_stopped_alerts_the_webhook_naming_app_host_and_component_then_resolves(monitored):
    receiver = monitored["receiver"]
    since = time.monotonic()
    docker("stop", "launchbay_postgres")
    try:
        down = receiver.wait(300, since, alertname="PostgresDown", host="localhost", component="postgres")
        app = receiver.wait(300, since, alertname="AppHealthFailing", app="demo", component="app")
        print("alerts after PostgreSQL stopped: PostgresDown %.1f s, AppHealthFailing %.1f s" % (down[0] - since, app[0] - since))
        assert down[0] - since < 300 and app[0] - since < 300
        assert "demo.launchbay.test" in app[1]["annotations"]["summary"]
        assert "HTTP status 503" in app[1]["annotations"]["description"]
    finally:
        docker("start", "launchbay_postgres")
    restarted = time.monotonic()
    receiver.wait(300, restarted, status="resolved", alertname="PostgresDown", host="localhost")
    receiver.wait(300, restarted, status="resolved", alertname="AppHealthFailing", app="demo")
    print("resolved %.1f s after PostgreSQL started again" % (time.monotonic() - restarted))


def test_a_certificate_close_to_expiry_alerts_and_the_acme_one_does_not(monitored):
    receiver = monitored["receiver"]
    _at, alert = receiver.wait(120, alertname="CertificateExpiresSoon", instance="127.0.0.1:%d" % monitored["tls_port"])
    assert "expires in 4." in alert["annotations"]["summary"] or "expires in 5.0" in alert["annotations"]["summary"]
    assert "docs/certificates.md" in alert["annotations"]["description"]
    assert not receiver.alerts(alertname="CertificateExpiresSoon", instance="https://demo.launchbay.test/health")


def tool(*args):
    return docker("exec", "-u", "postgres", "launchbay_postgres", "python3", "/etc/launchbay/backups/launchbay_backup.py",
                  "--config", "/etc/launchbay/backups/backup.json", "--no-alert", *args, check=False, timeout=300)


def test_a_failed_backup_alerts_and_a_good_one_resolves_then_it_goes_stale(monitored):
    receiver = monitored["receiver"]
    since = time.monotonic()
    failed = tool("logical", "--database", "no_such_database")
    assert failed.returncode != 0
    receiver.wait(120, since, alertname="BackupFailed", job_name="logical", host="localhost", component="backups")
    good, good_wall = time.monotonic(), time.time()
    assert tool("logical", "--database", "demo").returncode == 0
    receiver.wait(120, good, status="resolved", alertname="BackupFailed", job_name="logical")
    # the newest dump is fresh now; it goes stale past monitoring_backup_max_age_hours (36 s)
    _at, stale = receiver.wait(240, good, started_after=good_wall, alertname="BackupStale", database="demo", host="localhost")
    assert "demo" in stale["annotations"]["summary"]


def test_a_filling_disk_alerts(monitored):
    receiver = monitored["receiver"]
    # not under pytest's private tmp_path: the node exporter (not root) must reach the mount point
    mount = "/tmp/launchbay-lab-disk-%d" % os.getpid()
    os.makedirs(mount, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount], check=True)
    try:
        with open(os.path.join(mount, "fill"), "wb") as handle:
            handle.write(b"\0" * (15 * 1024 * 1024 + 512 * 1024))
        # this machine's / is a private mount: the node exporter sees a disk mounted after it started
        # once it starts again (on a host, rslave propagation shows it at once)
        since = time.monotonic()
        docker("restart", "launchbay_node_exporter")
        _at, alert = receiver.wait(120, since, alertname="DiskAlmostFull", mountpoint=mount, host="localhost")
        assert "% free" in alert["annotations"]["summary"]
    finally:
        subprocess.run(["umount", mount], check=False)
        os.rmdir(mount)
        docker("restart", "launchbay_node_exporter", check=False)


def test_maintenance_silences_the_apps_alerts(monitored):
    res = deploy("playbooks/maintenance.yml", "-i", "inventories/local", "-e", "maintenance=on")
    assert res.returncode == 0, res.stdout[-3000:]
    try:
        with urllib.request.urlopen(ALERTMANAGER + "/api/v2/silences", timeout=10) as response:
            live = [s for s in json.loads(response.read()) if s["status"]["state"] == "active"]
        assert [m["name"] + "=" + m["value"] for s in live for m in s["matchers"]] == ["app=demo"]
        # a replica failing now pages nobody: its alert is silenced
        replica = docker("ps", "-q", "--filter", "label=launchbay.app=demo").stdout.split()[0]
        since = time.monotonic()
        docker("pause", replica)
        try:
            wait_until(lambda: [a for a in json.loads(urllib.request.urlopen(ALERTMANAGER + "/api/v2/alerts", timeout=10).read())
                                if a["labels"]["alertname"] == "ReplicaUnhealthy" and a["status"]["state"] == "suppressed"],
                       120, "the replica's alert, silenced")
            assert not receiver_alerts(monitored, since, "ReplicaUnhealthy")
        finally:
            docker("unpause", replica)
    finally:
        res = deploy("playbooks/maintenance.yml", "-i", "inventories/local", "-e", "maintenance=off")
    assert res.returncode == 0, res.stdout[-3000:]
    with urllib.request.urlopen(ALERTMANAGER + "/api/v2/silences", timeout=10) as response:
        assert not [s for s in json.loads(response.read()) if s["status"]["state"] == "active"]


def test_a_release_answering_500s_is_rolled_back_by_the_watch_window(monitored):
    """Under load on /, a release whose replicas are healthy but answer 500 to half the requests:
    the watch after the rollout reads Traefik's metrics, fails the run, and the run rolls back."""
    cafile = os.path.join(os.path.expanduser("~/.config/launchbay/lab-acme"), "pebble-root.pem")
    load = subprocess.Popen([os.path.join(REPO, ".venv", "bin", "python"), os.path.join(REPO, "lab", "loadgen.py"),
                             "--host", "demo.launchbay.test", "--cafile", cafile, "--path", "/", "--rate", "20",
                             "--seconds", "150"], stdout=subprocess.PIPE, text=True)
    try:
        bad = dict(monitored["settings"], app_env={"APP_ENVIRONMENT": "local", "APP_ERROR_PERCENT": "50"})
        res = deploy("playbooks/deploy.yml", "-i", "inventories/local", "-e", json.dumps(bad))
    finally:
        load.terminate()
        load.communicate(timeout=60)
    out = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0, out[-3000:]
    assert "the new release failed its watch after" in out and "answered 5xx (limit 5.0%)" in out, out[-3000:]
    assert "Rolled back to the previous release on: localhost" in out
    # the release before serves again: no injected error on / (its replicas have no such setting)
    for container in docker("ps", "-q", "--filter", "label=launchbay.app=demo").stdout.split():
        env = json.loads(docker("inspect", "-f", "{{json .Config.Env}}", container).stdout)
        assert not [e for e in env if e.startswith("APP_ERROR_PERCENT=")], env
    answers = [subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--resolve", "demo.launchbay.test:443:127.0.0.1",
                               "--cacert", cafile, "https://demo.launchbay.test/"], capture_output=True, text=True,
                              timeout=30, check=False).stdout for _attempt in range(20)]
    assert answers == ["200"] * 20, answers


def test_status_shows_the_availability_and_error_budget(monitored):
    res = deploy("playbooks/status.yml", "-i", "inventories/local")
    assert res.returncode == 0, res.stdout[-3000:]
    text = " ".join(res.stdout.split())
    assert "availability: '" in text and "% over 30d (" in text and "error budget against 99.9%:" in text, text[-2000:]


def receiver_alerts(monitored, since, name):
    return monitored["receiver"].alerts(since, "firing", alertname=name)


def test_receiver_secrets_stay_out_of_output_and_in_one_private_file(monitored):
    token = monitored["receiver"].token
    assert len(monitored["output"]) > 50000  # -vvv
    assert token not in monitored["output"]
    holders = []
    for dirpath, _dirs, files in os.walk(CONFIG_DIR):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                if token.encode() in handle.read():
                    holders.append(os.path.relpath(path, CONFIG_DIR))
                    info = os.stat(path)
                    assert stat.S_IMODE(info.st_mode) == 0o400 and info.st_uid == 64093, (path, oct(info.st_mode), info.st_uid)
    assert holders == ["alertmanager/alertmanager.yml"]
    inspect = docker("inspect", "launchbay_alertmanager", "launchbay_prometheus", "launchbay_postgres_exporter").stdout
    assert token not in inspect
