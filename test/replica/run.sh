#!/usr/bin/env bash
# Hot standby: secrets_store on a streaming-replication standby.
#
#   test/replica/run.sh
#
# Starts a primary of its own with scripts/cluster.sh (/tmp/ss_repl_primary,
# port 54360) and a standby made from it with pg_basebackup -R -X stream over
# 127.0.0.1 (/tmp/ss_repl_standby, port 54361, with a copy of the primary's
# master key); SS_REPL_PORT_BASE moves the ports.  On the primary: the
# extension, the shared fixture, a value behind the fixture's shop/API
# binding, an API token, a runtime login role.  On the standby: metadata by
# row-level security, token authentication (its last_used_at write skipped),
# the runtime's value read (audited as a server log line, since nothing can
# be written there), and writes refused with 25006 without a crash.  Stops
# both servers and removes them whatever happens (SS_REPL_KEEP=1 keeps the
# stopped clusters).  Never prints a value or a bearer token.  Output is TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

PGBIN=$(pg_config --bindir)
export PATH="$PGBIN:$PATH"
unset PGHOST PGPORT PGUSER PGDATABASE PGOPTIONS PGSERVICE

BASE_PORT=${SS_REPL_PORT_BASE:-54360}
PRIMARY=/tmp/ss_repl_primary
PRIMARY_PORT=$BASE_PORT
STANDBY=/tmp/ss_repl_standby
STANDBY_PORT=$((BASE_PORT + 1))
DB=ss_repl
RUNTIME=ss_repl_runtime

WORK=$(mktemp -d /tmp/ss_repl_work.XXXXXX)
chmod 700 "$WORK"
ERR="$WORK/stderr"
# the value and the bearer token live in these variables only; psql gets
# them through its environment (\getenv), never on a command line
VALUE="replica-acme-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
VALUE2="replica-refused-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
TOKEN=

# initdb, pg_ctl and pg_basebackup refuse to run as root: as root the
# clusters belong to "postgres" (as in scripts/cluster.sh)
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cluster() {     # cluster start|fresh|stop: the primary
    SECRETS_STORE_CLUSTER=$PRIMARY SECRETS_STORE_PORT=$PRIMARY_PORT scripts/cluster.sh "$1" >/dev/null
}

stop_standby() {
    if [ -f "$STANDBY/data/PG_VERSION" ]; then
        as_owner pg_ctl -D "$STANDBY/data" -m fast stop >/dev/null 2>&1 || true
    fi
}

