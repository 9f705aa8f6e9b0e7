#!/bin/sh
set -e
/opt/moto/bin/moto_server -H 0.0.0.0 -p 5000 &
exec nginx -g 'daemon off;'
