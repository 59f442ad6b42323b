/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Where our tables and indexes are.
 *
 * The C code reads a few of the extension's own tables directly (through
 * their indexes, below the rewriter), so that computing a principal's rights
 * never recurses into the row-level-security policies that call it.  The
 * relation OIDs are looked up by name once and remembered until a relcache
 * invalidation says one of them (or everything) changed, which covers DROP
 * EXTENSION followed by CREATE EXTENSION in the same backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/datum.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "secrets_store.h"

static const char *const relation_names[SS_NUM_RELATIONS] = {
	[SS_REL_ACCOUNTS] = "accounts",
	[SS_REL_MEMBERS] = "members",
	[SS_REL_ROLE_ASSIGNMENTS] = "role_assignments",
	[SS_REL_ROLE_ACTIONS] = "role_actions",
	[SS_REL_PERMISSION_GROUP_ACTIONS] = "permission_group_actions",
	[SS_REL_ACCOUNT_LIMITS] = "account_limits",
	[SS_REL_STORES] = "stores",
	[SS_REL_SECRETS] = "secrets",
	[SS_REL_WORKER_BINDINGS] = "worker_bindings",
	[SS_REL_AI_GATEWAY_ASSOCIATIONS] = "ai_gateway_associations",
	[SS_REL_API_TOKENS] = "api_tokens",
	[SS_REL_API_TOKEN_SECRETS] = "api_token_secrets",
	[SS_REL_ACCOUNT_KEYS] = "account_keys",
	[SS_REL_SECRET_VALUES] = "secret_values",
	[SS_REL_AUDIT_EVENTS] = "audit_events",
	[SS_REL_ACCOUNT_USAGE] = "account_usage",
};

static Oid	relation_oids[SS_NUM_RELATIONS];

static Oid
schema_oid(void)
{
	Oid			nspid = get_namespace_oid(SS_SCHEMA_NAME, true);

	if (!OidIsValid(nspid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("schema \"%s\" does not exist", SS_SCHEMA_NAME),
				 errhint("Run CREATE EXTENSION secrets_store.")));
	return nspid;
}

static Oid
lookup_relation(const char *name)
{
	Oid			relid = get_relname_relid(name, schema_oid());

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", SS_SCHEMA_NAME, name),
				 errhint("The secrets_store extension is not installed correctly; reinstall it.")));
	return relid;
}

/*
 * OID of one of the extension's tables.
 */
Oid
ss_relation_oid(SsRelation rel)
{
	Assert(rel >= 0 && rel < SS_NUM_RELATIONS);
	if (!OidIsValid(relation_oids[rel]))
		relation_oids[rel] = lookup_relation(relation_names[rel]);
	return relation_oids[rel];
}

/*
 * OID of one of the extension's indexes.  Index names are fixed in the
 * install script; callers use them rarely enough (once per cache rebuild or
 * per lookup function call) that a name lookup is cheap next to the scan.
 */
Oid
ss_index_oid(const char *index_name)
{
	return lookup_relation(index_name);
}

bool
ss_is_own_relation(Oid relid)
{
	for (int i = 0; i < SS_NUM_RELATIONS; i++)
		if (relation_oids[i] == relid)
			return true;
	return false;
}

void
ss_catalog_reset(void)
{
	memset(relation_oids, 0, sizeof(relation_oids));
}

/*
 * Find the single row of rel matching keys through the named index and
 * return copies of the wanted columns.  Returns false if there is none.
 */
