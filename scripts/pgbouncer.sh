#!/usr/bin/env bash
# Start (or stop) a pgbouncer in front of the throwaway cluster, for the
# connection-pool tests (test/pool/).
#
#   scripts/pgbouncer.sh start    # (re)write the config and (re)start pgbouncer
#   scripts/pgbouncer.sh stop     # stop it
#   scripts/pgbouncer.sh reload   # rewrite the user list, make pgbouncer reread it
#   scripts/pgbouncer.sh status   # exit 0 if it is running
#   scripts/pgbouncer.sh env      # print the settings to eval in a shell
#
# The pooler runs in TRANSACTION mode with a pool of exactly ONE server
# connection per database (default_pool_size = 1, max_db_connections = 1), so
# every client of a database shares one backend: what one transaction leaves
# behind in backend memory, the next client's transaction sees.
#
# It listens on 127.0.0.1, port $PGBOUNCER_PORT (default 64330), trusts every
# client (like the cluster does: testing only) and reaches the cluster over its
# Unix socket, $PGHOST / $PGPORT (from scripts/cluster.sh env when unset).
# Any database name is served (a "*" entry).  pgbouncer with auth_type = trust
# still wants the user in its auth_file: the file lists every login role of
# the cluster at start (and at reload) plus the names in $PGBOUNCER_USERS
# (space-separated), so a test can name roles it has yet to create.
#
# Config, user list, pid file, socket and log live in $PGBOUNCER_DIR (default
# /tmp/secrets_store_pgbouncer_<port>), never in the repository.  pgbouncer
# refuses to run as root: as root it runs as "postgres".
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PGBOUNCER_PORT:-64330}
DIR=${PGBOUNCER_DIR:-/tmp/secrets_store_pgbouncer_$PORT}
CONF=$DIR/pgbouncer.ini
USERLIST=$DIR/userlist.txt
PIDFILE=$DIR/pgbouncer.pid
LOG=$DIR/pgbouncer.log
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || PG_CONFIG=pg_config

if [ -z "${PGHOST:-}" ] || [ -z "${PGPORT:-}" ]; then
    eval "$(scripts/cluster.sh env)"
fi
PGUSER=${PGUSER:-postgres}

SUDO=
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install_pgbouncer() {
    if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then
        echo "== installing pgbouncer" >&2
        $SUDO apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
    fi
}

pgbouncer_bin() {
    command -v pgbouncer 2>/dev/null || echo /usr/sbin/pgbouncer
}

running_pid() {
    local pid
    [ -f "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

# "name" "" per line: login roles of the cluster, then $PGBOUNCER_USERS
write_userlist() {
    local roles
    roles=$(psql -X -qAt -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres \
                 -c "SELECT rolname FROM pg_roles WHERE rolcanlogin ORDER BY 1" 2>/dev/null) || roles=
    {
        echo "$PGUSER"
        [ -z "$roles" ] || echo "$roles"
        for u in ${PGBOUNCER_USERS:-}; do echo "$u"; done
    } | awk 'NF && !seen[$0]++' | sed 's/"/""/g; s/.*/"&" ""/' >"$USERLIST.new"
    mv "$USERLIST.new" "$USERLIST"
    [ "$(id -u)" = 0 ] && chown postgres: "$USERLIST"
    return 0
}

write_config() {
    cat >"$CONF" <<CONF
; written by scripts/pgbouncer.sh: for tests only
[databases]
* = host=$PGHOST port=$PGPORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir = $DIR
auth_type = trust
auth_file = $USERLIST
admin_users = $PGUSER
stats_users = $PGUSER

pool_mode = transaction
default_pool_size = 1
min_pool_size = 0
reserve_pool_size = 0
max_db_connections = 1
max_client_conn = 50

; a client waiting for the one server connection gives up instead of hanging
query_wait_timeout = 30
server_connect_timeout = 10
server_login_retry = 1
ignore_startup_parameters = extra_float_digits

logfile = $LOG
pidfile = $PIDFILE
log_connections = 1
log_disconnections = 1
log_pooler_errors = 1
CONF
    [ "$(id -u)" = 0 ] && chown postgres: "$CONF"
    return 0
}

stop_pgbouncer() {
    local pid
    pid=$(running_pid) || { rm -f "$PIDFILE"; return 0; }
    kill -INT "$pid" 2>/dev/null || true     # SIGINT: immediate shutdown
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
}

start_pgbouncer() {
    install_pgbouncer
    stop_pgbouncer
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
    chmod 700 "$DIR"
    : >"$LOG"
    [ "$(id -u)" = 0 ] && chown postgres: "$LOG"
    write_config
    write_userlist
    if ! as_owner "$(pgbouncer_bin)" -d "$CONF"; then
        echo "pgbouncer did not start; its log ($LOG):" >&2
        tail -20 "$LOG" >&2 || true
        return 1
    fi
    # ready when the admin console answers on the TCP port
    for _ in $(seq 1 100); do
        if running_pid >/dev/null &&
           psql -X -qAt -h 127.0.0.1 -p "$PORT" -U "$PGUSER" -d pgbouncer -c 'SHOW VERSION' \
                >/dev/null 2>&1; then
            echo "pgbouncer listening on 127.0.0.1:$PORT (transaction pooling, 1 server connection per database; $DIR)"
            return 0
        fi
        sleep 0.1
    done
    echo "pgbouncer is not answering on 127.0.0.1:$PORT; its log ($LOG):" >&2
    tail -20 "$LOG" >&2 || true
    stop_pgbouncer
    return 1
}

case "${1:-start}" in
start)
    start_pgbouncer
    ;;
stop)
    stop_pgbouncer
    ;;
reload)
    pid=$(running_pid) || { echo "pgbouncer is not running" >&2; exit 1; }
    write_userlist
    kill -HUP "$pid"
    ;;
status)
    running_pid >/dev/null
    ;;
env)
    echo "export PGBOUNCER_PORT=$PORT PGBOUNCER_DIR=$DIR"
    ;;
*)
    echo "usage: $0 start|stop|reload|status|env" >&2
    exit 2
    ;;
esac
