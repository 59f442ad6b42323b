#!/usr/bin/env bash
# The cost of authenticate() per transaction, measured with pgbench.
#
#   bench/auth.sh [seconds per run] [runs]
#
# Two scripts run alternately, several times, against the same data:
#   token:   BEGIN; SELECT authenticate(<token>); <list one account's secrets>; COMMIT;
#            as an application login role that is no member
#   db role: BEGIN; <the same list>; COMMIT;
#            as a login role linked to a member with the same rights (psql path)
# and the ratio of their median throughputs is reported for 1 and 8 clients.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-10}
RUNS=${2:-3}
export SECRETS_STORE_CLUSTER=${SECRETS_STORE_BENCH_CLUSTER:-/tmp/secrets_store_bench_cluster}
export SECRETS_STORE_PORT=${SECRETS_STORE_BENCH_PORT:-54331}
CLUSTER_MODE=fresh
source scripts/setup.sh

DB=secrets_store_bench
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION secrets_store" -f test/fixtures/people.sql >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" <<'SQL'
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ss_bench_app') THEN CREATE ROLE ss_bench_app LOGIN; END IF;
END $$;
GRANT secrets_store_user TO ss_bench_app;
UPDATE secrets_store.account_limits SET max_secrets = 1000;
-- 100 secrets in Acme, 100 in Globex
SELECT count(secrets_store.create_secret(ss_test.id(a || '.store'), 'S' || i, NULL, '{workers}'))
FROM unnest(ARRAY['acme', 'globex']) a, generate_series(1, 98) i;
ANALYZE;
SQL
token=$(psql -X -qtA -d "$DB" -c "SET ROLE ss_alice; SELECT secrets_store.create_api_token(ss_test.id('acme'), 'bench', '{secrets_store_read}')" | tail -1)
acme=$(psql -X -qtA -d "$DB" -c "SELECT ss_test.id('acme')")

work=$(mktemp -d)
cat >"$work/token.sql" <<SQL
BEGIN;
SELECT principal_type FROM secrets_store.authenticate(:token);
SELECT id, name, scopes, comment, modified_at FROM secrets_store.secrets WHERE account_id = '$acme';
COMMIT;
SQL
cat >"$work/dbrole.sql" <<SQL
BEGIN;
SELECT id, name, scopes, comment, modified_at FROM secrets_store.secrets WHERE account_id = '$acme';
COMMIT;
SQL

run() { # script user clients -> tps
    pgbench -n -M prepared -f "$work/$1.sql" -U "$2" -c "$3" -j "$3" -T "$SECONDS_PER_RUN" \
        -D token="$token" "$DB" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

mkdir -p bench/results
out=bench/results/auth.md
{
    echo "# authenticate() per transaction"
    echo
    echo "$(nproc) cores, $(psql -X -qtA -d "$DB" -c 'SHOW server_version'), ${RUNS} runs of ${SECONDS_PER_RUN} s each, alternated; median tps (min-max)."
    echo
    echo "| clients | db role (psql path) | token (authenticate each transaction) | ratio token / db role |"
    echo "|---|---|---|---|"
} >"$out"
for clients in 1 8; do
    : >"$work/t"; : >"$work/d"
    for _ in $(seq "$RUNS"); do
        run dbrole ss_dave "$clients" >>"$work/d"
        run token ss_bench_app "$clients" >>"$work/t"
    done
    d=$(median <"$work/d"); t=$(median <"$work/t")
    echo "| $clients | $d ($(sort -n "$work/d" | head -1)-$(sort -n "$work/d" | tail -1)) | $t ($(sort -n "$work/t" | head -1)-$(sort -n "$work/t" | tail -1)) | $(awk -v a="$t" -v b="$d" 'BEGIN { printf "%.2f", a / b }') |" >>"$out"
done
rm -rf "$work"
cat "$out"
scripts/cluster.sh stop
