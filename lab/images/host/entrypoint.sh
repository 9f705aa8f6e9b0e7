#!/bin/sh
# Fresh cgroup v1 mounts (as the machine has them) before systemd starts:
# without them nested containers fail on cgroup paths.
set -e
/usr/local/sbin/lab-cgroups
exec "$@"
