-- API tokens and transaction principals: the token half of the permission
-- matrix, token lifetime rules, verification failures, spoofing attempts,
-- savepoints, plan reuse across principals, and act_as.
--
-- Runs over TCP from 127.0.0.1 (scripts/test.sh), so client-address rules
-- can be checked.  Principals are exercised from ss_mallory, a login role
-- that is not a member: what it may do comes from the token alone.
BEGIN;
SELECT plan(200);

-- run a statement as a role and keep its result (no rollback)
-- a value computed under a token, as ss_mallory; always rolled back
CREATE FUNCTION pg_temp.token_value(token text, query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    BEGIN
        SET LOCAL ROLE ss_mallory;
        PERFORM secrets_store.authenticate(token);
        EXECUTE query INTO result;
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION
        WHEN SQLSTATE 'SSOK0' THEN
            RETURN result;
    END;
END
$$;

CREATE TEMP TABLE tokens (name text PRIMARY KEY, bearer text NOT NULL);

-- tokens of every permission group, created by the Super Administrator
INSERT INTO tokens
SELECT g::text, ss_test.run_as('ss_alice', format(
    $$SELECT secrets_store.create_api_token(ss_test.id('acme'), %L, %L)$$, 'only ' || g, ARRAY[g]))
FROM unnest(enum_range(NULL::secrets_store.permission_group)) g;
INSERT INTO tokens VALUES
 ('edit+workers', ss_test.run_as('ss_alice', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'edit and workers', '{secrets_store_edit,workers_scripts_edit}')$$)),
 ('read+ai_gateway', ss_test.run_as('ss_alice', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'read and gateways', '{secrets_store_read,ai_gateway_edit}')$$)),
 ('globex', ss_test.run_as('ss_gina', $$SELECT secrets_store.create_api_token(ss_test.id('globex'), 'globex edit', '{secrets_store_edit}')$$));

-- the bearer string: recognisable, long, never stored
SELECT ok(bool_and(bearer ~ '^sstk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}_[0-9a-f]{8}$'),
          'bearer strings have the sstk_ prefix, the token id, 256 bits of secret and a checksum')
FROM tokens;
SELECT is(count(DISTINCT bearer), count(*), 'every bearer string is different') FROM tokens;
SELECT is((SELECT count(*) FROM secrets_store.api_tokens t, tokens k
           WHERE t::text LIKE '%' || substr(k.bearer, 39, 43) || '%'), 0::bigint,
          'no api_tokens row contains a bearer secret');
SELECT is((SELECT count(*) FROM secrets_store.api_token_secrets s, tokens k
           WHERE position(convert_to(substr(k.bearer, 39, 43), 'UTF8') IN s.hash) > 0), 0::bigint,
          'api_token_secrets holds hashes, not secrets');

-- the token half of the matrix: each group alone, in its own account and in another
CREATE TEMP TABLE group_matrix (grp text, action text);
INSERT INTO group_matrix VALUES
 ('secrets_store_edit', 'secret.read'), ('secrets_store_edit', 'secret.create'),
 ('secrets_store_edit', 'secret.edit'), ('secrets_store_edit', 'secret.duplicate'),
 ('secrets_store_edit', 'secret.delete'), ('secrets_store_edit', 'store.create'),
 ('secrets_store_edit', 'store.delete'), ('secrets_store_read', 'secret.read'),
 ('workers_scripts_edit', 'binding.create'), ('workers_scripts_edit', 'binding.delete'),
 ('ai_gateway_edit', 'association.create'), ('ai_gateway_edit', 'association.delete');

SELECT is(t.outcome,
          CASE WHEN acct = 'globex' THEN 'P0002'
               WHEN EXISTS (SELECT 1 FROM group_matrix m WHERE m.grp = k.name AND m.action = a.action) THEN 'allowed'
               ELSE '42501' END,
          format('token with %s: %s in %s account', k.name, a.action,
                 CASE acct WHEN 'acme' THEN 'own' ELSE 'another' END))
