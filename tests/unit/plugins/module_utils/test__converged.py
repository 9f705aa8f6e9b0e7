import json
import os

from ansible_collections.launchbay.webstack.plugins.module_utils._converged import ConvergedRecord
from ansible_collections.launchbay.webstack.plugins.module_utils._docker_api import DockerError
from ansible_collections.launchbay.webstack.tests.unit.fake_clock import Clock


class FakeDocker(object):
    def __init__(self):
        self.containers = {"db": {"Id": "c1", "State": {"Running": True}}}
        self.networks = {"net": {"Id": "n1"}}
        self.down = False

    def inspect(self, name):
        if self.down:
            raise DockerError("Docker API GET /containers/db/json failed: connection refused")
        return self.containers.get(name)

    def network(self, name):
        return self.networks.get(name)


def setup(tmp_path):
    managed = tmp_path / "pg_hba.conf"
    managed.write_text("host all all 10.0.0.0/8 scram-sha-256\n")
    os.chmod(managed, 0o644)
    docker, clock = FakeDocker(), Clock(1000000.0)
    records = ConvergedRecord(str(tmp_path / "records"), docker, now=clock)
    resources = dict(files=[str(managed)], containers=["db"], networks=["net"])
    inputs = {"code:postgres": "aa", "postgres_image": "bb", "postgres_superuser_password": "cc"}
    records.record("postgres", inputs, **resources)
    return records, resources, inputs, managed, docker, clock


def test_nothing_changed_is_converged(tmp_path):
    records, resources, inputs, _managed, _docker, _clock = setup(tmp_path)
    assert records.check("postgres", inputs, **resources) == (True, "")


def test_no_record_or_a_torn_one_runs_in_full(tmp_path):
    records, resources, inputs, _managed, _docker, _clock = setup(tmp_path)
    assert records.check("traefik", inputs, **resources) == (False, "no record of a full run on this host")
    with open(records.path("postgres"), "w", encoding="utf-8") as handle:
        handle.write('{"recorded_at": 1')
    assert records.check("postgres", inputs, **resources) == (False, "the record of the last full run cannot be read")


def test_a_changed_input_is_named_and_its_value_never_stored(tmp_path):
    records, resources, inputs, _managed, _docker, _clock = setup(tmp_path)
    changed = dict(inputs, postgres_image="dd")
    assert records.check("postgres", changed, **resources) == (False, "changed since the last full run: postgres_image")
    added = dict(inputs, postgres_port="ee")
    assert records.check("postgres", added, **resources) == (False, "changed since the last full run: postgres_port")
    stored = open(records.path("postgres"), encoding="utf-8").read()
    assert '"cc"' not in stored and oct(os.stat(records.path("postgres")).st_mode & 0o777) == "0o600"
    assert oct(os.stat(os.path.join(records.directory, ".key")).st_mode & 0o777) == "0o600"


def test_the_digests_are_keyed_per_host(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, _resources, inputs, _managed, _docker, _clock = setup(tmp_path / "a")
    two, _resources, _inputs, _managed, _docker, _clock = setup(tmp_path / "b")
    first = json.load(open(one.path("postgres"), encoding="utf-8"))["inputs"]
    second = json.load(open(two.path("postgres"), encoding="utf-8"))["inputs"]
    assert first.keys() == second.keys() == inputs.keys() and first != second


def test_a_file_edited_or_chmoded_by_hand_is_seen(tmp_path):
    records, resources, inputs, managed, _docker, _clock = setup(tmp_path)
    os.chmod(managed, 0o600)
    converged, why = records.check("postgres", inputs, **resources)
    assert not converged and why.startswith("file %s changed since the last full run (" % managed) and "mode 0600" in why
    os.chmod(managed, 0o644)
    managed.write_text("host all all 0.0.0.0/0 trust\n")
    assert not records.check("postgres", inputs, **resources)[0]
    managed.unlink()
    assert "absent" in records.check("postgres", inputs, **resources)[1]


def test_a_container_stopped_or_recreated_and_a_network_recreated_are_seen(tmp_path):
    records, resources, inputs, _managed, docker, _clock = setup(tmp_path)
    docker.containers["db"]["State"]["Running"] = False
    assert records.check("postgres", inputs, **resources) == (
        False, "container db changed since the last full run (id c1, stopped, was id c1, running)")
    docker.containers["db"] = {"Id": "c2", "State": {"Running": True}}
    assert not records.check("postgres", inputs, **resources)[0]
    docker.containers["db"] = {"Id": "c1", "State": {"Running": True}}
    docker.networks["net"] = {"Id": "n2"}
    assert records.check("postgres", inputs, **resources)[1] == "network net changed since the last full run (id n2, was id n1)"


def test_an_engine_that_does_not_answer_means_a_full_run(tmp_path):
    records, resources, inputs, _managed, docker, _clock = setup(tmp_path)
    docker.down = True
    converged, why = records.check("postgres", inputs, **resources)
    assert not converged and why.startswith("the Docker engine cannot tell: ")


def test_a_record_older_than_max_age_is_not_trusted_and_forget_removes_it(tmp_path):
    records, resources, inputs, _managed, _docker, clock = setup(tmp_path)
    clock.now += 86400 + 1
    assert records.check("postgres", inputs, max_age=86400, **resources) == (
        False, "the record of the last full run is 24 hours old (at most 24)")
    assert records.forget("postgres") and not records.forget("postgres")
    assert records.check("postgres", inputs, **resources)[1] == "no record of a full run on this host"


def test_a_resource_not_in_the_record_means_a_full_run(tmp_path):
    records, resources, inputs, managed, _docker, _clock = setup(tmp_path)
    more = resources["files"] + [str(managed) + ".new"]
    others = dict((kind, resources[kind]) for kind in ("containers", "networks"))
    assert records.check("postgres", inputs, files=more, **others) == (False, "file %s.new is not in the record" % managed)
