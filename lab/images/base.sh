#!/usr/bin/env bash
# Base image without a registry: debootstrap Debian bookworm (minbase + python3)
# and `docker import` it. Cached by tag: skipped when the image exists.
source "$(dirname "$0")/../lib.sh"

BASE_IMAGE="${LAB_IMAGE_PREFIX}/debian:bookworm"
if lab_image_exists "${BASE_IMAGE}"; then
  lab_log "ok: ${BASE_IMAGE} (cached)"
  exit 0
fi
command -v debootstrap >/dev/null || lab_die "debootstrap is missing (lab/bootstrap.sh installs it)"
MIRROR="${LAUNCHBAY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
root="$(mktemp -d "${LAB_STATE_DIR}/rootfs.XXXXXX")"
trap 'rm -rf "${root}"' EXIT
lab_log "building ${BASE_IMAGE} with debootstrap (about a minute)"
lab_quiet debootstrap --variant=minbase --include=python3,ca-certificates bookworm "${root}" "${MIRROR}"
cat > "${root}/etc/apt/sources.list" <<SRC
deb ${MIRROR} bookworm main
deb ${MIRROR} bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
rm -rf "${root}/var/cache/apt/archives/"*.deb "${root}/var/lib/apt/lists/"*
tar -C "${root}" -c . | docker import \
  --change 'CMD ["/bin/bash"]' \
  --change 'ENV LANG=C.UTF-8' - "${BASE_IMAGE}" >/dev/null
lab_log "built ${BASE_IMAGE}"
