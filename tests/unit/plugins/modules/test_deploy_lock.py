"""The deploy_lock module run as Ansible runs it: a process with an arguments file."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
MODULE = os.path.join(REPO, "plugins", "modules", "deploy_lock.py")


def run(tmp_path, **args):
    args.setdefault("path", str(tmp_path / "locks"))
    argsfile = tmp_path / "args.json"
    argsfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".collections"))
    res = subprocess.run([sys.executable, MODULE, str(argsfile)], capture_output=True, text=True, env=env, timeout=60, check=False)
    return json.loads(res.stdout)


def test_acquire_then_second_run_refused_then_release(tmp_path):
    first = run(tmp_path, name="production", owner="alice", token="r1", reason="deploy v2")
    assert first["changed"] and first["lock"]["owner"] == "alice" and "token" not in first["lock"]
    again = run(tmp_path, name="production", owner="alice", token="r1")
    assert not again["changed"]
    refused = run(tmp_path, name="production", owner="bob", token="r2")
    assert refused["failed"] and "held by alice" in refused["msg"] and refused["lock"]["owner"] == "alice"
    released = run(tmp_path, name="production", token="r1", state="released")
    assert released["changed"] and not os.path.exists(tmp_path / "locks" / "production.lock")


def test_check_mode_and_diff(tmp_path):
    out = run(tmp_path, name="staging", owner="alice", _ansible_check_mode=True, _ansible_diff=True)
    assert out["changed"] and out["diff"]["after"]["owner"] == "alice" and out["diff"]["before"] == {}
    assert not os.path.exists(tmp_path / "locks" / "staging.lock")


def test_break(tmp_path):
    run(tmp_path, name="production", owner="alice", token="r1")
    out = run(tmp_path, name="production", state="broken")
    assert out["changed"] and out["lock"]["owner"] == "alice"
    assert not run(tmp_path, name="production", state="broken")["changed"]


@pytest.mark.parametrize("args, message", [({"ttl": 0}, "ttl must be at least 1"), ({"state": "taken"}, "value of state must be one of")])
def test_bad_arguments(tmp_path, args, message):
    out = run(tmp_path, name="production", **args)
    assert out["failed"] and message in out["msg"]
