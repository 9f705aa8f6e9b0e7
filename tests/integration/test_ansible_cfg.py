"""The repository's ansible.cfg is the one production runs use from a checkout: it must not
turn off SSH host key checking (the lab's inventories connect locally or through Docker, so
they need no such setting)."""

import os
import subprocess

from conftest import REPO


def test_host_key_checking_stays_on():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    env.pop("ANSIBLE_HOST_KEY_CHECKING", None)
    res = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-config"), "dump", "--only-changed"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "HOST_KEY_CHECKING" not in res.stdout, res.stdout
