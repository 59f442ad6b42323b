/*-------------------------------------------------------------------------
 *
 * session_guard.c
 *	  Keep a transaction principal's rows from outliving its transaction.
 *
 * A transaction principal (authenticate, act_as) ends at commit, but some
 * objects a transaction creates live on in the session: a cursor declared
 * WITH HOLD keeps its rows after commit, a temporary table keeps whatever was
 * copied into it.  Behind a transaction-mode pool the next transaction on
 * that connection may belong to another client, which could then read the
 * first principal's rows without any principal of its own.  While a
 * transaction principal is active such objects are refused; a temporary
 * table that is dropped at commit (ON COMMIT DROP) is allowed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#include "secrets_store.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void
refuse_session_state(const char *what, const char *instead)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s cannot be created while an authenticate() or act_as() principal is active", what),
			 errdetail("It would outlive the principal's transaction, and on a pooled connection the next client could read it."),
			 errhint("%s", instead)));
}

static bool
outlives_transaction(RangeVar *relation, OnCommitAction oncommit)
{
	return relation->relpersistence == RELPERSISTENCE_TEMP &&
		oncommit != ONCOMMIT_DROP;
}

static void
guard_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree, ProcessUtilityContext context,
					 ParamListInfo params, QueryEnvironment *queryEnv,
					 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (ss_has_transaction_principal())
	{
		if (IsA(parsetree, DeclareCursorStmt) &&
			(((DeclareCursorStmt *) parsetree)->options & CURSOR_OPT_HOLD))
			refuse_session_state("a cursor WITH HOLD",
								 "Declare the cursor WITHOUT HOLD; it then ends with the transaction.");
		if (IsA(parsetree, CreateStmt) &&
			outlives_transaction(((CreateStmt *) parsetree)->relation,
								 ((CreateStmt *) parsetree)->oncommit))
			refuse_session_state("a temporary table",
								 "Create it with ON COMMIT DROP.");
		if (IsA(parsetree, CreateTableAsStmt) &&
			outlives_transaction(((CreateTableAsStmt *) parsetree)->into->rel,
								 ((CreateTableAsStmt *) parsetree)->into->onCommit))
			refuse_session_state("a temporary table",
								 "Create it with ON COMMIT DROP.");
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
ss_register_session_guard(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = guard_ProcessUtility;
}
