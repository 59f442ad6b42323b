#!/usr/bin/python3
"""Canary test: a distinctive secret value must not leak.

Writes distinctive values through psql literals, through bind parameters
(psycopg 3, extended protocol) and in failing statements (duplicate names),
then searches every channel PostgreSQL could copy them to: the server log,
pg_stat_statements, pg_stat_activity, every file of the data directory (heap,
indexes, pg_stat_tmp) and the WAL (raw segments and pg_waldump output).

Phase 1 runs under the settings the README recommends (the defaults, with the
library preloaded): every channel must have zero hits.  Phase 2 turns on
log_statement = 'all' and log_min_duration_statement = 0 and reports what
remains: bind parameters and duration lines are redacted by the extension;
a literal in a simple-protocol statement is logged by PostgreSQL before it
is parsed, and the extension warns the client about it.

Usage: canary.py DATABASE   (PGHOST, PGPORT, PGUSER of a superuser; the
cluster directory in SECRETS_STORE_CLUSTER).  Output: TAP.
"""
import os
import secrets
import subprocess
import sys
import time

import psycopg

DB = sys.argv[1] if len(sys.argv) > 1 else "secrets_store_test"
CLUSTER = os.environ.get("SECRETS_STORE_CLUSTER", "/tmp/secrets_store_test_cluster")
DATA = os.path.join(CLUSTER, "data")
LOG = os.path.join(CLUSTER, "server.log")
PG_BIN = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()

results = []


def ok(passed, description, diag=None):
    results.append(passed)
    print("%s %d - %s" % ("ok" if passed else "not ok", len(results), description))
    if not passed and diag:
        for line in str(diag).splitlines():
            print("#   " + line)
    sys.stdout.flush()


def note(text):
    print("# " + text)


def admin():
    conn = psycopg.connect(dbname=DB, autocommit=True)
    return conn


def psql(user, sql, expect_error=False):
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", DB, "-c", sql],
                       capture_output=True, text=True)
    if (r.returncode != 0) != expect_error:
        raise RuntimeError("psql %s: %s" % ("succeeded" if expect_error else "failed", r.stderr))
    return r


def count_in_file(path, needle):
    try:
        with open(path, "rb") as f:
            return f.read().count(needle)
    except OSError:
        return 0


def count_in_tree(root, needle):
    hits = []
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            n = count_in_file(path, needle)
            if n:
                hits.append("%s: %d" % (os.path.relpath(path, root), n))
    return hits


def waldump_hits(start_lsn, needle):
    r = subprocess.run([os.path.join(PG_BIN, "pg_waldump"), "-p", os.path.join(DATA, "pg_wal"),
                        "-s", start_lsn, "--fullpage"],
                       capture_output=True)
    return (r.stdout + r.stderr).count(needle)


def channels(conn, needle, label, expect_log_hits=0):
    """Search every channel for needle (bytes)."""
    text = needle.decode()
    conn.execute("CHECKPOINT")
    n = count_in_file(LOG, needle)
    if expect_log_hits == 0:
        ok(n == 0, "%s: the server log has no copy of the value" % label, "%d hit(s) in %s" % (n, LOG))
    stat = conn.execute("SELECT count(*) FROM pg_stat_statements WHERE query LIKE %s",
                        ("%" + text + "%",)).fetchone()[0]
    ok(stat == 0, "%s: pg_stat_statements has no copy" % label, "%d statement(s)" % stat)
    act = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s",
                       ("%" + text + "%",)).fetchone()[0]
    ok(act == 0, "%s: pg_stat_activity has no copy" % label, "%d backend(s)" % act)
    files = count_in_tree(DATA, needle)
    ok(not files, "%s: no file of the data directory (tables, indexes, pg_wal, pg_stat_tmp) holds it" % label,
       "\n".join(files))
    return n


