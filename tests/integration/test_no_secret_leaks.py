"""Secrets never appear in output, logs, docker inspect or files readable by others.

Deploys a separate copy of the stack (its own containers, volume, directories and
fresh secrets) with playbooks/deploy.yml at -vvv, then searches everything for each
secret value: the whole playbook output, `docker inspect` and `docker logs` of every
container it made, and every file the roles wrote. The only files allowed to hold a
secret are the secret files themselves, and those must be mode 0400/0600 and not
readable by others.
"""

import json
import os
import secrets
import stat
import subprocess
import urllib.parse
import urllib.request

import pytest

from conftest import REPO, traefik_api, wait_until

NAME = "lbleak"
PG = NAME + "_postgres"
VOLUME = NAME + "_pgdata"
PG_DIR = "/etc/launchbay/" + NAME + "-postgres"
APP_DIR = "/etc/launchbay/apps/" + NAME
BACKUPS_DIR = "/etc/launchbay/" + NAME + "-backups"
MONITORING_DIR = "/etc/launchbay/monitoring"


def replicas():
    return subprocess.run(["docker", "ps", "-aq", "--filter", "label=launchbay.app=" + NAME], capture_output=True, text=True,
                          check=False).stdout.split()


def cleanup():
    subprocess.run(["docker", "rm", "-f", "-v", PG, NAME + "-migrate", *replicas()], capture_output=True, check=False)
    subprocess.run(["docker", "volume", "rm", "-f", VOLUME], capture_output=True, check=False)
    subprocess.run(["rm", "-rf", PG_DIR, APP_DIR, BACKUPS_DIR, "/etc/launchbay/traefik/dynamic/app-%s.yml" % NAME,
                    "/var/lib/launchbay/releases/%s.json" % NAME], check=False)


# Characters that broke secrets before: template markers, quotes, $, backslash, URL
# delimiters, non-ASCII (and a newline where the secret's consumer allows one).
NASTY = "{{ lookup('env','HOME') }}{# c #}{% raw %}$HOME\\\"q\"'q'@:/#?%20é日本"
VAULT_PASSWORD = "leak-test-vault-password"


def vault_layout(tmp, values):
    """The documented layout (inventories/README.md): a copy of the local inventory with a
    vault.yml of !unsafe vault_* values, referenced from a plain group_vars file."""
    inventory = os.path.join(tmp, "inventory")
    subprocess.run(["cp", "-rL", os.path.join(REPO, "inventories", "local"), inventory], check=True)
    group_vars = os.path.join(inventory, "group_vars", "all")
    with open(os.path.join(group_vars, "20_leak.yml"), "w", encoding="utf-8") as handle:
        handle.write(
            "postgres_superuser_password: '{{ vault_pg_superuser }}'\n"
            "postgres_initial_user_password: '{{ vault_pg_app }}'\n"
            "backups_passphrase: '{{ vault_dump }}'\n"
            "backups_pitr_cipher_pass: '{{ vault_wal }}'\n"
            "app_secrets:\n"
            "  DATABASE_URL: >-\n"
            "    {{ {'user': postgres_initial_user, 'password': vault_pg_app, 'host': postgres_container_name,\n"
            "        'database': postgres_initial_database} | launchbay.webstack.database_url }}\n"
            "  SECRET_KEY: '{{ vault_secret_key }}'\n"
            "app_sentry_dsn: '{{ vault_sentry_dsn }}'\n"
            # monitoring: the exporter's login (the postgres role creates it), an SMTP password
            "monitoring_alert_email_to: [ops@leak.launchbay.test]\n"
            "monitoring_alert_email_smarthost: 127.0.0.1:2525\n"
            "monitoring_alert_email_username: leak\n"
            "monitoring_alert_email_password: '{{ vault_smtp }}'\n")
    vault = os.path.join(group_vars, "vault.yml")
    with open(vault, "w", encoding="utf-8") as handle:
        for name, var in (("postgres_superuser_password", "vault_pg_superuser"), ("postgres_initial_user_password", "vault_pg_app"),
                          ("backups_passphrase", "vault_dump"), ("backups_pitr_cipher_pass", "vault_wal"),
                          ("secret_key", "vault_secret_key"), ("sentry_dsn", "vault_sentry_dsn"),
                          ("smtp_password", "vault_smtp")):
            handle.write("%s: !unsafe %s\n" % (var, json.dumps(values[name], ensure_ascii=False)))
    password_file = os.path.join(tmp, "vault-password")
    with open(password_file, "w", encoding="utf-8") as handle:
        handle.write(VAULT_PASSWORD)
    subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-vault"), "encrypt", "--vault-password-file", password_file, vault],
                   check=True, capture_output=True)
    return ["-i", inventory, "--vault-password-file", password_file]


