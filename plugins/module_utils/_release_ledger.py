# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release ledger of an app on one host: a JSON file, newest release first. Private."""

from __future__ import annotations

import json
import os
import time

from ansible_collections.launchbay.webstack.plugins.module_utils._files import read_json, write_atomically

RESULTS = ("in_progress", "success", "failed", "rolled_back")
# digest: the image's id on the host; repo_digest: its registry digest (repository@sha256:...);
# revision and version: its OCI labels (the commit it was built from, its version)
TEXT_FIELDS = ("id", "image", "digest", "config_hash", "migration_version", "deployed_by", "ci_run", "revision", "version",
               "repo_digest")
# settings: what app_release ran the replicas with (environment, volumes, health check, ...)
FIELDS = TEXT_FIELDS + ("settings",)
# The modules' suboptions for a release record (app_release takes those it does not compute).
RELEASE_SPEC = dict((field, dict(type="str", required=field == "id")) for field in TEXT_FIELDS)


class LedgerError(Exception):
    pass


class ReleaseLedger(object):
    """Releases of one app, newest first. `clock` is injectable for tests."""

    def __init__(self, directory, app, clock=time.time):
        if not app or "/" in app or app.startswith("."):
            raise LedgerError("invalid app name %r" % (app,))
        self.directory = directory
        self.path = os.path.join(directory, app + ".json")
        self.clock = clock

    def load(self):
        try:
            data = read_json(self.path, missing={"releases": []})
        except ValueError as exc:
            raise LedgerError("the release ledger %s is not valid JSON (%s); fix or move it aside" % (self.path, exc))
        releases = data.get("releases") if isinstance(data, dict) else None
        if not isinstance(releases, list):
            raise LedgerError("the release ledger %s has no 'releases' list" % self.path)
        return releases

    def save(self, releases):
        """Write atomically: a reader never sees half a ledger."""
        os.makedirs(self.directory, mode=0o755, exist_ok=True)
        text = json.dumps({"releases": releases}, indent=2, sort_keys=True) + "\n"
        # root only: the settings hold the app's environment
        write_atomically(self.path, text, 0o600, prefix=".ledger-")

    @staticmethod
    def successes(releases):
        return [r for r in releases if r.get("result") == "success"]

    @classmethod
    def summary(cls, releases):
        """current: the newest successful release; previous: the one before it (the rollback target)."""
        done = cls.successes(releases)
        return {
            "current": done[0] if done else None,
            "previous": done[1] if len(done) > 1 else None,
        }

    @classmethod
    def protected_images(cls, releases, keep):
        """Images that must not be pruned: those of the last `keep` successful releases, at least
        current and previous, and any release still in progress."""
        done = cls.successes(releases)
        images = [r.get("image") for r in done[: max(keep, 2)]]
        images += [r.get("image") for r in releases if r.get("result") == "in_progress"]
        seen = []
        for image in images:
            if image and image not in seen:
                seen.append(image)
        return seen

    def find(self, releases, release_id):
        for release in releases:
            if release.get("id") == release_id:
                return release
        return None

    def record(self, release, result, keep=10, check_mode=False):
        """Add the release (newest first) or update the one with the same id.

        Returns (changed, releases). Pruning keeps `keep` entries but never drops the
        current or previous successful release.
        """
        if result not in RESULTS:
            raise LedgerError("result must be one of %s, got %r" % (", ".join(RESULTS), result))
        if not release.get("id"):
            raise LedgerError("a release needs an id")
        unknown = sorted(set(release) - set(FIELDS))
        if unknown:
            raise LedgerError("unknown release fields: %s (known: %s)" % (", ".join(unknown), ", ".join(FIELDS)))
        if keep < 2:
            raise LedgerError("keep must be at least 2 (the current release and its rollback target)")
        releases = self.load()
        existing = self.find(releases, release["id"])
        now = self.clock()
        if existing is None:
            entry = dict((k, release.get(k)) for k in FIELDS)
            entry.update(result=result, started_at=now, finished_at=None if result == "in_progress" else now)
            releases = [entry] + releases
        else:
            wanted = dict(existing)
            wanted.update((k, v) for k, v in release.items() if v is not None)
            wanted["result"] = result
            if result != "in_progress" and existing.get("result") != result:
                wanted["finished_at"] = now
            if wanted == existing:
                return False, releases
            releases = [wanted if r is existing else r for r in releases]
        summary = self.summary(releases)
        pinned = [s["id"] for s in (summary["current"], summary["previous"]) if s]
        kept = []
        for index, entry in enumerate(releases):
            if index < keep or entry.get("id") in pinned:
                kept.append(entry)
        if not check_mode:
            self.save(kept)
        return True, kept

    def roll_back_to(self, target_id, check_mode=False):
        """Make `target_id` the current release: successful releases newer than it become
        rolled_back (the target itself is success again). Returns (changed, releases, target)."""
        releases = self.load()
        target = self.find(releases, target_id)
        if target is None:
            known = ", ".join("%s (%s)" % (r.get("id"), r.get("result")) for r in releases) or "none"
            raise LedgerError("no release %r in the ledger %s; releases: %s" % (target_id, self.path, known))
        if target.get("result") not in ("success", "rolled_back"):
            raise LedgerError("release %r did not succeed (result %s); roll back to a release that served"
                              % (target_id, target.get("result")))
        now = self.clock()
        index = releases.index(target)
        changed = False
        updated = []
        for position, entry in enumerate(releases):
            if position < index and entry.get("result") == "success":
                entry = dict(entry, result="rolled_back", finished_at=now)
                changed = True
            elif position == index and entry.get("result") != "success":
                entry = dict(entry, result="success", finished_at=now)
                changed = True
            updated.append(entry)
        if changed and not check_mode:
            self.save(updated)
        return changed, updated, updated[index]
