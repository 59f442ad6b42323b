/*-------------------------------------------------------------------------
 *
 * principal.c
 *	  Who is asking.
 *
 * ss_current_principal() is the one place that decides on whose behalf a
 * statement runs.  Today it knows one kind of principal: the member whose
 * members.db_role is the role the statement runs as (current_user), which is
 * how a person using psql is identified.  Transaction-scoped principals (API
 * tokens, delegated members) are resolved here too when they exist, ahead of
 * the database role, so every caller -- policies, functions, triggers --
 * sees the same answer.
 *
 * The principal is kept in backend memory only.  No setting holds it, so no
 * SET, set_config() or RESET can forge or reveal it.  The cached answer for a
 * role is dropped whenever the members table changes (see permissions.c for
 * the invalidation), or when the current role changes (SET ROLE, SECURITY
 * DEFINER functions), because the cache is keyed by the role.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "secrets_store.h"

PG_FUNCTION_INFO_V1(ss_whoami);
PG_FUNCTION_INFO_V1(ss_current_member_id);

static MemoryContext PrincipalContext = NULL;
static bool principal_valid = false;
static Principal cached_principal;

/*
 * Mark the cached principal stale.  Called from the invalidation callback,
 * which may run while a lookup is in progress, so memory is released only at
 * the start of the next lookup.
 */
void
ss_principal_cache_reset(void)
{
	principal_valid = false;
}

/*
 * Find the member whose db_role is the given role name, reading the members
 * table through its unique index on db_role.  Row-level security is not
 * applied here: this is the lookup that establishes who may see what.
 */
static void
resolve_database_role(Principal *principal, Oid userid)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	Snapshot	snapshot;
	NameData	rolename;

	namestrcpy(&rolename, GetUserNameFromId(userid, false));

	rel = table_open(ss_relation_oid(SS_REL_MEMBERS), AccessShareLock);
	ScanKeyInit(&key,
				attnameAttNum(rel, "db_role", false),
				BTEqualStrategyNumber, F_NAMEEQ,
				NameGetDatum(&rolename));

	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, ss_index_oid("members_db_role_key"), true,
							  snapshot, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;
		Datum		id;
		Datum		email;

		id = heap_getattr(tuple, attnameAttNum(rel, "id", false), desc, &isnull);
		email = heap_getattr(tuple, attnameAttNum(rel, "email", false), desc, &isnull);

		principal->type = PRINCIPAL_DATABASE_ROLE;
		principal->has_member = true;
		memcpy(&principal->member_id, DatumGetUUIDP(id), sizeof(pg_uuid_t));
		principal->member_email =
			MemoryContextStrdup(PrincipalContext, TextDatumGetCString(email));
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
}

/*
 * The principal of the current statement.  The returned pointer stays valid
 * until the next cache reset; callers copy what they keep.
 */
const Principal *
ss_current_principal(void)
{
	Oid			userid = GetUserId();

	if (principal_valid && cached_principal.userid == userid)
		return &cached_principal;

	if (PrincipalContext == NULL)
		PrincipalContext = AllocSetContextCreate(CacheMemoryContext,
												 "secrets_store principal",
												 ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(PrincipalContext);

	memset(&cached_principal, 0, sizeof(cached_principal));
	cached_principal.type = PRINCIPAL_NOBODY;
	cached_principal.userid = userid;
	resolve_database_role(&cached_principal, userid);

	principal_valid = true;
	return &cached_principal;
}

const char *
ss_principal_type_name(PrincipalType type)
{
	switch (type)
	{
		case PRINCIPAL_NOBODY:
			return "nobody";
		case PRINCIPAL_DATABASE_ROLE:
			return "database_role";
		case PRINCIPAL_MEMBER:
			return "member";
		case PRINCIPAL_TOKEN:
			return "token";
	}
	return "nobody";
}

/*
 * A short description of a principal for error messages: names who was
 * refused without revealing anything about other accounts.
 */
char *
ss_describe_principal(const Principal *principal)
{
	const char *rolename = GetUserNameFromId(principal->userid, true);

	switch (principal->type)
	{
		case PRINCIPAL_DATABASE_ROLE:
			return psprintf("member \"%s\" (database role \"%s\")",
							principal->member_email,
							rolename ? rolename : "?");
		case PRINCIPAL_MEMBER:
			return psprintf("member \"%s\"", principal->member_email);
		case PRINCIPAL_TOKEN:
			return psprintf("API token %s",
							DatumGetCString(DirectFunctionCall1(uuid_out,
																UUIDPGetDatum(&principal->token_id))));
		case PRINCIPAL_NOBODY:
			break;
	}
	return psprintf("database role \"%s\", which is not linked to a secrets_store member,",
					rolename ? rolename : "?");
}

/*
 * whoami() -> (principal_type text, member_id uuid, token_id uuid, db_role name)
 */
Datum
ss_whoami(PG_FUNCTION_ARGS)
{
	const Principal *principal = ss_current_principal();
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	Name		rolename;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	desc = BlessTupleDesc(desc);

	values[0] = CStringGetTextDatum(ss_principal_type_name(principal->type));
	if (principal->has_member)
	{
		pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

		memcpy(id, &principal->member_id, sizeof(pg_uuid_t));
		values[1] = UUIDPGetDatum(id);
	}
	else
		nulls[1] = true;
	if (principal->has_token)
	{
		pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

		memcpy(id, &principal->token_id, sizeof(pg_uuid_t));
		values[2] = UUIDPGetDatum(id);
	}
	else
		nulls[2] = true;
	rolename = palloc0(NAMEDATALEN);
	namestrcpy(rolename, GetUserNameFromId(GetUserId(), false));
	values[3] = NameGetDatum(rolename);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * current_member_id() -> uuid: the member behind the principal, or NULL.
 */
Datum
ss_current_member_id(PG_FUNCTION_ARGS)
{
	const Principal *principal = ss_current_principal();
	pg_uuid_t  *id;

	if (!principal->has_member)
		PG_RETURN_NULL();
	id = palloc(sizeof(pg_uuid_t));
	memcpy(id, &principal->member_id, sizeof(pg_uuid_t));
	PG_RETURN_UUID_P(id);
}
