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
  port:
    description: Port the app listens on inside the container.
    type: int
    required: true
  network:
    description: Docker network Traefik reaches the app on.
    type: str
    required: true
extends_documentation_fragment:
  - launchbay.webstack.traefik_route
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

from ansible_collections.launchbay.webstack.plugins.plugin_utils._traefik_routes import routers


def traefik_labels(domains, name, port, network, resolver="letsencrypt", path_prefix="", middlewares=None, entrypoint="websecure"):
    found = routers("traefik_labels", domains, name, port, resolver, path_prefix, middlewares, entrypoint)
    if not found:
        return {}
    labels = {
        "traefik.enable": "true",
        "traefik.docker.network": network,
        "traefik.http.services.%s.loadbalancer.server.port" % name: str(port),
    }
    for router_name, router in found.items():
        prefix = "traefik.http.routers.%s" % router_name
        labels[prefix + ".rule"] = router["rule"]
        labels[prefix + ".entrypoints"] = ",".join(router["entryPoints"])
        labels[prefix + ".service"] = router["service"]
        labels[prefix + ".tls"] = "true"
        if router["tls"].get("certResolver"):
            labels[prefix + ".tls.certresolver"] = router["tls"]["certResolver"]
        if router.get("middlewares"):
            labels[prefix + ".middlewares"] = ",".join(router["middlewares"])
    return labels


class FilterModule(object):
    def filters(self):
        return {"traefik_labels": traefik_labels}
