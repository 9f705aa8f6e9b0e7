import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.filter.traefik_labels import FilterModule, traefik_labels


def test_registered():
    assert FilterModule().filters()["traefik_labels"] is traefik_labels


def test_one_router_per_domain():
    labels = traefik_labels(["shop.example.com", "www.shop.example.com"], name="shop", port=8000, network="pub",
                            path_prefix="/api", middlewares=["compress@file"])
    assert labels["traefik.enable"] == "true"
    assert labels["traefik.docker.network"] == "pub"
    assert labels["traefik.http.services.shop.loadbalancer.server.port"] == "8000"
    for domain, router in (("shop.example.com", "shop-shop-example-com"), ("www.shop.example.com", "shop-www-shop-example-com")):
        prefix = "traefik.http.routers.%s." % router
        assert labels[prefix + "rule"] == "Host(`%s`) && PathPrefix(`/api`)" % domain
        assert labels[prefix + "entrypoints"] == "websecure"
        assert labels[prefix + "tls.certresolver"] == "letsencrypt"
        assert labels[prefix + "service"] == "shop"
        assert labels[prefix + "middlewares"] == "compress@file"
    assert len([k for k in labels if k.endswith(".rule")]) == 2


def test_no_domains_no_labels():
    assert traefik_labels([], name="shop", port=8000, network="pub") == {}


def test_without_resolver():
    labels = traefik_labels(["a.example.org"], name="a", port=80, network="pub", resolver="")
    assert "traefik.http.routers.a-a-example-org.tls.certresolver" not in labels
    assert labels["traefik.http.routers.a-a-example-org.tls"] == "true"


@pytest.mark.parametrize(
    "domains, kwargs, message",
    [
        ("a.example.com", {}, "expects a list"),
        (["Shop.Example.com"], {}, "not lower-case domain names"),
        (["a..b"], {}, "not lower-case domain names"),
        (["a.example.com", "a.example.com"], {}, "domains repeat"),
        (["a.example.com"], {"name": "my shop"}, "name must be"),
        (["a.example.com"], {"port": 0}, "port must be"),
        (["a.example.com"], {"port": "80"}, "port must be"),
        (["a.example.com"], {"path_prefix": "api"}, "path_prefix must start"),
        (["a.example.com"], {"middlewares": ["bad name"]}, "invalid middleware"),
    ],
)
def test_bad_input(domains, kwargs, message):
    args = dict(name="shop", port=8000, network="pub")
    args.update(kwargs)
    with pytest.raises(AnsibleFilterError, match=message):
        traefik_labels(domains, **args)


def test_domains_that_differ_only_in_punctuation_keep_their_own_routers():
    labels = traefik_labels(["a-b.example.org", "a.b.example.org", "ab.example.org"], name="shop", port=8000,
                            network="launchbay_public")
    rules = sorted(v for k, v in labels.items() if k.endswith(".rule"))
    assert rules == ["Host(`a-b.example.org`)", "Host(`a.b.example.org`)", "Host(`ab.example.org`)"], rules