bool
ss_lookup_row(SsRelation relation, const char *index_name,
			  const SsKey *keys, int nkeys,
			  const char *const *columns, Datum *values, bool *nulls, int ncolumns)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData scankeys[4];
	HeapTuple	tuple;
	Snapshot	snapshot;
	bool		found = false;

	Assert(nkeys <= 4);
	rel = table_open(ss_relation_oid(relation), AccessShareLock);
	for (int i = 0; i < nkeys; i++)
		ScanKeyInit(&scankeys[i], attnameAttNum(rel, keys[i].column, false),
					BTEqualStrategyNumber, keys[i].eq_proc, keys[i].value);

	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, ss_index_oid(index_name), true, snapshot,
							  nkeys, scankeys);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		TupleDesc	desc = RelationGetDescr(rel);

		for (int i = 0; i < ncolumns; i++)
		{
			AttrNumber	att = attnameAttNum(rel, columns[i], false);
			Form_pg_attribute attr = TupleDescAttr(desc, att - 1);
			Datum		value = heap_getattr(tuple, att, desc, &nulls[i]);

			values[i] = nulls[i] ? (Datum) 0 :
				datumCopy(value, attr->attbyval, attr->attlen);
		}
		found = true;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Run one parameterised statement as the owner of one of our tables, with
 * row-level security not forced: the way referential-integrity triggers write
 * past policies.  Used only for writes the principal must not make directly
 * (token hashes, sealed values, data keys, last_used_at), after the caller
 * has checked the principal's right to cause them.  Returns SPI_processed.
 *
 * The statement runs as a security-restricted operation with search_path
 * pinned to pg_catalog, pg_temp, so no function or operator of the caller's
 * can run with the owner's rights; the statements also qualify everything.
 */
void
ss_become_owner(SsRelation relation, SsOwnerState *state)
{
	Relation	rel = table_open(ss_relation_oid(relation), AccessShareLock);
	Oid			owner = rel->rd_rel->relowner;

	table_close(rel, AccessShareLock);
	GetUserIdAndSecContext(&state->userid, &state->sec_context);
	SetUserIdAndSecContext(owner, state->sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION | SECURITY_NOFORCE_RLS);
	state->nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
}

void
ss_restore_owner(SsOwnerState *state)
{
	AtEOXact_GUC(false, state->nestlevel);
	SetUserIdAndSecContext(state->userid, state->sec_context);
}

/*
 * Plans of the statements run as the owner, prepared once per backend.  The
 * statements are string constants of the C code, so the pointer identifies
 * one; the plan cache revalidates the plans when the tables change.
 */
typedef struct OwnerPlan
{
	const char *sql;
	SPIPlanPtr	plan;
} OwnerPlan;

#define MAX_OWNER_PLANS 32
static OwnerPlan owner_plans[MAX_OWNER_PLANS];
static int	n_owner_plans = 0;

static SPIPlanPtr
owner_plan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan;

	for (int i = 0; i < n_owner_plans; i++)
		if (owner_plans[i].sql == sql)
			return owner_plans[i].plan;
	plan = SPI_prepare(sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (n_owner_plans < MAX_OWNER_PLANS)
	{
		SPI_keepplan(plan);
		owner_plans[n_owner_plans].sql = sql;
		owner_plans[n_owner_plans].plan = plan;
		n_owner_plans++;
	}
	return plan;
}

int
ss_spi_as_owner(SsRelation relation, const char *sql, int nargs,
				Oid *argtypes, Datum *values, const char *nulls)
{
	SsOwnerState state;
	int			rc;
	volatile uint64 processed = 0;

	ss_become_owner(relation, &state);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		rc = SPI_execute_plan(owner_plan(sql, nargs, argtypes), values, nulls, false, 0);
		if (rc < 0)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
		processed = SPI_processed;
		SPI_finish();
	}
	PG_FINALLY();
	{
		ss_restore_owner(&state);
	}
	PG_END_TRY();
	return (int) processed;
}

/*
 * As ss_spi_as_owner(), for a statement that returns one value (the first
 * column of its first row).
 */
Datum
ss_spi_as_owner_value(SsRelation relation, const char *sql, int nargs,
					  Oid *argtypes, Datum *values, const char *nulls, bool *isnull)
{
	SsOwnerState state;
	int			rc;
	volatile Datum result = (Datum) 0;
	volatile bool result_null = true;

	ss_become_owner(relation, &state);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		rc = SPI_execute_plan(owner_plan(sql, nargs, argtypes), values, nulls, false, 0);
		if (rc < 0)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
		if (SPI_processed > 0)
		{
			bool		null;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null);

			result_null = null;
			/* by-value results only (counters) */
			result = d;
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		ss_restore_owner(&state);
	}
	PG_END_TRY();
	*isnull = result_null;
	return result;
}
