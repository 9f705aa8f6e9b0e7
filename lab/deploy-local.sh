#!/usr/bin/env bash
# README command 1: deploy the whole stack with the demo app onto this machine.
# Installs what is missing first (Debian packages, venv, Docker engine, lab images),
# then runs: ansible-playbook playbooks/deploy.yml -i inventories/local
# Extra arguments go to ansible-playbook (e.g. -e app_version=v2).
source "$(dirname "$0")/lib.sh"
bash "${LAB_DIR}/bootstrap.sh"
bash "${LAB_DIR}/engine.sh" start
bash "${LAB_DIR}/images.sh" postgres traefik maintenance pebble s3 monitoring demo
bash "${LAB_DIR}/acme.sh"
bash "${LAB_DIR}/s3.sh"
cd "${REPO_DIR}" || exit 1
export ANSIBLE_CONFIG="${REPO_DIR}/ansible.cfg"
exec "${VENV_DIR}/bin/ansible-playbook" playbooks/deploy.yml -i inventories/local "$@"
