/*-------------------------------------------------------------------------
 *
 * permissions.c
 *	  The permission matrix, a principal's rights, and the functions that
 *	  row-level-security policies call.
 *
 * A principal's rights are a map from account to a bitmask of actions.  For a
 * member they are the union of the actions of every role the member holds in
 * the account (role_assignments joined with role_actions).  The map is built
 * once per principal by reading the tables directly through their indexes, and
 * kept in a backend-local cache.
 *
 * Policies are written as plain comparisons with these functions, e.g.
 *
 *		account_id = ANY (secrets_store.accounts_with('secret.read'))
 *
 * so the planner can use the index on account_id (the array is a run-time
 * index key, evaluated once per scan) and no policy needs a subquery (which
 * Citus cannot push into shard queries, see DESIGN.md section 7).  When the
 * predicate is evaluated per row instead (a sequential scan), each call costs
 * a comparison of the current role with the cached one and a copy of a small,
 * prebuilt array.
 *
 * Cache correctness does not depend on timeouts.  Statement-level triggers on
 * every table the rights are derived from (members, role_assignments,
 * role_actions, permission_group_actions) call
 * secrets_store.invalidate_rights_cache(), which registers a relcache
 * invalidation.  PostgreSQL delivers it to this backend at the next command
 * and to every other backend at commit; each backend processes it at the
 * start of its next transaction at the latest.  A transaction that starts
 * after a revoking transaction committed therefore never sees the revoked
 * right.  On abort the invalidation is processed locally too, so a rolled
 * back grant is forgotten.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "secrets_store.h"

PG_FUNCTION_INFO_V1(ss_can);
PG_FUNCTION_INFO_V1(ss_my_actions);
PG_FUNCTION_INFO_V1(ss_accounts_with);
PG_FUNCTION_INFO_V1(ss_my_accounts);
PG_FUNCTION_INFO_V1(ss_managed_members);
PG_FUNCTION_INFO_V1(ss_is_operator_sql);
PG_FUNCTION_INFO_V1(ss_require_action_sql);
PG_FUNCTION_INFO_V1(ss_require_operator_sql);
PG_FUNCTION_INFO_V1(ss_invalidate_rights_cache);

const char *const ss_action_names[SS_NUM_ACTIONS] = {
	"secret.read",
	"secret.create",
	"secret.edit",
	"secret.duplicate",
	"secret.delete",
	"store.create",
	"store.delete",
	"binding.create",
	"binding.delete",
	"association.create",
	"association.delete",
	"member.manage",
	"token.manage",
	"audit.read",
};

#define ACTION_BIT(i)	((ActionMask) 1 << (i))

/* One row of the matrix, folded: an enum value (role or group) and its actions */
typedef struct GrantorMask
{
	Oid			grantor;		/* pg_enum OID of the role or permission group */
	ActionMask	actions;
} GrantorMask;

/* The principal's rights in one account */
typedef struct AccountRights
{
	pg_uuid_t	account_id;
	ActionMask	actions;
} AccountRights;

/* A prebuilt uuid[] of the accounts in which any action of a mask is held */
typedef struct AccountArray
{
	ActionMask	mask;
	ArrayType  *accounts;
} AccountArray;

/*
 * Everything derived for the current principal lives in RightsContext.  A new
 * one is built in a fresh context and swapped in only when complete, and the
 * invalidation callback merely marks the cache stale: a callback can run in
 * the middle of a rebuild (whenever a lock is taken), so it must never free
 * memory that a rebuild is using.
 */
static MemoryContext RightsContext = NULL;
static uint64 invalidation_counter = 0;
static bool rights_valid = false;
static Principal rights_owner;

/* the matrix (role_actions, permission_group_actions) */
static GrantorMask *role_masks = NULL;
static int	n_role_masks = 0;
static GrantorMask *group_masks = NULL;
static int	n_group_masks = 0;

/* the principal's rights, sorted by account */
static AccountRights *rights = NULL;
static int	n_rights = 0;

/* built lazily from the rights */
static List *account_arrays = NIL;
static ArrayType *managed_members = NULL;

