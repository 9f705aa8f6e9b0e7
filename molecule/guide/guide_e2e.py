#!/usr/bin/env python
"""docs/production.md, run as written against the lab (the guide scenario; run by converge.yml).

The server is lbm-guide-server: Debian with systemd and nothing else. The provider's part is
done here, as a hosting provider would: openssh-server running, the operator's public key in
root's authorized_keys. The operator's workstation is a container (launchbay-lab/workstation:
Python with venv, an SSH client, curl, openssl; no Ansible) on the same network. The guide's
```sh blocks run there in order, in one bash session (set -euo pipefail), so its exports and
its `cd` carry over as in a terminal.

What the lab changes, and nothing else (also printed at the start):
  - the three exports get the lab's values: the server's address, a .test domain, the demo
    app pushed to the lab's registry as acme/shop:1.0.0;
  - Galaxy cannot be reached: `ansible-galaxy collection install launchbay.webstack` installs
    the tarball built from this checkout (--offline --no-deps), and the dependencies come from
    the lab's `ansible` package, mounted read-only at /usr/share/ansible/collections (a default
    collections path);
  - PyPI is reached as this machine reaches it: its pip settings and CA bundle are passed on;
  - DNS: the workstation's /etc/hosts maps the domain to the server, Pebble (the ACME CA)
    resolves it the same way, and the workstation trusts Pebble's root as it would trust
    Let's Encrypt's;
  - one group_vars file more, written after the guide's inventory (LAB_VARS below): Docker from
    Debian's packages, the images from the lab's registry, Pebble as the ACME CA, and the demo
    app's migrate command.
Then it checks what the guide promises: the check-mode run changes nothing (no Docker on the
server after it), the deploy succeeds, the guide's curl answers over HTTPS with a certificate
from the CA, HTTP redirects, status shows the release, the second deploy has changed=0, and
no vault value appears in the output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GUIDE = os.path.join(REPO, "docs", "production.md")
NET = "lbm-guide"
SERVER = "lbm-guide-server"
SERVER_IP = "172.31.79.11"
REGISTRY, REGISTRY_IP = "lbm-guide-registry", "172.31.79.4"
PEBBLE, PEBBLE_IP = "lbm-guide-pebble", "172.31.79.5"
CHALL, CHALL_IP = "lbm-guide-challtestsrv", "172.31.79.6"
WORKSTATION, WORKSTATION_IP = "lbm-guide-workstation", "172.31.79.20"
LABEL = ["--label", "launchbay.test=molecule"]
DOMAIN = "shop.guide.test"
REG = REGISTRY_IP + ":5000"
REGISTRY_CACHE = "launchbay_lab_guide_registry"
PIP_CACHE = "launchbay_lab_guide_pip"
IMAGE = REG + "/acme/shop:1.0.0"
LAB_IMAGES = {  # pushed to the lab's registry under these names
    "launchbay-lab/demo-app:v1": "acme/shop:1.0.0",
    "launchbay-lab/traefik:3.7.15": "launchbay-lab/traefik:3.7.15",
    "launchbay-lab/postgres:15": "launchbay-lab/postgres:15",
    "launchbay-lab/maintenance:bookworm": "launchbay-lab/maintenance:bookworm",
}
LAB_VARS = """# The lab's part (molecule/guide/guide_e2e.py): no Docker repository, no public registry, no Let's Encrypt.
docker_host_package_source: distro
docker_host_insecure_registries: ["{reg}"]
traefik_image: {reg}/launchbay-lab/traefik:3.7.15
traefik_maintenance_image: {reg}/launchbay-lab/maintenance:bookworm
postgres_image: {reg}/launchbay-lab/postgres:15
traefik_acme_ca_server: https://{pebble}:14000/dir
traefik_acme_ca_bundle: /etc/launchbay/lab/pebble-api-ca.pem
app_migrate_command: [migrate]
""".format(reg=REG, pebble=PEBBLE_IP)
GALAXY_LINE = "ansible-galaxy collection install launchbay.webstack"


def sh(*cmd, check=True, stdin=None, timeout=600):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, input=stdin)
    if check and res.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(cmd[:10]), res.returncode, (res.stdout + res.stderr)[-3000:]))
    return res.stdout


def on(container, *cmd, check=True, stdin=None, timeout=600):
    return sh("docker", "exec", "-i", container, *cmd, check=check, stdin=stdin, timeout=timeout)


def until(what, predicate, timeout):
    """Poll `predicate` every second until it returns something true (bounded); its last value."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(1)
    raise AssertionError("%s: not within %ss (last: %r)" % (what, timeout, last))


def step(title):
    print("== %s" % title, flush=True)


def remove_extras():
    sh("docker", "rm", "-f", REGISTRY, PEBBLE, CHALL, WORKSTATION, check=False)


