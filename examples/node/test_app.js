#!/usr/bin/env node
'use strict';
// The Knex example's scenario, as a test.  Output is TAP.
//
//   node examples/node/test_app.js [DATABASE]
//
// Normally run by test/orm/run.sh, which creates what this needs and starts
// pgbouncer (transaction pooling, one server connection).  It needs:
//  - DATABASE (default secrets_store_test) with secrets_store installed and
//    test/fixtures/people.sql loaded (Acme, Globex, ss_alice, ...);
//  - requests go through the pooler at $SS_ORM_HOST:$SS_ORM_PORT (default
//    127.0.0.1:$PGBOUNCER_PORT, default 64330), as the login roles
//    $SS_ORM_APP_ROLE (ss_orm_app; secrets_store_user, linked to no member),
//    $SS_ORM_GATEWAY_ROLE (ss_orm_gw; also secrets_store_gateway),
//    $SS_ORM_RUNTIME_ROLE (ss_orm_runtime; secrets_store_runtime);
//  - three API tokens, as bearer strings in the environment:
//    $SS_ORM_EDIT_TOKEN (Acme, secrets_store_edit), $SS_ORM_READ_TOKEN (Acme,
//    secrets_store_read), $SS_ORM_GLOBEX_TOKEN (Globex, secrets_store_read);
//  - a direct superuser connection (libpq's PGHOST, PGPORT, PGUSER) to check
//    outcomes below row-level security -- what each account truly holds, the
//    sealed value's row, the audit trail -- and to remove leftovers of an
//    interrupted run (secrets named NODE_ORM_*, bindings of Worker
//    node-orm-example).
// No bearer string or secret value is ever printed: values are compared by
// SHA-256 inside the test, and every line is scrubbed of them anyway.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { isDeepStrictEqual } = require('util');
const pg = require('pg');
const { App, Runtime, token, actAs, makeDb } = require('./app');

const DATABASE = process.argv[2] || 'secrets_store_test';
const HOST = process.env.SS_ORM_HOST || '127.0.0.1';
const PORT = Number(process.env.SS_ORM_PORT || process.env.PGBOUNCER_PORT || 64330);
const APP_ROLE = process.env.SS_ORM_APP_ROLE || 'ss_orm_app';
const GATEWAY_ROLE = process.env.SS_ORM_GATEWAY_ROLE || 'ss_orm_gw';
const RUNTIME_ROLE = process.env.SS_ORM_RUNTIME_ROLE || 'ss_orm_runtime';

const PREFIX = 'NODE_ORM_';
const SCRIPT = 'node-orm-example';
const [MAIN, PENDING, COPY, REFUSED] = ['MAIN', 'PENDING', 'COPY', 'REFUSED'].map((n) => PREFIX + n);
const [BINDING_MAIN, BINDING_COPY] = ['NODE_ORM_SECRET', 'NODE_ORM_COPY'];

const BEARER_PATTERN = /sstk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}_[0-9a-f]{8}/g;
const BEARERS = []; // the bearer strings and
const VALUES = []; // the secret values of this run
const HIDDEN = []; // both

function scrub(text) {
  let s = String(text);
  for (const h of HIDDEN) s = s.split(h).join('<hidden>');
  return s.replace(BEARER_PATTERN, '<bearer string>');
}

const digest = (v) => (v == null ? null : crypto.createHash('sha256').update(v).digest('hex'));

class Tap {
  constructor() {
    this.count = 0;
    this.failed = [];
  }

  ok(passed, description, diag) {
    this.count += 1;
    console.log(`${passed ? 'ok' : 'not ok'} ${this.count} - ${scrub(description)}`);
    if (!passed) {
      this.failed.push(this.count);
      if (diag !== undefined && diag !== null) {
        for (const line of scrub(diag).split('\n')) console.log(`#   ${line}`);
      }
    }
    return passed;
  }

  skip(description, reason) {
    this.count += 1;
    console.log(`ok ${this.count} - ${scrub(description)} # SKIP ${scrub(reason)}`);
  }

  note(text) {
    for (const line of scrub(text).split('\n')) console.log(`# ${line}`);
  }

