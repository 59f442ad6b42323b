-- The audit trail: one event per change and per value access, in the same
-- transaction, with the right fields, through the function API and direct
-- SQL; nothing for a rolled-back change; append-only for everyone; visible
-- per audit.read; never a value, token or key; refusals in the server log.
BEGIN;
SELECT plan(74);

-- the events a statement causes, as "action resource_type name", computed in
-- a subtransaction that is then rolled back
CREATE FUNCTION pg_temp.events_of(who name, statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    last_id bigint := (SELECT coalesce(max(id), 0) FROM secrets_store.audit_events);
    result text;
BEGIN
    BEGIN
        EXECUTE format('SET LOCAL ROLE %I', who);
        EXECUTE statement;
        RESET ROLE;
        SELECT coalesce(string_agg(e.action || ' ' || e.resource_type || ' ' || coalesce(e.resource_name, '-'), '; ' ORDER BY e.id), 'none')
          INTO result FROM secrets_store.audit_events e WHERE e.id > last_id;
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION
        WHEN SQLSTATE 'SSOK0' THEN RETURN result;
        WHEN OTHERS THEN RETURN 'error ' || SQLSTATE || ': ' || SQLERRM;
    END;
END
$$;

-- the last event of a statement, as a jsonb row, rolled back
CREATE FUNCTION pg_temp.last_event_of(who name, statement text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    result jsonb;
BEGIN
    BEGIN
        EXECUTE format('SET LOCAL ROLE %I', who);
        EXECUTE statement;
        RESET ROLE;
        SELECT to_jsonb(e) INTO result FROM secrets_store.audit_events e ORDER BY e.id DESC LIMIT 1;
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION
        WHEN SQLSTATE 'SSOK0' THEN RETURN result;
    END;
END
$$;

-- 1. every action of the matrix, through the function API: exactly one event
SELECT is(pg_temp.events_of('ss_alice', format(a.statement, 'acme')), e.expected,
          format('%s through the function API: %s', a.action, e.expected))
FROM ss_test.action_statements a
JOIN (VALUES
    ('secret.read', 'none'),
    ('secret.create', 'create secret NEW_SECRET'),
    ('secret.edit', 'update secret API_KEY'),
    ('secret.duplicate', 'create secret API_KEY_COPY'),
    ('secret.delete', 'delete secret SPARE'),
    ('store.create', 'create store third'),
    ('store.delete', 'delete store acme-empty'),
    ('binding.create', 'create worker_binding shop/NEW_BINDING'),
    ('binding.delete', 'delete worker_binding shop/API'),
    ('association.create', 'create ai_gateway_association gw2/anthropic/default'),
    ('association.delete', 'delete ai_gateway_association gw1/openai/default'),
    ('member.manage', 'create role_assignment secrets_store_reporter'),
    ('token.manage', 'none'),
    ('audit.read', 'none')) AS e (action, expected) USING (action)
ORDER BY a.ord;

-- 2. the same through direct SQL (the ORM path)
SELECT is(pg_temp.events_of(who, statement), expected, format('direct SQL: %s', expected))
FROM (VALUES
    ('ss_bob', $s$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'ORM_SECRET', '{workers}')$s$,
     'create secret ORM_SECRET'),
    ('ss_bob', $s$UPDATE secrets_store.secrets SET comment = 'from the orm' WHERE id = ss_test.id('acme.api_key')$s$,
     'update secret API_KEY'),
    ('ss_bob', $s$DELETE FROM secrets_store.secrets WHERE id = ss_test.id('acme.spare')$s$,
     'delete secret SPARE'),
    ('ss_bob', $s$UPDATE secrets_store.stores SET name = 'renamed' WHERE id = ss_test.id('acme.empty_store')$s$,
     'update store renamed'),
    ('ss_carol', $s$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name) VALUES (ss_test.id('acme'), 'shop', 'ORM', ss_test.id('acme.store'), 'API_KEY')$s$,
     'create worker_binding shop/ORM'),
    ('ss_carol', $s$DELETE FROM secrets_store.ai_gateway_associations WHERE id = ss_test.id('acme.association')$s$,
     'delete ai_gateway_association gw1/openai/default'),
    ('ss_alice', $s$DELETE FROM secrets_store.role_assignments WHERE member_id = ss_test.id('ss_dave')$s$,
     'delete role_assignment secrets_store_reporter'),
    ('ss_bob', $s$UPDATE secrets_store.secrets SET comment = comment WHERE id = ss_test.id('acme.api_key')$s$,
     'none')) AS t (who, statement, expected);
