#!/usr/bin/python3
"""The SQLAlchemy example's scenario, as a test.  Output is TAP.

    /usr/bin/python3 examples/python/test_app.py [DATABASE]

Normally run by test/orm/run.sh, which creates what this needs and starts
pgbouncer (transaction pooling, one server connection).  It needs:

* DATABASE (default secrets_store_test) with secrets_store installed and
  test/fixtures/people.sql loaded (Acme, Globex, ss_alice, ...);
* requests go through the pooler at $SS_ORM_HOST:$SS_ORM_PORT (default
  127.0.0.1:$PGBOUNCER_PORT, default 64330), as these login roles:
  $SS_ORM_APP_ROLE (ss_orm_app; secrets_store_user, linked to no member),
  $SS_ORM_GATEWAY_ROLE (ss_orm_gw; also secrets_store_gateway),
  $SS_ORM_RUNTIME_ROLE (ss_orm_runtime; secrets_store_runtime);
* three API tokens, as bearer strings in the environment:
  $SS_ORM_EDIT_TOKEN (Acme, secrets_store_edit), $SS_ORM_READ_TOKEN (Acme,
  secrets_store_read), $SS_ORM_GLOBEX_TOKEN (Globex, secrets_store_read);
* a direct superuser connection (libpq's PGHOST, PGPORT, PGUSER) to check
  outcomes below row-level security: what each account truly holds, the
  sealed value's row, the audit trail -- and to remove leftovers of an
  interrupted run (secrets named PY_ORM_*, bindings of Worker py-orm-example).

No bearer string or secret value is ever printed: values are compared by
SHA-256 inside the test, and every line is scrubbed of them anyway.
"""

import hashlib
import os
import re
import secrets as random_secrets
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import psycopg2
    import sqlalchemy
except ImportError as e:
    print("1..0 # SKIP %s: run with /usr/bin/python3 and install python3-sqlalchemy "
          "python3-psycopg2" % e)
    sys.exit(1)

from app import ActAs, App, Runtime, Token, make_engine  # noqa: E402

DATABASE = sys.argv[1] if len(sys.argv) > 1 else "secrets_store_test"
HOST = os.environ.get("SS_ORM_HOST", "127.0.0.1")
PORT = int(os.environ.get("SS_ORM_PORT", os.environ.get("PGBOUNCER_PORT", "64330")))
APP_ROLE = os.environ.get("SS_ORM_APP_ROLE", "ss_orm_app")
GATEWAY_ROLE = os.environ.get("SS_ORM_GATEWAY_ROLE", "ss_orm_gw")
RUNTIME_ROLE = os.environ.get("SS_ORM_RUNTIME_ROLE", "ss_orm_runtime")

PREFIX = "PY_ORM_"
SCRIPT = "py-orm-example"
MAIN, PENDING, COPY, REFUSED = (PREFIX + n for n in ("MAIN", "PENDING", "COPY", "REFUSED"))
BINDING_MAIN, BINDING_COPY = "PY_ORM_SECRET", "PY_ORM_COPY"

BEARER_PATTERN = re.compile(r"sstk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}_[0-9a-f]{8}")
BEARERS = []  # the bearer strings and
VALUES = []  # the secret values of this run
HIDDEN = []  # both


def scrub(text):
    text = str(text)
    for s in HIDDEN:
        text = text.replace(s, "<hidden>")
    return BEARER_PATTERN.sub("<bearer string>", text)


def digest(value):
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = []

    def ok(self, passed, description, diag=None):
        self.count += 1
        print("%s %d - %s" % ("ok" if passed else "not ok", self.count, scrub(description)),
              flush=True)
        if not passed:
            self.failed.append(self.count)
            if diag is not None:
                for line in scrub(diag).splitlines():
                    print("#   " + line, flush=True)
        return passed

    def skip(self, description, reason):
        self.count += 1
        print("ok %d - %s # SKIP %s" % (self.count, scrub(description), scrub(reason)), flush=True)

    def note(self, text):
        for line in scrub(text).splitlines():
            print("# " + line, flush=True)

    def finish(self):
        print("1..%d" % self.count, flush=True)
        if self.failed:
            print("# failed %d of %d: %s" % (len(self.failed), self.count,
                                            ", ".join(map(str, self.failed))), flush=True)
        return 0 if self.count and not self.failed else 1


