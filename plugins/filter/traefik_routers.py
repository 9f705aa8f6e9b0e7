# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: traefik_routers
short_description: Traefik routers (file provider) for an app's domains
version_added: 0.1.0
description:
  - Turns a list of domains into routers of Traefik's file provider, one per domain (so each domain
    gets its own certificate), on the C(websecure) entrypoint with the ACME resolver, all pointing at
    one service named like the app.
  - The launchbay.webstack.rolling_update module writes them beside the service whose servers are the
    app's replicas.
  - An empty list gives no routers. Domains must be lower-case DNS names, unique; a path prefix must
    start with C(/).
options:
  port:
    description: Port the app listens on inside the container (checked only).
    type: int
    required: true
extends_documentation_fragment:
  - launchbay.webstack.traefik_route
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Roll out the app behind Traefik
  launchbay.webstack.rolling_update:
    app: shop
    image: ghcr.io/acme/shop:1.4.2
    traefik:
      file: /etc/launchbay/traefik/dynamic/app-shop.yml
      routers: "{{ ['shop.example.com', 'www.shop.example.com'] | launchbay.webstack.traefik_routers(name='shop', port=8000) }}"
"""

RETURN = r"""
_value:
  description: Routers by name, each with rule, entryPoints, service, tls and middlewares.
  type: dict
"""

from ansible_collections.launchbay.webstack.plugins.plugin_utils._traefik_routes import routers


def traefik_routers(domains, name, port, resolver="letsencrypt", path_prefix="", middlewares=None, entrypoint="websecure"):
    return routers("traefik_routers", domains, name, port, resolver, path_prefix, middlewares, entrypoint)


class FilterModule(object):
    def filters(self):
        return {"traefik_routers": traefik_routers}
