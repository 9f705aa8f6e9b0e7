"""Bad input stops playbooks/deploy.yml in its preflight play, before any host changes.

Every case's message is checked in one run of the preflight's per-role checks (the task file
the deploy's preflight play runs, roles/preflight/tasks/roles.yml), one host per case: a host
fails at its own first wrong setting, so all cases are read from one run. The real deploy,
against this machine (the local inventory), runs the cases of DEPLOY_CASES (one or more per
role, and those checked outside the roles' own checks), the misspelt variables and the
inventories that make no sense, and asserts: the run fails, the message names the variable
and what is expected, the failure happened before the first play that changes anything, no
secret value is printed, and the host is exactly as before (containers, networks, volumes,
files).
"""

import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest
import yaml

from conftest import LOCAL_SECRETS, REPO

SECRET_DIR = LOCAL_SECRETS

CASES = [
    # (id, extra vars, expected text)
    ("image-without-tag", {"app_image": "registry.example.com/shop"}, "app_image must name a tag or a digest"),
    ("image-upper-case", {"app_image": "Shop:1.0"}, "app_image must name a tag or a digest"),
    ("image-bad-digest", {"app_image": "shop@sha256:abc"}, "app_image must name a tag or a digest"),
    ("image-missing", {"app_image": None}, "app_image"),
    ("app-name-space", {"app_name": "my shop"}, "app_name must be letters, digits"),
    ("app-port-text", {"app_port": "http"}, "app_port"),
    ("app-env-string", {"app_env": "FOO=bar"}, "app_env must be a mapping of NAME: value, like {LOG_LEVEL: info} (found a str)"),
    ("app-secret-lowercase-key", {"app_secrets": {"db_url": "postgresql://a:b@c/d"}}, "app_secrets: every key must be an environment variable name"),
    ("app-secret-empty", {"app_secrets": {"SECRET_KEY": ""}}, "every value must be non-empty"),
    ("app-restart-policy", {"app_restart_policy": "sometimes"}, "app_restart_policy"),
    ("app-health-retries", {"app_healthcheck_retries": "three"}, "app_healthcheck_retries"),
    ("app-replicas", {"app_replicas": 0}, "app_replicas must be at least 1 (found 0)"),
    ("app-health-path", {"app_traefik_health_path": "health"}, "app_traefik_health_path must be empty or start with '/'"),
    ("app-drain-negative", {"app_drain_delay": -1}, "app_drain_delay must be 0 or more seconds (found -1)"),
    ("pg-password-short", {"postgres_superuser_password": "short-pw"}, "postgres_superuser_password must be at least 12 characters"),
    ("pg-password-weak", {"postgres_superuser_password": "PasswordPassword"},
     "postgres_superuser_password must be at least 12 characters and not a well-known"),
    ("pg-password-missing", {"postgres_superuser_password": None}, "postgres_superuser_password"),
    ("pg-app-password-same", {"postgres_superuser_password": "Same-Password-123", "postgres_initial_user_password": "Same-Password-123"},
     "different from postgres_superuser_password"),
    ("pg-database-name", {"postgres_initial_database": "Bad-Name"}, "lower-case SQL identifiers"),
    ("pg-user-is-superuser", {"postgres_initial_user": "postgres"}, "must not be the superuser"),
    ("pg-stop-timeout", {"postgres_stop_timeout": "long"}, "postgres_stop_timeout"),
    ("pg-restart-policy", {"postgres_restart_policy": "forever"}, "postgres_restart_policy"),
    ("docker-log-max-file", {"docker_host_log_max_file": "many"}, "docker_host_log_max_file"),
    ("docker-log-max-size", {"docker_host_log_max_size": "10 MB"}, "docker_host_log_max_size like '10m'"),
    ("docker-package-source", {"docker_host_package_source": "snap"}, "docker_host_package_source"),
    ("docker-external-no-command", {"docker_host_restart_command": []}, "docker_host_restart_command set when"),
    ("docker-registry-no-password", {"docker_host_registries": [{"registry": "ghcr.io", "username": "ci"}]}, "password"),
    ("docker-same-networks", {"docker_host_public_network": "net", "docker_host_internal_network": "net"}, "different"),
    ("docker-live-restore", {"docker_host_live_restore": "sometimes"}, "docker_host_live_restore"),
    ("docker-bad-subnet", {"docker_host_public_network_subnet": "172.30.0.0"}, "subnets in CIDR form"),
    ("domain-malformed", {"app_domains": ["Shop_Example.com"]}, "app_domains must be unique lower-case domain names"),
    ("domain-repeated", {"app_domains": ["a.example.com", "a.example.com"]}, "app_domains must be unique lower-case domain names"),
    ("path-prefix", {"app_path_prefix": "api"}, "app_path_prefix must start with '/'"),
    ("dashboard-plain-password", {"traefik_dashboard_enabled": True, "traefik_dashboard_host": "traefik.example.com",
                                  "traefik_dashboard_users": ["admin:plain-dashboard-pw"]}, "plain passwords are refused"),
    ("dashboard-no-host", {"traefik_dashboard_enabled": True, "traefik_dashboard_users": ["admin:$apr1$abc$def"]},
     "traefik_dashboard_enabled needs traefik_dashboard_host"),
    ("domain-claimed-twice", {"traefik_dashboard_enabled": True, "traefik_dashboard_host": "demo.launchbay.test",
                              "traefik_dashboard_users": ["admin:$apr1$abc$def"]}, "set more than once"),
    ("acme-dns-without-provider", {"traefik_acme_challenge": "dns"}, "traefik_acme_dns_provider is required"),
    ("acme-ca-not-https", {"traefik_acme_ca_server": "http://ca.example.com/dir"}, "must be an https:// URL"),
    ("acme-challenge-unknown", {"traefik_acme_challenge": "email"}, "traefik_acme_challenge"),
    ("tls-too-old", {"traefik_tls_min_version": "VersionTLS10"}, "traefik_tls_min_version"),
    ("access-log-header", {"traefik_access_log_headers": ["X Request Id"]}, "each of traefik_access_log_headers must be a header name"),
    ("logs-without-log-host", {"logs_enabled": True},
     "the group webstack_logs (logs_server_group) must hold exactly one host, the log host"),
    ("pg-public-bind", {"postgres_admin_bind": "0.0.0.0:5432"}, "never published on a public interface"),
    ("pg-mode-unknown", {"postgres_mode": "cluster"}, "postgres_mode"),
    ("pg-external-without-url", {"postgres_mode": "external"}, "postgres_mode 'external' needs postgres_external_url"),
    ("pg-memory-tiny", {"postgres_memory_mb": 64}, "postgres_memory_mb must be at least 256"),
    ("alerts-without-channel", {"backups_alerts_enabled": True}, "backups_alerts_enabled needs a channel"),
    ("alert-email-without-relay", {"backups_alerts_enabled": True, "backups_alert_email_to": ["ops@example.com"]},
     "backups_alert_email_to needs backups_alert_smtp_host"),
    ("alert-relay-localhost", {"backups_alert_email_to": ["ops@example.com"], "backups_alert_smtp_host": "localhost"},
     "('localhost' is the container itself there)"),
]

