/*-------------------------------------------------------------------------
 *
 * lookup.c
 *	  Reads that must not depend on what the principal may see.
 *
 * Some checks need facts the principal's row-level security would hide: the
 * account a store belongs to when the caller may bind to it but not read it,
 * whether a secret of that name carries the workers scope, how many secrets
 * an account really holds for its quota.  These functions read the tables
 * through their indexes, below row-level security, and answer only about an
 * account in which the principal holds some right (or for a database
 * administrator or operator); for any other account they answer exactly as
 * for one that does not exist.  They therefore reveal nothing across
 * accounts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "parser/parse_relation.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "secrets_store.h"

PG_FUNCTION_INFO_V1(ss_account_of);
PG_FUNCTION_INFO_V1(ss_secret_scopes);
PG_FUNCTION_INFO_V1(ss_secret_scopes_by_id);
PG_FUNCTION_INFO_V1(ss_usage);

#define DEFAULT_MAX_STORES		1
#define DEFAULT_MAX_SECRETS		100
#define DEFAULT_MAX_VALUE_BYTES	65536

/* Number of rows of rel with the given account_id, through an index on it */
static int64
count_for_account(SsRelation relation, const char *index_name,
				  const pg_uuid_t *account_id)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	Snapshot	snapshot;
	int64		count = 0;

	rel = table_open(ss_relation_oid(relation), AccessShareLock);
	ScanKeyInit(&key, attnameAttNum(rel, "account_id", false),
				BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(account_id));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, ss_index_oid(index_name), true, snapshot, 1, &key);
	while (HeapTupleIsValid(systable_getnext(scan)))
		count++;
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return count;
}

/* May the current principal learn facts about this account? */
static bool
may_look_into(const pg_uuid_t *account_id)
{
	return ss_is_database_administrator() ||
		ss_actions_in_account(account_id) != 0;
}

/*
 * account_of(relation regclass, id uuid) -> uuid
 *
 * The account of a store, secret, binding, association or token, if the
 * principal holds any right in that account; NULL otherwise (absent and
 * foreign look the same).  Ids are unique only within an account (every key
 * includes account_id), and a client may reuse another account's id in its
 * own rows (ids are also refused when already in use elsewhere, see
 * claim_id(), but rows older than that rule may exist), so every row with
 * the id is considered: a foreign row with the same id neither hides the
 * principal's own nor reveals itself, and two of the principal's own rows
 * with one id are an error rather than a guess.
 */
Datum
ss_account_of(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	pg_uuid_t  *id = PG_GETARG_UUID_P(1);
	static const SsRelation allowed[] = {
		SS_REL_STORES, SS_REL_SECRETS, SS_REL_WORKER_BINDINGS,
		SS_REL_AI_GATEWAY_ASSOCIATIONS, SS_REL_API_TOKENS
	};
	SsRelation	relation = SS_NUM_RELATIONS;
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	Snapshot	snapshot;
	AttrNumber	account_att;
	pg_uuid_t  *result = NULL;

	for (size_t i = 0; i < lengthof(allowed); i++)
		if (ss_relation_oid(allowed[i]) == relid)
			relation = allowed[i];
	if (relation == SS_NUM_RELATIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("account_of() does not support relation %u", relid),
				 errhint("Use stores, secrets, worker_bindings, ai_gateway_associations or api_tokens.")));

	rel = table_open(relid, AccessShareLock);
	account_att = attnameAttNum(rel, "account_id", false);
	ScanKeyInit(&key, attnameAttNum(rel, "id", false), BTEqualStrategyNumber,
				F_UUID_EQ, UUIDPGetDatum(id));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, ss_index_oid(psprintf("%s_id_idx", get_rel_name(relid))),
							  true, snapshot, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		account = heap_getattr(tuple, account_att, RelationGetDescr(rel), &isnull);

		if (isnull || !may_look_into(DatumGetUUIDP(account)))
			continue;
		if (result != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CARDINALITY_VIOLATION),
					 errmsg("id %s is ambiguous: it names objects in more than one of your accounts",
							ss_uuid_string(id)),
					 errhint("Refer to the object by account and name, or delete the copy that reuses the id.")));
		result = palloc(sizeof(pg_uuid_t));
		memcpy(result, DatumGetUUIDP(account), sizeof(pg_uuid_t));
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_UUID_P(result);
}