def leaked(text, values):
    """The secrets found in `text` in any form: as written, JSON-escaped, percent-encoded, or by
    their unique start (LeakKey-<hex>), which no encoding changes."""
    found = []
    for name, value in values.items():
        forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
                 urllib.parse.quote(value, safe=""), value.split("{{")[0]}
        if any(form in text for form in forms):
            found.append(name)
    return found


def run_playbook(name, layout, extra, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    return subprocess.run(["ansible-playbook", "-vvv", "playbooks/%s.yml" % name, *layout, "-e", json.dumps(extra), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def leak_run(tmp_path_factory):
    cleanup()
    run_id = secrets.token_hex(4)  # fresh passphrases each run: a fresh stanza and prefix in the bucket too
    values = {
        "postgres_superuser_password": "LeakSU-" + secrets.token_hex(12) + NASTY,
        "postgres_initial_user_password": "LeakApp-" + secrets.token_hex(12) + NASTY + "\nline two",
        "secret_key": "LeakKey-" + secrets.token_hex(16) + NASTY + "\nline two",
        "backups_passphrase": "LeakDump-" + secrets.token_hex(12) + NASTY,
        "backups_pitr_cipher_pass": "LeakWal-" + secrets.token_hex(12) + NASTY,
        # a DSN's key cannot hold those characters (the app role checks its form)
        "sentry_dsn": "https://LeakSentry%s@sentry.launchbay.test/42" % secrets.token_hex(12),
        "smtp_password": "LeakSmtp-" + secrets.token_hex(12) + NASTY,
    }
    extra = {
        "app_name": NAME,
        "postgres_container_name": PG,
        "postgres_data_volume": VOLUME,
        "postgres_config_dir": PG_DIR,
        # its own backups: tool directory, pgBackRest stanza and prefix in the lab bucket
        "postgres_backups_dir": BACKUPS_DIR,
        "backups_pitr_stanza": NAME + run_id,
        "backups_s3_prefix": "launchbay/%s-%s" % (NAME, run_id),
        "app_domains": ["leak.launchbay.test"],
        "app_public_url": "https://leak.launchbay.test/",
    }
    layout = vault_layout(str(tmp_path_factory.mktemp("leak")), values)
    res = run_playbook("deploy", layout, extra)
    yield {"values": values, "result": res, "prefix": extra["backups_s3_prefix"], "layout": layout, "extra": extra}
    cleanup()


def test_deploy_succeeded_and_app_answers(leak_run):
    res = leak_run["result"]
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    # through Traefik's routing to the replicas (plain HTTP inside the API's view; the
    # certificate part is test_local_deploy's): both replicas routed and UP
    code, service = traefik_api("/api/http/services/%s@file" % NAME)
    assert code == 200, code
    status = service["serverStatus"]
    assert sorted(status.values()) == ["UP", "UP"], status
    assert len(replicas()) == 2


def test_no_secret_in_playbook_output(leak_run):
    out = leak_run["result"].stdout + leak_run["result"].stderr
    assert len(out) > 50000  # -vvv really was verbose
    assert not leaked(out, leak_run["values"]), "in the -vvv output"


def test_no_secret_in_docker_inspect_or_logs(leak_run):
    for container in replicas() + [PG, "launchbay_traefik", "launchbay_alertmanager", "launchbay_postgres_exporter"]:
        inspect = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True).stdout
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True, check=True)
        assert json.loads(inspect)[0]["State"]["Running"]
        assert not leaked(inspect, leak_run["values"]), "in docker inspect %s" % container
        assert not leaked(logs.stdout + logs.stderr, leak_run["values"]), "in docker logs %s" % container


def test_no_secret_in_process_list(leak_run):
    for container in replicas() + [PG]:
        ps = subprocess.run(["docker", "top", container, "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
        assert not leaked(ps, leak_run["values"]), "on a command line in %s" % container


def test_secrets_only_in_private_secret_files(leak_run):
    holders = []
    for root in (PG_DIR, APP_DIR):
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                with open(path, "rb") as handle:
                    content = handle.read().decode("utf-8", "replace")
                if leaked(content, leak_run["values"]):
                    holders.append(path)
                    mode = stat.S_IMODE(os.stat(path).st_mode)
                    assert mode in (0o400, 0o600), "%s holds a secret with mode %o" % (path, mode)
                    assert "/secrets/" in path, "%s holds a secret outside a secrets directory" % path
            dir_mode = stat.S_IMODE(os.stat(dirpath).st_mode)
            if dirpath.endswith("/secrets"):
                assert not dir_mode & 0o077, "%s is open to others (%o)" % (dirpath, dir_mode)
    assert sorted(os.path.basename(p) for p in holders) == ["DATABASE_URL", "SECRET_KEY", "SENTRY_DSN", "superuser_password"]


def test_backup_secrets_only_in_the_private_backup_configuration(leak_run):
    # the backups ran: the pre-migration dump of the copy's databases is in the bucket
    assert leak_run["prefix"] + "/logical/" in leak_run["result"].stdout
    dir_mode = stat.S_IMODE(os.stat(BACKUPS_DIR).st_mode)
    assert dir_mode == 0o700 and os.stat(BACKUPS_DIR).st_uid == 999, "%s is %o" % (BACKUPS_DIR, dir_mode)
    holders = []
    for dirpath, _dirs, files in os.walk(BACKUPS_DIR):  # the tool's package included
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                content = handle.read().decode("utf-8", "replace")
            if leaked(content, leak_run["values"]):
                holders.append(os.path.relpath(path, BACKUPS_DIR))
                assert stat.S_IMODE(os.stat(path).st_mode) == 0o400, "%s holds a secret with mode %o" % (path, os.stat(path).st_mode)
    assert sorted(holders) == ["backup.json", "pgbackrest.conf"]


def test_secrets_arrive_byte_exact(leak_run):  # FAULT templated-secret
    """Whatever they hold, the app's secret files and the backup configuration carry the
    values the operator wrote (the app reached PostgreSQL through the encoded URL)."""
    values = leak_run["values"]
    files = {}
    for dirpath, _dirs, names in os.walk(os.path.join(APP_DIR, "secrets")):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as handle:
                files[name] = handle.read().decode("utf-8")
    assert files["SECRET_KEY"] == values["secret_key"]
    assert files["SENTRY_DSN"] == values["sentry_dsn"]
    url = urllib.parse.urlsplit(files["DATABASE_URL"])
    assert urllib.parse.unquote(url.password) == values["postgres_initial_user_password"]
    with open(os.path.join(BACKUPS_DIR, "backup.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    assert config["passphrase"] == values["backups_passphrase"]
    assert config["pgbackrest"]["cipher_pass"] == values["backups_pitr_cipher_pass"]


def test_a_backup_made_with_such_secrets_restores(leak_run):
    """A backup (GnuPG with the passphrase) and its restore, both at -vvv without a leak."""
    res = run_playbook("backup", leak_run["layout"], leak_run["extra"], "-e", "backups_run_pitr=false")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert not leaked(out, leak_run["values"]), "in the backup's -vvv output"
    res = run_playbook("restore", leak_run["layout"], dict(leak_run["extra"], restore_method="logical"))
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "Restored " in " ".join(out.split()) and "rows in" in " ".join(out.split()), out[-3000:]
    assert not leaked(out, leak_run["values"]), "in the restore's -vvv output"
    code, service = traefik_api("/api/http/services/%s@file" % NAME)
    assert code == 200 and sorted(service["serverStatus"].values()) == ["UP", "UP"], service


def test_monitoring_secrets_only_in_its_private_files_and_byte_exact(leak_run):
    """The SMTP password only in alertmanager.yml, mode 0400 and the containers' own user's; the
    exporter's generated password likewise in its own file only, and it logs in with it (pg_up 1)."""
    holders = []
    for dirpath, _dirs, files in os.walk(MONITORING_DIR):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                content = handle.read().decode("utf-8", "replace")
            if leaked(content, leak_run["values"]):
                holders.append(os.path.relpath(path, MONITORING_DIR))
                info = os.stat(path)
                assert stat.S_IMODE(info.st_mode) == 0o400 and info.st_uid == 64093, (path, oct(info.st_mode), info.st_uid)
    assert sorted(holders) == ["alertmanager/alertmanager.yml"]
    password_file = os.path.join(MONITORING_DIR, "postgres_exporter_password")
    with open(password_file, encoding="utf-8") as handle:
        generated = handle.read()
    info = os.stat(password_file)
    assert stat.S_IMODE(info.st_mode) == 0o400 and info.st_uid == 64093
    out = leak_run["result"].stdout + leak_run["result"].stderr
    assert len(generated) == 40 and generated not in out, "the exporter's password in the -vvv output"

    def logged_in():
        metrics = urllib.request.urlopen("http://127.0.0.1:9187/metrics", timeout=10).read().decode()
        return [line for line in metrics.splitlines() if line.startswith("pg_up") and line.endswith(" 1")]

    wait_until(logged_in, 60, "the PostgreSQL exporter logged in to %s with the password as written" % PG)


def test_the_release_names_itself_to_error_reporting(leak_run):
    for container in replicas():
        env = json.loads(subprocess.run(["docker", "inspect", "-f", "{{json .Config.Env}}", container], capture_output=True,
                                        text=True, check=True).stdout)
        assert "SENTRY_RELEASE=v1" in env and "SENTRY_ENVIRONMENT=local" in env and "SENTRY_DSN_FILE=/run/secrets/SENTRY_DSN" in env
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True, check=True)
        assert '"host": "sentry.launchbay.test", "release": "v1"' in logs.stdout + logs.stderr