def main():
    marker = "cnry" + secrets.token_hex(6)
    needle = marker.encode()
    conn = admin()
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    conn.execute("SELECT pg_stat_statements_reset()")
    start_lsn = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
    store = conn.execute("SELECT ss_test.id('acme.store')::text").fetchone()[0]
    acme = conn.execute("SELECT ss_test.id('acme')::text").fetchone()[0]
    settings = conn.execute("SELECT current_setting('log_statement'), current_setting('log_min_duration_statement'),"
                            " current_setting('shared_preload_libraries')").fetchone()
    note("phase 1 settings: log_statement=%s, log_min_duration_statement=%s, shared_preload_libraries=%s"
         % settings)

    # 1. literals through psql (simple protocol)
    psql("ss_bob", "SELECT secrets_store.create_secret('%s', 'CANARY_LITERAL', '%s-literal', '{workers}')" % (store, marker))
    psql("ss_bob", "INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, value)"
                   " VALUES ('%s', '%s', 'CANARY_INSERT', '{workers}', '%s-insert')" % (acme, store, marker))
    psql("ss_bob", "UPDATE secrets_store.secrets SET value = '%s-update' WHERE name = 'CANARY_INSERT'" % marker)
    # 2. failing statements that carry a value (duplicate names, value over the limit)
    psql("ss_bob", "SELECT secrets_store.create_secret('%s', 'CANARY_LITERAL', '%s-failing', '{workers}')" % (store, marker),
         expect_error=True)
    psql("ss_bob", "INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, value)"
                   " VALUES ('%s', '%s', 'CANARY_INSERT', '{workers}', '%s-failing-insert')" % (acme, store, marker),
         expect_error=True)
    # 3. bind parameters (extended protocol), one connection left idle afterwards
    app = psycopg.connect(dbname=DB, user="ss_bob", autocommit=True)
    app.execute("SELECT secrets_store.create_secret(%s, %s, %s, %s)",
                (store, "CANARY_BIND", marker + "-bind", ["workers"]), prepare=False)
    app.execute("UPDATE secrets_store.secrets SET value = %s WHERE name = %s",
                (marker + "-bind-update", "CANARY_BIND"))
    try:
        app.execute("SELECT secrets_store.create_secret(%s, %s, %s, %s)",
                    (store, "CANARY_BIND", marker + "-bind-failing", ["workers"]))
        ok(False, "a duplicate name with a bound value fails")
    except psycopg.errors.UniqueViolation:
        ok(True, "a duplicate name with a bound value fails (23505)")
    # 4. a literal in a session that stays open (pg_stat_activity keeps its last query)
    idle = subprocess.Popen(["psql", "-X", "-q", "-U", "ss_bob", "-d", DB], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    idle.stdin.write("UPDATE secrets_store.secrets SET value = '%s-idle' WHERE name = 'CANARY_BIND';\n" % marker)
    idle.stdin.flush()
    time.sleep(1.0)

    ok(conn.execute("SELECT count(*) FROM secrets_store.secrets WHERE name LIKE 'CANARY%%' AND status = 'active'").fetchone()[0] == 3,
       "the canary secrets were written and are active")
    channels(conn, needle, "phase 1 (recommended settings)")
    n = waldump_hits(start_lsn, needle)
    ok(n == 0, "phase 1: pg_waldump of the WAL written since the test began shows no copy", "%d hit(s)" % n)
    idle.stdin.close()
    idle.wait()
    app.close()

    # phase 2: PostgreSQL's own statement logging turned on
    marker2 = "cnry" + secrets.token_hex(6)
    needle2 = marker2.encode()
    conn.execute("ALTER SYSTEM SET log_statement = 'all'")
    conn.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
    conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.5)
    try:
        app = psycopg.connect(dbname=DB, user="ss_bob", autocommit=True)
        app.execute("UPDATE secrets_store.secrets SET value = %s WHERE name = %s", (marker2 + "-bind", "CANARY_BIND"))
        app.close()
        bind_hits = count_in_file(LOG, needle2)
        ok(bind_hits == 0,
           "phase 2 (log_statement=all, log_min_duration_statement=0): a bound value is redacted from statement, "
           "parameter and duration lines", "%d hit(s)" % bind_hits)
        r = psql("ss_bob", "UPDATE secrets_store.secrets SET value = '%s-literal' WHERE name = 'CANARY_BIND'" % marker2)
        ok("log_statement = 'all' may have written this statement" in r.stderr,
           "phase 2: a literal under log_statement=all draws a warning to the client", r.stderr)
        literal_hits = count_in_file(LOG, needle2)
        note("phase 2 channel report: server log %d hit(s) for a simple-protocol literal (log_statement writes it "
             "before parsing; the client is warned; use bind parameters), 0 for bind parameters" % literal_hits)
        channels(conn, needle2, "phase 2", expect_log_hits=literal_hits)
    finally:
        conn.execute("ALTER SYSTEM RESET log_statement")
        conn.execute("ALTER SYSTEM RESET log_min_duration_statement")
        conn.execute("SELECT pg_reload_conf()")
        conn.execute("DELETE FROM secrets_store.secrets WHERE name LIKE 'CANARY%%'")
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
