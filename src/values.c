/*-------------------------------------------------------------------------
 *
 * values.c
 *	  Sealing secret values on write, copying them for duplicates, and
 *	  opening them for the services bound to them.
 *
 * The trigger secrets_store.seal_value() runs before every INSERT and UPDATE
 * of secrets.  A non-NULL value there is a transit-sealed secret_value
 * (seal.c); the trigger opens it, checks it against the account's
 * max_value_bytes, seals it under the account's data key (keys.c) with
 * associated data naming the account and the secret, stores the result in
 * secrets_store.secret_values (a table no role but its owner reads), and
 * returns the row with value NULL and status 'active'.  A sealed value copied
 * to another row does not open there.
 *
 * The only ways to obtain a plaintext are get_bound_secret() and
 * get_gateway_key(), for roles in secrets_store_runtime, through a Worker
 * binding or an AI Gateway association whose secret carries the matching
 * scope at the time of the read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "secrets_store.h"

PG_FUNCTION_INFO_V1(ss_seal_value);
PG_FUNCTION_INFO_V1(ss_forget_value);
PG_FUNCTION_INFO_V1(ss_store_value);
PG_FUNCTION_INFO_V1(ss_sealed_copy_of);
PG_FUNCTION_INFO_V1(ss_get_bound_secret);
PG_FUNCTION_INFO_V1(ss_get_gateway_key);

#define VALUE_AAD_PREFIX	"secrets_store value v1:"
#define SS_RUNTIME_ROLE		"secrets_store_runtime"

static int
value_aad(const pg_uuid_t *account_id, const pg_uuid_t *secret_id, uint8 *aad)
{
	int			prefix = strlen(VALUE_AAD_PREFIX);

	memcpy(aad, VALUE_AAD_PREFIX, prefix);
	memcpy(aad + prefix, account_id->data, UUID_LEN);
	memcpy(aad + prefix + UUID_LEN, secret_id->data, UUID_LEN);
	return prefix + 2 * UUID_LEN;
}

static void
store_sealed(const pg_uuid_t *account_id, const pg_uuid_t *secret_id, bytea *sealed)
{
	Oid			types[3] = {UUIDOID, UUIDOID, BYTEAOID};
	Datum		values[3] = {UUIDPGetDatum(account_id), UUIDPGetDatum(secret_id),
	PointerGetDatum(sealed)};

	ss_spi_as_owner(SS_REL_SECRET_VALUES,
					"INSERT INTO secrets_store.secret_values (account_id, secret_id, sealed)"
					" VALUES ($1, $2, $3) ON CONFLICT (account_id, secret_id)"
					" DO UPDATE SET sealed = EXCLUDED.sealed, sealed_at = pg_catalog.now()",
					3, types, values, NULL);
}

/* Seal a plaintext for one secret */
static bytea *
seal_for(const pg_uuid_t *account_id, const pg_uuid_t *secret_id,
		 const uint8 *plaintext, int length)
{
	uint8	   *key = ss_data_key(account_id, true);
	uint8		aad[64];
	int			aad_length = value_aad(account_id, secret_id, aad);
	bytea	   *sealed = ss_aead_seal(key, plaintext, length, aad, aad_length);

	ss_secure_free(key, SS_KEY_LEN);
	return sealed;
}

/*
 * A value sealed by the BEFORE INSERT trigger waits here, in transaction
 * memory, until the AFTER INSERT trigger of the same row stores it: if the
 * row is never inserted (INSERT ... ON CONFLICT found a conflict), nothing is
 * stored for it.
 */
typedef struct PendingValue
{
	pg_uuid_t	secret_id;
	pg_uuid_t	account_id;
	pg_uuid_t	store_id;
	char	   *name;
	CommandId	cid;
	SubTransactionId subid;
	bytea	   *sealed;
} PendingValue;

static List *pending_values = NIL;

static void
values_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		pending_values = NIL;	/* its memory goes with TopTransactionContext */
}

