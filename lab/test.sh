#!/usr/bin/env bash
# README command 2: every test. Installs what is missing first (Debian packages,
# venv, Docker engine, lab images), then runs, in order:
#   lint       yamllint and ansible-lint (production profile)
#   sanity     ansible-test sanity on a copy of the collection
#   unit       pytest tests/unit (plugins)
#   integration pytest tests/integration (demo app, collection build, preflight)
#   molecule   every scenario in molecule/
# Prints one line per check and a final "N passed, N failed" line; exits non-zero on
# any failure. Logs: .lab/logs/. Run a subset: lab/test.sh lint unit
source "$(dirname "$0")/lib.sh"

STAGES=(lint sanity unit integration molecule)
[ "$#" -gt 0 ] && STAGES=("$@")
LOG_DIR="${LAB_STATE_DIR}/logs"
mkdir -p "${LOG_DIR}"
PASSED=0
FAILED=0
FAILURES=()
started_all=$(date +%s)

bash "${LAB_DIR}/bootstrap.sh"
bash "${LAB_DIR}/engine.sh" start
bash "${LAB_DIR}/images.sh"

export PATH="${VENV_DIR}/bin:${PATH}"
export ANSIBLE_CONFIG="${REPO_DIR}/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="${REPO_DIR}/.collections"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
cd "${REPO_DIR}"

# check NAME LOG -- command...: run one check, count it, show the log tail on failure.
check() {
  local name="$1" log="${LOG_DIR}/$2.log" t0 rc
  shift 3
  t0=$(date +%s)
  set +e
  "$@" >"${log}" 2>&1
  rc=$?
  set -e
  if [ "${rc}" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    printf '[test] PASS %-40s %4ss\n' "${name}" "$(($(date +%s) - t0))"
  else
    FAILED=$((FAILED + 1))
    FAILURES+=("${name}")
    printf '[test] FAIL %-40s %4ss  (log: %s)\n' "${name}" "$(($(date +%s) - t0))" "${log#"${REPO_DIR}"/}"
    tail -n 40 "${log}" | sed 's/^/    /'
  fi
}

# pytest counts each test case; its junit report feeds the totals.
run_pytest() {
  local name="$1" path="$2" xml="${LOG_DIR}/$1.xml" log="${LOG_DIR}/$1.log" t0 rc counts
  t0=$(date +%s)
  set +e
  python -m pytest -q -p no:cacheprovider --junitxml="${xml}" "${path}" >"${log}" 2>&1
  rc=$?
  set -e
  counts="$(python - "${xml}" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 0"); sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad)
PY
)"
  local ok="${counts% *}" bad="${counts#* }"
  if [ "${rc}" -ne 0 ] && [ "${bad}" -eq 0 ]; then bad=1; fi  # collection errors, no tests run
  PASSED=$((PASSED + ok)); FAILED=$((FAILED + bad))
  if [ "${rc}" -eq 0 ]; then
    printf '[test] PASS %-40s %4ss  (%s tests)\n' "${name}" "$(($(date +%s) - t0))" "${ok}"
  else
    FAILURES+=("${name}")
    printf '[test] FAIL %-40s %4ss  (%s passed, %s failed; log: %s)\n' "${name}" "$(($(date +%s) - t0))" "${ok}" "${bad}" "${log#"${REPO_DIR}"/}"
    grep -E '^(FAILED|ERROR)|Error' "${log}" | head -n 20 | sed 's/^/    /'
    tail -n 25 "${log}" | sed 's/^/    /'
  fi
}

stage_lint() {
  check "yamllint" yamllint -- yamllint --strict .
  check "docs/configuration.md matches the argument specs" config-docs -- python lab/gen_config_docs.py --check
  check "ansible-lint (production profile)" ansible-lint -- ansible-lint --profile production --offline
  # CHANGELOG.md is generated from changelogs/ (antsibull-changelog): fragments valid, file up to date
  check "changelog (antsibull-changelog lint, CHANGELOG.md generated)" changelog -- bash -c \
    "cd .collections/ansible_collections/launchbay/webstack && antsibull-changelog lint && antsibull-changelog generate && git diff --exit-code CHANGELOG.md"
}

stage_sanity() {
  # ansible-test needs the collection under ansible_collections/NAMESPACE/NAME.
  local dest="${LAB_STATE_DIR}/sanity/ansible_collections/launchbay/webstack"
  rm -rf "${LAB_STATE_DIR}/sanity"; mkdir -p "${dest}"
  git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents -P {} "${dest}/"
  (cd "${dest}" && git init -q && git add -A >/dev/null)
  check "ansible-test sanity" sanity -- bash -c "cd '${dest}' && ansible-test sanity --local --python 3.11 --color no"
}

stage_unit() { run_pytest unit tests/unit; }

stage_integration() { run_pytest integration tests/integration; }

molecule_cleanup() {
  docker ps -aq --filter label=launchbay.test=molecule | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker volume ls -q --filter name='^lbm-' | xargs -r docker volume rm -f >/dev/null 2>&1 || true
  docker network ls -q --filter name='^lbm-' | xargs -r docker network rm >/dev/null 2>&1 || true
}

stage_molecule() {
  local dir scenario
  for dir in molecule/*/; do
    scenario="$(basename "${dir}")"
    [ -f "${dir}/molecule.yml" ] || continue
    molecule_cleanup
    check "molecule ${scenario}" "molecule-${scenario}" -- molecule test -s "${scenario}"
  done
  molecule_cleanup
}

for stage in "${STAGES[@]}"; do
  declare -F "stage_${stage}" >/dev/null || lab_die "unknown stage '${stage}' (known: lint sanity unit integration molecule)"
  "stage_${stage}"
done

elapsed=$(($(date +%s) - started_all))
if [ "${FAILED}" -gt 0 ]; then
  printf '[test] failed checks: %s\n' "${FAILURES[*]}"
fi
printf '[test] finished in %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60))
printf 'launchbay-tests: %d passed, %d failed\n' "${PASSED}" "${FAILED}"
[ "${FAILED}" -eq 0 ]
