#!/usr/bin/python3
"""Transaction principals behind a connection pool.

Run with Debian's Python (/usr/bin/python3 and the package python3-psycopg2)
while scripts/pgbouncer.sh runs: pgbouncer in transaction mode with ONE server
connection per database, so every client of a pool user shares one backend.

    /usr/bin/python3 test/pool/interleave.py [DATABASE]

DATABASE (default secrets_store_test) must have secrets_store installed and
test/fixtures/people.sql loaded.  The set-up connects straight to the cluster
(libpq's PGHOST / PGPORT / PGUSER, a superuser) and creates two login roles
linked to no member:

    ss_pool_app  in secrets_store_user                        (clients A and B)
    ss_pool_gw   in secrets_store_user, secrets_store_gateway (clients G1, G2)

and an API token "secrets_store_read" in Acme (owned by ss_alice) and one in
Globex (owned by ss_gina).  The tokens are deleted at the end.

Then the clients connect through pgbouncer (127.0.0.1, $PGBOUNCER_PORT,
default 64330) and interleave transactions, round after round: A with the
Acme token, B with the Globex token, A and B without authenticating, a
transaction that authenticates and then fails, a client waiting for the one
server connection while another holds it, act_as by a gateway role, act_as
refused to a non-gateway role.  Every transaction asserts what whoami() says,
that every row it sees (accounts, stores, secrets, worker_bindings,
ai_gateway_associations, api_tokens, account_limits, role_assignments) is of
its principal's account, that it sees all of that account's rows it may read
and, without a principal, none at all; and that it ran on the same backend as
the previous transaction of its pool (pg_backend_pid()), which is what makes
the test mean anything.  pgbouncer keeps one server connection per database:
a transaction of the other pool user makes it close (evict) the idle one, so
"same backend" is checked between consecutive transactions of one pool user.

Output is TAP; the exit status is 0 only if every test passed.  Bearer strings
are never printed: every diagnostic is scrubbed.
"""

import os
import re
import sys
import threading
import time

try:
    import psycopg2
    import psycopg2.extensions
except ImportError:
    print("1..0 # SKIP psycopg2 is missing: run with /usr/bin/python3 and install python3-psycopg2")
    sys.exit(1)

DATABASE = sys.argv[1] if len(sys.argv) > 1 else "secrets_store_test"
BOUNCER_HOST = "127.0.0.1"
BOUNCER_PORT = int(os.environ.get("PGBOUNCER_PORT", "64330"))
APP_ROLE = "ss_pool_app"
GATEWAY_ROLE = "ss_pool_gw"
TOKEN_NAME = "pool-test %s read"
ROUNDS = 3

# (table, column holding the account) for every account-scoped table
ACCOUNT_TABLES = [
    ("accounts", "id"),
    ("stores", "account_id"),
    ("secrets", "account_id"),
    ("worker_bindings", "account_id"),
    ("ai_gateway_associations", "account_id"),
    ("api_tokens", "account_id"),
    ("account_limits", "account_id"),
    ("role_assignments", "account_id"),
]
# a principal of nobody must see no row in these either
GLOBAL_TABLES = ["members"]

# what a token with secrets_store_read reads of its account (DESIGN.md
# sections 3 and 4): not the tokens (no token.manage, and a token is not a
# member) nor the role assignments (no member.manage)
TOKEN_READS = {"accounts", "stores", "secrets", "worker_bindings",
               "ai_gateway_associations", "account_limits"}
# a Super Administrator reads everything of the account
SUPER_ADMIN_READS = {t for t, _ in ACCOUNT_TABLES}

OBSERVE_SQL = " UNION ALL ".join(
    ["SELECT %d AS ord, '%s' AS tbl, count(*) AS n, "
     "coalesce(array_agg(DISTINCT %s::text), '{}') AS accounts "
     "FROM secrets_store.%s" % (i, t, c, t) for i, (t, c) in enumerate(ACCOUNT_TABLES)]
    + ["SELECT %d, '%s', count(*), '{}'::text[] FROM secrets_store.%s"
       % (len(ACCOUNT_TABLES) + i, t, t) for i, t in enumerate(GLOBAL_TABLES)]
) + " ORDER BY 1"
WHOAMI_SQL = ("SELECT w.principal_type, w.member_id::text, w.token_id::text, "
              "w.db_role::text, pg_backend_pid() FROM secrets_store.whoami() w")
