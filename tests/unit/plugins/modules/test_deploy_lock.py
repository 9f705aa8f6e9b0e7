"""The deploy_lock module run as Ansible runs it: a process with an arguments file."""

import os

import pytest


@pytest.fixture
def run(tmp_path, run_module):
    def call(**args):
        args.setdefault("path", str(tmp_path / "locks"))
        return run_module("deploy_lock", args)

    return call


def test_acquire_then_second_run_refused_then_release(tmp_path, run):
    first = run(name="production", owner="alice", token="r1", reason="deploy v2")
    assert first["changed"] and first["lock"]["owner"] == "alice" and "token" not in first["lock"]
    again = run(name="production", owner="alice", token="r1")
    assert not again["changed"]
    refused = run(name="production", owner="bob", token="r2")
    assert refused["failed"] and "held by alice" in refused["msg"] and refused["lock"]["owner"] == "alice"
    released = run(name="production", token="r1", state="released")
    assert released["changed"] and not os.path.exists(tmp_path / "locks" / "production.lock")


def test_check_mode_and_diff(tmp_path, run):
    out = run(name="staging", owner="alice", _ansible_check_mode=True, _ansible_diff=True)
    assert out["changed"] and out["diff"]["after"]["owner"] == "alice" and out["diff"]["before"] == {}
    assert not os.path.exists(tmp_path / "locks" / "staging.lock")


def test_break(run):
    run(name="production", owner="alice", token="r1")
    out = run(name="production", state="broken")
    assert out["changed"] and out["lock"]["owner"] == "alice"
    assert not run(name="production", state="broken")["changed"]


@pytest.mark.parametrize("args, message", [({"ttl": 0}, "ttl must be at least 1"), ({"state": "taken"}, "value of state must be one of")])
def test_bad_arguments(run, args, message):
    out = run(name="production", **args)
    assert out["failed"] and message in out["msg"]


def test_renew_by_the_holder_only(run):
    run(name="production", owner="alice", token="r1")
    renewed = run(name="production", token="r1", state="renewed")
    assert renewed["changed"] and renewed["lock"]["renewed_at"] >= renewed["lock"]["acquired_at"]
    lost = run(name="production", token="r2", state="renewed")
    assert lost["failed"] and "no longer holds" in lost["msg"] and lost["lock"]["owner"] == "alice"
