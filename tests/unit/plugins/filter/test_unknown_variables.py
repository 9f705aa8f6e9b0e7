import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.filter.unknown_variables import FilterModule, unknown_variables

SPECS = [
    {"argument_specs": {"main": {"options": {"app_replicas": {}, "app_image": {}}}, "validate": {"options": {"app_replicas": {}}}}},
    {"argument_specs": {"main": {"options": {"traefik_acme_email": {}}}}},
]


def test_registered():
    assert FilterModule().filters()["unknown_variables"] is unknown_variables


def test_a_misspelt_name_comes_with_the_nearest_known_one():
    out = unknown_variables(["app_replica", "app_image", "traefik_acme_mail", "other_thing"], SPECS, ["app_", "traefik_"])
    assert out == [{"name": "app_replica", "nearest": "app_replicas"}, {"name": "traefik_acme_mail", "nearest": "traefik_acme_email"}]


def test_known_names_and_other_prefixes_pass():
    assert unknown_variables(["app_version", "app_image", "ansible_host"], SPECS, ["app_"], known=["app_version"]) == []


def test_nothing_near_gives_no_suggestion():
    assert unknown_variables(["app_zzzzzzzz"], SPECS, ["app_"]) == [{"name": "app_zzzzzzzz", "nearest": None}]


def test_a_spec_that_is_not_one_is_refused():
    with pytest.raises(AnsibleFilterError, match="argument_specs.yml"):
        unknown_variables(["app_x"], [{"nope": 1}], ["app_"])
