"""Zero-downtime rollouts and rollbacks of the local stack, under steady HTTPS load.

Every phase runs lab/loadgen.py's generator at 100 requests/s against Traefik on
127.0.0.1:443 (certificate verified with the lab CA) and asserts that not one request
failed and that the versions served switch as expected. Also: the deploy lock refuses a
second deploy while one runs, a rollout waits for another still at work on the host, a crashed
replica is back within 30 s.

Over 300 lines because every test here shares one deployed stack (on_v1), which takes minutes
to build; the helpers are the load, the ledger and the replicas.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import REMOTE_TMP, REPO, started_at, traefik_api

sys.path.insert(0, os.path.join(REPO, "lab"))
from loadgen import LoadGenerator  # noqa: E402  pylint: disable=wrong-import-position

DOMAIN = "demo.launchbay.test"
LAB_ACME = os.environ.get("LAUNCHBAY_LAB_ACME_DIR", os.path.expanduser("~/.config/launchbay/lab-acme"))
LEDGER = "/var/lib/launchbay/releases/demo.json"
LOCK = "/var/lib/launchbay/locks/local.lock"
MUTEX = "/run/launchbay/demo.rollout"
RATE = 100


def playbook(name, *args, timeout=900):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), USER="rollout-test", ANSIBLE_REMOTE_TMP=REMOTE_TMP)
    started = time.monotonic()
    res = subprocess.run(["ansible-playbook", "playbooks/%s.yml" % name, "-i", "inventories/local", *args],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    # whitespace collapsed: the YAML callback wraps long messages anywhere
    return res.returncode, " ".join((res.stdout + res.stderr).split()), time.monotonic() - started


def under_load(name, *args):
    gen = LoadGenerator(DOMAIN, os.path.join(LAB_ACME, "pebble-root.pem"), rate=RATE, workers=8, max_seconds=600).start()
    time.sleep(2)
    rc, out, seconds = playbook(name, *args)
    time.sleep(3)
    load = gen.stop()
    return rc, out, seconds, load


def served_versions(load):
    return [version for _offset, version in load["versions"]]


def brief(load):
    """The load figures, with the versions served reduced to the first and last."""
    versions = served_versions(load)
    return json.dumps(dict(load, versions="%s -> %s (%d switches while both served)" % (versions[0], versions[-1], len(versions) - 1)))


def assert_no_failed_request(load, seconds):
    assert load["failed"] == 0, "failed requests: %s; first: %s" % (load["failure_reasons"], load["first_failures"])
    assert load["sent"] >= 0.8 * RATE * seconds, load  # the load really ran all along


def ledger():
    with open(LEDGER, encoding="utf-8") as handle:
        releases = json.load(handle)["releases"]
    done = [r for r in releases if r["result"] == "success"]
    return releases, done[0], (done[1] if len(done) > 1 else None)


def replicas():
    out = subprocess.run(["docker", "ps", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app",
                          "--format", "{{.Names}} {{.Image}}"], capture_output=True, text=True, check=True).stdout
    return sorted(line.split(" ", 2)[:2] for line in out.splitlines())


@pytest.fixture(scope="module")
def on_v1():
    rc, out, _s = playbook("deploy")
    assert rc == 0, out[-4000:]
    assert [r[1] for r in replicas()] == ["launchbay-lab/demo-app:v1"] * 2
    return True


def write_record(note):
    """A record written through the app (HTTPS through Traefik, verified with the lab CA)."""
    res = subprocess.run(["curl", "-sS", "--fail", "--max-time", "10", "--resolve", "%s:443:127.0.0.1" % DOMAIN,
                          "--cacert", os.path.join(LAB_ACME, "pebble-root.pem"), "-H", "Content-Type: application/json",
                          "--data", json.dumps({"note": note}), "https://%s/records" % DOMAIN],
                         capture_output=True, text=True, timeout=20, check=True)
    return json.loads(res.stdout)["record"]["id"]


def read_record(record_id):
    res = subprocess.run(["curl", "-sS", "--fail", "--max-time", "10", "--resolve", "%s:443:127.0.0.1" % DOMAIN,
                          "--cacert", os.path.join(LAB_ACME, "pebble-root.pem"), "https://%s/records/%d" % (DOMAIN, record_id)],
                         capture_output=True, text=True, timeout=20, check=True)
    return json.loads(res.stdout)["record"]["note"]


def test_deploy_of_v2_under_load_drops_no_request(on_v1):
    note = "kept-across-the-release-%d" % time.time_ns()
    record_id = write_record(note)
    rc, out, seconds, load = under_load("deploy", "-e", "app_version=v2")
    assert rc == 0, out[-4000:]
    assert_no_failed_request(load, seconds)
    versions = served_versions(load)
    assert versions[0] == "v1" and versions[-1] == "v2", versions
    assert [r[1] for r in replicas()] == ["launchbay-lab/demo-app:v2"] * 2
    _releases, current, previous = ledger()
    assert current["image"].endswith(":v2") and previous["image"].endswith(":v1")
    assert current["migration_version"] == "2" and current["deployed_by"].startswith("rollout-test")
    assert current["digest"].startswith("sha256:") and current["config_hash"]
    assert read_record(record_id) == note  # the data written before the release is still there
    print("deploy v2: %.1f s, %s" % (seconds, brief(load)))


def test_broken_release_fails_under_load_and_v2_keeps_serving(on_v1):
    """FAULT release-unhealthy"""
    before = replicas()
    rc, out, seconds, load = under_load("deploy", "-e", "app_version=broken", "-e", "app_health_timeout=60")
    assert rc != 0
    assert "did not become healthy" in out and "selftest" in out, out[-4000:]  # the replica's last health output
    assert "The lock was released." in out
    assert_no_failed_request(load, seconds)
    assert set(served_versions(load)) == {"v2"}
    assert replicas() == before  # the same two v2 containers, untouched
    releases, current, _previous = ledger()
    assert releases[0]["image"].endswith(":broken") and releases[0]["result"] == "failed"
    assert current["image"].endswith(":v2")
    assert not os.path.exists(LOCK)


def test_rollback_across_a_migration_needs_the_override(on_v1):
    before = replicas()
    rc, out, _s = playbook("rollback")
    assert rc != 0
    assert "expects schema version 1, but the database was migrated to 2" in out, out[-3000:]
    assert "app_rollback_allow_schema_downgrade" in out
    assert replicas() == before


def test_rollback_under_load_drops_no_request(on_v1):
    # (its time is printed, not asserted: benchmarks/rollout.py measures speed; here the suite's load varies it)
    rc, out, seconds, load = under_load("rollback", "-e", "app_rollback_allow_schema_downgrade=true")
    assert rc == 0, out[-4000:]
    assert_no_failed_request(load, seconds)
    versions = served_versions(load)
    assert versions[0] == "v2" and versions[-1] == "v1", versions
    releases, current, _previous = ledger()
    assert current["image"].endswith(":v1")
    assert [r["result"] for r in releases if r["image"].endswith(":v2")][0] == "rolled_back"
    print("rollback of 2 replicas: %.1f s, %s" % (seconds, brief(load)))


def test_rollback_to_a_named_release(on_v1):
    releases, _current, _previous = ledger()
    v2 = [r for r in releases if r["image"].endswith(":v2")][0]
    rc, out, _s = playbook("rollback", "-e", "rollback_to=%s" % v2["id"])
    assert rc == 0, out[-3000:]
    assert "runs release %s" % v2["id"] in out
    assert [r[1] for r in replicas()] == ["launchbay-lab/demo-app:v2"] * 2
    rc, out, _s = playbook("rollback", "-e", "rollback_to=no-such-release")
    assert rc != 0 and "no release no-such-release that served" in out, out[-3000:]


def test_status_shows_releases_replicas_and_lock(on_v1):
    rc, out, _s = playbook("status")
    assert rc == 0, out[-3000:]
    _releases, current, previous = ledger()
    assert "current: %s launchbay-lab/demo-app:v2" % current["id"] in out
    assert "previous: %s" % previous["id"] in out
    assert out.count(": healthy'") == 2 and "lock: free" in out, out[-3000:]


def test_a_deploy_records_the_image_commit_and_refuses_an_image_built_from_another(on_v1, tmp_path):
    """What a pipeline deploys: the ledger, status and the run's report say which commit and
    version serve; an image that is not the build that passed CI stops before any change."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    subprocess.run(["docker", "build", "-t", "launchbay-lab/demo-app:traced", "--label", "org.opencontainers.image.revision=" + commit,
                    "--label", "org.opencontainers.image.version=2.0.0-traced", "-"], input="FROM launchbay-lab/demo-app:v2\n",
                   capture_output=True, text=True, check=True, env=dict(os.environ, DOCKER_BUILDKIT="0"))
    before, releases_before = replicas(), ledger()[0]
    report = tmp_path / "report.json"
    wrong = "f" * 40
    rc, out, _s = playbook("deploy", "-e", json.dumps({"app_image": "launchbay-lab/demo-app:traced", "app_required_revision": wrong,
                                                       "run_report_file": str(report)}))
    assert rc != 0
    assert ("app_required_revision is %s, but the image launchbay-lab/demo-app:traced was built from '%s'" % (wrong, commit)) in out, out[-3000:]
    assert "Nothing was migrated and no replica changed" in out and "The lock was released." in out
    assert replicas() == before and ledger()[0] == releases_before
    failed = json.loads(report.read_text(encoding="utf-8"))
    assert failed["result"] == "failed" and "app_required_revision" in failed["reason"] and failed["rolled_back"] == [], failed

    rc, out, _s = playbook("deploy", "-e", json.dumps({"app_image": "launchbay-lab/demo-app:traced", "app_required_revision": commit.upper(),
                                                       "run_report_file": str(report), "app_ci_run": "4242"}))
    assert rc == 0, out[-3000:]
    _releases, current, _previous = ledger()
    assert (current["image"], current["revision"], current["version"], current["ci_run"]) == (
        "launchbay-lab/demo-app:traced", commit, "2.0.0-traced", "4242"), current
    done = json.loads(report.read_text(encoding="utf-8"))
    assert (done["result"], done["release"], done["image"], done["environment"]) == (
        "success", current["id"], "launchbay-lab/demo-app:traced", "local"), done
    assert done["deployed_by"].startswith("rollout-test") and oct(report.stat().st_mode & 0o777) == "0o600"
    rc, out, _s = playbook("status")
    assert rc == 0 and ("current: %s launchbay-lab/demo-app:traced version 2.0.0-traced commit 0123456789ab" % current["id"]) in out, out[-3000:]
    assert "by rollout-test" in out and " in 4242 at " in out


