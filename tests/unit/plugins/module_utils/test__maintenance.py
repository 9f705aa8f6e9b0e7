# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os

import pytest
from ansible_collections.launchbay.webstack.plugins.module_utils._maintenance import (
    MaintenanceError,
    MaintenanceMode,
    maintenance_routers,
)
from ansible_collections.launchbay.webstack.plugins.module_utils._traefik_api import TraefikAPI, TraefikAPIError
from ansible_collections.launchbay.webstack.tests.unit.fake_clock import Clock

ROUTERS = {
    "shop-shop-example-com": {"rule": "Host(`shop.example.com`)", "entryPoints": ["websecure"], "service": "shop",
                              "tls": {"certResolver": "letsencrypt"}, "middlewares": ["ratelimit@file"]},
    "shop-www-example-com": {"rule": "Host(`www.example.com`) && PathPrefix(`/api`)", "entryPoints": ["websecure"],
                             "service": "shop", "tls": {}},
}


class FakeTraefik:
    """Traefik's API as far as the routers go: it shows what the file says after `lag` polls."""

    def __init__(self, path, lag=2, down=0):
        self.path, self.lag, self.down, self.polls = path, lag, down, 0

    def headers(self):
        return {}

    def get(self, api_path):
        self.polls += 1
        if self.polls <= self.down:
            raise ConnectionRefusedError("connection refused")
        if self.polls <= self.down + self.lag or not os.path.exists(self.path):
            return None
        with open(self.path, encoding="utf-8") as handle:
            routers = json.loads(handle.read().split("\n", 1)[1])["http"]["routers"]
        name = api_path.rsplit("/", 1)[1].split("@")[0]
        return {"status": "enabled"} if name in routers else None


def manager(tmp_path, api=None, timeout=30, clock=None):
    path = str(tmp_path / "maintenance-shop.yml")
    clock = clock or Clock()
    return MaintenanceMode(path, ROUTERS, "launchbay-maintenance@file", ["/health"], api=api or FakeTraefik(path),
                           timeout=timeout, clock=clock.time, sleep=clock.sleep), path


def test_routers_go_to_the_maintenance_service_in_front_and_leave_the_health_path():
    routers = maintenance_routers(ROUTERS, "launchbay-maintenance@file", ["/health"])
    first = routers["shop-shop-example-com-maintenance"]
    assert first["rule"] == "(Host(`shop.example.com`)) && !PathPrefix(`/health`)"
    assert first["service"] == "launchbay-maintenance@file" and first["priority"] > 1000
    assert first["tls"] == {"certResolver": "letsencrypt"} and first["middlewares"] == ["ratelimit@file"]
    assert routers["shop-www-example-com-maintenance"]["rule"] == \
        "(Host(`www.example.com`) && PathPrefix(`/api`)) && !PathPrefix(`/health`)"


def test_on_writes_the_file_waits_for_traefik_and_a_second_on_changes_nothing(tmp_path):
    mode, path = manager(tmp_path)
    result = mode.apply("on")
    assert result["changed"] and result["state"] == "on" and result["since"]
    assert mode.api.polls > 2  # it waited for Traefik to show the routers
    assert mode.current()[1] == result["since"]
    again = mode.apply("on")
    assert not again["changed"] and again["since"] == result["since"]
    assert open(path, encoding="utf-8").read().startswith("# Managed by launchbay.webstack.maintenance_mode")


def test_off_removes_the_file_and_waits_until_traefik_drops_the_routers(tmp_path):
    mode, path = manager(tmp_path)
    mode.apply("on")
    result = mode.apply("off")
    assert result["changed"] and result["state"] == "off" and result["since"] is None
    assert not os.path.exists(path)
    assert not mode.apply("off")["changed"]


def test_check_mode_neither_writes_nor_waits(tmp_path):
    mode, path = manager(tmp_path)
    result = mode.apply("on", check_mode=True)
    assert result["changed"] and not os.path.exists(path) and mode.api.polls == 0


def test_a_restarting_traefik_is_waited_for(tmp_path):
    mode, _path = manager(tmp_path)
    mode.api.down = 5
    assert mode.apply("on")["changed"]


def test_a_traefik_that_never_shows_the_routers_fails_bounded_with_what_it_saw(tmp_path):
    clock = Clock()
    mode, _path = manager(tmp_path, timeout=5, clock=clock)
    mode.api.lag = 10 ** 6
    with pytest.raises(MaintenanceError, match=r"did not enable the maintenance routers within 5s .*absent"):
        mode.apply("on")
    assert clock.now <= 6


def test_a_torn_file_counts_as_on_and_is_rewritten(tmp_path):
    mode, path = manager(tmp_path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("# half a fi")
    assert mode.current() == ({}, None)
    assert mode.apply("on")["changed"]
    assert mode.current()[0] == maintenance_routers(ROUTERS, "launchbay-maintenance@file", ["/health"])


def test_an_unreadable_api_token_fails_at_once(tmp_path):
    path = str(tmp_path / "maintenance-shop.yml")
    clock = Clock()
    mode = MaintenanceMode(path, ROUTERS, "launchbay-maintenance@file", api=TraefikAPI("http://127.0.0.1:8099", str(tmp_path / "missing")),
                           timeout=30, clock=clock.time, sleep=clock.sleep)
    with pytest.raises(TraefikAPIError, match="cannot read Traefik's API token"):
        mode.apply("on")
    assert clock.now == 0


def paused(tmp_path, status, timeout=30):
    path = str(tmp_path / "maintenance-shop.yml")
    clock = Clock()
    mode = MaintenanceMode(path, ROUTERS, "launchbay-maintenance@file", ["/health"], api=FakeTraefik(path), timeout=timeout,
                           clock=clock.time, sleep=clock.sleep, ready_urls=["http://10.0.0.7:8000/health", "http://10.0.0.8:8000/health"],
                           status=status)
    mode.apply("on")
    return mode, path, clock


def test_off_lifts_the_page_only_once_every_ready_url_answers(tmp_path):
    answers = {"http://10.0.0.7:8000/health": iter([503, 0, 200]), "http://10.0.0.8:8000/health": iter([200])}
    asked = []
    mode, path, clock = paused(tmp_path, lambda url: asked.append(url) or next(answers[url]))
    began = clock.now
    assert mode.apply("off")["changed"] and not os.path.exists(path)
    assert asked.count("http://10.0.0.7:8000/health") == 3 and asked.count("http://10.0.0.8:8000/health") == 1
    assert clock.now > began  # it waited for the first replica


def test_off_keeps_the_page_when_a_replica_never_answers(tmp_path):
    mode, path, _clock = paused(tmp_path, lambda url: 503 if "10.0.0.7" in url else 200, timeout=5)
    with pytest.raises(MaintenanceError, match=r"maintenance stays on: .*10\.0\.0\.7:8000/health \(503\)"):
        mode.apply("off")
    assert os.path.exists(path) and mode.current()[0]