static bool invalidation_registered = false;

/* ---------------------------------------------------------------------
 * Actions
 * ---------------------------------------------------------------------
 */

int
ss_action_index(const char *name)
{
	for (int i = 0; i < SS_NUM_ACTIONS; i++)
		if (strcmp(ss_action_names[i], name) == 0)
			return i;
	return -1;
}

int
ss_action_index_or_error(const char *name)
{
	int			index = ss_action_index(name);

	if (index < 0)
	{
		StringInfoData known;

		initStringInfo(&known);
		for (int i = 0; i < SS_NUM_ACTIONS; i++)
			appendStringInfo(&known, "%s%s", i > 0 ? ", " : "", ss_action_names[i]);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown action \"%.64s%s\"", name, strlen(name) > 64 ? "..." : ""),
				 errhint("Known actions: %s.", known.data)));
	}
	return index;
}

/* ---------------------------------------------------------------------
 * Cache maintenance
 * ---------------------------------------------------------------------
 */

/*
 * Relcache callback: any change to one of our tables (sent by the
 * invalidate_rights_cache trigger, or by DDL), or a full reset, makes every
 * cached principal and right in this backend stale.
 */
static void
rights_invalidation_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || ss_is_own_relation(relid))
	{
		invalidation_counter++;
		rights_valid = false;
		ss_principal_cache_reset();
		ss_catalog_reset();
	}
}

/*
 * Syscache callback on pg_authid: renaming, dropping or creating a role can
 * change which member a role name stands for.
 */
static void
role_invalidation_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	invalidation_counter++;
	rights_valid = false;
	ss_principal_cache_reset();
}

uint64
ss_invalidation_count(void)
{
	return invalidation_counter;
}

void
ss_register_invalidation(void)
{
	if (invalidation_registered)
		return;
	CacheRegisterRelcacheCallback(rights_invalidation_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, role_invalidation_callback, (Datum) 0);
	invalidation_registered = true;
}

/*
 * Fold a matrix table (grantor enum, action text) into grantor -> bitmask,
 * allocated in the current memory context.
 */
static GrantorMask *
load_matrix_table(SsRelation relation, const char *grantor_column, int *count)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	Snapshot	snapshot;
	TupleDesc	desc;
	AttrNumber	grantor_att;
	AttrNumber	action_att;
	GrantorMask *masks;
	int			allocated = 8;
	int			n = 0;

	masks = palloc(allocated * sizeof(GrantorMask));

	rel = table_open(ss_relation_oid(relation), AccessShareLock);
	desc = RelationGetDescr(rel);
	grantor_att = attnameAttNum(rel, grantor_column, false);
	action_att = attnameAttNum(rel, "action", false);

	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Oid			grantor;
		char	   *action;
		int			index;
		int			i;

		grantor = DatumGetObjectId(heap_getattr(tuple, grantor_att, desc, &isnull));
		if (isnull)
			continue;
		action = TextDatumGetCString(heap_getattr(tuple, action_att, desc, &isnull));
		if (isnull || (index = ss_action_index(action)) < 0)
			continue;			/* the table's CHECK constraint prevents this */

		for (i = 0; i < n; i++)
			if (masks[i].grantor == grantor)
				break;
		if (i == n)
		{
			if (n == allocated)
			{
				allocated *= 2;
				masks = repalloc(masks, allocated * sizeof(GrantorMask));
			}
			masks[n].grantor = grantor;
			masks[n].actions = 0;
			n++;
		}
		masks[i].actions |= ACTION_BIT(index);
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);

	*count = n;
	return masks;
}

static ActionMask
grantor_actions(const GrantorMask *masks, int n, Oid grantor)
{
	for (int i = 0; i < n; i++)
		if (masks[i].grantor == grantor)
			return masks[i].actions;
	return 0;
}

static int
account_rights_cmp(const void *a, const void *b)
{
	return memcmp(&((const AccountRights *) a)->account_id,
				  &((const AccountRights *) b)->account_id,
				  UUID_LEN);
}

/*
 * A member's rights: the union, per account, of the actions of every role
 * the member holds there.  Allocated in the current memory context.
 */