SECRETS_SQL = "SELECT account_id::text, name FROM secrets_store.secrets ORDER BY 1, 2"

BEARER_PATTERN = re.compile(r"sstk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}_[0-9a-f]{8}")


# ---------------------------------------------------------------------------
# TAP
# ---------------------------------------------------------------------------

SECRETS_TO_HIDE = []


def scrub(text):
    text = str(text)
    for s in SECRETS_TO_HIDE:
        text = text.replace(s, "<bearer string>")
    return BEARER_PATTERN.sub("<bearer string>", text)


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = []

    def ok(self, passed, description, diag=None):
        self.count += 1
        line = "%s %d - %s" % ("ok" if passed else "not ok", self.count, scrub(description))
        print(line, flush=True)
        if not passed:
            self.failed.append(self.count)
            print("#   Failed test %d: %s" % (self.count, scrub(description)), flush=True)
            if diag:
                for d in scrub(diag).splitlines():
                    print("#   " + d, flush=True)
        return passed

    def skip(self, description, reason):
        self.count += 1
        print("ok %d - %s # SKIP %s" % (self.count, scrub(description), scrub(reason)), flush=True)

    def note(self, text):
        for d in scrub(text).splitlines():
            print("# " + d, flush=True)

    def finish(self):
        print("1..%d" % self.count, flush=True)
        if self.failed:
            print("# failed %d of %d: %s" % (len(self.failed), self.count,
                                            ", ".join(map(str, self.failed))), flush=True)
        return 0 if not self.failed and self.count > 0 else 1


T = Tap()


def error_text(e):
    parts = [type(e).__name__]
    pgcode = getattr(e, "pgcode", None)
    if pgcode:
        parts.append("SQLSTATE %s" % pgcode)
    parts.append(str(e).strip())
    return scrub(" ".join(parts))


# ---------------------------------------------------------------------------
# Set-up (direct connection, superuser)
# ---------------------------------------------------------------------------

class World:
    """Ids, tokens and the true contents of each account."""


def admin_connect():
    conn = psycopg2.connect(dbname=DATABASE, connect_timeout=10,
                            application_name="pool-test admin")
    conn.autocommit = True
    return conn


def setup(admin):
    w = World()
    cur = admin.cursor()
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if not cur.fetchone()[0]:
        raise RuntimeError("the set-up connection (PGUSER) must be a superuser")
    cur.execute("SELECT to_regprocedure('secrets_store.authenticate(text)') IS NOT NULL")
    if not cur.fetchone()[0]:
        raise RuntimeError("secrets_store is not installed in database %s" % DATABASE)
    cur.execute("SELECT to_regclass('ss_test.ids') IS NOT NULL")
    if not cur.fetchone()[0]:
        raise RuntimeError("test/fixtures/people.sql is not loaded in database %s" % DATABASE)

    cur.execute("""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ss_pool_app') THEN
                CREATE ROLE ss_pool_app LOGIN;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ss_pool_gw') THEN
                CREATE ROLE ss_pool_gw LOGIN;
            END IF;
        END
        $$""")
    cur.execute("GRANT secrets_store_user TO ss_pool_app, ss_pool_gw")
    cur.execute("GRANT secrets_store_gateway TO ss_pool_gw")
    # A and B must not be able to act_as
    cur.execute("REVOKE secrets_store_gateway FROM ss_pool_app")
    cur.execute("""SELECT r.rolname, m.roleid::regrole::text
                     FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
                    WHERE r.rolname IN ('ss_pool_app', 'ss_pool_gw')
                    ORDER BY 1, 2""")
    w.memberships = cur.fetchall()
    cur.execute("SELECT rolname, rolsuper OR rolbypassrls FROM pg_roles "
                "WHERE rolname IN ('ss_pool_app', 'ss_pool_gw')")
    privileged = [r for r, p in cur.fetchall() if p]
    if privileged:
        raise RuntimeError("roles %s bypass row-level security" % privileged)
    cur.execute("SELECT db_role::text FROM secrets_store.members "
                "WHERE db_role IN ('ss_pool_app', 'ss_pool_gw')")
    linked = [r[0] for r in cur.fetchall()]
    if linked:
        raise RuntimeError("roles %s are linked to members; the test needs them unlinked" % linked)

    cur.execute("SELECT name, id::text FROM ss_test.ids")
    ids = dict(cur.fetchall())
    w.account = {"acme": ids["acme"], "globex": ids["globex"]}
    w.account_name = {ids["acme"]: "Acme", ids["globex"]: "Globex"}
    w.member = {"alice": ids["ss_alice"], "gina": ids["ss_gina"]}

    # leftovers of an interrupted run
    cur.execute("DELETE FROM secrets_store.api_tokens WHERE name LIKE 'pool-test %'")

    w.token = {}
    w.token_id = {}
    for key, owner in (("acme", "ss_alice"), ("globex", "ss_gina")):
        cur.execute("BEGIN")
        cur.execute("SET LOCAL ROLE %s" % owner)
        cur.execute("SELECT secrets_store.create_api_token(%s, %s, '{secrets_store_read}')",
                    (w.account[key], TOKEN_NAME % key))
        bearer = cur.fetchone()[0]
        cur.execute("COMMIT")
        SECRETS_TO_HIDE.append(bearer)
        w.token[key] = bearer
        cur.execute("SELECT id::text FROM secrets_store.api_tokens WHERE name = %s",
                    (TOKEN_NAME % key,))
        w.token_id[key] = cur.fetchone()[0]

    # the truth, read as superuser (below row-level security)
    w.truth = {}
    w.truth_secrets = {}
    for key, acct in w.account.items():
        counts = {}
        for table, column in ACCOUNT_TABLES:
            cur.execute("SELECT count(*) FROM secrets_store.%s WHERE %s = %%s" % (table, column),
                        (acct,))
            counts[table] = cur.fetchone()[0]
        w.truth[key] = counts
        cur.execute("SELECT account_id::text, name FROM secrets_store.secrets "
                    "WHERE account_id = %s ORDER BY 1, 2", (acct,))
        w.truth_secrets[key] = [tuple(r) for r in cur.fetchall()]
    return w


