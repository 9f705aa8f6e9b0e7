"""Whether a run recorded in the deploy lock is provably gone: a fake /proc, and the real one."""

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.launchbay.webstack.plugins.plugin_utils._controller_run import identity, is_gone, playbook_pid


def fake_proc(root, boot_id="boot-1", namespace="pid:[4026531836]", processes=None, state="S"):
    """A /proc with a boot id, this process's PID namespace and `processes` {pid: start time}."""
    (root / "sys" / "kernel" / "random").mkdir(parents=True)
    (root / "sys" / "kernel" / "random" / "boot_id").write_text(boot_id + "\n")
    (root / "self" / "ns").mkdir(parents=True)
    os.symlink(namespace, str(root / "self" / "ns" / "pid"))
    for pid, started in (processes or {}).items():
        (root / str(pid)).mkdir()
        # the command name may hold spaces and parentheses; the start time is field 22
        fields = [state] + ["0"] * 18 + [str(started)] + ["0"] * 10
        (root / str(pid) / "stat").write_text("%d (ansible-playbook (x) y) %s\n" % (pid, " ".join(fields)))
    return str(root)


@pytest.fixture
def proc(tmp_path):
    return fake_proc(tmp_path, processes={100: 5000, 200: 6000})


def test_identity_names_boot_namespace_pid_and_start_time(proc):
    assert identity(100, proc) == {"boot_id": "boot-1", "pid_namespace": "pid:[4026531836]", "pid": 100, "started": 5000}
    assert identity(999, proc) is None  # no such process


def test_a_running_process_is_not_gone(proc):
    assert is_gone(identity(100, proc), proc) is False


def test_a_process_that_ended_is_gone(proc):
    record = identity(200, proc)
    os.remove(os.path.join(proc, "200", "stat"))
    os.rmdir(os.path.join(proc, "200"))
    assert is_gone(record, proc) is True


def test_a_zombie_is_gone(tmp_path):
    proc = fake_proc(tmp_path, processes={100: 5000}, state="Z")
    assert is_gone({"boot_id": "boot-1", "pid_namespace": "pid:[4026531836]", "pid": 100, "started": 5000}, proc) is True


def test_a_pid_used_again_by_another_process_is_gone(proc):
    assert is_gone(dict(identity(100, proc), started=4999), proc) is True


@pytest.mark.parametrize("change", [
    {"boot_id": "boot-0"},  # rebooted since, or another machine
    {"pid_namespace": "pid:[4026532999]"},  # another container: its processes are not visible here
    {"pid": None}, {"pid": True}, {"pid": "100"}, {"started": None},
])
def test_what_cannot_be_judged_here_is_never_gone(proc, change):
    record = dict(identity(200, proc), pid=300)  # no process 300 here
    assert is_gone(record, proc) is True  # the baseline this case changes
    assert is_gone(dict(record, **change), proc) is False


@pytest.mark.parametrize("record", [None, {}, "x", {"pid": 300}])
def test_no_record_is_never_gone(proc, record):
    assert is_gone(record, proc) is False


def test_a_machine_without_proc_judges_nothing(tmp_path):
    assert identity(1, str(tmp_path)) is None
    assert is_gone({"boot_id": "b", "pid_namespace": "n", "pid": 300, "started": 1}, str(tmp_path)) is False


@pytest.mark.skipif(not os.path.exists("/proc/self/ns/pid"), reason="needs Linux /proc")
def test_on_this_machine_a_child_is_alive_until_it_ends():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    record = identity(child.pid)
    assert record and is_gone(record) is False
    child.stdin.close()
    deadline = time.monotonic() + 30
    while not is_gone(record):  # a zombie until reaped: gone already
        assert time.monotonic() < deadline, "the child never ended"
        time.sleep(0.05)
    child.wait(5)
    assert is_gone(record) is True
    assert playbook_pid() == os.getpid()  # not a multiprocessing child
