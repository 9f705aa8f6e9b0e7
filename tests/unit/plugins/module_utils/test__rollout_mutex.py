"""The rollout mutex against real processes: a holder that lives, one that ends, one killed."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._rollout_mutex import RolloutBusy, rollout_mutex

# A holder in another process: takes the mutex, says so on stdout, then holds it `seconds`.
HOLDER = textwrap.dedent("""
    import sys, time
    from ansible_collections.launchbay.webstack.plugins.module_utils._rollout_mutex import rollout_mutex
    with rollout_mutex("demo", "rollout of demo:v2", 60, directory=sys.argv[1]):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


@pytest.fixture
def holder(tmp_path):
    started = []

    def start(seconds):
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), str(seconds)], stdout=subprocess.PIPE,
                                env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        started.append(proc)
        assert proc.stdout.readline().strip() == b"held"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_a_free_mutex_is_taken_at_once_and_records_its_holder(tmp_path):
    with rollout_mutex("demo", "rollout of demo:v2", 5, directory=str(tmp_path)) as events:
        assert events == []
        with open(tmp_path / "demo.rollout", encoding="utf-8") as handle:
            assert '"pid": %d' % os.getpid() in handle.read()
        assert oct(os.stat(tmp_path / "demo.rollout").st_mode & 0o777) == "0o600"
    # released: empty again, so a later waiter never names a holder that has ended
    assert (tmp_path / "demo.rollout").read_text(encoding="utf-8") == ""


def test_a_live_holder_is_waited_for_then_named(tmp_path, holder):
    proc = holder(30)
    began = time.monotonic()
    with pytest.raises(RolloutBusy) as caught:
        with rollout_mutex("demo", "another", 1, directory=str(tmp_path)):
            pytest.fail("took a mutex another process holds")
    assert 1 <= time.monotonic() - began < 5
    assert "process %d (rollout of demo:v2" % proc.pid in str(caught.value)
    assert "demo.rollout" in str(caught.value)


def test_the_wait_ends_when_the_holder_ends(tmp_path, holder):
    proc = holder(1.5)
    began = time.monotonic()
    with rollout_mutex("demo", "next", 30, directory=str(tmp_path)) as events:
        waited = time.monotonic() - began
    proc.wait()
    assert 1 <= waited < 5
    assert len(events) == 1 and "for the rollout of process %d" % proc.pid in events[0]


def test_a_killed_holder_frees_it_at_once(tmp_path, holder):
    proc = holder(300)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    began = time.monotonic()
    with rollout_mutex("demo", "next", 30, directory=str(tmp_path)) as events:
        assert time.monotonic() - began < 1
    assert events == []


def test_another_app_is_not_held(tmp_path, holder):
    holder(30)
    with rollout_mutex("shop", "rollout of shop", 0, directory=str(tmp_path)) as events:
        assert events == []


def test_check_mode_takes_nothing(tmp_path, holder):
    holder(30)
    with rollout_mutex("demo", "plan", 0, check_mode=True, directory=str(tmp_path)) as events:
        assert events == []
    with rollout_mutex("demo", "plan", 0, check_mode=True, directory=str(tmp_path / "none")):
        pass
    assert not (tmp_path / "none").exists()
