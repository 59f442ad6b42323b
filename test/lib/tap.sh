# TAP helpers for the shell tests (test/dump, test/replica).  Source it after
# setting WORK and ERR; the secrets a test holds (VALUE, VALUE2, VALUE3, TOKEN)
# are scrubbed from everything it prints.
n=0
failed=0

# never let a value or the token reach the output
scrub() {
    local text=$1 secret
    for secret in "${VALUE:-}" "${VALUE2:-}" "${VALUE3:-}"; do
        [ -n "$secret" ] && text=${text//"$secret"/<value>}
    done
    [ -n "${TOKEN:-}" ] && text=${text//"$TOKEN"/<token>}
    printf '%s' "$text"
}

diag() {
    [ -n "$1" ] || return 0
    scrub "$1" | sed 's/^/#   /'
    echo
}

pass() {
    n=$((n + 1))
    echo "ok $n - $1"
}

fail() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    diag "${2:-}"
}

# is GOT EXPECTED DESCRIPTION
is() {
    if [ "$1" = "$2" ]; then
        pass "$3"
    else
        fail "$3" "got:      $1
expected: $2$( [ -s "$ERR" ] && printf '\n%s' "$(tail -5 "$ERR")")"
    fi
}

bail() {
    echo "Bail out! $(scrub "$1")"
    [ -s "$ERR" ] && diag "$(tail -15 "$ERR")"
    exit 1
}

# step DESCRIPTION COMMAND...: a setup step that must work, as a test
step() {
    local description=$1
    shift
    if "$@" >"$WORK/stdout" 2>"$ERR"; then
        pass "$description"
    else
        fail "$description"
        bail "$description failed"
    fi
}

finish() {
    echo "1..$n"
    if [ "$failed" -gt 0 ]; then
        echo "# failed $failed of $n"
        exit 1
    fi
    exit 0
}

# sql DIR PORT [psql options]: SQL (on stdin or -c) in database ${ON_DB:-$DB},
# as postgres unless -U is given; unaligned, tuples only, stops at the first
# error.  The secrets reach psql through its environment (\getenv), never its
# command line.
sql() {
    local dir=$1 port=$2
    shift 2
    SS_VALUE=${VALUE:-} SS_VALUE2=${VALUE2:-} SS_VALUE3=${VALUE3:-} SS_TOKEN=${TOKEN:-} \
        psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d "${ON_DB:-$DB}" "$@" 2>"$ERR"
}

# issue_token DIR PORT NAME LABEL: ss_alice issues a Secrets Store Read token
# for Acme into $TOKEN (a test step: bails out if it fails)
issue_token() {
    if TOKEN=$(sql "$1" "$2" -c "SET ROLE ss_alice" \
                  -c "SELECT secrets_store.create_api_token(ss_test.id('acme'), '$3', '{secrets_store_read}')") &&
       [ ${#TOKEN} -eq 90 ]; then
        pass "$4"
    else
        TOKEN=
        fail "$4"
        bail "no token"
    fi
}