static AccountRights *
load_member_rights(const pg_uuid_t *member_id, const GrantorMask *roles,
				   int n_roles, int *count)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	Snapshot	snapshot;
	TupleDesc	desc;
	AttrNumber	account_att;
	AttrNumber	role_att;
	AccountRights *result;
	int			allocated = 8;
	int			n = 0;

	result = palloc(allocated * sizeof(AccountRights));

	rel = table_open(ss_relation_oid(SS_REL_ROLE_ASSIGNMENTS), AccessShareLock);
	desc = RelationGetDescr(rel);
	account_att = attnameAttNum(rel, "account_id", false);
	role_att = attnameAttNum(rel, "role", false);
	ScanKeyInit(&key, attnameAttNum(rel, "member_id", false),
				BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(member_id));

	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, ss_index_oid("role_assignments_member_id_idx"),
							  true, snapshot, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		pg_uuid_t  *account;
		Oid			role;

		account = DatumGetUUIDP(heap_getattr(tuple, account_att, desc, &isnull));
		role = DatumGetObjectId(heap_getattr(tuple, role_att, desc, &isnull));
		if (n == allocated)
		{
			allocated *= 2;
			result = repalloc(result, allocated * sizeof(AccountRights));
		}
		memcpy(&result[n].account_id, account, sizeof(pg_uuid_t));
		result[n].actions = grantor_actions(roles, n_roles, role);
		n++;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);

	/* sort by account and fold several roles in one account into one entry */
	if (n > 1)
	{
		int			out = 0;

		qsort(result, n, sizeof(AccountRights), account_rights_cmp);
		for (int i = 1; i < n; i++)
		{
			if (account_rights_cmp(&result[out], &result[i]) == 0)
				result[out].actions |= result[i].actions;
			else
				result[++out] = result[i];
		}
		n = out + 1;
	}
	*count = n;
	return result;
}

/*
 * A token's rights: in its one account, the union of its permission groups'
 * actions, intersected -- for a token owned by a member -- with the owner's
 * current actions there, so that no token does more than its owner and
 * demoting the owner disarms the token.
 */
static AccountRights *
load_token_rights(const Principal *principal, const GrantorMask *roles,
				  int n_roles, const GrantorMask *groups, int n_groups,
				  int *count)
{
	AccountRights *result = palloc(sizeof(AccountRights));
	ActionMask	actions = 0;

	for (int i = 0; i < principal->n_token_groups; i++)
		actions |= grantor_actions(groups, n_groups, principal->token_groups[i]);

	if (principal->has_token_owner)
	{
		int			n_owner;
		AccountRights *owner = load_member_rights(&principal->token_owner_id,
												  roles, n_roles, &n_owner);
		ActionMask	owner_actions = 0;

		for (int i = 0; i < n_owner; i++)
			if (memcmp(&owner[i].account_id, &principal->token_account_id, UUID_LEN) == 0)
				owner_actions = owner[i].actions;
		actions &= owner_actions;
	}

	memcpy(&result->account_id, &principal->token_account_id, sizeof(pg_uuid_t));
	result->actions = actions;
	*count = 1;
	return result;
}

static bool
same_principal(const Principal *a, const Principal *b)
{
	return a->type == b->type &&
		a->userid == b->userid &&
		a->has_member == b->has_member &&
		a->has_token == b->has_token &&
		(!a->has_member || memcmp(&a->member_id, &b->member_id, UUID_LEN) == 0) &&
		(!a->has_token || memcmp(&a->token_id, &b->token_id, UUID_LEN) == 0);
}

/*
 * Make sure the matrix and the rights of the current principal are loaded.
 * If an invalidation arrives while they are being read, the result may
 * already be stale: throw it away and read again.
 */
