"""The documented layout of secrets (inventories/README.md, "Vault layout") is safe: the
example vault files hold values with template markers, tagged !unsafe; the plain group_vars
reference them. Ansible must hand them over byte-exact, the database URL percent-encoded."""

import json
import os
import subprocess
import urllib.parse

import pytest

from conftest import REPO

HOSTS = {"production": "db1.production.example.com", "staging": "db1.staging.example.com"}


def resolved(environment):
    """The variables as a play on the inventory's database host sees them (ansible.builtin.debug
    runs on the controller: nothing connects)."""
    password_file = os.path.join(REPO, "tests", "integration", "files", "example-vault-password")
    expr = '{{ {"url": app_secrets.DATABASE_URL, "app": postgres_initial_user_password, "dump": backups_passphrase} | to_json }}'
    res = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible"), "-i", "inventories/" + environment, HOSTS[environment],
                          "-m", "ansible.builtin.debug", "-a", "msg=" + expr, "--vault-password-file", password_file, "-o"],
                         cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg")),
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(json.loads(res.stdout.split("=>", 1)[1])["msg"])


@pytest.mark.parametrize("environment", sorted(HOSTS))
def test_secrets_with_template_markers_arrive_byte_exact(environment):
    values = resolved(environment)
    assert values["app"] == "example-%s-app-Zt4p{{W8@x:R/#?" % environment
    assert values["dump"] == "example-%s-dump-passphrase-{%%x%%}-7Rk" % environment
    url = urllib.parse.urlsplit(values["url"])
    assert urllib.parse.unquote(url.password) == values["app"] and url.hostname == "launchbay_postgres"