/*
 * secret_scopes(account_id uuid, store_id uuid, name text) -> scope[]
 *
 * The scopes of the named secret, or NULL if there is no such secret in an
 * account the principal belongs to.  Worker bindings resolve secrets by
 * name; a principal that may bind need not be able to read secrets.
 */
Datum
ss_secret_scopes(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *account_id = PG_GETARG_UUID_P(0);
	SsKey	keys[3] = {
		{"account_id", F_UUID_EQ, PG_GETARG_DATUM(0)},
		{"store_id", F_UUID_EQ, PG_GETARG_DATUM(1)},
		{"name", F_TEXTEQ, PG_GETARG_DATUM(2)},
	};
	static const char *const columns[] = {"scopes"};
	Datum		scopes;
	bool		isnull;

	if (!may_look_into(account_id) ||
		!ss_lookup_row(SS_REL_SECRETS, "secrets_account_id_store_id_name_key",
					keys, 3, columns, &scopes, &isnull, 1) ||
		isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(scopes);
}

/*
 * secret_scopes_by_id(account_id uuid, secret_id uuid) -> scope[]
 */
Datum
ss_secret_scopes_by_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *account_id = PG_GETARG_UUID_P(0);
	SsKey	keys[2] = {
		{"account_id", F_UUID_EQ, PG_GETARG_DATUM(0)},
		{"id", F_UUID_EQ, PG_GETARG_DATUM(1)},
	};
	static const char *const columns[] = {"scopes"};
	Datum		scopes;
	bool		isnull;

	if (!may_look_into(account_id) ||
		!ss_lookup_row(SS_REL_SECRETS, "secrets_pkey", keys, 2, columns,
					&scopes, &isnull, 1) ||
		isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(scopes);
}

/*
 * usage(account_id uuid) -> (secrets_quota, secrets_usage, stores_quota,
 *							  stores_usage, max_value_bytes)
 *
 * The limits of an account (account_limits, or the defaults if it has no
 * row) and what it really uses, counted below row-level security.
 */
Datum
ss_usage(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *account_id = PG_GETARG_UUID_P(0);
	SsKey	key = {"account_id", F_UUID_EQ, PG_GETARG_DATUM(0)};
	static const char *const columns[] = {"max_secrets", "max_stores", "max_value_bytes"};
	Datum		limits[3];
	bool		limit_nulls[3];
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	if (!may_look_into(account_id) && !ss_is_operator())
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("account %s not found",
						DatumGetCString(DirectFunctionCall1(uuid_out,
															PG_GETARG_DATUM(0))))));

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	desc = BlessTupleDesc(desc);

	if (!ss_lookup_row(SS_REL_ACCOUNT_LIMITS, "account_limits_pkey", &key, 1,
					columns, limits, limit_nulls, 3))
	{
		SsKey	account_key = {"id", F_UUID_EQ, PG_GETARG_DATUM(0)};
		static const char *const id_column[] = {"id"};
		Datum		found_id;
		bool		found_null;

		if (!ss_lookup_row(SS_REL_ACCOUNTS, "accounts_pkey", &account_key, 1,
						id_column, &found_id, &found_null, 1))
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("account %s not found", ss_uuid_string(account_id))));
		limits[0] = Int32GetDatum(DEFAULT_MAX_SECRETS);
		limits[1] = Int32GetDatum(DEFAULT_MAX_STORES);
		limits[2] = Int32GetDatum(DEFAULT_MAX_VALUE_BYTES);
	}
	values[0] = limits[0];
	values[1] = Int32GetDatum((int32) count_for_account(SS_REL_SECRETS,
														"secrets_pkey", account_id));
	values[2] = limits[1];
	values[3] = Int32GetDatum((int32) count_for_account(SS_REL_STORES,
														"stores_pkey", account_id));
	values[4] = limits[2];

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* ---------------------------------------------------------------------
 * Lookups for the value paths (values.c).  No access check here: callers
 * are the write trigger (behind row-level security and require_action) and
 * the runtime functions (for secrets_store_runtime roles).
 * ---------------------------------------------------------------------
 */