static void
ensure_rights(void)
{
	for (;;)
	{
		uint64		counter_before = invalidation_counter;
		const Principal *principal = ss_current_principal();
		MemoryContext build;
		MemoryContext old;
		GrantorMask *new_roles;
		GrantorMask *new_groups;
		int			new_n_roles;
		int			new_n_groups;
		AccountRights *new_rights = NULL;
		int			new_n_rights = 0;

		if (rights_valid && same_principal(principal, &rights_owner))
			return;

		build = AllocSetContextCreate(CurrentMemoryContext,
									  "secrets_store rights",
									  ALLOCSET_SMALL_SIZES);
		old = MemoryContextSwitchTo(build);
		new_roles = load_matrix_table(SS_REL_ROLE_ACTIONS, "role", &new_n_roles);
		new_groups = load_matrix_table(SS_REL_PERMISSION_GROUP_ACTIONS,
									   "permission_group", &new_n_groups);
		if (principal->type == PRINCIPAL_TOKEN)
			new_rights = load_token_rights(principal, new_roles, new_n_roles,
										   new_groups, new_n_groups,
										   &new_n_rights);
		else if (principal->has_member)
			new_rights = load_member_rights(&principal->member_id,
											new_roles, new_n_roles,
											&new_n_rights);
		MemoryContextSwitchTo(old);

		if (counter_before != invalidation_counter)
		{
			MemoryContextDelete(build);
			continue;
		}

		MemoryContextSetParent(build, CacheMemoryContext);
		if (RightsContext != NULL)
			MemoryContextDelete(RightsContext);
		RightsContext = build;

		role_masks = new_roles;
		n_role_masks = new_n_roles;
		group_masks = new_groups;
		n_group_masks = new_n_groups;
		rights = new_rights;
		n_rights = new_n_rights;
		account_arrays = NIL;
		managed_members = NULL;
		rights_owner = *principal;
		rights_owner.member_email = NULL;
		rights_valid = true;
		return;
	}
}

/* ---------------------------------------------------------------------
 * Questions about the current principal
 * ---------------------------------------------------------------------
 */

ActionMask
ss_actions_in_account(const pg_uuid_t *account_id)
{
	AccountRights key;
	AccountRights *found;

	ensure_rights();
	if (n_rights == 0)
		return 0;
	memcpy(&key.account_id, account_id, sizeof(pg_uuid_t));
	found = bsearch(&key, rights, n_rights, sizeof(AccountRights), account_rights_cmp);
	return found ? found->actions : 0;
}

/* The actions of one permission group (a pg_enum OID) */
ActionMask
ss_group_actions(Oid group)
{
	ensure_rights();
	return grantor_actions(group_masks, n_group_masks, group);
}

/*
 * Does every group fit inside the current principal's actions in the
 * account?  Returns the index of the first group that does not (and the
 * actions it would add), or -1.
 */
int
ss_token_group_outside(const pg_uuid_t *account_id, const Oid *groups,
					   int n_groups, ActionMask *missing)
{
	ActionMask	held = ss_actions_in_account(account_id);

	for (int i = 0; i < n_groups; i++)
	{
		ActionMask	wanted = ss_group_actions(groups[i]);

		if ((wanted & ~held) != 0)
		{
			*missing = wanted & ~held;
			return i;
		}
	}
	*missing = 0;
	return -1;
}

/*
 * Database administrators (superusers, roles with BYPASSRLS) are not
 * principals: they bypass row-level security, so the function API lets them
 * through as well rather than pretend a restriction that direct SQL would not
 * have.
 */
bool
ss_is_database_administrator(void)
{
	Oid			userid = GetUserId();

	return superuser_arg(userid) || has_bypassrls_privilege(userid);
}

bool
ss_is_operator(void)
{
	Oid			userid = GetUserId();
	Oid			operator_role;

	if (superuser_arg(userid))
		return true;
	operator_role = get_role_oid(SS_OPERATOR_ROLE, true);
	return OidIsValid(operator_role) && has_privs_of_role(userid, operator_role);
}

typedef struct GrantorLabel
{
	float4		sort_order;
	char	   *label;
} GrantorLabel;

static int
grantor_label_cmp(const void *a, const void *b)
{
	float4		x = ((const GrantorLabel *) a)->sort_order;
	float4		y = ((const GrantorLabel *) b)->sort_order;

	return (x > y) - (x < y);
}

