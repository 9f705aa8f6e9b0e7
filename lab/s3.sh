#!/usr/bin/env bash
# The lab's S3 endpoint for the local deploy's backups: moto behind an nginx TLS proxy
# (pgBackRest speaks S3 only over TLS), as container launchbay_lab_s3 with the name "s3"
# on the backups' egress network (the postgres role's launchbay_egress, created here with
# the role's label when missing). Idempotent; one "ok" line when it already runs.
# moto keeps objects in memory: a restarted endpoint is empty, and the backups role then
# creates the bucket and the pgBackRest stanza again on the next deploy.
# Its CA goes to ${LAB_S3_DIR}/ca.pem for the local inventory.
source "$(dirname "$0")/lib.sh"

NET=launchbay_egress
IMAGE="${LAB_IMAGE_PREFIX}/s3:moto-5.2.5"
LAB_S3_DIR="${LAUNCHBAY_LAB_S3_DIR:-${HOME}/.config/launchbay/lab-s3}"
mkdir -p "${LAB_S3_DIR}"

docker network inspect "${NET}" >/dev/null 2>&1 \
  || docker network create --label launchbay.role=postgres "${NET}" >/dev/null

if [ "$(docker inspect -f '{{.State.Running}}' launchbay_lab_s3 2>/dev/null)" = "true" ]; then
  lab_log "ok: lab S3 endpoint runs"
else
  docker rm -f launchbay_lab_s3 >/dev/null 2>&1 || true
  docker run -d --name launchbay_lab_s3 --label launchbay.lab=s3 --restart unless-stopped \
    --network "${NET}" --network-alias s3 "${IMAGE}" >/dev/null
  lab_log "lab S3 endpoint (moto behind TLS) started on ${NET} as https://s3"
fi
for _ in $(seq 1 30); do
  docker exec launchbay_lab_s3 sh -c 'python3 -c "import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:5000/\", timeout=2)"' \
    >/dev/null 2>&1 && break
  sleep 1
done
docker exec launchbay_lab_s3 cat /etc/s3/ca.pem > "${LAB_S3_DIR}/ca.pem.new" && mv "${LAB_S3_DIR}/ca.pem.new" "${LAB_S3_DIR}/ca.pem"
