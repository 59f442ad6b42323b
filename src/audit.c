/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The audit trail: who did what to which object, when, from where.
 *
 * Every successful create, update and delete of secrets, stores, bindings,
 * associations, role assignments and API tokens, and every value read by a
 * runtime role, becomes one row of secrets_store.audit_events, written in
 * the same transaction by the database itself: an AFTER ROW trigger,
 * audit_row(), on each of those tables (so the function API, ORMs and psql
 * are all covered, and a rolled-back change leaves no event), and the
 * runtime functions in values.c.  Events are inserted as the table owner;
 * principals cannot insert, update or delete them, and triggers refuse
 * UPDATE, DELETE and TRUNCATE even to the owner, except for the retention
 * function (which records that it ran).
 *
 * Refusals cannot leave a row (their transaction aborts), so they become one
 * structured server log line each, "secrets_store AUDIT: {json}", with the
 * same fields and never the statement.  So do value reads where nothing can
 * be written (a hot standby, a read-only transaction).
 *
 * Details name changed metadata fields with their old and new values,
 * "value_modified": true when a value was sealed, "duplicated_from" for a
 * duplicate, and never a value, hash or key.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "utils/builtins.h"
#include "utils/varlena.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "secrets_store.h"

PG_FUNCTION_INFO_V1(ss_audit_row);
PG_FUNCTION_INFO_V1(ss_audit_events_immutable);
PG_FUNCTION_INFO_V1(ss_purge_audit_events);

/* columns that never go into details: noise, or written by the store itself */
static const char *const quiet_columns[] = {
	"value", "created_at", "modified_at", "created_by", "modified_by",
	"granted_at", "granted_by", "last_used_at", NULL
};

/* set by the retention function: the only deletes the trail accepts */
static bool purge_in_progress = false;

/*
 * Values sealed by the seal trigger (BEFORE ROW), waiting for the audit
 * trigger of the same row (AFTER ROW, fired at the end of the statement).
 * Kept in transaction memory; entries of an aborted subtransaction are
 * dropped with it.
 */
typedef struct NotedValue
{
	pg_uuid_t	secret_id;
	bool		is_copy;
	pg_uuid_t	source_id;
	SubTransactionId subid;
} NotedValue;

static List *noted_values = NIL;

void
ss_audit_note_value(const pg_uuid_t *secret_id, const pg_uuid_t *duplicated_from)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	NotedValue *note = palloc0(sizeof(NotedValue));

	memcpy(&note->secret_id, secret_id, sizeof(pg_uuid_t));
	note->is_copy = duplicated_from != NULL;
	if (duplicated_from)
		memcpy(&note->source_id, duplicated_from, sizeof(pg_uuid_t));
	note->subid = GetCurrentSubTransactionId();
	noted_values = lappend(noted_values, note);
	MemoryContextSwitchTo(old);
}

static NotedValue *take_noted_value(const pg_uuid_t *secret_id);

void
ss_audit_forget_value(const pg_uuid_t *secret_id)
{
	(void) take_noted_value(secret_id);
}

/* the note for this secret, removed from the list, or NULL */
static NotedValue *
take_noted_value(const pg_uuid_t *secret_id)
{
	ListCell   *lc;

	foreach(lc, noted_values)
	{
		NotedValue *note = (NotedValue *) lfirst(lc);

		if (memcmp(&note->secret_id, secret_id, UUID_LEN) == 0)
		{
			noted_values = foreach_delete_current(noted_values, lc);
			return note;
		}
	}
	return NULL;
}

static void
audit_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		noted_values = NIL;		/* its memory goes with TopTransactionContext */
}

static void
audit_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	foreach(lc, noted_values)
	{
		if (((NotedValue *) lfirst(lc))->subid == mySubid)
			noted_values = foreach_delete_current(noted_values, lc);
	}
}

