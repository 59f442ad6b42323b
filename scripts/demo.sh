#!/usr/bin/env bash
# Quick start 1: set up, create a demo database and show the access model at
# work: every member role attempting every action, observed beside DESIGN.md.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER_MODE=fresh   # a new throwaway cluster, with its own master key
source scripts/setup.sh

DB=secrets_store_demo
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION secrets_store"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f test/fixtures/people.sql
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f demo/demo.sql

cat <<MSG

The demo database is still there.  Open psql on it with:

    psql -h $PGHOST -p $PGPORT -U postgres $DB

and try, for example:

    SET ROLE ss_dave;                        -- a Reporter
    SELECT * FROM secrets_store.whoami();
    SELECT name, scopes, value FROM secrets_store.secrets;
    SELECT secrets_store.create_secret(secrets_store.default_store(
        (SELECT id FROM secrets_store.accounts)), 'X', NULL, '{workers}');

Stop the cluster with: scripts/cluster.sh stop
MSG
