"""APP_ERROR_PERCENT: a release that is healthy but fails a share of its users' requests
(the monitoring's watch window after a deploy must catch it)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "examples", "demo_app"))
import demo_app  # noqa: E402  pylint: disable=wrong-import-position


def app(tmp_path, percent):
    env = {"DATABASE_URL": "sqlite:///" + str(tmp_path / "app.db"), "SECRET_KEY": "x" * 16, "APP_ERROR_PERCENT": percent}
    cfg = demo_app.load_config(env)
    return demo_app.App(cfg)


@pytest.mark.parametrize("percent, failed", [("0", 0), ("25", 25), ("50", 50), ("100", 100), ("12.5", 12)])
def test_the_share_is_exact_and_evenly_spread(tmp_path, percent, failed):
    instance = app(tmp_path, percent)
    answers = [instance.injected_error() for _request in range(100)]
    assert sum(answers) == failed
    if failed == 50:
        assert answers[:4] == [False, True, False, True]


@pytest.mark.parametrize("percent", ["-1", "101", "many"])
def test_a_bad_share_names_the_variable(tmp_path, percent):
    with pytest.raises(demo_app.ConfigError, match="APP_ERROR_PERCENT"):
        app(tmp_path, percent)
