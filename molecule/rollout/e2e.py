#!/usr/bin/env python
"""The rollout scenario's end-to-end sequence, run by verify.yml after the v1 deploy.

Load: lab/loadgen.py sends 50 requests/s over HTTPS to each host's Traefik (certificate
checked against that host's Pebble root) for the whole of every phase; a phase passes only
with zero failed requests on both hosts. Phases:
  A deploy v2 host by host                  -> both serve v2
  A2 the same deploy again                  -> changed=0 on every host, no host rolled over
     (its time on three hosts against one: benchmarks/fleet.py)
  B deploy v3, which fails on the 2nd host  -> the 1st is rolled back to v2 automatically
  C rollback of the fleet                   -> both serve v1
  D --limit rollback of the 2nd host to v2  -> only it changes; a deploy meanwhile is refused by the lock
  E FAULT host-unreachable: deploy v2, the 2nd host stops answering (paused) while the 1st rolls
    out -> the run stops, the 1st is rolled back to v1, the lock is given back
  F central logs: one request id sent through both hosts' Traefik is found by one search on
    the log host (lbm-rollout-1), from Traefik and the app on each host; the filters narrow
    it; retention and the listener are as configured; a line logged while the log host was
    away arrives once it is back
  G monitoring across hosts: Prometheus on lbm-rollout-1 scrapes both hosts' node exporter and
    Traefik over their private addresses, nothing of it listens on a public address, and a
    stopped exporter on lbm-rollout-2 raises TargetDown naming that host
Usage: e2e.py MOLECULE_INVENTORY_FILE
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import uuid
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "lab"))
from loadgen import LoadGenerator  # noqa: E402  pylint: disable=wrong-import-position

HOSTS = {"lbm-rollout-1": "172.31.77.11", "lbm-rollout-2": "172.31.77.12"}
DOMAIN = "app.e2e.test"
RATE = 50
LOCK = "/var/lib/launchbay/locks/e2e.lock"
LEDGER = "/var/lib/launchbay/releases/demo.json"


def sh(*cmd, check=True):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if check and res.returncode != 0:
        raise AssertionError("%s failed: %s" % (" ".join(cmd), res.stdout + res.stderr))
    return res.stdout


def pause(host, attempts=10):
    """docker pause, tried again (bounded) when the cgroup freezer cannot freeze the host at
    once ("unable to freeze": its processes busy in the kernel); the last error otherwise."""
    for _attempt in range(attempts - 1):
        if subprocess.run(["docker", "pause", host], capture_output=True, text=True, timeout=120, check=False).returncode == 0:
            return
        time.sleep(0.5)
    sh("docker", "pause", host)


def on_host(host, *cmd, check=True):
    return sh("docker", "exec", host, *cmd, check=check)


def playbook(inventory, name, *args):
    started = time.monotonic()
    res = subprocess.run(["ansible-playbook", os.path.join(REPO, "playbooks", name + ".yml"), "-i", inventory, *args],
                         capture_output=True, text=True, timeout=1500, check=False, env=dict(os.environ, USER="e2e"))
    return res.returncode, " ".join((res.stdout + res.stderr).split()), time.monotonic() - started


def replicas(host):
    out = on_host(host, "docker", "ps", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app",
                  "--format", "{{.ID}} {{.Image}}")
    return sorted(out.split("\n")[:-1])


def images(host):
    return sorted(line.split()[1] for line in replicas(host))


def ledger(host):
    releases = json.loads(on_host(host, "cat", LEDGER))["releases"]
    return releases, [r for r in releases if r["result"] == "success"]


class Load(object):
    """One generator per host, each against that host's Traefik."""

    def __init__(self, cafiles):
        self.cafiles = cafiles

    def __enter__(self):
        self.gens = dict((h, LoadGenerator(DOMAIN, self.cafiles[h], (ip, 443), rate=RATE, workers=6, max_seconds=900).start())
                         for h, ip in HOSTS.items())
        time.sleep(2)
        return self

    def __exit__(self, *exc):
        time.sleep(3)
        self.results = dict((h, g.stop()) for h, g in self.gens.items())
        return False

    def check(self, phase, seconds, hosts=None):
        for host, load in self.results.items():
            if hosts and host not in hosts:
                continue
            versions = [v for _t, v in load["versions"]]
            print("%s %s: sent=%d failed=%d p50=%sms p99=%sms versions %s" % (
                phase, host, load["sent"], load["failed"], load["p50_ms"], load["p99_ms"], " -> ".join(dedupe(versions))))
            assert load["failed"] == 0, "%s: failed requests on %s: %s %s" % (phase, host, load["failure_reasons"], load["first_failures"])
            assert load["sent"] >= 0.8 * RATE * seconds, "%s: the load did not run all along on %s: %s" % (phase, host, load)

    def versions(self, host):
        return [v for _t, v in self.results[host]["versions"]]