T = Tap()


def bail(message):
    print("Bail out! " + scrub(message), flush=True)
    sys.exit(1)


def token_id_of(bearer):
    """The token id is part of the bearer string: sstk_ + 32 hex + ..."""
    return uuid.UUID(bearer[5:37])


class Admin:
    """Direct superuser connection: the truth below row-level security."""

    def __init__(self):
        self.conn = psycopg2.connect(dbname=DATABASE, connect_timeout=10,
                                     application_name="orm example test (python) admin")
        self.conn.autocommit = True

    def all(self, sql, *args):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()

    def one(self, sql, *args):
        rows = self.all(sql, *args)
        return rows[0] if rows else None

    def value(self, sql, *args):
        row = self.one(sql, *args)
        return row[0] if row else None

    def cleanup(self):
        """Leftovers of an interrupted run: bindings first (a bound secret is
        not deleted without force)."""
        with self.conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("DELETE FROM secrets_store.worker_bindings WHERE script_name = %s", (SCRIPT,))
            cur.execute("SET LOCAL secrets_store.force_delete = on")
            cur.execute("DELETE FROM secrets_store.secrets WHERE name LIKE %s", (PREFIX + "%",))
            cur.execute("COMMIT")

    def audit(self, secret_id, action):
        """Audit events of one secret and one action, oldest first."""
        return self.all("SELECT actor_type, actor_member_id, actor_token_id, actor_db_role, details "
                        "FROM secrets_store.audit_events "
                        "WHERE resource_type = 'secret' AND resource_id = %s AND action = %s "
                        "ORDER BY id", str(secret_id), action)

    def secret(self, secret_id):
        return self.one("SELECT name, comment, status, value IS NULL, "
                        "(SELECT count(*) FROM secrets_store.secret_values v "
                        " WHERE v.account_id = s.account_id AND v.secret_id = s.id) "
                        "FROM secrets_store.secrets s WHERE id = %s", str(secret_id))

    def sealed_rows(self, secret_id):
        return self.value("SELECT count(*) FROM secrets_store.secret_values WHERE secret_id = %s",
                          str(secret_id))


def describe(response):
    return "status %s, body %s" % (response.status, response.body)


def expect_status(response, status, description):
    return T.ok(response.status == status, description, describe(response))


def expect_error(response, status, sqlstate, description):
    passed = response.status == status and response.error.get("sqlstate") == sqlstate
    return T.ok(passed, description, describe(response))


def server_log():
    path = os.environ.get("SS_SERVER_LOG")
    if not path:
        host = os.environ.get("PGHOST", "")
        path = os.path.join(host, "server.log") if host.startswith("/") else ""
    return path if path and os.path.isfile(path) and os.access(path, os.R_OK) else None


