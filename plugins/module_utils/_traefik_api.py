# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traefik's read-only API on the host (the traefik role publishes it on 127.0.0.1 and
requires its bearer token). Private: no API promise."""

from __future__ import annotations

import json


class TraefikAPIError(Exception):
    pass


def http_get_json(url, timeout=5, headers=None):
    """GET a JSON document; None on 404."""
    from ansible.module_utils.urls import open_url
    from urllib.error import HTTPError

    try:
        resp = open_url(url, timeout=timeout, validate_certs=True, headers=headers)
        return json.loads(resp.read().decode("utf-8"))
    except HTTPError as exc:
        if exc.code == 404:
            return None
        raise


class TraefikAPI(object):
    def __init__(self, url, token_file="", http_get=http_get_json):
        self.url = url.rstrip("/")
        self.token_file = token_file
        self.http_get = http_get
        self._headers = None

    def headers(self):
        """The API's bearer token (the traefik role's token file, readable by root only)."""
        if self._headers is None:
            self._headers = {}
            if self.token_file:
                try:
                    with open(self.token_file, encoding="utf-8") as handle:
                        self._headers = {"Authorization": "Bearer " + handle.read().strip()}
                except OSError as exc:
                    raise TraefikAPIError("cannot read Traefik's API token %s: %s" % (self.token_file, exc))
        return self._headers

    def get(self, path):
        """The JSON at `path`, None when Traefik says 404; connection errors raise."""
        return self.http_get(self.url + path, headers=self.headers())