SELECT is(pg_temp.events_of('ss_bob', $s$UPDATE secrets_store.secrets SET comment = 'x' WHERE account_id = ss_test.id('acme')$s$),
          'update secret API_KEY; update secret SPARE', 'a statement changing two rows: two events');

-- 3. the fields of an event
CREATE TEMP TABLE edit_event AS
SELECT pg_temp.last_event_of('ss_bob', $s$SELECT secrets_store.update_secret(ss_test.id('acme.api_key'), comment => 'rotated', scopes => '{workers}')$s$) AS e;
SELECT is(e->>'account_id', ss_test.id('acme')::text, 'account_id') FROM edit_event;
SELECT is(e->>'resource_id', ss_test.id('acme.api_key')::text, 'resource_id') FROM edit_event;
SELECT is(e->>'actor_type', 'database_role', 'actor_type of a psql member') FROM edit_event;
SELECT is(e->>'actor_member_id', ss_test.id('ss_bob')::text, 'actor_member_id') FROM edit_event;
SELECT is(e->>'actor_db_role', 'ss_bob', 'actor_db_role') FROM edit_event;
SELECT is(e->>'client_addr', '127.0.0.1', 'client_addr (this test runs over TCP)') FROM edit_event;
SELECT is(e->>'application_name', current_setting('application_name'), 'application_name') FROM edit_event;
SELECT is(e->'details', '{"comment": {"old": "used by the shop", "new": "rotated"}, "scopes": {"old": "{workers,ai_gateway}", "new": "{workers}"}}'::jsonb,
          'details: the changed fields with old and new values, nothing else') FROM edit_event;
SELECT ok((e->>'occurred_at')::timestamptz BETWEEN now() AND clock_timestamp(), 'occurred_at') FROM edit_event;

SELECT is(pg_temp.last_event_of('ss_bob', $s$SELECT secrets_store.update_secret(ss_test.id('acme.api_key'), value => 'hunter2')$s$)->'details',
          '{"status": {"old": "pending", "new": "active"}, "value_modified": true}'::jsonb,
          'a value edit says value_modified, never the value');
CREATE TEMP TABLE dup_event AS
SELECT pg_temp.last_event_of('ss_bob', $s$DO $d$ BEGIN
    PERFORM secrets_store.update_secret(ss_test.id('acme.api_key'), value => 'hunter2');
    PERFORM secrets_store.duplicate_secret(ss_test.id('acme.api_key'), 'DUP'); END $d$$s$) AS e;
SELECT is(e->>'action', 'create', 'a duplicate is a create') FROM dup_event;
SELECT is(e->'details'->>'duplicated_from', ss_test.id('acme.api_key')::text, 'naming the source secret') FROM dup_event;
SELECT is(e->'details'->>'value_modified', 'true', 'with value_modified') FROM dup_event;
SELECT is((pg_temp.last_event_of('ss_bob', $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'NEW', NULL, '{workers}', 'c')$s$)->'details') - 'id',
          ('{"name": "NEW", "scopes": "{workers}", "status": "pending", "comment": "c", "store_id": "' || ss_test.id('acme.store') || '", "account_id": "' || ss_test.id('acme') || '"}')::jsonb,
          'a create lists the new metadata');

-- principals other than a psql member
CREATE TEMP TABLE audit_token AS SELECT ss_test.run_as('ss_alice',
    $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'audited', '{secrets_store_edit}')$$) AS bearer;
GRANT SELECT ON audit_token TO PUBLIC;
CREATE FUNCTION pg_temp.token_event() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    result jsonb;
BEGIN
    BEGIN
        SET LOCAL ROLE ss_mallory;
        PERFORM secrets_store.authenticate((SELECT bearer FROM audit_token));
        PERFORM secrets_store.create_secret(ss_test.id('acme.store'), 'BY_TOKEN', NULL, '{workers}');
        RESET ROLE;
        SELECT to_jsonb(e) INTO result FROM secrets_store.audit_events e ORDER BY e.id DESC LIMIT 1;
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION WHEN SQLSTATE 'SSOK0' THEN RETURN result;
    END;
