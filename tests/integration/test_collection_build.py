"""The collection builds into a tarball that works from a clean collections path."""

import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest

from conftest import REPO

VENV_BIN = os.path.dirname(shutil.which("ansible-galaxy") or "/usr/bin/ansible-galaxy")


def run(cmd, cwd, env):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("build")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    (work / "ansible.cfg").write_text("[defaults]\n")
    env["ANSIBLE_CONFIG"] = str(work / "ansible.cfg")  # not the checkout's ansible.cfg
    built = run(["ansible-galaxy", "collection", "build", REPO, "--output-path", str(work)], cwd=str(work), env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    tarballs = list(work.glob("launchbay-webstack-*.tar.gz"))
    assert len(tarballs) == 1
    dest = work / "collections"
    # no Galaxy server here: the dependencies come from the pinned ansible bundle
    inst = run(["ansible-galaxy", "collection", "install", "--no-deps", "-p", str(dest), str(tarballs[0])], cwd=str(work), env=env)
    assert inst.returncode == 0, inst.stdout + inst.stderr
    site = subprocess.run(
        [sys.executable, "-c", "import ansible_collections, os; print(os.path.dirname(ansible_collections.__path__[-1]))"],
        capture_output=True, text=True, check=True, env=env,
    ).stdout.strip()
    env["ANSIBLE_COLLECTIONS_PATH"] = "%s:%s" % (dest, site)
    return {"tarball": tarballs[0], "dest": dest, "env": env, "work": work}


# What the tarball holds at its top level: the collection, nothing of the repository around it.
COLLECTION_TOP = {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "LICENSE", "changelogs", "docs",
                  "meta", "playbooks", "plugins", "roles", "requirements.txt", "bindep.txt"}


def test_tarball_holds_the_collection_only(installed):
    with tarfile.open(installed["tarball"]) as tar:
        names = [n[2:] if n.startswith("./") else n for n in tar.getnames()]
    for must in ("MANIFEST.json", "LICENSE", "roles/run/meta/argument_specs.yml", "roles/restore/tasks/main.yml",
                 "plugins/modules/app_release.py", "plugins/filter/redact_url.py", "playbooks/deploy.yml",
                 "changelogs/changelog.yaml", "requirements.txt", "bindep.txt"):
        assert must in names, must
    top = set(n.split("/")[0] for n in names if n)
    assert top == COLLECTION_TOP, "unexpected: %s, missing: %s" % (sorted(top - COLLECTION_TOP), sorted(COLLECTION_TOP - top))
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def _used_collections():
    """Collections named by an FQCN in what the tarball ships (roles, playbooks, plugins)."""
    used = set()
    pattern = re.compile(r"\b(amazon|ansible|community|containers)\.([a-z_]+)\.[a-z_]+")
    for top in ("roles", "playbooks", "plugins"):
        for dirpath, _dirs, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if not name.endswith((".yml", ".yaml", ".py", ".j2")):
                    continue
                with open(os.path.join(dirpath, name), encoding="utf-8") as handle:
                    for match in pattern.finditer(handle.read()):
                        used.add("%s.%s" % match.groups())
    return set(name for name in used if not name.startswith("ansible."))


def test_galaxy_dependencies_are_exactly_what_runs():
    import yaml

    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        declared = set(yaml.safe_load(handle)["dependencies"])
    assert declared == _used_collections()


def test_installed_collection_resolves_by_fqcn(installed):
    env, work = installed["env"], str(installed["work"])
    roles = run(["ansible-doc", "-t", "role", "-l", "launchbay.webstack"], cwd=work, env=env)
    assert roles.returncode == 0, roles.stderr
    for role in ("docker_host", "postgres", "app"):
        assert "launchbay.webstack.%s" % role in roles.stdout
    for name in ("mask_secret", "redact_url", "redact_mapping"):
        doc = run(["ansible-doc", "-t", "filter", "launchbay.webstack." + name], cwd=work, env=env)
        assert doc.returncode == 0 and str(installed["dest"]) in doc.stdout, doc.stdout + doc.stderr


def run_playbook(installed, tmp_path, text):
    """Run a playbook on this machine against the installed collection."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(text)
    return run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
        cwd=str(tmp_path), env=installed["env"],
    )


def test_installed_collection_runs_a_playbook(installed, tmp_path):
    res = run_playbook(installed, tmp_path, (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.assert:\n        that:\n"
        "          - \"'postgresql://a:pw@db/x' | launchbay.webstack.redact_url == 'postgresql://a:********@db/x'\"\n"
        "    - ansible.builtin.include_role:\n        name: launchbay.webstack.docker_host\n"
        "      vars:\n        docker_host_log_max_file: not-a-number\n"
    ))
    # the filter ran from the installed copy, and the role's argument spec stopped it before any change
    assert "docker_host_log_max_file" in res.stdout + res.stderr
    assert res.returncode != 0
    assert re.search(r"TASK \[ansible.builtin.assert\][^\n]*\nok: \[localhost\]", res.stdout), res.stdout
    assert re.search(r"changed=0\s+unreachable=0\s+failed=1", res.stdout), res.stdout
    assert str(installed["dest"]) in run(
        ["ansible-doc", "-t", "role", "launchbay.webstack.docker_host"], cwd=str(tmp_path), env=installed["env"]
    ).stdout


def test_module_defaults_group_reaches_the_docker_modules(installed, tmp_path):
    """group/launchbay.webstack.docker sets docker_host for the Docker modules (meta/runtime.yml)."""
    res = run_playbook(installed, tmp_path, (
        "- hosts: localhost\n  gather_facts: false\n"
        "  module_defaults:\n    group/launchbay.webstack.docker:\n      docker_host: tcp://127.0.0.1:2375\n"
        "  tasks:\n    - launchbay.webstack.health_wait:\n        containers: [nothing]\n        timeout: 1\n"
    ))
    assert res.returncode != 0 and "docker_host must be unix://" in res.stdout and "tcp://127.0.0.1:2375" in res.stdout, res.stdout
