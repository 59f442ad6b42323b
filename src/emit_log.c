/*-------------------------------------------------------------------------
 *
 * emit_log.c
 *	  What reaches the server log and pg_stat_activity.
 *
 * PostgreSQL repeats a statement's text in several places: the STATEMENT
 * line of an error (log_min_error_statement), log_min_duration_statement,
 * log_statement, bind parameters in those lines, and pg_stat_activity.query.
 * A statement that carried a secret value (as a literal or a bind parameter
 * converted to secrets_store.secret_value) is marked while it runs, and:
 *
 *	- errors it raises do not repeat it (hide_stmt);
 *	- LOG lines about it (duration, statement, execute) have its text and
 *	  parameters replaced by a notice that they were redacted;
 *	- pg_stat_activity shows a redacted text instead of it.
 *
 * What remains: log_statement = 'all' or 'mod' writes a simple-protocol
 * statement before it is parsed, so before anything can tell it carries a
 * value; the extension warns once per session when a value is written under
 * such a setting.  Pass values as bind parameters to avoid that channel.
 *
 * The same hook names the conflicting key of a unique violation on our
 * tables, which PostgreSQL leaves out under row-level security.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/backend_status.h"

#include "secrets_store.h"

#define REDACTED_STATEMENT	"<statement redacted by secrets_store: it carries a secret value>"

static emit_log_hook_type prev_emit_log_hook = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;

/* the statement text that carried a value, by hash and length */
static bool value_statement_known = false;
static uint32 value_statement_hash = 0;
static int	value_statement_length = 0;
static bool warned_about_log_statement = false;

/* the key of the last row our triggers checked, for unique violations */
static char last_constraint[NAMEDATALEN];
static char last_key_description[512];

static bool
is_value_statement(const char *query)
{
	int			length;

	if (!value_statement_known || query == NULL)
		return false;
	length = strlen(query);
	return length == value_statement_length &&
		hash_bytes((const unsigned char *) query, length) == value_statement_hash;
}

/*
 * Called when a plaintext value is converted to secret_value: marks the
 * current statement text.
 */
void
ss_note_value_in_statement(void)
{
	const char *query = debug_query_string;

	if (query != NULL)
	{
		value_statement_length = strlen(query);
		value_statement_hash = hash_bytes((const unsigned char *) query,
										  value_statement_length);
		value_statement_known = true;
	}
	if (!warned_about_log_statement &&
		(strcmp(GetConfigOption("log_statement", false, false), "all") == 0 ||
		 strcmp(GetConfigOption("log_statement", false, false), "mod") == 0))
	{
		warned_about_log_statement = true;
		ereport(WARNING,
				(errmsg("log_statement = '%s' may have written this statement, with its secret value, to the server log",
						GetConfigOption("log_statement", false, false)),
				 errhint("Pass secret values as bind parameters, or set log_statement to 'none' or 'ddl'."),
				 errhidestmt(true)));
	}
}

void
ss_note_unique_key(const char *constraint_name, const char *description)
{
	strlcpy(last_constraint, constraint_name, sizeof(last_constraint));
	strlcpy(last_key_description, description, sizeof(last_key_description));
}

/*
 * note_unique_key(constraint_name text, description text): called by the
 * write triggers for each row, so that a unique violation of that
 * constraint (raised after the trigger, by the index) can say which key
 * clashed.  The principal may write in the account, so this reveals nothing
 * across accounts.
 */
PG_FUNCTION_INFO_V1(ss_note_unique_key_sql);

Datum
ss_note_unique_key_sql(PG_FUNCTION_ARGS)
{
	ss_note_unique_key(text_to_cstring(PG_GETARG_TEXT_PP(0)),
					   text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_VOID();
}

static bool
starts_with(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
ss_emit_log(ErrorData *edata)
{
	if (is_value_statement(debug_query_string))
	{
		edata->hide_stmt = true;
		if (edata->elevel == LOG &&
			(starts_with(edata->message, "duration:") ||
			 starts_with(edata->message, "statement:") ||
			 starts_with(edata->message, "execute ")))
		{
			edata->message = pstrdup(REDACTED_STATEMENT);
			edata->detail = NULL;
			edata->detail_log = NULL;
		}
	}

	/* name the duplicate key, as the function API does */
	if (edata->sqlerrcode == ERRCODE_UNIQUE_VIOLATION &&
		edata->constraint_name != NULL && last_constraint[0] != '\0' &&
		strcmp(edata->constraint_name, last_constraint) == 0 &&
		edata->detail == NULL)
		edata->detail = pstrdup(last_key_description);

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * After parse analysis, literals have been converted: if one was a secret
 * value, keep the statement text out of pg_stat_activity.
 */
static void
ss_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);
	if (pstate->p_sourcetext != NULL && is_value_statement(pstate->p_sourcetext))
		pgstat_report_activity(STATE_RUNNING, REDACTED_STATEMENT);
}

void
ss_register_log_hooks(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = ss_emit_log;
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = ss_post_parse_analyze;
}
