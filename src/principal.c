/*-------------------------------------------------------------------------
 *
 * principal.c
 *	  Who is asking.
 *
 * ss_current_principal() is the one place that decides on whose behalf a
 * statement runs.  In order:
 *
 *	1. a transaction principal, established by authenticate(token) (an API
 *	   token, tokens.c) or act_as(member_id) (a member an application vouches
 *	   for); it lasts until the end of the transaction;
 *	2. otherwise the member whose members.db_role is the role the statement
 *	   runs as (current_user): the psql path;
 *	3. otherwise nobody.
 *
 * The principal is kept in backend memory only.  No setting holds it, so no
 * SET, set_config(), RESET or DISCARD can forge or reveal it.  A transaction
 * principal is dropped at commit, abort and PREPARE, and when the savepoint
 * in which it was established is rolled back, so a pooled connection never
 * hands one client's principal to the next and no error leaves half a
 * principal behind.
 *
 * The database-role answer is cached per role; the cache is marked stale
 * whenever the members table changes (see permissions.c for the
 * invalidation) and is keyed by the role, so SET ROLE and SECURITY DEFINER
 * functions resolve afresh.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
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
PG_FUNCTION_INFO_V1(ss_act_as);

#define SS_GATEWAY_ROLE		"secrets_store_gateway"

/* the database-role principal, cached per role */
static MemoryContext PrincipalContext = NULL;
static bool principal_valid = false;
static Principal cached_principal;

/* the transaction principal, if any */
static MemoryContext TransactionPrincipalContext = NULL;
static bool transaction_principal_active = false;
static Principal transaction_principal;
static SubTransactionId transaction_principal_subid = InvalidSubTransactionId;

/*
 * Mark the cached database-role principal stale.  Called from the
 * invalidation callback, which may run while a lookup is in progress, so
 * memory is released only at the start of the next lookup.
 */
void
ss_principal_cache_reset(void)
{
	principal_valid = false;
}

/* ---------------------------------------------------------------------
 * Transaction principals
 * ---------------------------------------------------------------------
 */

static void
clear_transaction_principal(void)
{
	transaction_principal_active = false;
	transaction_principal_subid = InvalidSubTransactionId;
	memset(&transaction_principal, 0, sizeof(transaction_principal));
	if (TransactionPrincipalContext != NULL)
		MemoryContextReset(TransactionPrincipalContext);
}

static void
principal_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			clear_transaction_principal();
			break;
		default:
			break;
	}
}

/*
 * A principal established inside a savepoint disappears with it when the
 * savepoint is rolled back, and belongs to the parent when it is released.
 */
static void
principal_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	if (!transaction_principal_active || mySubid != transaction_principal_subid)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		clear_transaction_principal();
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		transaction_principal_subid = parentSubid;
}

void
ss_register_principal_callbacks(void)
{
	RegisterXactCallback(principal_xact_callback, NULL);
	RegisterSubXactCallback(principal_subxact_callback, NULL);
}

/*
 * authenticate() and act_as() only make sense inside an explicit
 * transaction: outside one, the principal would vanish before the next
 * statement.  The statement may hold a bearer string, so these errors do not
 * repeat it in the server log.
 */
void
ss_require_transaction_block(const char *function_name)
{
	if (!IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s() must be called inside a transaction block", function_name),
				 errdetail("The principal it establishes lasts until the end of the transaction."),
				 errhint("Wrap it and the statements it is for in BEGIN ... COMMIT."),
				 errhidestmt(true), errhidecontext(true)));
	if (transaction_principal_active)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("a principal is already established in this transaction"),
				 errhint("End the transaction (COMMIT or ROLLBACK) and call %s() in a new one.",
						 function_name),
				 errhidestmt(true), errhidecontext(true)));
}

bool
ss_has_transaction_principal(void)
{
	return transaction_principal_active;
}

/*
 * Install a transaction principal.  Strings are copied into memory that
 * lives until the principal is cleared.
 */
void
ss_set_transaction_principal(const Principal *principal)
{
	if (TransactionPrincipalContext == NULL)
		TransactionPrincipalContext = AllocSetContextCreate(TopMemoryContext,
															"secrets_store transaction principal",
															ALLOCSET_SMALL_SIZES);
	clear_transaction_principal();
	transaction_principal = *principal;
	transaction_principal.userid = InvalidOid;
	if (principal->member_email)
		transaction_principal.member_email =
			MemoryContextStrdup(TransactionPrincipalContext, principal->member_email);
	if (principal->token_name)
		transaction_principal.token_name =
			MemoryContextStrdup(TransactionPrincipalContext, principal->token_name);
	transaction_principal_subid = GetCurrentSubTransactionId();
	transaction_principal_active = true;
}

/* ---------------------------------------------------------------------
 * Members
 * ---------------------------------------------------------------------
 */

/*
 * Read one member through an index on members, below row-level security:
 * this is the lookup that establishes who may see what.
 */