int
ss_max_value_bytes(const pg_uuid_t *account_id)
{
	SsKey	key = {"account_id", F_UUID_EQ, UUIDPGetDatum(account_id)};
	static const char *const columns[] = {"max_value_bytes"};
	Datum		limit;
	bool		isnull;

	if (!ss_lookup_row(SS_REL_ACCOUNT_LIMITS, "account_limits_pkey", &key, 1,
					columns, &limit, &isnull, 1) || isnull)
		return DEFAULT_MAX_VALUE_BYTES;
	return DatumGetInt32(limit);
}

bool
ss_secret_exists(const pg_uuid_t *account_id, const pg_uuid_t *secret_id)
{
	Datum		scopes;

	return ss_find_secret_by_id(account_id, secret_id, &scopes);
}

bool
ss_find_secret_by_id(const pg_uuid_t *account_id, const pg_uuid_t *secret_id,
					 Datum *scopes)
{
	SsKey	keys[2] = {
		{"account_id", F_UUID_EQ, UUIDPGetDatum(account_id)},
		{"id", F_UUID_EQ, UUIDPGetDatum(secret_id)},
	};
	static const char *const columns[] = {"scopes"};
	bool		isnull;

	return ss_lookup_row(SS_REL_SECRETS, "secrets_pkey", keys, 2, columns,
					  scopes, &isnull, 1) && !isnull;
}

bool
ss_find_secret_by_name(const pg_uuid_t *account_id, const pg_uuid_t *store_id,
					   const char *name, pg_uuid_t *secret_id, Datum *scopes)
{
	SsKey	keys[3] = {
		{"account_id", F_UUID_EQ, UUIDPGetDatum(account_id)},
		{"store_id", F_UUID_EQ, UUIDPGetDatum(store_id)},
		{"name", F_TEXTEQ, CStringGetTextDatum(name)},
	};
	static const char *const columns[] = {"id", "scopes"};
	Datum		values[2];
	bool		nulls[2];

	if (!ss_lookup_row(SS_REL_SECRETS, "secrets_account_id_store_id_name_key", keys, 3,
					columns, values, nulls, 2) || nulls[0] || nulls[1])
		return false;
	memcpy(secret_id, DatumGetUUIDP(values[0]), sizeof(pg_uuid_t));
	*scopes = values[1];
	return true;
}

bool
ss_find_binding(const pg_uuid_t *account_id, Datum script_name, Datum binding_name,
				pg_uuid_t *store_id, char **secret_name)
{
	SsKey	keys[3] = {
		{"account_id", F_UUID_EQ, UUIDPGetDatum(account_id)},
		{"script_name", F_TEXTEQ, script_name},
		{"binding_name", F_TEXTEQ, binding_name},
	};
	static const char *const columns[] = {"store_id", "secret_name"};
	Datum		values[2];
	bool		nulls[2];

	if (!ss_lookup_row(SS_REL_WORKER_BINDINGS,
					"worker_bindings_account_id_script_name_binding_name_key",
					keys, 3, columns, values, nulls, 2) || nulls[0] || nulls[1])
		return false;
	memcpy(store_id, DatumGetUUIDP(values[0]), sizeof(pg_uuid_t));
	*secret_name = TextDatumGetCString(values[1]);
	return true;
}

