import json
import threading
import os
import stat

import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._deploy_lock import DeployLock, LockError
from ansible_collections.launchbay.webstack.tests.unit.fake_clock import Clock


@pytest.fixture
def clock():
    return Clock(1000.0)


@pytest.fixture
def lock(tmp_path, clock):
    return DeployLock(str(tmp_path / "locks"), "production", clock=clock, sleep=clock.sleep)


def test_acquire_writes_a_private_file(lock):
    changed, record, broken, waited = lock.acquire("alice", "run-1", "deploy v2", ttl=600)
    assert changed and broken is None and waited == 0
    assert record["owner"] == "alice" and record["reason"] == "deploy v2" and record["ttl"] == 600
    assert stat.S_IMODE(os.stat(lock.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(lock.path)).st_mode) == 0o700
    with open(lock.path, encoding="utf-8") as handle:
        assert json.load(handle)["token"] == "run-1"


def test_same_run_acquires_again_without_change(lock):
    lock.acquire("alice", "run-1")
    changed, record, _broken, _waited = lock.acquire("alice", "run-1")
    assert not changed and record["token"] == "run-1"


def test_other_run_fails_at_once_naming_the_holder(lock, clock):
    lock.acquire("alice", "run-1", "deploy v2")
    clock.now += 42
    with pytest.raises(LockError) as err:
        lock.acquire("bob", "run-2")
    assert "held by alice" in str(err.value) and "42s ago" in str(err.value) and "deploy v2" in str(err.value)
    assert err.value.holder["owner"] == "alice"
    assert clock.slept == []


def test_waits_with_backoff_then_gives_up(lock, clock):
    lock.acquire("alice", "run-1")
    with pytest.raises(LockError, match="waited"):
        lock.acquire("bob", "run-2", wait_timeout=30)
    assert sum(clock.slept) >= 30
    assert clock.slept[:4] == [0.5, 1, 2, 4]  # backoff


def test_waits_until_released(lock, clock):
    lock.acquire("alice", "run-1")
    original_sleep = clock.sleep

    def sleep_then_release(seconds):
        original_sleep(seconds)
        if clock.now > 1003:
            lock.release("run-1")

    lock.sleep = sleep_then_release
    changed, record, _broken, waited = lock.acquire("bob", "run-2", wait_timeout=60)
    assert changed and record["owner"] == "bob" and 3 <= waited < 10


def test_stale_lock_is_only_broken_explicitly(lock, clock):
    lock.acquire("alice", "run-1", ttl=60)
    clock.now += 61
    with pytest.raises(LockError, match="stale"):
        lock.acquire("bob", "run-2")
    changed, record, broken, _waited = lock.acquire("bob", "run-2", break_stale=True)
    assert changed and record["owner"] == "bob" and broken["owner"] == "alice"


def test_release_only_by_holder_unless_forced(lock):
    lock.acquire("alice", "run-1")
    with pytest.raises(LockError, match="not by this run"):
        lock.release("run-2")
    changed, previous = lock.release("run-2", force=True)
    assert changed and previous["owner"] == "alice" and lock.read() is None
    assert lock.release("run-2") == (False, None)


def test_check_mode_changes_nothing(lock, clock):
    changed, _record, _broken, _waited = lock.acquire("alice", "run-1", check_mode=True)
    assert changed and lock.read() is None
    lock.acquire("alice", "run-1", ttl=10)
    clock.now += 11
    lock.acquire("bob", "run-2", break_stale=True, check_mode=True)
    assert lock.read()["owner"] == "alice"
    assert lock.break_lock(check_mode=True)[0] and lock.read()["owner"] == "alice"


def test_unreadable_file_counts_as_held_and_stale(lock):
    os.makedirs(os.path.dirname(lock.path))
    with open(lock.path, "w", encoding="utf-8") as handle:
        handle.write("{torn")
    with pytest.raises(LockError, match="unknown"):
        lock.acquire("bob", "run-2")
    assert lock.break_lock()[0] and lock.read() is None


@pytest.mark.parametrize("name", ["", "../etc", ".hidden"])
def test_invalid_names(tmp_path, name):
    with pytest.raises(LockError, match="invalid lock name"):
        DeployLock(str(tmp_path), name)


