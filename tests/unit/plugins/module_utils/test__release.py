"""The release state machine, transition by transition, with a real ledger on disk and a
scripted rolling update in place of Docker."""

import json

import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._release import Release, ReleaseError
from ansible_collections.launchbay.webstack.plugins.module_utils._release_ledger import ReleaseLedger
from ansible_collections.launchbay.webstack.plugins.module_utils._rolling_update import RolloutError


class FakeHost(object):
    """What runs on the host: the image (by ID) and settings of the replicas, the tags (each
    tag's ID is sha256:<tag> until it is moved), and scripted failures. `running` is the
    running image's tag name."""

    def __init__(self):
        self.running_id = None
        self.settings = None
        self.tags = {}
        self.fail_images = set()
        self.missing_images = set()
        self.rollouts = []

    @property
    def running(self):
        return self.running_id[len("sha256:"):] if self.running_id else None

    @running.setter
    def running(self, tag):
        self.running_id = "sha256:" + tag

    def resolve(self, ref):
        return ref if ref.startswith("sha256:") else self.tags.get(ref, "sha256:" + ref)

    def rollout(self, image, check_mode, settings=None):
        return FakeRollout(self, image, check_mode, settings)


class FakeRollout(object):
    def __init__(self, host, image, check_mode, settings):
        self.host, self.image, self.check_mode, self.settings, self.events = host, image, check_mode, settings, []

    def run(self):
        image_id = self.host.resolve(self.image)
        name = image_id[len("sha256:"):]
        if name in self.host.missing_images:
            raise RolloutError("the image %s is not on this host" % self.image)
        changed = self.host.running_id != image_id or self.host.settings != self.settings
        config_hash = "h-" + name + ("" if self.settings is None else "-" + json.dumps(self.settings, sort_keys=True))
        result = {"changed": changed, "image_id": image_id, "config_hash": config_hash, "replicas": [],
                  "before": {"image": [self.host.running] if self.host.running else [], "replicas": []},
                  "after": {"image": [self.image], "replicas": ["(new 1)"] if changed else []}}
        if self.check_mode or not changed:
            return result
        self.host.rollouts.append(name)
        if name in self.host.fail_images:
            self.events.append("started %s-1" % name)
            raise RolloutError("the new replicas did not become healthy", {"%s-1" % name: {"health": "unhealthy"}})
        self.host.running_id, self.host.settings = image_id, self.settings
        self.events.append("rolled over to %s" % name)
        return dict(result, replicas=["%s-1" % name])


@pytest.fixture
def host():
    return FakeHost()


@pytest.fixture
def ledger(tmp_path):
    return ReleaseLedger(str(tmp_path), "shop")


def release(ledger, host, check_mode=False):
    return Release(ledger, host.rollout, keep=10, check_mode=check_mode)


def deploy(ledger, host, rid, image, schema=None, settings=None):
    record = {"id": rid, "deployed_by": "tester"}
    if schema:
        record["migration_version"] = schema
    return release(ledger, host).deploy(image, record, settings)


def results(ledger):
    return [(r["id"], r["result"]) for r in ledger.load()]


def test_first_deploy_records_success_with_image_digest_and_hash(ledger, host):
    out = deploy(ledger, host, "r1", "shop:1")
    assert out["changed"] and out["rolled_out"] and out["before"] is None and not out["up_to_date"]
    assert results(ledger) == [("r1", "success")]
    entry = ledger.load()[0]
    assert (entry["image"], entry["digest"], entry["config_hash"], entry["deployed_by"]) == ("shop:1", "sha256:shop:1", "h-shop:1", "tester")
    assert host.running == "shop:1"