static void
values_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	foreach(lc, pending_values)
	{
		if (((PendingValue *) lfirst(lc))->subid == mySubid)
			pending_values = foreach_delete_current(pending_values, lc);
	}
}

void
ss_register_value_callbacks(void)
{
	RegisterXactCallback(values_xact_callback, NULL);
	RegisterSubXactCallback(values_subxact_callback, NULL);
}

/* drop what an earlier, never inserted row with this id left waiting */
static void
forget_pending(const pg_uuid_t *secret_id)
{
	ListCell   *lc;

	foreach(lc, pending_values)
	{
		if (memcmp(&((PendingValue *) lfirst(lc))->secret_id, secret_id, UUID_LEN) == 0)
			pending_values = foreach_delete_current(pending_values, lc);
	}
	ss_audit_forget_value(secret_id);
}

static void
defer_sealed(const pg_uuid_t *secret_id, const pg_uuid_t *account_id,
			 const pg_uuid_t *store_id, const char *name, bytea *sealed)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	PendingValue *pending = palloc(sizeof(PendingValue));

	pending->secret_id = *secret_id;
	pending->account_id = *account_id;
	pending->store_id = *store_id;
	pending->name = pstrdup(name);
	pending->cid = GetCurrentCommandId(false);
	pending->subid = GetCurrentSubTransactionId();
	pending->sealed = DatumGetByteaPCopy(PointerGetDatum(sealed));
	pending_values = lappend(pending_values, pending);
	MemoryContextSwitchTo(old);
}

static bool
find_sealed(const pg_uuid_t *account_id, const pg_uuid_t *secret_id, bytea **sealed)
{
	SsKey		keys[2] = {
		{"account_id", F_UUID_EQ, UUIDPGetDatum(account_id)},
		{"secret_id", F_UUID_EQ, UUIDPGetDatum(secret_id)},
	};
	static const char *const columns[] = {"sealed"};
	Datum		value;
	bool		isnull;

	if (!ss_lookup_row(SS_REL_SECRET_VALUES, "secret_values_pkey", keys, 2,
					   columns, &value, &isnull, 1) || isnull)
		return false;
	*sealed = DatumGetByteaPP(value);
	return true;
}

/*
 * Open the stored value of a secret into a secure buffer; NULL if it has
 * none.  A value that does not open under its own associated data (copied
 * from another row, tampered) is an error, never garbage.
 */
static uint8 *
open_value(const pg_uuid_t *account_id, const pg_uuid_t *secret_id, int *length)
{
	bytea	   *sealed;
	uint8	   *key;
	uint8		aad[64];
	int			aad_length;
	uint8	   *plaintext;

	if (!find_sealed(account_id, secret_id, &sealed))
		return NULL;
	key = ss_data_key(account_id, false);
	aad_length = value_aad(account_id, secret_id, aad);
	plaintext = ss_aead_open(key, sealed, aad, aad_length, length);
	ss_secure_free(key, SS_KEY_LEN);
	if (plaintext == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the sealed value of secret %s does not open", ss_uuid_string(secret_id)),
				 errdetail("It was not sealed for this secret and account, or it has been altered."),
				 errhidestmt(true)));
	return plaintext;
}

/* ---------------------------------------------------------------------
 * The write path
 * ---------------------------------------------------------------------
 */

static void refuse_value_lost_in_upsert(HeapTuple old_tuple, TupleDesc desc, Relation rel);

static pg_uuid_t *
uuid_column(HeapTuple tuple, TupleDesc desc, Relation rel, const char *column)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnameAttNum(rel, column, false), desc, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("%s must not be null", column)));
	return DatumGetUUIDP(d);
}

/*
 * Trigger: BEFORE INSERT OR UPDATE ON secrets, FOR EACH ROW.
 */