FROM tokens k
CROSS JOIN ss_test.action_statements a
CROSS JOIN (VALUES ('acme'), ('globex')) AS x (acct)
CROSS JOIN LATERAL ss_test.attempt_token(k.bearer, format(a.statement, acct)) t
WHERE k.name IN ('secrets_store_edit', 'secrets_store_read', 'workers_scripts_edit', 'ai_gateway_edit')
ORDER BY k.name, acct, a.ord;

-- combinations are unions
SELECT is(pg_temp.token_value(bearer, $$SELECT secrets_store.my_actions(ss_test.id('acme'))::text$$),
          '{secret.read,secret.create,secret.edit,secret.duplicate,secret.delete,store.create,store.delete,binding.create,binding.delete}',
          'a token with edit + workers groups holds the union of their actions')
FROM tokens WHERE name = 'edit+workers';
SELECT is(pg_temp.token_value(bearer, $$SELECT secrets_store.my_actions(ss_test.id('acme'))::text$$),
          '{secret.read,association.create,association.delete}',
          'a token with read + ai_gateway groups holds the union of their actions')
FROM tokens WHERE name = 'read+ai_gateway';

-- another account's token acts in that account only
SELECT is(pg_temp.token_value(bearer, $$SELECT string_agg(DISTINCT account_id::text, ',') FROM secrets_store.secrets$$),
          ss_test.id('globex')::text, 'Globex''s token sees Globex''s secrets only')
FROM tokens WHERE name = 'globex';
SELECT is((ss_test.attempt_token(bearer, $$SELECT secrets_store.update_secret(ss_test.id('acme.api_key'), comment => 'x')$$)).outcome,
          'P0002', 'Globex''s token cannot reach an Acme secret: P0002')
FROM tokens WHERE name = 'globex';

-- whoami tells the truth
SELECT is(pg_temp.token_value(bearer, $$SELECT row(w.principal_type, w.member_id IS NULL, w.db_role)::text FROM secrets_store.whoami() w$$),
          '(token,t,ss_mallory)', 'whoami under a token: principal_type token, no member, the login role')
FROM tokens WHERE name = 'secrets_store_read';
SELECT is(pg_temp.token_value(bearer, $$SELECT (secrets_store.whoami()).token_id::text$$),
          (SELECT id::text FROM secrets_store.api_tokens WHERE name = 'only secrets_store_read'),
          'whoami under a token names the token')
FROM tokens WHERE name = 'secrets_store_read';

-- member-owned tokens: groups must fit inside the creator's actions
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'b', '{secrets_store_edit}')$$)).outcome,
          'allowed', 'an Admin may create a token with the Edit group');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'b', '{workers_scripts_edit}')$$)).outcome,
          '42501', 'an Admin may not create a token with workers_scripts_edit: 42501');
SELECT matches((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'b', '{secrets_store_read,workers_scripts_edit}')$$)).message,
               'permission group "workers_scripts_edit"', 'the refusal names the group that does not fit');
SELECT is((ss_test.attempt('ss_dave', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'd', '{secrets_store_read}')$$)).outcome,
          'allowed', 'a Reporter may create a Read token');
SELECT is((ss_test.attempt('ss_dave', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'd', '{secrets_store_edit}')$$)).outcome,
          '42501', 'a Reporter may not create an Edit token: 42501');
SELECT is((ss_test.attempt('ss_carol', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'c', '{workers_scripts_edit,ai_gateway_edit}')$$)).outcome,
          'allowed', 'a Deployer may create a token with both integration groups');
SELECT is((ss_test.attempt('ss_frank', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'f', '{secrets_store_read}')$$)).outcome,
          'P0002', 'a member with no role cannot create a token in the account: P0002');
SELECT is((ss_test.attempt('ss_alice', $$SELECT secrets_store.create_api_token(ss_test.id('globex'), 'a', '{secrets_store_read}')$$)).outcome,
          'P0002', 'nobody creates a token in another account: P0002');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'b', '{secrets_store_read}', account_owned => true)$$)).outcome,
          '42501', 'only token.manage may create account-owned tokens: 42501');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), '', '{secrets_store_read}')$$)).outcome,
          '22023', 'an empty token name: 22023');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'b', '{}')$$)).outcome,
          '22023', 'a token without permission groups: 22023');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'b', '{secrets_store_read}', expires_at => now(), not_before => now() + interval '1 day')$$)).outcome,
          '22023', 'expires_at before not_before: 22023');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'b', '{secrets_store_read}', allowed_cidrs => '{10.0.0.0/8,NULL}')$$)).outcome,
          '22023', 'a NULL address range: 22023');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'b', '{secrets_store_read}', allowed_cidrs => '{10.0.0.0/33}')$$)).outcome,
          '22P02', 'an invalid CIDR is refused by its type: 22P02');

