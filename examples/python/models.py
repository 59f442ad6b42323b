"""Declarative SQLAlchemy models of secrets_store's tables.

Written for SQLAlchemy 1.4 (Debian 12's python3-sqlalchemy) in the 2.0 style
(``future=True``); the ``Column`` declarations work unchanged on 2.0.

What the extension decides, the models only read back:

* ``id``, ``created_at``, ``modified_at`` are filled in by the server (the
  id by the extension's claim_id trigger since 1.1, by a column default in
  1.0): leave them unset and the INSERT's RETURNING brings them back
  (``eager_defaults``).  A client may send its own id; one already used in
  any account is refused (23505).
* ``status``, ``created_by``, ``modified_by`` are set by the extension's
  triggers on every INSERT and UPDATE; the mapper fetches them after each
  flush.  ``status`` is ``pending`` until the secret has a value, then
  ``active``.
* ``value`` is write-only: it accepts text, which the column's type
  (``secrets_store.secret_value``) seals as soon as the server parses it, and
  it always reads NULL.  After a flush the mapper forgets what was written
  (see ``_forget_written_value``), so the plaintext does not linger in the
  session's identity map.
* ``name``, ``account_id`` and ``store_id`` never change (22023).

Every table's primary key is ``(account_id, id)``; ids are unique across
accounts too, so ``select(Secret).where(Secret.id == ...)`` finds one row.
"""

from sqlalchemy import Column, ForeignKeyConstraint, Text, event
from sqlalchemy.dialects.postgresql import ARRAY, ENUM, TIMESTAMP, UUID
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.schema import FetchedValue
from sqlalchemy.types import UserDefinedType

SCHEMA = "secrets_store"

Base = declarative_base()

# the enum secrets_store.scope; the type exists (the extension made it)
Scope = ENUM("workers", "ai_gateway", name="scope", schema=SCHEMA, create_type=False)


class SecretValue(UserDefinedType):
    """secrets_store.secret_value: text in, NULL out.

    A bound str reaches the server as a string of unknown type, which the
    type's input function seals on the spot; reading the column yields what
    the server returns, which is always NULL.
    """

    cache_ok = True

    def get_col_spec(self, **kw):
        return "secrets_store.secret_value"

    def bind_processor(self, dialect):
        def process(value):
            if value is not None and not isinstance(value, str):
                raise TypeError("a secret value is text")
            return value

        return process

    def result_processor(self, dialect, coltype):
        return None  # whatever the server says (NULL): no client-side invention


def server_set():
    """A column the extension sets on INSERT and UPDATE: fetch it after both."""
    return dict(server_default=FetchedValue(), server_onupdate=FetchedValue())


class Store(Base):
    __tablename__ = "stores"
    __table_args__ = {"schema": SCHEMA}
    __mapper_args__ = {"eager_defaults": True}

    account_id = Column(UUID(as_uuid=True), primary_key=True)
    id = Column(UUID(as_uuid=True), primary_key=True, server_default=FetchedValue())
    name = Column(Text, nullable=False)
    created_at = Column(TIMESTAMP(timezone=True), **server_set())
    modified_at = Column(TIMESTAMP(timezone=True), **server_set())

    secrets = relationship("Secret", back_populates="store", viewonly=True)

    def __repr__(self):
        return "<Store %s %r>" % (self.id, self.name)


class Secret(Base):
    __tablename__ = "secrets"
    __table_args__ = (
        ForeignKeyConstraint(["account_id", "store_id"],
                             ["secrets_store.stores.account_id", "secrets_store.stores.id"]),
        {"schema": SCHEMA},
    )
    __mapper_args__ = {"eager_defaults": True}

    account_id = Column(UUID(as_uuid=True), primary_key=True)
    id = Column(UUID(as_uuid=True), primary_key=True, server_default=FetchedValue())
    store_id = Column(UUID(as_uuid=True), nullable=False)
    name = Column(Text, nullable=False)
    comment = Column(Text, nullable=False, server_default=FetchedValue())
    scopes = Column(ARRAY(Scope), nullable=False)
    status = Column(Text, nullable=False, **server_set())
    value = Column(SecretValue())  # write-only: reads NULL
    created_at = Column(TIMESTAMP(timezone=True), **server_set())
    modified_at = Column(TIMESTAMP(timezone=True), **server_set())
    created_by = Column(UUID(as_uuid=True), **server_set())
    modified_by = Column(UUID(as_uuid=True), **server_set())

    store = relationship("Store", back_populates="secrets", viewonly=True)

    def __repr__(self):  # never the value
        return "<Secret %s %r %s>" % (self.id, self.name, self.status)


class WorkerBinding(Base):
    __tablename__ = "worker_bindings"
    __table_args__ = {"schema": SCHEMA}
    __mapper_args__ = {"eager_defaults": True}

    account_id = Column(UUID(as_uuid=True), primary_key=True)
    id = Column(UUID(as_uuid=True), primary_key=True, server_default=FetchedValue())
    script_name = Column(Text, nullable=False)
    binding_name = Column(Text, nullable=False)
    store_id = Column(UUID(as_uuid=True), nullable=False)
    secret_name = Column(Text, nullable=False)
    created_at = Column(TIMESTAMP(timezone=True), **server_set())
    created_by = Column(UUID(as_uuid=True), **server_set())

    def __repr__(self):
        return "<WorkerBinding %s %s.%s -> %s>" % (self.id, self.script_name,
                                                  self.binding_name, self.secret_name)


@event.listens_for(Secret, "after_insert")
@event.listens_for(Secret, "after_update")
def _forget_written_value(mapper, connection, target):
    """The row now holds NULL in value (the extension sealed the text and
    cleared the column): make the object say so, and drop the plaintext the
    session would otherwise keep as the attribute's committed state."""
    set_committed_value(target, "value", None)
