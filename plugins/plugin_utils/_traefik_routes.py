# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traefik routers for an app's domains, shared by the traefik_labels and traefik_routers filters. Private."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
_MIDDLEWARE = re.compile(r"^[a-zA-Z0-9_-]+(@[a-z]+)?$")


def routers(filter_name, domains, name, port, resolver="letsencrypt", path_prefix="", middlewares=None, entrypoint="websecure"):
    """{router name: {rule, entryPoints, service, tls, middlewares}}: one router per domain, so
    each domain gets its own certificate. Raises AnsibleFilterError naming `filter_name`."""
    if not isinstance(domains, (list, tuple)):
        raise AnsibleFilterError("%s: expects a list of domains, got %s" % (filter_name, type(domains).__name__))
    if not isinstance(name, str) or not _NAME.match(name):
        raise AnsibleFilterError("%s: name must be letters, digits, '-' or '_', got %r" % (filter_name, name))
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise AnsibleFilterError("%s: port must be an integer from 1 to 65535, got %r" % (filter_name, port))
    bad = [d for d in domains if not isinstance(d, str) or not _DOMAIN.match(d)]
    if bad:
        raise AnsibleFilterError("%s: not lower-case domain names: %s" % (filter_name, ", ".join(map(repr, bad))))
    if len(set(domains)) != len(domains):
        raise AnsibleFilterError("%s: domains repeat: %s" % (filter_name, sorted(d for d in set(domains) if domains.count(d) > 1)))
    if path_prefix and (not isinstance(path_prefix, str) or not path_prefix.startswith("/") or "`" in path_prefix):
        raise AnsibleFilterError("%s: path_prefix must start with '/', got %r" % (filter_name, path_prefix))
    middlewares = list(middlewares or [])
    bad = [m for m in middlewares if not isinstance(m, str) or not _MIDDLEWARE.match(m)]
    if bad:
        raise AnsibleFilterError("%s: invalid middleware names: %s" % (filter_name, bad))
    result = {}
    for domain in domains:
        rule = "Host(`%s`)" % domain
        if path_prefix:
            rule += " && PathPrefix(`%s`)" % path_prefix
        router = {"rule": rule, "entryPoints": [entrypoint], "service": name, "tls": {}}
        if resolver:
            router["tls"]["certResolver"] = resolver
        if middlewares:
            router["middlewares"] = middlewares
        result[router_name(name, domain)] = router
    return result


def router_name(name, domain):
    """One name per domain: '-' becomes '--' and '.' becomes '-', so domains that differ only
    in punctuation (a-b.example.org, a.b.example.org) never share a router (a label neither
    starts nor ends with '-', so the mapping can be undone)."""
    return "%s-%s" % (name, domain.replace("-", "--").replace(".", "-"))