END $$;
SELECT is(pg_temp.token_event()->>'actor_type', 'token', 'a change made with a token: actor_type token');
SELECT is(pg_temp.token_event()->>'actor_token_id', (SELECT id::text FROM secrets_store.api_tokens WHERE name = 'audited'), 'naming the token');
SELECT is(pg_temp.token_event()->>'actor_db_role', 'ss_mallory', 'and the login role it came through');
SELECT is(pg_temp.events_of('ss_alice', format($s$SELECT secrets_store.roll_api_token(%L)$s$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'audited'))),
          'update api_token audited', 'rolling a token is an update event');
SELECT is(pg_temp.events_of('ss_alice', $s$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'another', '{secrets_store_read}')$s$),
          'create api_token another', 'creating a token is a create event');
SELECT is(pg_temp.events_of('ss_mallory', format($s$DO $d$ BEGIN PERFORM secrets_store.authenticate(%L); END $d$$s$, (SELECT bearer FROM audit_token))),
          'none', 'authenticating (and its last_used_at) is not an event');

-- value access by the runtime
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ss_runtime') THEN CREATE ROLE ss_runtime LOGIN; END IF;
END $$;
GRANT secrets_store_runtime TO ss_runtime;
SELECT ss_test.run_as('ss_bob', $$SELECT secrets_store.update_secret(ss_test.id('acme.api_key'), value => 'hunter2')::text$$);
CREATE TEMP TABLE access_event AS
SELECT pg_temp.last_event_of('ss_runtime', $s$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'shop', 'API')$s$) AS e;
SELECT is(e->>'action', 'access', 'a value read by the runtime is an access event') FROM access_event;
SELECT is(e->>'actor_type', 'runtime', 'by actor_type runtime') FROM access_event;
SELECT is(e->>'resource_name', 'API_KEY', 'naming the secret') FROM access_event;
SELECT is(e->'details', '{"through": "worker_binding", "script_name": "shop", "binding_name": "API"}'::jsonb, 'and the binding') FROM access_event;
SELECT is(pg_temp.events_of('ss_runtime', $s$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw1', 'openai')$s$),
          'access secret API_KEY', 'a gateway key read is an access event too');
SELECT is(pg_temp.events_of('ss_runtime', $s$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'shop', 'NO_SUCH')$s$),
          'error P0002: secret not found', 'a failed read leaves no event (its transaction aborts)');
CREATE FUNCTION pg_temp.read_only_access() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before bigint := (SELECT count(*) FROM secrets_store.audit_events);
    got text;
BEGIN
    BEGIN
        SET LOCAL transaction_read_only = on;
        SET LOCAL ROLE ss_runtime;
        got := secrets_store.get_bound_secret(ss_test.id('acme'), 'shop', 'API');
        RESET ROLE;
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION WHEN SQLSTATE 'SSOK0' THEN NULL;
    END;
    RETURN (got IS NOT NULL)::text || ', ' || ((SELECT count(*) FROM secrets_store.audit_events) - before)::text || ' rows';
END $$;
SELECT is(pg_temp.read_only_access(), 'true, 0 rows',
          'where nothing can be written (read-only, hot standby), reads work and write no row');
SELECT ok(pg_read_file(regexp_replace(current_setting('data_directory'), '/data$', '/server.log'))
          ~ 'secrets_store AUDIT: \{[^\n]*"action": "access"[^\n]*"actor_type": "runtime"[^\n]*"recorded": "log"',
          '... they are recorded as a structured server log line instead');

-- 4. rollback leaves nothing
SELECT is((SELECT count(*) FROM secrets_store.audit_events WHERE resource_name IN ('NEW_SECRET', 'ORM_SECRET', 'BY_TOKEN')),
          0::bigint, 'changes that were rolled back left no event');

-- 5. append-only, for everyone
SELECT throws_ok($$UPDATE secrets_store.audit_events SET action = 'update'$$, '42501', 'the audit trail is append-only',
                 'the owner (a superuser) cannot UPDATE events');
SELECT throws_ok($$DELETE FROM secrets_store.audit_events$$, '42501', 'the audit trail is append-only',
                 'nor DELETE them');
SELECT throws_ok($$TRUNCATE secrets_store.audit_events$$, '42501', 'the audit trail is append-only',
                 'nor TRUNCATE them');
SELECT is((ss_test.attempt('ss_oscar', $$DELETE FROM secrets_store.audit_events$$)).outcome, '42501',
          'an operator cannot DELETE events: 42501');
SELECT is((ss_test.attempt('ss_alice', $$UPDATE secrets_store.audit_events SET details = '{}'$$)).outcome, '42501',
          'a Super Administrator cannot UPDATE events: 42501');