# Through the real deploy: at least one case per role, the secrets and the plain password (not
# printed), and the cases checked outside the roles' own checks (OUTSIDE_THE_ROLES).
DEPLOY_CASES = {"image-without-tag", "app-secret-empty", "pg-password-weak", "docker-log-max-size", "dashboard-plain-password",
                "alert-email-without-relay"}
# Checked by the preflight's inventory checks (groups.yml, inventory.yml), not a role's own.
OUTSIDE_THE_ROLES = {"logs-without-log-host", "domain-claimed-twice"}
DEPLOY_CASES |= OUTSIDE_THE_ROLES
THROUGH_THE_DEPLOY = [c for c in CASES if c[0] in DEPLOY_CASES]
THROUGH_THE_ROLES_CHECKS = [c for c in CASES if c[0] not in OUTSIDE_THE_ROLES]

# A failure names only the inputs that are wrong: these rules' variables are satisfied in
# the case of the same id and must not appear in its message.
NOT_NAMED = {
    "app-replicas": ["app_rollout_batch_size", "app_releases_kept", "app_domains"],
    "docker-log-max-size": ["docker_host_restart_command", "docker_host_public_network", "CIDR"],
    "acme-ca-not-https": ["traefik_acme_email", "traefik_acme_dns_provider"],
    "pg-memory-tiny": ["postgres_max_connections", "postgres_admin_bind", "postgres_settings"],
    "domain-malformed": ["app_path_prefix", "app_replicas"],
    "alert-email-without-relay": ["backups_alerts_enabled needs a channel", "is the container itself"],
}

