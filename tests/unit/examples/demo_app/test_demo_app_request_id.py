"""The request id the demo app logs with each request and answers in X-Request-Id (the
central log search finds a request's lines from the proxy and the app by it)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "examples", "demo_app"))
import demo_app  # noqa: E402  pylint: disable=wrong-import-position


def test_a_sane_request_id_is_kept_and_any_other_replaced():
    assert demo_app.request_id("6f1c-2b0a.9d8e") == "6f1c-2b0a.9d8e"
    made = {demo_app.request_id(value) for value in (None, "", "two words", "x" * 129, "id\r\nX-Evil: 1")}
    assert len(made) == 5 and all(len(value) == 32 and value.isalnum() for value in made)
