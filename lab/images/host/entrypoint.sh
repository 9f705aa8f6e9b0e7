#!/bin/sh
# Runs before systemd. Makes the container look like a host to a nested dockerd:
# - fresh cgroup v1 mounts, as the machine has them (else nested containers fail on cgroup paths);
# - /proc/sys writable and the masked /proc paths unmasked: what `--security-opt
#   systempaths=unconfined` does on the CLI, which the Docker API (and so Molecule) cannot pass.
set -e
/usr/local/sbin/lab-cgroups
awk '$2 ~ "^/proc/" {print $2}' /proc/mounts | sort -r | while read -r p; do
  case "$p" in /proc/sys|/proc/sys/*|/proc/sysrq-trigger|/proc/irq|/proc/bus|/proc/fs|/proc/acpi|/proc/kcore|/proc/keys|/proc/timer_list|/proc/sched_debug|/proc/scsi|/proc/latency_stats|/proc/timer_stats)
    umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true ;;
  esac
done
mount -o remount,rw /proc/sys 2>/dev/null || true
exec "$@"
