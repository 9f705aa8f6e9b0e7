"""The release state machine, transition by transition, with a real ledger on disk and a
scripted rolling update in place of Docker."""

import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._release import Release, ReleaseError
from ansible_collections.launchbay.webstack.plugins.module_utils._release_ledger import ReleaseLedger
from ansible_collections.launchbay.webstack.plugins.module_utils._rolling_update import RolloutError


class FakeHost(object):
    """What runs on the host: the image the replicas run, and scripted failures."""

    def __init__(self):
        self.running = None
        self.fail_images = set()
        self.missing_images = set()
        self.rollouts = []

    def rollout(self, image, check_mode):
        return FakeRollout(self, image, check_mode)


class FakeRollout(object):
    def __init__(self, host, image, check_mode):
        self.host, self.image, self.check_mode, self.events = host, image, check_mode, []

    def run(self):
        if self.image in self.host.missing_images:
            raise RolloutError("the image %s is not on this host" % self.image)
        changed = self.host.running != self.image
        result = {"changed": changed, "image_id": "sha256:" + self.image, "config_hash": "h-" + self.image, "replicas": [],
                  "before": {"image": [self.host.running] if self.host.running else [], "replicas": []},
                  "after": {"image": [self.image], "replicas": ["(new 1)"] if changed else []}}
        if self.check_mode or not changed:
            return result
        self.host.rollouts.append(self.image)
        if self.image in self.host.fail_images:
            self.events.append("started %s-1" % self.image)
            raise RolloutError("the new replicas did not become healthy", {"%s-1" % self.image: {"health": "unhealthy"}})
        self.host.running = self.image
        self.events.append("rolled over to %s" % self.image)
        return dict(result, replicas=["%s-1" % self.image])


@pytest.fixture
def host():
    return FakeHost()


@pytest.fixture
def ledger(tmp_path):
    return ReleaseLedger(str(tmp_path), "shop")


def release(ledger, host, check_mode=False):
    return Release(ledger, host.rollout, keep=10, check_mode=check_mode)


def deploy(ledger, host, rid, image, schema=None):
    record = {"id": rid, "deployed_by": "tester"}
    if schema:
        record["migration_version"] = schema
    return release(ledger, host).deploy(image, record)


def results(ledger):
    return [(r["id"], r["result"]) for r in ledger.load()]


def test_first_deploy_records_success_with_image_digest_and_hash(ledger, host):
    out = deploy(ledger, host, "r1", "shop:1")
    assert out["changed"] and out["rolled_out"] and out["before"] is None
    assert results(ledger) == [("r1", "success")]
    entry = ledger.load()[0]
    assert (entry["image"], entry["digest"], entry["config_hash"], entry["deployed_by"]) == ("shop:1", "sha256:shop:1", "h-shop:1", "tester")
    assert host.running == "shop:1"