-- the owner's demotion disarms a member-owned token at once
INSERT INTO tokens VALUES ('carol', ss_test.run_as('ss_carol',
    $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'carol deploys', '{workers_scripts_edit}')$$));
INSERT INTO tokens VALUES ('alice-owned-by-account', ss_test.run_as('ss_alice',
    $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'account deploys', '{workers_scripts_edit}', account_owned => true)$$));
CREATE FUNCTION pg_temp.bind_outcome(token text) RETURNS text
LANGUAGE sql AS $$
    SELECT (ss_test.attempt_token(token, format(
        (SELECT statement FROM ss_test.action_statements WHERE action = 'binding.create'), 'acme'))).outcome
$$;
-- demote carol (Deployer -> Reporter) and alice (no role), observe, undo
CREATE FUNCTION pg_temp.after_demotion(carol_token text, account_token text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    seen text;
BEGIN
    BEGIN
        PERFORM secrets_store.revoke_role(ss_test.id('acme'), ss_test.id('ss_carol'), 'secrets_store_deployer');
        PERFORM secrets_store.grant_role(ss_test.id('acme'), ss_test.id('ss_carol'), 'secrets_store_reporter');
        PERFORM secrets_store.revoke_role(ss_test.id('acme'), ss_test.id('ss_alice'), 'super_administrator');
        seen := concat_ws(' ', pg_temp.bind_outcome(carol_token),
                          pg_temp.token_value(carol_token, $q$SELECT secrets_store.my_actions(ss_test.id('acme'))::text$q$),
                          pg_temp.bind_outcome(account_token));
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION WHEN SQLSTATE 'SSOK0' THEN
        RETURN seen;
    END;
END
$$;
SELECT is(pg_temp.bind_outcome(bearer), 'allowed', 'a Deployer''s own workers token may bind')
FROM tokens WHERE name = 'carol';
SELECT is(pg_temp.after_demotion((SELECT bearer FROM tokens WHERE name = 'carol'),
                                 (SELECT bearer FROM tokens WHERE name = 'alice-owned-by-account')),
          'P0002 {} allowed',
          'demoting a token''s owner disarms it at once (no action left: the account vanishes for it); an account-owned token does not depend on its creator''s roles');
SELECT is(pg_temp.bind_outcome(bearer), 'allowed', 'undoing the demotion restores the token')
FROM tokens WHERE name = 'carol';

-- lifetime: expiry, not-before, disabled, rolled, deleted, addresses
INSERT INTO tokens VALUES
 ('expired', ss_test.run_as('ss_alice', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'expired', '{secrets_store_read}', expires_at => now() - interval '1 second')$$)),
 ('future', ss_test.run_as('ss_alice', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'future', '{secrets_store_read}', not_before => now() + interval '1 hour')$$)),
 ('window', ss_test.run_as('ss_alice', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'window', '{secrets_store_read}', not_before => now() - interval '1 hour', expires_at => now() + interval '1 hour')$$)),
 ('loopback', ss_test.run_as('ss_alice', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'loopback', '{secrets_store_read}', allowed_cidrs => '{127.0.0.0/8}')$$)),
 ('elsewhere', ss_test.run_as('ss_alice', $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'elsewhere', '{secrets_store_read}', allowed_cidrs => '{10.0.0.0/8,192.168.0.0/16}')$$));

