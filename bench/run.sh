#!/usr/bin/env bash
# The benchmark suite: one command.
#
#   bench/run.sh                      # sizes 10k, 100k, 1M secrets; clients 1, 8, 32
#   SIZES="10000" RUNS=3 SECONDS_PER_RUN=5 CLIENTS="1 8" bench/run.sh
#
# For each data size (bench/sql/generate.sql) and number of clients, pairs of
# pgbench scripts run alternately RUNS times; the report gives each side's
# median transactions per second (min-max) and the ratio of the medians.
# Results: bench/results/results.csv and bench/results/README.md, with the
# machine's cores and the PostgreSQL version.  It runs on a throwaway cluster
# of its own (port 54331) and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"10000 100000 1000000"}
CLIENTS=${CLIENTS:-"1 8 32"}
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
export SECRETS_STORE_CLUSTER=${SECRETS_STORE_BENCH_CLUSTER:-/tmp/secrets_store_bench_cluster}
export SECRETS_STORE_PORT=${SECRETS_STORE_BENCH_PORT:-54331}
CLUSTER_MODE=fresh
source scripts/setup.sh
trap 'scripts/cluster.sh stop' EXIT

work=$(mktemp -d)
mkdir -p bench/results
csv=bench/results/results.csv
echo "size,benchmark,clients,a,a_median,a_min,a_max,b,b_median,b_min,b_max,ratio_a_over_b" >"$csv"

tps() { # script role clients db
    pgbench -n -M prepared -f "$work/$1.sql" -U "$2" -c "$3" -j "$3" -T "$SECONDS_PER_RUN" "$4" 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
stats() { # file -> "median min max"
    sort -n "$1" | awk '{ a[NR] = $1 } END { printf "%s %s %s\n", a[int((NR + 1) / 2)], a[1], a[NR] }'
}
pair() { # size name script_a role_a script_b role_b db
    local size=$1 name=$2 sa=$3 ra=$4 sb=$5 rb=$6 db=$7 c
    for c in $CLIENTS; do
        : >"$work/a"; : >"$work/b"
        for _ in $(seq "$RUNS"); do
            tps "$sa" "$ra" "$c" "$db" >>"$work/a"
            tps "$sb" "$rb" "$c" "$db" >>"$work/b"
        done
        read -r am amin amax < <(stats "$work/a")
        read -r bm bmin bmax < <(stats "$work/b")
        ratio=$(awk -v a="$am" -v b="$bm" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }')
        echo "$size,$name,$c,$sa as $ra,$am,$amin,$amax,$sb as $rb,$bm,$bmin,$bmax,$ratio" | tee -a "$csv"
    done
}

for size in $SIZES; do
    db=bench_$size
    echo "== $size secrets: generating"
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    psql -X -q -d "$db" -v n_accounts=$((size / 100)) -v n_secrets="$size" -f bench/sql/generate.sql
    id() { psql -X -qtA -d "$db" -c "SELECT id FROM bench.ids WHERE name = '$1'"; }
    typical=$(id typical); large=$(id large); third=$(id third)
    store=$(id typical.store); secret=$(id typical.secret)
    token=$(psql -X -qtA -d "$db" -c "SET ROLE bench_admin" \
        -c "SELECT secrets_store.create_api_token('$typical', 'bench', '{secrets_store_read}')" | tail -1)
    # tokens of every group (account-owned, issued by the administrator)
    psql -X -qtA -d "$db" >/dev/null \
        -c "SELECT count(secrets_store.create_api_token('$typical', 'bench ' || g, ARRAY[g], account_owned => true))
            FROM unnest(enum_range(NULL::secrets_store.permission_group)) g"
    cols="id, name, scopes, comment, modified_at"
    echo "SELECT $cols FROM secrets_store.secrets WHERE account_id = '$typical';" >"$work/list_typical.sql"
    echo "SELECT $cols FROM secrets_store.secrets WHERE account_id = '$large';" >"$work/list_large.sql"
    echo "SELECT name FROM secrets_store.secrets WHERE id = '$secret';" >"$work/point.sql"
    echo "SELECT $cols FROM secrets_store.secrets;" >"$work/visible_rls.sql"
    echo "SELECT $cols FROM secrets_store.secrets WHERE account_id IN ('$typical', '$large', '$third');" >"$work/visible_bypass.sql"
    printf 'BEGIN;\nSELECT principal_type FROM secrets_store.authenticate(%s);\nSELECT %s FROM secrets_store.secrets WHERE account_id = %s;\nCOMMIT;\n' \
        "'$token'" "$cols" "'$typical'" >"$work/auth_token.sql"
    printf 'BEGIN;\nSELECT %s FROM secrets_store.secrets WHERE account_id = %s;\nCOMMIT;\n' "$cols" "'$typical'" >"$work/auth_none.sql"
    printf '\\set a random(4, %d)\nSELECT secrets_store.create_secret(s.store_id, %s || md5(random()::text || clock_timestamp()::text), %s, %s) FROM bench.stores s WHERE s.n = :a;\n' \
        "$((size / 100))" "'C_'" "'sk_bench_value_0123456789'" "'{workers}'" >"$work/create_sealed.sql"
    printf '\\set a random(4, %d)\nINSERT INTO bench.plain_secrets (account_id, store_id, name, scopes, value) SELECT s.account_id, s.store_id, %s || md5(random()::text || clock_timestamp()::text), %s, %s FROM bench.stores s WHERE s.n = :a;\n' \
        "$((size / 100))" "'C_'" "'{workers}'" "'sk_bench_value_0123456789'" >"$work/create_plain.sql"
    echo "SELECT length(secrets_store.get_bound_secret('$typical', 'worker', 'B_8'));" >"$work/runtime.sql"
    echo "SELECT length(sealed) FROM secrets_store.secret_values WHERE account_id = '$typical' AND secret_id = '$secret';" >"$work/runtime_plain.sql"
    echo "SELECT $cols FROM bench.naive_secrets WHERE account_id = '$typical';" >"$work/naive_typical.sql"
    echo "SELECT $cols FROM bench.naive_secrets;" >"$work/naive_visible.sql"

    echo "== $size secrets: measuring"
    pair "$size" "list one account: RLS vs bypass" list_typical bench_reporter list_typical bench_bypass "$db"
    pair "$size" "list the large account: RLS vs bypass" list_large bench_reporter list_large bench_bypass "$db"
    pair "$size" "point lookup by id: RLS vs bypass" point bench_reporter point bench_bypass "$db"
    pair "$size" "everything visible (3 accounts): RLS vs bypass" visible_rls bench_reporter visible_bypass bench_bypass "$db"
    pair "$size" "naive per-row policy vs ours: one account" list_typical bench_reporter naive_typical bench_naive "$db"
    pair "$size" "naive per-row policy vs ours: everything visible" visible_rls bench_reporter naive_visible bench_naive "$db"
    if [ "$size" = "$(echo $SIZES | awk '{ print $NF }')" ]; then
        pair "$size" "authenticate per transaction vs db role" auth_token bench_app auth_none bench_reporter "$db"
        pair "$size" "create with sealing vs plain insert" create_sealed bench_admin create_plain bench_admin "$db"
        pair "$size" "get_bound_secret vs plain row read" runtime bench_runtime runtime_plain postgres "$db"
    fi
    psql -X -q -d postgres -c "DROP DATABASE $db"
done

/usr/bin/python3 bench/report.py "$csv" "$(nproc)" "$(psql -X -qtA -d postgres -c 'SHOW server_version')" \
    "$RUNS" "$SECONDS_PER_RUN" >bench/results/README.md
cat bench/results/README.md
rm -rf "$work"