/*
 * Names of the roles and permission groups that grant an action, in the
 * order of their enum, for hints: "super_administrator, secrets_store_admin".
 */
static char *
grantor_names(const GrantorMask *masks, int n, int action)
{
	StringInfoData names;
	GrantorLabel *labels = palloc(Max(n, 1) * sizeof(GrantorLabel));
	int			count = 0;

	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup;
		Form_pg_enum en;

		if (!(masks[i].actions & ACTION_BIT(action)))
			continue;
		tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(masks[i].grantor));
		if (!HeapTupleIsValid(tup))
			continue;
		en = (Form_pg_enum) GETSTRUCT(tup);
		labels[count].sort_order = en->enumsortorder;
		labels[count].label = pstrdup(NameStr(en->enumlabel));
		count++;
		ReleaseSysCache(tup);
	}
	qsort(labels, count, sizeof(GrantorLabel), grantor_label_cmp);

	initStringInfo(&names);
	for (int i = 0; i < count; i++)
		appendStringInfo(&names, "%s%s", i > 0 ? ", " : "", labels[i].label);
	if (count == 0)
		appendStringInfoString(&names, "none");
	return names.data;
}

/*
 * Raise the error for a principal without an action, or for an account the
 * principal cannot see at all.  An account in which the principal holds
 * nothing behaves exactly like one that does not exist (DESIGN.md section 6).
 */
void
ss_require_action(const pg_uuid_t *account_id, int action)
{
	ActionMask	actions;

	if (ss_is_database_administrator())
		return;

	actions = ss_actions_in_account(account_id);
	if (actions == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("account %s not found", ss_uuid_string(account_id))));
	if (!(actions & ACTION_BIT(action)))
	{
		const Principal *principal = ss_current_principal();

		ensure_rights();
		ss_audit_refusal(account_id, ss_action_names[action], "42501",
						 "the principal lacks the action");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: %s may not perform \"%s\"",
						ss_describe_principal(principal), ss_action_names[action]),
				 errdetail("No role or API token permission of the principal grants \"%s\" in account %s.",
						   ss_action_names[action], ss_uuid_string(account_id)),
				 errhint("\"%s\" is granted by the roles: %s; and by the API token permission groups: %s.",
						 ss_action_names[action],
						 grantor_names(role_masks, n_role_masks, action),
						 grantor_names(group_masks, n_group_masks, action))));
	}
}

/* ---------------------------------------------------------------------
 * SQL-callable functions
 * ---------------------------------------------------------------------
 */

/*
 * can(account_id uuid, action text) -> bool
 */
Datum
ss_can(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *account_id = PG_GETARG_UUID_P(0);
	int			action = ss_action_index_or_error(text_to_cstring(PG_GETARG_TEXT_PP(1)));

	PG_RETURN_BOOL((ss_actions_in_account(account_id) & ACTION_BIT(action)) != 0);
}

/*
 * my_actions(account_id uuid) -> text[], in the order of the matrix
 */
Datum
ss_my_actions(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *account_id = PG_GETARG_UUID_P(0);
	ActionMask	actions = ss_actions_in_account(account_id);
	Datum		names[SS_NUM_ACTIONS];
	int			n = 0;

	for (int i = 0; i < SS_NUM_ACTIONS; i++)
		if (actions & ACTION_BIT(i))
			names[n++] = CStringGetTextDatum(ss_action_names[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * The cached uuid[] of accounts in which the principal holds any action of
 * the mask.  Built at most once per principal and mask.
 */
static ArrayType *
accounts_array(ActionMask mask)
{
	ListCell   *lc;
	Datum	   *datums;
	int			n = 0;
	MemoryContext old;
	AccountArray *entry;

	ensure_rights();
	foreach(lc, account_arrays)
	{
		entry = (AccountArray *) lfirst(lc);
		if (entry->mask == mask)
			return entry->accounts;
	}

	old = MemoryContextSwitchTo(RightsContext);
	datums = palloc(Max(n_rights, 1) * sizeof(Datum));
	for (int i = 0; i < n_rights; i++)
		if (rights[i].actions & mask)
			datums[n++] = UUIDPGetDatum(&rights[i].account_id);
	entry = palloc(sizeof(AccountArray));
	entry->mask = mask;
	entry->accounts = construct_array(datums, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR);
	account_arrays = lappend(account_arrays, entry);
	pfree(datums);
	MemoryContextSwitchTo(old);
	return entry->accounts;
}

static ArrayType *
copy_array(ArrayType *array)
{
	ArrayType  *copy = palloc(VARSIZE(array));

	memcpy(copy, array, VARSIZE(array));
	return copy;
}

static ActionMask
mask_from_names(ArrayType *names)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	ActionMask	mask = 0;

	deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("action must not be null")));
		mask |= ACTION_BIT(ss_action_index_or_error(TextDatumGetCString(elems[i])));
	}
	return mask;
}

