#!/usr/bin/env bash
# ORM examples as tests: SQLAlchemy (examples/python) and Knex
# (examples/node), both behind pgbouncer in transaction mode.
#
#   test/orm/run.sh [DATABASE]      # default secrets_store_test
#
# Run against the running throwaway cluster (PGHOST / PGPORT / PGUSER
# exported, a superuser; from scripts/cluster.sh env when unset), in a
# database that has secrets_store installed and test/fixtures/people.sql
# loaded.
#
#  1. Installs what is missing: python3-sqlalchemy and python3-psycopg2 for
#     Debian's /usr/bin/python3, pgbouncer (apt-get, with sudo unless root);
#     the Node packages pinned in examples/node/package-lock.json (npm ci,
#     when node_modules is missing or does not match the lock file).
#  2. Over a direct superuser connection: creates the login roles
#     ss_orm_app (secrets_store_user, linked to no member), ss_orm_gw
#     (also secrets_store_gateway) and ss_orm_runtime (secrets_store_runtime),
#     and three API tokens: "orm-example edit" (Acme, secrets_store_edit) and
#     "orm-example read" (Acme, secrets_store_read) issued by ss_alice,
#     "orm-example globex read" (Globex, secrets_store_read) by ss_gina.
#     The bearer strings go to the examples in the environment, never to
#     the output; the tokens are deleted on exit.
#  3. Starts pgbouncer (scripts/pgbouncer.sh: transaction pooling, ONE
#     server connection) and stops it on exit, whatever happens.
#  4. Runs examples/python/test_app.py, then examples/node/test_app.js, both
#     connecting through pgbouncer, and prints their TAP as one stream:
#     tests renumbered, each prefixed with "python:" or "node:", and one more
#     test per example saying it ran to its plan and exited 0.
# Exits non-zero if any test failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

DB=${1:-secrets_store_test}
export PGBOUNCER_PORT=${PGBOUNCER_PORT:-64330}
APP_ROLE=ss_orm_app
GATEWAY_ROLE=ss_orm_gw
RUNTIME_ROLE=ss_orm_runtime
# roles this script may create after pgbouncer's user list was written
export PGBOUNCER_USERS="$APP_ROLE $GATEWAY_ROLE $RUNTIME_ROLE ${PGBOUNCER_USERS:-}"

if [ -z "${PGHOST:-}" ] || [ -z "${PGPORT:-}" ]; then
    eval "$(scripts/cluster.sh env)"
fi
export PGHOST PGPORT PGUSER=${PGUSER:-postgres}
export PATH="/usr/lib/postgresql/15/bin:$PATH"

SUDO=
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi

# -- 1. what the examples need -----------------------------------------------
need=()
/usr/bin/python3 -c 'import sqlalchemy, psycopg2' >/dev/null 2>&1 ||
    need+=(python3-sqlalchemy python3-psycopg2)
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
    echo "# installing ${need[*]}"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -d examples/node/node_modules ] ||
   ! (cd examples/node && npm ls --depth=0 >/dev/null 2>&1); then
    echo "# installing the Node packages of examples/node (npm ci)"
    (cd examples/node && npm ci --no-audit --no-fund --loglevel=error) | sed 's/^/# /'
fi

psql_admin() {
    PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=error" psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"
}