def cleanup(admin):
    try:
        cur = admin.cursor()
        cur.execute("DELETE FROM secrets_store.api_tokens WHERE name LIKE 'pool-test %'")
    except Exception as e:  # report, do not mask the test's outcome
        T.note("cleanup failed: %s" % error_text(e))


# ---------------------------------------------------------------------------
# The server log (to check that bearer strings never reach it)
# ---------------------------------------------------------------------------

def server_log_path():
    path = os.environ.get("SS_SERVER_LOG")
    if path:
        return path if os.path.isfile(path) else None
    host = os.environ.get("PGHOST", "")
    if host.startswith("/") and os.path.isfile(os.path.join(host, "server.log")):
        return os.path.join(host, "server.log")
    return None


class ServerLog:
    def __init__(self):
        self.path = server_log_path()
        self.offset = os.path.getsize(self.path) if self.path else 0

    def check_no_bearer(self, description):
        """No bearer string of ours in what the server logged since the last check."""
        if not self.path:
            T.skip(description, "server log not found (set SS_SERVER_LOG)")
            return
        time.sleep(0.2)
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            text = f.read().decode("utf-8", "replace")
        self.offset += len(text.encode("utf-8", "replace"))
        leaked = [i for i, line in enumerate(text.splitlines())
                  if any(s in line for s in SECRETS_TO_HIDE)]
        lines = text.splitlines()
        T.ok(not leaked, description,
             "%d line(s) of %s hold a bearer string, e.g.:\n%s"
             % (len(leaked), self.path, "\n".join(lines[i] for i in leaked[:4])) if leaked else None)


# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------

class Client:
    def __init__(self, name, role):
        self.name = name
        self.role = role
        self.conn = psycopg2.connect(host=BOUNCER_HOST, port=BOUNCER_PORT, dbname=DATABASE,
                                     user=role, connect_timeout=10,
                                     application_name="pool-test " + name)
        self.conn.autocommit = False

    def cursor(self):
        return self.conn.cursor()

    def rollback_quietly(self):
        try:
            self.conn.rollback()
        except Exception:
            pass