/*
 * The mask of an action list, remembered for the last few lists seen: a
 * prepared statement's policy builds its expression state anew at every
 * execution, so fn_extra alone would parse the same list each time.  The
 * actions are fixed names, so a list's mask never changes.
 */
#define MASK_CACHE_SIZE 8

typedef struct MaskCacheEntry
{
	ArrayType  *names;			/* a copy, in TopMemoryContext */
	ActionMask	mask;
} MaskCacheEntry;

static MaskCacheEntry mask_cache[MASK_CACHE_SIZE];
static int	mask_cache_next = 0;

static ActionMask
cached_mask_from_names(ArrayType *names)
{
	Size		size = VARSIZE(names);
	ActionMask	mask;
	MaskCacheEntry *entry;

	for (int i = 0; i < MASK_CACHE_SIZE; i++)
		if (mask_cache[i].names != NULL && VARSIZE(mask_cache[i].names) == size &&
			memcmp(mask_cache[i].names, names, size) == 0)
			return mask_cache[i].mask;

	mask = mask_from_names(names);
	entry = &mask_cache[mask_cache_next];
	mask_cache_next = (mask_cache_next + 1) % MASK_CACHE_SIZE;
	if (entry->names)
		pfree(entry->names);
	entry->names = MemoryContextAlloc(TopMemoryContext, size);
	memcpy(entry->names, names, size);
	entry->mask = mask;
	return mask;
}

/*
 * Whether the argument of accounts_with() at this call site is a constant
 * (as in every policy, once planned).  A parameter or variable can change
 * between calls, so its mask must not be cached.
 */
static bool
argument_is_constant(FmgrInfo *flinfo)
{
	Node	   *expr = flinfo->fn_expr;
	Node	   *arg;

	if (expr == NULL || !IsA(expr, FuncExpr) || list_length(((FuncExpr *) expr)->args) != 1)
		return false;
	arg = (Node *) linitial(((FuncExpr *) expr)->args);
	if (IsA(arg, Const))
		return true;
	if (IsA(arg, ArrayExpr))
	{
		ListCell   *lc;

		foreach(lc, ((ArrayExpr *) arg)->elements)
			if (!IsA(lfirst(lc), Const))
				return false;
		return true;
	}
	return false;
}

/*
 * accounts_with(VARIADIC actions text[]) -> uuid[]
 *
 * The accounts in which the principal holds at least one of the actions.
 * This is the function policies compare account_id with.  When the argument
 * is a constant (as in every policy) the parsed mask is kept in fn_extra, so
 * a per-row call does no parsing.
 */
Datum
ss_accounts_with(PG_FUNCTION_ARGS)
{
	ActionMask	mask;

	if (fcinfo->flinfo->fn_extra != NULL)
		mask = *(ActionMask *) fcinfo->flinfo->fn_extra;
	else
	{
		mask = cached_mask_from_names(PG_GETARG_ARRAYTYPE_P(0));
		if (argument_is_constant(fcinfo->flinfo))
		{
			ActionMask *saved = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt,
												   sizeof(ActionMask));

			*saved = mask;
			fcinfo->flinfo->fn_extra = saved;
		}
	}
	PG_RETURN_ARRAYTYPE_P(copy_array(accounts_array(mask)));
}

/*
 * my_accounts() -> uuid[]: accounts in which the principal holds anything.
 */