def main():
    tokens = {k: os.environ.get("SS_ORM_%s_TOKEN" % k.upper()) for k in ("edit", "read", "globex")}
    missing = [k for k, v in tokens.items() if not v]
    if missing:
        bail("$SS_ORM_{EDIT,READ,GLOBEX}_TOKEN missing (%s): run test/orm/run.sh" % ", ".join(missing))
    BEARERS.extend(tokens.values())
    HIDDEN.extend(BEARERS)
    edit, read, globex = (Token(tokens[k]) for k in ("edit", "read", "globex"))
    edit_id, read_id, globex_id = (token_id_of(tokens[k]) for k in ("edit", "read", "globex"))

    # the values this run writes; never printed, compared by digest
    v1 = "py-orm-v1-" + random_secrets.token_urlsafe(24)
    v2 = "py-orm-v2-" + random_secrets.token_urlsafe(24)
    v_pending = "py-orm-v3-" + random_secrets.token_urlsafe(24)
    v_refused = "py-orm-v4-" + random_secrets.token_urlsafe(24)
    VALUES.extend([v1, v2, v_pending, v_refused])
    HIDDEN.extend(VALUES)

    try:
        admin = Admin()
    except psycopg2.Error as e:
        bail("no direct superuser connection to %s: %s" % (DATABASE, e))
    if not admin.value("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
        bail("the direct connection (PGUSER) must be a superuser")
    if admin.value("SELECT to_regclass('ss_test.ids') IS NOT NULL") is not True:
        bail("test/fixtures/people.sql is not loaded in %s" % DATABASE)
    ids = dict((k, uuid.UUID(v)) for k, v in admin.all("SELECT name, id::text FROM ss_test.ids"))
    acme, globex_acct, acme_store = ids["acme"], ids["globex"], ids["acme.store"]
    alice = ids["ss_alice"]
    log_path = server_log()
    log_offset = os.path.getsize(log_path) if log_path else 0
    admin.cleanup()

    def url(role):
        return "postgresql+psycopg2://%s@%s:%d/%s" % (role, HOST, PORT, DATABASE)

    app = App(make_engine(url(APP_ROLE)))
    gateway = App(make_engine(url(GATEWAY_ROLE)))
    runtime = Runtime(make_engine(url(RUNTIME_ROLE)))
    T.note("SQLAlchemy %s, psycopg2 %s; database %s through %s:%d as %s, %s, %s"
           % (sqlalchemy.__version__, psycopg2.__version__.split()[0], DATABASE, HOST, PORT,
              APP_ROLE, GATEWAY_ROLE, RUNTIME_ROLE))

    ctx = Context(edit=edit, read=read, globex=globex, edit_id=edit_id, read_id=read_id,
                  globex_id=globex_id, acme=acme, globex_acct=globex_acct, acme_store=acme_store,
                  alice=alice, v1=v1, v2=v2, v_pending=v_pending, v_refused=v_refused)
    try:
        scenario(admin, app, gateway, runtime, ctx)
    except Exception as e:  # report, then the cleanup
        T.ok(False, "the scenario ran to its end", "%s: %s" % (type(e).__name__, e))
    finally:
        try:
            admin.cleanup()
        except psycopg2.Error as e:
            T.note("cleanup failed: %s" % e)

    if log_path:
        with open(log_path, "rb") as f:
            f.seek(log_offset)
            lines = f.read().decode("utf-8", "replace").splitlines()
        for what, hidden in (("secret value", VALUES), ("bearer string", BEARERS)):
            leaked = [line for line in lines if any(h in line for h in hidden)]
            T.ok(not leaked, "the server log holds no %s of this run" % what,
                 "%d line(s) do" % len(leaked))
    else:
        for what in ("secret value", "bearer string"):
            T.skip("the server log holds no %s of this run" % what,
                   "server log not readable (set SS_SERVER_LOG)")
    admin.conn.close()
    return T.finish()


class Context:
    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):  # it holds bearer strings and values
        return "<Context>"