class Pool:
    """Which backend the previous transaction of each pool (user) ran on."""

    def __init__(self):
        self.last_user = None
        self.last_pid = None
        self.last_label = None
        self.backends = {}

    def check(self, client, pid, label):
        if self.last_user == client.role:
            T.ok(pid == self.last_pid,
                 "%s: same backend as the previous transaction (%s)" % (label, self.last_label),
                 "pg_backend_pid() = %s here, %s there: the clients did not share one backend"
                 % (pid, self.last_pid))
        elif self.last_user is not None:
            T.note("%s: pool user %s after %s: pgbouncer evicted backend %s, now on %s"
                   % (label, client.role, self.last_user, self.last_pid, pid))
        self.backends.setdefault(client.role, set()).add(pid)
        self.last_user = client.role
        self.last_pid = pid
        self.last_label = label


POOL = Pool()


def observe(cur):
    cur.execute(WHOAMI_SQL)
    who = cur.fetchone()
    cur.execute(OBSERVE_SQL)
    tables = {t: (n, set(a)) for _, t, n, a in cur.fetchall()}
    cur.execute(SECRETS_SQL)
    secrets = [tuple(r) for r in cur.fetchall()]
    return who, tables, secrets


def check_principal(w, label, client, observed, expect):
    """expect: ("token", acct_key) | ("member", acct_key, member_key) | ("nobody",)"""
    who, tables, secrets = observed
    ptype, member_id, token_id, db_role, pid = who
    kind = expect[0]

    if kind == "token":
        want = ("token", None, w.token_id[expect[1]], client.role)
    elif kind == "member":
        want = ("member", w.member[expect[2]], None, client.role)
    else:
        want = ("nobody", None, None, client.role)
    T.ok((ptype, member_id, token_id, db_role) == want,
         "%s: whoami() says %s" % (label, describe(w, expect, client)),
         "got      (%s, %s, %s, %s)\nexpected (%s, %s, %s, %s)"
         % ((ptype, member_id, token_id, db_role) + want))

    if kind == "nobody":
        seen = ["%s: %d row(s) of %s" % (t, n, describe_accounts(w, a))
                for t, (n, a) in tables.items() if n]
        T.ok(not seen and not secrets,
             "%s: sees no row in any table (%s)" % (label, ", ".join(tables)),
             "a client that did not authenticate sees:\n" + "\n".join(seen))
    else:
        key = expect[1]
        acct = w.account[key]
        foreign = ["%s: rows of %s" % (t, describe_accounts(w, a - {acct}))
                   for t, (n, a) in tables.items() if a - {acct}]
        T.ok(not foreign,
             "%s: every row it sees is of %s" % (label, w.account_name[acct]),
             "rows of another account:\n" + "\n".join(foreign))
        reads = TOKEN_READS if kind == "token" else SUPER_ADMIN_READS
        wrong = []
        for t, _ in ACCOUNT_TABLES:
            n_want = (1 if t == "accounts" else w.truth[key][t]) if t in reads else 0
            if tables[t][0] != n_want:
                wrong.append("%s: %d row(s), expected %d" % (t, tables[t][0], n_want))
        T.ok(not wrong,
             "%s: sees all of %s's rows it may read, and no others" % (label, w.account_name[acct]),
             "\n".join(wrong))
        T.ok(secrets == w.truth_secrets[key],
             "%s: lists exactly %s's secrets (%s)"
             % (label, w.account_name[acct], ", ".join(n for _, n in w.truth_secrets[key])),
             "got %s\nexpected %s" % (secrets, w.truth_secrets[key]))
    POOL.check(client, pid, label)
    return pid


def describe(w, expect, client):
    if expect[0] == "token":
        return "token of %s (%s), db_role %s" % (w.account_name[w.account[expect[1]]],
                                                  w.token_id[expect[1]], client.role)
    if expect[0] == "member":
        return "member %s, db_role %s" % (expect[2], client.role)
    return "nobody, db_role %s" % client.role


def describe_accounts(w, accounts):
    return ", ".join(sorted(w.account_name.get(a, a) for a in accounts)) or "no account"


# ---------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------

def tx_token(w, client, key, label):
    """BEGIN; authenticate(token); observe; COMMIT."""
    cur = client.cursor()
    try:
        cur.execute("SELECT principal_type FROM secrets_store.authenticate(%s)", (w.token[key],))
        T.ok(cur.fetchone()[0] == "token", "%s: authenticate() returns a token principal" % label)
        check_principal(w, label, client, observe(cur), ("token", key))
        client.conn.commit()
    except psycopg2.Error as e:
        T.ok(False, "%s: transaction ran" % label, error_text(e))
        client.rollback_quietly()


