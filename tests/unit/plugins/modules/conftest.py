"""Run a module of this collection as Ansible runs it: a process with an arguments file."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))


@pytest.fixture
def run_module(tmp_path):
    def run(module, args):
        argsfile = tmp_path / ("args-%s.json" % module)
        argsfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".collections"))
        res = subprocess.run(
            [sys.executable, os.path.join(REPO, "plugins", "modules", module + ".py"), str(argsfile)],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )
        return json.loads(res.stdout)

    return run
