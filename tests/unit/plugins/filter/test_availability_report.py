import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.filter.availability_report import availability_report


def row(app, value):
    return {"metric": {"app": app}, "value": [1795485000.0, str(value)]}


def test_budget_left_and_text():
    report = availability_report([row("shop", 0.9995)], [row("shop", 86400 * 2.5)], 99.9, "30d")
    assert report["shop"]["availability"] == 99.95
    assert report["shop"]["budget_left"] == 50.0
    assert report["shop"]["text"] == "99.950% over 30d (2.5 days of history); error budget against 99.9%: 50.0% left"


def test_a_missed_target_says_the_budget_is_exhausted():
    report = availability_report([row("shop", 0.99)], [row("shop", 5400)], 99.9, "30d")
    assert "(1.5 hours of history)" in report["shop"]["text"]
    assert report["shop"]["budget_left"] == -900.0
    assert report["shop"]["text"].endswith("(EXHAUSTED)")


def test_all_probes_succeeded():
    assert availability_report([row("a", 1)], [], 99.5)["a"]["budget_left"] == 100.0


@pytest.mark.parametrize("target", [100, 0, "x"])
def test_bad_target(target):
    with pytest.raises((AnsibleFilterError, ValueError)):
        availability_report([row("a", 1)], [], target)
