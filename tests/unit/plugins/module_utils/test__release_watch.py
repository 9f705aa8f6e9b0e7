import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._release_watch import (
    ReleaseWatch, WatchError, queries, verdict)
from ansible_collections.launchbay.webstack.tests.unit.fake_clock import Clock


def scripted(readings):
    """A query function answering from a list of (requests, errors, p95) per reading."""
    state = {"i": 0}

    def query(text):
        row = readings[min(state["i"], len(readings) - 1)]
        if "histogram_quantile" in text:
            state["i"] += 1  # the last query of a reading
            return row[2]
        return row[1] if 'code=~"5.."' in text else row[0]

    return query


def watch(readings, seconds=60, clock=None):
    clock = clock or Clock()
    return ReleaseWatch(scripted(readings), "demo@file", seconds, 10, 0.05, 1.5, 20, 30, clock=clock, sleep=clock.sleep), clock


def test_a_release_answering_500s_fails_at_the_first_reading_that_shows_it():
    w, clock = watch([(10, 0, 0.01), (80, 40, 0.02), (200, 100, 0.02)])
    reason, figures, watched = w.run()
    assert reason == "50.0% of 80 requests answered 5xx (limit 5.0%)"
    assert watched == 40 and clock.now == 40  # 30 s before the first reading (the minimum range), then 10 s


def test_a_good_release_passes_at_the_end_of_the_window():
    reason, figures, watched = watch([(100, 1, 0.05)] * 10)[0].run()
    assert reason is None and watched == 60 and figures["requests"] == 100


def test_slow_answers_fail():
    reason, _f, _w = watch([(100, 0, 2.5)])[0].run()
    assert reason == "95% of requests took up to 2.50 s (limit 1.50 s)"


def test_too_few_requests_never_fail():
    assert verdict({"requests": 5, "errors": 5, "latency_p95": 9}, 0.05, 1.5, 20) is None
    reason, _f, _w = watch([(None, None, None)])[0].run()
    assert reason is None


def test_the_window_grows_from_the_minimum():
    assert "[30s]" in queries("demo@file", "30s")["requests"]
    w, clock = watch([(100, 0, 0.1)], seconds=60)
    clock.now = 0
    assert w.measure(45.2)["window"] == "46s" and w.measure(3)["window"] == "30s"


def test_prometheus_gone_ends_the_watch_saying_why():
    clock = Clock()

    def refused(text):
        raise OSError("connection refused")

    w = ReleaseWatch(refused, "demo@file", 600, 10, 0.05, 1.5, 20, 30, clock=clock, sleep=clock.sleep)
    with pytest.raises(WatchError, match="Prometheus stopped answering during the watch: connection refused"):
        w.run()
    assert clock.now <= 30 + 50  # the first reading at 30 s, then three intervals without an answer
