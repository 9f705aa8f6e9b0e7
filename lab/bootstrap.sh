#!/usr/bin/env bash
# Install what the README commands need, idempotently and quietly when done:
#   - Debian packages (docker.io for the engine, debootstrap for the base image)
#   - the Python venv in .venv from requirements-test.txt (run time + tests; re-installed when either file changes)
#   - the checkout linked as .collections/ansible_collections/launchbay/webstack
source "$(dirname "$0")/lib.sh"

APT_PACKAGES=(debootstrap debian-archive-keyring shellcheck git ca-certificates iproute2 openssl curl)
# Debian's engine, unless one is installed already (Docker CE on a CI runner, say).
command -v dockerd >/dev/null 2>&1 || APT_PACKAGES+=(docker.io)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed" || need_apt+=("${pkg}")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || lab_die "installing ${need_apt[*]} needs root (run with sudo)"
  lab_log "installing Debian packages: ${need_apt[*]}"
  lab_quiet apt-get update
  DEBIAN_FRONTEND=noninteractive lab_quiet apt-get install -y --no-install-recommends "${need_apt[@]}"
else
  lab_log "ok: Debian packages"
fi

PYTHON="${LAUNCHBAY_PYTHON:-python3}"
"${PYTHON}" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || lab_die "Python 3.11 or newer is needed (ansible-core 2.19); set LAUNCHBAY_PYTHON"
req_hash="$(cat "${REPO_DIR}/requirements.txt" "${REPO_DIR}/requirements-test.txt" | sha256sum | cut -c1-16)"
stamp="${VENV_DIR}/.requirements-${req_hash}"
if [ -f "${stamp}" ] && [ -x "${VENV_DIR}/bin/ansible-playbook" ]; then
  lab_log "ok: venv ${VENV_DIR#"${REPO_DIR}"/} (requirements unchanged)"
else
  if [ ! -x "${VENV_DIR}/bin/python" ]; then
    "${PYTHON}" -m venv "${VENV_DIR}" 2>/dev/null || {
      lab_log "python3-venv is missing; installing it"
      lab_quiet apt-get update
      DEBIAN_FRONTEND=noninteractive lab_quiet apt-get install -y python3-venv
      "${PYTHON}" -m venv "${VENV_DIR}"
    }
  fi
  lab_log "installing pinned Python requirements into ${VENV_DIR#"${REPO_DIR}"/} (a minute or two)"
  lab_quiet "${VENV_DIR}/bin/pip" install --disable-pip-version-check -r "${REPO_DIR}/requirements-test.txt"
  rm -f "${VENV_DIR}"/.requirements-*
  touch "${stamp}"
fi

link="${REPO_DIR}/.collections/ansible_collections/launchbay/webstack"
if [ "$(readlink "${link}" 2>/dev/null)" != "${REPO_DIR}" ]; then
  mkdir -p "$(dirname "${link}")"
  ln -sfn "${REPO_DIR}" "${link}"
  lab_log "linked the checkout as launchbay.webstack in .collections/"
fi

# ansible-test bootstraps pip in its sanity venvs with a script from a host that is
# not reachable here; give it a stand-in that uses ensurepip and PyPI.
pip_version="$("${VENV_DIR}/bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages as g; print(g(type("P", (), {"version": "3.11"})())["pip"])')"
get_pip="${HOME}/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if ! cmp -s "${LAB_DIR}/ansible_test_get_pip.py" "${get_pip}"; then
  mkdir -p "$(dirname "${get_pip}")"
  install -m 0644 "${LAB_DIR}/ansible_test_get_pip.py" "${get_pip}"
  lab_log "installed the ansible-test pip bootstrap stand-in"
fi
