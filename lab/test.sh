#!/usr/bin/env bash
# README command 2: every test. Installs what is missing first (Debian packages,
# venv, Docker engine, lab images), then runs:
#   lint        yamllint, ansible-lint (production profile), config docs, changelog,
#               workflows (actionlint), the execution environment (ansible-builder)
#   unit        pytest tests/unit (plugins)
#   sanity      ansible-test sanity on a copy of the collection
#   integration pytest tests/integration (the local stack, demo app, preflight, build, the pipeline under act),
#               and the backup benchmark's short run
#   molecule    every scenario in molecule/ (Docker-in-Docker hosts)
# The quick lints run first (seconds). Everything else then runs
# LAUNCHBAY_TEST_JOBS at a time (default 2), longest first: the integration tests
# and each Molecule scenario are one check each, on hosts, networks and ports of
# their own, and each spends most of its time waiting on containers, so two of
# them share two cores well. LAUNCHBAY_TEST_JOBS=1 runs everything in order.
# Prints one line per check with its time, the total, and "N passed, N failed";
# exits non-zero on any failure. Logs: .lab/logs/. A subset: lab/test.sh lint unit
source "$(dirname "$0")/lib.sh"

STAGES=(lint unit sanity integration molecule)
[ "$#" -gt 0 ] && STAGES=("$@")
LOG_DIR="${LAB_STATE_DIR}/logs"
RESULTS="${LOG_DIR}/results"
JOBS="${LAUNCHBAY_TEST_JOBS:-2}"
# Scenarios that take longest start first (the others follow in name order).
MOLECULE_FIRST=(postgres rollout)
mkdir -p "${LOG_DIR}"
rm -rf "${RESULTS}"; mkdir -p "${RESULTS}"
started_all=$(date +%s)

bash "${LAB_DIR}/bootstrap.sh"
bash "${LAB_DIR}/engine.sh" start
bash "${LAB_DIR}/images.sh"

export PATH="${VENV_DIR}/bin:${PATH}"
export ANSIBLE_CONFIG="${REPO_DIR}/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="${REPO_DIR}/.collections"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
cd "${REPO_DIR}"

# report NAME OK BAD SECONDS LOG [DETAIL]: one result, printed in one write (checks
# run side by side) with the log's tail on failure, and counted in ${RESULTS}.
report() {
  local name="$1" ok="$2" bad="$3" seconds="$4" log="$5" detail="${6:-}" text
  printf '%s %s %s\n' "${ok}" "${bad}" "${name}" >"$(mktemp "${RESULTS}/r.XXXXXX")"
  if [ "${bad}" -eq 0 ]; then
    text="$(printf '[test] PASS %-40s %4ss%s' "${name}" "${seconds}" "${detail:+  (${detail})}")"
  else
    text="$(printf '[test] FAIL %-40s %4ss  (%slog: %s)\n' "${name}" "${seconds}" "${detail:+${detail}; }" "${log#"${REPO_DIR}"/}"
      grep -E '^(FAILED|ERROR)' "${log}" | head -n 20 | sed 's/^/    /'
      tail -n 40 "${log}" | sed 's/^/    /')"
  fi
  printf '%s\n' "${text}"
}

# check NAME LOG -- command...: run one check and report it.
check() {
  local name="$1" log="${LOG_DIR}/$2.log" t0 rc
  shift 3
  t0=$(date +%s)
  set +e
  "$@" >"${log}" 2>&1
  rc=$?
  set -e
  report "${name}" "$((rc == 0))" "$((rc != 0))" "$(($(date +%s) - t0))" "${log}"
}

# run_pytest NAME PATH [ARG...]: pytest counts each test case; its junit report feeds the totals.
run_pytest() {
  local name="$1" path="$2" xml="${LOG_DIR}/$1.xml" log="${LOG_DIR}/$1.log" t0 rc counts
  shift 2
  t0=$(date +%s)
  set +e
  python -m pytest -q -p no:cacheprovider --junitxml="${xml}" "${path}" "$@" >"${log}" 2>&1
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
  report "${name}" "${ok}" "${bad}" "$(($(date +%s) - t0))" "${log}" \
    "$([ "${bad}" -eq 0 ] && echo "${ok} tests" || echo "${ok} passed, ${bad} failed")"
}

check_lint() {
  check "yamllint" yamllint -- yamllint --strict .
  check "docs/configuration.md matches the argument specs" config-docs -- python lab/gen_config_docs.py --check
  check "pipelines (actionlint, the shared action's scripts, ansible-builder create)" pipelines -- python lab/lint_pipelines.py
  # CHANGELOG.md is generated from changelogs/ (antsibull-changelog): fragments valid, file up to date
  check "changelog (antsibull-changelog lint, CHANGELOG.md generated)" changelog -- bash -c \
    "cd .collections/ansible_collections/launchbay/webstack && antsibull-changelog lint && antsibull-changelog generate && git diff --exit-code CHANGELOG.md"
}

