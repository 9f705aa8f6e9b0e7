"""The release_ledger module run as Ansible runs it."""

import pytest


@pytest.fixture
def run(tmp_path, run_module):
    def call(**args):
        args.setdefault("path", str(tmp_path / "releases"))
        return run_module("release_ledger", args)

    return call


def test_record_and_query(run):
    run(app="shop", release={"id": "r1", "image": "shop:1", "deployed_by": "alice"}, result="success")
    out = run(app="shop", release={"id": "r2", "image": "shop:2"}, result="success")
    assert out["changed"] and out["current"]["id"] == "r2" and out["previous"]["id"] == "r1"
    query = run(app="shop", state="query")
    assert not query["changed"] and query["previous"]["deployed_by"] == "alice"
    assert query["protected_images"] == ["shop:2", "shop:1"]


def test_check_mode_and_diff(run):
    out = run(app="shop", release={"id": "r1", "image": "shop:1"}, _ansible_check_mode=True, _ansible_diff=True)
    assert out["changed"] and out["diff"]["before"] == {"releases": []}
    assert run(app="shop", state="query")["releases"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        ({"app": "shop"}, "state is present but all of the following are missing: release"),
        ({"app": "../x", "state": "query"}, "invalid app name"),
        ({"app": "shop", "release": {"id": "r1"}, "keep": 1}, "keep must be at least 2"),
    ],
)
def test_bad_arguments(run, args, message):
    out = run(**args)
    assert out["failed"] and message in out["msg"]
