"""Lint what pipelines and AWX run, as part of the test command's lint stage:
- every workflow (.github/workflows, examples/pipeline) with actionlint (shellcheck included);
- the shared composite action's scripts with shellcheck (actionlint reads workflows only);
- execution-environment.yml with `ansible-builder create` (the schema, the build context), and
  its launchbay.webstack version equal to galaxy.yml's.
Exits non-zero naming each problem."""

import glob
import os
import re
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def actionlint():
    files = sorted(glob.glob(os.path.join(REPO, ".github", "workflows", "*.yml")) + glob.glob(os.path.join(REPO, "examples", "pipeline", "*.yml")))
    res = subprocess.run([os.path.join(BIN, "actionlint"), "-no-color", *files], cwd=REPO, capture_output=True, text=True, check=False)
    print("actionlint: %d workflows" % len(files))
    return [res.stdout + res.stderr] if res.returncode else []


def action_scripts():
    problems = []
    for path in sorted(glob.glob(os.path.join(REPO, ".github", "actions", "*", "action.yml"))):
        with open(path, encoding="utf-8") as handle:
            action = yaml.safe_load(handle)
        for step in action["runs"]["steps"]:
            if "run" not in step:
                continue
            if step.get("shell") != "bash":
                problems.append("%s: step %r has no `shell: bash`" % (path, step.get("name")))
            # expressions are expanded before the shell sees the script: stand in a word
            script = re.sub(r"\$\{\{.*?\}\}", "EXPR", step["run"])
            res = subprocess.run(["shellcheck", "-s", "bash", "-"], input=script, capture_output=True, text=True, check=False)
            if res.returncode:
                problems.append("%s, step %r:\n%s" % (path, step.get("name"), res.stdout))
        print("shellcheck: %s" % os.path.relpath(path, REPO))
    return problems


def execution_environment():
    with open(os.path.join(REPO, "execution-environment.yml"), encoding="utf-8") as handle:
        ee = yaml.safe_load(handle)
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        version = yaml.safe_load(handle)["version"]
    problems = []
    wanted = [c for c in ee["dependencies"]["galaxy"]["collections"] if c["name"] == "launchbay.webstack"]
    if [c.get("version") for c in wanted] != ["==" + version]:
        problems.append("execution-environment.yml installs launchbay.webstack %s; galaxy.yml says %s" % (wanted, version))
    with tempfile.TemporaryDirectory() as context:
        res = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", context,
                              "--output-filename", "Containerfile"], cwd=REPO, capture_output=True, text=True, check=False)
        if res.returncode:
            problems.append("ansible-builder create refused execution-environment.yml:\n" + res.stdout + res.stderr)
        else:
            with open(os.path.join(context, "Containerfile"), encoding="utf-8") as handle:
                containerfile = handle.read()
            for needed in ("ansible-core==", "ansible-runner==", "requirements.yml", "bindep.txt", "requirements.txt"):
                if needed not in containerfile:
                    problems.append("the EE's Containerfile lacks %s" % needed)
    print("ansible-builder create: execution-environment.yml (launchbay.webstack %s)" % version)
    return problems


def main():
    problems = actionlint() + action_scripts() + execution_environment()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
