-- Attacks found in review, each kept as a rule: owner writes cannot run a
-- caller's operators, EXPLAIN ANALYZE cannot count hidden rows, ids cannot
-- be squatted, quota locks cannot be held by others, nested triggers cannot
-- skip the guards, a disabled token stays disabled, internal functions
-- refuse odd input cleanly.
BEGIN;
SELECT plan(33);

-- 1. Code that writes as the table owner pins search_path: an operator the
--    caller defines never runs with the owner's rights.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ss_schemer') THEN
        CREATE ROLE ss_schemer LOGIN;
    END IF;
END $$;
GRANT secrets_store_user TO ss_schemer;
SELECT secrets_store.grant_role(ss_test.id('acme'), secrets_store.create_member('schemer@acme.example', 'Schemer', 'ss_schemer'), 'secrets_store_reporter');
CREATE SCHEMA ss_trap AUTHORIZATION ss_schemer;
CREATE TEMP TABLE trap_log (fired_as name);
GRANT INSERT ON trap_log TO PUBLIC;
SET LOCAL ROLE ss_schemer;
CREATE FUNCTION ss_trap.eq(uuid, uuid) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO pg_temp.trap_log VALUES (current_user);
    RETURN pg_catalog.uuid_eq($1, $2);
END $f$;
CREATE OPERATOR ss_trap.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = ss_trap.eq);
CREATE FUNCTION ss_trap.lt(timestamptz, timestamptz) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO pg_temp.trap_log VALUES (current_user);
    RETURN pg_catalog.timestamptz_lt($1, $2);
END $f$;
CREATE OPERATOR ss_trap.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = ss_trap.lt);
RESET ROLE;
CREATE TEMP TABLE trap_token AS SELECT ss_test.run_as('ss_schemer',
    $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'trap', '{secrets_store_read}')$$) AS bearer;
GRANT SELECT ON trap_token TO PUBLIC;
CREATE FUNCTION pg_temp.spring_trap() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        SET LOCAL ROLE ss_schemer;
        SET LOCAL search_path = ss_trap, pg_catalog;
        PERFORM secrets_store.authenticate((SELECT bearer FROM trap_token));
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION WHEN SQLSTATE 'SSOK0' THEN NULL;
    END;
    BEGIN
        SET LOCAL ROLE ss_schemer;
        SET LOCAL search_path = ss_trap, pg_catalog;
        PERFORM secrets_store.roll_api_token((SELECT id FROM secrets_store.api_tokens WHERE name = 'trap'));
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION WHEN SQLSTATE 'SSOK0' THEN NULL;
    END;
    RETURN (SELECT coalesce(string_agg(DISTINCT fired_as, ','), 'never') FROM trap_log);
END $$;
SELECT is(pg_temp.spring_trap(), 'never',
          'authenticate() and roll_api_token() under a hostile search_path never call the caller''s operators');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'ss_schemer'), false, 'and the caller did not become superuser');

-- 2. EXPLAIN ANALYZE would count rows hidden by row-level security
SET LOCAL enable_seqscan = off;
SELECT is((ss_test.attempt('ss_dave', format($$EXPLAIN (ANALYZE, COSTS OFF) SELECT 1 FROM secrets_store.accounts WHERE id = %L$$, ss_test.id('globex')))).outcome,
          '42501', 'EXPLAIN ANALYZE over accounts is refused to a principal: 42501');
SELECT is((ss_test.attempt('ss_dave', $$EXPLAIN (ANALYZE, COSTS OFF) SELECT 1 FROM secrets_store.members WHERE email >= 'g'$$)).message,
          'EXPLAIN ANALYZE is not allowed on secrets_store tables', '... over members, with a message that says why');
SELECT is((ss_test.attempt('ss_frank', $$EXPLAIN ANALYZE SELECT * FROM secrets_store.secrets$$)).outcome,
          '42501', '... over secrets, for a member with no role');
CREATE VIEW pg_temp.my_secrets AS SELECT name FROM secrets_store.secrets;
GRANT SELECT ON pg_temp.my_secrets TO PUBLIC;
SELECT is((ss_test.attempt('ss_dave', $$EXPLAIN ANALYZE SELECT * FROM pg_temp.my_secrets$$)).outcome,
          '42501', '... and through a view');
SELECT is((ss_test.attempt('ss_dave', $$EXPLAIN (COSTS OFF) SELECT 1 FROM secrets_store.accounts$$)).outcome,
          'allowed', 'plain EXPLAIN (estimates only) stays available');
SELECT is((ss_test.attempt('ss_dave', $$EXPLAIN ANALYZE SELECT 1$$)).outcome,
          'allowed', 'EXPLAIN ANALYZE of other queries stays available');