SELECT is(inet_client_addr() <<= '127.0.0.0/8', true, 'this test runs over TCP from 127.0.0.1');
SELECT is((ss_test.attempt_token(bearer, 'SELECT 1')).outcome, '28000', 'an expired token: 28000') FROM tokens WHERE name = 'expired';
SELECT is((ss_test.attempt_token(bearer, 'SELECT 1')).outcome, '28000', 'a token before not_before: 28000') FROM tokens WHERE name = 'future';
SELECT is((ss_test.attempt_token(bearer, 'SELECT 1')).outcome, 'allowed', 'a token inside its validity window works') FROM tokens WHERE name = 'window';
SELECT is((ss_test.attempt_token(bearer, 'SELECT 1')).outcome, 'allowed', 'a token used from an allowed address works') FROM tokens WHERE name = 'loopback';
SELECT is((ss_test.attempt_token(bearer, 'SELECT 1')).outcome, '28000', 'a token used from another address: 28000') FROM tokens WHERE name = 'elsewhere';

SELECT lives_ok(format('SELECT ss_test.run_as(%L, %L)', 'ss_alice', format('SELECT secrets_store.disable_api_token(%L)',
                       (SELECT id FROM secrets_store.api_tokens WHERE name = 'only secrets_store_read'))),
                'the Super Administrator disables a token');
SELECT is((ss_test.attempt_token(bearer, 'SELECT 1')).outcome, '28000', 'a disabled token: 28000') FROM tokens WHERE name = 'secrets_store_read';
SELECT lives_ok(format('SELECT ss_test.run_as(%L, %L)', 'ss_alice', format('SELECT secrets_store.enable_api_token(%L)',
                       (SELECT id FROM secrets_store.api_tokens WHERE name = 'only secrets_store_read'))),
                'and enables it again');
SELECT is((ss_test.attempt_token(bearer, 'SELECT 1')).outcome, 'allowed', 'a re-enabled token works') FROM tokens WHERE name = 'secrets_store_read';

INSERT INTO tokens VALUES ('rolled', ss_test.run_as('ss_alice', format(
    $$SELECT secrets_store.roll_api_token(%L)$$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'only secrets_store_read'))));
SELECT is((ss_test.attempt_token(bearer, 'SELECT 1')).outcome, '28000', 'the string a roll replaced stops working at once') FROM tokens WHERE name = 'secrets_store_read';
SELECT is((ss_test.attempt_token(bearer, $$SELECT secrets_store.quota(ss_test.id('acme'))$$)).outcome, 'allowed', 'the rolled string works with the same permissions') FROM tokens WHERE name = 'rolled';
SELECT is(substr((SELECT bearer FROM tokens WHERE name = 'rolled'), 6, 32),
          substr((SELECT bearer FROM tokens WHERE name = 'secrets_store_read'), 6, 32),
          'rolling keeps the token id');

SELECT lives_ok(format('SELECT ss_test.run_as(%L, %L)', 'ss_alice', format('SELECT secrets_store.delete_api_token(%L)',
                       (SELECT id FROM secrets_store.api_tokens WHERE name = 'window'))),
                'the Super Administrator deletes a token');
SELECT is((ss_test.attempt_token(bearer, 'SELECT 1')).outcome, '28000', 'a deleted token: 28000') FROM tokens WHERE name = 'window';
SELECT is((SELECT count(*) FROM secrets_store.api_token_secrets s, tokens k
           WHERE k.name = 'window' AND replace(s.token_id::text, '-', '') = substr(k.bearer, 6, 32)), 0::bigint,
          'deleting a token deletes its hash');

-- garbage in, one answer out
SELECT is((ss_test.attempt_token(NULL, 'SELECT 1')).outcome, '28000', 'NULL: 28000');
SELECT is((ss_test.attempt_token('', 'SELECT 1')).outcome, '28000', 'the empty string: 28000');
SELECT is((ss_test.attempt_token('sstk_', 'SELECT 1')).outcome, '28000', 'a bare prefix: 28000');
SELECT is((ss_test.attempt_token(repeat('x', 90), 'SELECT 1')).outcome, '28000', '90 characters of garbage: 28000');
SELECT is((ss_test.attempt_token(repeat('sstk_', 10000), 'SELECT 1')).outcome, '28000', 'a very long string: 28000');
SELECT is((ss_test.attempt_token(overlay(bearer placing CASE substr(bearer, 50, 1) WHEN 'A' THEN 'B' ELSE 'A' END from 50 for 1), 'SELECT 1')).outcome,
          '28000', 'one character of the secret changed: 28000') FROM tokens WHERE name = 'secrets_store_edit';
