/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  The checks of a secret row, in one call.
 *
 * The write trigger of secrets runs for every INSERT and UPDATE, from the
 * function API and from ORMs alike.  Doing its checks here, in one C call,
 * instead of one PL/pgSQL statement per check keeps creating a secret close
 * to the cost of a plain insert.  The messages are those of the SQL check
 * functions (check_secret_name, check_scopes, check_comment) that the other
 * tables' triggers use.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "secrets_store.h"

PG_FUNCTION_INFO_V1(ss_validate_secret);

static bool
valid_secret_name(const char *name, int length)
{
	if (length < 1 || length > 255)
		return false;
	for (int i = 0; i < length; i++)
	{
		char		c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/*
 * validate_secret(account_id uuid, name text, is_insert boolean,
 *				   scopes scope[], comment text, status text)
 *
 * For an INSERT: the principal may create secrets in the account, and the
 * name is valid (and remembered, to name a duplicate); always: scopes name at
 * least one service, the comment is at most 1,024 characters, the status is
 * one the store sets.
 */
Datum
ss_validate_secret(PG_FUNCTION_ARGS)
{
	bool		is_insert = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);

	if (is_insert)
	{
		text	   *name;

		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("account_id must not be null")));
		ss_require_action(PG_GETARG_UUID_P(0), ss_action_index("secret.create"));
		name = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
		if (name == NULL || !valid_secret_name(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid secret name \"%s\"", name ? text_to_cstring(name) : ""),
					 errhint("A secret name is 1 to 255 characters of A-Z, a-z, 0-9, underscore and dash.")));
		ss_note_unique_key("secrets_account_id_store_id_name_key",
						   psprintf("A secret named \"%s\" already exists in this store.",
									text_to_cstring(name)));
	}

	if (PG_ARGISNULL(3) ||
		ArrayGetNItems(ARR_NDIM(PG_GETARG_ARRAYTYPE_P(3)), ARR_DIMS(PG_GETARG_ARRAYTYPE_P(3))) == 0 ||
		array_contains_nulls(PG_GETARG_ARRAYTYPE_P(3)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid scopes"),
				 errhint("Scopes name at least one of the services that may use the secret: workers, ai_gateway.")));

	if (PG_ARGISNULL(4) ||
		pg_mbstrlen_with_len(VARDATA_ANY(PG_GETARG_TEXT_PP(4)), VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(4))) > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid comment: %s characters",
						PG_ARGISNULL(4) ? "null" :
						psprintf("%d", pg_mbstrlen_with_len(VARDATA_ANY(PG_GETARG_TEXT_PP(4)),
															VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(4))))),
				 errhint("A comment is text of at most 1,024 characters (use '' for none).")));

	if (!PG_ARGISNULL(5))
	{
		char	   *status = text_to_cstring(PG_GETARG_TEXT_PP(5));

		if (strcmp(status, "pending") != 0 && strcmp(status, "active") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid secret status \"%s\"", status),
					 errhint("The status of a secret is set by the store: pending until it has a value, then active.")));
	}
	PG_RETURN_VOID();
}