SELECT lives_ok($$EXPLAIN ANALYZE SELECT * FROM secrets_store.accounts$$,
                'a database administrator may EXPLAIN ANALYZE');
RESET enable_seqscan;

-- 3. ids cannot be squatted across accounts
SELECT is((ss_test.attempt('ss_gina', format($$INSERT INTO secrets_store.worker_bindings (id, account_id, script_name, binding_name, store_id, secret_name) VALUES (%L, ss_test.id('globex'), 'shop', 'SQUAT', ss_test.id('globex.store'), 'API_KEY')$$, ss_test.id('acme.binding')))).outcome,
          '23505', 'a binding id in use in another account is refused: 23505');
SELECT is((ss_test.attempt('ss_gina', format($$INSERT INTO secrets_store.ai_gateway_associations (id, account_id, gateway_id, provider, secret_id) VALUES (%L, ss_test.id('globex'), 'gw5', 'openai', ss_test.id('globex.api_key'))$$, ss_test.id('acme.association')))).outcome,
          '23505', 'an association id in use in another account is refused: 23505');
SELECT is((ss_test.attempt('ss_bob', $$INSERT INTO secrets_store.stores (id, account_id, name) VALUES ('00000000-0000-4000-8000-0000000000d1', ss_test.id('acme'), 'chosen id')$$)).outcome,
          'allowed', 'a client-chosen id that is free is accepted (ORMs generate ids)');

-- 4. the quota lock is a row lock principals cannot take
SELECT is((ss_test.attempt('ss_alice', $$SELECT 1 FROM secrets_store.account_limits WHERE account_id = ss_test.id('globex') FOR UPDATE$$)).outcome,
          '42501', 'a principal cannot lock an account_limits row (no UPDATE privilege): 42501');
SELECT is((ss_test.attempt('ss_alice', $$SELECT secrets_store.lock_account(ss_test.id('globex'))$$)).outcome,
          'P0002', 'nor lock another account through lock_account(): P0002');
SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'secrets_store' AND p.prosrc LIKE '%advisory%'), 0::bigint,
          'no function of the extension uses public advisory locks');
-- quotas are counters only triggers move
SELECT is((ss_test.attempt('ss_alice', $$SELECT secrets_store.take_quota()$$)).outcome, '42501',
          'the quota triggers cannot be called from SQL (no EXECUTE): 42501');
SELECT is((ss_test.attempt('ss_alice', $$SELECT count(*) FROM secrets_store.account_usage$$)).outcome, '42501',
          'nobody reads or writes the counters: 42501');
UPDATE secrets_store.account_limits SET max_secrets = 2 WHERE account_id = ss_test.id('acme');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'THIRD', NULL, '{workers}')$$)).message,
          'maximum secrets exceeded: the account has 2 of 2 secrets', 'a full account refuses one more secret');
SELECT is((ss_test.attempt('ss_bob', $q$DO $d$ BEGIN
              PERFORM secrets_store.delete_secret(ss_test.id('acme.spare'), force => true);
              PERFORM secrets_store.create_secret(ss_test.id('acme.store'), 'THIRD', NULL, '{workers}');
              PERFORM secrets_store.create_secret(ss_test.id('acme.store'), 'FOURTH', NULL, '{workers}');
          END $d$ $q$)).message,
          'maximum secrets exceeded: the account has 2 of 2 secrets', 'deleting one frees exactly one place');
SELECT is((ss_test.attempt('ss_bob', $q$DO $d$ BEGIN
              UPDATE secrets_store.account_limits SET max_secrets = 3 WHERE account_id = ss_test.id('acme');
          END $d$ $q$)).outcome, '42501', '(an Admin cannot raise the limit)');
UPDATE secrets_store.account_limits SET max_secrets = 3 WHERE account_id = ss_test.id('acme');
SELECT is((ss_test.attempt('ss_bob', $q$DO $d$ BEGIN
              INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes)
              SELECT ss_test.id('acme'), ss_test.id('acme.store'), 'API_KEY', '{workers}'
              FROM generate_series(1, 10) ON CONFLICT DO NOTHING;
              INSERT INTO secrets_store.stores (account_id, name)
              VALUES (ss_test.id('acme'), 'acme-main') ON CONFLICT DO NOTHING;
              PERFORM secrets_store.create_secret(ss_test.id('acme.store'), 'THIRD', NULL, '{workers}');
          END $d$ $q$)).outcome,
          'allowed', 'rows that INSERT ... ON CONFLICT does not insert are not counted against the quota');