SELECT is((ss_test.attempt_token(overlay(bearer placing repeat('0', 32) from 6 for 32), 'SELECT 1')).outcome,
          '28000', 'another token id: 28000') FROM tokens WHERE name = 'secrets_store_edit';
SELECT is((ss_test.attempt_token(upper(bearer), 'SELECT 1')).outcome, '28000', 'the string upper-cased: 28000') FROM tokens WHERE name = 'secrets_store_edit';
SELECT is(count(DISTINCT t.message), 1::bigint, 'every rejection has the same message')
FROM (VALUES (NULL::text), (''), ('garbage'), ((SELECT bearer FROM tokens WHERE name = 'expired')),
             ((SELECT bearer FROM tokens WHERE name = 'future')), ((SELECT bearer FROM tokens WHERE name = 'elsewhere')),
             ((SELECT bearer FROM tokens WHERE name = 'window')), ((SELECT bearer FROM tokens WHERE name = 'secrets_store_read'))) AS v (b),
     ss_test.attempt_token(v.b, 'SELECT 1') t;
SELECT is((ss_test.attempt_token(bearer, 'SELECT 1')).message, 'invalid API token', 'the message says nothing about why')
FROM tokens WHERE name = 'expired';
SELECT ok(position(substr(bearer, 39, 43) IN coalesce((ss_test.attempt_token(bearer, 'SELECT 1')).message, '')) = 0,
          'the rejection does not repeat the token') FROM tokens WHERE name = 'expired';

