#!/usr/bin/env python
"""Steady HTTPS load against Traefik, counting every failed request.

Used by the integration tests, the Molecule end-to-end scenario and the rollout benchmark.
Sends GET requests at a fixed total rate from a few worker threads, each over its own
keep-alive connection (reconnecting after an error), to an address the run created (by
default 127.0.0.1:443) with the given Host/SNI name, verifying the certificate against
the given CA. Bounded: it stops after max_seconds or max_requests, whichever comes first.

    python3 lab/loadgen.py --host demo.launchbay.test --cafile pebble-root.pem --seconds 20 --rate 100
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import threading
import time


class _Connection(http.client.HTTPSConnection):
    """HTTPS to `address` with SNI and Host set to `server_name`."""

    def __init__(self, server_name, address, context, timeout):
        http.client.HTTPSConnection.__init__(self, server_name, address[1], timeout=timeout, context=context)
        self._address = address
        self._server_name = server_name
        self._tls = context

    def connect(self):
        sock = socket.create_connection(self._address, self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self._server_name)


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]


class LoadGenerator(object):
    def __init__(self, host, cafile=None, address=("127.0.0.1", 443), path="/", rate=100.0, workers=8,
                 timeout=10.0, max_seconds=600.0, max_requests=200000, version_header="X-App-Version"):
        self.host = host
        self.address = address
        self.path = path
        self.rate = float(rate)
        self.workers = workers
        self.timeout = timeout
        self.max_seconds = max_seconds
        self.max_requests = max_requests
        self.version_header = version_header
        self.context = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = []
        self.sent = 0
        self.failures = []  # (seconds since start, reason)
        self.latencies = []
        self.versions = []  # (seconds since start, version)
        self.started = None
        self.stopped = None

    def _record(self, offset, latency, version, failure):
        with self._lock:
            self.sent += 1
            self.latencies.append(latency)
            if failure:
                self.failures.append((round(offset, 3), failure))
            elif version:
                if not self.versions or self.versions[-1][1] != version:
                    self.versions.append((round(offset, 3), version))

    def _worker(self, index):
        interval = self.workers / self.rate
        next_at = self.started + index * interval / self.workers
        conn = None
        while not self._stop.is_set():
            now = time.monotonic()
            if now - self.started >= self.max_seconds or self.sent >= self.max_requests:
                break
            if next_at > now:
                time.sleep(min(next_at - now, 0.05))
                continue
            next_at += interval
            if conn is None:
                conn = _Connection(self.host, self.address, self.context, self.timeout)
            began = time.monotonic()
            failure, version = None, None
            try:
                conn.request("GET", self.path, headers={"Host": self.host, "User-Agent": "launchbay-loadgen"})
                resp = conn.getresponse()
                resp.read()
                version = resp.getheader(self.version_header)
                if resp.status >= 400:
                    # a 503 with Retry-After is the maintenance page (or an app that says when to come back)
                    failure = "HTTP %d%s" % (resp.status, " Retry-After" if resp.getheader("Retry-After") else "")
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                failure = "%s: %s" % (type(exc).__name__, exc)
                if conn is not None:
                    conn.close()
                conn = None
            self._record(began - self.started, time.monotonic() - began, version, failure)
        if conn is not None:
            conn.close()

    def start(self):
        self.started = time.monotonic()
        for index in range(self.workers):
            thread = threading.Thread(target=self._worker, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        self.stopped = time.monotonic()
        return self.summary()

    def summary(self):
        with self._lock:
            lat = list(self.latencies)
            elapsed = (self.stopped or time.monotonic()) - self.started
            reasons = {}
            unserved = [offset for offset, _reason in self.failures]
            for _offset, reason in self.failures:
                reasons[reason] = reasons.get(reason, 0) + 1
            return {
                "sent": self.sent,
                "failed": len(self.failures),
                "failure_reasons": reasons,
                "first_failures": self.failures[:10],
                # from the first to the last request that could not be served (seconds since the start)
                "unserved": [round(min(unserved), 2), round(max(unserved), 2)] if unserved else None,
                "unserved_seconds": round(max(unserved) - min(unserved), 2) if unserved else 0.0,
                "seconds": round(elapsed, 2),
                "rate": round(self.sent / elapsed, 1) if elapsed else 0,
                "p50_ms": round(percentile(lat, 0.50) * 1000, 1) if lat else None,
                "p99_ms": round(percentile(lat, 0.99) * 1000, 1) if lat else None,
                "versions": list(self.versions),
            }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--host", required=True, help="Host and SNI name")
    parser.add_argument("--cafile", help="CA to verify the certificate with")
    parser.add_argument("--address", default="127.0.0.1:443")
    parser.add_argument("--path", default="/")
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    ip, port = args.address.rsplit(":", 1)
    gen = LoadGenerator(args.host, args.cafile, (ip, int(port)), args.path, args.rate, args.workers,
                        max_seconds=min(args.seconds, 3600)).start()
    try:
        time.sleep(args.seconds)
    except KeyboardInterrupt:
        pass
    print(json.dumps(gen.stop(), indent=2))


if __name__ == "__main__":
    main()