def test_check_mode_reports_the_replacement_and_changes_nothing(on_v1):
    before = replicas()
    current = before[0][1].rsplit(":", 1)[1]
    other = "v1" if current == "v2" else "v2"
    releases_before = ledger()[0]
    rc, out, _s = playbook("deploy", "-e", "app_version=" + other, "--check", "--diff")
    assert rc == 0, out[-3000:]
    assert "- launchbay-lab/demo-app:%s +" % current in out and "+ - launchbay-lab/demo-app:%s" % other in out, out[-3000:]
    assert "(new 1)" in out
    assert replicas() == before and ledger()[0] == releases_before


def test_two_deploys_started_within_a_second_one_runs_the_other_is_refused(on_v1):
    """FAULT two-deploys: the lock decides atomically; the refused run names the other and changes nothing."""
    runs = []
    for user in ("deployer-a", "deployer-b"):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), USER=user, ANSIBLE_REMOTE_TMP=REMOTE_TMP)
        runs.append(subprocess.Popen(["ansible-playbook", "playbooks/deploy.yml", "-i", "inventories/local", "-e", "app_version=v1",
                                      "-e", json.dumps({"run_reason": "deploy by " + user})], cwd=REPO, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        time.sleep(0.5)
    outputs = [" ".join(run.communicate(timeout=900)[0].split()) for run in runs]
    codes = [run.returncode for run in runs]
    assert sorted(code == 0 for code in codes) == [False, True], (codes, [o[-1500:] for o in outputs])
    winner = codes.index(0)
    loser_out = outputs[1 - winner]
    assert "is held by deployer-%s" % "ab"[winner] in loser_out and "reason: deploy by deployer-%s" % "ab"[winner] in loser_out, loser_out[-3000:]
    assert "changed=0" in loser_out.split("PLAY RECAP")[-1], loser_out[-1500:]
    assert not os.path.exists(LOCK)
    assert [r[1] for r in replicas()] == ["launchbay-lab/demo-app:v1"] * 2
    print("two deploys 0.5 s apart: deployer-%s ran, the other was refused naming it" % "ab"[winner])


def test_stale_lock_is_broken_only_when_asked(on_v1):
    """FAULT run-died-lock-held"""
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    with open(LOCK, "w", encoding="utf-8") as handle:
        json.dump({"owner": "ghost@gone", "token": "t0", "reason": "crashed run", "acquired_at": time.time() - 7200, "ttl": 3600}, handle)
    try:
        rc, out, _s = playbook("deploy")
        assert rc != 0 and "is stale" in out and "ghost@gone" in out, out[-3000:]
        rc, out, _s = playbook("deploy", "-e", "run_lock_break_stale=true")
        assert rc == 0, out[-3000:]
        assert not os.path.exists(LOCK)
    finally:
        if os.path.exists(LOCK):
            os.unlink(LOCK)


def replica_env(name):
    out = subprocess.run(["docker", "inspect", "-f", "{{json .Config.Env}}", name], capture_output=True, text=True, check=True).stdout
    return dict(item.split("=", 1) for item in json.loads(out))


def moving(note, *args):
    """The arguments of a deploy of the tag `moving` with NOTE=note in the environment."""
    return ["-e", "app_version=moving", "-e", json.dumps({"app_env": {"APP_ENVIRONMENT": "local", "NOTE": note}}), *args]


def routed_and_up():
    """The replicas Traefik's API routes to and reports UP (its own health check), by name."""
    _status, service = traefik_api("/api/http/services/demo@file", timeout=2)
    states = (service or {}).get("serverStatus") or {}
    return sorted(url[len("http://"):].rsplit(":", 1)[0] for url, state in states.items() if state == "UP")


def restarts_during_a_deploy(args, bound=30):
    """FAULT postgres-restarted: PostgreSQL restarted as the deploy's first new replica starts.
    FAULT traefik-restarted: Traefik restarted as its second one starts.
    The deploy rides over both (its waits are bounded and keep polling a Traefik or a database
    that is coming back) and ends with exactly its replicas, routed and UP. Requests fail only
    while each is down: every failure falls within `bound` seconds of its restart, none after."""
    before = {name for name, _image in replicas()}
    order = [("postgres", "launchbay_postgres"), ("traefik", "launchbay_traefik")]
    faults, starts = {}, {container: started_at(container) for _fault, container in order}
    gen = LoadGenerator(DOMAIN, os.path.join(LAB_ACME, "pebble-root.pem"), rate=RATE, workers=8, max_seconds=600).start()
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), USER="restarts-test", ANSIBLE_REMOTE_TMP=REMOTE_TMP)
    run = subprocess.Popen(["ansible-playbook", "playbooks/deploy.yml", "-i", "inventories/local", *args], cwd=REPO, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    reader = threading.Thread(target=lambda: output.extend(run.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        while len(faults) < len(order) and run.poll() is None and time.monotonic() < deadline:
            new = {name for name, _image in replicas()} - before
            if len(new) > len(faults):
                fault, container = order[len(faults)]
                faults[fault] = time.monotonic() - gen.started
                subprocess.run(["docker", "restart", container], capture_output=True, check=True, timeout=60)
            time.sleep(0.1)
        run.wait(timeout=600)
        reader.join(30)
        time.sleep(3)
    finally:
        if run.poll() is None:
            run.kill()
        load = gen.stop()
    out = " ".join("".join(output).split())
    assert sorted(faults) == ["postgres", "traefik"], "the deploy never started two new replicas: %s %s" % (faults, out[-3000:])
    assert all(started_at(container) != starts[container] for _fault, container in order)  # both really restarted
    assert run.returncode == 0, out[-3000:]
    now = [name for name, _image in replicas()]
    assert len(now) == 2 and not set(now) & before, now
    assert routed_and_up() == sorted(now), (routed_and_up(), now)
    assert not os.path.exists(LOCK) and ledger()[0][0]["result"] == "success"
    spans = {}
    for offset, reason in gen.failures:  # (seconds since the load began, why)
        fault = [name for name, at in faults.items() if at - 1 <= offset <= at + bound]
        assert fault, "a request failed at %.1f s, outside both restarts %s: %s" % (offset, faults, reason)
        first, last = spans.get(fault[-1], (offset, offset))
        spans[fault[-1]] = (min(first, offset), max(last, offset))
    print("FAULT postgres-restarted, traefik-restarted: deploy succeeded, %d of %d requests failed %s: %s" % (
        load["failed"], load["sent"], json.dumps(load["failure_reasons"]), ", ".join("%s restart: failures over %.1f s (%+.1f to %+.1f s from it)" % (
            name, last - first, first - faults[name], last - faults[name]) for name, (first, last) in sorted(spans.items()))))


def test_killed_controller_restarts_mid_deploy_and_a_rollback_that_recreates_the_release(on_v1):
    """Four faults on the same deploys (they cost minutes each):
    FAULT controller-killed: ansible-playbook SIGKILLed while a new replica starts; the replicas
    keep serving, and the next run (taking over at once the lock of the run that died on this
    controller, with no TTL to wait and no flag) ends with exactly the replicas it wants, each in
    Traefik's routing file and nothing else.
    Then PostgreSQL and Traefik restarted during the next deploy (restarts_during_a_deploy).
    Then a tag that moved (like `latest`) and an environment that changed: the rollback brings
    back the release's own image by ID with its own environment, not a no-op with today's."""
    tag = "launchbay-lab/demo-app:moving"
    subprocess.run(["docker", "tag", "launchbay-lab/demo-app:v1", tag], check=True)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), USER="killed-run", ANSIBLE_REMOTE_TMP=REMOTE_TMP)
    try:
        before = {name for name, _image in replicas()}
        gen = LoadGenerator(DOMAIN, os.path.join(LAB_ACME, "pebble-root.pem"), rate=RATE, workers=8, max_seconds=600).start()
        try:
            victim = subprocess.Popen(["ansible-playbook", "playbooks/deploy.yml", "-i", "inventories/local",
                                       *moving("first")], cwd=REPO, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            deadline = time.monotonic() + 300
            while not {name for name, _image in replicas()} - before:
                assert time.monotonic() < deadline and victim.poll() is None, "the deploy never started a new replica"
                time.sleep(0.1)
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(30)
            stray = replicas()
            with open(LOCK, encoding="utf-8") as handle:
                assert json.load(handle)["controller"]["pid"] == victim.pid  # the dead run's lock, far from stale
            rc, out, _s = playbook("deploy", *moving("first"))
            orphans = reap("killed-run")
        finally:
            load = gen.stop()
        assert rc == 0, out[-3000:]
        assert "Took over the lock of local held by killed-run@" in out and "died on this controller" in out, out[-3000:]
        assert load["failed"] == 0, "failed requests: %s; first: %s" % (load["failure_reasons"], load["first_failures"])
        now = replicas()
        assert len(now) == 2 and {replica_env(name)["NOTE"] for name, _image in now} == {"first"}, now
        with open("/etc/launchbay/traefik/dynamic/app-demo.yml", encoding="utf-8") as handle:
            routed = json.loads(handle.read().split("\n", 1)[1])["http"]["services"]["demo"]["loadBalancer"]["servers"]
        assert sorted(server["url"] for server in routed) == sorted("http://%s:8000" % name for name, _image in now), routed
        all_demo = subprocess.run(["docker", "ps", "-aq", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app"],
                                  capture_output=True, text=True, check=True).stdout.split()
        assert len(all_demo) == 2, "no stray replica, running or stopped: %s" % all_demo
        print("FAULT controller-killed: killed with replicas %s; the next run left exactly %s, routed; %s; %d processes of the "
              "killed run were still there afterwards (Ansible's workers each have a session of their own), now killed"
              % (stray, now, brief(load), len(orphans)))

        subprocess.run(["docker", "tag", "launchbay-lab/demo-app:v2", tag], check=True)
        restarts_during_a_deploy(moving("second"))
        assert {replica_env(name)["NOTE"] for name, _image in replicas()} == {"second"}
        rc, out, seconds, load = under_load("rollback", "-e", "app_rollback_allow_schema_downgrade=true")
        assert rc == 0, out[-3000:]
        assert_no_failed_request(load, seconds)
        assert served_versions(load)[-1] == "v1", served_versions(load)
        assert {replica_env(name)["NOTE"] for name, _image in replicas()} == {"first"}
        print("rollback after the tag moved: v1's image by ID with its own environment, %s" % brief(load))
    finally:
        subprocess.run(["docker", "rmi", tag], capture_output=True, check=False)
        reap("killed-run")


def reap(user):
    """Kill what is left of a run started with USER=`user`: killing ansible-playbook's process
    group does not reach its workers (each runs in a session of its own). Their PIDs."""
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/environ" % pid, "rb") as handle:
                if b"\0USER=%s\0" % user.encode("utf-8") not in b"\0" + handle.read():
                    continue
            os.kill(int(pid), signal.SIGKILL)
            left.append(int(pid))
        except OSError:  # ended meanwhile
            continue
    return left


def test_crashed_replica_is_back_serving_within_30_seconds(on_v1):
    name = replicas()[0][0]
    info = json.loads(subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout)[0]
    os.kill(info["State"]["Pid"], signal.SIGKILL)
    killed = time.monotonic()
    back = None
    while time.monotonic() - killed < 60:
        state = json.loads(subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout)[0]
        routed = traefik_api("/api/http/services/demo@file", timeout=2)[1] or {}
        status = (routed.get("serverStatus") or {}).get("http://%s:8000" % name)
        if state["RestartCount"] >= 1 and state["State"].get("Health", {}).get("Status") == "healthy" and status == "UP":
            back = time.monotonic() - killed
            break
        time.sleep(0.5)
    assert back is not None and back < 30, "not back within 60 s"
    print("crashed replica back (healthy and routed) after %.1f s" % back)


# Holds the app's rollout mutex until killed: another rollout still at work on the host.
MUTEX_HOLDER = """
import sys, time
from ansible_collections.launchbay.webstack.plugins.module_utils._rollout_mutex import rollout_mutex
with rollout_mutex("demo", "the module of a run whose controller died", 5, directory=sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


def openers(path):
    """PIDs of the processes that have `path` open."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
            if any(os.readlink("/proc/%s/fd/%s" % (pid, fd)) == path for fd in fds):
                found.add(int(pid))
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return found


def test_a_rollout_waits_for_another_still_at_work_on_the_host(on_v1, tmp_path):
    """A run that took over the lock of a run whose controller died may find that run's module
    still rolling the app on the host (an SSH session or an Ansible worker outlives
    ansible-playbook). The deploy's rollout must wait for it, not race it, and go on at once
    when it ends: here a process of the test holds the app's rollout mutex until killed."""
    holder = subprocess.Popen([sys.executable, "-c", MUTEX_HOLDER, os.path.dirname(MUTEX)], stdout=subprocess.PIPE,
                              env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), USER="rollout-test", ANSIBLE_REMOTE_TMP=REMOTE_TMP)
    log = tmp_path / "deploy.log"
    try:
        assert holder.stdout.readline().strip() == b"held"
        gen = LoadGenerator(DOMAIN, os.path.join(LAB_ACME, "pebble-root.pem"), rate=RATE, workers=8, max_seconds=600).start()
        try:
            with open(log, "w", encoding="utf-8") as out:
                deploy = subprocess.Popen(["ansible-playbook", "playbooks/deploy.yml", "-i", "inventories/local", "-v",
                                           "-e", json.dumps({"app_env": {"APP_ENVIRONMENT": "local", "NOTE": "after-the-wait"}})],
                                          cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
                deadline = time.monotonic() + 300
                while not openers(MUTEX) - {holder.pid}:  # the deploy's rollout has opened the mutex: it waits
                    assert deploy.poll() is None, "the deploy ended without waiting: %s" % log.read_text()[-3000:]
                    assert time.monotonic() < deadline, "the deploy never reached its rollout"
                    time.sleep(0.2)
                waiting = time.monotonic()
                before = replicas()
                holder.kill()
                holder.wait(10)
                rc = deploy.wait(600)
            went_on = time.monotonic() - waiting
        finally:
            load = gen.stop()
    finally:
        holder.kill()
        holder.wait(10)
    text = " ".join(log.read_text(encoding="utf-8").split())
    assert rc == 0, text[-3000:]
    assert "for the rollout of process %d (the module of a run whose controller died" % holder.pid in text, text[-3000:]
    assert load["failed"] == 0, "failed requests: %s; first: %s" % (load["failure_reasons"], load["first_failures"])
    after = replicas()
    assert len(after) == 2 and not set(map(tuple, after)) & set(map(tuple, before)), (before, after)
    assert {replica_env(name)["NOTE"] for name, _image in after} == {"after-the-wait"}
    print("rollout mutex: the deploy waited for the holder, went on when it ended and was done %.1f s later; %s"
          % (went_on, brief(load)))