def dedupe(versions):
    """First, then every version served in between, then last (both served while switching)."""
    if not versions:
        return []
    middle = [v for v in sorted(set(versions[1:-1])) if v not in (versions[0], versions[-1])]
    return [versions[0]] + middle + ([versions[-1]] if len(versions) > 1 and versions[-1] != versions[0] or middle else [])


def wait_https(cafiles, timeout=120):
    for host, ip in HOSTS.items():
        deadline = time.monotonic() + timeout
        while True:
            gen = LoadGenerator(DOMAIN, cafiles[host], (ip, 443), rate=5, workers=1, max_seconds=1).start()
            time.sleep(1.2)
            res = gen.stop()
            if res["sent"] and not res["failed"]:
                break
            if time.monotonic() > deadline:
                raise AssertionError("%s never served %s over verified HTTPS: %s" % (host, DOMAIN, res))


def main():
    inventory = os.path.dirname(sys.argv[1])
    workdir = tempfile.mkdtemp(prefix="lbm-rollout-")
    cafiles = {}
    for host in HOSTS:
        root = on_host(host, "python3", "-c", "import ssl, urllib.request; print(urllib.request.urlopen("
                       "'https://127.0.0.1:15000/roots/0', context=ssl._create_unverified_context()).read().decode())")
        cafiles[host] = os.path.join(workdir, host + ".pem")
        with open(cafiles[host], "w", encoding="utf-8") as handle:
            handle.write(root)
    wait_https(cafiles)
    for host in HOSTS:
        assert images(host) == ["launchbay-lab/demo-app:v1"] * 2, images(host)

    # A: v2, host by host
    with Load(cafiles) as load:
        rc, out, seconds = playbook(inventory, "deploy", "-e", "app_version=v2", "-e", "deploy_serial=1")
    assert rc == 0, out[-3000:]
    load.check("A deploy v2 (%.0fs)" % seconds, seconds)
    for host in HOSTS:
        assert images(host) == ["launchbay-lab/demo-app:v2"] * 2
        assert load.versions(host)[0] == "v1" and load.versions(host)[-1] == "v2"
    check_noop_deploy(inventory)

    # B: v3 succeeds on the first host, fails on the second: the first goes back to v2
    with Load(cafiles) as load:
        rc, out, seconds = playbook(inventory, "deploy", "-e", "app_version=v3", "-e", "deploy_serial=1")
    assert rc != 0, "the deploy of v3 should have failed on lbm-rollout-2:\n" + out[-4000:]
    assert "did not become healthy" in out and "Rolled back to the previous release on: lbm-rollout-1" in out, out[-3000:]
    load.check("B deploy v3, fails on host 2 (%.0fs)" % seconds, seconds)
    assert "v1" in load.versions("lbm-rollout-1") and load.versions("lbm-rollout-1")[-1] == "v2"  # v3 served v1's code
    assert set(load.versions("lbm-rollout-2")) == {"v2"}
    for host in HOSTS:
        assert images(host) == ["launchbay-lab/demo-app:v2"] * 2, (host, images(host))
        releases, done = ledger(host)
        assert done[0]["image"].endswith(":v2")
    assert [r["result"] for r in ledger("lbm-rollout-1")[0] if r["image"].endswith(":v3")] == ["rolled_back"]
    assert [r["result"] for r in ledger("lbm-rollout-2")[0] if r["image"].endswith(":v3")] == ["failed"]
    on_host("lbm-rollout-1", "test", "!", "-e", LOCK)

    # C: the whole fleet back to v1 (across the schema 2 migration: needs the override)
    with Load(cafiles) as load:
        rc, out, seconds = playbook(inventory, "rollback", "-e", "app_rollback_allow_schema_downgrade=true")
    assert rc == 0, out[-3000:]
    load.check("C rollback fleet (%.0fs)" % seconds, seconds)
    for host in HOSTS:
        assert images(host) == ["launchbay-lab/demo-app:v1"] * 2
        assert load.versions(host)[-1] == "v1"

    # D: only the second host forward to v2 with --limit; a deploy meanwhile is refused
    v2 = [r for r in ledger("lbm-rollout-2")[0] if r["image"].endswith(":v2")][0]["id"]
    first_before = replicas("lbm-rollout-1")
    result = {}
    with Load(cafiles) as load:
        thread = threading.Thread(target=lambda: result.update(run=playbook(
            inventory, "rollback", "--limit", "lbm-rollout-2", "-e", "rollback_to=" + v2)))
        thread.start()
        deadline = time.monotonic() + 120
        while subprocess.run(["docker", "exec", "lbm-rollout-1", "test", "-e", LOCK], check=False).returncode != 0:
            assert time.monotonic() < deadline and thread.is_alive(), "the rollback never took the lock"
            time.sleep(0.3)
        rc2, out2, seconds2 = playbook(inventory, "deploy", "-e", "app_version=v2")
        thread.join(900)
    rc, out, seconds = result["run"]
    assert rc == 0, out[-3000:]
    assert rc2 != 0 and "is held by e2e" in out2 and "reason: rollback to %s" % v2 in out2, out2[-3000:]
    print("D a deploy during the rollback was refused after %.0fs: the lock is held by e2e (reason: rollback to %s)" % (seconds2, v2))
    load.check("D --limit rollback of host 2 (%.0fs)" % seconds, seconds)
    assert images("lbm-rollout-2") == ["launchbay-lab/demo-app:v2"] * 2
    assert replicas("lbm-rollout-1") == first_before  # untouched
    assert set(load.versions("lbm-rollout-1")) == {"v1"} and load.versions("lbm-rollout-2")[-1] == "v2"

    # E: FAULT host-unreachable: the second host stops answering in the middle of a serial deploy
    with Load(cafiles) as load:
        thread = threading.Thread(target=lambda: result.update(run=playbook(
            inventory, "deploy", "-e", "app_version=v2", "-e", "deploy_serial=1")))
        thread.start()
        deadline = time.monotonic() + 600
        while "launchbay-lab/demo-app:v2" not in images("lbm-rollout-1"):
            assert time.monotonic() < deadline and thread.is_alive(), "the first host never started v2: %s" % result
            time.sleep(0.3)
        pause("lbm-rollout-2")
        try:
            thread.join(900)
        finally:
            sh("docker", "unpause", "lbm-rollout-2")
    rc, out, seconds = result["run"]
    assert rc != 0 and ("lbm-rollout-2 cannot be reached" in out or "lbm-rollout-2 stopped answering" in out), out[-3000:]
    assert "Rolled back to the previous release on: lbm-rollout-1" in out and "The lock was released" in out, out[-3000:]
    load.check("E deploy v2, host 2 unreachable mid-run (%.0fs)" % seconds, seconds, hosts=["lbm-rollout-1"])
    assert images("lbm-rollout-1") == ["launchbay-lab/demo-app:v1"] * 2 and load.versions("lbm-rollout-1")[-1] == "v1"
    assert images("lbm-rollout-2") == ["launchbay-lab/demo-app:v2"] * 2
    on_host("lbm-rollout-1", "test", "!", "-e", LOCK)
    print("FAULT host-unreachable: the run stopped in %.0fs, lbm-rollout-1 rolled back to v1 with 0 failed requests, lock free" % seconds)
    check_central_logs(inventory, cafiles)
    check_monitoring_across_hosts()
    print("e2e: all phases passed with zero failed requests")


