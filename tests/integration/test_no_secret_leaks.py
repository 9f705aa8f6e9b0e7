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

import pytest

from conftest import REPO, traefik_api

NAME = "lbleak"
PG = NAME + "_postgres"
VOLUME = NAME + "_pgdata"
PG_DIR = "/etc/launchbay/" + NAME + "-postgres"
APP_DIR = "/etc/launchbay/apps/" + NAME
BACKUPS_DIR = "/etc/launchbay/" + NAME + "-backups"


def replicas():
    return subprocess.run(["docker", "ps", "-aq", "--filter", "label=launchbay.app=" + NAME], capture_output=True, text=True,
                          check=False).stdout.split()


def cleanup():
    subprocess.run(["docker", "rm", "-f", "-v", PG, NAME + "-migrate", *replicas()], capture_output=True, check=False)
    subprocess.run(["docker", "volume", "rm", "-f", VOLUME], capture_output=True, check=False)
    subprocess.run(["rm", "-rf", PG_DIR, APP_DIR, BACKUPS_DIR, "/etc/launchbay/traefik/dynamic/app-%s.yml" % NAME,
                    "/var/lib/launchbay/releases/%s.json" % NAME], check=False)


@pytest.fixture(scope="module")
def leak_run():
    cleanup()
    run_id = secrets.token_hex(4)  # fresh passphrases each run: a fresh stanza and prefix in the bucket too
    values = {
        "postgres_superuser_password": "LeakSU-" + secrets.token_hex(12),
        "postgres_initial_user_password": "LeakApp-" + secrets.token_hex(12),
        "secret_key": "LeakKey-" + secrets.token_hex(16),
        "backups_passphrase": "LeakDump-" + secrets.token_hex(12),
        "backups_pitr_cipher_pass": "LeakWal-" + secrets.token_hex(12),
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
        "backups_passphrase": values["backups_passphrase"],
        "backups_pitr_cipher_pass": values["backups_pitr_cipher_pass"],
        "app_domains": ["leak.launchbay.test"],
        "app_public_url": "https://leak.launchbay.test/",
        "postgres_superuser_password": values["postgres_superuser_password"],
        "postgres_initial_user_password": values["postgres_initial_user_password"],
        "app_secrets": {
            "DATABASE_URL": "postgresql://%s:%s@%s:5432/%s" % (NAME, values["postgres_initial_user_password"], PG, NAME),
            "SECRET_KEY": values["secret_key"],
        },
    }
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    res = subprocess.run(
        ["ansible-playbook", "-vvv", "playbooks/deploy.yml", "-i", "inventories/local", "-e", json.dumps(extra)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    yield {"values": values, "result": res, "prefix": extra["backups_s3_prefix"]}
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
    for name, value in leak_run["values"].items():
        assert value not in out, "%s appears in the -vvv output" % name


def test_no_secret_in_docker_inspect_or_logs(leak_run):
    for container in replicas() + [PG, "launchbay_traefik"]:
        inspect = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True).stdout
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True, check=True)
        assert json.loads(inspect)[0]["State"]["Running"]
        for name, value in leak_run["values"].items():
            assert value not in inspect, "%s in docker inspect %s" % (name, container)
            assert value not in logs.stdout + logs.stderr, "%s in docker logs %s" % (name, container)


def test_no_secret_in_process_list(leak_run):
    for container in replicas() + [PG]:
        ps = subprocess.run(["docker", "top", container, "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
        for name, value in leak_run["values"].items():
            assert value not in ps, "%s on a command line in %s" % (name, container)


def test_secrets_only_in_private_secret_files(leak_run):
    holders = []
    for root in (PG_DIR, APP_DIR):
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                with open(path, "rb") as handle:
                    content = handle.read().decode("utf-8", "replace")
                if any(value in content for value in leak_run["values"].values()):
                    holders.append(path)
                    mode = stat.S_IMODE(os.stat(path).st_mode)
                    assert mode in (0o400, 0o600), "%s holds a secret with mode %o" % (path, mode)
                    assert "/secrets/" in path, "%s holds a secret outside a secrets directory" % path
            dir_mode = stat.S_IMODE(os.stat(dirpath).st_mode)
            if dirpath.endswith("/secrets"):
                assert not dir_mode & 0o077, "%s is open to others (%o)" % (dirpath, dir_mode)
    assert sorted(os.path.basename(p) for p in holders) == ["DATABASE_URL", "SECRET_KEY", "superuser_password"]


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
            if any(value in content for value in leak_run["values"].values()):
                holders.append(os.path.relpath(path, BACKUPS_DIR))
                assert stat.S_IMODE(os.stat(path).st_mode) == 0o400, "%s holds a secret with mode %o" % (path, os.stat(path).st_mode)
    assert sorted(holders) == ["backup.json", "pgbackrest.conf"]