-- one principal per transaction; savepoints; no spoofing.  Each scenario
-- runs in subtransactions (plpgsql blocks behave as savepoints: an exception
-- rolls one back, a normal end releases it) and reports what it saw.
CREATE FUNCTION pg_temp.savepoint_story(token text, other text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    seen text[] := '{}';
BEGIN
    BEGIN
        SET LOCAL ROLE ss_mallory;
        seen := seen || (secrets_store.whoami()).principal_type;              -- nobody
        BEGIN                                                                 -- savepoint a
            seen := seen || (secrets_store.authenticate(token)).principal_type;  -- token
            BEGIN
                PERFORM secrets_store.authenticate(other);
                seen := seen || 'second authenticate accepted'::text;
            EXCEPTION WHEN active_sql_transaction THEN
                seen := seen || 'second refused'::text;
            END;
            seen := seen || (secrets_store.whoami()).principal_type;          -- token
            RAISE SQLSTATE 'SSRB0';                                           -- rollback to a
        EXCEPTION WHEN SQLSTATE 'SSRB0' THEN NULL;
        END;
        seen := seen || (secrets_store.whoami()).principal_type;              -- nobody
        seen := seen || (SELECT count(*) FROM secrets_store.secrets)::text;   -- 0
        BEGIN                                                                 -- savepoint b, released
            PERFORM secrets_store.authenticate(token);
            BEGIN                                                             -- savepoint c, rolled back
                seen := seen || ((SELECT count(*) FROM secrets_store.secrets) > 0)::text;  -- true
                RAISE SQLSTATE 'SSRB0';
            EXCEPTION WHEN SQLSTATE 'SSRB0' THEN NULL;
            END;
            seen := seen || (secrets_store.whoami()).principal_type;          -- token
        END;
        seen := seen || (secrets_store.whoami()).principal_type;              -- token
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION WHEN SQLSTATE 'SSOK0' THEN NULL;
    END;
    seen := seen || (secrets_store.whoami()).principal_type;                  -- nobody (superuser)
    RETURN array_to_string(seen, ' ');
END
$$;
SELECT is(pg_temp.savepoint_story((SELECT bearer FROM tokens WHERE name = 'secrets_store_edit'),
                                  (SELECT bearer FROM tokens WHERE name = 'globex')),
          'nobody token second refused token nobody 0 true token token nobody',
          'savepoints: a second authenticate is refused; rolling back the savepoint that authenticated drops the principal and its rows; rolling back an inner one or releasing keeps it; the end of the transaction drops it');

CREATE FUNCTION pg_temp.spoofing_story(token text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    seen text[] := '{}';
BEGIN
    BEGIN
        SET LOCAL ROLE ss_mallory;
        PERFORM secrets_store.authenticate(token);
        BEGIN
            EXECUTE $q$SET secrets_store.principal = 'member'$q$;
            seen := seen || 'SET accepted'::text;
        EXCEPTION WHEN OTHERS THEN
            seen := seen || ('SET ' || SQLSTATE);
        END;
        BEGIN
            PERFORM set_config('secrets_store.token_id', '00000000-0000-4000-8000-000000000000', true);
            seen := seen || 'set_config accepted'::text;
        EXCEPTION WHEN OTHERS THEN
            seen := seen || ('set_config ' || SQLSTATE);
        END;
        RESET ALL;
        SET LOCAL ROLE ss_mallory;
        seen := seen || ('after RESET ALL ' || (secrets_store.whoami()).principal_type);
        BEGIN
            DISCARD ALL;
            seen := seen || 'DISCARD accepted'::text;
        EXCEPTION WHEN OTHERS THEN
            seen := seen || ('DISCARD ' || SQLSTATE);
        END;
        RESET ROLE;
        SET LOCAL ROLE ss_alice;
        seen := seen || ('as ss_alice ' || (secrets_store.whoami()).principal_type
                         || ' member.manage=' || secrets_store.can(ss_test.id('acme'), 'member.manage'));
        RESET ROLE;
        seen := seen || ('last_used_at recorded=' || (SELECT (last_used_at IS NOT NULL)::text
                                                       FROM secrets_store.api_tokens WHERE name = 'only secrets_store_edit'));
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION WHEN SQLSTATE 'SSOK0' THEN NULL;
    END;
    RETURN array_to_string(seen, '; ');
END
$$;
SELECT is(pg_temp.spoofing_story((SELECT bearer FROM tokens WHERE name = 'secrets_store_edit')),
          'SET 42602; set_config 42602; after RESET ALL token; DISCARD 25001; as ss_alice token member.manage=false; last_used_at recorded=true',
          'no SET, set_config, RESET ALL, DISCARD or SET ROLE changes or lends the principal; authenticate records last_used_at');

CREATE FUNCTION pg_temp.read_only_authenticate(token text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        SET LOCAL transaction_read_only = on;
        PERFORM secrets_store.authenticate(token);
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION
        WHEN SQLSTATE 'SSOK0' THEN RETURN 'allowed';
        WHEN OTHERS THEN RETURN SQLSTATE;
    END;
END
$$;
SELECT is(pg_temp.read_only_authenticate((SELECT bearer FROM tokens WHERE name = 'globex')), 'allowed',
          'authenticate works in a read-only transaction (last_used_at is not written)');

-- a plan prepared under one principal, executed under another
SET LOCAL plan_cache_mode = force_generic_plan;
PREPARE list_secrets AS SELECT coalesce(string_agg(DISTINCT account_id::text, ','), 'none') FROM secrets_store.secrets;
PREPARE count_stores AS SELECT count(*) FROM secrets_store.stores;
SELECT is(pg_temp.token_value(bearer, 'EXECUTE list_secrets'), ss_test.id('acme')::text,
          'a generic plan executed under an Acme token returns Acme rows') FROM tokens WHERE name = 'secrets_store_edit';
SELECT is(pg_temp.token_value(bearer, 'EXECUTE list_secrets'), ss_test.id('globex')::text,
          'the same plan under a Globex token returns Globex rows only') FROM tokens WHERE name = 'globex';
SELECT is(pg_temp.token_value(bearer, 'EXECUTE list_secrets'), ss_test.id('acme')::text,
          'and under the Acme token again, Acme rows only') FROM tokens WHERE name = 'secrets_store_edit';
SELECT is(pg_temp.token_value(bearer, 'EXECUTE count_stores'), '0',
          'the same plan under a token without secret.read returns nothing') FROM tokens WHERE name = 'workers_scripts_edit';
SELECT is((ss_test.attempt('ss_mallory', $q$DO $d$ BEGIN
              IF (SELECT count(*) FROM secrets_store.secrets) <> 0 THEN RAISE EXCEPTION 'rows'; END IF; END $d$ $q$)).outcome,
          'allowed', 'with no principal at all, nothing');
SET LOCAL plan_cache_mode = force_custom_plan;
SELECT is(pg_temp.token_value(bearer, 'EXECUTE list_secrets'), ss_test.id('globex')::text,
          'custom plans too: Globex token, Globex rows') FROM tokens WHERE name = 'globex';
DEALLOCATE list_secrets;
DEALLOCATE count_stores;
RESET plan_cache_mode;

-- tokens cannot manage tokens
SELECT is((ss_test.attempt_token(bearer, $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'x', '{secrets_store_read}')$$)).outcome,
          '42501', 'a token may not create tokens: 42501') FROM tokens WHERE name = 'secrets_store_edit';
SELECT is((ss_test.attempt_token(bearer, format($$SELECT secrets_store.roll_api_token(%L)$$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'only secrets_store_edit')))).outcome,
          'P0002', 'a token may not roll even itself: P0002 (it cannot see token metadata)') FROM tokens WHERE name = 'secrets_store_edit';
SELECT is((ss_test.attempt_token(bearer, format($$SELECT secrets_store.disable_api_token(%L)$$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'only secrets_store_edit')))).outcome,
          '42501', 'a token may not disable tokens: 42501') FROM tokens WHERE name = 'secrets_store_edit';

