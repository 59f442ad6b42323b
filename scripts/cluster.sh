#!/usr/bin/env bash
# Start (or stop) a throwaway PostgreSQL 15 cluster for the demo and the tests.
#
#   scripts/cluster.sh start   # initdb if needed, start, print connection settings
#   scripts/cluster.sh fresh   # stop, remove, initdb and start anew
#   scripts/cluster.sh stop    # stop it
#   scripts/cluster.sh env     # print the settings to eval in a shell
#
# The cluster lives in $SECRETS_STORE_CLUSTER (default /tmp/secrets_store_cluster),
# listens on a Unix socket in that directory and on 127.0.0.1 (tests of
# client-address rules need TCP), port $SECRETS_STORE_PORT (default 54329),
# and trusts local connections: it is for testing only.  It preloads the
# extension and has a throwaway master key in $CLUSTER/keys.
# initdb refuses to run as root, so as root the cluster runs as "postgres".
set -euo pipefail

CLUSTER=${SECRETS_STORE_CLUSTER:-/tmp/secrets_store_cluster}
PORT=${SECRETS_STORE_PORT:-54329}
PGBIN=$(pg_config --bindir)

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

print_env() {
    echo "export PGHOST=$CLUSTER PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres"
}

# Throwaway master keys: the one in use, one to rotate to, and two broken
# ones for the tests (group-readable, not hex).
make_keys() {
    local keys="$CLUSTER/keys"
    mkdir -p "$keys"
    for k in master next; do
        od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$keys/$k.key"
        chmod 600 "$keys/$k.key"
    done
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$keys/loose.key"
    chmod 644 "$keys/loose.key"
    echo "not a key" >"$keys/bad.key"
    chmod 600 "$keys/bad.key"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$keys"
    chmod 700 "$keys"
}

stop_cluster() {
    if [ -f "$CLUSTER/data/PG_VERSION" ]; then
        as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -m fast stop >/dev/null 2>&1 || true
    fi
}

action=${1:-start}
if [ "$action" = fresh ]; then
    stop_cluster
    rm -rf "$CLUSTER"
    action=start
fi

case "$action" in
start)
    if [ ! -f "$CLUSTER/data/PG_VERSION" ]; then
        mkdir -p "$CLUSTER"
        [ "$(id -u)" = 0 ] && chown postgres: "$CLUSTER"
        as_owner "$PGBIN/initdb" -D "$CLUSTER/data" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >"$CLUSTER/initdb.log"
        make_keys
        cat >>"$CLUSTER/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CLUSTER'
port = $PORT
shared_preload_libraries = 'secrets_store, pg_stat_statements'
secrets_store.master_key_file = '$CLUSTER/keys/master.key'
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
fsync = off
CONF
    fi
    if ! as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" status >/dev/null 2>&1; then
        as_owner "$PGBIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/server.log" -w start >/dev/null
    fi
    print_env
    ;;
stop)
    stop_cluster
    ;;
env)
    print_env
    ;;
*)
    echo "usage: $0 start|fresh|stop|env" >&2
    exit 2
    ;;
esac