def tx_session_state(w, client, key, label):
    """Under a token, state that would outlive the transaction is refused:
    a WITH HOLD cursor and a temporary table (ON COMMIT DROP is allowed)."""
    cur = client.cursor()
    try:
        cur.execute("SELECT principal_type FROM secrets_store.authenticate(%s)", (w.token[key],))
        cur.fetchone()
        cur.execute("SAVEPOINT before_hold")
        expect_error(client, "DECLARE held CURSOR WITH HOLD FOR SELECT * FROM secrets_store.secrets",
                     None, "0A000", label, "DECLARE ... CURSOR WITH HOLD")
        cur.execute("ROLLBACK TO SAVEPOINT before_hold")
        expect_error(client, "CREATE TEMP TABLE copied AS SELECT * FROM secrets_store.secrets",
                     None, "0A000", label, "CREATE TEMP TABLE ... AS (kept after commit)")
        cur.execute("ROLLBACK TO SAVEPOINT before_hold")
        cur.execute("CREATE TEMP TABLE scratch ON COMMIT DROP AS SELECT id FROM secrets_store.secrets")
        cur.execute("DECLARE plain CURSOR FOR SELECT id FROM secrets_store.secrets")
        T.ok(True, "%s: ON COMMIT DROP temporary tables and cursors without HOLD are allowed" % label)
        client.conn.commit()
    except psycopg2.Error as e:
        T.ok(False, "%s: transaction ran" % label, error_text(e))
        client.rollback_quietly()


def tx_nobody(w, client, label):
    """BEGIN; observe without authenticating; COMMIT."""
    cur = client.cursor()
    try:
        check_principal(w, label, client, observe(cur), ("nobody",))
        client.conn.commit()
    except psycopg2.Error as e:
        T.ok(False, "%s: transaction ran" % label, error_text(e))
        client.rollback_quietly()


def tx_act_as(w, client, member_key, acct_key, label):
    cur = client.cursor()
    try:
        cur.execute("SELECT principal_type FROM secrets_store.act_as(%s)", (w.member[member_key],))
        T.ok(cur.fetchone()[0] == "member", "%s: act_as() returns a member principal" % label)
        check_principal(w, label, client, observe(cur), ("member", acct_key, member_key))
        client.conn.commit()
    except psycopg2.Error as e:
        T.ok(False, "%s: transaction ran" % label, error_text(e))
        client.rollback_quietly()


def expect_error(client, sql, params, sqlstate, label, what):
    """Run a statement in the client's open transaction; it must fail."""
    cur = client.cursor()
    try:
        cur.execute(sql, params)
        cur.fetchall()
        T.ok(False, "%s: %s fails with %s" % (label, what, sqlstate), "it succeeded")
        return None
    except psycopg2.Error as e:
        T.ok(e.pgcode == sqlstate, "%s: %s fails with %s" % (label, what, sqlstate),
             error_text(e))
        return e


def tx_token_then_error(w, client, key, label):
    """BEGIN; authenticate; read; a statement fails; ROLLBACK."""
    cur = client.cursor()
    try:
        cur.execute("SELECT secrets_store.authenticate(%s)", (w.token[key],))
        cur.execute(SECRETS_SQL)
        T.ok(cur.fetchall() == w.truth_secrets[key],
             "%s: authenticated and read %s's secrets" % (label, w.account_name[w.account[key]]))
    except psycopg2.Error as e:
        T.ok(False, "%s: authenticated" % label, error_text(e))
    expect_error(client, "SELECT 1 / 0", None, "22012", label, "a later statement")
    client.conn.rollback()


def tx_double_authenticate(w, client, log, label):
    """BEGIN; authenticate(Globex); authenticate(Acme) -> refused; ROLLBACK."""
    cur = client.cursor()
    try:
        cur.execute("SELECT secrets_store.authenticate(%s)", (w.token["globex"],))
    except psycopg2.Error as e:
        T.ok(False, "%s: first authenticate()" % label, error_text(e))
    e = expect_error(client, "SELECT secrets_store.authenticate(%s)", (w.token["acme"],),
                     "25001", label, "a second authenticate() in the same transaction")
    client.conn.rollback()
    if e is not None and e.pgcode == "25001":
        log.check_no_bearer("%s: the refused bearer string is not written to the server log" % label)