# ansible-lint reads the checkout and writes nothing in it, so it runs in the pool beside the
# integration tests (which build the collection from the checkout).
check_ansible_lint() { check "ansible-lint (production profile)" ansible-lint -- ansible-lint --profile production --offline; }

check_sanity() {
  # ansible-test needs the collection under ansible_collections/NAMESPACE/NAME.
  local dest="${LAB_STATE_DIR}/sanity/ansible_collections/launchbay/webstack"
  rm -rf "${LAB_STATE_DIR}/sanity"; mkdir -p "${dest}"
  git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents -P {} "${dest}/"
  (cd "${dest}" && git init -q && git add -A >/dev/null)
  check "ansible-test sanity" sanity -- bash -c "cd '${dest}' && ansible-test sanity --local --python 3.11 --color no"
}

check_unit() { run_pytest unit tests/unit; }

# The integration tests in two checks: the modules that share the local stack (one after the
# other, the longest check of all), and the others (containers of their own, no deploy).
check_integration() { run_pytest integration tests/integration --part stack; }
check_integration_other() { run_pytest integration-other tests/integration --part other; }

# The backup benchmark's short run (50 MB): the tool's backup and restore through the lab's
# S3 against plain pg_dump and pg_restore, figures printed, restored row counts checked.
check_backup_benchmark() { check "backup benchmark (short: 50 MB)" backup-benchmark -- python benchmarks/backup.py --size-gb 0.05; }

# Everything of one scenario (its hosts are named lbm-<scenario>-*, with - for _):
# left-overs of an interrupted run, removed without touching another scenario's.
molecule_cleanup() {
  local prefix="lbm-${1//_/-}"
  docker ps -aq --filter label=launchbay.test=molecule --filter name="^${prefix}" | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker volume ls -q --filter name="^${prefix}-" | xargs -r docker volume rm -f >/dev/null 2>&1 || true
  docker network ls -q --filter name="^${prefix}" | xargs -r docker network rm >/dev/null 2>&1 || true
}

check_molecule() {
  molecule_cleanup "$1"
  check "molecule $1" "molecule-$1" -- molecule test -s "$1"
  molecule_cleanup "$1"
}

molecule_scenarios() {
  local dir scenario
  for scenario in "${MOLECULE_FIRST[@]}"; do
    [ -f "molecule/${scenario}/molecule.yml" ] && echo "${scenario}"
  done
  for dir in molecule/*/; do
    scenario="$(basename "${dir}")"
    [ -f "${dir}/molecule.yml" ] || continue
    [ -f "${dir}/benchmark-only" ] && continue  # run by a benchmark (benchmarks/), not a test
    [[ " ${MOLECULE_FIRST[*]} " == *" ${scenario} "* ]] || echo "${scenario}"
  done
}

# The checks asked for: the quick lints now, in order (CHANGELOG.md is generated there, before
# anything reads the checkout); then the pool: the integration tests (the longest check) in one
# slot from the start, ansible-lint and unit first in the other (they fail fast), then the
# Molecule scenarios, longest first (sanity last: it is short and fills a gap at the end).
wants() { [[ " ${STAGES[*]} " == *" $1 "* ]]; }
for stage in "${STAGES[@]}"; do
  case "${stage}" in
    lint) check_lint ;;
    unit | sanity | integration | molecule) ;;
    *) lab_die "unknown stage '${stage}' (known: lint unit sanity integration molecule)" ;;
  esac
done
QUEUE=()
wants integration && QUEUE+=("check_integration")
wants lint && QUEUE+=("check_ansible_lint")
wants unit && QUEUE+=("check_unit")
if wants molecule; then
  while read -r scenario; do QUEUE+=("check_molecule ${scenario}"); done < <(molecule_scenarios)
fi
wants integration && QUEUE+=("check_integration_other" "check_backup_benchmark")
wants sanity && QUEUE+=("check_sanity")

for job in "${QUEUE[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "${JOBS}" ]; do wait -n || true; done
  ${job} &
done
wait

elapsed=$(($(date +%s) - started_all))
read -r PASSED FAILED < <(cat "${RESULTS}"/r.* 2>/dev/null | awk '{ok += $1; bad += $2} END {print ok + 0, bad + 0}')
FAILURES="$(cat "${RESULTS}"/r.* 2>/dev/null | awk '$2 > 0 {$1 = $2 = ""; sub(/^  /, ""); print}' | paste -sd, - | sed 's/,/, /g')"
if [ "${FAILED}" -gt 0 ]; then
  printf '[test] failed checks: %s\n' "${FAILURES}"
fi
printf '[test] finished in %dm%02ds (%s checks at a time)\n' $((elapsed / 60)) $((elapsed % 60)) "${JOBS}"
printf 'launchbay-tests: %d passed, %d failed\n' "${PASSED}" "${FAILED}"
[ "${FAILED}" -eq 0 ]
