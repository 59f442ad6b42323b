#!/usr/bin/env bash
# Dump and restore: pg_dump -Fc of a database that uses secrets_store, restored
# with pg_restore into fresh clusters.
#
#   test/dump/run.sh
#
# Starts three throwaway clusters of its own with scripts/cluster.sh: the
# source (/tmp/ss_dump_src, port 54350), a target holding the source's master
# key (/tmp/ss_dump_dst, 54351) and a target without any master key
# (/tmp/ss_dump_nokey, 54352); SS_DUMP_PORT_BASE moves the ports.  In the
# source: the extension, the shared fixture, values written by members, an API
# token, a runtime login role.  The dump is restored in two steps, because
# pg_restore --disable-triggers acts only in a data-only restore and the
# extension's triggers must not fire on restored rows:
#
#   pg_restore --schema-only -d DB dump
#   pg_restore --data-only --disable-triggers -d DB dump     (as a superuser)
#
# after the roles (pg_dumpall --roles-only) have been created in the target.
# Stops and removes the clusters whatever happens (SS_DUMP_KEEP=1 keeps the
# stopped clusters for inspection).  Never prints a value or a bearer token.
# Output is TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

PGBIN=$(pg_config --bindir)
export PATH="$PGBIN:$PATH"
unset PGHOST PGPORT PGUSER PGDATABASE PGOPTIONS PGSERVICE

BASE_PORT=${SS_DUMP_PORT_BASE:-54350}
SRC=/tmp/ss_dump_src
SRC_PORT=$BASE_PORT
DST=/tmp/ss_dump_dst
DST_PORT=$((BASE_PORT + 1))
NOKEY=/tmp/ss_dump_nokey
NOKEY_PORT=$((BASE_PORT + 2))
DB=ss_dump
RUNTIME=ss_dump_runtime
# the data tables that must travel with a dump; the test checks every table
# the extension marks for pg_dump (these and any later ones)
REQUIRED_TABLES="accounts members role_assignments account_limits stores secrets worker_bindings
        ai_gateway_associations api_tokens api_token_secrets account_keys secret_values audit_events"
TABLES=$REQUIRED_TABLES

WORK=$(mktemp -d /tmp/ss_dump_work.XXXXXX)
chmod 700 "$WORK"
ERR="$WORK/stderr"
# the values and the bearer token live in these variables only; psql gets
# them through its environment (\getenv), never on a command line
VALUE="dump-acme-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
VALUE2="dump-globex-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
VALUE3="dump-after-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
TOKEN=

# ---------------------------------------------------------------------------
# clusters
# ---------------------------------------------------------------------------
cluster() {     # cluster DIR PORT start|fresh|stop
    SECRETS_STORE_CLUSTER=$1 SECRETS_STORE_PORT=$2 scripts/cluster.sh "$3" >/dev/null
}

cleanup() {
    local status=$?
    cluster "$SRC" "$SRC_PORT" stop 2>/dev/null
    cluster "$DST" "$DST_PORT" stop 2>/dev/null
    cluster "$NOKEY" "$NOKEY_PORT" stop 2>/dev/null
    if [ -z "${SS_DUMP_KEEP:-}" ]; then
        rm -rf "$SRC" "$DST" "$NOKEY"
    else
        echo "# kept (stopped): $SRC $DST $NOKEY"
    fi
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

source "$(dirname "$0")/../lib/tap.sh"
src() { sql "$SRC" "$SRC_PORT" "$@"; }
dst() { sql "$DST" "$DST_PORT" "$@"; }
nokey() { sql "$NOKEY" "$NOKEY_PORT" "$@"; }

# the SQLSTATE and message of a statement expected to fail: "SQLSTATE message"
# (psql's LAST_ERROR_* variables; "00000" if it succeeded)
error_of() {
    local dir=$1 port=$2 user=$3 statement=$4
    SS_VALUE=$VALUE SS_VALUE3=$VALUE3 psql -X -A -t -q -h "$dir" -p "$port" -U "$user" -d "$DB" 2>"$ERR" <<SQL
\\getenv v SS_VALUE
\\getenv v3 SS_VALUE3
$statement;
\\echo :SQLSTATE :LAST_ERROR_MESSAGE
SQL
}

count_of() {    # count_of FUNCTION TABLE
    "$1" -c "SELECT count(*) FROM secrets_store.$2"
}

# fingerprints of what must survive, computed the same way on every cluster
CONTENT_SQL="SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM secrets_store.%s x"
POLICIES_SQL="SELECT count(*) || ' policies, ' || md5(string_agg(format('%s %s %s %s %s %s %s', tablename, policyname,
                   permissive, roles, cmd, qual, with_check), E'\\n' ORDER BY tablename, policyname))
              FROM pg_policies WHERE schemaname = 'secrets_store'"