def guide_blocks():
    """The guide's ```sh blocks, in order."""
    with open(GUIDE, encoding="utf-8") as handle:
        return re.findall(r"^```sh\n(.*?)^```", handle.read(), flags=re.S | re.M)


def provider_server():
    """A fresh server as a provider hands it over: sshd running, nothing else."""
    def booted():
        state = sh("docker", "inspect", "-f", "{{.State.Status}}", SERVER, check=False).strip()
        if state != "running":  # a server that died: no use waiting
            raise AssertionError("the server container is %s, not running" % (state or "gone"))
        return on(SERVER, "systemctl", "is-system-running", "--wait", check=False).strip() in ("running", "degraded")

    until("systemd on the server", booted, 120)
    on(SERVER, "sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends"
       " openssh-server sudo >/dev/null && systemctl enable --now ssh", timeout=600)
    assert not on(SERVER, "sh", "-c", "command -v docker dockerd || true").strip(), "the server is not empty"


def lab_registry():
    # its storage outlives the run (a lab cache, like the images): the next run pushes only what changed
    sh("docker", "run", "-d", "--name", REGISTRY, *LABEL, "--network", NET, "--ip", REGISTRY_IP, "-p", "127.0.0.1::5000",
       "-v", REGISTRY_CACHE + ":/var/lib/docker-registry", "launchbay-lab/registry:2.8")
    port = sh("docker", "port", REGISTRY, "5000/tcp").split(":")[-1].strip()
    until("the lab registry", lambda: sh("curl", "-fsS", "--max-time", "2", "http://127.0.0.1:%s/v2/" % port, check=False) == "{}", 30)
    for local, name in LAB_IMAGES.items():
        target = "127.0.0.1:%s/%s" % (port, name)
        sh("docker", "tag", local, target)
        sh("docker", "push", target, timeout=900)
        sh("docker", "rmi", target)


