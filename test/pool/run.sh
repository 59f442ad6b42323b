#!/usr/bin/env bash
# Connection-pool test: transaction principals behind pgbouncer.
#
#   test/pool/run.sh [DATABASE]      # default secrets_store_test
#
# Run against the running throwaway cluster (PGHOST / PGPORT / PGUSER
# exported, a superuser; from scripts/cluster.sh env when unset), in a
# database that has secrets_store installed and test/fixtures/people.sql
# loaded.  Installs what is missing (pgbouncer, python3-psycopg2), starts
# pgbouncer (scripts/pgbouncer.sh: transaction pooling, one server
# connection), runs test/pool/interleave.py with Debian's Python, stops
# pgbouncer whatever happens, and exits with the test's status.  Output is
# TAP.
set -euo pipefail
cd "$(dirname "$0")/../.."

DB=${1:-secrets_store_test}
export PGBOUNCER_PORT=${PGBOUNCER_PORT:-64330}
# the roles interleave.py creates: pgbouncer's user list must name them
export PGBOUNCER_USERS="ss_pool_app ss_pool_gw ${PGBOUNCER_USERS:-}"

if [ -z "${PGHOST:-}" ] || [ -z "${PGPORT:-}" ]; then
    eval "$(scripts/cluster.sh env)"
fi
export PGHOST PGPORT PGUSER=${PGUSER:-postgres}

SUDO=
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi
need=()
/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || need+=(python3-psycopg2)
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
if [ ${#need[@]} -gt 0 ]; then
    echo "# installing ${need[*]}"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

trap 'scripts/pgbouncer.sh stop' EXIT
scripts/pgbouncer.sh start | sed 's/^/# /'

status=0
/usr/bin/python3 test/pool/interleave.py "$DB" || status=$?
exit $status