bool
ss_find_association(const pg_uuid_t *account_id, Datum gateway_id, Datum provider,
					Datum alias, pg_uuid_t *secret_id)
{
	SsKey	keys[4] = {
		{"account_id", F_UUID_EQ, UUIDPGetDatum(account_id)},
		{"gateway_id", F_TEXTEQ, gateway_id},
		{"provider", F_TEXTEQ, provider},
		{"alias", F_TEXTEQ, alias},
	};
	static const char *const columns[] = {"secret_id"};
	Datum		value;
	bool		isnull;

	if (!ss_lookup_row(SS_REL_AI_GATEWAY_ASSOCIATIONS,
					"ai_gateway_associations_account_gateway_provider_alias_key",
					keys, 4, columns, &value, &isnull, 1) || isnull)
		return false;
	memcpy(secret_id, DatumGetUUIDP(value), sizeof(pg_uuid_t));
	return true;
}

/*
 * claim_id() -- trigger, BEFORE INSERT on stores, secrets, worker_bindings
 * and ai_gateway_associations, fired before the other BEFORE triggers.
 *
 * Draws a random id when the client sends none (no column default calls a
 * volatile function, so the tables can be distributed with Citus).  Keys
 * include account_id, which would let a client reuse another account's id
 * in its own rows and make functions that take an id ambiguous; ids are
 * therefore refused when in use in any account.  That tells the client only
 * that an id it already knew exists; random ids cannot be guessed.
 */
PG_FUNCTION_INFO_V1(ss_claim_id);

Datum
ss_claim_id(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	AttrNumber	id_att;
	bool		isnull;
	Datum		id;
	SysScanDesc scan;
	ScanKeyData key;
	Snapshot	snapshot;
	bool		taken;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("claim_id() must be a BEFORE INSERT ROW trigger")));
	rel = trigdata->tg_relation;
	id_att = attnameAttNum(rel, "id", false);
	id = heap_getattr(trigdata->tg_trigtuple, id_att, RelationGetDescr(rel), &isnull);
	if (isnull)
	{
		pg_uuid_t  *fresh = palloc(sizeof(pg_uuid_t));
		int			columns[1] = {id_att};
		Datum		values[1];
		bool		nulls[1] = {false};

		if (!pg_strong_random(fresh->data, UUID_LEN))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random bytes for an id")));
		fresh->data[6] = (fresh->data[6] & 0x0f) | 0x40;	/* version 4 */
		fresh->data[8] = (fresh->data[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
		values[0] = UUIDPGetDatum(fresh);
		return PointerGetDatum(heap_modify_tuple_by_cols(trigdata->tg_trigtuple,
														 RelationGetDescr(rel), 1,
														 columns, values, nulls));
	}

	ScanKeyInit(&key, id_att, BTEqualStrategyNumber, F_UUID_EQ, id);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, ss_index_oid(psprintf("%s_id_idx", RelationGetRelationName(rel))),
							  true, snapshot, 1, &key);
	taken = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	if (taken)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("id %s is already in use", ss_uuid_string(DatumGetUUIDP(id))),
				 errhint("Leave id out, or generate a new random UUID.")));
	return PointerGetDatum(trigdata->tg_trigtuple);
}

/*
 * lock_account(account_id uuid): serialise quota checks of one account by
 * locking its account_limits row.  Principals cannot lock that row
 * themselves (they may not update it), so nobody can hold another
 * account's creations hostage, as a public advisory lock would allow.
 */
PG_FUNCTION_INFO_V1(ss_lock_account);

Datum
ss_lock_account(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *account_id = PG_GETARG_UUID_P(0);
	Oid			types[1] = {UUIDOID};
	Datum		values[1] = {UUIDPGetDatum(account_id)};

	if (!may_look_into(account_id) && !ss_is_operator())
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("account %s not found", ss_uuid_string(account_id))));
	ss_spi_as_owner(SS_REL_ACCOUNT_LIMITS,
					"SELECT 1 FROM secrets_store.account_limits"
					" WHERE account_id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
					1, types, values, NULL);
	PG_RETURN_VOID();
}
