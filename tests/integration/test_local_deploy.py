"""The README's main command: the local deploy, end to end, on this machine."""

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import LABEL, LOCAL_SECRETS, PREFIX, REPO, started_at, traefik_api

DOMAIN = "demo.launchbay.test"
URL = "https://%s" % DOMAIN
LAB_ACME = os.environ.get("LAUNCHBAY_LAB_ACME_DIR", os.path.expanduser("~/.config/launchbay/lab-acme"))


def https(method, path, body=None):
    """(status, headers, json) over HTTPS through Traefik on 127.0.0.1, verified with the lab CA's root."""
    cmd = ["curl", "-sS", "-i", "-X", method, "--max-time", "10", "--resolve", "%s:443:127.0.0.1" % DOMAIN,
           "--cacert", os.path.join(LAB_ACME, "pebble-root.pem"), URL + path]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    if res.returncode != 0:
        return 0, {}, {"error": res.stderr.strip()}
    head, _sep, payload = res.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    headers = {name.lower(): value for name, value in headers.items()}  # HTTP/2 names are lower-case
    return int(lines[0].split()[1]), headers, json.loads(payload or "{}")


def wait_https(path="/health", status=200, timeout=60):
    """The first response with that status (the certificate may still be on its way)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = https("GET", path)
        if last[0] == status:
            return last
        time.sleep(1)
    raise AssertionError("no %d from %s%s within %ss; last: %r" % (status, URL, path, timeout, last))


def deploy(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    res = subprocess.run(
        [os.path.join(REPO, "lab", "deploy-local.sh"), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    return res, res.stdout + res.stderr


@pytest.fixture(scope="module")
def deployed_v1(local_stack):
    out = local_stack
    assert "The app answers at https://%s/" % DOMAIN in out
    wait_https()
    return out


def version():
    _status, headers, _body = wait_https()
    return headers["x-app-version"]


def test_https_with_a_certificate_from_the_acme_ca(deployed_v1):
    cert = subprocess.run(
        "echo | openssl s_client -connect 127.0.0.1:443 -servername %s 2>/dev/null | openssl x509 -noout -issuer -ext subjectAltName" % DOMAIN,
        shell=True, capture_output=True, text=True, timeout=20, check=False,
    ).stdout
    assert "issuer=CN = Pebble Intermediate CA" in cert and "DNS:%s" % DOMAIN in cert, cert
    status, headers, body = wait_https()
    assert body["status"] == "ok" and headers["x-app-version"] == body["version"]
    assert "max-age=31536000" in headers.get("strict-transport-security", "")
    redirect = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--resolve", "%s:80:127.0.0.1" % DOMAIN,
         "http://%s/records?x=1" % DOMAIN], capture_output=True, text=True, timeout=20, check=False,
    ).stdout
    assert redirect in ("301 https://%s/records?x=1" % DOMAIN, "308 https://%s/records?x=1" % DOMAIN)
    replicas = subprocess.run(["docker", "ps", "-q", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app"],
                              capture_output=True, text=True, check=True).stdout.split()
    assert len(replicas) == 2
    for replica in replicas:
        published = subprocess.run(["docker", "port", replica], capture_output=True, text=True, check=True).stdout
        assert published.strip() == ""  # only Traefik is published
        user = subprocess.run(["docker", "inspect", "-f", "{{.Config.User}}", replica], capture_output=True, text=True,
                              check=True).stdout.strip()
        assert user == "10001:10001", "app_container_uid/gid applied (the image says 'app'): %r" % user


def test_traefik_has_no_docker_socket_and_its_api_needs_the_token(deployed_v1):
    mounts = subprocess.run(["docker", "inspect", "-f", "{{json .Mounts}}", "launchbay_traefik"], capture_output=True,
                            text=True, check=True).stdout
    assert "docker.sock" not in mounts, mounts
    assert traefik_api("/api/rawdata")[0] == 200
    assert traefik_api("/api/rawdata", token=False)[0] == 404
    # a container on Traefik's public network reaches the API's port, not the API
    probe = ("import urllib.request, urllib.error\n"
             "try:\n    print(urllib.request.urlopen('http://launchbay_traefik:8099/api/rawdata', timeout=5).status)\n"
             "except urllib.error.HTTPError as e:\n    print(e.code)\n")
    res = subprocess.run(["docker", "run", "--rm", "--label", LABEL, "--network", "launchbay_public", "--entrypoint", "python3",
                          "%s/demo-app:v1" % PREFIX, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert res.stdout.strip() == "404", res.stdout + res.stderr


IN_FULL = [arg for role in ("docker_host", "postgres", "backups", "traefik", "monitoring") for arg in ("-e", "%s_skip_unchanged=false" % role)]
SKIPPED = {"Docker host", "PostgreSQL", "Backups", "Traefik", "Monitoring"}


def skipped_roles(out):
    text = " ".join(out.split())
    return {title for title in SKIPPED if "%s: nothing changed since the last full run here" % title in text}


def test_a_no_op_deploy_skips_the_unchanged_roles_and_a_container_stopped_by_hand_is_repaired(deployed_v1):
    """The no-op fast path (launchbay.webstack.converged): every infrastructure role is skipped
    when nothing it depends on changed; a container one of them runs, stopped by hand, is seen
    and that role runs in full and starts it again."""
    started = time.monotonic()
    res, out = deploy()
    seconds = time.monotonic() - started
    assert res.returncode == 0, out[-3000:]
    assert skipped_roles(out) == SKIPPED, [line for line in out.splitlines() if "runs in full" in line]
    assert " changed=0 " in out.rsplit("PLAY RECAP", 1)[-1], out[-1500:]
    subprocess.run(["docker", "stop", "-t", "1", "launchbay_maintenance"], capture_output=True, check=True, timeout=60)
    # and the S3 endpoint reset (moto keeps objects in memory): the bucket and the stanza are
    # gone, which no file of the host shows
    subprocess.run(["docker", "restart", "-t", "1", "launchbay_lab_s3"], capture_output=True, check=True, timeout=60)
    res, out = deploy()
    assert res.returncode == 0, out[-3000:]
    assert skipped_roles(out) == SKIPPED - {"Traefik", "Backups"}, out[-3000:]
    assert "Traefik: runs in full, container launchbay_maintenance changed since the last full run" in " ".join(out.split())
    assert "Backups: runs in full, the bucket or the stanza cannot be read: the bucket launchbay-local cannot be used" in " ".join(out.split())
    running = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", "launchbay_maintenance"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert running == "true"
    bucket = subprocess.run(["docker", "exec", "launchbay_lab_s3", "python3", "-c",
                             "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:5000/launchbay-local', timeout=5).status)"],
                            capture_output=True, text=True, check=False, timeout=30)
    assert bucket.stdout.strip() == "200", bucket.stderr[-500:]
    print("no-op deploy: %.1f s, every infrastructure role skipped; a stopped container and a reset S3 endpoint repaired by the next one"
          % seconds)


def test_second_run_changes_nothing_and_a_lock_host_down_has_a_way_forward(deployed_v1, tmp_path):
    """FAULT lock-host-down. An inventory whose lock host is down (ssh to a closed port on 127.0.0.1): the run stops
    before any change, naming run_lock_host; the documented way forward (another lock host)
    runs, and changes nothing."""
    extra = tmp_path / "lockhost.yml"
    extra.write_text("all:\n  children:\n    webstack:\n      hosts:\n        lockhost:\n"
                     "          ansible_host: 127.0.0.1\n          ansible_port: 1\n          ansible_connection: ssh\n")
    down = ["-i", str(extra), "--limit", "localhost"]
    res, out = deploy(*down, "-e", "run_lock_host=lockhost")
    assert res.returncode != 0 and "The lock host lockhost (run_lock_host) cannot be reached" in out, out[-3000:]
    assert "run again with -e run_lock_host=HOST" in out
    recap = [line for line in out.splitlines() if line.startswith("localhost")][-1]
    assert " changed=0 " in recap, recap
    # every role in full (not skipped as unchanged): the tasks themselves change nothing
    res, out = deploy(*down, "-e", "run_lock_host=localhost", *IN_FULL)
    assert res.returncode == 0, out[-3000:]
    assert "[lab] ok: venv" in out and "[lab] ok: Docker engine answers" in out
    assert "nothing changed since the last full run" not in out
    recap = [line for line in out.splitlines() if line.startswith("localhost")][-1]
    assert " changed=0 " in recap and " failed=0 " in recap, recap


# A release switch keeping the data, and a release that never becomes healthy, are
# test_rollout's (under load, with the same local stack): deploying them here again only
# cost minutes.


def test_failed_migration_stops_with_masked_output_and_old_release_serving(deployed_v1):
    """FAULT migration-fails"""
    assert version() == "v1"
    with open(os.path.join(LOCAL_SECRETS, "app_secret_key"), encoding="utf-8") as handle:
        secret_key = handle.read().strip()
    failing = {
        "app_migrate_entrypoint": ["sh", "-c"],
        "app_migrate_command": ["echo migration broke while using key $(cat $SECRET_KEY_FILE); exit 3"],
    }
    res, out = deploy("-e", "app_version=v2", "-e", json.dumps(failing))
    assert res.returncode != 0
    assert "The migration failed (exit 3); the previous release keeps serving." in out, out[-3000:]
    assert "migration broke while using key ********" in out
    assert secret_key not in out
    assert version() == "v1"
    # the failed release was not recorded as migrated: the next deploy of it migrates again
    res, out = deploy("-e", "app_version=v2", "--check")
    assert "Run the migration command in a one-off container of the new image] ***\nchanged" in out, out[-3000:]


def page(url, *extra):
    """(status, lower-cased headers, body) of a GET through Traefik on 127.0.0.1."""
    res = subprocess.run(["curl", "-sS", "-i", "--max-time", "10", "--resolve", "%s:443:127.0.0.1" % DOMAIN,
                          "--resolve", "%s:80:127.0.0.1" % DOMAIN, "--cacert", os.path.join(LAB_ACME, "pebble-root.pem"),
                          *extra, url], capture_output=True, text=True, timeout=20, check=True)
    head, _sep, body = res.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if ": " in line)}
    return int(lines[0].split()[1]), headers, body


def maintenance(state, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    res = subprocess.run(["ansible-playbook", "playbooks/maintenance.yml", "-i", "inventories/local", "-e", "maintenance=" + state,
                          *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    return res.returncode, " ".join((res.stdout + res.stderr).split())


def backup_and_restore(playbook, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    res = subprocess.run(["ansible-playbook", "playbooks/%s.yml" % playbook, "-i", "inventories/local", *args], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=900, check=False)
    return res.returncode, res.stdout + res.stderr


def test_restore_switch_under_load_gives_users_the_page_for_seconds_and_restarts_nothing(deployed_v1):
    """A restore of the latest dump under load: users get the maintenance page (503 with
    Retry-After) for the switch, never an error; the window from the first to the last request
    that could not be served is printed; the app serves the restored rows without a restart."""
    sys.path.insert(0, os.path.join(REPO, "lab"))
    from loadgen import LoadGenerator  # pylint: disable=import-outside-toplevel

    stamp = str(time.time())
    assert https("POST", "/records", {"note": "kept-" + stamp})[0] == 201
    rc, out = backup_and_restore("backup")
    assert rc == 0, out[-3000:]
    dumps = subprocess.run(["docker", "exec", "-u", "postgres", "launchbay_postgres", "python3", "/etc/launchbay/backups/launchbay_backup.py",
                            "--config", "/etc/launchbay/backups/backup.json", "list"], capture_output=True, text=True, check=True).stdout
    dump = json.loads(dumps)["logical"]["demo"][0]["id"]  # the newest: this backup's (latest would be pgBackRest's now)
    assert https("POST", "/records", {"note": "after-the-backup-" + stamp})[0] == 201
    replicas = subprocess.run(["docker", "ps", "-q", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app"],
                              capture_output=True, text=True, check=True).stdout.split()
    before = [started_at(name) for name in replicas]
    gen = LoadGenerator(DOMAIN, os.path.join(LAB_ACME, "pebble-root.pem"), path="/records?limit=5", rate=50, workers=4,
                        max_seconds=600).start()
    try:
        rc, out = backup_and_restore("restore", "-e", "restore_from=" + dump)
        time.sleep(1)
    finally:
        load = gen.stop()
    assert rc == 0, out[-3000:]
    notes = [r["note"] for r in https("GET", "/records?limit=10000")[2]["records"]]
    assert "kept-" + stamp in notes and "after-the-backup-" + stamp not in notes, notes[-5:]
    assert set(load["failure_reasons"]) <= {"HTTP 503 Retry-After"}, (load["failure_reasons"], load["first_failures"])
    assert load["failed"] > 0, "the switch must show: no request got the maintenance page"
    assert [started_at(name) for name in replicas] == before, "no replica restarted"
    assert page(URL + "/")[0] == 200  # maintenance is off again
    print("restore switch under load: %d requests; %d got the maintenance page, over %.2f s (first to last); no other failure"
          % (load["sent"], load["failed"], load["unserved_seconds"]))
    kept = subprocess.run(["docker", "exec", "-u", "postgres", "launchbay_postgres", "psql", "-XAtc",
                           "SELECT datname FROM pg_database WHERE datname LIKE 'demo_before_restore_%'"],
                          capture_output=True, text=True, check=True).stdout.split()
    for name in kept:  # the restore keeps the replaced database for the operator; this test drops it
        subprocess.run(["docker", "exec", "-u", "postgres", "launchbay_postgres", "dropdb", name], check=True)


def test_maintenance_mode_under_load_answers_503_with_the_page_and_restarts_nothing(deployed_v1):
    """On and off under load: only 200 or 503 answers (never a connection error or a 502), the page
    with Retry-After while on, the health path and ACME challenges still reach the app and
    Traefik, status.yml shows it, no container restarted."""
    sys.path.insert(0, os.path.join(REPO, "lab"))
    from loadgen import LoadGenerator  # pylint: disable=import-outside-toplevel

    replicas = subprocess.run(["docker", "ps", "-q", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app"],
                              capture_output=True, text=True, check=True).stdout.split()
    before = [started_at(name) for name in ("launchbay_traefik", "launchbay_maintenance", *replicas)]
    rc, out = maintenance("on", "--check", "--diff")
    assert rc == 0 and "maintenance: off" in out and "maintenance: on" in out, out[-2000:]
    assert page(URL + "/")[0] == 200  # check mode changed nothing
    gen = LoadGenerator(DOMAIN, os.path.join(LAB_ACME, "pebble-root.pem"), rate=50, workers=4, max_seconds=300).start()
    try:
        time.sleep(1)
        rc, out = maintenance("on")
        assert rc == 0 and "maintenance on since" in out, out[-2000:]
        status, headers, body = page(URL + "/records")
        assert status == 503 and headers.get("retry-after") == "120" and "Down for maintenance" in body, (status, headers, body[:300])
        assert page(URL + "/health")[0] == 200  # the app's health check still reaches it
        # ACME's HTTP-01 challenge is Traefik's own (an unknown token: 404), not the maintenance page
        assert page("http://%s/.well-known/acme-challenge/no-such-token" % DOMAIN)[0] == 404
        rc, again = maintenance("on")
        assert rc == 0 and "changed=0" in again.rsplit("PLAY RECAP", maxsplit=1)[-1], again[-1500:]
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
        res = subprocess.run(["ansible-playbook", "playbooks/status.yml", "-i", "inventories/local"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300, check=False)
        assert "maintenance: ON since" in " ".join(res.stdout.split()), res.stdout[-2000:]
        time.sleep(1)
        rc, out = maintenance("off")
        assert rc == 0 and "maintenance off" in out, out[-2000:]
        assert page(URL + "/")[0] == 200
        time.sleep(1)
    finally:
        load = gen.stop()
        maintenance("off")  # whatever failed above, the stack serves again for the next tests
    answers = set(load["failure_reasons"])
    assert answers == {"HTTP 503 Retry-After"}, "only the page's 503 while on, 200 otherwise: %s %s" % (load["failure_reasons"], load["first_failures"])
    assert load["sent"] - load["failed"] > 0
    assert [started_at(name) for name in ("launchbay_traefik", "launchbay_maintenance", *replicas)] == before, "nothing restarted"
    print("maintenance on/off under load: %d requests, %d answered 503 (the page), the rest 200, no other answer"
          % (load["sent"], load["failed"]))


def test_rollout_benchmark_short_mode_has_no_failed_request(deployed_v1):
    """The README's benchmark in its short mode (2 replicas, 50 requests/s, back to the first
    version at the end): our rollout fails no request; the ratios are printed, not asserted."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    res = subprocess.run([os.path.join(REPO, "benchmarks", "rollout.py"), "--short", "--no-setup"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=900, check=False)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    table = res.stdout[res.stdout.index("method"):].splitlines()
    figures = json.loads(table[-1])
    ours = [row for row in figures["rows"] if row["method"].startswith("rolling_update")]
    assert ours and all(row["failed"] == 0 and row["sent"] > 100 for row in ours), ours
    print("\n".join(table[:-1]))
    assert version() == "v1"  # back where it started