def test_two_runs_breaking_one_stale_lock_cannot_both_hold_it(lock, clock):
    """Run B has read the stale lock when run A tries the same takeover: A must wait for B's
    decision and then find B's lock (without the guard, A takes it and B overwrites A's)."""
    lock.acquire("dead", "run-0", ttl=10)
    clock.now += 11
    other = DeployLock(lock.directory, "production", clock=clock, sleep=clock.sleep)
    outcome = {}

    def run_a():
        try:
            outcome["a"] = other.acquire("alice", "run-a", break_stale=True)[0]
        except LockError as exc:
            outcome["a"] = exc

    plain_read = lock.read

    def read_then_let_a_try():
        holder = plain_read()
        if "a" not in outcome and not hasattr(lock, "_a"):
            lock._a = threading.Thread(target=run_a)
            lock._a.start()
            lock._a.join(1)  # A gets this far on its own only when nothing guards the decision
        return holder

    lock.read = read_then_let_a_try
    changed, record, broken, _waited = lock.acquire("bob", "run-b", break_stale=True)
    lock._a.join(10)
    assert changed and broken["owner"] == "dead" and record["owner"] == "bob"
    assert isinstance(outcome["a"], LockError) and "held by bob" in str(outcome["a"])
    assert plain_read()["token"] == "run-b"


def test_renewal_keeps_a_long_run_holding_the_lock(lock, clock):
    lock.acquire("alice", "run-1", ttl=60)
    for _step in range(3):
        clock.now += 50
        assert lock.renew("run-1")[1]["renewed_at"] == clock.now
    with pytest.raises(LockError, match="held by alice .*renewed 0s ago"):
        lock.acquire("bob", "run-2", break_stale=True)
    clock.now += 61
    assert lock.acquire("bob", "run-2", break_stale=True)[2]["owner"] == "alice"


def test_renewal_fails_once_the_lock_is_lost(lock, clock):
    lock.acquire("alice", "run-1", ttl=60)
    clock.now += 61
    lock.acquire("bob", "run-2", break_stale=True)
    with pytest.raises(LockError, match="no longer holds .*held by bob"):
        lock.renew("run-1")
    lock.release("run-2")
    with pytest.raises(LockError, match="no longer holds .*it is free"):
        lock.renew("run-1")


@pytest.mark.parametrize("content", ["", "{torn"])
def test_an_empty_or_torn_file_is_stale_a_minute_after_its_last_write(lock, clock, content):
    os.makedirs(os.path.dirname(lock.path))
    with open(lock.path, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.utime(lock.path, (clock.now - 30, clock.now - 30))
    with pytest.raises(LockError, match="held by unknown"):
        lock.acquire("bob", "run-2", break_stale=True)
    os.utime(lock.path, (clock.now - 61, clock.now - 61))
    with pytest.raises(LockError, match="stale"):
        lock.acquire("bob", "run-2")
    changed, _record, broken, _waited = lock.acquire("bob", "run-2", break_stale=True)
    assert changed and broken["owner"].startswith("unknown") and lock.read()["token"] == "run-2"


def test_renewal_in_check_mode_of_a_lock_check_mode_never_wrote(lock):
    assert lock.renew("run-1", check_mode=True) == (False, None)
    lock.acquire("bob", "run-2")
    with pytest.raises(LockError, match="held by bob"):
        lock.renew("run-1", check_mode=True)


ALICE_RUN = {"boot_id": "b-1", "pid_namespace": "pid:[1]", "pid": 4242, "started": 777}


def test_the_controller_is_recorded_and_named_to_others(lock):
    lock.acquire("alice", "run-1", "deploy v2", controller=ALICE_RUN)
    assert lock.read()["controller"] == ALICE_RUN
    with pytest.raises(LockError, match="held by alice .*ansible-playbook PID 4242"):
        lock.acquire("bob", "run-2")


def test_a_run_found_gone_is_taken_over_at_once_stale_or_not(lock, clock):
    lock.acquire("alice", "run-1", controller=ALICE_RUN)
    clock.now += 5  # far from stale
    changed, record, broken, waited = lock.acquire("bob", "run-2", controller=dict(ALICE_RUN, pid=5151), break_dead=ALICE_RUN)
    assert changed and waited == 0 and record["owner"] == "bob" and record["controller"]["pid"] == 5151
    assert broken["owner"] == "alice" and broken["broken_because"] == "gone"
    assert lock.read()["token"] == "run-2"


def test_break_dead_never_takes_the_lock_of_another_run(lock):
    """The run found gone was replaced by another one in the meantime (or never held it)."""
    lock.acquire("carol", "run-3", controller=dict(ALICE_RUN, pid=6000))
    with pytest.raises(LockError, match="held by carol"):
        lock.acquire("bob", "run-2", break_dead=ALICE_RUN)
    lock.release("run-3")
    lock.acquire("dave", "run-4")  # recorded no controller
    with pytest.raises(LockError, match="held by dave"):
        lock.acquire("bob", "run-2", break_dead=ALICE_RUN)
    assert lock.read()["token"] == "run-4"


def test_a_stale_lock_broken_says_why(lock, clock):
    lock.acquire("alice", "run-1", ttl=60)
    clock.now += 61
    assert lock.acquire("bob", "run-2", break_stale=True)[2]["broken_because"] == "stale"
