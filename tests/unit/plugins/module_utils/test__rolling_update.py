"""The rolling update's order of operations and its undo, against an in-memory Docker engine
and an in-memory Traefik (the real ones are exercised by the integration tests and Molecule).
Over 300 lines: the fakes and the cases of one module, kept together."""

import json
import threading

import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._rolling_update import (
    LABEL_HASH,
    RolloutError,
    RollingUpdate,
    Spec,
    TraefikRotation,
    available_memory,
    failure_message,
    parse_bytes,
    parse_duration,
    surge_size,
)
from ansible_collections.launchbay.webstack.tests.unit.fake_clock import Clock


def locked(method):
    def call(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return call


class FakeDocker(object):
    """Containers become healthy `ticks` inspections after start, unless their image is in `broken`."""

    def __init__(self, log, broken=(), ticks=2):
        self.lock = threading.RLock()  # the rollout starts and stops replicas in parallel threads
        self.containers_by_name = {}
        self.images = {"shop:1": {"Id": "sha256:one"}, "shop:2": {"Id": "sha256:two"}, "shop:bad": {"Id": "sha256:bad"}}
        self.broken = set(broken)
        self.ticks = ticks
        self.log = log
        self.counter = 0

    def image(self, name):
        return self.images.get(name)

    @locked
    def containers(self, labels):
        return [{"Id": c["Id"]} for c in self.containers_by_name.values()
                if all(c["Config"]["Labels"].get(k) == v for k, v in labels.items())]

    @locked
    def _find(self, ident):
        for c in self.containers_by_name.values():
            if ident in (c["Id"], c["Name"].lstrip("/")):
                return c
        return None

    @locked
    def inspect(self, ident):
        c = self._find(ident)
        if c is None:
            return None
        if c["State"]["Status"] == "running" and c["_image"] not in self.broken:
            c["_polls"] += 1
            if c["_polls"] >= self.ticks:
                c["State"]["Health"]["Status"] = "healthy"
        elif c["State"]["Status"] == "running":
            c["_polls"] += 1
            if c["_polls"] >= self.ticks:
                c["State"]["Health"] = {"Status": "unhealthy", "Log": [{"Output": "HTTP 503 selftest failing"}]}
        return json.loads(json.dumps(dict((k, v) for k, v in c.items() if not k.startswith("_"))))

    @locked
    def create(self, name, config):
        self.counter += 1
        ident = "id%d" % self.counter
        self.containers_by_name[name] = {
            "Id": ident, "Name": "/" + name, "Config": {"Labels": config["Labels"], "Image": config["Image"]},
            "HostConfig": config["HostConfig"], "State": {"Status": "created", "Health": {"Status": "starting"}},
            "RestartCount": 0, "_image": config["Image"], "_polls": 0, "_config": config,
        }
        self.log.append(("create", name))
        return ident

    @locked
    def connect(self, network, ident, aliases=None):
        self.log.append(("connect", self._find(ident)["Name"].lstrip("/"), network))

    @locked
    def start(self, ident):
        c = self._find(ident)
        c["State"] = {"Status": "running", "Health": {"Status": "starting"}}
        c["_polls"] = 0
        self.log.append(("start", c["Name"].lstrip("/")))

    @locked
    def stop(self, ident, timeout):
        c = self._find(ident)
        c["State"] = {"Status": "exited", "ExitCode": 0}
        self.log.append(("stop", c["Name"].lstrip("/"), timeout))

    @locked
    def remove(self, ident):
        c = self._find(ident)
        if c is not None:
            del self.containers_by_name[c["Name"].lstrip("/")]
            self.log.append(("remove", c["Name"].lstrip("/")))

    def logs(self, ident, tail=20):
        return "last words of %s" % ident


class FakeTraefik(object):
    """Traefik's API: serves whatever the rotation file says (as if reloaded at once); the
    servers whose URL holds a name in `down` fail its health check."""

    def __init__(self, path, log):
        self.path = path
        self.log = log
        self.down = set()

    def __call__(self, url, headers=None):
        try:
            text = open(self.path).read()
        except FileNotFoundError:
            return None
        doc = json.loads(text.split("\n", 1)[1])
        servers = doc["http"]["services"]["shop"]["loadBalancer"]["servers"]
        return {"loadBalancer": {"servers": servers}, "serverStatus": dict(
            (s["url"], "DOWN" if any(name in s["url"] for name in self.down) else "UP") for s in servers)}


def spec(image="shop:1", **extra):
    return Spec("shop", image=image, env={"A": "1"}, networks=["public", "internal"], stop_timeout=25, port=8000,
                healthcheck={"test": ["CMD", "true"], "interval": "5s", "timeout": "3s", "retries": 3, "start_period": "0s"},
                restart_policy="unless-stopped", **extra)


@pytest.fixture
def env(tmp_path):
    log = []
    clock = Clock()
    docker = FakeDocker(log)
    path = str(tmp_path / "app-shop.yml")
    traefik = FakeTraefik(path, log)
    original_write = TraefikRotation.write

    def make(image="shop:1", replicas=2, check_mode=False, batch_size=1, available=lambda: None, **kw):
        rotation = TraefikRotation(path, "http://127.0.0.1:8099", "shop", 8000, routers={"r": {"rule": "Host(`a.b`)"}},
                                   health={"path": "/health"}, timeout=30, clock=clock, sleep=clock.sleep, http_get=traefik)

        def write(names):
            changed = original_write(rotation, names)
            if changed:
                log.append(("route", tuple(sorted(names))))
            return changed

        rotation.write = write
        return RollingUpdate(docker, spec(image, **kw), replicas, batch_size=batch_size, rotation=rotation, check_mode=check_mode,
                             clock=clock, sleep=clock.sleep, health_timeout=60, available=available)

    return {"make": make, "docker": docker, "log": log, "path": path, "clock": clock, "traefik": traefik}


def serving(env):
    return sorted(n for n, c in env["docker"].containers_by_name.items() if c["State"]["Status"] == "running")


def test_first_rollout_starts_the_replicas_and_routes_them(env):
    result = env["make"]().run()
    assert result["changed"] and len(result["started"]) == 2
    assert serving(env) == sorted(result["started"])
    doc = json.loads(open(env["path"]).read().split("\n", 1)[1])
    urls = [s["url"] for s in doc["http"]["services"]["shop"]["loadBalancer"]["servers"]]
    assert urls == ["http://%s:8000" % n for n in sorted(result["started"])]
    assert doc["http"]["routers"] == {"r": {"rule": "Host(`a.b`)"}}
    # every replica joins the second network under the app's name
    assert [e for e in env["log"] if e[0] == "connect"] == [("connect", n, "internal") for n in result["started"]]


def test_same_release_again_changes_nothing(env):
    env["make"]().run()
    before = list(env["log"])
    result = env["make"]().run()
    assert not result["changed"] and result["started"] == [] and result["replaced"] == []
    assert env["log"] == before


def test_new_release_is_routed_in_place_of_an_old_replica_before_that_one_stops(env):
    first = env["make"]().run()["started"]
    del env["log"][:]
    result = env["make"]("shop:2").run()
    new = result["started"]
    assert len(new) == 2 and set(result["replaced"]) == set(first)
    log = env["log"]
    for index, name in enumerate(new):
        old = sorted(first)[index]
        started = log.index(("start", name))
        # one routing change takes the new one in and the old one out
        swapped = next(i for i, e in enumerate(log) if e[0] == "route" and name in e[1])
        assert old not in log[swapped][1]
        assert all(old in e[1] for e in log[:swapped] if e[0] == "route")
        stopped = log.index(("stop", old, 25))
        assert started < swapped < stopped
    # at every moment two replicas were in the rotation
    assert [len(e[1]) for e in log if e[0] == "route"] == [2, 2]
    assert serving(env) == sorted(new)
    assert all(("remove", old) in log for old in first)
    # the old ones are removed only after every new one serves
    assert max(log.index(("remove", old)) for old in first) > log.index(("start", new[-1]))


def test_a_surge_starts_every_new_replica_before_any_old_one_leaves(env):
    first = env["make"](replicas=3).run()["started"]
    del env["log"][:]
    result = env["make"]("shop:2", replicas=3, batch_size=0).run()
    new, log = result["started"], env["log"]
    assert len(new) == 3 and serving(env) == sorted(new)
    last_start = max(log.index(("start", name)) for name in new)
    first_stop = min(log.index(("stop", old, 25)) for old in first)
    assert last_start < first_stop
    # one routing change, from the old replicas to the new ones, once all of them are healthy
    routes = [(i, e[1]) for i, e in enumerate(log) if e[0] == "route"]
    assert [names for _i, names in routes] == [tuple(sorted(new))]
    assert routes[0][0] > last_start and routes[0][0] < first_stop


def test_the_drain_runs_between_the_routing_change_and_the_stop(env):
    env["make"]().run()
    clock = env["clock"]
    marks = {}
    stop = env["docker"].stop

    def timed_stop(ident, timeout):
        marks.setdefault("stop", clock())
        return stop(ident, timeout)

    env["docker"].stop = timed_stop
    rollout = env["make"]("shop:2", batch_size=0)
    write = rollout.rotation.write

    def timed_write(names):
        marks["route"] = clock()
        return write(names)

    rollout.rotation.write = timed_write
    rollout.run()
    assert marks["stop"] - marks["route"] >= 2.0 - 1e-9  # drain_delay's default


@pytest.mark.parametrize("batch, replicas, memory, available, size", [
    (1, 4, None, None, 1), (0, 4, None, None, 4), (9, 4, None, None, 4),
    (0, 4, 512, 1500, 2),   # the host's available memory holds two more replicas
    (0, 4, 512, 100, 1),    # never less than one
    (2, 4, 512, 10 ** 6, 2),
])
def test_surge_size(batch, replicas, memory, available, size):
    assert surge_size(batch, replicas, memory, available) == size


def test_available_memory_reads_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:        8000000 kB\nMemAvailable:    2048 kB\n")
    assert available_memory(str(meminfo)) == 2048 * 1024
    assert available_memory(str(tmp_path / "missing")) is None


def test_a_release_that_never_gets_healthy_is_undone_and_the_old_replicas_keep_serving(env):
    first = env["make"]().run()["started"]
    env["docker"].broken.add("shop:bad")
    with pytest.raises(RolloutError) as err:
        env["make"]("shop:bad").run()
    assert serving(env) == sorted(first)
    assert len(env["docker"].containers_by_name) == 2  # the new container was removed
    message = failure_message(err.value)
    assert "did not become healthy" in message and "HTTP 503 selftest failing" in message
    assert "last words of" in message  # the replica's last log lines
    doc = json.loads(open(env["path"]).read().split("\n", 1)[1])
    assert [s["url"] for s in doc["http"]["services"]["shop"]["loadBalancer"]["servers"]] == [
        "http://%s:8000" % n for n in sorted(first)]


def test_a_surge_that_fails_to_start_one_replica_removes_every_new_one(env):
    first = env["make"](replicas=3).run()["started"]
    create = env["docker"].create

    def create_or_fail(name, config):
        if name.endswith("-2"):
            raise RuntimeError("no space left on device")
        return create(name, config)

    env["docker"].create = create_or_fail
    with pytest.raises(RolloutError, match="no space left on device"):
        env["make"]("shop:2", replicas=3, batch_size=0).run()
    assert serving(env) == sorted(first) and len(env["docker"].containers_by_name) == 3


def test_a_failure_after_an_old_replica_was_stopped_starts_it_again(env):
    first = env["make"]().run()["started"]
    docker = env["docker"]
    original_start = docker.start
    calls = {"n": 0}

    def start(ident):
        original_start(ident)
        c = docker._find(ident)
        if c["_image"] == "shop:2":
            calls["n"] += 1
            if calls["n"] == 2:  # the second new replica is bad
                docker.broken.add("shop:2")

    docker.start = start
    with pytest.raises(RolloutError):
        env["make"]("shop:2").run()
    assert serving(env) == sorted(first)
    assert all(c["_image"] == "shop:1" for c in docker.containers_by_name.values())


def test_a_new_replica_traefik_reports_down_ends_the_rollout_at_once_and_the_old_ones_serve_again(env):
    first = env["make"]().run()["started"]
    env["traefik"].down = {"shop-%s" % spec("shop:2").hash("sha256:two")[:8]}  # the new release's replicas
    began = env["clock"]()
    with pytest.raises(RolloutError) as err:
        env["make"]("shop:2", batch_size=0).run()
    assert "DOWN" in str(err.value) and "the previous replicas keep serving" in str(err.value)
    assert env["clock"]() - began < 5  # not the rotation's 30 s timeout
    assert serving(env) == sorted(first)
    doc = json.loads(open(env["path"]).read().split("\n", 1)[1])
    assert [s["url"] for s in doc["http"]["services"]["shop"]["loadBalancer"]["servers"]] == [
        "http://%s:8000" % n for n in sorted(first)]


def test_check_mode_reports_without_touching_anything(env):
    env["make"]().run()
    before = list(env["log"])
    text = open(env["path"]).read()
    result = env["make"]("shop:2", check_mode=True).run()
    assert result["changed"] and len(result["replaced"]) == 2
    assert result["before"]["image"] == ["shop:1"] and result["after"]["image"] == ["shop:2"]
    assert env["log"] == before and open(env["path"]).read() == text


def test_scaling_down_drains_the_extra_replica(env):
    started = env["make"](replicas=3).run()["started"]
    result = env["make"](replicas=1).run()
    assert result["started"] == [] and len(result["replaced"]) == 2
    assert serving(env) == [sorted(started)[0]]


def test_missing_image_fails_before_any_change(env):
    with pytest.raises(RolloutError) as err:
        env["make"]("shop:404").run()
    assert "not on this host" in str(err.value)
    assert env["log"] == []


def test_the_hash_follows_every_part_of_the_definition():
    base = spec().hash("sha256:one")
    assert spec().hash("sha256:one") == base
    assert spec().hash("sha256:other") != base
    assert spec(extra_hash="secrets changed").hash("sha256:one") != base
    changed_env = spec()
    changed_env.env["A"] = "2"
    assert changed_env.hash("sha256:one") != base


def test_container_config_carries_limits_health_and_labels():
    config = spec(memory="512m", cpus=0.5).container_config("abc123")
    assert config["HostConfig"]["Memory"] == 512 * 1024 ** 2
    assert config["HostConfig"]["NanoCpus"] == 500000000
    assert config["HostConfig"]["RestartPolicy"] == {"Name": "unless-stopped"}
    assert config["Healthcheck"]["Interval"] == 5 * 10 ** 9
    assert config["Labels"][LABEL_HASH] == "abc123" and config["Labels"]["launchbay.app"] == "shop"
    assert config["StopTimeout"] == 25
    assert config["NetworkingConfig"]["EndpointsConfig"] == {"public": {"Aliases": ["shop"]}}
    assert config["Env"] == ["A=1"]


@pytest.mark.parametrize("text, seconds", [("5s", 5), ("500ms", 0.5), ("1m30s", 90), ("2h", 7200), (7, 7), ("3", 3)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 s", "5x", "s5", "1m 30s"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("text, size", [("512m", 512 * 1024 ** 2), ("1g", 1024 ** 3), ("", 0), (None, 0), ("100", 100), ("2K", 2048)])
def test_parse_bytes(text, size):
    assert parse_bytes(text) == size


def test_parse_bytes_rejects():
    with pytest.raises(ValueError):
        parse_bytes("lots")


def test_traefik_wait_reports_what_it_last_saw(tmp_path):
    clock = Clock()
    rotation = TraefikRotation(str(tmp_path / "f.yml"), "http://127.0.0.1:8099", "shop", 8000, timeout=5,
                               clock=clock, sleep=clock.sleep, http_get=lambda url, headers=None: {"loadBalancer": {"servers": []}})
    with pytest.raises(RolloutError) as err:
        rotation.wait(present=["shop-1"])
    assert "did not route to shop-1 within 5s" in str(err.value) and '"servers": []' in str(err.value)
    assert clock.now <= 8


def test_the_api_token_is_read_from_its_file_and_sent(tmp_path):
    token = tmp_path / "api-token"
    token.write_text("s3cr3t-token\n")
    seen = []
    rotation = TraefikRotation(str(tmp_path / "f.yml"), "http://127.0.0.1:8099", "shop", 8000, api_token_file=str(token),
                               http_get=lambda url, headers=None: seen.append(headers) or {"loadBalancer": {"servers": []}})
    assert rotation.observe() == ([], {})
    assert seen == [{"Authorization": "Bearer s3cr3t-token"}]


def test_an_unreadable_api_token_fails_at_once(tmp_path):
    rotation = TraefikRotation(str(tmp_path / "f.yml"), "http://127.0.0.1:8099", "shop", 8000,
                               api_token_file=str(tmp_path / "missing"), http_get=lambda url, headers=None: {})
    with pytest.raises(RolloutError, match="cannot read Traefik's API token"):
        rotation.observe()