def tx_bad_token(w, client, log, label):
    """BEGIN; authenticate(forged token) -> 28000; ROLLBACK."""
    forged = forge(w.token["acme"])
    SECRETS_TO_HIDE.append(forged)
    e = expect_error(client, "SELECT secrets_store.authenticate(%s)", (forged,),
                     "28000", label, "authenticate() with a forged secret")
    client.conn.rollback()
    if e is not None:
        T.ok(not any(s in str(e) for s in SECRETS_TO_HIDE),
             "%s: the error does not repeat the bearer string" % label)
    log.check_no_bearer("%s: the rejected bearer string is not written to the server log" % label)


def tx_savepoint_rollback(w, client, label):
    """BEGIN; SAVEPOINT; authenticate; ROLLBACK TO SAVEPOINT; observe -> nobody; COMMIT."""
    cur = client.cursor()
    try:
        cur.execute("SAVEPOINT s")
        cur.execute("SELECT secrets_store.authenticate(%s)", (w.token["acme"],))
        cur.execute("ROLLBACK TO SAVEPOINT s")
        check_principal(w, label + " after ROLLBACK TO SAVEPOINT", client, observe(cur), ("nobody",))
        client.conn.commit()
    except psycopg2.Error as e:
        T.ok(False, "%s: transaction ran" % label, error_text(e))
        client.rollback_quietly()


def tx_savepoint_release(w, client, key, label):
    """BEGIN; SAVEPOINT; authenticate; RELEASE; observe -> token; COMMIT."""
    cur = client.cursor()
    try:
        cur.execute("SAVEPOINT s")
        cur.execute("SELECT secrets_store.authenticate(%s)", (w.token[key],))
        cur.execute("RELEASE SAVEPOINT s")
        check_principal(w, label + " after RELEASE SAVEPOINT", client, observe(cur), ("token", key))
        client.conn.commit()
    except psycopg2.Error as e:
        T.ok(False, "%s: transaction ran" % label, error_text(e))
        client.rollback_quietly()


def tx_waiting_client(w, holder, waiter, key, label):
    """holder: BEGIN; authenticate; observe ... while waiter's transaction waits
    for the one server connection; holder COMMITs; the waiter gets the same
    backend and must see nobody."""
    cur = holder.cursor()
    result = {}

    def wait_for_backend():
        try:
            result["observed"] = observe(waiter.cursor())
        except Exception as e:  # reported by the main thread
            result["error"] = e

    try:
        cur.execute("SELECT secrets_store.authenticate(%s)", (w.token[key],))
        check_principal(w, "%s, %s holds the connection" % (label, holder.name), holder,
                        observe(cur), ("token", key))
    except psycopg2.Error as e:
        T.ok(False, "%s: %s authenticated" % (label, holder.name), error_text(e))
        holder.rollback_quietly()
        return
    thread = threading.Thread(target=wait_for_backend, daemon=True)
    thread.start()
    thread.join(1.0)
    T.ok(thread.is_alive(),
         "%s: %s waits for the one server connection while %s's transaction is open"
         % (label, waiter.name, holder.name),
         "it did not wait: the pool has more than one server connection" if "observed" in result
         else "error: %s" % error_text(result.get("error")))
    holder.conn.commit()
    thread.join(20.0)
    if thread.is_alive() or "observed" not in result:
        T.ok(False, "%s: %s got the connection after %s committed" % (label, waiter.name, holder.name),
             "still waiting" if thread.is_alive() else error_text(result.get("error")))
        waiter.rollback_quietly()
        return
    check_principal(w, "%s, %s right after %s's COMMIT" % (label, waiter.name, holder.name),
                    waiter, result["observed"], ("nobody",))
    waiter.conn.commit()


def tx_act_as_refused(w, client, label):
    expect_error(client, "SELECT secrets_store.act_as(%s)", (w.member["alice"],),
                 "42501", label, "act_as() by a role outside secrets_store_gateway")
    client.conn.rollback()