-- token metadata: the owner and the account's Super Administrators
INSERT INTO tokens VALUES ('bob', ss_test.run_as('ss_bob',
    $$SELECT secrets_store.create_api_token(ss_test.id('acme'), 'bob ci', '{secrets_store_edit}')$$));
SELECT is(ss_test.run_as('ss_bob', $$SELECT string_agg(name, ',') FROM secrets_store.api_tokens$$), 'bob ci',
          'a member sees only their own tokens');
SELECT is(ss_test.run_as('ss_alice', $$SELECT count(*)::text FROM secrets_store.api_tokens$$),
          (SELECT count(*)::text FROM secrets_store.api_tokens WHERE account_id = ss_test.id('acme')),
          'a Super Administrator sees every token of the account');
SELECT is(ss_test.run_as('ss_gina', $$SELECT count(*)::text FROM secrets_store.api_tokens WHERE account_id = ss_test.id('acme')$$), '0',
          'another account''s Super Administrator sees none of them');
SELECT is((ss_test.attempt('ss_alice', $$SELECT count(*) FROM secrets_store.api_token_secrets$$)).outcome, '42501',
          'nobody reads api_token_secrets: 42501');
SELECT is((ss_test.attempt('ss_dave', format($$SELECT secrets_store.disable_api_token(%L)$$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'bob ci')))).outcome,
          'P0002', 'a member cannot disable another member''s token: P0002');
SELECT is((ss_test.attempt('ss_dave', format($$SELECT secrets_store.roll_api_token(%L)$$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'bob ci')))).outcome,
          'P0002', 'nor roll it: P0002');
SELECT is((ss_test.attempt('ss_gina', format($$SELECT secrets_store.delete_api_token(%L)$$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'bob ci')))).outcome,
          'P0002', 'nor can another account''s Super Administrator: P0002');
SELECT is((ss_test.attempt('ss_bob', format($$SELECT secrets_store.roll_api_token(%L)$$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'bob ci')))).outcome,
          'allowed', 'the owner may roll their token');
SELECT is((ss_test.attempt('ss_alice', format($$SELECT secrets_store.delete_api_token(%L)$$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'bob ci')))).outcome,
          'allowed', 'the Super Administrator may delete any token of the account');
SELECT is((ss_test.attempt('ss_bob', format($$UPDATE secrets_store.api_tokens SET permission_groups = '{secrets_store_edit,workers_scripts_edit}' WHERE id = %L$$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'bob ci')))).outcome,
          '42501', 'permission groups cannot be changed by UPDATE (no column privilege): 42501');