cleanup() {
    local status=$?
    stop_standby
    cluster stop 2>/dev/null
    if [ -z "${SS_REPL_KEEP:-}" ]; then
        rm -rf "$STANDBY" "$PRIMARY"
    else
        echo "# kept (stopped): $PRIMARY $STANDBY"
    fi
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

source "$(dirname "$0")/../lib/tap.sh"
primary() { sql "$PRIMARY" "$PRIMARY_PORT" "$@"; }
standby() { sql "$STANDBY" "$STANDBY_PORT" "$@"; }

# the SQLSTATE and message of a statement expected to fail on the standby:
# "SQLSTATE message" (psql's variables; "00000" if it succeeded)
standby_error_of() {
    local user=$1 statement=$2
    SS_VALUE2=$VALUE2 psql -X -A -t -q -h "$STANDBY" -p "$STANDBY_PORT" -U "$user" -d "$DB" 2>"$ERR" <<SQL
\\getenv v2 SS_VALUE2
$statement;
\\echo :SQLSTATE :LAST_ERROR_MESSAGE
SQL
}

# wait_for COMMAND...: up to 30 s until it prints "t"
wait_for() {
    for _ in $(seq 300); do
        [ "$("$@" 2>/dev/null)" = t ] && return 0
        sleep 0.1
    done
    return 1
}

# the standby has replayed everything the primary has written so far
wait_replayed() {
    local lsn
    lsn=$(ON_DB=postgres primary -c "SELECT pg_current_wal_lsn()") || return 1
    replayed() { ON_DB=postgres standby -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'"; }
    wait_for replayed
}

crash_lines() {     # crash_lines LOG
    grep -E 'terminated by signal|was terminated|PANIC|server process .* exited with|all server processes terminated' \
        "$1" | head -3
}

# what a Reporter of Acme sees: per table, Acme rows seen and other rows seen
REPORTER_SQL="
SELECT format('accounts %s; stores %s %s; secrets %s %s; bindings %s %s; associations %s %s; names %s',
    (SELECT string_agg(name, ',' ORDER BY name) FROM secrets_store.accounts),
    (SELECT count(*) FILTER (WHERE account_id = ss_test.id('acme')) FROM secrets_store.stores),
    (SELECT count(*) FILTER (WHERE account_id <> ss_test.id('acme')) FROM secrets_store.stores),
    (SELECT count(*) FILTER (WHERE account_id = ss_test.id('acme')) FROM secrets_store.secrets),
    (SELECT count(*) FILTER (WHERE account_id <> ss_test.id('acme')) FROM secrets_store.secrets),
    (SELECT count(*) FILTER (WHERE account_id = ss_test.id('acme')) FROM secrets_store.worker_bindings),
    (SELECT count(*) FILTER (WHERE account_id <> ss_test.id('acme')) FROM secrets_store.worker_bindings),
    (SELECT count(*) FILTER (WHERE account_id = ss_test.id('acme')) FROM secrets_store.ai_gateway_associations),
    (SELECT count(*) FILTER (WHERE account_id <> ss_test.id('acme')) FROM secrets_store.ai_gateway_associations),
    (SELECT string_agg(name, ',' ORDER BY name) FROM secrets_store.secrets))"
# the same counts for everything of Acme, as a superuser sees them
ACME_SQL="
SELECT format('accounts Acme; stores %s 0; secrets %s 0; bindings %s 0; associations %s 0; names %s',
    (SELECT count(*) FROM secrets_store.stores WHERE account_id = ss_test.id('acme')),
    (SELECT count(*) FROM secrets_store.secrets WHERE account_id = ss_test.id('acme')),
    (SELECT count(*) FROM secrets_store.worker_bindings WHERE account_id = ss_test.id('acme')),
    (SELECT count(*) FROM secrets_store.ai_gateway_associations WHERE account_id = ss_test.id('acme')),
    (SELECT string_agg(name, ',' ORDER BY name) FROM secrets_store.secrets WHERE account_id = ss_test.id('acme')))"
# the token, as ss_mallory (a login role that is no member): principal type,
# whether it is that token, and the secrets it sees (Acme's/other)
TOKEN_SQL="
\\getenv token SS_TOKEN
BEGIN;
SELECT p.principal_type || ' ' || (p.token_id = substr(:'token', 6, 32)::uuid)
       || ' ' || (SELECT count(*) FILTER (WHERE account_id = ss_test.id('acme')) || '/'
                         || count(*) FILTER (WHERE account_id <> ss_test.id('acme'))
                  FROM secrets_store.secrets)
FROM secrets_store.authenticate(:'token') p;
COMMIT;"

# ---------------------------------------------------------------------------
# 1. the primary and its standby
# ---------------------------------------------------------------------------
echo "# primary $PRIMARY (port $PRIMARY_PORT), standby $STANDBY (port $STANDBY_PORT)"
# a standby left over from an earlier run goes first
stop_standby
rm -rf "$STANDBY"
step "primary cluster started" cluster fresh
is "$(ON_DB=postgres primary -c "SELECT current_setting('wal_level') IN ('replica', 'logical') AND current_setting('max_wal_senders')::int > 0")" \
   "t" "primary: wal_level and max_wal_senders allow streaming replication"
allow_replication() {
    local hba
    hba=$(ON_DB=postgres primary -c "SHOW hba_file") || return 1
    if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
        echo "host replication all 127.0.0.1/32 trust" >>"$hba" &&
            ON_DB=postgres primary -c "SELECT pg_reload_conf()"
    fi
}
step "primary: pg_hba.conf has host replication all 127.0.0.1/32 trust" allow_replication

make_standby() {
    mkdir -p "$STANDBY" &&
        { [ "$(id -u)" != 0 ] || chown postgres: "$STANDBY"; } &&
        as_owner pg_basebackup -D "$STANDBY/data" -R -X stream -c fast \
            -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres &&
        cp -rp "$PRIMARY/keys" "$STANDBY/keys" &&
        cat >>"$STANDBY/data/postgresql.conf" <<CONF
# the standby (test/replica/run.sh)
port = $STANDBY_PORT
unix_socket_directories = '$STANDBY'
secrets_store.master_key_file = '$STANDBY/keys/master.key'
hot_standby = on
CONF
}
step "standby made with pg_basebackup -R -X stream from 127.0.0.1:$PRIMARY_PORT, with a copy of the master key" make_standby
step "standby started" as_owner pg_ctl -D "$STANDBY/data" -l "$STANDBY/server.log" -w -t 60 start
STANDBY_STARTED=$(ON_DB=postgres standby -c "SELECT pg_postmaster_start_time()")
in_recovery() { ON_DB=postgres standby -c "SELECT pg_is_in_recovery()"; }
step "standby: pg_is_in_recovery()" wait_for in_recovery
streaming() { ON_DB=postgres primary -c "SELECT count(*) = 1 FROM pg_stat_replication WHERE state = 'streaming'"; }
step "primary: pg_stat_replication shows the standby streaming" wait_for streaming

# ---------------------------------------------------------------------------
# 2. on the primary
# ---------------------------------------------------------------------------
make_primary_db() {
    ON_DB=postgres primary -c "CREATE DATABASE $DB" &&
        primary -c "CREATE EXTENSION secrets_store" &&
        primary -f test/fixtures/people.sql
}
step "primary: database with the extension and the fixture" make_primary_db
write_value() {
    primary <<SQL
\getenv v SS_VALUE
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$RUNTIME') THEN CREATE ROLE $RUNTIME LOGIN; END IF;
END \$\$;
GRANT secrets_store_runtime TO $RUNTIME;
SET ROLE ss_bob;
SELECT secrets_store.update_secret(ss_test.id('acme.api_key'), value => :'v');
SQL
}
step "primary: a value behind Acme's shop/API binding (ss_bob), a runtime login role" write_value
issue_token "$PRIMARY" "$PRIMARY_PORT" "replica test" "primary: an API token issued by ss_alice"
is "$(sql "$PRIMARY" "$PRIMARY_PORT" -U "$RUNTIME" <<'SQL'
\getenv v SS_VALUE
SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'shop', 'API') = :'v';
SQL
)" "t" "primary: the runtime role reads the value through the shop/API binding"
step "standby: replayed everything the primary wrote" wait_replayed