RECAP = re.compile(r"(lbm-rollout-\d+) : ok=\d+ changed=(\d+) unreachable=0 failed=0")
# the serial rollout play's module task, and the host it ran on (the plan's task has its own name)
ROLLED = re.compile(r"TASK \[launchbay\.webstack\.app : Roll the replicas over to the release\] \**\s*\w+: \[(lbm-rollout-\d+)\]")


def check_noop_deploy(inventory):
    """A2: right after A (both hosts on v2), the same deploy again changes nothing on either host
    and visits no host in the serial rollout (the plan skips them). Its time on three hosts
    against one is benchmarks/fleet.py's figure."""
    rc, out, seconds = playbook(inventory, "deploy", "-e", "app_version=v2")
    assert rc == 0 and dict(RECAP.findall(out)) == {host: "0" for host in HOSTS} and not ROLLED.findall(out), out[-3000:]
    print("A2 the same deploy again: changed=0 on every host, no host rolled over (%.1fs)" % seconds)


def get_with_request_id(host, cafile, request_id):
    """One HTTPS request through the host's Traefik carrying the id; the app answers it back."""
    context = ssl.create_default_context(cafile=cafile)
    request = "GET / HTTP/1.1\r\nHost: %s\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n" % (DOMAIN, request_id)
    data = b""
    with socket.create_connection((HOSTS[host], 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
            tls.sendall(request.encode())
            for _chunk in range(1000):
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 200") and ("\r\nx-request-id: %s" % request_id) in head.lower(), (host, head)


def search(inventory, *extra):
    """playbooks/logs.yml with the given -e filters: its printed lines (TIME HOST CONTAINER | MESSAGE)."""
    res = subprocess.run(["ansible-playbook", os.path.join(REPO, "playbooks", "logs.yml"), "-i", inventory, *extra],
                         capture_output=True, text=True, timeout=300, check=False,
                         env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    tasks = json.loads(res.stdout)["plays"][0]["tasks"]
    printed = [t for t in tasks if t["task"]["name"].startswith("Print the lines")][0]
    return list(printed["hosts"].values())[0]["msg"]


def check_central_logs(inventory, cafiles):
    request_id = "e2e-" + uuid.uuid4().hex[:16]
    names = {host: on_host(host, "hostname").strip() for host in HOSTS}
    for host in HOSTS:
        get_with_request_id(host, cafiles[host], request_id)
    started = time.monotonic()
    deadline = started + 90
    wanted = {(names[h], kind) for h in HOSTS for kind in ("traefik", "app")}
    while True:
        lines = search(inventory, "-e", "log_request_id=" + request_id)
        found = set()
        for line in lines:
            match = re.match(r"^\S+ (\S+) (\S+) \| (.*)$", line)
            if not match or request_id not in match.group(3):
                continue
            if "traefik" in match.group(2) and '"request_X-Request-Id":"%s"' % request_id in match.group(3):
                found.add((match.group(1), "traefik"))
            elif '"event": "request"' in match.group(3) and '"request_id": "%s"' % request_id in match.group(3):
                found.add((match.group(1), "app"))
        if found >= wanted:
            break
        assert time.monotonic() < deadline, "after 90 s the search by request id found %s of %s:\n%s" % (
            sorted(found), sorted(wanted), "\n".join(lines))
        time.sleep(2)
    print("F one search by request id found it on both hosts, from Traefik and the app, %.0fs after the requests:" % (
        time.monotonic() - started))
    for line in lines:
        print("    " + line[:200])
    # the filters narrow: the second host's app lines only
    narrowed = search(inventory, "-e", "log_request_id=" + request_id, "-e", "log_host=lbm-rollout-2", "-e", "log_app=demo")
    assert narrowed and all(" %s demo-" % names["lbm-rollout-2"] in line for line in narrowed), narrowed
    assert search(inventory, "-e", "log_request_id=" + request_id, "-e", "log_since=2000-01-01",
                  "-e", "log_until=2000-01-02") == ["No line matches this search."]
    # retention and the listener, as configured
    retention = on_host("lbm-rollout-1", "systemctl", "show", "launchbay-logs-retention.service", "-p", "ExecStart")
    assert "--vacuum-time=30d" in retention and "--vacuum-size=10G" in retention, retention
    assert on_host("lbm-rollout-1", "systemctl", "is-active", "launchbay-logs-retention.timer").strip() == "active"
    listen = on_host("lbm-rollout-1", "systemctl", "show", "systemd-journal-remote.socket", "-p", "Listen")
    assert listen.strip() == "Listen=172.31.77.11:19532 (Stream)", listen
    for host in HOSTS:
        mode = on_host(host, "stat", "-c", "%a %U %G", "/etc/launchbay/logs/upload.key").strip()
        assert mode == "440 root systemd-journal-upload", (host, mode)
    print("F retention %s; journal-remote listens on %s only; upload keys 0440, group systemd-journal-upload" % (
        re.search(r"--vacuum-time=\S+ --vacuum-size=\S+", retention).group(0), listen.strip().split("=", 1)[1]))
    # the log host away: what a host logs meanwhile arrives once it is back (the upload resumes)
    on_host("lbm-rollout-1", "systemctl", "stop", "systemd-journal-remote.socket", "systemd-journal-remote.service")
    away_id = "e2e-away-" + uuid.uuid4().hex[:12]
    try:
        get_with_request_id("lbm-rollout-2", cafiles["lbm-rollout-2"], away_id)
        assert not [line for line in search(inventory, "-e", "log_request_id=" + away_id) if away_id in line]
    finally:
        on_host("lbm-rollout-1", "systemctl", "start", "systemd-journal-remote.socket")
    back = time.monotonic()
    while not any(" %s demo-" % names["lbm-rollout-2"] in line for line in search(inventory, "-e", "log_request_id=" + away_id)):
        assert time.monotonic() < back + 60, "60 s after the log host came back, the line logged while it was away is missing"
        time.sleep(2)
    print("F a request logged on lbm-rollout-2 while the log host was away arrived %.0fs after it came back" % (
        time.monotonic() - back))


def prometheus_query(query):
    """A PromQL query to Prometheus on the monitoring server (lbm-rollout-1), on its loopback."""
    url = "http://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(query)
    return json.loads(on_host("lbm-rollout-1", "curl", "-sf", "--max-time", "5", url))["data"]["result"]


def check_monitoring_across_hosts():
    """The monitoring server on lbm-rollout-1 scrapes both hosts over their private addresses; a
    stopped exporter on lbm-rollout-2 raises TargetDown naming that host."""
    wanted = {(job, ip) for job in ("node", "traefik") for ip in HOSTS.values()}
    deadline = time.monotonic() + 90
    while True:
        up = {(r["metric"]["job"], r["metric"]["instance"].rsplit(":", 1)[0]): r["value"][1]
              for r in prometheus_query('up{job=~"node|traefik"}')}
        if all(up.get(key) == "1" for key in wanted):
            break
        assert time.monotonic() < deadline, "after 90 s Prometheus on lbm-rollout-1 sees %s, wants %s up" % (up, wanted)
        time.sleep(2)
    listening = on_host("lbm-rollout-2", "ss", "-Hltn")
    assert "172.31.77.12:9100" in listening and "172.31.77.12:8082" in listening, listening
    for port in ("9100", "8082"):
        assert not re.search(r"(0\.0\.0\.0|\*|\[::\]):%s\b" % port, listening), (port, listening)
    server = on_host("lbm-rollout-1", "ss", "-Hltn")
    for port in ("9090", "9093", "9115"):
        assert re.search(r"127\.0\.0\.1:%s\b" % port, server) and not re.search(r"(0\.0\.0\.0|\*|\[::\]):%s\b" % port, server), (
            port, server)
    print("G Prometheus on lbm-rollout-1 scrapes node and traefik on both hosts' private addresses (%s): all up" % (
        ", ".join(sorted(HOSTS.values()))))
    # the second host's exporter stops: the alert names that host
    on_host("lbm-rollout-2", "docker", "stop", "-t", "1", "launchbay_node_exporter")
    stopped = time.monotonic()
    try:
        deadline = stopped + 120
        while True:
            alerts = json.loads(on_host("lbm-rollout-1", "curl", "-sf", "--max-time", "5",
                                        "http://127.0.0.1:9093/api/v2/alerts?active=true"))
            names = [(a["labels"].get("alertname"), a["labels"].get("host"), a["labels"].get("component")) for a in alerts]
            if ("TargetDown", "lbm-rollout-2", "host") in names:
                break
            assert time.monotonic() < deadline, "after 120 s no TargetDown for lbm-rollout-2: %s" % names
            time.sleep(2)
    finally:
        on_host("lbm-rollout-2", "docker", "start", "launchbay_node_exporter")
    print("G lbm-rollout-2's node exporter stopped: TargetDown (host=lbm-rollout-2, component=host) active in "
          "Alertmanager on lbm-rollout-1 after %.0fs" % (time.monotonic() - stopped))


if __name__ == "__main__":
    main()
