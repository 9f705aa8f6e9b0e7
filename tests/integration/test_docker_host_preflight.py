"""Bad input to docker_host fails before any change, with a message naming the variable.

The role runs against this machine (connection local): a passing validation would
change it, so each case also proves that nothing on the host changed.
"""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

CASES = [
    ({"docker_host_log_max_file": "many"}, "docker_host_log_max_file"),
    ({"docker_host_package_source": "snap"}, "docker_host_package_source"),
    ({"docker_host_service_manager": "openrc"}, "docker_host_service_manager"),
    ({"docker_host_live_restore": "sometimes"}, "docker_host_live_restore"),
    ({"docker_host_users": "deploy"}, None),  # a string is taken as a one-item list: valid, checked below
    ({"docker_host_registries": [{"registry": "ghcr.io", "username": "u"}]}, "password"),
    ({"docker_host_service_manager": "external"}, "docker_host_restart_command"),
    ({"docker_host_log_max_size": "10 MB"}, "docker_host_log_max_size"),
    ({"docker_host_public_network": "same", "docker_host_internal_network": "same"}, "docker_host_internal_network"),
    ({"docker_host_extra_networks": [{"internal": True}]}, "name"),
]


def state():
    """What the role would change on this host."""
    digest = hashlib.sha256()
    for path in ("/etc/docker/daemon.json",):
        if os.path.exists(path):
            with open(path, "rb") as handle:
                digest.update(handle.read())
            digest.update(str(os.stat(path).st_mtime_ns).encode())
    nets = subprocess.run(["docker", "network", "ls", "-q", "--filter", "label=launchbay.role=docker_host"], capture_output=True, text=True, check=False).stdout
    return digest.hexdigest(), sorted(nets.split())


@pytest.mark.parametrize("extra, expected", [c for c in CASES if c[1]], ids=lambda v: str(v)[:60])
def test_bad_input_fails_before_any_change(tmp_path, extra, expected):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n  tasks:\n    - ansible.builtin.include_role:\n        name: launchbay.webstack.docker_host\n"
    )
    before = state()
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    res = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
         "-e", json.dumps(extra), str(playbook)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert expected in out, out
    assert "changed=0" in out, out
    assert state() == before
