"""The demo app, run from its real image against real PostgreSQL."""

import json
import subprocess
import threading
import time

import pytest

from conftest import LABEL, PREFIX, docker, http, migrate, status_is, wait_until


@pytest.fixture(scope="module", autouse=True)
def fresh_schema(postgres):
    postgres.psql("DROP TABLE IF EXISTS records, schema_migrations")


def healthy(app):
    status, _headers, body = http("GET", app.url + "/health")
    return status == 200 and body


def test_missing_config_names_the_variable(lab_network):
    res = docker(
        "run", "--rm", "--label", LABEL, "--network", lab_network, "-e", "SECRET_KEY=long-enough-secret-key",
        PREFIX + "/demo-app:v1", check=False,
    )
    assert res.returncode == 2
    assert "missing required environment variable DATABASE_URL" in res.stderr


def test_short_secret_key_is_refused(lab_network, postgres):
    res = docker(
        "run", "--rm", "--label", LABEL, "--network", lab_network, "-e", "DATABASE_URL=" + postgres.url,
        "-e", "SECRET_KEY=short", PREFIX + "/demo-app:v1", check=False,
    )
    assert res.returncode == 2
    assert "SECRET_KEY must be at least 16 characters" in res.stderr
    assert postgres.password not in res.stdout + res.stderr


def test_unmigrated_database_is_unhealthy_then_migrate_is_idempotent(lab_network, postgres, run_app):
    app = run_app("v1")
    status, _h, body = wait_until(status_is(app.url + "/health", 200, 503), 30, "the app to answer")
    assert status == 503 and body["failing"] == ["schema"]
    first = migrate(lab_network, postgres, "v1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert '"applied": ["0001_records.sql"]' in first.stdout
    second = migrate(lab_network, postgres, "v1")
    assert second.returncode == 0 and '"applied": []' in second.stdout
    body = wait_until(lambda: healthy(app), 30, "the app to become healthy")
    assert body["components"]["database"]["status"] == "ok"
    assert body["components"]["schema"] == {"status": "ok", "database": 1, "required": 1}
    assert body["version"] == "v1"


def test_records_round_trip_with_version_everywhere(run_app):
    app = run_app("v1")
    wait_until(lambda: healthy(app), 30, "the app to become healthy")
    status, headers, body = http("POST", app.url + "/records", {"note": "survives deploys"})
    assert status == 201 and headers["X-App-Version"] == "v1" and body["version"] == "v1"
    rec_id = body["record"]["id"]
    status, headers, body = http("GET", app.url + "/records/%d" % rec_id)
    assert status == 200 and body["record"]["note"] == "survives deploys" and headers["X-App-Version"] == "v1"
    status, _h, body = http("GET", app.url + "/records")
    assert status == 200 and body["count"] >= 1 and any(r["id"] == rec_id for r in body["records"])
    assert http("POST", app.url + "/records", {"nope": 1})[0] == 400
    assert http("GET", app.url + "/records/999999")[0] == 404


def test_concurrent_migrate_is_refused(lab_network, postgres):
    holder = subprocess.Popen(
        ["docker", "run", "--rm", "--name", "lbi-migrate-hold", "--label", LABEL, "--network", lab_network,
         "-e", "DATABASE_URL=" + postgres.url, "-e", "APP_MIGRATE_HOLD_SECONDS=8", PREFIX + "/demo-app:v2", "migrate"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until(lambda: postgres.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") != "0", 30, "the advisory lock")
        second = migrate(lab_network, postgres, "v2", name="lbi-migrate-second")
        assert second.returncode == 4
        assert "another migration holds the advisory lock" in second.stdout
    finally:
        out, _err = holder.communicate(timeout=60)
    assert holder.returncode == 0 and '"applied": ["0002_records_tag.sql"]' in out
    assert postgres.psql("SELECT max(version) FROM schema_migrations") == "2"


def test_v1_still_serves_on_the_v2_schema(run_app):
    app = run_app("v1")
    body = wait_until(lambda: healthy(app), 30, "v1 on schema 2")
    assert body["components"]["schema"] == {"status": "ok", "database": 2, "required": 1}


def test_v2_and_broken(run_app):
    v2 = run_app("v2")
    body = wait_until(lambda: healthy(v2), 30, "v2 healthy")
    assert body["version"] == "v2"
    broken = run_app("broken")
    time.sleep(3)
    for _attempt in range(5):
        status, _h, body = http("GET", broken.url + "/health")
        assert status == 503 and "selftest" in body["failing"]
        time.sleep(0.5)
    assert http("GET", broken.url + "/records")[0] == 200  # it starts, it is only never healthy


def test_database_outage_is_reported_and_recovered(run_app, postgres):
    app = run_app("v2")
    wait_until(lambda: healthy(app), 30, "healthy before the outage")
    docker("stop", "-t", "20", postgres.name)
    try:
        status, _h, body = wait_until(status_is(app.url + "/health", 503, timeout=10), 30, "503 during the outage")
        assert body["failing"] == ["database"] and body["components"]["database"]["status"] == "unreachable"
        assert postgres.password not in json.dumps(body)
    finally:
        docker("start", postgres.name)
    wait_until(postgres.ready, 60, "PostgreSQL back")
    wait_until(lambda: healthy(app), 30, "the app to reconnect by itself")
    assert http("POST", app.url + "/records", {"note": "after the outage"})[0] == 201


def test_sigterm_finishes_in_flight_requests_and_exits_zero(run_app):
    app = run_app("v2", env={"APP_DRAIN_TIMEOUT": "10"})
    wait_until(lambda: healthy(app), 30, "healthy")
    results = {}

    def slow_request():
        results["slow"] = http("GET", app.url + "/slow?ms=2500", timeout=15)

    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.8)  # the request is in flight
    started = time.monotonic()
    docker("kill", "--signal", "TERM", app.name)
    thread.join(20)
    assert results["slow"][0] == 200 and results["slow"][2]["slept_ms"] == 2500

    def exited():
        state = docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", app.name).stdout.strip()
        return state if state.startswith("exited") else None

    code = wait_until(exited, 15, "the app to exit")
    assert code == "exited 0"
    assert time.monotonic() - started < 10
    with pytest.raises(OSError):
        http("GET", app.url + "/health", timeout=2)


def test_one_json_log_line_per_request(run_app):
    app = run_app("v1")
    wait_until(lambda: healthy(app), 30, "healthy")
    for _i in range(3):
        http("GET", app.url + "/records?limit=1")

    def requests_in(lines):
        return [entry for entry in lines if entry["event"] == "request" and entry["path"] == "/records"]

    def logged():
        """The log's lines once it holds the three requests (the app logs a request after answering
        it); an app that stopped ends the wait at once."""
        found = [json.loads(line) for line in docker("logs", app.name).stdout.splitlines() if line.strip()]
        if len(requests_in(found)) >= 3:
            return found
        state = docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", app.name).stdout.strip()
        assert state.startswith("running"), "the app stopped (%s) after logging %d requests" % (state, len(requests_in(found)))
        return None

    lines = wait_until(logged, 10, "three request lines in the app's log")
    requests = requests_in(lines)
    assert len(requests) == 3
    assert all(entry["status"] == 200 and entry["version"] == "v1" and "ms" in entry for entry in requests)
    start = [entry for entry in lines if entry["event"] == "start"][0]
    assert "integration-test-pw" not in json.dumps(lines) and ":***@" in start["database"]
