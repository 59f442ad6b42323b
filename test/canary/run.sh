#!/usr/bin/env bash
# Canary test: search every channel for a distinctive secret value.
#   test/canary/run.sh [DATABASE]    (against the running test cluster)
set -euo pipefail
cd "$(dirname "$0")/../.."
DB=${1:-secrets_store_test}
if [ -z "${PGHOST:-}" ] || [ -z "${PGPORT:-}" ]; then
    eval "$(scripts/cluster.sh env)"
fi
export PGHOST PGPORT PGUSER=${PGUSER:-postgres}
SUDO=
[ "$(id -u)" != 0 ] && SUDO=sudo
if ! /usr/bin/python3 -c 'import psycopg' >/dev/null 2>&1; then
    echo "# installing python3-psycopg"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-psycopg >/dev/null
fi
exec /usr/bin/python3 test/canary/canary.py "$DB"
