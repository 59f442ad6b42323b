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
	SS_REL_ACCOUNT_KEYS,
	SS_REL_SECRET_VALUES,
	SS_REL_AUDIT_EVENTS,
	SS_REL_ACCOUNT_USAGE,
	SS_NUM_RELATIONS
} SsRelation;

extern Oid	ss_relation_oid(SsRelation rel);
extern Oid	ss_index_oid(const char *index_name);
extern bool ss_is_own_relation(Oid relid);
extern void ss_catalog_reset(void);
extern int	ss_spi_as_owner(SsRelation relation, const char *sql, int nargs,
							Oid *argtypes, Datum *values, const char *nulls);

/* acting as the owner of our tables: see ss_spi_as_owner() */
typedef struct SsOwnerState
{
	Oid			userid;
	int			sec_context;
	int			nestlevel;
} SsOwnerState;

extern Datum ss_spi_as_owner_value(SsRelation relation, const char *sql, int nargs,
								   Oid *argtypes, Datum *values, const char *nulls,
								   bool *isnull);
extern void ss_become_owner(SsRelation relation, SsOwnerState *state);
extern void ss_restore_owner(SsOwnerState *state);

/* an equality key on a column, for ss_lookup_row() */
typedef struct SsKey
{
	const char *column;
	Oid			eq_proc;
	Datum		value;
} SsKey;

extern bool ss_lookup_row(SsRelation relation, const char *index_name,
						  const SsKey *keys, int nkeys,
						  const char *const *columns, Datum *values, bool *nulls,
						  int ncolumns);

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
extern uint64 ss_invalidation_count(void);
extern ActionMask ss_group_actions(Oid group);
extern int	ss_token_group_outside(const pg_uuid_t *account_id, const Oid *groups,
								   int n_groups, ActionMask *missing);

/* lookups for the value paths (lookup.c) */
extern int	ss_max_value_bytes(const pg_uuid_t *account_id);
extern bool ss_secret_exists(const pg_uuid_t *account_id, const pg_uuid_t *secret_id);
extern bool ss_find_secret_by_id(const pg_uuid_t *account_id, const pg_uuid_t *secret_id,
								 Datum *scopes);
extern bool ss_find_secret_by_name(const pg_uuid_t *account_id, const pg_uuid_t *store_id,
								   const char *name, pg_uuid_t *secret_id, Datum *scopes);
extern bool ss_find_binding(const pg_uuid_t *account_id, Datum script_name,
							Datum binding_name, pg_uuid_t *store_id, char **secret_name);
extern bool ss_find_association(const pg_uuid_t *account_id, Datum gateway_id,
								Datum provider, Datum alias, pg_uuid_t *secret_id);

/* ---------------------------------------------------------------------
 * seal.c, keys.c: AES-256-GCM, secure buffers, master and data keys
 * ---------------------------------------------------------------------
 */
#define SS_KEY_LEN		32
#define SS_NONCE_LEN	12
#define SS_TAG_LEN		16
#define SS_KEY_ID_LEN	16		/* hex digits */

extern void *ss_secure_alloc(Size size);
extern void ss_secure_free(void *data, Size size);
extern bytea *ss_aead_seal(const uint8 *key, const uint8 *plaintext, int length,
						   const uint8 *aad, int aad_length);
extern uint8 *ss_aead_open(const uint8 *key, const bytea *sealed, const uint8 *aad,
						   int aad_length, int *length);
extern uint8 *ss_transit_open(Datum value, const pg_uuid_t *account_id,
							  pg_uuid_t *copied_from, bool *is_copy, int *length);
extern Datum ss_transit_seal_copy(const uint8 *plaintext, int length,
								  const pg_uuid_t *account_id, const pg_uuid_t *source_id);
extern void ss_define_key_settings(void);
extern void ss_forget_master_keys(void);
extern uint8 *ss_data_key(const pg_uuid_t *account_id, bool create);

/* ---------------------------------------------------------------------
 * emit_log.c: what reaches the server log
 * ---------------------------------------------------------------------
 */
extern void ss_note_value_in_statement(void);
extern void ss_note_unique_key(const char *constraint_name, const char *description);
extern void ss_register_log_hooks(void);

/* ---------------------------------------------------------------------
 * audit.c
 * ---------------------------------------------------------------------
 */
extern void ss_audit_event(const pg_uuid_t *account_id, const char *action,
						   const char *resource_type, const pg_uuid_t *resource_id,
						   const char *resource_name, const char *details_json,
						   bool runtime);
extern void ss_audit_refusal(const pg_uuid_t *account_id, const char *attempted,
							 const char *sqlstate, const char *reason);
extern void ss_audit_note_value(const pg_uuid_t *secret_id,
								const pg_uuid_t *duplicated_from);
extern void ss_register_audit_callbacks(void);
extern void ss_audit_forget_value(const pg_uuid_t *secret_id);
extern void ss_register_value_callbacks(void);

/* ---------------------------------------------------------------------
 * session_guard.c
 * ---------------------------------------------------------------------
 */
extern void ss_register_session_guard(void);

/* explain_guard.c */
extern void ss_register_explain_guard(void);

/* ---------------------------------------------------------------------
 * tokens.c
 * ---------------------------------------------------------------------
 */
extern char *ss_uuid_string(const pg_uuid_t *id);
extern Datum ss_client_address(bool *isnull);

#endif							/* SECRETS_STORE_H */