RLS_SQL="SELECT count(*) FILTER (WHERE c.relrowsecurity AND c.relforcerowsecurity) || ' of ' || count(*)
              || ' tables ENABLE + FORCE' || coalesce(' (not: ' || string_agg(c.relname, ', ')
                     FILTER (WHERE NOT (c.relrowsecurity AND c.relforcerowsecurity)) || ')', '')
         FROM pg_class c WHERE c.relnamespace = 'secrets_store'::regnamespace AND c.relkind IN ('r', 'p')"
TRIGGERS_SQL="SELECT count(*) FILTER (WHERE tgenabled = 'O') || ' of ' || count(*) || ' triggers enabled, '
                  || md5(string_agg(tgrelid::regclass || ' ' || tgname, ',' ORDER BY tgrelid::regclass::text, tgname))
              FROM pg_trigger WHERE NOT tgisinternal
               AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'secrets_store'::regnamespace)"
ACL_SQL="SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM (
             SELECT 'schema ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname = 'secrets_store'
             UNION ALL
             SELECT 'rel ' || c.oid::regclass || ' ' || coalesce(c.relacl::text, '')
               FROM pg_class c WHERE c.relnamespace = 'secrets_store'::regnamespace
             UNION ALL
             SELECT 'col ' || a.attrelid::regclass || '.' || a.attname || ' ' || a.attacl::text
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE c.relnamespace = 'secrets_store'::regnamespace AND a.attacl IS NOT NULL
             UNION ALL
             SELECT 'fn ' || p.oid::regprocedure || ' ' || coalesce(p.proacl::text, '')
               FROM pg_proc p WHERE p.pronamespace = 'secrets_store'::regnamespace
             UNION ALL
             SELECT 'type ' || t.oid::regtype || ' ' || coalesce(t.typacl::text, '')
               FROM pg_type t WHERE t.typnamespace = 'secrets_store'::regnamespace) s (x)"
# what a Reporter of Acme sees: per table, Acme rows seen / Acme rows there, other rows seen
REPORTER_SQL="
CREATE TEMP TABLE acme_total ON COMMIT DROP AS
SELECT (SELECT count(*) FROM secrets_store.stores WHERE account_id = ss_test.id('acme')) AS stores,
       (SELECT count(*) FROM secrets_store.secrets WHERE account_id = ss_test.id('acme')) AS secrets,
       (SELECT count(*) FROM secrets_store.worker_bindings WHERE account_id = ss_test.id('acme')) AS bindings,
       (SELECT count(*) FROM secrets_store.ai_gateway_associations WHERE account_id = ss_test.id('acme')) AS associations;
GRANT SELECT ON acme_total TO ss_dave;
SET LOCAL ROLE ss_dave;
SELECT format('accounts %s, stores %s/%s %s, secrets %s/%s %s, bindings %s/%s %s, associations %s/%s %s; names %s',
    (SELECT string_agg(name, ',' ORDER BY name) FROM secrets_store.accounts),
    (SELECT count(*) FILTER (WHERE account_id = ss_test.id('acme')) FROM secrets_store.stores), t.stores,
    (SELECT count(*) FILTER (WHERE account_id <> ss_test.id('acme')) FROM secrets_store.stores),
    (SELECT count(*) FILTER (WHERE account_id = ss_test.id('acme')) FROM secrets_store.secrets), t.secrets,
    (SELECT count(*) FILTER (WHERE account_id <> ss_test.id('acme')) FROM secrets_store.secrets),
    (SELECT count(*) FILTER (WHERE account_id = ss_test.id('acme')) FROM secrets_store.worker_bindings), t.bindings,
    (SELECT count(*) FILTER (WHERE account_id <> ss_test.id('acme')) FROM secrets_store.worker_bindings),
    (SELECT count(*) FILTER (WHERE account_id = ss_test.id('acme')) FROM secrets_store.ai_gateway_associations), t.associations,
    (SELECT count(*) FILTER (WHERE account_id <> ss_test.id('acme')) FROM secrets_store.ai_gateway_associations),
    (SELECT string_agg(name, ',' ORDER BY name) FROM secrets_store.secrets))