Datum
ss_seal_value(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	AttrNumber	value_att;
	AttrNumber	status_att;
	bool		isnull;
	Datum		value;
	int			columns[2];
	Datum		replacements[2];
	bool		replace_nulls[2];

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("seal_value() must be a BEFORE ROW trigger")));

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	value_att = attnameAttNum(rel, "value", false);
	status_att = attnameAttNum(rel, "status", false);
	value = heap_getattr(tuple, value_att, desc, &isnull);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		forget_pending(uuid_column(tuple, desc, rel, "id"));

	columns[0] = value_att;
	columns[1] = status_att;
	replacements[0] = (Datum) 0;
	replace_nulls[0] = true;
	replace_nulls[1] = false;

	if (isnull)
	{
		/* no new value: a new secret is pending, an edited one keeps its status */
		if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		{
			refuse_value_lost_in_upsert(trigdata->tg_trigtuple, desc, rel);
			replacements[1] = heap_getattr(trigdata->tg_trigtuple, status_att, desc, &isnull);
		}
		else
			replacements[1] = CStringGetTextDatum("pending");
	}
	else
	{
		pg_uuid_t  *account_id = uuid_column(tuple, desc, rel, "account_id");
		pg_uuid_t  *secret_id = uuid_column(tuple, desc, rel, "id");
		bytea	   *sealed;
		int			length;
		pg_uuid_t	copied_from;
		bool		is_copy;
		uint8	   *plaintext = ss_transit_open(value, account_id, &copied_from, &is_copy, &length);
		int			limit = ss_max_value_bytes(account_id);

		if (length > limit)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("secret value is %d bytes; the account's limit is %d bytes", length, limit),
					 errhint("Shorten the value, or ask an operator to raise account_limits.max_value_bytes."),
					 errhidestmt(true)));
		sealed = seal_for(account_id, secret_id, plaintext, length);
		ss_secure_free(plaintext, length + 1);
		if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
			defer_sealed(secret_id, account_id, uuid_column(tuple, desc, rel, "store_id"),
						 TextDatumGetCString(heap_getattr(tuple, attnameAttNum(rel, "name", false),
														  desc, &isnull)),
						 sealed);
		else
			store_sealed(account_id, secret_id, sealed);
		ss_audit_note_value(secret_id, is_copy ? &copied_from : NULL);
		replacements[1] = CStringGetTextDatum("active");
	}

	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 2, columns,
													 replacements, replace_nulls));
}

/*
 * In INSERT ... ON CONFLICT DO UPDATE, the value of the conflicting insert
 * was sealed for a row that is never inserted, and EXCLUDED.value is NULL:
 * the update cannot carry it.  Say so rather than drop the value silently.
 */
static void
refuse_value_lost_in_upsert(HeapTuple old_tuple, TupleDesc desc, Relation rel)
{
	ListCell   *lc;
	pg_uuid_t  *account_id;
	pg_uuid_t  *store_id;
	char	   *name;
	bool		isnull;
	CommandId	cid;

	if (pending_values == NIL)
		return;
	account_id = uuid_column(old_tuple, desc, rel, "account_id");
	store_id = uuid_column(old_tuple, desc, rel, "store_id");
	name = TextDatumGetCString(heap_getattr(old_tuple, attnameAttNum(rel, "name", false), desc, &isnull));
	cid = GetCurrentCommandId(false);
	foreach(lc, pending_values)
	{
		PendingValue *pending = (PendingValue *) lfirst(lc);

		if (pending->cid == cid && strcmp(pending->name, name) == 0 &&
			memcmp(&pending->account_id, account_id, UUID_LEN) == 0 &&
			memcmp(&pending->store_id, store_id, UUID_LEN) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a secret value cannot be written through INSERT ... ON CONFLICT DO UPDATE"),
					 errdetail("The value is sealed before the conflict is known, so EXCLUDED.value is always NULL."),
					 errhint("Update the existing secret's value with UPDATE or update_secret()."),
					 errhidestmt(true)));
	}
}

/*
 * Trigger: AFTER INSERT ON secrets, FOR EACH ROW: store the value the BEFORE
 * trigger sealed for this row, now that the row exists.
 */