static bool
find_member_by(const char *index_name, const char *column, Oid eq_proc,
			   Datum key_value, pg_uuid_t *id_out, char **email_out,
			   MemoryContext mcxt)
{
	SsKey		key = {column, eq_proc, key_value};
	static const char *const columns[] = {"id", "email"};
	Datum		values[2];
	bool		nulls[2];

	if (!ss_lookup_row(SS_REL_MEMBERS, index_name, &key, 1, columns, values, nulls, 2) ||
		nulls[0] || nulls[1])
		return false;
	memcpy(id_out, DatumGetUUIDP(values[0]), sizeof(pg_uuid_t));
	*email_out = MemoryContextStrdup(mcxt, TextDatumGetCString(values[1]));
	return true;
}

bool
ss_find_member(const pg_uuid_t *member_id, char **email)
{
	pg_uuid_t	id;

	return find_member_by("members_pkey", "id", F_UUID_EQ,
						  UUIDPGetDatum(member_id), &id, email,
						  CurrentMemoryContext);
}

/*
 * The principal of the current statement.  The returned pointer stays valid
 * until the next cache reset or the end of the transaction; callers copy
 * what they keep.
 */
const Principal *
ss_current_principal(void)
{
	Oid			userid;
	NameData	rolename;
	uint64		counter_before;

	if (transaction_principal_active)
		return &transaction_principal;

	userid = GetUserId();
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

	counter_before = ss_invalidation_count();
	namestrcpy(&rolename, GetUserNameFromId(userid, false));
	if (find_member_by("members_db_role_key", "db_role", F_NAMEEQ,
					   NameGetDatum(&rolename), &cached_principal.member_id,
					   &cached_principal.member_email, PrincipalContext))
	{
		cached_principal.type = PRINCIPAL_DATABASE_ROLE;
		cached_principal.has_member = true;
	}

	/*
	 * An invalidation that arrived during the lookup may concern what was
	 * just read: answer with it, but read again next time.
	 */
	principal_valid = (counter_before == ss_invalidation_count());
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
	const char *rolename = GetUserNameFromId(GetUserId(), true);

	switch (principal->type)
	{
		case PRINCIPAL_DATABASE_ROLE:
			return psprintf("member \"%s\" (database role \"%s\")",
							principal->member_email,
							rolename ? rolename : "?");
		case PRINCIPAL_MEMBER:
			return psprintf("member \"%s\" (acting through database role \"%s\")",
							principal->member_email,
							rolename ? rolename : "?");
		case PRINCIPAL_TOKEN:
			return psprintf("API token \"%s\" (%s)",
							principal->token_name ? principal->token_name : "",
							ss_uuid_string(&principal->token_id));
		case PRINCIPAL_NOBODY:
			break;
	}
	return psprintf("database role \"%s\", which is not linked to a secrets_store member,",
					rolename ? rolename : "?");
}

static Datum
uuid_datum(const pg_uuid_t *id)
{
	pg_uuid_t  *copy = palloc(sizeof(pg_uuid_t));

	memcpy(copy, id, sizeof(pg_uuid_t));
	return UUIDPGetDatum(copy);
}

/*
 * The whoami() row of the current principal:
 * (principal_type text, member_id uuid, token_id uuid, db_role name).
 * For a token, member_id is NULL: the token, not its owner, is asking.
 */
Datum
ss_principal_tuple(FunctionCallInfo fcinfo)
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
		values[1] = uuid_datum(&principal->member_id);
	else
		nulls[1] = true;
	if (principal->has_token)
		values[2] = uuid_datum(&principal->token_id);
	else
		nulls[2] = true;
	rolename = palloc0(NAMEDATALEN);
	namestrcpy(rolename, GetUserNameFromId(GetUserId(), false));
	values[3] = NameGetDatum(rolename);

	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/*
 * whoami() -> secrets_store.principal
 */
Datum
ss_whoami(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(ss_principal_tuple(fcinfo));
}

/*
 * current_member_id() -> uuid: the person behind the principal, or NULL
 * (nobody, or an API token).
 */
Datum
ss_current_member_id(PG_FUNCTION_ARGS)
{
	const Principal *principal = ss_current_principal();

	if (!principal->has_member)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(uuid_datum(&principal->member_id));
}

/*
 * act_as(member_id uuid) -> secrets_store.principal
 *
 * For applications that authenticate their own users: a role in
 * secrets_store_gateway vouches for a member, whose roles then decide, until
 * the end of the transaction.
 */
Datum
ss_act_as(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *member_id = PG_GETARG_UUID_P(0);
	Oid			gateway = get_role_oid(SS_GATEWAY_ROLE, true);
	Principal	principal;

	if (!OidIsValid(gateway) || !has_privs_of_role(GetUserId(), gateway))
	{
		ss_audit_refusal(NULL, "act_as", "42501", "not a gateway role");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: database role \"%s\" may not act as a member",
						GetUserNameFromId(GetUserId(), false)),
				 errhint("Only members of %s may call act_as(); grant it to the application's login role.",
						 SS_GATEWAY_ROLE)));
	}
	ss_require_transaction_block("act_as");

	memset(&principal, 0, sizeof(principal));
	if (!ss_find_member(member_id, &principal.member_email))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("member %s not found", ss_uuid_string(member_id))));
	principal.type = PRINCIPAL_MEMBER;
	principal.has_member = true;
	memcpy(&principal.member_id, member_id, sizeof(pg_uuid_t));
	ss_set_transaction_principal(&principal);

	PG_RETURN_DATUM(ss_principal_tuple(fcinfo));
}