INVENTORY_CASES = [
    ("no-db-host", "webstack_db: {hosts: {}}\n        webstack_app: {hosts: {localhost: }}", "must hold exactly one host"),
    ("two-db-hosts", "webstack_db: {hosts: {localhost: , db2.invalid: }}\n        webstack_app: {hosts: {localhost: }}", "must hold exactly one host"),
    ("app-host-without-db", "webstack_db: {hosts: {localhost: }}\n        webstack_app: {hosts: {localhost: , web2.invalid: }}", "could not reach it"),
    ("no-app-host", "webstack_db: {hosts: {localhost: }}\n        webstack_app: {hosts: {}}", "no host in the group webstack_app"),
    # the local group_vars turn monitoring on
    ("no-monitoring-server", "webstack_db: {hosts: {localhost: }}\n        webstack_app: {hosts: {localhost: }}",
     "the group webstack_monitoring (monitoring_server_group) must hold exactly one host, the monitoring server"),
]


def snapshot():
    """Everything the deploy could change on this machine."""

    def out(*cmd):
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout

    def molecule_volumes():
        ids = out("docker", "ps", "-aq", "--filter", "label=launchbay.test=molecule").split()
        return set(out("docker", "inspect", "--format", "{{range .Mounts}}{{.Name}} {{end}}", *ids).split()) if ids else set()

    # Not the Molecule scenarios' hosts, which the test command may run alongside, nor their
    # volumes (named lbm-*, or anonymous like their database server's): read around the listing.
    skip = molecule_volumes()
    volumes = out("docker", "volume", "ls", "-q").splitlines()
    skip |= molecule_volumes()
    containers = out("docker", "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Image}} {{.State}} {{.CreatedAt}} {{.Label \"launchbay.test\"}}")
    state = {
        "containers": [line for line in containers.splitlines() if not line.endswith(" molecule")],
        "networks": out("docker", "network", "ls", "--no-trunc", "-q", "--filter", "label=launchbay.role=docker_host"),
        "volumes": [name for name in volumes if not name.startswith("lbm-") and name not in skip],
        "files": {},
    }
    for root in ("/etc/launchbay", "/etc/docker"):
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                stat = os.stat(path)
                with open(path, "rb") as handle:
                    state["files"][path] = (hashlib.sha256(handle.read()).hexdigest(), stat.st_mode, stat.st_mtime_ns)
    return state


def run_deploy(extra, inventory=None):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    cmd = [
        "ansible-playbook", os.path.join(REPO, "playbooks", "deploy.yml"),
        "-i", inventory or os.path.join(REPO, "inventories", "local"),
        "-e", json.dumps(dict({"_local_secrets": SECRET_DIR}, **extra)),
    ]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def assert_stopped_in_preflight(res, expected, before):
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert " ".join(expected.split()) in " ".join(out.split()), out[-3000:]  # the callback folds long lines
    assert "PLAY [Prepare the Docker hosts]" not in out, "failed after the preflight play:\n" + out[-3000:]
    assert "changed=0" in out and "changed=1" not in out
    assert snapshot() == before
    assert_no_secret_printed(out)


def assert_no_secret_printed(out):
    assert "plain-dashboard-pw" not in out
    for name in os.listdir(SECRET_DIR):  # the local environment's real secrets
        with open(os.path.join(SECRET_DIR, name), encoding="utf-8") as handle:
            assert handle.read().strip() not in out, "secret %s printed" % name


@pytest.fixture(scope="module")
def deployed(local_stack):
    """The local stack as the main command leaves it (deployed once for the modules that share it)."""
    return local_stack


