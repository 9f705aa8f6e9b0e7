"""The README's main command: the local deploy, end to end, on this machine."""

import json
import os
import subprocess
import uuid

import pytest

from conftest import LOCAL_SECRETS, REPO, http

URL = "http://127.0.0.1:8080"


def deploy(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    res = subprocess.run(
        [os.path.join(REPO, "lab", "deploy-local.sh"), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    return res, res.stdout + res.stderr


@pytest.fixture(scope="module")
def deployed_v1():
    res, out = deploy()
    assert res.returncode == 0, out[-4000:]
    assert "The app answers at http://127.0.0.1:8080/" in out
    return out


def version():
    status, headers, body = http("GET", URL + "/health")
    assert status == 200, body
    return headers["X-App-Version"]


def test_second_run_changes_nothing(deployed_v1):
    res, out = deploy()
    assert res.returncode == 0, out[-3000:]
    assert "[lab] ok: venv" in out and "[lab] ok: Docker engine answers" in out
    recap = [line for line in out.splitlines() if line.startswith("localhost")][-1]
    assert " changed=0 " in recap and " failed=0 " in recap, recap


def test_release_switch_keeps_the_data(deployed_v1):
    note = "kept-%s" % uuid.uuid4().hex
    status, _h, body = http("POST", URL + "/records", {"note": note})
    assert status == 201
    res, out = deploy("-e", "app_version=v2")
    assert res.returncode == 0, out[-3000:]
    assert version() == "v2"
    assert http("GET", URL + "/records/%d" % body["record"]["id"])[2]["record"]["note"] == note
    res, out = deploy()
    assert res.returncode == 0, out[-3000:]
    assert version() == "v1"


def test_failed_migration_stops_with_masked_output_and_old_release_serving(deployed_v1):
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