Datum
ss_my_accounts(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(copy_array(accounts_array(~(ActionMask) 0)));
}

/*
 * managed_members() -> uuid[]: members holding a role in an account where
 * the principal may manage members.  Lets the members policy show a Super
 * Administrator the people of their accounts and nobody else.
 */
Datum
ss_managed_members(PG_FUNCTION_ARGS)
{
	int			manage = ss_action_index("member.manage");

	ensure_rights();
	if (managed_members == NULL)
	{
		Relation	rel;
		TupleDesc	desc;
		AttrNumber	account_att;
		AttrNumber	member_att;
		Oid			pkey;
		Snapshot	snapshot;
		Datum	   *members = NULL;
		int			allocated = 16;
		int			n = 0;
		MemoryContext old = MemoryContextSwitchTo(RightsContext);

		members = palloc(allocated * sizeof(Datum));
		rel = table_open(ss_relation_oid(SS_REL_ROLE_ASSIGNMENTS), AccessShareLock);
		desc = RelationGetDescr(rel);
		account_att = attnameAttNum(rel, "account_id", false);
		member_att = attnameAttNum(rel, "member_id", false);
		pkey = ss_index_oid("role_assignments_pkey");
		snapshot = RegisterSnapshot(GetLatestSnapshot());

		for (int i = 0; i < n_rights; i++)
		{
			ScanKeyData key;
			SysScanDesc scan;
			HeapTuple	tuple;

			if (!(rights[i].actions & ACTION_BIT(manage)))
				continue;
			ScanKeyInit(&key, account_att, BTEqualStrategyNumber, F_UUID_EQ,
						UUIDPGetDatum(&rights[i].account_id));
			scan = systable_beginscan(rel, pkey, true, snapshot, 1, &key);
			while (HeapTupleIsValid(tuple = systable_getnext(scan)))
			{
				bool		isnull;
				pg_uuid_t  *member = palloc(sizeof(pg_uuid_t));

				memcpy(member,
					   DatumGetUUIDP(heap_getattr(tuple, member_att, desc, &isnull)),
					   sizeof(pg_uuid_t));
				if (n == allocated)
				{
					allocated *= 2;
					members = repalloc(members, allocated * sizeof(Datum));
				}
				members[n++] = UUIDPGetDatum(member);
			}
			systable_endscan(scan);
		}
		UnregisterSnapshot(snapshot);
		table_close(rel, AccessShareLock);

		managed_members = construct_array(members, n, UUIDOID, UUID_LEN, false,
										  TYPALIGN_CHAR);
		MemoryContextSwitchTo(old);
	}
	PG_RETURN_ARRAYTYPE_P(copy_array(managed_members));
}

/*
 * is_operator() -> bool: superuser, or a member of secrets_store_operator.
 */
Datum
ss_is_operator_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ss_is_operator());
}

/*
 * require_action(account_id uuid, action text): raise 42501 (or P0002 for an
 * account the principal cannot see) unless the principal holds the action.
 */
Datum
ss_require_action_sql(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *account_id = PG_GETARG_UUID_P(0);
	int			action = ss_action_index_or_error(text_to_cstring(PG_GETARG_TEXT_PP(1)));

	ss_require_action(account_id, action);
	PG_RETURN_VOID();
}

/*
 * require_operator(): raise 42501 unless the current role is an operator.
 */
Datum
ss_require_operator_sql(PG_FUNCTION_ARGS)
{
	if (!ss_is_operator())
	{
		ss_audit_refusal(NULL, "operator", "42501", "not a secrets_store operator");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: %s is not a secrets_store operator",
						ss_describe_principal(ss_current_principal())),
				 errdetail("Creating accounts and members and changing account limits are operator tasks."),
				 errhint("Grant the role %s to the database role that does this.",
						 SS_OPERATOR_ROLE)));
	}
	PG_RETURN_VOID();
}

/*
 * Trigger: invalidate every backend's cached principals and rights after a
 * statement changed one of the tables they are derived from.
 */
Datum
ss_invalidate_rights_cache(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("invalidate_rights_cache() must be called as a trigger")));

	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}
