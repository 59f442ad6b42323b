#!/usr/bin/env bash
# Install what is missing (Debian 12), build and install the extension, and
# start the throwaway cluster.  Sourced by demo.sh and test.sh; safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export SECRETS_STORE_CLUSTER=${SECRETS_STORE_CLUSTER:-/tmp/secrets_store_cluster}
export PG_CONFIG

need=()
[ -x "$PG_CONFIG" ] || need+=(postgresql-server-dev-15)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pgtap.control ] || need+=(postgresql-15-pgtap)
command -v pg_prove >/dev/null || need+=(libtap-parser-sourcehandler-pgtap-perl)
command -v make >/dev/null || need+=(make)
command -v gcc >/dev/null || need+=(gcc)
[ -f /usr/include/openssl/evp.h ] || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
export PATH="$("$PG_CONFIG" --bindir):$PATH"

echo "== building and installing secrets_store"
make -s PG_CONFIG="$PG_CONFIG" >/dev/null
$SUDO make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

echo "== starting the throwaway cluster ($SECRETS_STORE_CLUSTER)"
eval "$(scripts/cluster.sh "${CLUSTER_MODE:-start}")"
export PGHOST PGPORT PGUSER PGDATABASE
