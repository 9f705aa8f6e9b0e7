import pytest

from ansible_collections.launchbay.webstack.plugins.filter.address_scope import address_scope


@pytest.mark.parametrize("value, scope", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"),
    ("10.0.0.5", "private"), ("172.20.1.2", "private"), ("192.168.1.10", "private"),
    ("100.101.102.103", "private"), ("fd12:3456::1", "private"), ("169.254.0.3", "private"),
    ("8.8.8.8", "public"), ("2a00:1450:4001::1", "public"),
    ("0.0.0.0", "invalid"), ("db.example.com", "invalid"), ("", "invalid"),
])
def test_scopes(value, scope):
    assert address_scope(value) == scope