ready=$(psql_admin -At -c "SELECT to_regprocedure('secrets_store.authenticate(text)') IS NOT NULL
                                  AND to_regclass('ss_test.ids') IS NOT NULL") || ready=
if [ "$ready" != t ]; then
    echo "Bail out! database $DB needs secrets_store and test/fixtures/people.sql"
    exit 1
fi

# -- 2. roles and tokens (direct superuser connection) -----------------------
psql_admin >/dev/null <<SQL
DO \$\$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['$APP_ROLE', '$GATEWAY_ROLE', '$RUNTIME_ROLE'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', r);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN ('$APP_ROLE', '$GATEWAY_ROLE', '$RUNTIME_ROLE')
                                         AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'the example roles must not bypass row-level security';
    END IF;
    IF EXISTS (SELECT 1 FROM secrets_store.members
                WHERE db_role IN ('$APP_ROLE', '$GATEWAY_ROLE', '$RUNTIME_ROLE')) THEN
        RAISE EXCEPTION 'the example roles must be linked to no member';
    END IF;
END
\$\$;
GRANT secrets_store_user TO $APP_ROLE, $GATEWAY_ROLE;
GRANT secrets_store_gateway TO $GATEWAY_ROLE;
REVOKE secrets_store_gateway FROM $APP_ROLE;
GRANT secrets_store_runtime TO $RUNTIME_ROLE;
SQL

delete_tokens() {
    psql_admin -c "DELETE FROM secrets_store.api_tokens WHERE name LIKE 'orm-example %'" \
        >/dev/null 2>&1 || echo "# could not delete the API tokens 'orm-example %'"
}

tmp=$(mktemp -d)
cleanup() {
    delete_tokens
    scripts/pgbouncer.sh stop || true
    rm -rf "$tmp"
}
trap cleanup EXIT

delete_tokens
# one line per token: edit, read, globex (never echoed)
tokens=$(psql_admin -At <<'SQL'
BEGIN;
SET LOCAL ROLE ss_alice;
SELECT secrets_store.create_api_token(ss_test.id('acme'), 'orm-example edit', '{secrets_store_edit}');
SELECT secrets_store.create_api_token(ss_test.id('acme'), 'orm-example read', '{secrets_store_read}');
SET LOCAL ROLE ss_gina;
SELECT secrets_store.create_api_token(ss_test.id('globex'), 'orm-example globex read', '{secrets_store_read}');
COMMIT;
SQL
)
{ read -r SS_ORM_EDIT_TOKEN; read -r SS_ORM_READ_TOKEN; read -r SS_ORM_GLOBEX_TOKEN; } <<<"$tokens"
unset tokens
for t in "$SS_ORM_EDIT_TOKEN" "$SS_ORM_READ_TOKEN" "$SS_ORM_GLOBEX_TOKEN"; do
    if ! [[ $t =~ ^sstk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}_[0-9a-f]{8}$ ]]; then
        echo "Bail out! create_api_token() did not return three bearer strings"
        exit 1
    fi
done
export SS_ORM_EDIT_TOKEN SS_ORM_READ_TOKEN SS_ORM_GLOBEX_TOKEN
export SS_ORM_HOST=127.0.0.1 SS_ORM_PORT=$PGBOUNCER_PORT
export SS_ORM_APP_ROLE=$APP_ROLE SS_ORM_GATEWAY_ROLE=$GATEWAY_ROLE SS_ORM_RUNTIME_ROLE=$RUNTIME_ROLE

# -- 3. pgbouncer ------------------------------------------------------------
scripts/pgbouncer.sh start | sed 's/^/# /'

# -- 4. the examples, as one TAP stream --------------------------------------
total=0
failed=0
# run_example TAG COMMAND...: its TAP, renumbered from $total, tagged
run_example() {
    local tag=$1 rc=0 out counts
    shift
    out="$tmp/$tag.tap"
    echo "# == $tag: $*"
    "$@" "$DB" >"$out" 2>&1 || rc=$?
    awk -v off="$total" -v tag="$tag" -v counts="$tmp/$tag.counts" '
        /^(not )?ok [0-9]+/ {
            n++
            prefix = ($1 == "not") ? "not ok" : "ok"
            if (prefix == "not ok") bad++
            rest = $0
            sub(/^(not )?ok [0-9]+( -)? ?/, "", rest)
            printf "%s %d - %s: %s\n", prefix, off + n, tag, rest
            next
        }
        /^1\.\.[0-9]+/ { plan = substr($0, 4) + 0; planned = 1; next }
        /^# failed [0-9]+ of [0-9]+/ { next }
        /^#/ { print; next }
        /^Bail out!/ { print "# " $0; next }
        { print "# " $0 }
        END { printf "%d %d %d %d\n", n, bad, planned, plan > counts }
    ' "$out"
    read -r n bad planned plan <"$tmp/$tag.counts"
    total=$((total + n + 1))
    failed=$((failed + bad))
    if [ "$planned" = 1 ] && [ "$plan" = "$n" ] && [ "$rc" = 0 ] && [ "$n" -gt 0 ]; then
        echo "ok $total - $tag: ran its $n tests to the plan and exited 0"
    else
        echo "not ok $total - $tag: ran its $n tests to the plan and exited 0"
        [ "$planned" = 1 ] || plan=none
        echo "#   $n tests, plan $plan, exit status $rc"
        failed=$((failed + 1))
    fi
}

run_example python /usr/bin/python3 examples/python/test_app.py
run_example node node examples/node/test_app.js

echo "1..$total"
if [ "$failed" -gt 0 ]; then
    echo "# failed $failed of $total"
    exit 1
fi
