"""APP_BOOT_SECONDS: the demo app takes as long to start as a real framework would, so that
benchmarks/rollout.py can measure a rollout against a realistic floor."""

import os
import socket
import subprocess
import sys
import time

import pytest

APP = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "examples", "demo_app", "demo_app.py")
sys.path.insert(0, os.path.dirname(APP))
import demo_app  # noqa: E402  pylint: disable=wrong-import-position


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accepts(port):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("boot", ["0", "1.5"])
def test_nothing_listens_until_the_boot_time_has_passed(tmp_path, boot):
    port = free_port()
    env = dict(os.environ, DATABASE_URL="sqlite:///" + str(tmp_path / "app.db"), SECRET_KEY="x" * 16,
               APP_PORT=str(port), APP_BOOT_SECONDS=boot)
    began = time.monotonic()
    proc = subprocess.Popen([sys.executable, APP, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        while not accepts(port) and time.monotonic() - began < 10 and proc.poll() is None:
            time.sleep(0.05)
        listening = time.monotonic() - began
        assert accepts(port), "the app never listened: %s" % proc.stdout.read1().decode()
        assert listening >= float(boot)
        assert listening < float(boot) + 3
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("boot", ["-1", "601", "soon"])
def test_a_bad_boot_time_names_the_variable(tmp_path, boot):
    env = {"DATABASE_URL": "sqlite:///" + str(tmp_path / "app.db"), "SECRET_KEY": "x" * 16, "APP_BOOT_SECONDS": boot}
    with pytest.raises(demo_app.ConfigError, match="APP_BOOT_SECONDS"):
        demo_app.load_config(env)
