'use strict';
// A request handler on Knex and node-postgres: one request, one transaction,
// one principal.
//
//   const { App, Runtime, token, actAs, makeDb } = require('./app');
//   const app = new App(makeDb({ host, port, user: 'app_role', database }));
//   await app.init();
//   const r = await app.handle(token(bearer), 'list_secrets');
//   r.status, r.body.secrets, r.body.principal
//
// Every call of App#handle is one request: a Knex transaction in which the
// principal is established, the action runs, and COMMIT (or ROLLBACK on any
// error) ends both.  Who is asking:
//  - token(bearer):    SELECT secrets_store.authenticate($1) -- an API token,
//                      the usual way behind a connection pool;
//  - actAs(memberId):  SELECT secrets_store.act_as($1) -- the application
//                      vouches for one of its users; the login role must be
//                      in secrets_store_gateway;
//  - null:             no principal (the login role's own member, if any).
// The principal lasts until the transaction ends, so it is established in
// every transaction: that is what makes this safe behind pgbouncer in
// transaction mode, where one server connection serves many clients.
//
// Writes are Knex's own INSERT, UPDATE and DELETE of the tables (models.js);
// row-level security and the extension's triggers apply to them exactly as
// to its functions.  Only duplicate_secret calls a function, because a value
// cannot be read to be copied.
//
// pgbouncer 1.18 in transaction mode keeps no named prepared statements:
// node-postgres prepares a named statement only when a query has a `name`,
// and Knex never names them, so every query here is an unnamed statement
// (Parse/Bind/Execute in one round trip) and values and bearer strings travel
// as bind parameters.
//
// Errors become responses: the SQLSTATE decides the HTTP-like status and the
// body carries the server's message, detail and hint.  Knex by default
// writes the statement WITH ITS BINDINGS INTERPOLATED into an error's message
// -- a secret value or a bearer string among them; makeDb turns that off
// (compileSqlOnError: false) and the handler quotes only the server's own
// message.  An UPDATE or DELETE that row-level security lets the principal
// see but not change affects no row: the handler answers 403.

const knex = require('knex');
const pg = require('pg');
const { Store, Secret, WorkerBinding } = require('./models');

const STATUS_BY_SQLSTATE = {
  28000: 401, // invalid API token
  42501: 403, // permission denied
  P0002: 404, // not found (or in another account: the same thing)
  23505: 409, // duplicate name or id
  '2BP01': 409, // store not empty, secret still bound
  22023: 400, // invalid input: the message says what is allowed
  '22P02': 400, // malformed input (a uuid, an enum label)
  54000: 413, // value over the account's limit
  53400: 409, // quota exhausted
  55000: 503, // master key unavailable
};

const TEXT_ARRAY_OID = 1009;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// the bearer string is not enumerable: console.log and JSON.stringify leave it out
const token = (bearer) => Object.defineProperty({ kind: 'token' }, 'bearer', { value: bearer });
const actAs = (memberId) => ({ kind: 'act_as', memberId });

function makeDb({ host, port, user, database, applicationName }) {
  // secrets_store.scope[] has no parser in node-postgres (its OID differs per
  // database): App#init looks it up; until then arrays of it stay text
  const custom = new Map();
  const types = {
    getTypeParser(oid, format) {
      return custom.get(oid) || pg.types.getTypeParser(oid, format);
    },
  };
  const db = knex({
    client: 'pg',
    connection: {
      host, port, user, database, types,
      application_name: applicationName || 'secrets_store ORM example (node)',
    },
    // pgbouncer is the pool; keep few idle client connections
    pool: { min: 0, max: 2 },
    // never interpolate bindings (values, bearer strings) into error messages
    compileSqlOnError: false,
  });
  // Knex prefixes the server's message with the statement; keep the server's
  db.on('query-error', (err, query) => {
    if (err && typeof err.message === 'string' && query && query.sql
        && err.message.startsWith(`${query.sql} - `)) {
      err.serverMessage = err.message.slice(query.sql.length + 3);
    }
  });
  db.customTypes = custom;
  return db;
}

async function registerTypes(db) {
  const { rows } = await db.raw("SELECT to_regtype('secrets_store.scope[]')::oid AS oid");
  if (rows[0] && rows[0].oid) {
    db.customTypes.set(Number(rows[0].oid), pg.types.getTypeParser(TEXT_ARRAY_OID));
  }
}

function errorResponse(e) {
  if (e && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity) {
    return {
      status: STATUS_BY_SQLSTATE[e.code] || 500,
      body: {
        error: {
          sqlstate: e.code,
          message: e.serverMessage || e.message,
          detail: e.detail || null,
          hint: e.hint || null,
        },
      },
    };
  }
  if (e instanceof HttpError) {
    return { status: e.status, body: { error: { sqlstate: null, message: e.message } } };
  }
  if (e instanceof TypeError) {
    return { status: 400, body: { error: { sqlstate: null, message: e.message } } };
  }
  // a connection failure or the like: its name, not its text
  return { status: 503, body: { error: { sqlstate: null, message: (e && e.name) || 'error' } } };
}

const iso = (d) => (d instanceof Date ? d.toISOString() : d);

function secretJson(s) {
  return {
    id: s.id, account_id: s.account_id, store_id: s.store_id, name: s.name,
    comment: s.comment, scopes: s.scopes, status: s.status, value: s.value, // always null
    created_at: iso(s.created_at), modified_at: iso(s.modified_at),
    created_by: s.created_by, modified_by: s.modified_by,
  };
}

const storeJson = (s) => ({
  id: s.id, account_id: s.account_id, name: s.name,
  created_at: iso(s.created_at), modified_at: iso(s.modified_at),
});