FROM acme_total t;"
reporter_view() {   # reporter_view FUNCTION
    "$1" <<SQL
BEGIN;
$REPORTER_SQL
COMMIT;
SQL
}
# the token, as ss_mallory (a login role that is no member): principal type,
# whether it is that token, and the secrets it sees (Acme's, other)
TOKEN_SQL="
\\getenv token SS_TOKEN
SET ROLE ss_mallory;
BEGIN;
SELECT p.principal_type || ' ' || (p.token_id = substr(:'token', 6, 32)::uuid)
       || ' ' || (SELECT count(*) FILTER (WHERE account_id = ss_test.id('acme')) || '/'
                         || count(*) FILTER (WHERE account_id <> ss_test.id('acme'))
                  FROM secrets_store.secrets)
FROM secrets_store.authenticate(:'token') p;
COMMIT;"
# the quota as a Reporter of Acme sees it, and whether every usage counter
# (if the extension keeps them) matches the rows it counts
QUOTA_SQL="SET ROLE ss_dave; SELECT secrets_store.quota(ss_test.id('acme'))"
USAGE_SQL="SELECT CASE WHEN to_regclass('secrets_store.account_usage') IS NULL THEN 'no counters'
                       ELSE (SELECT coalesce(bool_and(u.stores = (SELECT count(*) FROM secrets_store.stores s
                                                                  WHERE s.account_id = u.account_id)
                                                 AND u.secrets = (SELECT count(*) FROM secrets_store.secrets s
                                                                  WHERE s.account_id = u.account_id)), true)::text
                             FROM secrets_store.account_usage u) END"
# a server that did not crash: the same postmaster, no backend killed
CRASH_SQL="SELECT pg_postmaster_start_time()"
crash_lines() {     # crash_lines DIR
    grep -E 'terminated by signal|was terminated|PANIC|server process .* exited with|all server processes terminated' \
        "$1/server.log" | head -3
}

# ---------------------------------------------------------------------------
# 1. the source
# ---------------------------------------------------------------------------
echo "# source cluster $SRC (port $SRC_PORT)"
step "source cluster started" cluster "$SRC" "$SRC_PORT" fresh
SRC_STARTED=$(ON_DB=postgres src -c "$CRASH_SQL")
make_source_db() {
    ON_DB=postgres src -c "CREATE DATABASE $DB" &&
        src -c "CREATE EXTENSION secrets_store" &&
        src -f test/fixtures/people.sql
}
step "source database created with the extension and the fixture" make_source_db
write_values() {
    src <<SQL
\getenv v SS_VALUE
\getenv v2 SS_VALUE2
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$RUNTIME') THEN CREATE ROLE $RUNTIME LOGIN; END IF;
END \$\$;
GRANT secrets_store_runtime TO $RUNTIME;
SET ROLE ss_bob;
SELECT secrets_store.update_secret(ss_test.id('acme.api_key'), value => :'v');
RESET ROLE;
SET ROLE ss_gina;
SELECT secrets_store.update_secret(ss_test.id('globex.api_key'), value => :'v2');
RESET ROLE;
SQL
}
step "values written (ss_bob in Acme, ss_gina in Globex) and a runtime login role granted" write_values
issue_token "$SRC" "$SRC_PORT" "dump test" "an API token issued by ss_alice"
is "$(sql "$SRC" "$SRC_PORT" -U "$RUNTIME" <<'SQL'
\getenv v SS_VALUE
SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'shop', 'API') = :'v';
SQL
)" "t" "source: the runtime role reads Acme's value through the shop/API binding"
is "$(src <<<"$TOKEN_SQL")" "token true 2/0" "source: the token authenticates and sees Acme's secrets only"

# the tables the extension marks for pg_dump (pg_extension_config_dump)
CONFIG_TABLES=$(src -c "SELECT string_agg(c.relname, ' ' ORDER BY c.relname)
                        FROM pg_extension e CROSS JOIN unnest(e.extconfig) AS r (oid)
                        JOIN pg_class c ON c.oid = r.oid
                        WHERE e.extname = 'secrets_store' AND c.relkind = 'r'")
missing=
for t in $REQUIRED_TABLES; do
    case " $CONFIG_TABLES " in *" $t "*) ;; *) missing="$missing $t" ;; esac
