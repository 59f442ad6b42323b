/*-------------------------------------------------------------------------
 *
 * secrets_store.h
 *	  Declarations shared by the C files of the secrets_store extension.
 *
 * The extension keeps one concern per file:
 *	  catalog.c      -- OIDs of our tables and indexes, row lookups that do
 *	                    not go through row-level security
 *	  principal.c    -- who is asking (the single entry point for identity)
 *	  permissions.c  -- the permission matrix, the per-backend rights cache
 *	                    and the SQL functions that policies call
 *	  secrets_store.c -- module load, settings
 *
 *-------------------------------------------------------------------------
 */
#ifndef SECRETS_STORE_H
#define SECRETS_STORE_H

#include "postgres.h"

#include "utils/uuid.h"

#define SS_SCHEMA_NAME			"secrets_store"
#define SS_OPERATOR_ROLE		"secrets_store_operator"

/* ---------------------------------------------------------------------
 * Actions of the permission matrix (DESIGN.md section 2).  The order is the
 * order of the matrix; a principal's rights in an account are a bitmask
 * over it.
 * ---------------------------------------------------------------------
 */
typedef uint32 ActionMask;

#define SS_NUM_ACTIONS			14
extern const char *const ss_action_names[SS_NUM_ACTIONS];

extern int	ss_action_index(const char *name);
extern int	ss_action_index_or_error(const char *name);

/* ---------------------------------------------------------------------
 * catalog.c
 * ---------------------------------------------------------------------
 */
typedef enum SsRelation
{
	SS_REL_ACCOUNTS,
	SS_REL_MEMBERS,
	SS_REL_ROLE_ASSIGNMENTS,
	SS_REL_ROLE_ACTIONS,
	SS_REL_PERMISSION_GROUP_ACTIONS,
	SS_REL_ACCOUNT_LIMITS,
	SS_REL_STORES,
	SS_REL_SECRETS,
	SS_REL_WORKER_BINDINGS,
	SS_REL_AI_GATEWAY_ASSOCIATIONS,
	SS_REL_API_TOKENS,
	SS_REL_API_TOKEN_SECRETS,
	SS_NUM_RELATIONS
} SsRelation;

extern Oid	ss_relation_oid(SsRelation rel);
extern Oid	ss_index_oid(const char *index_name);
extern bool ss_is_own_relation(Oid relid);
extern void ss_catalog_reset(void);
extern int	ss_spi_as_owner(SsRelation relation, const char *sql, int nargs,
							Oid *argtypes, Datum *values, const char *nulls);

/* ---------------------------------------------------------------------
 * principal.c
 * ---------------------------------------------------------------------
 */
typedef enum PrincipalType
{
	PRINCIPAL_NOBODY = 0,
	PRINCIPAL_DATABASE_ROLE,	/* the member linked to current_user */
	PRINCIPAL_MEMBER,			/* a member acting through act_as() */
	PRINCIPAL_TOKEN				/* an API token through authenticate() */
} PrincipalType;

#define SS_MAX_TOKEN_GROUPS		8

typedef struct Principal
{
	PrincipalType type;
	Oid			userid;			/* database role the principal resolved for
								 * (InvalidOid for transaction principals) */
	/* the person asking: database-role and delegated principals */
	bool		has_member;
	pg_uuid_t	member_id;
	char	   *member_email;
	/* an API token: its account, groups and owner */
	bool		has_token;
	pg_uuid_t	token_id;
	pg_uuid_t	token_account_id;
	char	   *token_name;
	int			n_token_groups;
	Oid			token_groups[SS_MAX_TOKEN_GROUPS];	/* pg_enum OIDs */
	bool		has_token_owner;
	pg_uuid_t	token_owner_id;
} Principal;

extern const Principal *ss_current_principal(void);
extern void ss_set_transaction_principal(const Principal *principal);
extern bool ss_has_transaction_principal(void);
extern void ss_require_transaction_block(const char *function_name);
extern bool ss_find_member(const pg_uuid_t *member_id, char **email);
extern char *ss_describe_principal(const Principal *principal);
extern const char *ss_principal_type_name(PrincipalType type);
extern void ss_principal_cache_reset(void);
extern void ss_register_principal_callbacks(void);
extern Datum ss_principal_tuple(FunctionCallInfo fcinfo);

/* ---------------------------------------------------------------------
 * permissions.c
 * ---------------------------------------------------------------------
 */
extern ActionMask ss_actions_in_account(const pg_uuid_t *account_id);
extern bool ss_is_database_administrator(void);
extern bool ss_is_operator(void);
extern void ss_require_action(const pg_uuid_t *account_id, int action);
extern void ss_register_invalidation(void);
extern ActionMask ss_group_actions(Oid group);
extern int	ss_token_group_outside(const pg_uuid_t *account_id, const Oid *groups,
								   int n_groups, ActionMask *missing);

/* ---------------------------------------------------------------------
 * session_guard.c
 * ---------------------------------------------------------------------
 */
extern void ss_register_session_guard(void);

/* ---------------------------------------------------------------------
 * tokens.c
 * ---------------------------------------------------------------------
 */
extern char *ss_uuid_string(const pg_uuid_t *id);

#endif							/* SECRETS_STORE_H */
