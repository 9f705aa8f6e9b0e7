# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for the Docker Engine API over its Unix socket (standard library only).

Private: no API promise. The modules of this collection need a handful of calls
(list, inspect, create, start, stop, remove, connect, logs); a dependency on the Docker
SDK on every host would be heavier than this.
"""

from __future__ import annotations

import json
import socket
import struct

from ansible.module_utils.basic import env_fallback

try:
    from http.client import HTTPConnection
    from urllib.parse import quote, urlencode
except ImportError:  # pragma: no cover - Python 2 is not supported
    raise

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_HOST = "unix://" + DEFAULT_SOCKET
# The modules' option for it, named as community.docker names it (docker_host, alias
# docker_url, DOCKER_HOST from the environment); documented by the docker_api doc fragment.
DOCKER_ARGUMENT_SPEC = {"docker_host": {"type": "str", "default": DEFAULT_HOST, "aliases": ["docker_url"],
                                        "fallback": (env_fallback, ["DOCKER_HOST"])}}


def socket_path(docker_host):
    """The Unix socket of a docker_host URL; this client speaks only unix://."""
    if docker_host.startswith("unix://") and len(docker_host) > len("unix://"):
        return docker_host[len("unix://"):]
    raise DockerError("docker_host must be unix:///path/to/docker.sock (this collection talks to the engine of the host "
                      "it runs on); got %r" % docker_host)


class DockerError(Exception):
    """An API call failed; `status` is the HTTP status (None for a connection error)."""

    def __init__(self, message, status=None):
        super(DockerError, self).__init__(message)
        self.status = status


class _UnixConnection(HTTPConnection):
    def __init__(self, path, timeout):
        HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def demux_logs(raw):
    """Docker multiplexes stdout/stderr of a container without a TTY in 8-byte framed chunks."""
    out = []
    pos = 0
    while pos + 8 <= len(raw):
        size = struct.unpack(">I", raw[pos + 4:pos + 8])[0]
        if raw[pos] not in (0, 1, 2) or pos + 8 + size > len(raw):
            return raw.decode("utf-8", "replace")  # not multiplexed (TTY)
        out.append(raw[pos + 8:pos + 8 + size])
        pos += 8 + size
    return b"".join(out).decode("utf-8", "replace")


class DockerClient(object):
    """Calls the Engine API at `socket_path`; raises DockerError naming the call on failure."""

    def __init__(self, socket_path=DEFAULT_SOCKET, timeout=60):
        self.socket_path = socket_path
        self.timeout = timeout

    @classmethod
    def from_params(cls, params):
        """The client for a module's docker_host option."""
        return cls(socket_path(params["docker_host"]))

    def _call(self, method, path, query=None, body=None, timeout=None, raw=False, missing_ok=False):
        """The decoded answer; with missing_ok, None when the object does not exist (404)."""
        if query:
            path += "?" + urlencode(query)
        conn = _UnixConnection(self.socket_path, timeout or self.timeout)
        try:
            headers = {}
            data = None
            if body is not None:
                data = json.dumps(body).encode("utf-8")
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
        except (OSError, socket.timeout) as exc:
            raise DockerError("Docker API %s %s failed: %s (socket %s)" % (method, path, exc, self.socket_path))
        finally:
            conn.close()
        if resp.status == 404 and missing_ok:
            return None
        if resp.status >= 400:
            try:
                message = json.loads(payload.decode("utf-8")).get("message")
            except (ValueError, AttributeError):
                message = payload.decode("utf-8", "replace")[:300]
            raise DockerError("Docker API %s %s: %s %s" % (method, path, resp.status, message), resp.status)
        if raw:
            return payload
        if not payload:
            return None
        return json.loads(payload.decode("utf-8"))

    # -- containers -------------------------------------------------------------------
    def containers(self, labels):
        """All containers (running or not) carrying every `key=value` in `labels`."""
        filters = {"label": ["%s=%s" % (k, v) for k, v in sorted(labels.items())]}
        return self._call("GET", "/containers/json", {"all": "1", "filters": json.dumps(filters)})

    def inspect(self, name):
        """The container, or None when there is none."""
        return self._call("GET", "/containers/%s/json" % quote(name, safe=""), missing_ok=True)

    def create(self, name, config):
        return self._call("POST", "/containers/create", {"name": name}, config)["Id"]

    def start(self, ident):
        self._call("POST", "/containers/%s/start" % quote(ident, safe=""))

    def stop(self, ident, timeout):
        self._call("POST", "/containers/%s/stop" % quote(ident, safe=""), {"t": str(int(timeout))},
                   timeout=timeout + self.timeout)

    def remove(self, ident):
        self._call("DELETE", "/containers/%s" % quote(ident, safe=""), {"force": "1"}, missing_ok=True)

    def connect(self, network, ident, aliases=None):
        body = {"Container": ident, "EndpointConfig": {"Aliases": list(aliases or [])}}
        self._call("POST", "/networks/%s/connect" % quote(network, safe=""), body=body)

    def network(self, name):
        """The network, or None when there is none."""
        return self._call("GET", "/networks/%s" % quote(name, safe=""), missing_ok=True)

    def logs(self, ident, tail=20):
        raw = self._call("GET", "/containers/%s/logs" % quote(ident, safe=""),
                         {"stdout": "1", "stderr": "1", "tail": str(tail)}, raw=True)
        return demux_logs(raw or b"")

    # -- images -------------------------------------------------------------------------
    def image(self, name):
        """The image, or None when it is not on the host."""
        return self._call("GET", "/images/%s/json" % quote(name, safe=":@/"), missing_ok=True)
