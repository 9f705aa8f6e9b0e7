import json
import os

import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._release_ledger import LedgerError, ReleaseLedger


class Clock(object):
    now = 1000.0

    def __call__(self):
        self.now += 1
        return self.now


@pytest.fixture
def ledger(tmp_path):
    return ReleaseLedger(str(tmp_path / "releases"), "shop", clock=Clock())


def deploy(ledger, rid, image, result="success", keep=10):
    ledger.record({"id": rid, "image": image}, "in_progress", keep)
    return ledger.record({"id": rid}, result, keep)


def test_current_and_previous_successes(ledger):
    deploy(ledger, "r1", "shop:1")
    deploy(ledger, "r2", "shop:2")
    deploy(ledger, "r3", "shop:3", result="failed")
    releases = ledger.load()
    assert [r["id"] for r in releases] == ["r3", "r2", "r1"]
    summary = ReleaseLedger.summary(releases)
    assert summary["current"]["image"] == "shop:2" and summary["previous"]["image"] == "shop:1"
    assert releases[0]["result"] == "failed" and releases[0]["finished_at"] >= releases[0]["started_at"]


def test_recording_the_same_state_again_changes_nothing(ledger):
    deploy(ledger, "r1", "shop:1")
    assert ledger.record({"id": "r1", "image": None}, "success")[0] is False


def test_prune_keeps_current_and_previous_even_beyond_keep(ledger):
    deploy(ledger, "good-1", "shop:1")
    deploy(ledger, "good-2", "shop:2")
    for n in range(5):
        deploy(ledger, "bad-%d" % n, "shop:bad%d" % n, result="failed", keep=3)
    ids = [r["id"] for r in ledger.load()]
    assert ids == ["bad-4", "bad-3", "bad-2", "good-2", "good-1"]


def test_protected_images(ledger):
    for n in range(1, 5):
        deploy(ledger, "r%d" % n, "shop:%d" % n)
    ledger.record({"id": "r5", "image": "shop:5"}, "in_progress")
    releases = ledger.load()
    assert ReleaseLedger.protected_images(releases, keep=2) == ["shop:4", "shop:3", "shop:5"]
    assert ReleaseLedger.protected_images(releases, keep=3) == ["shop:4", "shop:3", "shop:2", "shop:5"]


def test_check_mode_writes_nothing(ledger):
    changed, releases = ledger.record({"id": "r1", "image": "shop:1"}, "success", check_mode=True)
    assert changed and releases[0]["id"] == "r1" and not os.path.exists(ledger.path)


def test_file_is_valid_json_and_replaced_atomically(ledger):
    deploy(ledger, "r1", "shop:1")
    with open(ledger.path, encoding="utf-8") as handle:
        assert json.load(handle)["releases"][0]["id"] == "r1"
    assert [n for n in os.listdir(ledger.directory) if n.startswith(".ledger-")] == []


@pytest.mark.parametrize(
    "release, result, keep, message",
    [
        ({"id": "r1"}, "done", 10, "result must be one of"),
        ({"image": "x"}, "success", 10, "needs an id"),
        ({"id": "r1", "colour": "red"}, "success", 10, "unknown release fields: colour"),
        ({"id": "r1"}, "success", 1, "keep must be at least 2"),
    ],
)
def test_bad_input(ledger, release, result, keep, message):
    with pytest.raises(LedgerError, match=message):
        ledger.record(release, result, keep)


def test_corrupt_file_is_reported_not_overwritten(ledger):
    os.makedirs(ledger.directory)
    with open(ledger.path, "w", encoding="utf-8") as handle:
        handle.write("{not json")
    with pytest.raises(LedgerError, match="not valid JSON"):
        ledger.record({"id": "r1"}, "success")
    with open(ledger.path, encoding="utf-8") as handle:
        assert handle.read() == "{not json"


def test_roll_back_to_marks_newer_releases_and_makes_the_target_current(tmp_path):
    from ansible_collections.launchbay.webstack.plugins.module_utils._release_ledger import ReleaseLedger as Ledger

    ledger = Ledger(str(tmp_path), "shop", clock=lambda: 100.0)
    for rid in ("r1", "r2", "r3"):
        ledger.record({"id": rid, "image": "shop:" + rid}, "success")
    changed, releases, target = ledger.roll_back_to("r1")
    assert changed and target["id"] == "r1"
    assert [(r["id"], r["result"]) for r in releases] == [("r3", "rolled_back"), ("r2", "rolled_back"), ("r1", "success")]
    assert Ledger.summary(ledger.load())["current"]["id"] == "r1"
    # again: nothing to do
    assert ledger.roll_back_to("r1")[0] is False
    # forward again to r3 (a rolled back release that served)
    changed, releases, _target = ledger.roll_back_to("r3")
    assert changed and Ledger.summary(releases)["current"]["id"] == "r3"


def test_roll_back_to_refuses_unknown_and_failed_releases(tmp_path):
    import pytest as _pytest
    from ansible_collections.launchbay.webstack.plugins.module_utils._release_ledger import LedgerError as Error
    from ansible_collections.launchbay.webstack.plugins.module_utils._release_ledger import ReleaseLedger as Ledger

    ledger = Ledger(str(tmp_path), "shop")
    ledger.record({"id": "ok"}, "success")
    ledger.record({"id": "bad"}, "failed")
    with _pytest.raises(Error, match="no release 'nope'"):
        ledger.roll_back_to("nope")
    with _pytest.raises(Error, match="did not succeed"):
        ledger.roll_back_to("bad")