Datum
ss_store_value(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	pg_uuid_t  *secret_id;
	ListCell   *lc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("store_value() must be an AFTER INSERT trigger")));
	rel = trigdata->tg_relation;
	secret_id = uuid_column(trigdata->tg_trigtuple, RelationGetDescr(rel), rel, "id");
	foreach(lc, pending_values)
	{
		PendingValue *pending = (PendingValue *) lfirst(lc);

		if (memcmp(&pending->secret_id, secret_id, UUID_LEN) == 0)
		{
			store_sealed(&pending->account_id, &pending->secret_id, pending->sealed);
			pending_values = foreach_delete_current(pending_values, lc);
			break;
		}
	}
	return PointerGetDatum(NULL);
}

/*
 * Trigger: AFTER DELETE ON secrets, FOR EACH ROW: the sealed value goes with
 * its secret.
 */
Datum
ss_forget_value(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	Oid			types[2] = {UUIDOID, UUIDOID};
	Datum		values[2];

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("forget_value() must be a DELETE trigger")));
	rel = trigdata->tg_relation;
	values[0] = UUIDPGetDatum(uuid_column(trigdata->tg_trigtuple, RelationGetDescr(rel), rel, "account_id"));
	values[1] = UUIDPGetDatum(uuid_column(trigdata->tg_trigtuple, RelationGetDescr(rel), rel, "id"));
	ss_spi_as_owner(SS_REL_SECRET_VALUES,
					"DELETE FROM secrets_store.secret_values"
					" WHERE account_id OPERATOR(pg_catalog.=) $1 AND secret_id OPERATOR(pg_catalog.=) $2",
					2, types, values, NULL);
	return PointerGetDatum(NULL);
}

/*
 * sealed_copy_of(account_id, secret_id) -> secret_value
 *
 * duplicate_secret()'s copy of a value: opened and sealed again for transit
 * inside C, bound to the account, so that the INSERT of the duplicate seals
 * it for the new secret.  The plaintext never leaves C.  NULL if the secret
 * has no value.  For principals that may duplicate secrets in the account.
 */
Datum
ss_sealed_copy_of(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *account_id = PG_GETARG_UUID_P(0);
	pg_uuid_t  *secret_id = PG_GETARG_UUID_P(1);
	uint8	   *plaintext;
	int			length;
	Datum		copy;

	ss_require_action(account_id, ss_action_index("secret.duplicate"));
	if (!ss_secret_exists(account_id, secret_id))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("secret %s not found", ss_uuid_string(secret_id))));
	plaintext = open_value(account_id, secret_id, &length);
	if (plaintext == NULL)
		PG_RETURN_NULL();
	copy = ss_transit_seal_copy(plaintext, length, account_id, secret_id);
	ss_secure_free(plaintext, length + 1);
	PG_RETURN_DATUM(copy);
}

/* ---------------------------------------------------------------------
 * Runtime reads
 * ---------------------------------------------------------------------
 */

static void
require_runtime_role(const char *function_name)
{
	Oid			runtime = get_role_oid(SS_RUNTIME_ROLE, true);

	if (!OidIsValid(runtime) || !has_privs_of_role(GetUserId(), runtime) ||
		ss_has_transaction_principal())
	{
		ss_audit_refusal(NULL, function_name, "42501", "not a runtime role");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: %s may not call %s()",
						ss_describe_principal(ss_current_principal()), function_name),
				 errdetail("Secret values are read only by the services they are bound to."),
				 errhint("Only roles in %s, without an authenticate() or act_as() principal, read values.",
						 SS_RUNTIME_ROLE)));
	}
}

static char *
secret_name_of(const pg_uuid_t *account_id, const pg_uuid_t *secret_id)
{
	SsKey		keys[2] = {
		{"account_id", F_UUID_EQ, UUIDPGetDatum(account_id)},
		{"id", F_UUID_EQ, UUIDPGetDatum(secret_id)},
	};
	static const char *const columns[] = {"name"};
	Datum		name;
	bool		isnull;

	if (!ss_lookup_row(SS_REL_SECRETS, "secrets_pkey", keys, 2, columns, &name, &isnull, 1) ||
		isnull)
		return NULL;
	return TextDatumGetCString(name);
}

