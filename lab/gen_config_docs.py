#!/usr/bin/env python
"""Generate docs/configuration.md from every role's meta/argument_specs.yml.

    lab/gen_config_docs.py          rewrite the guide
    lab/gen_config_docs.py --check  exit 1 when the guide is out of date (the test command runs this)
"""

import difflib
import os
import re
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(REPO, "docs", "configuration.md")
ROLE_ORDER = ["docker_host", "traefik", "postgres", "app", "backups", "restore", "run"]


def text(value):
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    value = re.sub(r"\b[CIOV]\(([^)]*)\)", r"`\1`", " ".join(str(value or "").split()))
    return value.replace("|", "\\|")


def default_of(spec):
    if "default" not in spec:
        return "**required**" if spec.get("required") else ""
    value = spec["default"]
    if value == "":
        return '`""`'
    return "`%s`" % yaml.safe_dump(value, default_flow_style=True).strip().replace("\n...", "").replace("|", "\\|")


def type_of(spec):
    kind = spec.get("type", "str")
    if kind == "list" and spec.get("elements"):
        kind = "list of %s" % spec["elements"]
    if spec.get("choices"):
        kind += " (%s)" % ", ".join("`%s`" % c for c in spec["choices"])
    return kind


def rows(options, prefix=""):
    for name in sorted(options):
        spec = options[name] or {}
        secret = " *(secret: keep it in Vault)*" if spec.get("no_log") else ""
        yield "| `%s%s` | %s | %s | %s%s |" % (prefix, name, type_of(spec), default_of(spec), text(spec.get("description")), secret)
        if spec.get("options"):
            yield from rows(spec["options"], prefix="%s%s[].%s" % (prefix, name, "") if spec.get("type") == "list" else "%s%s." % (prefix, name))


def generate():
    roles_dir = os.path.join(REPO, "roles")
    roles = sorted(os.listdir(roles_dir), key=lambda r: (ROLE_ORDER.index(r) if r in ROLE_ORDER else 99, r))
    out = [
        "# Environment configuration guide",
        "",
        "Every variable a user sets, by role. Generated from the roles' `meta/argument_specs.yml`",
        "by `lab/gen_config_docs.py`; the test command fails when this file is out of date.",
        "",
        "Set them in an inventory's `group_vars/all/` (environment files load after the shared",
        "`00_stack.yml`). Secrets belong in Ansible Vault (`vault_*` variables referenced from",
        "plain ones) or come from the environment in AWX/Semaphore.",
        "",
    ]
    for role in roles:
        path = os.path.join(roles_dir, role, "meta", "argument_specs.yml")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as handle:
            spec = yaml.safe_load(handle)["argument_specs"]["main"]
        out += ["## %s" % role, "", text(spec.get("short_description")), ""]
        out += ["| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
        out += list(rows(spec.get("options", {})))
        out.append("")
    return "\n".join(out)


def main(argv):
    content = generate()
    if "--check" in argv:
        with open(TARGET, encoding="utf-8") as handle:
            current = handle.read()
        if current != content:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), content.splitlines(True), "docs/configuration.md", "generated"))
            print("\ndocs/configuration.md is out of date: run lab/gen_config_docs.py")
            return 1
        return 0
    os.makedirs(os.path.dirname(TARGET), exist_ok=True)
    with open(TARGET, "w", encoding="utf-8") as handle:
        handle.write(content)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
