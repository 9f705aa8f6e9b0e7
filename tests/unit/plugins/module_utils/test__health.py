import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._health import describe_states, http_probe, is_ready, wait_healthy
from ansible_collections.launchbay.webstack.tests.unit.fake_clock import Clock


class Engine(object):
    def __init__(self, sequence):
        self.sequence = list(sequence)  # container dicts returned one inspection after another

    def inspect(self, name):
        return self.sequence.pop(0) if len(self.sequence) > 1 else self.sequence[0]

    def logs(self, ident, tail=20):
        return "log tail"


def container(status="running", health="starting", output=None, restarts=0, policy="unless-stopped"):
    state = {"Status": status}
    if health:
        state["Health"] = {"Status": health, "Log": [{"Output": output}] if output else []}
    return {"Id": "x", "Name": "/web-1", "State": state, "RestartCount": restarts, "HostConfig": {"RestartPolicy": {"Name": policy}}}


def test_waits_until_healthy():
    clock = Clock()
    ok, states = wait_healthy(Engine([container(), container(), container(health="healthy")]), ["web-1"], 30,
                              clock=clock, sleep=clock.sleep)
    assert ok and states["web-1"]["health"] == "healthy"


def test_gives_up_at_the_timeout_with_the_last_output():
    clock = Clock()
    ok, states = wait_healthy(Engine([container(output="connection refused")]), ["web-1"], 10, clock=clock, sleep=clock.sleep)
    assert not ok and 10 <= clock.now < 14
    assert states["web-1"]["last_output"] == "connection refused" and states["web-1"]["logs"] == "log tail"
    assert "last health check output: connection refused" in describe_states(states)


def test_stops_early_when_waiting_cannot_help():
    for hopeless in (container(health="unhealthy", output="503"), container(status="exited", health=None, policy="no"),
                     container(restarts=3), None):
        clock = Clock()
        ok, _states = wait_healthy(Engine([hopeless]), ["web-1"], 100, clock=clock, sleep=clock.sleep)
        assert not ok and clock.now < 1


def test_a_container_without_health_check_counts_once_running():
    assert is_ready(container(health=None))
    assert not is_ready(container(status="restarting", health=None))
    assert is_ready(container(health="starting"), require="running")


def test_the_apps_own_health_check_makes_a_replica_ready_before_dockers_tick():
    clock = Clock()
    answers = iter([False, False, True])
    asked = []

    def probe(found):
        asked.append(found["Name"])
        return next(answers)

    ok, states = wait_healthy(Engine([container()]), ["web-1"], 30, clock=clock, sleep=clock.sleep, probe=probe)
    assert ok and asked == ["/web-1"] * 3 and states["web-1"]["health"] == "starting"
    assert clock.now < 1  # Docker would have said healthy at its first tick, 5 s or more after the start


def test_the_probe_does_not_rescue_a_hopeless_container():
    clock = Clock()
    ok, _states = wait_healthy(Engine([container(health="unhealthy")]), ["web-1"], 30, clock=clock, sleep=clock.sleep,
                               probe=lambda found: True)
    assert not ok


def test_answering_ignores_dockers_old_verdict_and_waits_for_the_probe():
    clock = Clock()
    answers = iter([False, False, True])  # the app's pooled connections to the old database fail first
    ok, _states = wait_healthy(Engine([container(health="healthy")]), ["web-1"], 30, require="answering",
                               clock=clock, sleep=clock.sleep, probe=lambda found: next(answers))
    assert ok and next(answers, "asked") == "asked"  # ready only at the third answer
    assert clock.now == pytest.approx(0.05 + 0.075)  # the probe's first two waits


def test_a_probe_is_asked_at_least_every_quarter_second():
    clock = Clock()
    waits = []
    sleep = clock.sleep

    def timed_sleep(seconds):
        waits.append(seconds)
        sleep(seconds)

    answers = iter([False] * 20 + [True])
    ok, _states = wait_healthy(Engine([container(health="starting")]), ["web-1"], 30, clock=clock, sleep=timed_sleep,
                               probe=lambda found: next(answers))
    assert ok and max(waits) == 0.25 and waits[0] == 0.05


def test_answering_times_out_when_the_probe_never_passes():
    clock = Clock()
    ok, states = wait_healthy(Engine([container(health="healthy")]), ["web-1"], 5, require="answering",
                              clock=clock, sleep=clock.sleep, probe=lambda found: False)
    assert not ok and clock.now >= 5 and states["web-1"]["status"] == "running"


def test_answering_needs_a_probe():
    with pytest.raises(ValueError):
        wait_healthy(Engine([container()]), ["web-1"], 5, require="answering")


def test_http_probe_asks_the_containers_address_on_the_named_network():
    asked = []
    found = container()
    found["NetworkSettings"] = {"Networks": {"other": {"IPAddress": "10.0.9.9"}, "launchbay_public": {"IPAddress": "10.0.0.7"}}}
    probe = http_probe("/health", 8000, ["launchbay_public"], status=lambda url: asked.append(url) or 200)
    assert probe(found) and asked == ["http://10.0.0.7:8000/health"]
    assert not http_probe("/health", 8000, status=lambda url: 503)(found)
    assert not http_probe("/health", 8000, status=lambda url: 200)(container())  # no address: not answering


def test_http_probe_asks_a_given_address_for_a_container_on_the_hosts_network():
    asked = []
    found = container()
    found["NetworkSettings"] = {"Networks": {"host": {"IPAddress": ""}}}
    probe = http_probe("/-/ready", 9090, status=lambda url: asked.append(url) or 200, address="127.0.0.1")
    assert probe(found) and asked == ["http://127.0.0.1:9090/-/ready"]
    assert not http_probe("/-/ready", 9090, status=lambda url: 503, address="127.0.0.1")(found)