# ---------------------------------------------------------------------------
# 3. on the standby
# ---------------------------------------------------------------------------
is "$(standby -c "SELECT pg_is_in_recovery() || ' ' || (SELECT count(*) FROM secrets_store.api_tokens)
                          || ' ' || (SELECT count(*) FROM secrets_store.secret_values)")" \
   "true 1 1" "standby: in recovery, with the token and the sealed value replicated"
ACME_EXPECTED=$(standby -c "$ACME_SQL")
is "$(sql "$STANDBY" "$STANDBY_PORT" -U ss_dave -c "$REPORTER_SQL")" "$ACME_EXPECTED" \
   "standby: a Reporter (ss_dave) lists Acme's metadata and nothing of Globex"
is "$ACME_EXPECTED" "accounts Acme; stores 2 0; secrets 2 0; bindings 1 0; associations 1 0; names API_KEY,SPARE" \
   "... which is all of Acme's stores, secrets, bindings and associations"
is "$(sql "$STANDBY" "$STANDBY_PORT" -U ss_gina -c "SELECT string_agg(name, ',') FROM secrets_store.accounts")" "Globex" \
   "standby: ss_gina (Globex) sees Globex only"
is "$(sql "$STANDBY" "$STANDBY_PORT" -U ss_mallory <<<"$TOKEN_SQL")" "token true 2/0" \
   "standby: the token authenticates inside BEGIN ... COMMIT and sees Acme's secrets only"
is "$(standby -c "SELECT count(*) FILTER (WHERE last_used_at IS NULL) || '/' || count(*) FROM secrets_store.api_tokens")" "1/1" \
   "standby: ... its last_used_at write was skipped, without an error"
audit_rows=$(standby -c "SELECT count(*) FROM secrets_store.audit_events")
log_lines_before=$(wc -l <"$STANDBY/server.log")
is "$(sql "$STANDBY" "$STANDBY_PORT" -U "$RUNTIME" <<'SQL'
\getenv v SS_VALUE
SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'shop', 'API') = :'v';
SQL
)" "t" "standby: the runtime role reads the bound secret, the value written on the primary"
is "$(standby -c "SELECT count(*) FROM secrets_store.audit_events")" "$audit_rows" \
   "standby: ... no audit row could be written there"
audit_line() {
    local acme
    acme=$(standby -c "SELECT ss_test.id('acme')") || return 1
    tail -n +"$((log_lines_before + 1))" "$STANDBY/server.log" | grep -F 'secrets_store AUDIT: {' |
        grep -F '"action": "access"' | grep -F '"resource_type": "secret"' | grep -F '"resource_name": "API_KEY"' |
        grep -F "\"account_id\": \"$acme\"" | grep -F '"actor_type": "runtime"' |
        grep -F "\"actor_db_role\": \"$RUNTIME\"" | grep -F '"through": "worker_binding"' |
        grep -F '"recorded": "log"' | wc -l
}
is "$(audit_line)" "1" \
   "standby: ... the access is one 'secrets_store AUDIT:' line in its server log, with \"recorded\": \"log\""