  finish() {
    console.log(`1..${this.count}`);
    if (this.failed.length) {
      console.log(`# failed ${this.failed.length} of ${this.count}: ${this.failed.join(', ')}`);
    }
    return this.count && !this.failed.length ? 0 : 1;
  }
}

const T = new Tap();

function bail(message) {
  console.log(`Bail out! ${scrub(message)}`);
  process.exit(1);
}

// the token id is part of the bearer string: sstk_ + 32 hex + ...
function tokenIdOf(bearer) {
  const h = bearer.slice(5, 37);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const describe = (r) => `status ${r.status}, body ${JSON.stringify(r.body)}`;
const errorOf = (r) => (r.body && r.body.error) || {};
const isOk = (r) => r.status >= 200 && r.status < 300;
const names = (rows) => rows.map((s) => s.name).sort();
const sameList = (a, b) => isDeepStrictEqual(a, b);

function expectStatus(r, status, description) {
  return T.ok(r.status === status, description, describe(r));
}

function expectError(r, status, sqlstate, description) {
  return T.ok(r.status === status && errorOf(r).sqlstate === sqlstate, description, describe(r));
}

// Direct superuser connection: the truth below row-level security.
class Admin {
  constructor() {
    this.client = new pg.Client({
      database: DATABASE, application_name: 'orm example test (node) admin',
    });
  }

  async connect() {
    await this.client.connect();
  }

  async all(sql, params = []) {
    return (await this.client.query(sql, params)).rows;
  }

  async value(sql, params = []) {
    const rows = (await this.client.query({ text: sql, values: params, rowMode: 'array' })).rows;
    return rows.length ? rows[0][0] : null;
  }

  // leftovers of an interrupted run: bindings first (a bound secret is not
  // deleted without force)
  async cleanup() {
    await this.client.query('BEGIN');
    try {
      await this.client.query('DELETE FROM secrets_store.worker_bindings WHERE script_name = $1',
        [SCRIPT]);
      await this.client.query('SET LOCAL secrets_store.force_delete = on');
      await this.client.query('DELETE FROM secrets_store.secrets WHERE name LIKE $1', [`${PREFIX}%`]);
      await this.client.query('COMMIT');
    } catch (e) {
      await this.client.query('ROLLBACK');
      throw e;
    }
  }

  async audit(secretId, action) {
    return this.all(
      `SELECT actor_type, actor_member_id, actor_token_id, actor_db_role, details
         FROM secrets_store.audit_events
        WHERE resource_type = 'secret' AND resource_id = $1 AND action = $2
        ORDER BY id`, [secretId, action]);
  }

  async secret(secretId) {
    const rows = await this.all(
      `SELECT name, comment, status, value IS NULL AS value_is_null,
              (SELECT count(*)::int FROM secrets_store.secret_values v
                WHERE v.account_id = s.account_id AND v.secret_id = s.id) AS sealed
         FROM secrets_store.secrets s WHERE id = $1`, [secretId]);
    return rows[0] || null;
  }

  async sealedRows(secretId) {
    return this.value('SELECT count(*)::int FROM secrets_store.secret_values WHERE secret_id = $1',
      [secretId]);
  }
}

function serverLog() {
  let p = process.env.SS_SERVER_LOG;
  if (!p) {
    const host = process.env.PGHOST || '';
    p = host.startsWith('/') ? path.join(host, 'server.log') : '';
  }
  try {
    if (p) {
      fs.accessSync(p, fs.constants.R_OK);
      return p;
    }
  } catch (e) {
    // not readable
  }
  return null;
}

async function scenario(admin, app, gateway, runtime, c) {
  const { edit, read, globex, editId, readId, globexId } = c;
  const { acme, globexAcct, acmeStore, alice, v1, v2, vPending, vRefused } = c;
  let r;

  // -- who is asking -------------------------------------------------------
  for (const [label, tok, tokId] of [['edit', edit, editId], ['read', read, readId],
    ['Globex', globex, globexId]]) {
    r = await app.handle(tok, 'whoami');
    const p = r.body.principal || {};
    T.ok(isOk(r) && p.type === 'token' && p.member_id === null && p.token_id === tokId
         && p.db_role === APP_ROLE,
    `authenticate(${label} token): whoami() is that token, as ${APP_ROLE}`, describe(r));
  }

  // -- list: rows of the token's account only ------------------------------
  const truth = {};
  for (const acct of [acme, globexAcct]) {
    truth[acct] = (await admin.all('SELECT name FROM secrets_store.secrets WHERE account_id = $1',
      [acct])).map((x) => x.name).sort();
  }
  const truthStores = (await admin.all('SELECT name FROM secrets_store.stores WHERE account_id = $1',
    [acme])).map((x) => x.name).sort();

  r = await app.handle(read, 'list_secrets');
  let rows = r.body.secrets || [];
  T.ok(isOk(r) && rows.length > 0 && rows.every((s) => s.account_id === acme),
    `read token lists secrets: every row is Acme's (${rows.length} rows)`, describe(r));
  T.ok(sameList(names(rows), truth[acme]),
    "read token lists secrets: all of Acme's, as the superuser counts them",
    `listed ${names(rows)}\nactually in Acme: ${truth[acme]}`);
  T.ok(rows.length > 0 && rows.every((s) => s.value === null),
    'read token lists secrets: every value reads NULL', describe(r));
  r = await app.handle(read, 'list_stores');
  T.ok(isOk(r) && sameList(names(r.body.stores), truthStores)
       && r.body.stores.every((s) => s.account_id === acme),
  "read token lists stores: Acme's, all of them", describe(r));
  r = await app.handle(globex, 'list_secrets');
  rows = r.body.secrets || [];
  T.ok(isOk(r) && rows.every((s) => s.account_id === globexAcct)
       && sameList(names(rows), truth[globexAcct]),
  "Globex token lists secrets: Globex's, all of them, no Acme row", describe(r));
  r = await app.handle(null, 'list_secrets');
  T.ok(isOk(r) && r.body.secrets.length === 0 && r.body.principal.type === 'nobody',
    'no authenticate(): principal nobody, no secret visible', describe(r));

  // -- create: INSERT with a value -----------------------------------------
  r = await app.handle(edit, 'create_secret', {
    storeId: acmeStore, name: MAIN, scopes: ['workers'], value: v1, comment: 'created through Knex',
  });
  const created = r.body.secret || {};
  if (!expectStatus(r, 201, `edit token creates ${MAIN} by Knex INSERT with a value`)) {
    throw new Error('cannot go on without the secret');
  }
  const mainId = created.id;
  T.ok(/^[0-9a-f-]{36}$/.test(mainId) && created.account_id === acme,
    "the id was drawn by the server (RETURNING), in Acme", describe(r));
  T.ok(created.status === 'active', 'the new secret is active (it has a value)', describe(r));
  T.ok(created.value === null, 'RETURNING value gives NULL', describe(r));
  T.ok(created.created_by === null && created.modified_by === null,
    'created_by and modified_by are NULL: a token, not a member, asked', describe(r));
  let row = await admin.secret(mainId);
  T.ok(row && row.status === 'active' && row.value_is_null === true && row.sealed === 1,
    'in the table: active, value column NULL, one sealed value in secret_values',
    `admin sees ${JSON.stringify(row)}`);
  let events = await admin.audit(mainId, 'create');
  T.ok(events.length === 1 && events[0].actor_type === 'token' && events[0].actor_token_id === editId
       && events[0].details.value_modified === true,
  'audit: one create event by the edit token, value_modified', `events ${JSON.stringify(events)}`);
  r = await app.handle(read, 'get_secret', { secretId: mainId });
  let s = r.body.secret || {};
  T.ok(isOk(r) && s.status === 'active' && s.value === null && sameList(s.scopes, ['workers'])
       && s.comment === 'created through Knex',
  'read token, next request: active, scopes {workers}, comment kept, value NULL', describe(r));

  r = await app.handle(edit, 'create_secret', {
    storeId: acmeStore, name: PENDING, scopes: ['workers', 'ai_gateway'],
  });
  const pending = r.body.secret || {};
  T.ok(r.status === 201 && pending.status === 'pending'
       && sameList(pending.scopes, ['workers', 'ai_gateway']),
  'a secret created without a value is pending; scopes {workers,ai_gateway}', describe(r));
  const pendingId = pending.id;

  // -- refused -------------------------------------------------------------
  r = await app.handle(read, 'create_secret', {
    storeId: acmeStore, name: REFUSED, scopes: ['workers'], value: vRefused,
  });
  const err = errorOf(r);
  expectError(r, 403, '42501', "read token's Knex INSERT is refused: 403, SQLSTATE 42501");
  T.note(`refused: ${err.message}`);
  T.note(`detail:  ${err.detail}`);
  T.note(`hint:    ${err.hint}`);
  T.ok((err.message || '').includes('may not perform "secret.create"')
       && (err.hint || '').includes('secrets_store_edit'),
  'the message names the action, the hint who may perform it', describe(r));
  T.ok(!(err.message || '').includes('insert into'),
    "the message is the server's, not Knex's statement text", describe(r));
  T.ok(!JSON.stringify(r.body).includes(vRefused), 'the refusal carries no trace of the value',
    'the value is in the response');
  T.ok(await admin.value('SELECT count(*)::int FROM secrets_store.secrets WHERE name = $1',
    [REFUSED]) === 0, 'nothing was created');

  r = await app.handle(read, 'edit_secret', { secretId: mainId, comment: 'read token was here' });
  T.ok(r.status === 403 && errorOf(r).sqlstate === null,
    "read token's Knex UPDATE affects no row: answered 403", describe(r));
  r = await app.handle(globex, 'edit_secret', { secretId: mainId, comment: 'globex was here' });
  expectStatus(r, 404, "Globex token cannot see Acme's secret to edit it: 404");
  row = await admin.secret(mainId);
  T.ok(row.comment === 'created through Knex', 'the comment is unchanged',
    `admin sees ${JSON.stringify(row)}`);

  // -- edit: UPDATE of comment and value -----------------------------------
  r = await app.handle(edit, 'edit_secret', { secretId: mainId, comment: 'rotated', value: v2 });
  s = r.body.secret || {};
  T.ok(isOk(r) && s.comment === 'rotated' && s.status === 'active' && s.value === null
       && (s.modified_at || '') > created.modified_at,
  "edit token's Knex UPDATE of comment and value: active, modified_at moved, value NULL",
  describe(r));
  events = await admin.audit(mainId, 'update');
  T.ok(events.length === 1 && events[0].actor_token_id === editId
       && isDeepStrictEqual(events[0].details.comment, { old: 'created through Knex', new: 'rotated' })
       && events[0].details.value_modified === true,
  "audit: the update names the comment's old and new text and value_modified",
  `events ${JSON.stringify(events)}`);
  r = await app.handle(edit, 'edit_secret', { secretId: pendingId, value: vPending });
  T.ok(isOk(r) && (r.body.secret || {}).status === 'active',
    "Knex UPDATE of a pending secret's value makes it active", describe(r));

  // -- bind (act_as a member) and read as the runtime ----------------------
  r = await gateway.handle(actAs(alice), 'bind_worker', {
    storeId: acmeStore, scriptName: SCRIPT, bindingName: BINDING_MAIN, secretName: MAIN,
  });
  let b = r.body.binding || {};
  T.ok(r.status === 201 && r.body.principal.type === 'member'
       && r.body.principal.member_id === alice && b.created_by === alice,
  `${GATEWAY_ROLE} act_as(alice): Knex INSERT of a Worker binding, created_by alice`,
  describe(r));
  const bindingMain = b.id;
  r = await runtime.getBoundSecret(acme, SCRIPT, BINDING_MAIN);
  const got = digest(r.body.value);
  T.ok(isOk(r) && got === digest(v2),
    'runtime role: get_bound_secret returns the value written by the Knex UPDATE',
    `status ${r.status}; ${isOk(r) ? 'the value differs' : JSON.stringify(r.body)}`);
  T.ok(got !== digest(v1), '... not the one the INSERT wrote');
  events = await admin.audit(mainId, 'access');
  T.ok(events.length === 1 && events[0].actor_type === 'runtime'
       && events[0].actor_db_role === RUNTIME_ROLE,
  'audit: one access event by the runtime role', `events ${JSON.stringify(events)}`);

  // -- duplicate -----------------------------------------------------------
  r = await app.handle(edit, 'duplicate_secret', { secretId: mainId, name: COPY });
  s = r.body.secret || {};
  const copyId = s.id;
  T.ok(r.status === 201 && copyId !== mainId && s.status === 'active'
       && sameList(s.scopes, ['workers']) && s.comment === 'rotated',
  'edit token duplicates it (secrets_store.duplicate_secret): active, same scopes and comment',
  describe(r));
  r = await gateway.handle(actAs(alice), 'bind_worker', {
    storeId: acmeStore, scriptName: SCRIPT, bindingName: BINDING_COPY, secretName: COPY,
  });
  expectStatus(r, 201, 'act_as(alice) binds the copy');
  const bindingCopy = (r.body.binding || {}).id;
  r = await runtime.getBoundSecret(acme, SCRIPT, BINDING_COPY);
  T.ok(isOk(r) && digest(r.body.value) === digest(v2),
    'runtime role reads the copy: the same value, sealed anew',
    `status ${r.status}; ${isOk(r) ? 'the value differs' : JSON.stringify(r.body)}`);

  r = await app.handle(actAs(alice), 'whoami');
  expectError(r, 403, '42501',
    `act_as() from ${APP_ROLE} (not in secrets_store_gateway): 403, 42501`);

  // -- delete: DELETE ------------------------------------------------------
  r = await app.handle(edit, 'delete_secret', { secretId: mainId });
  expectError(r, 409, '2BP01', 'Knex DELETE of a bound secret: 409, SQLSTATE 2BP01');
  T.ok((errorOf(r).hint || '').includes('force'), 'the hint says how to force it', describe(r));
  r = await app.handle(read, 'delete_secret', { secretId: pendingId });
  T.ok(r.status === 403, "read token's Knex DELETE affects no row: answered 403", describe(r));
  T.ok(await admin.secret(mainId) !== null && await admin.secret(pendingId) !== null,
    'both secrets are still there');

  r = await app.handle(edit, 'delete_secret', { secretId: copyId, force: true });
  expectStatus(r, 200, 'Knex DELETE of the bound copy with SET LOCAL secrets_store.force_delete');
  T.ok(await admin.secret(copyId) === null && await admin.sealedRows(copyId) === 0,
    'the copy and its sealed value are gone');
  r = await runtime.getBoundSecret(acme, SCRIPT, BINDING_COPY);
  expectError(r, 404, 'P0002', 'its binding now gives the runtime P0002 secret not found');

  for (const bindingId of [bindingMain, bindingCopy]) {
    r = await gateway.handle(actAs(alice), 'unbind_worker', { bindingId });
    expectStatus(r, 200, 'act_as(alice): Knex DELETE of a Worker binding');
  }
  for (const [secretId, name] of [[mainId, MAIN], [pendingId, PENDING]]) {
    r = await app.handle(edit, 'delete_secret', { secretId });
    expectStatus(r, 200, `edit token: Knex DELETE of ${name}`);
  }
  T.ok(await admin.secret(mainId) === null && await admin.sealedRows(mainId) === 0
       && await admin.secret(pendingId) === null,
  'both are gone, with their sealed values');
  events = await admin.audit(mainId, 'delete');
  T.ok(events.length === 1 && events[0].actor_type === 'token' && events[0].actor_token_id === editId,
    'audit: one delete event by the edit token', `events ${JSON.stringify(events)}`);

  // -- the pool: one backend, no principal left behind ---------------------
  // two Knex instances: two client connections to pgbouncer
  const first = await app.handle(edit, 'whoami');
  const second = await c.app2.handle(null, 'whoami');
  T.ok(isOk(first) && isOk(second) && first.body.backend_pid === second.body.backend_pid,
    'two requests on two client connections ran on one server backend (pgbouncer)',
    `backends ${first.body.backend_pid}, ${second.body.backend_pid}`);
  T.ok(second.body.principal && second.body.principal.type === 'nobody',
    "the request after the token's sees principal nobody on that backend", describe(second));
}

async function main() {
  const tokens = {};
  for (const k of ['edit', 'read', 'globex']) tokens[k] = process.env[`SS_ORM_${k.toUpperCase()}_TOKEN`];
  const missing = Object.keys(tokens).filter((k) => !tokens[k]);
  if (missing.length) {
    bail(`$SS_ORM_{EDIT,READ,GLOBEX}_TOKEN missing (${missing.join(', ')}): run test/orm/run.sh`);
  }
  BEARERS.push(...Object.values(tokens));
  HIDDEN.push(...BEARERS);

  // the values this run writes; never printed, compared by digest
  const rnd = () => crypto.randomBytes(24).toString('base64url');
  const v1 = `node-orm-v1-${rnd()}`;
  const v2 = `node-orm-v2-${rnd()}`;
  const vPending = `node-orm-v3-${rnd()}`;
  const vRefused = `node-orm-v4-${rnd()}`;
  VALUES.push(v1, v2, vPending, vRefused);
  HIDDEN.push(...VALUES);

  const admin = new Admin();
  try {
    await admin.connect();
  } catch (e) {
    bail(`no direct superuser connection to ${DATABASE}: ${e.message}`);
  }
  if (await admin.value('SELECT rolsuper FROM pg_roles WHERE rolname = current_user') !== true) {
    bail('the direct connection (PGUSER) must be a superuser');
  }
  if (await admin.value("SELECT to_regclass('ss_test.ids') IS NOT NULL") !== true) {
    bail(`test/fixtures/people.sql is not loaded in ${DATABASE}`);
  }
  const ids = Object.fromEntries((await admin.all('SELECT name, id::text FROM ss_test.ids'))
    .map((x) => [x.name, x.id]));
  const logPath = serverLog();
  const logOffset = logPath ? fs.statSync(logPath).size : 0;
  await admin.cleanup();

  const connect = (user) => makeDb({ host: HOST, port: PORT, user, database: DATABASE });
  const dbs = [connect(APP_ROLE), connect(APP_ROLE), connect(GATEWAY_ROLE), connect(RUNTIME_ROLE)];
  const knexVersion = require('knex/package.json').version;
  const pgVersion = require('pg/package.json').version;
  T.note(`knex ${knexVersion}, pg ${pgVersion}, node ${process.version}; database ${DATABASE} `
         + `through ${HOST}:${PORT} as ${APP_ROLE}, ${GATEWAY_ROLE}, ${RUNTIME_ROLE}`);

  try {
    const app = await new App(dbs[0]).init();
    const app2 = await new App(dbs[1]).init();
    const gateway = await new App(dbs[2]).init();
    const runtime = new Runtime(dbs[3]);
    const ctx = {
      edit: token(tokens.edit),
      read: token(tokens.read),
      globex: token(tokens.globex),
      editId: tokenIdOf(tokens.edit),
      readId: tokenIdOf(tokens.read),
      globexId: tokenIdOf(tokens.globex),
      acme: ids.acme,
      globexAcct: ids.globex,
      acmeStore: ids['acme.store'],
      alice: ids.ss_alice,
      v1, v2, vPending, vRefused, app2,
    };
    await scenario(admin, app, gateway, runtime, ctx);
  } catch (e) {
    T.ok(false, 'the scenario ran to its end', `${e.name}: ${e.message}`);
  } finally {
    try {
      await admin.cleanup();
    } catch (e) {
      T.note(`cleanup failed: ${e.message}`);
    }
    await Promise.all(dbs.map((db) => db.destroy()));
  }

  if (logPath) {
    const fd = fs.openSync(logPath, 'r');
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - logOffset));
    fs.readSync(fd, buf, 0, buf.length, logOffset);
    fs.closeSync(fd);
    const lines = buf.toString('utf8').split('\n');
    for (const [what, hidden] of [['secret value', VALUES], ['bearer string', BEARERS]]) {
      const leaked = lines.filter((l) => hidden.some((h) => l.includes(h)));
      T.ok(leaked.length === 0, `the server log holds no ${what} of this run`,
        `${leaked.length} line(s) do`);
    }
  } else {
    for (const what of ['secret value', 'bearer string']) {
      T.skip(`the server log holds no ${what} of this run`,
        'server log not readable (set SS_SERVER_LOG)');
    }
  }
  await admin.client.end();
  return T.finish();
}

main().then((code) => { process.exitCode = code; }, (e) => {
  console.log(`Bail out! ${scrub(e && e.stack ? e.stack : e)}`);
  process.exitCode = 1;
});