done
is "${missing:-none}" "none" "source: every data table is marked for pg_dump (pg_extension_config_dump)"
[ -n "$CONFIG_TABLES" ] && TABLES=$CONFIG_TABLES

# what the targets must reproduce
declare -A SRC_COUNT SRC_CONTENT
for t in $TABLES; do
    SRC_COUNT[$t]=$(count_of src "$t")
    # shellcheck disable=SC2059
    SRC_CONTENT[$t]=$(src -c "$(printf "$CONTENT_SQL" "$t")")
done
SRC_POLICIES=$(src -c "$POLICIES_SQL")
SRC_RLS=$(src -c "$RLS_SQL")
SRC_TRIGGERS=$(src -c "$TRIGGERS_SQL")
SRC_ACL=$(src -c "$ACL_SQL")
SRC_REPORTER=$(reporter_view src)
SRC_KEY_ID=$(src -c "SELECT secrets_store.master_key_id()")
SRC_QUOTA=$(src -c "$QUOTA_SQL")
SRC_USAGE=$(src -c "$USAGE_SQL")
echo "# source: $(for t in $TABLES; do printf '%s=%s ' "$t" "${SRC_COUNT[$t]}"; done)"
echo "# source: $SRC_POLICIES; $SRC_RLS; $SRC_TRIGGERS"
[ "${SRC_COUNT[account_keys]}" = 2 ] && [ "${SRC_COUNT[secret_values]}" = 2 ] &&
    [ "${SRC_COUNT[api_tokens]}" = 1 ] || bail "the source does not hold the expected keys, values and token"

# ---------------------------------------------------------------------------
# 2. dump
# ---------------------------------------------------------------------------
step "pg_dump -Fc of the source database" \
    pg_dump -Fc -h "$SRC" -p "$SRC_PORT" -U postgres -d "$DB" -f "$WORK/$DB.dump"
step "pg_dumpall --roles-only of the source cluster" \
    pg_dumpall --roles-only --no-role-passwords -h "$SRC" -p "$SRC_PORT" -U postgres -f "$WORK/roles.sql"
# the role we connect as exists everywhere; the rest (login roles, the
# extension's roles, memberships) is created by the script
grep -vx 'CREATE ROLE postgres;' "$WORK/roles.sql" >"$WORK/roles-restore.sql"
pg_restore -f "$WORK/$DB.sql" "$WORK/$DB.dump" 2>"$ERR"
is "$(grep -c -F -f <(printf '%s\n%s\n' "$VALUE" "$VALUE2") "$WORK/$DB.sql")" "0" \
    "the dump holds no plaintext value (sealed values and wrapped keys only)"
is "$(grep -c -F -f <(printf '%s\n' "${TOKEN:38:43}") "$WORK/$DB.sql")" "0" \
    "the dump holds no bearer token (only its hash)"
is "$(grep -cE '^COPY secrets_store\.(secret_values|account_keys|api_token_secrets|audit_events) ' "$WORK/$DB.sql")" "4" \
    "the dump carries sealed values, wrapped keys, token hashes and the audit trail"

# restore_into DIR PORT: roles, database, schema, then data with triggers off
restore_into() {
    local dir=$1 port=$2
    step "roles created in the target (pg_dumpall --roles-only)" \
        psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres -f "$WORK/roles-restore.sql"
    step "createdb in the target" createdb -h "$dir" -p "$port" -U postgres "$DB"
    step "pg_restore --schema-only" \
        pg_restore --schema-only --exit-on-error -h "$dir" -p "$port" -U postgres -d "$DB" "$WORK/$DB.dump"
    step "pg_restore --data-only --disable-triggers" \
        pg_restore --data-only --disable-triggers --exit-on-error -h "$dir" -p "$port" -U postgres -d "$DB" "$WORK/$DB.dump"
}

# ---------------------------------------------------------------------------
# 3. restore into a fresh cluster with the same master key
# ---------------------------------------------------------------------------
echo "# target cluster with the source's master key: $DST (port $DST_PORT)"
start_with_source_key() {
    cluster "$DST" "$DST_PORT" fresh &&
        cluster "$DST" "$DST_PORT" stop &&
        cp -p "$SRC/keys/master.key" "$DST/keys/master.key" &&
        cluster "$DST" "$DST_PORT" start
}
step "target cluster started with a copy of the source's master key" start_with_source_key
DST_STARTED=$(ON_DB=postgres dst -c "$CRASH_SQL")
restore_into "$DST" "$DST_PORT"

