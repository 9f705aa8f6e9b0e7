"""Fixtures for the integration tests: real containers from the lab images.

Everything a test starts carries the label launchbay.test=integration. The fixtures' containers
(below) are removed before (leftovers of an interrupted run) and after the session, each stack
module's by that module. Traffic goes only to 127.0.0.1 ports published by these containers.
--part stack|other runs one of the two parts (lab/test.sh runs them side by side).
"""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = os.environ.get("LAUNCHBAY_LAB_IMAGE_PREFIX", "launchbay-lab")
LABEL = "launchbay.test=integration"
NETWORK = "lbi-net"
# Tests that name who deploys through USER (a user that does not exist) set this too: Ansible's
# local connection would otherwise put its temporary files under "~USER/.ansible/tmp", which the
# shell leaves unexpanded, a relative directory in the playbook's folder.
REMOTE_TMP = "/tmp/launchbay-tests-ansible-tmp"
# Where the local inventory keeps the secrets it generates (see inventories/local).
LOCAL_SECRETS = os.environ.get("LAUNCHBAY_LOCAL_SECRETS", os.path.expanduser("~/.config/launchbay/local-secrets"))


# The modules that use the local stack run in this order, after the ones that do not: those that
# leave it as the main command deploys it (image pruning deploys another app; the preflight cases
# change nothing) come first and share one deploy (local_stack), the ones that change it follow.
STACK_MODULES = ["test_image_pruning", "test_preflight", "test_local_deploy", "test_no_secret_leaks", "test_pipeline", "test_monitoring",
                 "test_migrate_sqlite", "test_rollout"]


def pytest_addoption(parser):
    parser.addoption("--part", choices=("all", "stack", "other"), default="all",
                     help="stack: only the modules of STACK_MODULES; other: only the others (they share nothing with "
                          "the stack's, so lab/test.sh runs the two parts side by side)")


def pytest_collection_modifyitems(config, items):
    def module(item):
        return item.module.__name__.rsplit(".", 1)[-1]

    part = config.getoption("--part")
    if part != "all":
        deselected = [item for item in items if (module(item) in STACK_MODULES) != (part == "stack")]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item not in deselected]
    items.sort(key=lambda item: STACK_MODULES.index(module(item)) + 1 if module(item) in STACK_MODULES else 0)  # stable


@pytest.fixture(scope="session")
def local_stack():
    """The README's main command, run once for the modules that find the stack as it leaves it;
    its output (it says where the app answers)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    res = subprocess.run([os.path.join(REPO, "lab", "deploy-local.sh")], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=1200, check=False)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    return res.stdout + res.stderr


def docker(*args, check=True, timeout=120, **kwargs):
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True, timeout=timeout, **kwargs)


def cleanup():
    """The containers of the fixtures below (lbi-postgres, lbi-app-N, lbi-migrate*): not those the
    stack's modules start, which may run meanwhile (lab/test.sh runs the two parts side by side)."""
    ids = docker("ps", "-aq", "--filter", "label=" + LABEL, "--filter", "name=^/?lbi-(postgres|app-|migrate)", check=False).stdout.split()
    if ids:
        docker("rm", "-f", "-v", *ids, check=False)
    docker("network", "rm", NETWORK, check=False)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method, url, body=None, timeout=5):
    """(status, headers, json body) of one request; never raises on HTTP errors."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


# The bearer token of Traefik's API, which the traefik role generates (local deploy layout).
TRAEFIK_API_TOKEN_FILE = "/etc/launchbay/traefik/secrets/api-token"


def started_at(container):
    """When Docker last started the container (a restart changes it)."""
    return subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", container],
                          capture_output=True, text=True, check=True).stdout.strip()


def traefik_api(path, token=True, timeout=5):
    """(status, JSON or None) of Traefik's API on the host's 127.0.0.1, with the role's token."""
    headers = {}
    if token:
        with open(TRAEFIK_API_TOKEN_FILE, encoding="utf-8") as handle:
            headers["Authorization"] = "Bearer " + handle.read().strip()
    req = urllib.request.Request("http://127.0.0.1:8099" + path, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError):
        return 0, None


def status_is(url, *statuses, timeout=5):
    """A predicate for wait_until: the response when its status is one of `statuses`."""

    def check():
        response = http("GET", url, timeout=timeout)
        return response if response[0] in statuses else None

    return check


def wait_until(predicate, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (OSError, ValueError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s; last: %r" % (timeout, what, last))


@pytest.fixture(scope="session")
def lab_network():
    cleanup()
    docker("network", "create", "--label", LABEL, NETWORK)
    yield NETWORK
    cleanup()


class Postgres:
    def __init__(self, network):
        self.name = "lbi-postgres"
        self.password = "integration-test-pw-%d" % os.getpid()
        docker(
            "run", "-d", "--name", self.name, "--label", LABEL, "--network", network,
            "-e", "POSTGRES_PASSWORD=" + self.password, "-e", "POSTGRES_DB=demo",
            PREFIX + "/postgres:15",
        )
        wait_until(self.ready, 90, "PostgreSQL to accept connections")

    @property
    def url(self):
        return "postgresql://postgres:%s@%s:5432/demo" % (self.password, self.name)

    def ready(self):
        res = docker("exec", self.name, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres", check=False)
        return res.returncode == 0

    def psql(self, sql):
        return docker("exec", self.name, "psql", "-U", "postgres", "-d", "demo", "-tAc", sql).stdout.strip()


@pytest.fixture(scope="session")
def postgres(lab_network):
    return Postgres(lab_network)


@pytest.fixture
def run_app(lab_network, postgres):
    """Start a demo app container; returns a handle with its base URL."""
    started = []

    def start(tag="v1", env=None, command=("serve",), name=None, publish=True):
        name = name or "lbi-app-%d" % len(started)
        args = ["run", "-d", "--name", name, "--label", LABEL, "--network", lab_network]
        port = None
        if publish:
            port = free_port()
            args += ["-p", "127.0.0.1:%d:8000" % port]
        full_env = {"DATABASE_URL": postgres.url, "SECRET_KEY": "integration-secret-key-0123"}
        full_env.update(env or {})
        for key, value in full_env.items():
            if value is not None:
                args += ["-e", "%s=%s" % (key, value)]
        args += ["%s/demo-app:%s" % (PREFIX, tag), *command]
        docker(*args)
        started.append(name)
        handle = type("App", (), {})()
        handle.name = name
        handle.url = "http://127.0.0.1:%d" % port if port else None
        return handle

    yield start
    for name in started:
        docker("rm", "-f", name, check=False)


def migrate(lab_network, postgres, tag="v1", env=None, name="lbi-migrate"):
    args = ["run", "--rm", "--name", name, "--label", LABEL, "--network", lab_network, "-e", "DATABASE_URL=" + postgres.url]
    for key, value in (env or {}).items():
        args += ["-e", "%s=%s" % (key, value)]
    return docker(*args, "%s/demo-app:%s" % (PREFIX, tag), "migrate", check=False)
