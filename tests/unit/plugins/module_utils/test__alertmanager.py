import datetime

import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._alertmanager import (
    AlertmanagerError, Silences, parse_duration)

NOW = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.timezone.utc)


class FakeAlertmanager(object):
    def __init__(self):
        self.silences = []
        self.calls = []

    def __call__(self, method, url, body=None):
        self.calls.append((method, url))
        if method == "GET":
            return self.silences
        if method == "POST":
            silence = dict(body, id="s%d" % len(self.silences), status={"state": "active"})
            self.silences.append(silence)
            return {"silenceID": silence["id"]}
        if method == "DELETE":
            for silence in self.silences:
                if url.endswith("/" + silence["id"]):
                    silence["status"] = {"state": "expired"}
            return None
        raise AssertionError(method)


def test_present_sets_one_silence_then_finds_it_again():
    am = FakeAlertmanager()
    silences = Silences("http://127.0.0.1:9093/", "launchbay.webstack", request=am, now=lambda: NOW)
    assert silences.ensure({"app": "shop"}, "maintenance of shop", "2h", "present") == (True, ["s0"])
    assert am.silences[0]["endsAt"] == "2026-11-24T12:00:00+00:00"
    assert am.silences[0]["matchers"] == [{"name": "app", "value": "shop", "isRegex": False, "isEqual": True}]
    assert silences.ensure({"app": "shop"}, "maintenance of shop", "2h", "present") == (False, ["s0"])
    assert len(am.silences) == 1


def test_absent_expires_only_its_own_silence():
    am = FakeAlertmanager()
    am.silences.append({"id": "other", "createdBy": "alice", "comment": "maintenance of shop", "status": {"state": "active"},
                        "matchers": [{"name": "app", "value": "shop", "isRegex": False, "isEqual": True}]})
    silences = Silences("http://am", "launchbay.webstack", request=am, now=lambda: NOW)
    silences.ensure({"app": "shop"}, "maintenance of shop", "2h", "present")
    assert silences.ensure({"app": "shop"}, "maintenance of shop", "2h", "absent") == (True, ["s1"])
    assert am.silences[0]["status"]["state"] == "active"  # alice's stays
    assert silences.ensure({"app": "shop"}, "maintenance of shop", "2h", "absent") == (False, [])


def test_check_mode_changes_nothing():
    am = FakeAlertmanager()
    silences = Silences("http://am", "launchbay.webstack", request=am, now=lambda: NOW)
    assert silences.ensure({"app": "shop"}, "c", "1h", "present", check_mode=True) == (True, [])
    assert [c[0] for c in am.calls] == ["GET"]


def test_an_unreachable_alertmanager_is_named():
    def refused(method, url, body=None):
        raise OSError("connection refused")

    with pytest.raises(AlertmanagerError, match="Alertmanager at http://am: GET /api/v2/silences failed: connection refused"):
        Silences("http://am", "x", request=refused).ensure({"app": "shop"}, "c", "1h", "present")


@pytest.mark.parametrize("text, seconds", [("30m", 1800), ("2h", 7200), ("1d", 86400), ("45s", 45)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0h", "2 hours", "", "1w"])
def test_bad_durations(text):
    with pytest.raises(AlertmanagerError):
        parse_duration(text)