void
ss_register_audit_callbacks(void)
{
	RegisterXactCallback(audit_xact_callback, NULL);
	RegisterSubXactCallback(audit_subxact_callback, NULL);
}

static bool
is_quiet(const char *column)
{
	for (int i = 0; quiet_columns[i]; i++)
		if (strcmp(quiet_columns[i], column) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------------
 * The actor
 * ---------------------------------------------------------------------
 */

typedef struct Actor
{
	const char *type;
	const pg_uuid_t *member_id;
	const pg_uuid_t *token_id;
	const char *db_role;
	char	   *client_addr;	/* NULL over a Unix socket */
	const char *application_name;
} Actor;

static void
current_actor(Actor *actor, bool runtime)
{
	const Principal *principal = ss_current_principal();
	bool		isnull;
	Datum		addr = ss_client_address(&isnull);

	memset(actor, 0, sizeof(Actor));
	if (runtime)
		actor->type = "runtime";
	else if (principal->type == PRINCIPAL_TOKEN)
		actor->type = "token";
	else if (principal->type == PRINCIPAL_MEMBER)
		actor->type = "member";
	else
		actor->type = "database_role";
	actor->member_id = principal->has_member ? &principal->member_id : NULL;
	actor->token_id = principal->has_token ? &principal->token_id : NULL;
	/* the role the session acts as, not a SECURITY DEFINER's or the owner's */
	actor->db_role = GetUserNameFromId(GetOuterUserId(), true);
	actor->client_addr = isnull ? NULL : DatumGetCString(DirectFunctionCall1(inet_out, addr));
	actor->application_name = GetConfigOption("application_name", true, false);
}

static void
append_json_field(StringInfo buf, const char *key, const char *value, bool *first)
{
	if (!*first)
		appendStringInfoString(buf, ", ");
	*first = false;
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

/* ---------------------------------------------------------------------
 * Writing events
 * ---------------------------------------------------------------------
 */

/*
 * Record one event.  Where nothing can be written (hot standby, read-only
 * transaction), the event becomes a server log line instead.
 */
void
ss_audit_event(const pg_uuid_t *account_id, const char *action,
			   const char *resource_type, const pg_uuid_t *resource_id,
			   const char *resource_name, const char *details_json, bool runtime)
{
	Actor		actor;

	current_actor(&actor, runtime);

	if (RecoveryInProgress() || XactReadOnly)
	{
		StringInfoData line;
		bool		first = true;

		initStringInfo(&line);
		appendStringInfoChar(&line, '{');
		append_json_field(&line, "occurred_at",
						  timestamptz_to_str(GetCurrentTimestamp()), &first);
		append_json_field(&line, "account_id", ss_uuid_string(account_id), &first);
		append_json_field(&line, "action", action, &first);
		append_json_field(&line, "resource_type", resource_type, &first);
		append_json_field(&line, "resource_id", resource_id ? ss_uuid_string(resource_id) : NULL, &first);
		append_json_field(&line, "resource_name", resource_name, &first);
		append_json_field(&line, "actor_type", actor.type, &first);
		append_json_field(&line, "actor_member_id", actor.member_id ? ss_uuid_string(actor.member_id) : NULL, &first);
		append_json_field(&line, "actor_token_id", actor.token_id ? ss_uuid_string(actor.token_id) : NULL, &first);
		append_json_field(&line, "actor_db_role", actor.db_role, &first);
		append_json_field(&line, "client_addr", actor.client_addr, &first);
		append_json_field(&line, "application_name", actor.application_name, &first);
		appendStringInfo(&line, ", \"details\": %s, \"recorded\": \"log\"}",
						 details_json ? details_json : "{}");
		ereport(LOG_SERVER_ONLY,
				(errmsg("secrets_store AUDIT: %s", line.data),
				 errhidestmt(true), errhidecontext(true)));
		return;
	}

	{
		Oid			types[12] = {UUIDOID, TEXTOID, TEXTOID, UUIDOID, TEXTOID, TEXTOID,
		UUIDOID, UUIDOID, NAMEOID, INETOID, TEXTOID, JSONBOID};
		Datum		values[12];
		char		nulls[12] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
		NameData	role;

		values[0] = UUIDPGetDatum(account_id);
		values[1] = CStringGetTextDatum(action);
		values[2] = CStringGetTextDatum(resource_type);
		values[3] = resource_id ? UUIDPGetDatum(resource_id) : (Datum) 0;
		nulls[3] = resource_id ? ' ' : 'n';
		values[4] = resource_name ? CStringGetTextDatum(resource_name) : (Datum) 0;
		nulls[4] = resource_name ? ' ' : 'n';
		values[5] = CStringGetTextDatum(actor.type);
		values[6] = actor.member_id ? UUIDPGetDatum(actor.member_id) : (Datum) 0;
		nulls[6] = actor.member_id ? ' ' : 'n';
		values[7] = actor.token_id ? UUIDPGetDatum(actor.token_id) : (Datum) 0;
		nulls[7] = actor.token_id ? ' ' : 'n';
		namestrcpy(&role, actor.db_role ? actor.db_role : "");
		values[8] = NameGetDatum(&role);
		values[9] = actor.client_addr ? DirectFunctionCall1(inet_in, CStringGetDatum(actor.client_addr)) : (Datum) 0;
		nulls[9] = actor.client_addr ? ' ' : 'n';
		values[10] = actor.application_name ? CStringGetTextDatum(actor.application_name) : (Datum) 0;
		nulls[10] = actor.application_name ? ' ' : 'n';
		values[11] = DirectFunctionCall1(jsonb_in, CStringGetDatum(details_json ? details_json : "{}"));

		ss_spi_as_owner(SS_REL_AUDIT_EVENTS,
						"INSERT INTO secrets_store.audit_events (occurred_at, account_id, action,"
						" resource_type, resource_id, resource_name, actor_type, actor_member_id,"
						" actor_token_id, actor_db_role, client_addr, application_name, details)"
						" VALUES (pg_catalog.clock_timestamp(), $1, $2, $3, $4, $5, $6, $7, $8,"
						" $9, $10, $11, $12)",
						12, types, values, nulls);
	}
}

/*
 * A refused attempt: one structured server log line, never a row (the
 * refusing transaction aborts) and never the statement.
 */
void
ss_audit_refusal(const pg_uuid_t *account_id, const char *attempted,
				 const char *sqlstate, const char *reason)
{
	Actor		actor;
	StringInfoData line;
	bool		first = true;

	current_actor(&actor, false);
	initStringInfo(&line);
	appendStringInfoChar(&line, '{');
	append_json_field(&line, "occurred_at", timestamptz_to_str(GetCurrentTimestamp()), &first);
	append_json_field(&line, "account_id", account_id ? ss_uuid_string(account_id) : NULL, &first);
	append_json_field(&line, "action", attempted, &first);
	append_json_field(&line, "result", "refused", &first);
	append_json_field(&line, "sqlstate", sqlstate, &first);
	append_json_field(&line, "reason", reason, &first);
	append_json_field(&line, "actor_type", actor.type, &first);
	append_json_field(&line, "actor_member_id", actor.member_id ? ss_uuid_string(actor.member_id) : NULL, &first);
	append_json_field(&line, "actor_token_id", actor.token_id ? ss_uuid_string(actor.token_id) : NULL, &first);
	append_json_field(&line, "actor_db_role", actor.db_role, &first);
	append_json_field(&line, "client_addr", actor.client_addr, &first);
	append_json_field(&line, "application_name", actor.application_name, &first);
	appendStringInfoChar(&line, '}');
	ereport(LOG_SERVER_ONLY,
			(errmsg("secrets_store AUDIT: %s", line.data),
			 errhidestmt(true), errhidecontext(true)));
}

/* ---------------------------------------------------------------------
 * The trigger
 * ---------------------------------------------------------------------
 */

static char *
column_text(HeapTuple tuple, TupleDesc desc, int att, bool *isnull)
{
	Form_pg_attribute attr = TupleDescAttr(desc, att - 1);
	Datum		value = heap_getattr(tuple, att, desc, isnull);
	Oid			output;
	bool		varlena;

	if (*isnull)
		return NULL;
	getTypeOutputInfo(attr->atttypid, &output, &varlena);
	return OidOutputFunctionCall(output, value);
}

static pg_uuid_t *
uuid_of(HeapTuple tuple, TupleDesc desc, Relation rel, const char *column)
{
	bool		isnull;
	AttrNumber	att = attnameAttNum(rel, column, true);
	Datum		d;

	if (att == InvalidAttrNumber)
		return NULL;
	d = heap_getattr(tuple, att, desc, &isnull);
	return isnull ? NULL : DatumGetUUIDP(d);
}

/*
 * audit_row() -- AFTER INSERT OR UPDATE OR DELETE, FOR EACH ROW.
 * Arguments: resource type, id column, name columns (joined with "/").
 */
Datum
ss_audit_row(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	row;
	const char *action;
	StringInfoData details;
	StringInfoData name;
	bool		first = true;
	bool		changed = false;
	List	   *name_columns;
	pg_uuid_t  *account_id;
	pg_uuid_t  *resource_id;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || trigdata->tg_trigger->tgnargs != 3)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("audit_row() must be an AFTER ROW trigger with three arguments")));
	trigger = trigdata->tg_trigger;
	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		action = "create";
		row = trigdata->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		action = "update";
		row = trigdata->tg_newtuple;
	}
	else
	{
		action = "delete";
		row = trigdata->tg_trigtuple;
	}

	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	for (int att = 1; att <= desc->natts; att++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, att - 1);
		const char *column = NameStr(attr->attname);
		bool		new_null;
		char	   *new_text;

		if (attr->attisdropped || is_quiet(column))
			continue;
		new_text = column_text(row, desc, att, &new_null);
		if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		{
			bool		old_null;
			char	   *old_text = column_text(trigdata->tg_trigtuple, desc, att, &old_null);

			if (old_null == new_null && (new_null || strcmp(old_text, new_text) == 0))
				continue;
			if (!first)
				appendStringInfoString(&details, ", ");
			first = false;
			escape_json(&details, column);
			appendStringInfoString(&details, ": {\"old\": ");
			if (old_null)
				appendStringInfoString(&details, "null");
			else
				escape_json(&details, old_text);
			appendStringInfoString(&details, ", \"new\": ");
			if (new_null)
				appendStringInfoString(&details, "null");
			else
				escape_json(&details, new_text);
			appendStringInfoChar(&details, '}');
			changed = true;
		}
		else if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
			append_json_field(&details, column, new_text, &first);
	}

	/* a value sealed for this very row (by seal_value, before the row) */
	resource_id = uuid_of(row, desc, rel, trigger->tgargs[1]);
	if (resource_id && !TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		NotedValue *note = take_noted_value(resource_id);

		if (note)
		{
			if (!first)
				appendStringInfoString(&details, ", ");
			first = false;
			appendStringInfoString(&details, "\"value_modified\": true");
			if (note->is_copy)
				appendStringInfo(&details, ", \"duplicated_from\": \"%s\"",
								 ss_uuid_string(&note->source_id));
			changed = true;
		}
	}
	appendStringInfoChar(&details, '}');

	/* an update that changed nothing worth recording (last_used_at, say) */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) && !changed)
		return PointerGetDatum(NULL);

	initStringInfo(&name);
	if (!SplitIdentifierString(pstrdup(trigger->tgargs[2]), ',', &name_columns))
		elog(ERROR, "invalid name column list for audit_row()");
	{
		ListCell   *lc;
		int			n = 0;

		foreach(lc, name_columns)
		{
			bool		isnull;
			AttrNumber	att = attnameAttNum(rel, (char *) lfirst(lc), false);
			char	   *text = column_text(row, desc, att, &isnull);

			appendStringInfo(&name, "%s%s", n++ > 0 ? "/" : "", isnull ? "" : text);
		}
	}

	account_id = uuid_of(row, desc, rel, "account_id");
	if (account_id == NULL)
		return PointerGetDatum(NULL);
	ss_audit_event(account_id, action, trigger->tgargs[0], resource_id, name.data,
				   details.data, false);
	return PointerGetDatum(NULL);
}