def test_same_release_again_changes_nothing(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    out = deploy(ledger, host, "r2", "shop:1")
    assert not out["changed"] and not out["rolled_out"] and out["release"]["id"] == "r1"
    assert results(ledger) == [("r1", "success")] and host.rollouts == ["shop:1"]


def test_replicas_without_a_ledger_record_the_release(ledger, host):
    host.running = "shop:1"  # the ledger was lost, the replicas are right
    out = deploy(ledger, host, "r1", "shop:1")
    assert out["changed"] and results(ledger) == [("r1", "success")] and host.rollouts == []


def test_failed_rollout_is_recorded_failed_and_the_previous_stays_current(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    host.fail_images.add("shop:2")
    with pytest.raises(ReleaseError) as err:
        deploy(ledger, host, "r2", "shop:2")
    assert "the rollout of shop:2 failed and was undone" in str(err.value)
    assert err.value.states and err.value.events == ["started shop:2-1"]
    assert results(ledger) == [("r2", "failed"), ("r1", "success")]
    assert ReleaseLedger.summary(ledger.load())["current"]["id"] == "r1"


def test_check_mode_deploy_writes_nothing(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    out = release(ledger, host, check_mode=True).deploy("shop:2", {"id": "r2"})
    assert out["changed"] and not out["rolled_out"] and out["release"]["image"] == "shop:2"
    # the diff --diff shows: the rollout's image and replicas, and the release ids
    assert out["diff"]["before"] == {"image": ["shop:1"], "replicas": []}
    assert out["diff"]["after"] == {"image": ["shop:2"], "replicas": ["(new 1)"]}
    assert (out["diff"]["before_header"], out["diff"]["after_header"]) == ("release r1", "release r2")
    assert results(ledger) == [("r1", "success")] and host.running == "shop:1"


def test_deploy_reports_the_release_before(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    out = deploy(ledger, host, "r2", "shop:2")
    assert out["before"]["id"] == "r1" and out["release"]["id"] == "r2"


def test_rollback_to_previous_marks_newer_rolled_back(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    deploy(ledger, host, "r2", "shop:2")
    out = release(ledger, host).rollback()
    assert out["target"]["id"] == "r1" and out["rolled_out"] and host.running == "shop:1"
    assert results(ledger) == [("r2", "rolled_back"), ("r1", "success")]


def test_rollback_to_a_named_release(ledger, host):
    for n in (1, 2, 3):
        deploy(ledger, host, "r%d" % n, "shop:%d" % n)
    out = release(ledger, host).rollback("r1")
    assert out["target"]["id"] == "r1" and host.running == "shop:1"
    assert results(ledger) == [("r3", "rolled_back"), ("r2", "rolled_back"), ("r1", "success")]


def test_rollback_with_nothing_to_return_to_names_the_releases(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    with pytest.raises(ReleaseError) as err:
        release(ledger, host).rollback()
    assert "no previous successful release" in str(err.value) and "r1 success" in str(err.value)


def test_rollback_to_a_failed_release_is_refused(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    host.fail_images.add("shop:2")
    with pytest.raises(ReleaseError):
        deploy(ledger, host, "r2", "shop:2")
    with pytest.raises(ReleaseError) as err:
        release(ledger, host).rollback("r2")
    assert "no release r2 that served" in str(err.value)
    assert host.running == "shop:1"


def test_rollback_below_the_schema_is_refused_unless_allowed(ledger, host):
    deploy(ledger, host, "r1", "shop:1", schema="1")
    deploy(ledger, host, "r2", "shop:2", schema="2")
    with pytest.raises(ReleaseError) as err:
        release(ledger, host).rollback()
    assert "expects schema version 1, but the database was migrated to 2 by r2" in str(err.value)
    assert host.running == "shop:2" and results(ledger)[0] == ("r2", "success")
    out = release(ledger, host).rollback(allow_schema_downgrade=True)
    assert out["target"]["id"] == "r1" and host.running == "shop:1"


def test_failed_rollback_leaves_the_ledger_alone(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    deploy(ledger, host, "r2", "shop:2")
    host.running = "shop:2"
    host.fail_images.add("shop:1")
    with pytest.raises(ReleaseError):
        release(ledger, host).rollback()
    assert results(ledger) == [("r2", "success"), ("r1", "success")]


def test_rollback_to_a_missing_image_fails_before_anything_changes(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    deploy(ledger, host, "r2", "shop:2")
    host.missing_images.add("shop:1")
    with pytest.raises(ReleaseError) as err:
        release(ledger, host).rollback()
    assert "not on this host" in str(err.value) and host.rollouts == ["shop:1", "shop:2"]


def test_rollback_already_done_changes_nothing(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    deploy(ledger, host, "r2", "shop:2")
    release(ledger, host).rollback()
    out = release(ledger, host).rollback("r1")
    assert not out["changed"] and host.rollouts == ["shop:1", "shop:2", "shop:1"]


def test_check_mode_rollback_writes_nothing(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    deploy(ledger, host, "r2", "shop:2")
    out = release(ledger, host, check_mode=True).rollback()
    assert out["changed"] and not out["rolled_out"] and host.running == "shop:2"
    assert results(ledger) == [("r2", "success"), ("r1", "success")]
