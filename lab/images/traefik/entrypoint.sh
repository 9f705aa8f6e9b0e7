#!/bin/sh
# Same contract as the official image: arguments starting with "-" go to traefik.
set -e
case "${1:-}" in -*) set -- traefik "$@" ;; esac
exec "$@"
