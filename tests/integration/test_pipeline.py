"""The pipeline really runs: act runs examples/pipeline/pipeline.yml, as an application's
repository would, on this machine (self-hosted runner), with this checkout standing in for
launchbay/webstack@v1 (its tracked files): tests, build (image labelled with the commit, pushed to a registry
the test starts on 127.0.0.1), staging, then production with its own inventory, both onto
the local stack. Then a release that never becomes healthy: the staging deploy fails, the
job is red with the report in its summary, production is not touched, the last good digest
keeps serving. Only Trivy is left out (scan: false): no vulnerability database here.
"""

import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import REPO

REGISTRY = "127.0.0.1:15500"
LEDGER = "/var/lib/launchbay/releases/demo.json"
DOMAIN = "demo.launchbay.test"
LAB_ACME = os.environ.get("LAUNCHBAY_LAB_ACME_DIR", os.path.expanduser("~/.config/launchbay/lab-acme"))


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120).stdout.strip()


@pytest.fixture(scope="module")
def registry():
    docker("rm", "-f", "-v", "launchbay_test_registry", check=False)
    docker("run", "-d", "--name", "launchbay_test_registry", "-p", REGISTRY + ":5000", "launchbay-lab/registry:2.8")
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen("http://%s/v2/" % REGISTRY, timeout=2) as res:
                if res.status == 200:
                    break
        except OSError as exc:
            state = docker("inspect", "-f", "{{.State.Status}}", "launchbay_test_registry", check=False)
            assert state == "running", "the registry stopped: %s" % docker("logs", "launchbay_test_registry", check=False)
            assert time.monotonic() < deadline, "the registry did not answer within 30 s: %s" % exc
            time.sleep(0.5)
    yield REGISTRY
    docker("rm", "-f", "-v", "launchbay_test_registry", check=False)


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=ci@shop.test", "-c", "user.name=shop ci", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def pipeline_file(collection):
    """The example, with what its comments say to change set for the lab."""
    with open(os.path.join(REPO, "examples", "pipeline", "pipeline.yml"), encoding="utf-8") as handle:
        text = handle.read()
    for old, new in [
        ("image: registry.example.com/acme/shop   # CHANGE", "image: %s/shop" % REGISTRY),
        ("registry_username: ci                     # CHANGE", "scan: false   # no vulnerability database in the lab"),
        ("run: make test   # CHANGE", "run: make test"),
    ]:
        assert old in text, old
        text = text.replace(old, new)
    # the collection from this checkout, Ansible from its venv (no Galaxy, no PyPI needed)
    deploy_with = "      revision: ${{ github.sha }}\n"
    assert text.count(deploy_with) == 2
    return text.replace(deploy_with, deploy_with + "      collection: %s\n      venv: %s\n" % (collection, os.path.join(REPO, ".venv")))


def inventory(repo, name):
    """The local inventory as the app repository's staging or production one. The engine's restart
    command is the local inventory's word for word (its path from this checkout's inventory), so
    that the Docker host role finds its inputs as the local deploys left them and is skipped."""
    dest = repo / "inventories" / name
    shutil.copytree(os.path.join(REPO, "inventories", "local"), dest, symlinks=False)
    engine = os.path.join(REPO, "inventories", "local", "..", "..", "lab", "engine.sh")
    (dest / "group_vars" / "all" / "20_pipeline.yml").write_text(
        "---\n"
        "app_env: {APP_ENVIRONMENT: %s}\n"
        "app_health_timeout: 30\n"
        "docker_host_restart_command: [bash, %s, restart]\n" % (name, json.dumps(engine)),
        encoding="utf-8")


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """The checkout's tracked files, as launchbay/webstack@v1: act copies the folder it is given
    for every workflow and action it takes from it (the venv and the lab's caches would be
    hundreds of megabytes each time)."""
    dest = tmp_path_factory.mktemp("webstack")
    files = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = os.path.join(REPO, name)
        if os.path.lexists(source):
            os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
            shutil.copy2(source, os.path.join(dest, name), follow_symlinks=False)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "launchbay.webstack as tested")
    return str(dest)


@pytest.fixture(scope="module")
def app_repo(tmp_path_factory, collection):
    repo = tmp_path_factory.mktemp("shop")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "pipeline.yml").write_text(pipeline_file(collection), encoding="utf-8")
    (repo / "Dockerfile").write_text("FROM launchbay-lab/demo-app:v2\n", encoding="utf-8")
    (repo / "Makefile").write_text("test:\n\tgrep -q '^FROM ' Dockerfile\n", encoding="utf-8")
    for name in ("staging", "production"):
        inventory(repo, name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "shop v2")
    return repo


