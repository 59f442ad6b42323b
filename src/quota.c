/*-------------------------------------------------------------------------
 *
 * quota.c
 *	  Store and secret quotas, kept as counters.
 *
 * Each account's usage is a row of secrets_store.account_usage, maintained
 * by triggers on stores and secrets: take_quota() after an INSERT adds one
 * and refuses the row if that passes the account's limit; release_quota()
 * after a DELETE takes one away.  Both run AFTER the row change, so a row
 * that INSERT ... ON CONFLICT never inserts is never counted.  Adding one is an upsert that locks the
 * account's usage row until the transaction ends, so concurrent writers in
 * one account are serialised and count each other exactly, and a check
 * costs the same whatever the account holds.  Both are trigger functions
 * only: no SQL call can move a counter.  recount_usage() rebuilds the
 * counters from the rows (after a bulk load that bypassed triggers).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "secrets_store.h"

PG_FUNCTION_INFO_V1(ss_take_quota);
PG_FUNCTION_INFO_V1(ss_release_quota);
PG_FUNCTION_INFO_V1(ss_recount_usage);

#define DEFAULT_MAX_STORES		1
#define DEFAULT_MAX_SECRETS		100

static const char *const take_secret_sql =
"INSERT INTO secrets_store.account_usage AS u (account_id, secrets) VALUES ($1, 1)"
" ON CONFLICT (account_id) DO UPDATE SET secrets = u.secrets OPERATOR(pg_catalog.+) 1"
" RETURNING u.secrets";
static const char *const take_store_sql =
"INSERT INTO secrets_store.account_usage AS u (account_id, stores) VALUES ($1, 1)"
" ON CONFLICT (account_id) DO UPDATE SET stores = u.stores OPERATOR(pg_catalog.+) 1"
" RETURNING u.stores";
static const char *const release_secret_sql =
"UPDATE secrets_store.account_usage SET secrets = secrets OPERATOR(pg_catalog.-) 1"
" WHERE account_id OPERATOR(pg_catalog.=) $1";
static const char *const release_store_sql =
"UPDATE secrets_store.account_usage SET stores = stores OPERATOR(pg_catalog.-) 1"
" WHERE account_id OPERATOR(pg_catalog.=) $1";

static bool
kind_is_secrets(TriggerData *trigdata)
{
	if (trigdata->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("quota triggers take one argument: secrets or stores")));
	return strcmp(trigdata->tg_trigger->tgargs[0], "secrets") == 0;
}

static Datum
account_of_row(TriggerData *trigdata, HeapTuple tuple)
{
	Relation	rel = trigdata->tg_relation;
	bool		isnull;
	Datum		account = heap_getattr(tuple, attnameAttNum(rel, "account_id", false),
									   RelationGetDescr(rel), &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("account_id must not be null")));
	return account;
}

static int
account_limit(Datum account, bool secrets)
{
	SsKey		key = {"account_id", F_UUID_EQ, account};
	const char *columns[1] = {secrets ? "max_secrets" : "max_stores"};
	Datum		limit;
	bool		isnull;

	if (ss_lookup_row(SS_REL_ACCOUNT_LIMITS, "account_limits_pkey", &key, 1,
					  columns, &limit, &isnull, 1) && !isnull)
		return DatumGetInt32(limit);
	return secrets ? DEFAULT_MAX_SECRETS : DEFAULT_MAX_STORES;
}

/*
 * take_quota() -- AFTER INSERT ROW on stores ('stores') and secrets
 * ('secrets'): an error here undoes the insert.
 */
Datum
ss_take_quota(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		secrets;
	Datum		account;
	Oid			types[1] = {UUIDOID};
	Datum		values[1];
	bool		isnull;
	int64		used;
	int			limit;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("take_quota() must be an AFTER INSERT ROW trigger")));
	secrets = kind_is_secrets(trigdata);
	account = account_of_row(trigdata, trigdata->tg_trigtuple);
	values[0] = account;

	used = DatumGetInt32(ss_spi_as_owner_value(SS_REL_ACCOUNT_USAGE,
											   secrets ? take_secret_sql : take_store_sql,
											   1, types, values, NULL, &isnull));
	limit = account_limit(account, secrets);
	if (used > limit)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("maximum %s exceeded: the account has " INT64_FORMAT " of %d %s",
						secrets ? "secrets" : "stores", used - 1, limit,
						secrets ? "secrets" : "stores"),
				 secrets ?
				 errhint("Delete secrets that are no longer used, or ask an operator to raise account_limits.max_secrets.") :
				 errhint("Use the existing store, delete one, or ask an operator to raise account_limits.max_stores.")));
	return PointerGetDatum(NULL);
}

/*
 * release_quota() -- AFTER DELETE ROW on stores and secrets.
 */
Datum
ss_release_quota(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		secrets;
	Oid			types[1] = {UUIDOID};
	Datum		values[1];

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("release_quota() must be an AFTER DELETE ROW trigger")));
	secrets = kind_is_secrets(trigdata);
	values[0] = account_of_row(trigdata, trigdata->tg_trigtuple);
	ss_spi_as_owner(SS_REL_ACCOUNT_USAGE, secrets ? release_secret_sql : release_store_sql,
					1, types, values, NULL);
	return PointerGetDatum(NULL);
}

/*
 * recount_usage() -> integer: rebuild every account's counters from its
 * rows.  For operators, after loading data with triggers disabled.
 */
Datum
ss_recount_usage(PG_FUNCTION_ARGS)
{
	if (!ss_is_operator())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: only a secrets_store operator may recount usage")));
	PG_RETURN_INT32(ss_spi_as_owner(SS_REL_ACCOUNT_USAGE,
									"INSERT INTO secrets_store.account_usage AS u (account_id, stores, secrets)"
									" SELECT a.id,"
									" (SELECT pg_catalog.count(*) FROM secrets_store.stores s"
									"   WHERE s.account_id OPERATOR(pg_catalog.=) a.id),"
									" (SELECT pg_catalog.count(*) FROM secrets_store.secrets s"
									"   WHERE s.account_id OPERATOR(pg_catalog.=) a.id)"
									" FROM secrets_store.accounts a"
									" ON CONFLICT (account_id) DO UPDATE"
									" SET stores = EXCLUDED.stores, secrets = EXCLUDED.secrets",
									0, NULL, NULL, NULL));
}
