# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.filter.traefik_routers import traefik_routers


def test_one_router_per_domain_pointing_at_the_app_service():
    got = traefik_routers(["a.example.com", "b.example.com"], name="shop", port=8000, middlewares=["compress@file"])
    assert sorted(got) == ["shop-a-example-com", "shop-b-example-com"]
    router = got["shop-a-example-com"]
    assert router == {
        "rule": "Host(`a.example.com`)",
        "entryPoints": ["websecure"],
        "service": "shop",
        "tls": {"certResolver": "letsencrypt"},
        "middlewares": ["compress@file"],
    }


def test_path_prefix_and_no_resolver():
    got = traefik_routers(["a.example.com"], name="api", port=80, resolver="", path_prefix="/api")
    assert got["api-a-example-com"]["rule"] == "Host(`a.example.com`) && PathPrefix(`/api`)"
    assert got["api-a-example-com"]["tls"] == {}


def test_no_domains_no_routers():
    assert traefik_routers([], name="shop", port=8000) == {}


@pytest.mark.parametrize("kwargs, message", [
    (dict(domains=["A.example.com"], name="shop", port=8000), "not lower-case domain names"),
    (dict(domains=["a.example.com", "a.example.com"], name="shop", port=8000), "domains repeat"),
    (dict(domains=["a.example.com"], name="shop!", port=8000), "name must be"),
    (dict(domains=["a.example.com"], name="shop", port=0), "port must be"),
    (dict(domains=["a.example.com"], name="shop", port=8000, path_prefix="api"), "path_prefix must start"),
    (dict(domains="a.example.com", name="shop", port=8000), "expects a list"),
])
def test_bad_input_names_the_filter_and_the_problem(kwargs, message):
    domains = kwargs.pop("domains")
    with pytest.raises(AnsibleFilterError) as err:
        traefik_routers(domains, **kwargs)
    assert "traefik_routers:" in str(err.value) and message in str(err.value)
