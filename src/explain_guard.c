/*-------------------------------------------------------------------------
 *
 * explain_guard.c
 *	  No EXPLAIN ANALYZE over the extension's tables for principals.
 *
 * Row-level security hides rows, but EXPLAIN ANALYZE counts them: "Rows
 * Removed by Filter" under a policy that is a filter (an index on another
 * column, a policy with OR) tells whether a hidden row with a given id,
 * email or name range exists.  A principal could walk those counts to list
 * other accounts' ids and members.  So EXPLAIN with ANALYZE of a statement
 * that reads any of our tables (directly or through views) is refused for
 * roles that are subject to row-level security; plain EXPLAIN, which only
 * estimates, stays available.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"

#include "secrets_store.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;

/* depth of EXPLAIN ANALYZE statements being processed by a principal */
static int	explain_analyze_depth = 0;

static bool
is_explain_analyze(Node *parsetree)
{
	ListCell   *lc;

	if (!IsA(parsetree, ExplainStmt))
		return false;
	foreach(lc, ((ExplainStmt *) parsetree)->options)
	{
		DefElem    *opt = (DefElem *) lfirst(lc);

		if (strcmp(opt->defname, "analyze") == 0)
			return defGetBoolean(opt);
	}
	return false;
}

static void
guard_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree, ProcessUtilityContext context,
					 ParamListInfo params, QueryEnvironment *queryEnv,
					 DestReceiver *dest, QueryCompletion *qc)
{
	volatile bool counted = false;

	if (is_explain_analyze(pstmt->utilityStmt) && !ss_is_database_administrator())
	{
		explain_analyze_depth++;
		counted = true;
	}
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (counted)
			explain_analyze_depth--;
	}
	PG_END_TRY();
}

/*
 * The instrumented plan of an EXPLAIN ANALYZE: refuse it if it reads one of
 * our tables.  relationOids lists every relation the plan depends on,
 * including the tables behind views.
 */
static void
guard_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (explain_analyze_depth > 0 && queryDesc->instrument_options != 0 &&
		queryDesc->plannedstmt != NULL)
	{
		ListCell   *lc;

		foreach(lc, queryDesc->plannedstmt->relationOids)
		{
			Oid			relid = lfirst_oid(lc);
			char	   *schema = get_namespace_name(get_rel_namespace(relid));

			if (schema != NULL && strcmp(schema, SS_SCHEMA_NAME) == 0)
			{
				ss_audit_refusal(NULL, "explain.analyze", "42501",
								 "EXPLAIN ANALYZE over secrets_store tables");
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("EXPLAIN ANALYZE is not allowed on %s tables", SS_SCHEMA_NAME),
						 errdetail("Its row counts would reveal rows that row-level security hides."),
						 errhint("Use EXPLAIN without ANALYZE, or ask a database administrator.")));
			}
		}
	}
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

void
ss_register_explain_guard(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = guard_ProcessUtility;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = guard_ExecutorStart;
}