def scenario(admin, app, gateway, runtime, c):
    edit, read, globex = c.edit, c.read, c.globex
    edit_id, read_id, globex_id = c.edit_id, c.read_id, c.globex_id
    acme, globex_acct, acme_store, alice = c.acme, c.globex_acct, c.acme_store, c.alice
    v1, v2, v_pending, v_refused = c.v1, c.v2, c.v_pending, c.v_refused

    # -- who is asking -------------------------------------------------------
    for label, token, token_id in (("edit", edit, edit_id), ("read", read, read_id),
                                   ("Globex", globex, globex_id)):
        r = app.handle(token, "whoami")
        T.ok(r.ok and r.body["principal"] == {"type": "token", "member_id": None,
                                              "token_id": token_id, "db_role": APP_ROLE},
             "authenticate(%s token): whoami() is that token, as %s" % (label, APP_ROLE),
             describe(r))

    # -- list: rows of the token's account only ------------------------------
    truth = {acct: sorted(n for (n,) in admin.all(
        "SELECT name FROM secrets_store.secrets WHERE account_id = %s", str(acct)))
        for acct in (acme, globex_acct)}
    truth_stores = sorted(n for (n,) in admin.all(
        "SELECT name FROM secrets_store.stores WHERE account_id = %s", str(acme)))

    r = app.handle(read, "list_secrets")
    rows = r.body.get("secrets", [])
    T.ok(r.ok and rows and all(s["account_id"] == acme for s in rows),
         "read token lists secrets: every row is Acme's (%d rows)" % len(rows), describe(r))
    T.ok(sorted(s["name"] for s in rows) == truth[acme],
         "read token lists secrets: all of Acme's, as the superuser counts them",
         "listed %s\nActually in Acme: %s" % (sorted(s["name"] for s in rows), truth[acme]))
    T.ok(rows and all(s["value"] is None for s in rows),
         "read token lists secrets: every value reads NULL", describe(r))
    r = app.handle(read, "list_stores")
    T.ok(r.ok and sorted(s["name"] for s in r.body["stores"]) == truth_stores
         and all(s["account_id"] == acme for s in r.body["stores"]),
         "read token lists stores: Acme's, all of them", describe(r))
    r = app.handle(globex, "list_secrets")
    rows = r.body.get("secrets", [])
    T.ok(r.ok and all(s["account_id"] == globex_acct for s in rows)
         and sorted(s["name"] for s in rows) == truth[globex_acct],
         "Globex token lists secrets: Globex's, all of them, no Acme row", describe(r))
    r = app.handle(None, "list_secrets")
    T.ok(r.ok and r.body["secrets"] == [] and r.body["principal"]["type"] == "nobody",
         "no authenticate(): principal nobody, no secret visible", describe(r))

    # -- create: ORM INSERT with a value -------------------------------------
    r = app.handle(edit, "create_secret", store_id=acme_store, name=MAIN, scopes=["workers"],
                   value=v1, comment="created through SQLAlchemy")
    created = r.body.get("secret") or {}
    if not expect_status(r, 201, "edit token creates %s by ORM INSERT with a value" % MAIN):
        raise RuntimeError("cannot go on without the secret")
    main_id = created["id"]
    T.ok(isinstance(main_id, uuid.UUID) and created["account_id"] == acme,
         "the id was drawn by the server (RETURNING), in Acme", describe(r))
    T.ok(created["status"] == "active", "the new secret is active (it has a value)", describe(r))
    T.ok(created["value"] is None, "the flushed object's value is None: nothing kept client-side",
         describe(r))
    T.ok(created["created_by"] is None and created["modified_by"] is None,
         "created_by and modified_by are NULL: a token, not a member, asked", describe(r))
    row = admin.secret(main_id)
    T.ok(row is not None and row[2] == "active" and row[3] is True and row[4] == 1,
         "in the table: active, value column NULL, one sealed value in secret_values",
         "admin sees %s" % (row,))
    events = admin.audit(main_id, "create")
    T.ok(len(events) == 1 and events[0][0] == "token" and events[0][2] == str(edit_id)
         and events[0][4].get("value_modified") is True,
         "audit: one create event by the edit token, value_modified", "events %s" % events)
    r = app.handle(read, "get_secret", secret_id=main_id)
    s = r.body.get("secret") or {}
    T.ok(r.ok and s.get("status") == "active" and s.get("value") is None
         and s.get("scopes") == ["workers"] and s.get("comment") == "created through SQLAlchemy",
         "read token, next request: active, scopes {workers}, comment kept, value NULL",
         describe(r))

    r = app.handle(edit, "create_secret", store_id=acme_store, name=PENDING,
                   scopes=["workers", "ai_gateway"])
    pending = r.body.get("secret") or {}
    T.ok(r.status == 201 and pending.get("status") == "pending"
         and pending.get("scopes") == ["workers", "ai_gateway"],
         "a secret created without a value is pending; scopes {workers,ai_gateway}", describe(r))
    pending_id = pending.get("id")

    # -- refused -------------------------------------------------------------
    r = app.handle(read, "create_secret", store_id=acme_store, name=REFUSED, scopes=["workers"],
                   value=v_refused)
    err = r.error
    expect_error(r, 403, "42501", "read token's ORM INSERT is refused: 403, SQLSTATE 42501")
    T.note("refused: %s" % err.get("message"))
    T.note("detail:  %s" % err.get("detail"))
    T.note("hint:    %s" % err.get("hint"))
    T.ok('may not perform "secret.create"' in (err.get("message") or "")
         and "secrets_store_edit" in (err.get("hint") or ""),
         "the message names the action, the hint who may perform it", describe(r))
    T.ok(v_refused not in repr(r.body) and digest(v_refused) not in repr(r.body),
         "the refusal carries no trace of the value", "the value is in the response")
    T.ok(admin.value("SELECT count(*) FROM secrets_store.secrets WHERE name = %s", REFUSED) == 0,
         "nothing was created", None)

    r = app.handle(read, "edit_secret", secret_id=main_id, comment="read token was here")
    T.ok(r.status == 403 and r.error.get("sqlstate") is None,
         "read token's ORM UPDATE affects no row: StaleDataError, answered 403", describe(r))
    r = app.handle(globex, "edit_secret", secret_id=main_id, comment="globex was here")
    expect_status(r, 404, "Globex token cannot see Acme's secret to edit it: 404")
    T.ok(admin.secret(main_id)[1] == "created through SQLAlchemy",
         "the comment is unchanged", "admin sees %s" % (admin.secret(main_id),))

    # -- edit: ORM UPDATE of comment and value -------------------------------
    r = app.handle(edit, "edit_secret", secret_id=main_id, comment="rotated", value=v2)
    s = r.body.get("secret") or {}
    T.ok(r.ok and s.get("comment") == "rotated" and s.get("status") == "active"
         and s.get("value") is None and (s.get("modified_at") or "") > created["modified_at"],
         "edit token's ORM UPDATE of comment and value: active, modified_at moved, value None",
         describe(r))
    events = admin.audit(main_id, "update")
    T.ok(len(events) == 1 and events[0][2] == str(edit_id)
         and events[0][4].get("comment") == {"old": "created through SQLAlchemy", "new": "rotated"}
         and events[0][4].get("value_modified") is True,
         "audit: the update names the comment's old and new text and value_modified",
         "events %s" % events)
    r = app.handle(edit, "edit_secret", secret_id=pending_id, value=v_pending)
    T.ok(r.ok and (r.body.get("secret") or {}).get("status") == "active",
         "ORM UPDATE of a pending secret's value makes it active", describe(r))

    # -- bind (act_as a member) and read as the runtime ----------------------
    r = gateway.handle(ActAs(alice), "bind_worker", store_id=acme_store, script_name=SCRIPT,
                       binding_name=BINDING_MAIN, secret_name=MAIN)
    b = r.body.get("binding") or {}
    T.ok(r.status == 201 and r.body["principal"]["type"] == "member"
         and r.body["principal"]["member_id"] == alice and b.get("created_by") == alice,
         "%s act_as(alice): ORM INSERT of a Worker binding, created_by alice" % GATEWAY_ROLE,
         describe(r))
    binding_main = b.get("id")
    r = runtime.get_bound_secret(acme, SCRIPT, BINDING_MAIN)
    got = digest(r.body.get("value"))
    T.ok(r.ok and got == digest(v2),
         "runtime role: get_bound_secret returns the value written by the ORM UPDATE",
         "status %s; %s" % (r.status, "the value differs" if r.ok else r.body))
    T.ok(got != digest(v1), "... not the one the INSERT wrote", None)
    events = admin.audit(main_id, "access")
    T.ok(len(events) == 1 and events[0][0] == "runtime" and events[0][3] == RUNTIME_ROLE,
         "audit: one access event by the runtime role", "events %s" % events)

    # -- duplicate -----------------------------------------------------------
    r = app.handle(edit, "duplicate_secret", secret_id=main_id, name=COPY)
    s = r.body.get("secret") or {}
    copy_id = s.get("id")
    T.ok(r.status == 201 and copy_id != main_id and s.get("status") == "active"
         and s.get("scopes") == ["workers"] and s.get("comment") == "rotated",
         "edit token duplicates it (secrets_store.duplicate_secret): active, same scopes and comment",
         describe(r))
    r = gateway.handle(ActAs(alice), "bind_worker", store_id=acme_store, script_name=SCRIPT,
                       binding_name=BINDING_COPY, secret_name=COPY)
    expect_status(r, 201, "act_as(alice) binds the copy")
    binding_copy = (r.body.get("binding") or {}).get("id")
    r = runtime.get_bound_secret(acme, SCRIPT, BINDING_COPY)
    T.ok(r.ok and digest(r.body.get("value")) == digest(v2),
         "runtime role reads the copy: the same value, sealed anew",
         "status %s; %s" % (r.status, "the value differs" if r.ok else r.body))

    r = app.handle(ActAs(alice), "whoami")
    expect_error(r, 403, "42501", "act_as() from %s (not in secrets_store_gateway): 403, 42501"
                 % APP_ROLE)

    # -- delete: ORM DELETE --------------------------------------------------
    r = app.handle(edit, "delete_secret", secret_id=main_id)
    expect_error(r, 409, "2BP01", "ORM DELETE of a bound secret: 409, SQLSTATE 2BP01")
    T.ok("force" in (r.error.get("hint") or ""), "the hint says how to force it", describe(r))
    r = app.handle(read, "delete_secret", secret_id=pending_id)
    T.ok(r.status == 403, "read token's ORM DELETE affects no row: answered 403", describe(r))
    T.ok(admin.secret(main_id) is not None and admin.secret(pending_id) is not None,
         "both secrets are still there", None)

    r = app.handle(edit, "delete_secret", secret_id=copy_id, force=True)
    expect_status(r, 200, "ORM DELETE of the bound copy with SET LOCAL secrets_store.force_delete")
    T.ok(admin.secret(copy_id) is None and admin.sealed_rows(copy_id) == 0,
         "the copy and its sealed value are gone", None)
    r = runtime.get_bound_secret(acme, SCRIPT, BINDING_COPY)
    expect_error(r, 404, "P0002", "its binding now gives the runtime P0002 secret not found")

    for binding_id in (binding_main, binding_copy):
        r = gateway.handle(ActAs(alice), "unbind_worker", binding_id=binding_id)
        expect_status(r, 200, "act_as(alice): ORM DELETE of a Worker binding")
    for secret_id, name in ((main_id, MAIN), (pending_id, PENDING)):
        r = app.handle(edit, "delete_secret", secret_id=secret_id)
        expect_status(r, 200, "edit token: ORM DELETE of %s" % name)
    T.ok(admin.secret(main_id) is None and admin.sealed_rows(main_id) == 0
         and admin.secret(pending_id) is None,
         "both are gone, with their sealed values", None)
    events = admin.audit(main_id, "delete")
    T.ok(len(events) == 1 and events[0][0] == "token" and events[0][2] == str(edit_id),
         "audit: one delete event by the edit token", "events %s" % events)

    # -- the pool: one backend, no principal left behind ---------------------
    first = app.handle(edit, "whoami")
    second = app.handle(None, "whoami")
    T.ok(first.ok and second.ok and first.body["backend_pid"] == second.body["backend_pid"],
         "two requests on two client connections ran on one server backend (pgbouncer)",
         "backends %s, %s" % (first.body.get("backend_pid"), second.body.get("backend_pid")))
    T.ok(second.body["principal"]["type"] == "nobody",
         "the request after the token's sees principal nobody on that backend", describe(second))


if __name__ == "__main__":
    sys.exit(main())