def check_server_connections(admin, label):
    """The cluster holds at most one backend for the pool users (max_db_connections = 1)."""
    cur = admin.cursor()
    rows = []
    for _ in range(30):
        cur.execute("SELECT pid, usename::text FROM pg_stat_activity "
                    "WHERE datname = %s AND usename IN (%s, %s) ORDER BY pid",
                    (DATABASE, APP_ROLE, GATEWAY_ROLE))
        rows = cur.fetchall()
        if len(rows) <= 1:
            break
        time.sleep(0.1)  # an evicted backend may take a moment to exit
    T.ok(len(rows) <= 1,
         "%s: the cluster holds at most one backend of the pool users" % label,
         "backends: %s" % rows)


# ---------------------------------------------------------------------------
# Outside a transaction block
# ---------------------------------------------------------------------------

def autocommit_checks(w, a, g1, log):
    a.conn.autocommit = True
    g1.conn.autocommit = True
    try:
        for client, func, arg, who in ((a, "authenticate", w.token["acme"], "the Acme token"),
                                       (g1, "act_as", w.member["alice"], "alice")):
            label = "autocommit, %s: %s(%s)" % (client.name, func, who)
            cur = client.cursor()
            try:
                cur.execute("SELECT secrets_store.%s(%%s)" % func, (arg,))
                T.ok(False, "%s outside a transaction block fails with 25P01" % label,
                     "it succeeded: %s" % (cur.fetchall(),))
            except psycopg2.Error as e:
                hint = (e.diag.message_hint or "") if e.diag else ""
                T.ok(e.pgcode == "25P01",
                     "%s outside a transaction block fails with 25P01" % label, error_text(e))
                T.ok("BEGIN" in hint and "COMMIT" in hint and "transaction block" in str(e),
                     "%s: the error says to wrap it in BEGIN ... COMMIT" % label,
                     "message: %s\nhint: %s" % (error_text(e), hint))
            if func == "authenticate":
                log.check_no_bearer("%s: the bearer string is not written to the server log" % label)
            check_principal(w, "autocommit, %s after the refused %s()" % (client.name, func),
                            client, observe(client.cursor()), ("nobody",))

        # several statements in one query string run in one implicit
        # transaction: whatever the server makes of authenticate() there, its
        # principal must not outlive that query string
        label = "autocommit, A: authenticate() and a SELECT in one query string"
        cur = a.cursor()
        try:
            cur.execute("SELECT secrets_store.authenticate(%s); "
                        "SELECT count(*) FROM secrets_store.secrets", (w.token["acme"],))
            T.note("%s: accepted (an implicit transaction block), saw %d secret(s)"
                   % (label, cur.fetchone()[0]))
        except psycopg2.Error as e:
            T.note("%s: refused: %s" % (label, error_text(e)))
        log.check_no_bearer("%s: the bearer string is not written to the server log" % label)
        check_principal(w, label + ", next statement", a, observe(a.cursor()), ("nobody",))
    finally:
        a.conn.autocommit = False
        g1.conn.autocommit = False


def forge(bearer):
    """The same token id with another secret and a valid checksum (so the
    server gets as far as comparing hashes), or, failing that, a broken one."""
    prefix = bearer[:5 + 32 + 1]
    secret = bearer[38:38 + 43]
    other = ("A" if secret[0] != "A" else "B") + secret[1:]
    body = prefix + other
    crc = "%08x" % crc32c(body.encode())
    if "%08x" % crc32c(bearer[:-9].encode()) != bearer[-8:]:
        return body + "_" + bearer[-8:]  # our CRC differs from the server's: malformed
    return body + "_" + crc


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------------------

