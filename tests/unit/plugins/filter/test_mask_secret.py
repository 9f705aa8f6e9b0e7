import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.filter.mask_secret import FilterModule, mask_secret


def test_registered():
    assert FilterModule().filters()["mask_secret"] is mask_secret


@pytest.mark.parametrize(
    "value, kwargs, expected",
    [
        ("hunter2-is-long", {}, "********"),
        ("ghp_abcdefghijklmnop", {"prefix": 4}, "ghp_********"),
        ("short", {"prefix": 4}, "********"),  # prefix would show most of it
        ("", {}, "********"),
        (None, {}, "********"),
        (12345678, {}, "********"),
        (True, {}, "********"),
        (b"bytes-secret", {}, "********"),
        ("abc", {"mask": "[hidden]"}, "[hidden]"),
    ],
)
def test_masks(value, kwargs, expected):
    assert mask_secret(value, **kwargs) == expected


@pytest.mark.parametrize(
    "value, kwargs, message",
    [
        ({"a": 1}, {}, "use redact_mapping"),
        (["x"], {}, "use redact_mapping"),
        ("x", {"prefix": -1}, "prefix must be an integer from 0 to 8"),
        ("x", {"prefix": 9}, "prefix must be an integer from 0 to 8"),
        ("x", {"prefix": "2"}, "prefix must be an integer"),
        ("x", {"mask": ""}, "mask must be a non-empty string"),
    ],
)
def test_bad_input(value, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        mask_secret(value, **kwargs)
