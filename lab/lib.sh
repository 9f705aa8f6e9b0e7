# shellcheck shell=bash
# Shared helpers for the lab scripts. Source it; do not run it.
# Every step is idempotent: it checks first, says "ok" in one line when nothing
# is to do, and only then does the work.

set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "${LAB_DIR}/.." && pwd)"
VENV_DIR="${LAUNCHBAY_VENV:-${REPO_DIR}/.venv}"
LAB_STATE_DIR="${LAUNCHBAY_LAB_STATE:-${REPO_DIR}/.lab}"
LAB_IMAGE_PREFIX="${LAUNCHBAY_LAB_IMAGE_PREFIX:-launchbay-lab}"
export LAB_DIR REPO_DIR VENV_DIR LAB_STATE_DIR LAB_IMAGE_PREFIX
mkdir -p "${LAB_STATE_DIR}"

lab_log() { printf '[lab] %s\n' "$*"; }
lab_die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command quietly; on failure print its output (last 60 lines) and fail.
lab_quiet() {
  local log
  log="$(mktemp "${LAB_STATE_DIR}/cmd.XXXXXX")"
  if ! "$@" >"${log}" 2>&1; then
    printf '[lab] command failed: %s\n' "$*" >&2
    tail -n 60 "${log}" >&2
    rm -f "${log}"
    return 1
  fi
  rm -f "${log}"
}

# Hash of files/directories (content and names), stable across clones.
lab_hash() {
  local p
  for p in "$@"; do
    if [ -d "${p}" ]; then
      (cd "${p}" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    else
      sha256sum "${p}"
    fi
  done | sha256sum | cut -c1-16
}

# True when image $1 exists and carries label launchbay.lab.hash=$2.
lab_image_current() {
  local have
  have="$(docker image inspect --format '{{ index .Config.Labels "launchbay.lab.hash" }}' "$1" 2>/dev/null || true)"
  [ -n "${have}" ] && [ "${have}" = "$2" ]
}

lab_image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
