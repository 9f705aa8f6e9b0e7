import json

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.launchbay.webstack.plugins.filter.redact_mapping import FilterModule, redact_mapping

MASK = "********"


def test_registered():
    assert FilterModule().filters()["redact_mapping"] is redact_mapping


def test_keys_matching_patterns_are_masked_recursively():
    data = {
        "name": "shop",
        "env": {"DB_PASSWORD": "pw1", "API_TOKEN": "tok", "PORT": 8000},
        "replicas": [{"secret_key": {"nested": "x"}}, {"plain": "ok"}],
        "aws_secret_access_key": "AKIAsecret",
    }
    out = redact_mapping(data)
    assert out == {
        "name": "shop",
        "env": {"DB_PASSWORD": MASK, "API_TOKEN": MASK, "PORT": 8000},
        "replicas": [{"secret_key": MASK}, {"plain": "ok"}],
        "aws_secret_access_key": MASK,
    }
    assert data["env"]["DB_PASSWORD"] == "pw1"  # the input is not modified


def test_known_secrets_masked_inside_longer_strings_and_numbers():
    out = redact_mapping(
        {"msg": "login failed for hunter2 at db", "lines": ["x hunter2 y"], "pin": 123456},
        secrets=["hunter2", 123456],
    )
    assert out == {"msg": "login failed for %s at db" % MASK, "lines": ["x %s y" % MASK], "pin": MASK}


def test_longer_secret_masked_whole_when_one_contains_another():
    assert redact_mapping("abc abcdef", secrets=["abc", "abcdef"]) == "%s %s" % (MASK, MASK)


def test_docker_inspect_env_list_and_urls():
    inspect = {"Config": {"Env": ["SECRET_KEY=abc", "DATABASE_URL=postgresql://a:pw@db/x", "PATH=/usr/bin", "EMPTY_TOKEN="]}}
    out = redact_mapping(inspect)
    assert out["Config"]["Env"] == ["SECRET_KEY=" + MASK, "DATABASE_URL=postgresql://a:%s@db/x" % MASK, "PATH=/usr/bin", "EMPTY_TOKEN="]


def test_custom_patterns_replace_defaults():
    out = redact_mapping({"password": "x", "pin_code": "1234"}, patterns=["^pin"])
    assert out == {"password": "x", "pin_code": MASK}


def test_plain_text_input():
    assert redact_mapping("error: hunter2", secrets=["hunter2"]) == "error: " + MASK


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"patterns": "password"}, "patterns must be a list"),
        ({"patterns": ["("]}, "invalid pattern"),
        ({"patterns": [""]}, "every pattern must be a non-empty string"),
        ({"secrets": "hunter2"}, "secrets must be a list"),
        ({"mask": None}, "mask must be a non-empty string"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        redact_mapping({"a": 1}, **kwargs)


def test_too_deep():
    data = {}
    node = data
    for _i in range(300):
        node["n"] = {}
        node = node["n"]
    with pytest.raises(AnsibleFilterError, match="nested deeper"):
        redact_mapping(data)


# --- Property tests: no secret survives, whatever the nesting ------------------------------
# A "secret" made only of the mask's own character would be found in the mask itself.
SECRET = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=6, max_size=24).filter(
    lambda s: set(s) != {"*"})
KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12)


def _structures(secret):
    leaf = st.one_of(
        st.just(secret),
        st.builds(lambda a, b: a + secret + b, st.text(max_size=8), st.text(max_size=8)),
        st.text(max_size=10),
        st.integers(),
        st.none(),
    )
    return st.recursive(
        leaf,
        lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)),
        max_leaves=25,
    )


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_no_known_secret_survives_any_nesting(data):
    secret = data.draw(SECRET)
    structure = data.draw(_structures(secret))
    out = redact_mapping(structure, secrets=[secret])
    assert secret not in json.dumps(out, ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_values_under_secret_keys_never_survive(data):
    secret = data.draw(SECRET)
    key = data.draw(st.sampled_from(["password", "DB_PASSWORD", "api_token", "secretKey", "sentry_dsn", "auth"]))
    structure = data.draw(_structures("filler"))
    wrapped = {"outer": [structure, {key: secret}]}
    out = redact_mapping(wrapped)
    assert out["outer"][1] == {key: MASK}


@settings(max_examples=200, deadline=None)
@given(user=KEYS, password=SECRET.filter(lambda s: not set(s) & set("@/ \t\n:?#[]%")), host=KEYS)
def test_url_passwords_never_survive_in_text(user, password, host):
    text = "connecting to postgresql://%s:%s@%s:5432/db failed" % (user, password, host)
    out = redact_mapping({"msg": text})
    assert out["msg"] == "connecting to postgresql://%s:%s@%s:5432/db failed" % (user, MASK, host)
