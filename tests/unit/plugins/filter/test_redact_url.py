import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.filter.redact_url import FilterModule, redact_url


def test_registered():
    assert FilterModule().filters()["redact_url"] is redact_url


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgresql://app:s3cret@db:5432/app", "postgresql://app:********@db:5432/app"),
        ("postgres://app:p%40ss@db/app?sslmode=require", "postgres://app:********@db/app?sslmode=require"),
        ("redis://:redispw@cache:6379/0", "redis://:********@cache:6379/0"),
        ("https://user:tok@example.org/path?x=1#frag", "https://user:********@example.org/path?x=1#frag"),
        ("https://u:p@ss@host/", "https://u:********@host/"),  # unencoded @ in the password
        ("postgresql://db/app?user=a&password=pw", "postgresql://db/app?user=a&password=********"),
        ("s3://bucket/key?AccessToken=abc&region=eu", "s3://bucket/key?AccessToken=********&region=eu"),
        ("postgresql://app@db/app", "postgresql://app@db/app"),
        ("https://example.org/", "https://example.org/"),
        ("", ""),
    ],
)
def test_redacts(url, expected):
    assert redact_url(url) == expected


def test_custom_mask():
    assert redact_url("amqp://guest:guest@mq/", mask="<redacted>") == "amqp://guest:<redacted>@mq/"


@pytest.mark.parametrize(
    "url, message",
    [
        (None, "expects a URL string"),
        (42, "expects a URL string"),
        ("not a url", "not a URL with a scheme and a host"),
        ("db:5432/app", "not a URL with a scheme and a host"),
        ("postgresql://app:pw@db:notaport/app", "malformed URL"),
    ],
)
def test_bad_input(url, message):
    with pytest.raises(AnsibleFilterError, match=message):
        redact_url(url)
