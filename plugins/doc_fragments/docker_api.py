# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Modules that talk to the Docker Engine API of the host they run on
    # (module_utils/_docker_api.py; the argument is DOCKER_ARGUMENT_SPEC there).
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker Engine API of the host the module runs on, as a C(unix://) URL (named like
        community.docker's option). Other schemes are refused.
      - If not given, the value of the E(DOCKER_HOST) environment variable is used.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
"""
