"""Old images of the app's repository are pruned; the current and previous releases' are kept,
and so is an image newer than the current one (pulled ahead for the next deploy).

Deploys a separate app (`lbprune`, images lbprune/app:a to :d built one after another from
the demo app) with the app role alone onto the local stack's networks and database,
keeping 2 releases.
"""

import time

import json
import os
import subprocess

import pytest

from conftest import REPO

NAME = "lbprune"
TAGS = ["a", "b", "c", "d"]


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check).stdout


def cleanup():
    ids = docker("ps", "-aq", "--filter", "label=launchbay.app=" + NAME, check=False).split()
    if ids:
        docker("rm", "-f", *ids, check=False)
    for tag in TAGS:
        docker("rmi", "lbprune/app:" + tag, check=False)
    subprocess.run(["rm", "-rf", "/etc/launchbay/apps/" + NAME, "/var/lib/launchbay/releases/%s.json" % NAME], check=False)


@pytest.fixture
def pruning(local_stack):
    cleanup()
    for tag in TAGS:
        subprocess.run(["docker", "build", "-t", "lbprune/app:" + tag, "-"], input="FROM launchbay-lab/demo-app:v1\nLABEL lbprune=%s\n" % tag,
                       capture_output=True, text=True, check=True, env=dict(os.environ, DOCKER_BUILDKIT="0"))
        time.sleep(1.1)  # image creation times have a resolution of one second
    yield
    cleanup()


def deploy(tag):
    playbook = os.path.join(REPO, "benchmarks", "rolling.yml")
    secrets_dir = os.path.expanduser("~/.config/launchbay/local-secrets")
    with open(os.path.join(secrets_dir, "postgres_app"), encoding="utf-8") as handle:
        password = handle.read().split()[0]
    extra = {
        "app_name": NAME, "app_image": "lbprune/app:" + tag, "app_prune_images": True, "app_releases_kept": 2,
        "app_replicas": 1, "app_domains": [], "app_migrate_command": [], "app_image_pull": False,
        "app_secrets": {"DATABASE_URL": "postgresql://demo:%s@launchbay_postgres:5432/demo" % password,
                        "SECRET_KEY": "prune-test-key-0123456789"},
    }
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    res = subprocess.run(["ansible-playbook", playbook, "-i", "inventories/local", "-e", json.dumps(extra)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]


def present():
    return sorted(line for line in docker("images", "lbprune/app", "--format", "{{.Tag}}").split())


def test_only_the_kept_releases_images_stay(pruning):
    deploy("a")
    deploy("b")
    assert present() == ["a", "b", "c", "d"]
    deploy("c")
    # a is neither current (c) nor previous (b), and older: pruned; b stays as the rollback
    # target; d, newer than the current release, may be the next one
    assert present() == ["b", "c", "d"]
    # one ledger entry per release: the in-progress record was completed, not left beside it
    with open("/var/lib/launchbay/releases/%s.json" % NAME, encoding="utf-8") as handle:
        releases = json.load(handle)["releases"]
    assert [(r["image"], r["result"]) for r in releases] == [("lbprune/app:c", "success"), ("lbprune/app:b", "success")]
