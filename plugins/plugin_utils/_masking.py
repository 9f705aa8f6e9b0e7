# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Masking helpers shared by the launchbay.webstack filters. Private: no API promise."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_MASK = "********"

# Keys whose values are secrets, matched case-insensitively anywhere in the key.
DEFAULT_KEY_PATTERNS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "key",
    "dsn",
    "credential",
    "auth",
    "cookie",
    "private",
    "cert_pass",
)

# scheme://user:password@ inside any text.
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)(?P<pw>[^\s@/]+)(?P<at>@)")
# KEY=value lines (docker inspect Config.Env, env files).
_ENV_ASSIGNMENT = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)$", re.DOTALL)


class MaskingError(ValueError):
    """Bad input for a masking helper; filters turn it into AnsibleFilterError."""


def check_mask(mask):
    if not isinstance(mask, str) or not mask:
        raise MaskingError("mask must be a non-empty string, got %r" % (mask,))
    return mask


def mask_value(value, prefix=0, mask=DEFAULT_MASK):
    """A scalar secret replaced by the mask, keeping at most `prefix` leading characters.

    The prefix is kept only when the secret is at least four times as long, so that
    a short secret is never mostly shown.
    """
    check_mask(mask)
    if isinstance(prefix, bool) or not isinstance(prefix, int) or not 0 <= prefix <= 8:
        raise MaskingError("prefix must be an integer from 0 to 8, got %r" % (prefix,))
    if value is None:
        return mask
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, bool) or isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise MaskingError(
            "expects a string, number or None, got %s; use redact_mapping for structures" % type(value).__name__
        )
    if prefix and len(value) >= 4 * prefix:
        return value[:prefix] + mask
    return mask


def _is_secret_key(key, patterns):
    text = str(key).lower()
    return any(p.search(text) for p in patterns)


def compile_patterns(patterns):
    if patterns is None:
        patterns = DEFAULT_KEY_PATTERNS
    if isinstance(patterns, str) or not isinstance(patterns, (list, tuple)):
        raise MaskingError("patterns must be a list of regular expressions, got %r" % (patterns,))
    compiled = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise MaskingError("every pattern must be a non-empty string, got %r" % (pattern,))
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            raise MaskingError("invalid pattern %r: %s" % (pattern, exc))
    return compiled


def normalize_secrets(secrets):
    """Known secret values as strings, longest first (so a longer one is masked whole)."""
    if secrets is None:
        return []
    if isinstance(secrets, (str, bytes)) or not isinstance(secrets, (list, tuple, set, frozenset)):
        raise MaskingError("secrets must be a list of values, got %s" % type(secrets).__name__)
    values = set()
    for secret in secrets:
        if secret is None:
            continue
        if isinstance(secret, bytes):
            secret = secret.decode("utf-8", errors="replace")
        if not isinstance(secret, str):
            secret = str(secret)
        if secret:
            values.add(secret)
    return sorted(values, key=lambda v: (-len(v), v))


def redact_text(text, secrets, mask=DEFAULT_MASK):
    """Known secrets anywhere in the text, and passwords in URLs, replaced by the mask."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, mask)
    return _URL_CREDENTIALS.sub(lambda m: m.group("head") + mask + m.group("at"), text)


def redact_url(url, mask=DEFAULT_MASK, patterns=None):
    """The password of a URL (and secret-looking query parameters) masked, the rest intact."""
    check_mask(mask)
    if not isinstance(url, str):
        raise MaskingError("expects a URL string, got %s" % type(url).__name__)
    if not url:
        return url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise MaskingError("malformed URL: %s" % exc)
    if not parts.scheme or not parts.netloc:
        raise MaskingError("not a URL with a scheme and a host (like postgresql://user:pw@host/db)")
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _at, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = "%s:%s@%s" % (user, mask, hostport)
    query = parts.query
    if query:
        compiled = compile_patterns(patterns)
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_secret_key(k, compiled) for k, _value in pairs):
            query = urlencode([(k, mask if _is_secret_key(k, compiled) else v) for k, v in pairs], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_structure(data, patterns=None, secrets=None, mask=DEFAULT_MASK):
    """Every value under a secret-looking key masked, and every known secret masked wherever it stands."""
    check_mask(mask)
    compiled = compile_patterns(patterns)
    known = normalize_secrets(secrets)

    def walk(node, depth):
        if depth > 200:
            raise MaskingError("structure nested deeper than 200 levels")
        if isinstance(node, Mapping):
            out = {}
            for key, value in node.items():
                new_key = walk(key, depth + 1) if isinstance(key, str) else key
                if _is_secret_key(key, compiled) and value not in (None, "", [], {}):
                    out[new_key] = mask
                else:
                    out[new_key] = walk(value, depth + 1)
            return out
        if isinstance(node, (list, tuple)):
            return [walk(item, depth + 1) for item in node]
        if isinstance(node, bytes):
            node = node.decode("utf-8", errors="replace")
        if isinstance(node, str):
            match = _ENV_ASSIGNMENT.match(node)
            if match and _is_secret_key(match.group("key"), compiled) and match.group("value"):
                return "%s=%s" % (match.group("key"), mask)
            return redact_text(node, known, mask)
        if known and isinstance(node, (int, float)) and not isinstance(node, bool) and str(node) in known:
            return mask
        return node

    return walk(data, 0)