UPDATE secrets_store.account_limits SET max_secrets = 2 WHERE account_id = ss_test.id('acme');
SELECT is((ss_test.attempt('ss_alice', $$SELECT secrets_store.recount_usage()$$)).outcome, '42501',
          'only operators recount usage: 42501');
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.recount_usage()$$)).outcome, 'allowed',
          'an operator recounts usage (after a bulk load)');

-- 5. a trigger of one's own cannot skip the guards
CREATE TEMP TABLE nudge (x int);
GRANT ALL ON nudge TO PUBLIC;
CREATE FUNCTION pg_temp.delete_store() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM secrets_store.stores WHERE id = ss_test.id('acme.store');
    RETURN NULL;
END $$;
CREATE TRIGGER nudge_delete AFTER INSERT ON nudge FOR EACH ROW EXECUTE FUNCTION pg_temp.delete_store();
SELECT is((ss_test.attempt('ss_bob', $$INSERT INTO pg_temp.nudge VALUES (1)$$)).outcome,
          '2BP01', 'deleting a non-empty store from a nested trigger is still refused: 2BP01');
DROP TRIGGER nudge_delete ON nudge;
CREATE FUNCTION pg_temp.delete_secret() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM secrets_store.secrets WHERE id = ss_test.id('acme.api_key');
    RETURN NULL;
END $$;
CREATE TRIGGER nudge_delete AFTER INSERT ON nudge FOR EACH ROW EXECUTE FUNCTION pg_temp.delete_secret();
SELECT is((ss_test.attempt('ss_bob', $$INSERT INTO pg_temp.nudge VALUES (1)$$)).outcome,
          '2BP01', 'deleting a bound secret from a nested trigger is still refused: 2BP01');

-- 6. a token a Super Administrator disabled stays disabled
SELECT ss_test.run_as('ss_carol', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'carol ci', '{workers_scripts_edit}') IS NOT NULL$$);
CREATE TEMP TABLE carol_token AS SELECT id FROM secrets_store.api_tokens WHERE name = 'carol ci';
GRANT SELECT ON carol_token TO PUBLIC;
SELECT ss_test.run_as('ss_alice', format($$SELECT secrets_store.disable_api_token(%L)::text$$, (SELECT id FROM carol_token)));
SELECT is((ss_test.attempt('ss_carol', format($$SELECT secrets_store.enable_api_token(%L)$$, (SELECT id FROM carol_token)))).outcome,
          '42501', 'the owner cannot re-enable a token the Super Administrator disabled: 42501');
SELECT is((ss_test.attempt('ss_carol', format($$UPDATE secrets_store.api_tokens SET status = 'active' WHERE id = %L$$, (SELECT id FROM carol_token)))).outcome,
          '42501', 'nor by a direct UPDATE: 42501');
SELECT is((ss_test.attempt('ss_carol', format($$UPDATE secrets_store.api_tokens SET expires_at = now() + interval '10 years', allowed_cidrs = '{0.0.0.0/0}' WHERE id = %L$$, (SELECT id FROM carol_token)))).outcome,
          '42501', 'nor change its expiry or address limits: 42501');
SELECT is((ss_test.attempt('ss_carol', format($$UPDATE secrets_store.api_tokens SET name = 'renamed' WHERE id = %L$$, (SELECT id FROM carol_token)))).outcome,
          'allowed', 'the owner may still rename it');
SELECT is((ss_test.attempt('ss_alice', format($$SELECT secrets_store.enable_api_token(%L)$$, (SELECT id FROM carol_token)))).outcome,
          'allowed', 'the Super Administrator may re-enable it');

-- 7. accounts_with() with a variable argument answers for each value
CREATE FUNCTION pg_temp.accounts_for_each(actions text[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    a text;
    answers text[] := '{}';
BEGIN
    FOREACH a IN ARRAY actions LOOP
        answers := answers || cardinality(secrets_store.accounts_with(VARIADIC ARRAY[a]))::text;
    END LOOP;
    RETURN array_to_string(answers, ',');
END $$;
SELECT is(ss_test.run_as('ss_carol', $$SELECT pg_temp.accounts_for_each('{binding.create,member.manage,token.manage,secret.read}')$$),
          '1,0,0,1', 'accounts_with() called with a changing variable answers for each value');

-- 8. internal functions refuse odd input with a clean error
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.account_of('pg_class'::regclass, ss_test.id('acme.store'))$$)).outcome,
          '22023', 'account_of() of a table that is not ours: 22023');
SELECT is(length((ss_test.attempt('ss_bob', format($$SELECT secrets_store.can(ss_test.id('acme'), %L)$$, repeat('x', 100000)))).message) < 200,
          true, 'an unknown action is not echoed at length');

SELECT * FROM finish();
ROLLBACK;
