# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release state machine of an app on one host: the release ledger and the rolling
update, moved together. Private: no API promise.

A release is recorded completely: the image by ID (a moved tag cannot change what comes back)
and its settings (environment, secret files, health check, command, limits...), so a rollback
recreates exactly that release.

deploy:    plan -> nothing to do (same replicas, the current release's): done, ledger untouched
                -> the replicas already run it, the ledger does not say so (a run that died
                   after its rollout): the ledger is repaired (in_progress -> success)
                -> ledger in_progress -> roll out -> ledger success
                                                  -> failed and undone -> ledger failed, error
rollback:  choose the target (rollback_to, or the previous successful release)
                -> no such release, or one that never served: error, nothing changed
                -> older schema than the database's, not allowed: error, nothing changed
                -> roll out the target's image ID with its recorded settings (or today's, when
                   asked) -> ledger rolled_back (newer releases marked)
                          -> failed and undone: error, ledger untouched
"""

from __future__ import annotations

from ansible_collections.launchbay.webstack.plugins.module_utils._docker_api import DockerError
from ansible_collections.launchbay.webstack.plugins.module_utils._release_ledger import FIELDS, LedgerError, ReleaseLedger
from ansible_collections.launchbay.webstack.plugins.module_utils._rolling_update import RolloutError, failure_message


class ReleaseError(Exception):
    """A release or rollback did not happen; `states` and `events` say what was seen."""

    def __init__(self, message, states=None, events=None):
        super(ReleaseError, self).__init__(message)
        self.states = states or {}
        self.events = events or []


def _schema_number(value):
    try:
        return int(str(value))
    except ValueError:
        return 0


class Release(object):
    """`ledger` is a ReleaseLedger; `rollout(image, check_mode, settings)` returns a RollingUpdate
    of the app's replicas running `image` with `settings` (None: today's), whose run() plans in
    check mode and rolls over otherwise."""

    def __init__(self, ledger, rollout, keep=10, check_mode=False):
        self.ledger = ledger
        self.rollout = rollout
        self.keep = keep
        self.check_mode = check_mode

    def _run(self, image, check_mode, settings=None):
        update = self.rollout(image, check_mode, settings)
        try:
            return update.run(), update.events
        except (RolloutError, DockerError) as exc:
            raise ReleaseError(failure_message(exc), getattr(exc, "states", {}), update.events)

    @staticmethod
    def _result(direction, current, plan):
        return {"direction": direction, "before": current, "rolled_out": False, "changed": False, "up_to_date": False,
                "image_id": plan["image_id"], "config_hash": plan["config_hash"], "events": [],
                # the rollout's replicas and image (as rolling_update's), the release ids in the headers
                "diff": {"before": plan["before"], "after": plan["after"],
                         "before_header": "release %s" % (current or {}).get("id"), "after_header": "release (none)"}}

    def _load(self):
        try:
            releases = self.ledger.load()
        except LedgerError as exc:
            raise ReleaseError(str(exc))
        return releases, ReleaseLedger.summary(releases)

    def deploy(self, image, record, settings=None):
        """Roll the replicas over to `image`, recording `record` (id, deployed_by, ...) and the
        release's `settings` in the ledger."""
        releases, summary = self._load()
        current = summary["current"]
        plan, _events = self._run(image, True)
        result = self._result("deploy", current, plan)
        if not plan["changed"] and current is not None and current.get("config_hash") == plan["config_hash"]:
            result.update(release=current, up_to_date=True)
            return result
        entry = dict(record, image=image, digest=plan["image_id"], config_hash=plan["config_hash"], settings=settings)
        if not plan["changed"]:
            # the replicas already run this release: a run that died after its rollout left it
            # in_progress (or the ledger was lost); the ledger says so again, nothing is rolled
            pending = [r for r in releases if r.get("result") == "in_progress" and r.get("config_hash") == plan["config_hash"]]
            entry = dict((k, v) for k, v in pending[0].items() if k in FIELDS) if pending else entry
            result.update(changed=True, release=dict(entry, result="success"), repaired=True)
            result["diff"]["after_header"] = "release %s (ledger repaired)" % entry["id"]
            if not self.check_mode:
                self.ledger.record(entry, "success", self.keep)
            return result
        result.update(changed=True, release=entry)
        result["diff"]["after_header"] = "release %s" % entry["id"]
        if self.check_mode:
            return result
        self.ledger.record(entry, "in_progress", self.keep)
        try:
            done, events = self._run(image, False)
        except ReleaseError as exc:
            self.ledger.record(entry, "failed", self.keep)
            raise ReleaseError("the rollout of %s failed and was undone: %s" % (image, exc), exc.states, exc.events)
        self.ledger.record(entry, "success", self.keep)
        result.update(rolled_out=True, events=events, replicas=done["replicas"])
        result["diff"]["after"] = done["after"]
        return result

    def choose(self, releases, summary, rollback_to):
        """The release to return to, or a ReleaseError listing the releases there are."""
        target = self.ledger.find(releases, rollback_to) if rollback_to else summary["previous"]
        if target is None or target.get("result") not in ("success", "rolled_back"):
            what = ("no release %s that served" % rollback_to) if rollback_to else "no previous successful release"
            listing = ", ".join("%s %s" % (r.get("id"), r.get("result")) for r in releases) or "none"
            raise ReleaseError("this host has %s to roll back to (app_rollback_to). Releases there, newest first: %s."
                               % (what, listing))
        return target

    def rollback(self, rollback_to="", allow_schema_downgrade=False, current_settings=False):
        """Return to `rollback_to` (a release id) or to the previous successful release: its image
        by ID with its recorded settings, or with today's when `current_settings` (or when the
        release predates recorded settings)."""
        releases, summary = self._load()
        current = summary["current"]
        target = self.choose(releases, summary, rollback_to)
        target_schema = str(target.get("migration_version") or "")
        db_schema = str((current or {}).get("migration_version") or "")
        if (not allow_schema_downgrade and target_schema and db_schema
                and _schema_number(target_schema) < _schema_number(db_schema)):
            raise ReleaseError(
                "Release %s (%s) expects schema version %s, but the database was migrated to %s by %s. Rolling code "
                "back across a migration can break it: check that the old code works on the new schema, then set "
                "app_rollback_allow_schema_downgrade=true."
                % (target["id"], target.get("image"), target_schema, db_schema, (current or {}).get("id") or "the current release"))
        settings = None if current_settings else target.get("settings")
        image, digest = target["image"], str(target.get("digest") or "")
        try:
            plan, _events = self._run(image, True, settings)
        except ReleaseError:
            if not digest.startswith("sha256:"):
                raise
            plan = None
        if digest.startswith("sha256:") and (plan is None or plan["image_id"] != digest):
            # the tag is gone or points elsewhere now: the release's own image, by ID
            image = digest
            plan, _events = self._run(image, True, settings)
        result = self._result("rollback", current, plan)
        result["target"] = target
        result["settings"] = "current" if settings is None else "recorded"
        if not plan["changed"] and current is not None and current.get("id") == target["id"]:
            result["up_to_date"] = True
            return result
        result["changed"] = True
        result["diff"]["after_header"] = "release %s" % target["id"]
        if self.check_mode:
            return result
        done, events = self._run(image, False, settings)
        _changed, _releases, result["target"] = self.ledger.roll_back_to(target["id"])
        result.update(rolled_out=True, events=events, replicas=done["replicas"])
        result["diff"]["after"] = done["after"]
        return result