/*
 * audit_events_immutable() -- BEFORE UPDATE OR DELETE (row) and TRUNCATE
 * (statement) on audit_events: the trail is append-only, for its owner too.
 */
Datum
ss_audit_events_immutable(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("audit_events_immutable() must be called as a trigger")));
	if (purge_in_progress && TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		return PointerGetDatum(trigdata->tg_trigtuple);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("the audit trail is append-only"),
			 errdetail("Events cannot be updated, deleted or truncated."),
			 errhint("Operators remove old events with secrets_store.purge_audit_events(older_than).")));
	return PointerGetDatum(NULL);	/* keep compiler quiet */
}

/*
 * purge_audit_events(older_than interval) -> bigint
 *
 * Retention, for operators: deletes events older than the given age and
 * records, in each account that lost events, an event saying so.
 */
Datum
ss_purge_audit_events(PG_FUNCTION_ARGS)
{
	Interval   *older_than = PG_GETARG_INTERVAL_P(0);
	Oid			types[1] = {INTERVALOID};
	Datum		values[1] = {IntervalPGetDatum(older_than)};
	int64		total;
	uint64		n;
	SPITupleTable *table;
	SsOwnerState owner;

	if (!ss_is_operator())
	{
		ss_audit_refusal(NULL, "audit.purge", "42501", "not an operator");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: only a secrets_store operator may purge audit events"),
				 errhint("Grant secrets_store_operator to the role that applies retention.")));
	}
	if (older_than->month < 0 || older_than->day < 0 || older_than->time < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("older_than must not be negative")));

	/* delete as the owner, counting per account */
	ss_become_owner(SS_REL_AUDIT_EVENTS, &owner);
	purge_in_progress = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("WITH gone AS (DELETE FROM secrets_store.audit_events"
								  " WHERE occurred_at OPERATOR(pg_catalog.<)"
								  " (pg_catalog.now() OPERATOR(pg_catalog.-) $1) RETURNING account_id)"
								  " SELECT account_id, pg_catalog.count(*) FROM gone GROUP BY account_id",
								  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not purge audit events");
	}
	PG_FINALLY();
	{
		purge_in_progress = false;
		ss_restore_owner(&owner);
	}
	PG_END_TRY();

	total = 0;
	n = SPI_processed;
	table = SPI_tuptable;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		pg_uuid_t  *account = DatumGetUUIDP(SPI_getbinval(table->vals[i], table->tupdesc, 1, &isnull));
		int64		count = DatumGetInt64(SPI_getbinval(table->vals[i], table->tupdesc, 2, &isnull));
		char	   *interval_text = DatumGetCString(DirectFunctionCall1(interval_out, values[0]));
		StringInfoData details;
		pg_uuid_t	account_copy;

		memcpy(&account_copy, account, sizeof(pg_uuid_t));
		initStringInfo(&details);
		appendStringInfo(&details, "{\"older_than\": ");
		escape_json(&details, interval_text);
		appendStringInfo(&details, ", \"events_deleted\": " INT64_FORMAT "}", count);
		total += count;
		ss_audit_event(&account_copy, "delete", "audit_events", NULL, "retention",
					   details.data, false);
	}
	SPI_finish();
	PG_RETURN_INT64(total);
}