def act(repo, collection):
    cmd = [os.path.join(REPO, ".venv", "bin", "act"), "push", "-W", ".github/workflows/pipeline.yml",
           "-P", "ubuntu-24.04=-self-hosted", "--env", "DOCKER_BUILDKIT=0",
           "--local-repository", "launchbay/webstack@v1=" + collection,
           "--local-repository", "actions/checkout@v5=" + os.path.join(REPO, "tests", "integration", "files", "act", "checkout")]
    env = dict(os.environ)
    env.pop("ANSIBLE_CONFIG", None)  # the app repository has none: the action's own settings apply
    started = time.monotonic()
    res = subprocess.run(cmd, cwd=str(repo), env=env, capture_output=True, text=True, timeout=1500, check=False)
    logs = os.path.join(REPO, ".lab", "logs")
    os.makedirs(logs, exist_ok=True)
    with open(os.path.join(logs, "act-%s.log" % git(repo, "rev-parse", "--short", "HEAD")), "w", encoding="utf-8") as handle:
        handle.write(res.stdout + res.stderr)  # the whole run, for whoever reads a failure
    return res.returncode, res.stdout + res.stderr, time.monotonic() - started


def current_release():
    with open(LEDGER, encoding="utf-8") as handle:
        releases = json.load(handle)["releases"]
    return releases, [r for r in releases if r["result"] == "success"][0]


def registry_digest(tag):
    req = urllib.request.Request("http://%s/v2/shop/manifests/%s" % (REGISTRY, tag),
                                 headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}, method="HEAD")
    with urllib.request.urlopen(req, timeout=10) as res:
        return res.headers["Docker-Content-Digest"]


def served():
    res = subprocess.run(["curl", "-sS", "--fail", "--max-time", "10", "--resolve", "%s:443:127.0.0.1" % DOMAIN,
                          "--cacert", os.path.join(LAB_ACME, "pebble-root.pem"), "https://%s/" % DOMAIN],
                         capture_output=True, text=True, timeout=20, check=True)
    return res.stdout


def replica_environment():
    names = docker("ps", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app", "--format", "{{.Names}}").split()
    return sorted(set(env.split("=", 1)[1] for name in names
                      for env in json.loads(docker("inspect", "-f", "{{json .Config.Env}}", name)) if env.startswith("APP_ENVIRONMENT=")))


def test_merge_builds_deploys_staging_then_production_the_same_digest(registry, collection, app_repo):
    commit = git(app_repo, "rev-parse", "HEAD")
    rc, out, seconds = act(app_repo, collection)
    assert rc == 0, out[-5000:]
    for job in ("test", "build", "staging", "production"):
        assert "[Pipeline/%s" % job in out, job
    digest = registry_digest("sha-" + commit[:12])
    image = "%s/shop@%s" % (REGISTRY, digest)
    _releases, current = current_release()
    assert (current["image"], current["repo_digest"], current["revision"]) == (image, image, commit), current
    assert current["deployed_by"].startswith("github:") and "run" in current["deployed_by"], current
    assert replica_environment() == ["production"]  # the production job deployed with its own inventory
    assert "### deploy %s: SUCCESS" % current["id"] in out and ("image: " + image) in out
    assert '"version": "v2"' in served() or "v2" in served()
    print("pipeline (test, build, push, staging, production): %.1f s, %s" % (seconds, image))


def test_a_release_that_never_becomes_healthy_fails_staging_and_production_keeps_the_last_good_digest(registry, collection, app_repo):
    """FAULT pipeline-deploy-fails"""
    _releases, before = current_release()
    (app_repo / "Dockerfile").write_text("FROM launchbay-lab/demo-app:broken\n", encoding="utf-8")
    git(app_repo, "commit", "-q", "-am", "shop broken")
    rc, out, _seconds = act(app_repo, collection)
    assert rc != 0
    assert "[Pipeline/staging" in out and "did not become healthy" in out, out[-5000:]
    assert ": FAILED" in out and "reason: " in out, out[-5000:]  # the report, in the job summary and the log
    assert not [line for line in out.splitlines() if line.startswith("[Pipeline/production") and "Run Main" in line], out[-3000:]
    releases, current = current_release()
    assert current["id"] == before["id"] and current["image"] == before["image"]
    assert releases[0]["result"] == "failed" and releases[0]["revision"] == git(app_repo, "rev-parse", "HEAD")
    assert replica_environment() == ["production"]
    served()  # still answering
