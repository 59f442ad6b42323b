#!/usr/bin/env bash
# Quick start 2: set up, then run every test against the throwaway cluster:
# pg_regress (sql/ + expected/), isolation (specs/ + expected/) and pgTAP
# (test/*.sql, with pg_prove).  Ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
# the tests get a cluster of their own, new every run
export SECRETS_STORE_CLUSTER=${SECRETS_STORE_TEST_CLUSTER:-/tmp/secrets_store_test_cluster}
export SECRETS_STORE_PORT=${SECRETS_STORE_TEST_PORT:-54330}
CLUSTER_MODE=fresh
source scripts/setup.sh

passed=0
failed=0
log=$(mktemp)

# run_suite NAME MAKE-ARGS...: one pg_regress-style suite, counted per test
run_suite() {
    local name=$1 diffs=$2
    shift 2
    echo "== $name"
    if make -s PG_CONFIG="$PG_CONFIG" installcheck "$@" >"$log" 2>&1; then :; else
        [ -f "$diffs" ] && cat "$diffs"
    fi
    grep -E '^(test|ok|not ok) ' "$log" || true
    passed=$((passed + $(grep -Ec '^(test|ok) .* ok ' "$log" || true)))
    failed=$((failed + $(grep -Ec '^(test|not ok) .*(FAILED|failed)' "$log" || true)))
    if ! grep -q 'tests passed' "$log"; then
        grep -q 'tests failed' "$log" || { tail -20 "$log"; failed=$((failed + 1)); }
    fi
}
run_suite "pg_regress tests" regression.diffs ISOLATION=
run_suite "isolation tests" output_iso/regression.diffs REGRESS=

echo "== pgTAP tests"
DB=secrets_store_test
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION secrets_store"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f test/fixtures/people.sql >/dev/null
# over TCP from 127.0.0.1, so client-address rules of tokens can be tested
if pg_prove -h 127.0.0.1 -d "$DB" test/*.sql >"$log" 2>&1; then :; fi
cat "$log"
tap_total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log")
tap_failed=$(sed -n 's/.*Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
tap_failed=${tap_failed:-0}
if ! grep -q '^Result: PASS' "$log"; then
    # a file that died counts at least once
    [ "$tap_failed" -gt 0 ] || tap_failed=1
fi
passed=$((passed + ${tap_total:-0} - tap_failed))
failed=$((failed + tap_failed))

# run_tap NAME COMMAND...: a TAP-producing test script, counted per test
run_tap() {
    local name=$1
    shift
    echo "== $name"
    if "$@" >"$log" 2>&1; then :; fi
    grep -E '^(not ok|# failed|Bail out)' "$log" || true
    grep -E '^# phase 2 channel report' "$log" || true
    local tap_passed tap_failed
    tap_passed=$(grep -Ec '^ok ' "$log" || true)
    tap_failed=$(grep -Ec '^not ok ' "$log" || true)
    if ! grep -Eq '^1\.\.[0-9]+' "$log"; then
        tail -20 "$log"
        tap_failed=$((tap_failed + 1))
    fi
    echo "$tap_passed passed, $tap_failed failed"
    passed=$((passed + tap_passed))
    failed=$((failed + tap_failed))
}
run_tap "connection-pool tests (pgbouncer, transaction mode, one server connection)" test/pool/run.sh "$DB"
run_tap "ORM examples through pgbouncer (SQLAlchemy, Knex)" test/orm/run.sh "$DB"
run_tap "canary test (no secret value in logs, statistics, data files or WAL)" test/canary/run.sh "$DB"
run_tap "dump and restore into fresh clusters (with and without the master key)" test/dump/run.sh
run_tap "hot standby (streaming replica)" test/replica/run.sh
run_tap "packaging (META.json agrees with the control file)" test/meta/check.sh
rm -f "$log"

echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
