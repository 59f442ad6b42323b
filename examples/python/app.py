"""A request handler on SQLAlchemy: one request, one transaction, one principal.

    from app import App, Runtime, Token, ActAs, make_engine

    app = App(make_engine("postgresql+psycopg2://app_role@127.0.0.1:6432/db"))
    r = app.handle(Token(bearer), "list_secrets")
    r.status, r.body["secrets"], r.body["principal"]

Every call of ``App.handle`` is one request: it opens a session and a
transaction, establishes who is asking, runs the action with the ORM, and
commits (or rolls back on any error).  Who is asking:

* ``Token(bearer)``: ``SELECT secrets_store.authenticate(:token)`` -- an API
  token, the usual way behind a connection pool;
* ``ActAs(member_id)``: ``SELECT secrets_store.act_as(:member_id)`` -- the
  application vouches for one of its users; the engine's login role must be
  in ``secrets_store_gateway``;
* ``None``: no principal (the login role's own member, if any; else nobody).

The principal lasts until the transaction ends, so it has to be established
in every transaction: that is what makes the handler safe behind pgbouncer in
transaction mode, where consecutive transactions of one client may run on
different server connections and those of different clients on the same one.
For the same reason nothing is read after COMMIT: the session does not expire
objects on commit (``expire_on_commit=False``) and responses are built inside
the transaction (a lazy load after COMMIT would run without a principal and
find nothing).

Writes are the ORM's own INSERT, UPDATE and DELETE of the mapped tables; the
extension's row-level security and triggers apply to them exactly as to its
functions.  Only ``duplicate_secret`` calls a function
(``secrets_store.duplicate_secret``), because a value cannot be read to be
copied.

Errors become responses: the SQLSTATE decides the HTTP-like status (42501 ->
403, 28000 -> 401, P0002 -> 404, 23505 and 2BP01 -> 409, 22023 -> 400, ...)
and the body carries the server's message, detail and hint.  An UPDATE or
DELETE that row-level security lets the principal see but not change affects
no row; the ORM notices (StaleDataError, or a warning for a DELETE) and the
handler answers 403.  Statement parameters never reach an error text: the
engine is made with ``hide_parameters=True`` and the handler quotes only the
server's diagnostics -- a secret value or a bearer string given as a parameter
stays out of logs and responses.

``Runtime`` is the other side: the Worker runtime, a login role in
``secrets_store_runtime`` with no principal, reading a bound secret's value
with ``secrets_store.get_bound_secret``.
"""

import uuid
import warnings
from dataclasses import dataclass, field

import psycopg2
from sqlalchemy import bindparam, create_engine, func, select, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.exc import DBAPIError, SAWarning
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import NullPool

from models import Secret, Store, WorkerBinding

# SQLSTATE -> HTTP-like status
STATUS_BY_SQLSTATE = {
    "28000": 401,  # invalid API token
    "42501": 403,  # permission denied
    "P0002": 404,  # not found (or in another account: the same thing)
    "23505": 409,  # duplicate name or id
    "2BP01": 409,  # store not empty, secret still bound
    "22023": 400,  # invalid input: the message says what is allowed
    "22P02": 400,  # malformed input (a uuid, an enum label)
    "54000": 413,  # value over the account's limit
    "53400": 409,  # quota exhausted
    "55000": 503,  # master key unavailable
}


@dataclass(frozen=True)
class Token:
    bearer: str

    def __repr__(self):  # never the bearer string
        return "Token(<bearer>)"


@dataclass(frozen=True)
class ActAs:
    member_id: uuid.UUID


@dataclass
class Response:
    status: int
    body: dict = field(default_factory=dict)

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def error(self):
        return self.body.get("error") or {}


class NotChanged(Exception):
    """The ORM's UPDATE or DELETE matched no row."""


class NotFound(Exception):
    """No row of that id is visible to the principal."""


def make_engine(url, application_name="secrets_store ORM example (python)", **kwargs):
    """An engine for a pooler in transaction mode.

    pgbouncer is the pool (NullPool: no second pool of idle client
    connections here); psycopg2 never prepares statements, which pgbouncer
    1.18 could not keep in transaction mode anyway; hide_parameters keeps
    values and bearer strings out of exception texts and logs.
    """
    return create_engine(url, future=True, poolclass=NullPool, hide_parameters=True,
                         connect_args={"application_name": application_name}, **kwargs)


