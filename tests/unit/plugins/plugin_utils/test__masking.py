import pytest

from ansible_collections.launchbay.webstack.plugins.plugin_utils import _masking as m


def test_normalize_secrets_longest_first_and_skips_empty():
    assert m.normalize_secrets(["ab", None, "", "abcd", 12, b"xyz", "ab"]) == ["abcd", "xyz", "12", "ab"]


def test_redact_text_masks_known_values_and_url_passwords():
    text = "token abcd in postgresql://u:pw1@h/db and https://x:y@z/ and plain://no-creds"
    out = m.redact_text(text, ["abcd"], mask="#")
    assert out == "token # in postgresql://u:#@h/db and https://x:#@z/ and plain://no-creds"


def test_compile_patterns_defaults_and_case():
    compiled = m.compile_patterns(None)
    assert any(p.search("db_password") for p in compiled)
    assert any(p.search("API_TOKEN".lower()) for p in compiled)
    assert not any(p.search("hostname") for p in compiled)


@pytest.mark.parametrize("bad", ["password", 3, [""], ["["]])
def test_compile_patterns_rejects(bad):
    with pytest.raises(m.MaskingError):
        m.compile_patterns(bad)


def test_redact_structure_keeps_empty_values_and_non_string_keys():
    data = {"password": "", 1: "one", "nested": ({"secret": None},)}
    assert m.redact_structure(data) == {"password": "", 1: "one", "nested": [{"secret": None}]}


def test_redact_url_keeps_port_and_fragment():
    assert m.redact_url("redis://:pw@cache:6380/2#x", mask="?") == "redis://:?@cache:6380/2#x"


def test_mask_value_prefix_bounds():
    assert m.mask_value("abcdefgh", prefix=2) == "ab" + m.DEFAULT_MASK
    assert m.mask_value("abcdefg", prefix=2) == m.DEFAULT_MASK
    with pytest.raises(m.MaskingError):
        m.mask_value("x", prefix=True)
