#!/bin/sh
set -e
/opt/moto/bin/python /opt/moto/serve.py -H 0.0.0.0 -p 5000 &
exec nginx -g 'daemon off;'