static void
pg_attribute_noreturn()
secret_not_found(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("secret not found")));
}

static bool
has_scope(Datum scopes, const char *scope)
{
	ArrayType  *array = DatumGetArrayTypeP(scopes);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(array, ARR_ELEMTYPE(array), sizeof(Oid), true, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i] &&
			strcmp(DatumGetCString(DirectFunctionCall1(enum_out, elems[i])), scope) == 0)
			return true;
	return false;
}

static text *
plaintext_result(uint8 *plaintext, int length)
{
	text	   *result = cstring_to_text_with_len((char *) plaintext, length);

	ss_secure_free(plaintext, length + 1);
	return result;
}

/*
 * get_bound_secret(account_id, script_name, binding_name) -> text
 */
Datum
ss_get_bound_secret(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *account_id = PG_GETARG_UUID_P(0);
	pg_uuid_t	store_id;
	char	   *secret_name;
	pg_uuid_t	secret_id;
	Datum		scopes;
	uint8	   *plaintext;
	int			length;

	require_runtime_role("get_bound_secret");
	if (!ss_find_binding(account_id, PG_GETARG_DATUM(1), PG_GETARG_DATUM(2),
						 &store_id, &secret_name))
		secret_not_found();
	if (!ss_find_secret_by_name(account_id, &store_id, secret_name, &secret_id, &scopes) ||
		!has_scope(scopes, "workers"))
		secret_not_found();
	plaintext = open_value(account_id, &secret_id, &length);
	if (plaintext == NULL)
		secret_not_found();
	{
		StringInfoData details;

		initStringInfo(&details);
		appendStringInfoString(&details, "{\"through\": \"worker_binding\", \"script_name\": ");
		escape_json(&details, TextDatumGetCString(PG_GETARG_DATUM(1)));
		appendStringInfoString(&details, ", \"binding_name\": ");
		escape_json(&details, TextDatumGetCString(PG_GETARG_DATUM(2)));
		appendStringInfoChar(&details, '}');
		ss_audit_event(account_id, "access", "secret", &secret_id, secret_name,
					   details.data, true);
	}
	PG_RETURN_TEXT_P(plaintext_result(plaintext, length));
}

/*
 * get_gateway_key(account_id, gateway_id, provider, alias) -> text
 */
Datum
ss_get_gateway_key(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *account_id = PG_GETARG_UUID_P(0);
	pg_uuid_t	secret_id;
	Datum		scopes;
	uint8	   *plaintext;
	int			length;

	require_runtime_role("get_gateway_key");
	if (!ss_find_association(account_id, PG_GETARG_DATUM(1), PG_GETARG_DATUM(2),
							 PG_GETARG_DATUM(3), &secret_id))
		secret_not_found();
	if (!ss_find_secret_by_id(account_id, &secret_id, &scopes) ||
		!has_scope(scopes, "ai_gateway"))
		secret_not_found();
	plaintext = open_value(account_id, &secret_id, &length);
	if (plaintext == NULL)
		secret_not_found();
	{
		StringInfoData details;

		initStringInfo(&details);
		appendStringInfoString(&details, "{\"through\": \"ai_gateway_association\", \"gateway_id\": ");
		escape_json(&details, TextDatumGetCString(PG_GETARG_DATUM(1)));
		appendStringInfoString(&details, ", \"provider\": ");
		escape_json(&details, TextDatumGetCString(PG_GETARG_DATUM(2)));
		appendStringInfoString(&details, ", \"alias\": ");
		escape_json(&details, TextDatumGetCString(PG_GETARG_DATUM(3)));
		appendStringInfoChar(&details, '}');
		ss_audit_event(account_id, "access", "secret", &secret_id,
					   secret_name_of(account_id, &secret_id), details.data, true);
	}
	PG_RETURN_TEXT_P(plaintext_result(plaintext, length));
}