is "$(dst -c "SELECT secrets_store.master_key_id()")" "$SRC_KEY_ID" "target: the same master key id as the source"
for t in $TABLES; do
    is "$(count_of dst "$t")" "${SRC_COUNT[$t]}" "target: secrets_store.$t has the source's ${SRC_COUNT[$t]} rows"
done
differ=
for t in $TABLES; do
    # shellcheck disable=SC2059
    [ "$(dst -c "$(printf "$CONTENT_SQL" "$t")")" = "${SRC_CONTENT[$t]}" ] || differ="$differ $t"
done
is "${differ:-none}" "none" "target: every data table holds exactly the source's rows (ids, timestamps, granted_by, sealed bytes): no trigger fired"
is "$(dst -c "$POLICIES_SQL")" "$SRC_POLICIES" "target: every policy exists, as in the source ($SRC_POLICIES)"
is "$(dst -c "$RLS_SQL")" "$SRC_RLS" "target: $SRC_RLS"
is "$(dst -c "$TRIGGERS_SQL")" "$SRC_TRIGGERS" "target: the extension's triggers are all there and enabled again"
is "$(dst -c "$ACL_SQL")" "$SRC_ACL" "target: the privileges on the schema, tables, columns, functions and types are the source's"
is "$(dst -c "SELECT has_table_privilege('secrets_store_user', 'secrets_store.secrets', 'SELECT'),
                     has_table_privilege('secrets_store_user', 'secrets_store.secret_values', 'SELECT'),
                     has_table_privilege('secrets_store_user', 'secrets_store.account_keys', 'SELECT'),
                     has_table_privilege('secrets_store_user', 'secrets_store.api_token_secrets', 'SELECT'),
                     has_function_privilege('secrets_store_runtime', 'secrets_store.get_bound_secret(uuid, text, text)', 'EXECUTE'),
                     has_function_privilege('secrets_store_user', 'secrets_store.get_bound_secret(uuid, text, text)', 'EXECUTE'),
                     pg_has_role('$RUNTIME', 'secrets_store_runtime', 'MEMBER'),
                     pg_has_role('ss_dave', 'secrets_store_user', 'MEMBER')")" \
   "t|f|f|f|t|f|t|t" \
   "target: grants survive (users read secrets, not secret_values, account_keys, token hashes; only the runtime reads values)"
is "$(reporter_view dst)" "$SRC_REPORTER" "target: a Reporter (ss_dave) sees exactly what they saw in the source"
case "$SRC_REPORTER" in
"accounts Acme, stores 2/2 0, secrets 2/2 0, bindings 1/1 0, associations 1/1 0; names API_KEY,SPARE") \
    pass "... which is all of Acme's rows and none of Globex's" ;;
*) fail "... which is all of Acme's rows and none of Globex's" "got: $SRC_REPORTER" ;;
esac
is "$(dst -c "$QUOTA_SQL")" "$SRC_QUOTA" "target: Acme's quota and usage as in the source $SRC_QUOTA"
is "$(dst -c "$USAGE_SQL")" "$SRC_USAGE" "target: the usage counters match the restored rows ($SRC_USAGE)"
is "$(dst <<<"$TOKEN_SQL")" "token true 2/0" "target: the API token authenticates (BEGIN; authenticate; COMMIT) and sees Acme's secrets only"
audit_before=$(dst -c "SELECT max(id) FROM secrets_store.audit_events")
is "$(sql "$DST" "$DST_PORT" -U "$RUNTIME" <<'SQL'
\getenv v SS_VALUE
\getenv v2 SS_VALUE2
SELECT (secrets_store.get_bound_secret(ss_test.id('acme'), 'shop', 'API') = :'v')
       || ' ' || (secrets_store.get_bound_secret(ss_test.id('globex'), 'shop', 'API') = :'v2');
SQL
)" "true true" "target: the runtime role reads both accounts' values through their bindings"
is "$(dst -c "SELECT count(*) || ' ' || min(action) || ' ' || min(actor_type) || ' ' || count(DISTINCT account_id)
              FROM secrets_store.audit_events WHERE actor_db_role = '$RUNTIME' AND id > $audit_before")" "2 access runtime 2" \
   "target: the reads are audited, after the restored events (the identity sequence was restored)"