SELECT is((ss_test.attempt('ss_alice', $$INSERT INTO secrets_store.audit_events (account_id, action, resource_type, actor_type) VALUES (ss_test.id('acme'), 'create', 'secret', 'member')$$)).outcome, '42501',
          'nobody forges an event by INSERT: 42501');
SELECT is((ss_test.attempt('ss_alice', $$SELECT secrets_store.purge_audit_events('0 seconds')$$)).outcome, '42501',
          'a Super Administrator cannot purge: 42501');
CREATE TEMP TABLE purge_result AS SELECT ss_test.run_as('ss_oscar', $$SELECT secrets_store.purge_audit_events('0 seconds')::text$$)::bigint AS n;
SELECT ok(n > 0, 'an operator purges old events') FROM purge_result;
SELECT is((SELECT count(*) FROM secrets_store.audit_events WHERE occurred_at < now()), 0::bigint,
          'every event older than the given age is gone');
SELECT ok((SELECT bool_and((details->>'events_deleted')::int > 0) AND count(*) >= 2
           FROM secrets_store.audit_events WHERE resource_type = 'audit_events'),
          'the purge left an event in each account it touched, with the count');
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.purge_audit_events('-1 day')$$)).outcome, '22023',
          'a negative age is refused: 22023');

-- 6. visible per audit.read, in one's own accounts only
SELECT ss_test.run_as('ss_bob', $$SELECT secrets_store.update_secret(ss_test.id('acme.api_key'), comment => 'seen')::text$$);
SELECT ss_test.run_as('ss_gina', $$SELECT secrets_store.update_secret(ss_test.id('globex.api_key'), comment => 'globex')::text$$);
SELECT is(ss_test.run_as('ss_bob', $$SELECT string_agg(DISTINCT account_id::text, ',') FROM secrets_store.audit_events$$),
          ss_test.id('acme')::text, 'a Secrets Store Admin sees the events of their account only');
SELECT is(ss_test.run_as('ss_gina', $$SELECT string_agg(DISTINCT account_id::text, ',') FROM secrets_store.audit_events$$),
          ss_test.id('globex')::text, 'another account''s Super Administrator sees theirs only');
SELECT is(ss_test.run_as('ss_dave', $$SELECT count(*)::text FROM secrets_store.audit_events$$), '0',
          'a Reporter (no audit.read) sees none');
SELECT is(ss_test.run_as('ss_carol', $$SELECT count(*)::text FROM secrets_store.audit_events$$), '0',
          'nor does a Deployer');
SELECT is(ss_test.run_as('ss_bob', format($$SELECT e->>'action' || ' ' || (e->>'resource_name') FROM secrets_store.export_audit_events(%L) e ORDER BY (e->>'id')::bigint DESC LIMIT 1$$, ss_test.id('acme'))),
          'update API_KEY', 'export_audit_events() gives one JSON object per event');
SELECT is((ss_test.attempt('ss_dave', format($$SELECT secrets_store.export_audit_events(%L)$$, ss_test.id('acme')))).outcome,
          '42501', 'a Reporter cannot export: 42501');
SELECT is((ss_test.attempt('ss_gina', format($$SELECT secrets_store.export_audit_events(%L)$$, ss_test.id('acme')))).outcome,
          'P0002', 'another account cannot export it: P0002');

-- 7. no value, token or key in any event
SELECT is((SELECT count(*) FROM secrets_store.audit_events e, audit_token t
           WHERE e::text LIKE '%hunter2%' OR e::text LIKE '%' || substr(t.bearer, 39, 43) || '%'), 0::bigint,
          'no event holds a value or a bearer secret');

-- 8. refusals are structured server log lines, without the statement
SELECT is((ss_test.attempt('ss_dave', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'REFUSED_CANARY_NAME', 'refused-canary-value', '{workers}')$$)).outcome,
          '42501', 'a Reporter is refused');
SELECT ok(pg_read_file(regexp_replace(current_setting('data_directory'), '/data$', '/server.log'))
          ~ ('secrets_store AUDIT: \{[^\n]*"account_id": "' || ss_test.id('acme') || '", "action": "secret.create", "result": "refused", "sqlstate": "42501"[^\n]*"actor_db_role": "ss_dave"'),
          'the refusal is one structured line in the server log, prefixed "secrets_store AUDIT:"');
SELECT ok(pg_read_file(regexp_replace(current_setting('data_directory'), '/data$', '/server.log')) !~ 'refused-canary-value',
          'and the server log does not hold the statement or its value');

SELECT * FROM finish();
ROLLBACK;
