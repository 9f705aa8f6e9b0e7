# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: traefik_labels
short_description: Docker labels that route an app's domains through Traefik
version_added: 0.1.0
description:
  - Turns a list of domains into the Docker labels read by Traefik's docker provider, with one router per
    domain (so each domain gets its own certificate) on the C(websecure) entrypoint with the ACME
    resolver, all pointing at one service on the app's port.
  - An empty list gives no labels (the app is not routed).
  - Domains must be lower-case DNS names, unique; a path prefix must start with C(/).
options:
  _input:
    description: The domains.
    type: list
    elements: str
    required: true
  name:
    description: App name, used for the router and service names.
    type: str
    required: true
  port:
    description: Port the app listens on inside the container.
    type: int
    required: true
  network:
    description: Docker network Traefik reaches the app on.
    type: str
    required: true
  resolver:
    description: Traefik certificate resolver; empty for Traefik's default certificate.
    type: str
    default: letsencrypt
  path_prefix:
    description: Only route requests under this path.
    type: str
    default: ""
  middlewares:
    description: Traefik middlewares applied to every router (like C(compress@file)).
    type: list
    elements: str
    default: []
  entrypoint:
    description: Traefik entrypoint.
    type: str
    default: websecure
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Run the app behind Traefik
  community.docker.docker_container:
    name: shop
    image: ghcr.io/acme/shop:1.4.2
    labels: "{{ ['shop.example.com', 'www.shop.example.com'] | launchbay.webstack.traefik_labels(name='shop', port=8000, network='launchbay_public') }}"
"""

RETURN = r"""
_value:
  description: Label names and values.
  type: dict
"""

import re

from ansible.errors import AnsibleFilterError

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
_MIDDLEWARE = re.compile(r"^[a-zA-Z0-9_-]+(@[a-z]+)?$")


def traefik_labels(domains, name, port, network, resolver="letsencrypt", path_prefix="", middlewares=None, entrypoint="websecure"):
    if not isinstance(domains, (list, tuple)):
        raise AnsibleFilterError("traefik_labels: expects a list of domains, got %s" % type(domains).__name__)
    if not isinstance(name, str) or not _NAME.match(name):
        raise AnsibleFilterError("traefik_labels: name must be letters, digits, '-' or '_', got %r" % (name,))
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise AnsibleFilterError("traefik_labels: port must be an integer from 1 to 65535, got %r" % (port,))
    bad = [d for d in domains if not isinstance(d, str) or not _DOMAIN.match(d)]
    if bad:
        raise AnsibleFilterError("traefik_labels: not lower-case domain names: %s" % ", ".join(map(repr, bad)))
    if len(set(domains)) != len(domains):
        raise AnsibleFilterError("traefik_labels: domains repeat: %s" % sorted(d for d in set(domains) if domains.count(d) > 1))
    if path_prefix and (not isinstance(path_prefix, str) or not path_prefix.startswith("/") or "`" in path_prefix):
        raise AnsibleFilterError("traefik_labels: path_prefix must start with '/', got %r" % (path_prefix,))
    middlewares = list(middlewares or [])
    bad = [m for m in middlewares if not isinstance(m, str) or not _MIDDLEWARE.match(m)]
    if bad:
        raise AnsibleFilterError("traefik_labels: invalid middleware names: %s" % bad)
    if not domains:
        return {}
    labels = {
        "traefik.enable": "true",
        "traefik.docker.network": network,
        "traefik.http.services.%s.loadbalancer.server.port" % name: str(port),
    }
    for domain in domains:
        router = "traefik.http.routers.%s-%s" % (name, domain.replace(".", "-"))
        rule = "Host(`%s`)" % domain
        if path_prefix:
            rule += " && PathPrefix(`%s`)" % path_prefix
        labels[router + ".rule"] = rule
        labels[router + ".entrypoints"] = entrypoint
        labels[router + ".service"] = name
        labels[router + ".tls"] = "true"
        if resolver:
            labels[router + ".tls.certresolver"] = resolver
        if middlewares:
            labels[router + ".middlewares"] = ",".join(middlewares)
    return labels


class FilterModule(object):
    def filters(self):
        return {"traefik_labels": traefik_labels}