const bindingJson = (b) => ({
  id: b.id, account_id: b.account_id, script_name: b.script_name,
  binding_name: b.binding_name, store_id: b.store_id, secret_name: b.secret_name,
  created_at: iso(b.created_at), created_by: b.created_by,
});

const PRINCIPAL_COLUMNS = '(p).principal_type AS type, (p).member_id, (p).token_id, (p).db_role';

async function establish(trx, auth) {
  let result;
  if (auth && auth.kind === 'token') {
    result = await trx.raw(
      `SELECT ${PRINCIPAL_COLUMNS} FROM (SELECT secrets_store.authenticate(?) AS p) a`,
      [auth.bearer]);
  } else if (auth && auth.kind === 'act_as') {
    result = await trx.raw(
      `SELECT ${PRINCIPAL_COLUMNS} FROM (SELECT secrets_store.act_as(?) AS p) a`,
      [auth.memberId]);
  } else if (auth == null) {
    result = await trx.raw(
      'SELECT principal_type AS type, member_id, token_id, db_role FROM secrets_store.whoami()');
  } else {
    throw new TypeError('auth is token(bearer), actAs(memberId) or null');
  }
  return result.rows[0];
}

async function load(trx, model, id, what) {
  const row = await model.findById(trx, id);
  if (!row) throw new HttpError(404, `${what} ${id} not found`);
  return row;
}

const refused = () => new HttpError(403,
  'permission denied: the row is visible to this principal, which may not change it '
  + '(the statement affected no row)');

class App {
  constructor(db) {
    this.db = db;
  }

  async init() {
    await registerTypes(this.db);
    return this;
  }

  // One request: BEGIN; who is asking; the action; COMMIT.
  async handle(auth, action, params = {}) {
    const handler = this[`do_${action}`];
    if (typeof handler !== 'function') {
      return { status: 400, body: { error: { message: `unknown action ${action}` } } };
    }
    try {
      return await this.db.transaction(async (trx) => {
        const principal = await establish(trx, auth);
        const [status, body] = await handler.call(this, trx, params);
        body.principal = principal;
        return { status, body };
      });
    } catch (e) {
      return errorResponse(e);
    }
  }

  async do_whoami(trx) {
    const { rows } = await trx.raw('SELECT pg_backend_pid() AS pid');
    return [200, { backend_pid: rows[0].pid }];
  }

  async do_list_stores(trx) {
    return [200, { stores: (await Store.all(trx, ['name'])).map(storeJson) }];
  }

  async do_list_secrets(trx, { storeId } = {}) {
    const q = Secret.query(trx).select(Secret.columns).orderBy(['account_id', 'name']);
    if (storeId) q.where({ store_id: storeId });
    return [200, { secrets: (await q).map(secretJson) }];
  }

  async do_get_secret(trx, { secretId }) {
    return [200, { secret: secretJson(await load(trx, Secret, secretId, 'secret')) }];
  }

  async do_create_secret(trx, { storeId, name, scopes, value, comment }) {
    const store = await load(trx, Store, storeId, 'store');
    const row = await Secret.insert(trx, {
      account_id: store.account_id, store_id: store.id, name, scopes, value, comment,
    });
    return [201, { secret: secretJson(row) }];
  }

  async do_edit_secret(trx, { secretId, comment, value, scopes }) {
    const secret = await load(trx, Secret, secretId, 'secret');
    const row = await Secret.update(trx, secret, { comment, value, scopes });
    if (!row) throw refused();
    return [200, { secret: secretJson(row) }];
  }

  async do_duplicate_secret(trx, { secretId, name }) {
    // the value is copied inside the server, sealed anew for the copy
    const { rows } = await trx.raw('SELECT secrets_store.duplicate_secret(?, ?) AS id',
      [secretId, name]);
    return [201, { secret: secretJson(await load(trx, Secret, rows[0].id, 'secret')) }];
  }

  async do_delete_secret(trx, { secretId, force }) {
    const secret = await load(trx, Secret, secretId, 'secret');
    if (force) {
      // a secret still bound to a Worker is deleted only on purpose
      await trx.raw('SET LOCAL secrets_store.force_delete = on');
    }
    if (await Secret.delete(trx, secret) !== 1) throw refused();
    return [200, { deleted: secret.id }];
  }

  async do_list_bindings(trx) {
    const rows = await WorkerBinding.all(trx, ['script_name', 'binding_name']);
    return [200, { bindings: rows.map(bindingJson) }];
  }

  async do_bind_worker(trx, { storeId, scriptName, bindingName, secretName }) {
    const store = await load(trx, Store, storeId, 'store');
    const row = await WorkerBinding.insert(trx, {
      account_id: store.account_id, store_id: store.id,
      script_name: scriptName, binding_name: bindingName, secret_name: secretName,
    });
    return [201, { binding: bindingJson(row) }];
  }

  async do_unbind_worker(trx, { bindingId }) {
    const binding = await load(trx, WorkerBinding, bindingId, 'binding');
    if (await WorkerBinding.delete(trx, binding) !== 1) throw refused();
    return [200, { deleted: binding.id }];
  }
}

// The Worker runtime: a login role in secrets_store_runtime, no principal.
class Runtime {
  constructor(db) {
    this.db = db;
  }

  async getBoundSecret(accountId, scriptName, bindingName) {
    try {
      const value = await this.db.transaction(async (trx) => {
        const { rows } = await trx.raw(
          'SELECT secrets_store.get_bound_secret(?, ?, ?) AS value',
          [accountId, scriptName, bindingName]);
        return rows[0].value;
      });
      return { status: 200, body: { value } };
    } catch (e) {
      return errorResponse(e);
    }
  }
}

module.exports = {
  App, Runtime, HttpError, token, actAs, makeDb, errorResponse, STATUS_BY_SQLSTATE,
};
