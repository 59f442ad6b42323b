/*-------------------------------------------------------------------------
 *
 * secrets_store.c
 *	  Module load and settings of the secrets_store extension.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "secrets_store.h"

PG_MODULE_MAGIC;

/*
 * secrets_store.force_delete: lets a DELETE of a secret that Worker bindings
 * or AI Gateway associations still use go through (they then fail at run
 * time with "secret not found").  delete_secret(id, force => true) sets it
 * for its own statement; direct SQL may SET LOCAL it.  It is a safety catch
 * against outages, not a permission: the principal still needs
 * secret.delete.
 */
bool		ss_force_delete = false;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomBoolVariable("secrets_store.force_delete",
							 "Allows deleting secrets that bindings or associations still use.",
							 NULL,
							 &ss_force_delete,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	ss_define_key_settings();

	/* nobody may invent other secrets_store.* settings */
	MarkGUCPrefixReserved("secrets_store");

	ss_register_invalidation();
	ss_register_principal_callbacks();
	ss_register_session_guard();
	ss_register_explain_guard();
	ss_register_log_hooks();
	ss_register_audit_callbacks();
	ss_register_value_callbacks();
}