def main():
    try:
        admin = admin_connect()
    except psycopg2.Error as e:
        print("Bail out! cannot connect to database %s directly: %s" % (DATABASE, error_text(e)))
        return 1
    try:
        w = setup(admin)
    except Exception as e:
        print("Bail out! set-up failed: %s" % error_text(e))
        return 1
    T.note("database %s, pgbouncer %s:%d; %s" % (DATABASE, BOUNCER_HOST, BOUNCER_PORT,
           "; ".join("%s in %s" % m for m in w.memberships)))
    log = ServerLog()
    clients = []
    try:
        try:
            a = Client("A", APP_ROLE)
            b = Client("B", APP_ROLE)
            g1 = Client("G1", GATEWAY_ROLE)
            g2 = Client("G2", GATEWAY_ROLE)
            clients = [a, b, g1, g2]
        except psycopg2.Error as e:
            print("Bail out! cannot connect through pgbouncer at %s:%d: %s"
                  % (BOUNCER_HOST, BOUNCER_PORT, error_text(e)))
            return 1

        autocommit_checks(w, a, g1, log)

        for r in range(1, ROUNDS + 1):
            p = "round %d" % r
            tx_token(w, a, "acme", "%s, A (Acme token)" % p)
            tx_token(w, b, "globex", "%s, B (Globex token)" % p)
            tx_nobody(w, a, "%s, A (no authenticate)" % p)
            tx_nobody(w, b, "%s, B (no authenticate)" % p)

            if r == 1:
                tx_session_state(w, a, "acme", "%s, A (Acme token, session state)" % p)
                tx_nobody(w, b, "%s, B after A's refused session state" % p)
                tx_token_then_error(w, a, "acme", "%s, A (Acme token, then an error)" % p)
                tx_nobody(w, b, "%s, B after A's ROLLBACK" % p)
                tx_waiting_client(w, a, b, "acme", "%s, A (Acme token) and B waiting" % p)
            elif r == 2:
                tx_double_authenticate(w, b, log, "%s, B (Globex token, then the Acme token)" % p)
                tx_nobody(w, a, "%s, A after B's ROLLBACK" % p)
                tx_savepoint_rollback(w, a, "%s, A (Acme token in a savepoint)" % p)
                tx_nobody(w, b, "%s, B after A's savepoint" % p)
                tx_waiting_client(w, b, a, "globex", "%s, B (Globex token) and A waiting" % p)
            else:
                tx_bad_token(w, a, log, "%s, A (forged token)" % p)
                tx_nobody(w, b, "%s, B after A's rejected token" % p)
                tx_savepoint_release(w, b, "globex", "%s, B (Globex token in a savepoint)" % p)
                tx_nobody(w, a, "%s, A after B's released savepoint" % p)
                tx_token_then_error(w, b, "globex", "%s, B (Globex token, then an error)" % p)
                tx_nobody(w, a, "%s, A after B's ROLLBACK" % p)

            # the gateway pool: act_as, and the other gateway client after it
            first, second = (g1, g2) if r % 2 else (g2, g1)
            tx_act_as(w, first, "alice", "acme", "%s, %s (act_as alice)" % (p, first.name))
            tx_nobody(w, second, "%s, %s (no act_as)" % (p, second.name))
            tx_act_as(w, second, "gina", "globex", "%s, %s (act_as gina)" % (p, second.name))
            tx_nobody(w, first, "%s, %s (no act_as)" % (p, first.name))
            if r == 1:
                label = "%s, %s (act_as alice, then an error)" % (p, first.name)
                cur = first.cursor()
                try:
                    cur.execute("SELECT (secrets_store.act_as(%s)).principal_type; "
                                "SELECT count(*) FROM secrets_store.secrets", (w.member["alice"],))
                    n = cur.fetchone()[0]
                    T.ok(n == len(w.truth_secrets["acme"]),
                         "%s: acted as alice and read Acme's secrets" % label,
                         "saw %d secret(s)" % n)
                except psycopg2.Error as e:
                    T.ok(False, "%s: acted as alice" % label, error_text(e))
                expect_error(first, "SELECT 1 / 0", None, "22012", label, "a later statement")
                first.conn.rollback()
                tx_nobody(w, second, "%s, %s after %s's ROLLBACK" % (p, second.name, first.name))

            # back to the application pool
            if r == 1:
                tx_act_as_refused(w, a, "%s, A (act_as without the gateway role)" % p)
                tx_nobody(w, b, "%s, B after A's refused act_as" % p)
            tx_token(w, b, "globex", "%s, B (Globex token) after the gateway pool" % p)
            tx_nobody(w, a, "%s, A (no authenticate)" % p)
            check_server_connections(admin, p)

        shared = POOL.backends.get(APP_ROLE, set())
        T.note("backends used by %s: %s; by %s: %s"
               % (APP_ROLE, sorted(shared), GATEWAY_ROLE, sorted(POOL.backends.get(GATEWAY_ROLE, set()))))
    except Exception as e:
        T.ok(False, "the test ran to its end", error_text(e))
    finally:
        for c in clients:
            try:
                c.conn.close()
            except Exception:
                pass
        cleanup(admin)
        admin.close()
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