SELECT is((ss_test.attempt('ss_bob', format($$UPDATE secrets_store.api_tokens SET last_used_at = now() WHERE id = %L$$, (SELECT id FROM secrets_store.api_tokens WHERE name = 'bob ci')))).outcome,
          '42501', 'last_used_at cannot be forged: 42501');
SELECT is((ss_test.attempt('ss_bob', $$INSERT INTO secrets_store.api_tokens (id, account_id, name, permission_groups) VALUES (gen_random_uuid(), ss_test.id('acme'), 'x', '{secrets_store_read}')$$)).outcome,
          '42501', 'tokens are not inserted directly: 42501');

-- act_as: for secrets_store_gateway roles only
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ss_gateway_app') THEN
        CREATE ROLE ss_gateway_app LOGIN;
    END IF;
END $$;
GRANT secrets_store_user, secrets_store_gateway TO ss_gateway_app;
SELECT is((ss_test.attempt('ss_mallory', $$SELECT secrets_store.act_as(ss_test.id('ss_dave'))$$)).outcome,
          '42501', 'a role outside secrets_store_gateway may not act_as: 42501');
SELECT is((ss_test.attempt('ss_alice', $$SELECT secrets_store.act_as(ss_test.id('ss_dave'))$$)).outcome,
          '42501', 'nor may a member''s own role: 42501');
SELECT is((ss_test.attempt('ss_gateway_app', $q$DO $d$ BEGIN
              IF (secrets_store.act_as(ss_test.id('ss_dave'))).principal_type <> 'member' THEN RAISE EXCEPTION 'type'; END IF;
              IF (secrets_store.whoami()).member_id <> ss_test.id('ss_dave') THEN RAISE EXCEPTION 'member'; END IF;
              IF NOT secrets_store.can(ss_test.id('acme'), 'secret.read') THEN RAISE EXCEPTION 'read'; END IF;
              IF secrets_store.can(ss_test.id('acme'), 'secret.create') THEN RAISE EXCEPTION 'create'; END IF;
              IF (SELECT count(*) FROM secrets_store.secrets) <> 2 THEN RAISE EXCEPTION 'rows'; END IF;
              END $d$ $q$)).outcome,
          'allowed', 'a gateway acting as a Reporter gets exactly the Reporter''s rights and rows');
SELECT is((ss_test.attempt('ss_gateway_app', $$SELECT secrets_store.act_as(ss_test.id('ss_dave')); SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'X', NULL, '{workers}')$$)).outcome,
          '42501', 'a gateway acting as a Reporter cannot create: 42501');
SELECT matches((ss_test.attempt('ss_gateway_app', $$SELECT secrets_store.act_as(ss_test.id('ss_dave')); SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'X', NULL, '{workers}')$$)).message,
               'member "dave@acme\.example" \(acting through database role "ss_gateway_app"\)', 'the refusal names the member and the gateway role');
SELECT is((ss_test.attempt('ss_gateway_app', $$SELECT secrets_store.act_as(ss_test.id('ss_bob')); SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'X', NULL, '{workers}')$$)).outcome,
          'allowed', 'a gateway acting as an Admin may create');
SELECT is((ss_test.attempt('ss_gateway_app', $$SELECT secrets_store.act_as('00000000-0000-4000-8000-000000000000')$$)).outcome,
          'P0002', 'act_as an unknown member: P0002');
SELECT is((ss_test.attempt('ss_gateway_app', $$SELECT secrets_store.act_as(ss_test.id('ss_dave')); SELECT secrets_store.act_as(ss_test.id('ss_alice'))$$)).outcome,
          '25001', 'a second act_as in the same transaction is refused: 25001');
SELECT is((ss_test.attempt('ss_gateway_app', $$SELECT secrets_store.act_as(ss_test.id('ss_dave')); SELECT secrets_store.create_api_token(ss_test.id('acme'), 'd', '{secrets_store_read}')$$)).outcome,
          'allowed', 'a delegated member may create their own tokens');
SELECT is((ss_test.attempt('ss_gateway_app', $$SELECT count(*) FROM secrets_store.secrets HAVING count(*) = 0$$)).outcome,
          'allowed', 'a gateway role that acts for nobody sees nothing');

SELECT * FROM finish();
ROLLBACK;