def as_uuid(value):
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def uuid_param(name, value):
    return bindparam(name, as_uuid(value), type_=UUID(as_uuid=True))


def iso(ts):
    return ts.isoformat() if ts is not None else None


def secret_dict(s):
    return {
        "id": s.id, "account_id": s.account_id, "store_id": s.store_id,
        "name": s.name, "comment": s.comment, "scopes": list(s.scopes),
        "status": s.status, "value": s.value,  # always None
        "created_at": iso(s.created_at), "modified_at": iso(s.modified_at),
        "created_by": s.created_by, "modified_by": s.modified_by,
    }


def store_dict(s):
    return {"id": s.id, "account_id": s.account_id, "name": s.name,
            "created_at": iso(s.created_at), "modified_at": iso(s.modified_at)}


def binding_dict(b):
    return {"id": b.id, "account_id": b.account_id, "script_name": b.script_name,
            "binding_name": b.binding_name, "store_id": b.store_id,
            "secret_name": b.secret_name, "created_at": iso(b.created_at),
            "created_by": b.created_by}


def error_response(exc):
    """The server's diagnostics of a failed statement, never the statement or
    its parameters."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, psycopg2.Error) and orig.pgcode:
        diag = orig.diag
        return Response(STATUS_BY_SQLSTATE.get(orig.pgcode, 500), {"error": {
            "sqlstate": orig.pgcode,
            "message": diag.message_primary,
            "detail": diag.message_detail,
            "hint": diag.message_hint,
        }})
    if isinstance(exc, (StaleDataError, NotChanged)):
        return Response(403, {"error": {
            "sqlstate": None,
            "message": "permission denied: the row is visible to this principal, "
                       "which may not change it (the statement affected no row)",
        }})
    if isinstance(exc, DBAPIError):  # no SQLSTATE: the connection failed
        return Response(503, {"error": {"sqlstate": None,
                                        "message": type(orig or exc).__name__}})
    raise exc


class App:
    def __init__(self, engine):
        self.engine = engine

    # -- the request cycle ---------------------------------------------------

    def handle(self, auth, action, **params):
        """One request: BEGIN; who is asking; the action; COMMIT."""
        handler = getattr(self, "do_" + action, None)
        if handler is None:
            return Response(400, {"error": {"message": "unknown action %r" % action}})
        try:
            with Session(self.engine, future=True, expire_on_commit=False) as session:
                with session.begin():
                    principal = self.establish(session, auth)
                    status, body = handler(session, **params)
                    body["principal"] = principal
                return Response(status, body)
        except (DBAPIError, StaleDataError, NotChanged) as e:
            return error_response(e)
        except NotFound as e:
            return Response(404, {"error": {"sqlstate": None, "message": str(e)}})

    @staticmethod
    def establish(session, auth):
        if isinstance(auth, Token):
            row = session.execute(
                text("SELECT (p).principal_type, (p).member_id, (p).token_id, (p).db_role "
                     "FROM (SELECT secrets_store.authenticate(:token) AS p) a"),
                {"token": auth.bearer}).one()
        elif isinstance(auth, ActAs):
            row = session.execute(
                text("SELECT (p).principal_type, (p).member_id, (p).token_id, (p).db_role "
                     "FROM (SELECT secrets_store.act_as(:member_id) AS p) a"),
                {"member_id": str(as_uuid(auth.member_id))}).one()
        elif auth is None:
            row = session.execute(
                text("SELECT principal_type, member_id, token_id, db_role "
                     "FROM secrets_store.whoami()")).one()
        else:
            raise TypeError("auth is a Token, an ActAs or None")
        return {"type": row[0], "member_id": row[1], "token_id": row[2], "db_role": row[3]}

    @staticmethod
    def flush_or_refuse(session):
        """Flush; an UPDATE or DELETE that matched no row means row-level
        security hid the row from that statement: refuse."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SAWarning)
            session.flush()
        for w in caught:
            if issubclass(w.category, SAWarning) and "0 were matched" in str(w.message):
                raise NotChanged(str(w.message))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    @staticmethod
    def load(session, model, object_id, what):
        obj = session.execute(select(model).where(model.id == as_uuid(object_id))).scalar_one_or_none()
        if obj is None:
            raise NotFound("%s %s not found" % (what, object_id))
        return obj

    # -- actions -------------------------------------------------------------

    def do_whoami(self, session):
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return 200, {"backend_pid": pid}

    def do_list_stores(self, session):
        stores = session.execute(select(Store).order_by(Store.name)).scalars().all()
        return 200, {"stores": [store_dict(s) for s in stores]}

    def do_list_secrets(self, session, store_id=None):
        q = select(Secret).order_by(Secret.account_id, Secret.name)
        if store_id is not None:
            q = q.where(Secret.store_id == as_uuid(store_id))
        secrets = session.execute(q).scalars().all()
        return 200, {"secrets": [secret_dict(s) for s in secrets]}

    def do_get_secret(self, session, secret_id):
        return 200, {"secret": secret_dict(self.load(session, Secret, secret_id, "secret"))}

    def do_create_secret(self, session, store_id, name, scopes, value=None, comment=None):
        store = self.load(session, Store, store_id, "store")
        secret = Secret(account_id=store.account_id, store_id=store.id, name=name,
                        scopes=list(scopes), value=value)
        if comment is not None:
            secret.comment = comment
        session.add(secret)
        session.flush()  # INSERT ... RETURNING id, status, created_by, ...
        return 201, {"secret": secret_dict(secret)}

    def do_edit_secret(self, session, secret_id, comment=None, value=None, scopes=None):
        secret = self.load(session, Secret, secret_id, "secret")
        if comment is not None:
            secret.comment = comment
        if value is not None:
            secret.value = value
        if scopes is not None:
            secret.scopes = list(scopes)
        self.flush_or_refuse(session)  # UPDATE ... RETURNING status, modified_at, ...
        return 200, {"secret": secret_dict(secret)}

    def do_duplicate_secret(self, session, secret_id, name):
        # the value is copied inside the server, sealed anew for the copy
        new_id = session.execute(select(func.secrets_store.duplicate_secret(
            uuid_param("secret_id", secret_id), bindparam("name", name)))).scalar_one()
        return 201, {"secret": secret_dict(self.load(session, Secret, new_id, "secret"))}

    def do_delete_secret(self, session, secret_id, force=False):
        secret = self.load(session, Secret, secret_id, "secret")
        if force:  # a secret still bound to a Worker is deleted only on purpose
            session.execute(text("SET LOCAL secrets_store.force_delete = on"))
        session.delete(secret)
        self.flush_or_refuse(session)
        return 200, {"deleted": secret.id}

    def do_list_bindings(self, session):
        bindings = session.execute(select(WorkerBinding).order_by(
            WorkerBinding.script_name, WorkerBinding.binding_name)).scalars().all()
        return 200, {"bindings": [binding_dict(b) for b in bindings]}

    def do_bind_worker(self, session, store_id, script_name, binding_name, secret_name):
        store = self.load(session, Store, store_id, "store")
        binding = WorkerBinding(account_id=store.account_id, store_id=store.id,
                                script_name=script_name, binding_name=binding_name,
                                secret_name=secret_name)
        session.add(binding)
        session.flush()
        return 201, {"binding": binding_dict(binding)}

    def do_unbind_worker(self, session, binding_id):
        binding = self.load(session, WorkerBinding, binding_id, "binding")
        session.delete(binding)
        self.flush_or_refuse(session)
        return 200, {"deleted": binding.id}


class Runtime:
    """The Worker runtime: a login role in secrets_store_runtime, no principal."""

    def __init__(self, engine):
        self.engine = engine

    def get_bound_secret(self, account_id, script_name, binding_name):
        try:
            with self.engine.connect() as conn, conn.begin():
                value = conn.execute(
                    text("SELECT secrets_store.get_bound_secret(:account_id, :script, :binding)"),
                    {"account_id": str(as_uuid(account_id)), "script": script_name,
                     "binding": binding_name}).scalar_one()
            return Response(200, {"value": value})
        except DBAPIError as e:
            return error_response(e)
