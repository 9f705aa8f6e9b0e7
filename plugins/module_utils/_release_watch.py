# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watch window after a deploy: the new release's answers through the proxy, read from
Prometheus (Traefik's metrics of the app's service) until the window ends, and a verdict as
soon as they break a threshold. A bounded poll: it ends at the window's end, or at once on a
verdict, or when Prometheus stops answering for longer than one interval allows."""

from __future__ import annotations

import json
import math
import time


class WatchError(Exception):
    pass


def prometheus_query(url, query, timeout=10):
    """The scalar value of an instant query (None when the vector is empty)."""
    from ansible.module_utils.six.moves.urllib.parse import urlencode
    from ansible.module_utils.urls import open_url

    response = open_url("%s/api/v1/query?%s" % (url.rstrip("/"), urlencode({"query": query})), timeout=timeout)
    data = json.loads(response.read())
    if data.get("status") != "success":
        raise WatchError("Prometheus refused %s: %s" % (query, data.get("error")))
    result = data["data"]["result"]
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if math.isnan(value) else value  # NaN: no requests to divide by


def queries(service, window):
    selector = 'service="%s"' % service.replace('"', '\\"')
    return {
        "requests": "sum(increase(traefik_service_requests_total{%s}[%s]))" % (selector, window),
        "errors": 'sum(increase(traefik_service_requests_total{%s,code=~"5.."}[%s]))' % (selector, window),
        "latency_p95": "histogram_quantile(0.95, sum by (le) (rate(traefik_service_request_duration_seconds_bucket{%s}[%s])))"
                       % (selector, window),
    }


def verdict(figures, error_ratio_max, latency_p95_max, min_requests):
    """Why the release fails, or None (too few requests to judge is no failure)."""
    requests = figures.get("requests") or 0
    if requests < min_requests:
        return None
    errors = figures.get("errors") or 0
    ratio = errors / requests
    if ratio > error_ratio_max:
        return "%.1f%% of %d requests answered 5xx (limit %.1f%%)" % (ratio * 100, round(requests), error_ratio_max * 100)
    latency = figures.get("latency_p95")
    if latency is not None and latency > latency_p95_max:
        return "95%% of requests took up to %.2f s (limit %.2f s)" % (latency, latency_p95_max)
    return None


class ReleaseWatch(object):
    def __init__(self, query, service, seconds, interval, error_ratio_max, latency_p95_max, min_requests, min_window,
                 clock=time.monotonic, sleep=time.sleep):
        self.query = query
        self.service = service
        self.seconds = seconds
        self.interval = interval
        self.error_ratio_max = error_ratio_max
        self.latency_p95_max = latency_p95_max
        self.min_requests = min_requests
        self.min_window = min_window
        self.clock = clock
        self.sleep = sleep

    def measure(self, elapsed):
        window = "%ds" % max(int(elapsed + 0.999), self.min_window)
        figures = {}
        for name, text in queries(self.service, window).items():
            figures[name] = self.query(text)
        figures["window"] = window
        return figures

    def run(self):
        """(failure reason or None, figures, seconds watched)."""
        started = self.clock()
        if self.seconds > self.min_window:
            self.sleep(self.min_window)  # the first reading covers the watch alone
        figures, unanswered = {}, None
        while True:
            elapsed = self.clock() - started
            try:
                figures = self.measure(elapsed)
                unanswered = None
            except Exception as exc:  # refused, timeout, refused query
                unanswered = unanswered or (self.clock(), str(exc))
                if self.clock() - unanswered[0] > 3 * self.interval:
                    raise WatchError("Prometheus stopped answering during the watch: %s" % unanswered[1])
            # judged once the range read covers only the watch (not the rollout before it), or at its end
            judged = figures and (elapsed >= self.min_window or elapsed >= self.seconds)
            reason = verdict(figures, self.error_ratio_max, self.latency_p95_max, self.min_requests) if judged else None
            if reason or elapsed >= self.seconds:
                return reason, figures, round(elapsed, 1)
            self.sleep(min(self.interval, max(self.seconds - elapsed, 0.1)))
