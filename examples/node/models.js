'use strict';
// The tables of secrets_store, described once for the query builder (Knex).
//
// What the extension decides, the models only read back:
//  - id, created_at, modified_at are filled in by the server (the id by the
//    extension's claim_id trigger since 1.1, by a column default in 1.0):
//    leave them out and INSERT ... RETURNING brings them back; a client may
//    send its own id, and one already used in any account is refused (23505);
//  - status, created_by, modified_by are set by the extension's triggers on
//    every INSERT and UPDATE (status: 'pending' until the secret has a value,
//    then 'active');
//  - value is write-only: it takes text, which the column's type
//    (secrets_store.secret_value) seals as soon as the server parses it, and
//    it always reads NULL;
//  - name, account_id and store_id never change (22023).
// Every table's primary key is (account_id, id); ids are unique across
// accounts too.

class Model {
  constructor({ table, columns, insertable, updatable }) {
    this.table = table;
    this.columns = columns; // what SELECT and RETURNING read
    this.insertable = new Set(insertable);
    this.updatable = new Set(updatable);
  }

  query(trx) {
    return trx(this.table);
  }

  // an INSERT's or UPDATE's columns, refusing those the extension sets
  pick(fields, allowed, what) {
    const out = {};
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      if (!allowed.has(k)) {
        throw new TypeError(`${this.table}.${k} cannot be given on ${what}: the extension sets it`);
      }
      out[k] = v;
    }
    return out;
  }

  // INSERT ... RETURNING every column
  async insert(trx, fields) {
    const rows = await this.query(trx)
      .insert(this.pick(fields, this.insertable, 'INSERT'))
      .returning(this.columns);
    return rows[0];
  }

  // UPDATE ... WHERE (account_id, id) RETURNING every column; null when the
  // statement matched no row (row-level security hid it from UPDATE)
  async update(trx, row, fields) {
    const rows = await this.query(trx)
      .where({ account_id: row.account_id, id: row.id })
      .update(this.pick(fields, this.updatable, 'UPDATE'))
      .returning(this.columns);
    return rows[0] || null;
  }

  // DELETE ... WHERE (account_id, id): the number of rows deleted
  async delete(trx, row) {
    return this.query(trx).where({ account_id: row.account_id, id: row.id }).del();
  }

  async findById(trx, id) {
    const rows = await this.query(trx).select(this.columns).where({ id });
    return rows[0] || null;
  }

  async all(trx, orderBy) {
    return this.query(trx).select(this.columns).orderBy(orderBy);
  }
}

const Store = new Model({
  table: 'secrets_store.stores',
  columns: ['id', 'account_id', 'name', 'created_at', 'modified_at'],
  insertable: ['id', 'account_id', 'name'],
  updatable: ['name'],
});

const Secret = new Model({
  table: 'secrets_store.secrets',
  columns: ['id', 'account_id', 'store_id', 'name', 'comment', 'scopes', 'status', 'value',
    'created_at', 'modified_at', 'created_by', 'modified_by'],
  insertable: ['id', 'account_id', 'store_id', 'name', 'comment', 'scopes', 'value'],
  updatable: ['comment', 'scopes', 'value'],
});

const WorkerBinding = new Model({
  table: 'secrets_store.worker_bindings',
  columns: ['id', 'account_id', 'script_name', 'binding_name', 'store_id', 'secret_name',
    'created_at', 'created_by'],
  insertable: ['id', 'account_id', 'script_name', 'binding_name', 'store_id', 'secret_name'],
  updatable: ['script_name', 'binding_name', 'store_id', 'secret_name'],
});

module.exports = { Model, Store, Secret, WorkerBinding };
