from urllib.parse import unquote, urlsplit

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.filter.database_url import FilterModule, database_url

NASTY = "p@ss:w/o#r?d% {{ x }} {# c #} {% if %} $HOME \\ \"q\" 'q' é日本\nline2"


def test_registered():
    assert FilterModule().filters()["database_url"] is database_url


def test_the_password_comes_back_byte_exact_from_the_url():
    url = database_url({"user": "shop", "password": NASTY, "host": "launchbay_postgres", "database": "shop"})
    parsed = urlsplit(url)
    assert (parsed.scheme, parsed.hostname, parsed.port, parsed.path) == ("postgresql", "launchbay_postgres", 5432, "/shop")
    assert unquote(parsed.password) == NASTY and parsed.username == "shop"


def test_missing_parts_are_named():
    with pytest.raises(AnsibleFilterError, match="missing or empty: password, database"):
        database_url({"user": "shop", "password": "", "host": "db"})
