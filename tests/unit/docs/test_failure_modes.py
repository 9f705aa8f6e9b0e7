"""docs/failure-modes.md against the fault-injection tests: every fault the table calls tested
is injected by a test carrying its marker (FAULT <id>) in the file the table names, and every
marker in the tests has its row."""

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DOC = os.path.join(REPO, "docs", "failure-modes.md")
MARKER = re.compile(r"FAULT ([a-z0-9-]+)")


def rows():
    found = {}
    with open(DOC, encoding="utf-8") as handle:
        for line in handle:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            match = re.match(r"^`([a-z0-9-]+)`$", cells[0]) if len(cells) == 4 else None
            if match:
                found[match.group(1)] = cells[3]
    return found


def markers():
    found = {}
    for top in ("tests", "molecule"):
        for dirpath, _dirs, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if name.endswith(".py") and name != os.path.basename(__file__):
                    path = os.path.join(dirpath, name)
                    with open(path, encoding="utf-8") as handle:
                        for fault in MARKER.findall(handle.read()):
                            found.setdefault(fault, set()).add(os.path.relpath(path, REPO))
    return found


def test_every_tested_fault_has_its_marker_in_the_named_test():
    table, marked = rows(), markers()
    assert len(table) >= 15
    for fault, status in table.items():
        if status.startswith("tested"):
            named = set(re.findall(r"`([^`]+\.py)`", status))
            assert fault in marked, "%s is called tested but no test carries FAULT %s" % (fault, fault)
            assert named & marked[fault], "%s: the marker is in %s, the table names %s" % (fault, marked[fault], named)
        else:
            assert status.startswith("open"), "%s: status must say tested or open, not %r" % (fault, status)
            assert fault not in marked, "%s has a test (%s): mark it tested" % (fault, marked[fault])


def test_every_marker_has_its_row():
    assert not set(markers()) - set(rows()), "faults tested but not in docs/failure-modes.md"