write_after_restore() {
    sql "$DST" "$DST_PORT" -U ss_bob <<'SQL'
\getenv v3 SS_VALUE3
SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'AFTER_RESTORE', :'v3', '{workers}') IS NOT NULL;
SQL
}
is "$(write_after_restore)" "t" "target: ss_bob creates a secret with a value after the restore"
is "$(dst -c "SELECT (SELECT count(*) FROM secrets_store.secret_values) || ' ' ||
                     (SELECT count(*) FROM secrets_store.audit_events WHERE resource_name = 'AFTER_RESTORE' AND action = 'create')")" \
   "3 1" "... sealed under the restored data key and audited (the triggers fire again)"
is "$(dst -c "$USAGE_SQL") $(dst -c "$QUOTA_SQL")" \
   "$SRC_USAGE $(src -c "$QUOTA_SQL" | awk -F, '{ printf "%s,%s,%s,%s", $1, $2 + 1, $3, $4 }')" \
   "... and counted: Acme's secrets usage is one more than in the source"
is "$(ON_DB=postgres dst -c "$CRASH_SQL")" "$DST_STARTED" "target: the server never restarted"
is "$(crash_lines "$DST")" "" "target: no crash in the server log"

# ---------------------------------------------------------------------------
# 4. restore into a cluster without the master key
# ---------------------------------------------------------------------------
echo "# target cluster without a master key: $NOKEY (port $NOKEY_PORT)"
start_without_key() {
    cluster "$NOKEY" "$NOKEY_PORT" fresh &&
        ON_DB=postgres nokey -c "ALTER SYSTEM SET secrets_store.master_key_file = ''" -c "SELECT pg_reload_conf()" &&
        for _ in $(seq 50); do
            [ -z "$(ON_DB=postgres nokey -c "SHOW secrets_store.master_key_file")" ] && return 0
            sleep 0.1
        done
    return 1
}
step "target cluster started, then secrets_store.master_key_file = '' (ALTER SYSTEM, reload)" start_without_key
NOKEY_STARTED=$(ON_DB=postgres nokey -c "$CRASH_SQL")
restore_into "$NOKEY" "$NOKEY_PORT"
differ=
for t in $TABLES; do
    got=$(count_of nokey "$t")
    [ "$got" = "${SRC_COUNT[$t]}" ] || differ="$differ $t=$got (source ${SRC_COUNT[$t]})"
    # shellcheck disable=SC2059
    [ "$(nokey -c "$(printf "$CONTENT_SQL" "$t")")" = "${SRC_CONTENT[$t]}" ] || differ="$differ $t:content"
done
is "${differ:-none}" "none" "no key: the metadata restores, every data table with the source's rows"
is "$(nokey -c "$POLICIES_SQL") / $(nokey -c "$RLS_SQL")" "$SRC_POLICIES / $SRC_RLS" \
   "no key: policies and ENABLE + FORCE row level security as in the source"
is "$(reporter_view nokey)" "$SRC_REPORTER" "no key: a Reporter (ss_dave) sees Acme's metadata, as in the source"
is "$(nokey <<<"$TOKEN_SQL")" "token true 2/0" "no key: the API token authenticates"
is "$(error_of "$NOKEY" "$NOKEY_PORT" "$RUNTIME" \
        "SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'shop', 'API') IS NOT NULL")" \
   "55000 no master key is configured" \
   "no key: reading a value fails with 55000 \"no master key is configured\""
counts_before=$(nokey -c "SELECT (SELECT count(*) FROM secrets_store.secret_values) || ' ' || (SELECT count(*) FROM secrets_store.audit_events)")
is "$(error_of "$NOKEY" "$NOKEY_PORT" ss_bob \
        "SELECT secrets_store.update_secret(ss_test.id('acme.api_key'), value => :'v3')")" \
   "55000 no master key is configured" \
   "no key: writing a value fails with 55000 too"
is "$(nokey -c "SELECT (SELECT count(*) FROM secrets_store.secret_values) || ' ' || (SELECT count(*) FROM secrets_store.audit_events)")" \
   "$counts_before" "... and changes nothing (values and audit trail as before)"
is "$(nokey -c "SELECT 1")|$(ON_DB=postgres nokey -c "$CRASH_SQL")" "1|$NOKEY_STARTED" \
   "no key: the server still answers, never restarted"
is "$(crash_lines "$NOKEY")" "" "no key: no crash in the server log"
is "$(ON_DB=postgres src -c "$CRASH_SQL")|$(crash_lines "$SRC")" "$SRC_STARTED|" "source: the server never restarted or crashed"

finish