@pytest.fixture(scope="module")
def case_runs(deployed):
    """The deploy of each case of DEPLOY_CASES, two at a time: none may change the host, so they
    can share it (the snapshot is taken before all of them and compared after each case's run is
    read)."""
    before = snapshot()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case: pool.submit(run_deploy, extra) for case, extra, _expected in THROUGH_THE_DEPLOY}
        return before, {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case, extra, expected", THROUGH_THE_DEPLOY, ids=[c[0] for c in THROUGH_THE_DEPLOY])
def test_bad_input_stops_the_deploy_in_preflight(case_runs, case, extra, expected):
    before, results = case_runs
    res = results[case]
    assert_stopped_in_preflight(res, expected, before)
    message = host_failures(res.stdout)["localhost"]
    for name in NOT_NAMED.get(case, []):
        assert name not in message, "%s is right here but the message names it: %s" % (name, message)


@pytest.fixture(scope="module")
def roles_checks(deployed, tmp_path_factory):
    """One run of the preflight's per-role checks with one host per case (the case's variables
    as host variables over the local inventory's group_vars, like extra vars over them); the
    run's output, each host's failure message, and the snapshot taken before it."""
    path = tmp_path_factory.mktemp("preflight-cases")
    # no case is the monitoring's: off, as one monitoring server for all the case hosts would
    # make the monitoring's own checks fail on each of them
    hosts = {case: dict({"monitoring_enabled": False}, **extra) for case, extra, _expected in THROUGH_THE_ROLES_CHECKS}
    groups = {group: {"hosts": {case: None for case in hosts}} for group in ("webstack_db", "webstack_app")}
    inventory = {"all": {"children": {
        "cases": {"hosts": hosts},
        "webstack": {"children": groups, "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                                  "_local_secrets": SECRET_DIR}},
    }}}
    (path / "hosts.yml").write_text(json.dumps(inventory))
    os.symlink(os.path.join(REPO, "inventories", "local", "group_vars"), path / "group_vars")
    before = snapshot()
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    res = subprocess.run(["ansible-playbook", os.path.join(REPO, "tests", "integration", "files", "preflight_cases.yml"), "-i", str(path)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    return res, host_failures(res.stdout), before


def host_failures(out):
    """{host: its failure's msg, folded into one line} from a run's output (each failure is
    printed as "fatal: [HOST]: FAILED! =>" and the result as indented YAML)."""
    failures, host, lines = {}, None, []
    for line in out.splitlines() + [""]:
        if host is not None and line.startswith(" "):
            lines.append(line)
            continue
        if host is not None:
            failures[host] = " ".join(str(yaml.safe_load(textwrap.dedent("\n".join(lines))).get("msg")).split())
            host = None
        if line.startswith("fatal: ["):
            host, lines = line[len("fatal: ["):line.index("]")], []
    return failures


def test_the_roles_checks_change_nothing_and_print_no_secret(roles_checks):
    res, failures, before = roles_checks
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert sorted(failures) == sorted(c[0] for c in THROUGH_THE_ROLES_CHECKS), out[-3000:]
    assert "changed=0" in out and " changed=1" not in out
    assert snapshot() == before
    assert_no_secret_printed(out)


@pytest.mark.parametrize("case, extra, expected", THROUGH_THE_ROLES_CHECKS, ids=[c[0] for c in THROUGH_THE_ROLES_CHECKS])
def test_bad_input_is_named_by_the_roles_checks(roles_checks, case, extra, expected):
    _res, failures, _before = roles_checks
    assert case in failures, "the case's host passed the checks"
    message = failures[case]
    assert " ".join(expected.split()) in message, message
    for name in NOT_NAMED.get(case, []):
        assert name not in message, "%s is right here but the message names it: %s" % (name, message)


def test_a_misspelt_variable_is_named_with_the_nearest_known_one(deployed):
    before = snapshot()
    # warned about in the preflight play, before the bad input stops the run
    res = run_deploy({"app_replica": 3, "app_replicas": 0})
    assert_stopped_in_preflight(res, "app_replicas must be at least 1", before)
    assert "WARNING: app_replica (did you mean app_replicas?) is set but no role" in " ".join(res.stdout.split())
    # and, when asked, it stops the run by itself
    res = run_deploy({"traefik_acme_mail": "ops@example.com", "preflight_unknown_variables": "fail"})
    assert_stopped_in_preflight(res, "traefik_acme_mail (did you mean traefik_acme_email?)", before)


@pytest.mark.parametrize("groups, expected", [c[1:] for c in INVENTORY_CASES], ids=[c[0] for c in INVENTORY_CASES])
def test_inventory_that_makes_no_sense_stops_in_preflight(deployed, tmp_path, groups, expected):
    (tmp_path / "hosts.yml").write_text(
        "all:\n  children:\n    webstack:\n      children:\n        %s\n"
        "      vars:\n        ansible_connection: local\n        ansible_python_interpreter: %s\n" % (groups, sys.executable)
    )
    os.symlink(os.path.join(REPO, "inventories", "local", "group_vars"), tmp_path / "group_vars")
    before = snapshot()
    assert_stopped_in_preflight(run_deploy({}, inventory=str(tmp_path)), expected, before)


def test_case_table_is_large_enough():
    assert len(CASES) + len(INVENTORY_CASES) >= 20
