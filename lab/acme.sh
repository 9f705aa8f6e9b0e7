#!/usr/bin/env bash
# The lab's ACME CA for the local deploy: Pebble (Let's Encrypt's test CA) and
# pebble-challtestsrv on their own network with a fixed subnet. Every name resolves
# to Traefik's fixed address on that network, so Pebble validates HTTP-01 against it.
#   lab/acme.sh start   idempotent; prints nothing but one "ok" line when all runs
# Files for the local inventory and for clients, in ${LAB_ACME_DIR}:
#   pebble-api-ca.pem   CA of Pebble's API (Traefik trusts it for the ACME exchange)
#   pebble-root.pem     Pebble's issuing root, to verify the site: curl --cacert
# Pebble makes a new root each time it starts; certificates Traefik holds from an
# older Pebble are then unverifiable, so after a Pebble restart they are dropped from
# acme.json (lab only) and Traefik asks again.
source "$(dirname "$0")/lib.sh"

NET=launchbay_lab_acme
SUBNET=172.16.250.0/24
CHALL_IP=172.16.250.3
PEBBLE_IP=172.16.250.4
TRAEFIK_IP=172.16.250.10
IMAGE="${LAB_IMAGE_PREFIX}/pebble:2.4"
LAB_ACME_DIR="${LAUNCHBAY_LAB_ACME_DIR:-${HOME}/.config/launchbay/lab-acme}"
ACME_JSON="${LAUNCHBAY_TRAEFIK_ACME_JSON:-/var/lib/launchbay/traefik/acme.json}"
mkdir -p "${LAB_ACME_DIR}"

# running NAME ARGS: the container runs with exactly these arguments (label launchbay.lab.args)
running() {
  [ "$(docker inspect -f '{{.State.Running}} {{index .Config.Labels "launchbay.lab.args"}}' "$1" 2>/dev/null)" = "true $2" ]
}
CHALL_ARGS=(pebble-challtestsrv -dns01 :8053 -http01 "" -tlsalpn01 "" -management :8055
            -defaultIPv4 "${TRAEFIK_IP}" -defaultIPv6 "")
PEBBLE_ARGS=(pebble -config /etc/pebble/pebble-config.json -dnsserver "${CHALL_IP}:8053")

docker network inspect "${NET}" >/dev/null 2>&1 \
  || docker network create --subnet "${SUBNET}" --label launchbay.lab=acme "${NET}" >/dev/null

started=0
# answers A queries with Traefik's address and AAAA with nothing (Pebble tries IPv6 first)
if ! running launchbay_lab_challtestsrv "${CHALL_ARGS[*]}"; then
  docker rm -f launchbay_lab_challtestsrv >/dev/null 2>&1 || true
  docker run -d --name launchbay_lab_challtestsrv --label launchbay.lab=acme --label "launchbay.lab.args=${CHALL_ARGS[*]}" \
    --restart unless-stopped --network "${NET}" --ip "${CHALL_IP}" "${IMAGE}" "${CHALL_ARGS[@]}" >/dev/null
  started=1
fi
if ! running launchbay_lab_pebble "${PEBBLE_ARGS[*]}"; then
  docker rm -f launchbay_lab_pebble >/dev/null 2>&1 || true
  docker run -d --name launchbay_lab_pebble --label launchbay.lab=acme --label "launchbay.lab.args=${PEBBLE_ARGS[*]}" \
    --restart unless-stopped --network "${NET}" --ip "${PEBBLE_IP}" --network-alias pebble -e PEBBLE_VA_NOSLEEP=1 \
    "${IMAGE}" "${PEBBLE_ARGS[@]}" >/dev/null
  started=1
fi

# Wait (bounded) for Pebble's API, then keep its CAs where the inventory and clients find them.
root=""
for _ in $(seq 1 30); do
  root="$(docker exec launchbay_lab_pebble python3 -c 'import ssl, urllib.request; print(urllib.request.urlopen("https://127.0.0.1:15000/roots/0", context=ssl._create_unverified_context(), timeout=2).read().decode())' 2>/dev/null)" && break
  sleep 1
done
[ -n "${root}" ] || lab_die "Pebble did not answer within 30 s (docker logs launchbay_lab_pebble)"
docker exec launchbay_lab_pebble cat /etc/pebble/ca.pem > "${LAB_ACME_DIR}/pebble-api-ca.pem"
pebble_started="$(docker inspect -f '{{.State.StartedAt}}' launchbay_lab_pebble)"
if [ "$(cat "${LAB_ACME_DIR}/pebble-started" 2>/dev/null)" != "${pebble_started}" ]; then
  printf '%s\n' "${root}" > "${LAB_ACME_DIR}/pebble-root.pem"
  if [ -s "${ACME_JSON}" ]; then  # certificates from an older Pebble: ask again
    : > "${ACME_JSON}"
    docker restart launchbay_traefik >/dev/null 2>&1 || true
    lab_log "Pebble restarted: dropped the certificates of the older Pebble from acme.json"
  fi
  printf '%s\n' "${pebble_started}" > "${LAB_ACME_DIR}/pebble-started"
  started=1
fi
if [ "${started}" = 1 ]; then lab_log "lab ACME CA (Pebble) ready on ${NET}"; else lab_log "ok: lab ACME CA (Pebble) runs"; fi
