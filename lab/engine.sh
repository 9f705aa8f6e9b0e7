#!/usr/bin/env bash
# The lab's Docker engine on this machine (no systemd here):
#   lab/engine.sh start     reuse an engine that answers, else start dockerd in the background
#   lab/engine.sh restart   stop ours and start it again (picks up a changed daemon.json),
#                           then re-syncs the lab's ACME CA (its root changes when it restarts)
#   lab/engine.sh status
# dockerd reads /etc/docker/daemon.json (the docker_host role writes it) and logs to
# /var/log/launchbay-dockerd.log. Waits are bounded.
source "$(dirname "$0")/lib.sh"

LOG_FILE="${LAUNCHBAY_DOCKERD_LOG:-/var/log/launchbay-dockerd.log}"
PID_FILE="/run/launchbay-dockerd.pid"
CONFIG_FILE="/etc/docker/daemon.json"
START_TIMEOUT="${LAUNCHBAY_DOCKERD_TIMEOUT:-60}"

answers() { timeout 10 docker info >/dev/null 2>&1; }

wait_for() {  # wait_for up|down
  local i
  for ((i = 0; i < START_TIMEOUT * 2; i++)); do
    if [ "$1" = up ] && answers; then return 0; fi
    if [ "$1" = down ] && ! pgrep -x dockerd >/dev/null; then return 0; fi
    sleep 0.5
  done
  return 1
}

start() {
  if answers; then
    lab_log "ok: Docker engine answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
    return 0
  fi
  command -v dockerd >/dev/null || lab_die "dockerd is missing (lab/bootstrap.sh installs docker.io)"
  if [ -S /var/run/docker.sock ] && ! pgrep -x dockerd >/dev/null; then rm -f /var/run/docker.sock; fi
  mkdir -p /etc/docker
  # live-restore from the very first start: the docker_host role's first daemon.json then
  # restarts the engine without restarting the containers (Pebble would make a new root)
  [ -s "${CONFIG_FILE}" ] || echo '{"live-restore": true}' > "${CONFIG_FILE}"
  lab_log "starting dockerd (log: ${LOG_FILE})"
  nohup dockerd --config-file "${CONFIG_FILE}" --pidfile "${PID_FILE}" >>"${LOG_FILE}" 2>&1 </dev/null &
  if ! wait_for up; then
    tail -n 30 "${LOG_FILE}" >&2
    lab_die "dockerd did not answer within ${START_TIMEOUT}s"
  fi
  lab_log "Docker engine up ($(docker info --format '{{.ServerVersion}}'))"
}

stop() {
  local pid
  pid="$(cat "${PID_FILE}" 2>/dev/null || pgrep -x -o dockerd || true)"
  [ -n "${pid}" ] || return 0
  kill -TERM "${pid}" 2>/dev/null || true
  wait_for down || lab_die "dockerd did not stop within ${START_TIMEOUT}s"
}

case "${1:-start}" in
  start) start ;;
  restart)
    stop
    start
    # containers without live-restore came back: the lab CA (if it runs) may have a new root
    if docker inspect launchbay_lab_pebble >/dev/null 2>&1; then bash "${LAB_DIR}/acme.sh"; fi
    ;;
  status) if answers; then docker info --format 'Docker engine {{.ServerVersion}} answers'; else echo "no Docker engine answers"; exit 1; fi ;;
  *) lab_die "usage: lab/engine.sh start|restart|status" ;;
esac
