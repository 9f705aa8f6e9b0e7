# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # How an app's domains are routed: the options the traefik_routers and traefik_labels filters share.
    DOCUMENTATION = r"""
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
"""