is "$(grep -c -F -f <(printf '%s\n%s\n' "$VALUE" "${TOKEN:38:43}") "$STANDBY/server.log")" "0" \
   "standby: its server log holds neither the value nor the token"

readonly_error() {
    local error=$1
    case "$error" in
    "25006 cannot execute "*" in a read-only transaction")
        echo "# $error" >&2
        echo ok
        ;;
    *) echo "$error" ;;
    esac
}
is "$(readonly_error "$(standby_error_of ss_bob \
        "INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, value)
         VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'FROM_STANDBY', '{workers}', :'v2')")")" \
   "ok" "standby: a direct INSERT INTO secrets_store.secrets fails with 25006 (read-only transaction)"
is "$(readonly_error "$(standby_error_of ss_bob \
        "SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'FROM_STANDBY', :'v2', '{workers}')")")" \
   "ok" "standby: secrets_store.create_secret(...) fails with 25006"
is "$(readonly_error "$(standby_error_of ss_bob \
        "SELECT secrets_store.update_secret(ss_test.id('acme.api_key'), value => :'v2')")")" \
   "ok" "standby: secrets_store.update_secret(..., value => ...) fails with 25006"
is "$(readonly_error "$(standby_error_of ss_alice \
        "SELECT secrets_store.create_api_token(ss_test.id('acme'), 'from standby', '{secrets_store_read}') IS NOT NULL")")" \
   "ok" "standby: secrets_store.create_api_token(...) fails with 25006"
is "$(readonly_error "$(standby_error_of postgres \
        "INSERT INTO secrets_store.audit_events (account_id, action, resource_type, actor_type)
         VALUES (ss_test.id('acme'), 'create', 'secret', 'member')")")" \
   "ok" "standby: even a superuser's INSERT into the audit trail fails with 25006"
is "$(grep -c -F -f <(printf '%s\n' "$VALUE2") "$STANDBY/server.log")" "0" \
   "standby: the refused value reached no log line"
is "$(standby -c "SELECT pg_is_in_recovery() || ' ' || (SELECT count(*) FROM secrets_store.secrets WHERE name = 'FROM_STANDBY')")|$(ON_DB=postgres standby -c "SELECT pg_postmaster_start_time()")" \
   "true 0|$STANDBY_STARTED" "standby: still answers afterwards, never restarted"
is "$(crash_lines "$STANDBY/server.log")" "" "standby: no crash in its server log"

# ---------------------------------------------------------------------------
# 4. replication goes on, and so do revocations
# ---------------------------------------------------------------------------
# A standby session of ss_dave's stays open while his role is revoked on the
# primary (psql's \! runs revoke.sh in the middle of the session): the
# revocation replays as a relcache invalidation, and his next statement sees
# nothing.
cat >"$WORK/revoke.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -U postgres "\$@"; }
q -h "$PRIMARY" -p "$PRIMARY_PORT" -d "$DB" -c "SELECT secrets_store.revoke_role(ss_test.id('acme'), ss_test.id('ss_dave'), 'secrets_store_reporter')" >/dev/null
lsn=\$(q -h "$PRIMARY" -p "$PRIMARY_PORT" -d postgres -c "SELECT pg_current_wal_lsn()")
for _ in \$(seq 300); do
    [ "\$(q -h "$STANDBY" -p "$STANDBY_PORT" -d postgres -c "SELECT pg_last_wal_replay_lsn() >= '\$lsn'")" = t ] && exit 0
    sleep 0.1
done
exit 1
SH
seen=$(sql "$STANDBY" "$STANDBY_PORT" -U ss_dave <<SQL | tr '\n' ' '
SELECT 'before: ' || count(*) FROM secrets_store.secrets;
\\! bash $WORK/revoke.sh 2>$WORK/revoke.err
SELECT 'after: ' || count(*) FROM secrets_store.secrets;
SQL
)
is "$seen" "before: 2 after: 0 " \
   "standby: ss_dave's open session loses Acme at its next statement once the primary revokes his role"
[ "$seen" = "before: 2 after: 0 " ] || diag "$(cat "$WORK/revoke.err")"
step "primary: ss_bob creates a secret after all that" \
    primary -c "SET ROLE ss_bob" -c "SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'AFTER_STANDBY', NULL, '{workers}')"
step "standby: replayed it" wait_replayed
is "$(sql "$STANDBY" "$STANDBY_PORT" -U ss_carol -c "SELECT count(*) FROM secrets_store.secrets WHERE name = 'AFTER_STANDBY'")" "1" \
   "standby: ss_carol (Deployer) sees the new secret"
is "$(crash_lines "$STANDBY/server.log")|$(crash_lines "$PRIMARY/server.log")" "|" "standby and primary: no crash in their server logs"

finish