def test_same_release_again_changes_nothing(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    out = deploy(ledger, host, "r2", "shop:1")
    assert not out["changed"] and not out["rolled_out"] and out["release"]["id"] == "r1" and out["up_to_date"]
    assert results(ledger) == [("r1", "success")] and host.rollouts == ["shop:1"]


def test_the_plan_in_check_mode_says_whether_a_host_is_up_to_date(ledger, host):
    # the deploy playbook's plan: a host whose replicas run the release is skipped
    deploy(ledger, host, "r1", "shop:1")
    assert release(ledger, host, check_mode=True).deploy("shop:1", {"id": "r2"})["up_to_date"]
    assert not release(ledger, host, check_mode=True).deploy("shop:2", {"id": "r2"})["up_to_date"]
    host.running_id = None  # the replicas are gone: a rollout is needed, whatever the ledger says
    assert not release(ledger, host, check_mode=True).deploy("shop:1", {"id": "r2"})["up_to_date"]


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
    assert out["changed"] and not out["rolled_out"] and out["release"]["image"] == "shop:2" and not out["up_to_date"]
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
    assert not out["changed"] and out["up_to_date"] and host.rollouts == ["shop:1", "shop:2", "shop:1"]


def test_check_mode_rollback_writes_nothing(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    deploy(ledger, host, "r2", "shop:2")
    out = release(ledger, host, check_mode=True).rollback()
    assert out["changed"] and not out["rolled_out"] and host.running == "shop:2"
    assert results(ledger) == [("r2", "success"), ("r1", "success")]


V1 = {"env": {"GREETING": "hello"}, "volumes": ["/etc/launchbay/apps/shop/secrets/aaaa:/run/secrets:ro"],
      "healthcheck": {"test": ["CMD", "check-v1"]}}
V2 = {"env": {"GREETING": "hi", "NEW_ONLY": "1"}, "volumes": ["/etc/launchbay/apps/shop/secrets/bbbb:/run/secrets:ro"],
      "healthcheck": {"test": ["CMD", "check-v2"]}}


class SettingsHost(FakeHost):
    """Today's settings are V2 (the inventory changed); a rollout without recorded settings runs them."""

    def rollout(self, image, check_mode, settings=None):
        return FakeRollout(self, image, check_mode, V2 if settings is None else settings)


def test_a_release_records_its_settings_and_rollback_recreates_exactly_it(ledger):
    host = SettingsHost()
    deploy(ledger, host, "r1", "shop:1", settings=V1)
    assert ledger.load()[0]["settings"] == V1
    deploy(ledger, host, "r2", "shop:2", settings=V2)
    out = release(ledger, host).rollback()
    assert out["settings"] == "recorded" and host.running == "shop:1" and host.settings == V1
    assert results(ledger) == [("r2", "rolled_back"), ("r1", "success")]


def test_rollback_with_todays_settings_when_asked(ledger):
    host = SettingsHost()
    deploy(ledger, host, "r1", "shop:1", settings=V1)
    deploy(ledger, host, "r2", "shop:2", settings=V2)
    out = release(ledger, host).rollback(current_settings=True)
    assert out["settings"] == "current" and host.running == "shop:1" and host.settings == V2


def test_rollback_to_a_moved_tag_returns_the_old_image_by_id(ledger, host):
    deploy(ledger, host, "r1", "shop:latest")
    host.tags["shop:latest"] = "sha256:newer-build"  # `latest` moved on
    deploy(ledger, host, "r2", "shop:latest")
    assert host.running_id == "sha256:newer-build" and results(ledger) == [("r2", "success"), ("r1", "success")]
    out = release(ledger, host).rollback()
    assert out["rolled_out"] and host.running_id == "sha256:shop:latest", "not a silent no-op"
    assert results(ledger) == [("r2", "rolled_back"), ("r1", "success")]


def test_a_run_that_died_after_its_rollout_is_repaired_by_the_next(ledger, host):
    deploy(ledger, host, "r1", "shop:1")
    # r2 rolled out, then the controller died before the ledger said success
    ledger.record({"id": "r2", "image": "shop:2", "digest": "sha256:shop:2", "config_hash": "h-shop:2"}, "in_progress")
    host.running = "shop:2"
    out = deploy(ledger, host, "r3", "shop:2")
    assert out["changed"] and out["repaired"] and not out["rolled_out"] and out["release"]["id"] == "r2"
    assert not out["up_to_date"]
    assert results(ledger) == [("r2", "success"), ("r1", "success")] and host.rollouts == ["shop:1"]
    assert not deploy(ledger, host, "r4", "shop:2")["changed"]