def lab_acme(work):
    """Pebble with an API certificate for its address, and the challenge server resolving every name to the server."""
    ssl = os.path.join(work, "pebble")
    os.makedirs(ssl)
    ext = os.path.join(ssl, "san.ext")
    with open(ext, "w", encoding="utf-8") as handle:
        handle.write("subjectAltName=IP:%s\n" % PEBBLE_IP)
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ssl + "/ca.key", "-out", ssl + "/ca.pem",
       "-days", "2", "-subj", "/CN=launchbay guide Pebble API CA")
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", ssl + "/key.pem", "-out", ssl + "/cert.csr", "-subj", "/CN=pebble")
    sh("openssl", "x509", "-req", "-in", ssl + "/cert.csr", "-CA", ssl + "/ca.pem", "-CAkey", ssl + "/ca.key", "-CAcreateserial",
       "-out", ssl + "/cert.pem", "-days", "2", "-extfile", ext)
    config = {"pebble": {"listenAddress": "0.0.0.0:14000", "managementListenAddress": "0.0.0.0:15000",
                         "certificate": "/guide/cert.pem", "privateKey": "/guide/key.pem", "httpPort": 80, "tlsPort": 443,
                         "ocspResponderURL": "", "externalAccountBindingRequired": False}}
    with open(ssl + "/pebble-config.json", "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    for name in os.listdir(ssl):
        os.chmod(os.path.join(ssl, name), 0o644)
    sh("docker", "run", "-d", "--name", CHALL, *LABEL, "--network", NET, "--ip", CHALL_IP, "launchbay-lab/pebble:2.4",
       "pebble-challtestsrv", "-dns01", ":8053", "-http01", "", "-tlsalpn01", "", "-management", ":8055",
       "-defaultIPv4", SERVER_IP, "-defaultIPv6", "")
    sh("docker", "run", "-d", "--name", PEBBLE, *LABEL, "--network", NET, "--ip", PEBBLE_IP, "-e", "PEBBLE_VA_NOSLEEP=1",
       "-v", ssl + ":/guide:ro", "launchbay-lab/pebble:2.4", "pebble", "-config", "/guide/pebble-config.json",
       "-dnsserver", CHALL_IP + ":8053")
    fetch = ("import ssl, urllib.request; print(urllib.request.urlopen('https://127.0.0.1:15000/roots/0',"
             " context=ssl._create_unverified_context(), timeout=2).read().decode())")
    root = until("Pebble's API", lambda: on(PEBBLE, "python3", "-c", fetch, check=False).strip(), 30)
    # Traefik trusts the API's CA through a file on the server (traefik_acme_ca_bundle)
    with open(ssl + "/ca.pem", encoding="utf-8") as handle:
        on(SERVER, "sh", "-c", "install -d -m 0755 /etc/launchbay/lab && cat > /etc/launchbay/lab/pebble-api-ca.pem",
           stdin=handle.read())
    return root


def collection_tarball(work):
    out = os.path.join(work, "dist")
    sh("ansible-galaxy", "collection", "build", "--force", "--output-path", out, REPO)
    (name,) = os.listdir(out)
    return "/lab/dist/" + name


def workstation(work, acme_root):
    import ansible_collections  # noqa: F401  (the lab's `ansible` package: the dependencies)
    deps = next(path for path in ansible_collections.__path__ if os.path.isdir(os.path.join(path, "community", "docker")))
    args = ["docker", "run", "-d", "--name", WORKSTATION, *LABEL, "--network", NET, "--ip", WORKSTATION_IP,
            "--add-host", "%s:%s" % (DOMAIN, SERVER_IP), "-v", work + ":/lab:ro",
            "-v", deps + ":/usr/share/ansible/collections/ansible_collections:ro",
            # pip's download cache outlives the run (a lab cache, like a package proxy)
            "-v", PIP_CACHE + ":/root/.cache/pip"]
    # pip as this machine has it (proxy CA, local wheel mirrors)
    bundle = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    if os.path.exists(bundle):
        args += ["-v", bundle + ":/etc/lab/pip-ca.crt:ro", "-e", "PIP_CERT=/etc/lab/pip-ca.crt"]
    for key, value in os.environ.items():
        if key.startswith("PIP_") and key != "PIP_CERT":
            args += ["-e", "%s=%s" % (key, value)]
    for path in ("/etc/pip.conf", "/opt/wheels", "/opt/pypi", "/opt/pypi-more"):
        if os.path.exists(path):
            args += ["-v", "%s:%s:ro" % (path, path)]
    sh(*args, "launchbay-lab/workstation:bookworm")
    on(WORKSTATION, "sh", "-c", "cat > /usr/local/share/ca-certificates/lab-acme-root.crt && update-ca-certificates >/dev/null",
       stdin=acme_root + "\n")
    on(WORKSTATION, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/root/.ssh/id_ed25519")
    key = on(WORKSTATION, "cat", "/root/.ssh/id_ed25519.pub")
    on(SERVER, "sh", "-c", "install -d -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 0600 /root/.ssh/authorized_keys",
       stdin=key)


def guide_script(tarball):
    """The guide's blocks as one bash session, with the lab's changes and markers between the steps."""
    blocks = guide_blocks()
    assert len(blocks) == 7, "the guide has %d sh blocks; this test knows 7" % len(blocks)
    assert "export SERVER=" in blocks[0] and "export DOMAIN=" in blocks[0] and "export IMAGE=" in blocks[0], blocks[0]
    blocks[0] = "export SERVER=%s\nexport DOMAIN=%s\nexport IMAGE=%s\n" % (SERVER_IP, DOMAIN, IMAGE)
    assert GALAXY_LINE in blocks[2], "the guide no longer installs the collection with: " + GALAXY_LINE
    blocks[2] = blocks[2].replace(GALAXY_LINE, "ansible-galaxy collection install --offline --no-deps " + tarball)
    assert "inventories/production/hosts.yml" in blocks[3], blocks[3]
    blocks[3] += "cat > inventories/production/group_vars/all/90_lab.yml <<'LAB'\n%sLAB\n" % LAB_VARS
    check, deploy = blocks[5].strip().split("\n")
    assert "--check" in check and "--check" not in deploy, blocks[5]
    blocks[5] = (check + "\necho \"### after check mode @$SECONDS\"\nssh \"deploy@$SERVER\" 'command -v dockerd || echo no-docker'\n"
                 "echo \"### deploy @$SECONDS\"\n" + deploy + "\n")
    lines = blocks[6].strip().split("\n")
    assert len(lines) == 4 and "/health" in lines[0] and "status" in lines[2], blocks[6]
    # (echo: curl's answer has no newline at its end)
    blocks[6] = "".join("echo \"### check %d @$SECONDS\"\n%s\necho\n" % (i, line) for i, line in enumerate(lines))
    return ("set -euo pipefail\ncd /root\n" + "".join("echo \"### block %d @$SECONDS\"\n%s\n" % (i, b) for i, b in enumerate(blocks))
            + "echo \"### end @$SECONDS\"\n")


def sections(out):
    """The output between the markers ("### NAME @SECONDS"), by name, and each section's seconds."""
    parts, starts, name = {}, [], "start"
    for line in out.splitlines():
        marker = re.match(r"### (.+) @(\d+)$", line)
        if marker:
            name = marker.group(1)
            parts[name] = ""
            starts.append((name, int(marker.group(2))))
        else:
            parts[name] = parts.get(name, "") + line + "\n"
    seconds = {a[0]: b[1] - a[1] for a, b in zip(starts, starts[1:])}
    return parts, seconds


def recap(text):
    found = re.findall(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", text)
    assert found, "no PLAY RECAP in: " + text[-1500:]
    return [tuple(int(n) for n in row) for row in found]


def main():
    remove_extras()
    work = tempfile.mkdtemp(prefix="lbm-guide-")
    os.chmod(work, 0o755)
    started = time.monotonic()
    try:
        print("The lab's changes to the guide: the exports (SERVER=%s DOMAIN=%s IMAGE=%s); the collection from this"
              " checkout's tarball, its dependencies from the lab's ansible package; pip through this machine's"
              " settings; the domain in the workstation's /etc/hosts and Pebble's DNS; group_vars/all/90_lab.yml:"
              % (SERVER_IP, DOMAIN, IMAGE))
        print(LAB_VARS)
        step("the provider: an empty Debian server with sshd and the operator's key")
        provider_server()
        step("the lab: registry (the images), Pebble (the ACME CA), the workstation (%.0f s so far)" % (time.monotonic() - started))
        lab_registry()
        step("images pushed (%.0f s so far)" % (time.monotonic() - started))
        acme_root = lab_acme(work)
        tarball = collection_tarball(work)
        workstation(work, acme_root)
        setup = time.monotonic() - started

        step("the guide, block by block, on the workstation")
        t0 = time.monotonic()
        # a file, not stdin: the guide's ssh would read the rest of the script as its input
        on(WORKSTATION, "sh", "-c", "cat > /root/guide.sh", stdin=guide_script(tarball))
        res = subprocess.run(["docker", "exec", "-w", "/root", WORKSTATION, "bash", "/root/guide.sh"],
                             capture_output=True, text=True, timeout=1800, check=False, stdin=subprocess.DEVNULL)
        took = time.monotonic() - t0
        out = res.stdout + res.stderr
        log = os.path.join(REPO, ".lab", "logs", "molecule-guide-output.log")
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w", encoding="utf-8") as handle:
            handle.write(out)
        print("the guide's whole output: " + os.path.relpath(log, REPO))
        assert res.returncode == 0, "the guide failed (%d) after %.0f s:\n%s" % (res.returncode, took, out[-6000:])
        parts, seconds = sections(out)
        print("seconds per step: " + ", ".join("%s %d" % item for item in seconds.items()))

        # 4: check mode ran every check and changed nothing on the server
        check_recap = recap(parts["block 5"])
        assert all(row[3] == 0 and row[2] == 0 for row in check_recap), parts["block 5"][-3000:]
        assert parts["after check mode"].strip() == "no-docker", "check mode installed Docker: " + parts["after check mode"]
        deploy_recap = recap(parts["deploy"])
        assert all(row[3] == 0 for row in deploy_recap), parts["deploy"][-3000:]
        assert sum(row[1] for row in deploy_recap) > 0
        # 5: HTTPS with a certificate the workstation trusts only through the CA's root; the redirect; status
        health = json.loads(parts["check 0"])
        assert health["status"] == "ok", parts["check 0"]
        assert re.match(r"HTTP/\S+ 30[18]", parts["check 1"].strip()), parts["check 1"]
        current = re.search(r'"current": "([^"]+)"', parts["check 2"])
        assert current and "acme/shop:1.0.0" in current.group(1), parts["check 2"][-3000:]
        again = recap(parts["check 3"])
        assert all(row[1] == 0 and row[3] == 0 for row in again), "the second deploy changed something:\n" + parts["check 3"][-4000:]
        issuer = on(WORKSTATION, "sh", "-c", "echo | openssl s_client -connect %s:443 -servername %s 2>/dev/null"
                    " | openssl x509 -noout -issuer" % (DOMAIN, DOMAIN)).strip()
        assert "Pebble" in issuer, issuer
        # the vault's values never in the output
        vault = on(WORKSTATION, "sh", "-c", "cd /root/shop-deploy && /root/.venvs/launchbay/bin/ansible-vault view"
                   " --vault-password-file /root/.vault-pass-shop inventories/production/group_vars/all/vault.yml")
        values = re.findall(r"!unsafe '([^']+)'", vault)
        assert len(values) == 3, "vault.yml: %d values" % len(values)
        leaked = [v[:4] + "…" for v in values if v in out]
        assert not leaked, "vault values in the guide's output: %s" % leaked

        print("lab setup %.0f s; the guide %.0f s: check mode %s, deploy %s, HTTPS %s (%s), %s, second deploy changed=%d"
              % (setup, took, "failed=0, no Docker after it", "changed=%d" % sum(r[1] for r in deploy_recap),
                 health["status"], issuer, parts["check 1"].strip(), sum(r[1] for r in again)))
        print("status, current: " + current.group(1))
    finally:
        remove_extras()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as exc:
        print("FAILED: %s" % exc, file=sys.stderr)
        sys.exit(1)
