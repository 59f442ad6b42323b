-- Operators (secrets_store_operator, and superusers) create accounts and
-- members, set limits, and grant or revoke roles in any account; nobody else
-- does, and operators get no access to secret metadata by being operators.
BEGIN;
SELECT plan(30);

-- create_account / create_member: operator yes, every person no
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.create_account('Initech')$$)).outcome,
          'allowed', 'operator may create an account');
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.create_member('pat@initech.example', 'Pat')$$)).outcome,
          'allowed', 'operator may create a member');
SELECT is(array_agg(DISTINCT t.outcome), ARRAY['42501'],
          'no person (any role, no role, no member) may create an account: 42501')
FROM ss_test.people p, ss_test.attempt(p.db_role, $$SELECT secrets_store.create_account('Initech')$$) t;
SELECT is(array_agg(DISTINCT t.outcome), ARRAY['42501'],
          'no person may create a member: 42501')
FROM ss_test.people p, ss_test.attempt(p.db_role, $$SELECT secrets_store.create_member('x@y.example', 'X')$$) t;
SELECT is(array_agg(DISTINCT t.outcome), ARRAY['42501'],
          'no person may INSERT an account row directly: 42501')
FROM ss_test.people p, ss_test.attempt(p.db_role, $$INSERT INTO secrets_store.accounts (name) VALUES ('Initech')$$) t;
SELECT matches((ss_test.attempt('ss_alice', $$SELECT secrets_store.create_account('Initech')$$)).message,
               '^permission denied: member "alice@acme\.example" \(database role "ss_alice"\) is not a secrets_store operator$',
               'the refusal names the principal');
SELECT matches((ss_test.attempt('ss_mallory', $$SELECT secrets_store.create_account('Initech')$$)).hint,
               'secrets_store_operator', 'the hint names the operator role');

-- a new account gets its limits row with the defaults
CREATE TEMP TABLE hooli AS SELECT secrets_store.create_account('Hooli') AS id;
SELECT results_eq(
    $$SELECT l.max_stores, l.max_secrets, l.max_value_bytes
      FROM hooli a JOIN secrets_store.account_limits l ON l.account_id = a.id$$,
    $$VALUES (1, 100, 65536)$$,
    'a new account has the default limits: 1 store, 100 secrets, 65536-byte values');

-- bootstrap: an operator grants the first Super Administrator of an account
-- it holds nothing in; that member can then manage the account
CREATE TEMP TABLE boot AS
SELECT secrets_store.create_account('Bootstrap') AS account,
       secrets_store.create_member('root@boot.example', 'Root') AS member;
GRANT SELECT ON boot TO PUBLIC;
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.grant_role((SELECT account FROM boot), (SELECT member FROM boot), 'super_administrator')$$)).outcome,
          'allowed', 'operator may grant a role in an account it holds nothing in');
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.grant_role(ss_test.id('globex'), ss_test.id('ss_frank'), 'secrets_store_reporter')$$)).outcome,
          'allowed', 'operator may grant a role in any account');
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.revoke_role(ss_test.id('globex'), ss_test.id('ss_gina'), 'super_administrator')$$)).outcome,
          'allowed', 'operator may revoke a role in any account (recovery)');
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.grant_role('00000000-0000-4000-8000-000000000000', ss_test.id('ss_frank'), 'secrets_store_reporter')$$)).outcome,
          'P0002', 'operator granting in an absent account: P0002');
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.grant_role(ss_test.id('acme'), '00000000-0000-4000-8000-000000000000', 'secrets_store_reporter')$$)).outcome,
          'P0002', 'operator granting to an absent member: P0002');

-- member.manage: the Super Administrator in their own account only
SELECT is((ss_test.attempt('ss_alice', $$SELECT secrets_store.grant_role(ss_test.id('acme'), ss_test.id('ss_frank'), 'secrets_store_reporter')$$)).outcome,
          'allowed', 'Super Administrator may grant in own account');
SELECT is((ss_test.attempt('ss_alice', $$SELECT secrets_store.revoke_role(ss_test.id('acme'), ss_test.id('ss_dave'), 'secrets_store_reporter')$$)).outcome,
          'allowed', 'Super Administrator may revoke in own account');
SELECT is((ss_test.attempt('ss_alice', $$SELECT secrets_store.grant_role(ss_test.id('globex'), ss_test.id('ss_alice'), 'super_administrator')$$)).outcome,
          'P0002', 'Super Administrator cannot grant themselves a role in another account: P0002');
SELECT is((ss_test.attempt('ss_alice', $$INSERT INTO secrets_store.role_assignments (account_id, member_id, role) VALUES (ss_test.id('globex'), ss_test.id('ss_alice'), 'super_administrator')$$)).outcome,
          'P0002', 'nor by direct INSERT into role_assignments: P0002');
SELECT is((ss_test.attempt('ss_bob', $$INSERT INTO secrets_store.role_assignments (account_id, member_id, role) VALUES (ss_test.id('acme'), ss_test.id('ss_bob'), 'super_administrator')$$)).outcome,
          '42501', 'an Admin cannot promote themselves by direct INSERT: 42501');
SELECT is((ss_test.attempt('ss_bob', $q$DO $d$ BEGIN
              DELETE FROM secrets_store.role_assignments WHERE member_id = ss_test.id('ss_alice');
              IF FOUND THEN RAISE EXCEPTION 'deleted'; END IF; END $d$ $q$)).outcome,
          'allowed', 'an Admin deletes no role assignment of others by direct DELETE (0 rows)');
SELECT is((ss_test.attempt('ss_alice', $$UPDATE secrets_store.role_assignments SET role = 'secrets_store_admin' WHERE member_id = ss_test.id('ss_dave')$$)).outcome,
          '42501', 'role assignments are never updated in place (no UPDATE privilege): 42501');

-- granted_by records the granting member; operators leave it NULL
SELECT lives_ok($$SELECT secrets_store.grant_role(ss_test.id('acme'), ss_test.id('ss_frank'), 'secrets_store_reporter')$$,
                'superuser grants a role');
SELECT is((SELECT granted_by FROM secrets_store.role_assignments
           WHERE member_id = ss_test.id('ss_frank') AND account_id = ss_test.id('acme')),
          NULL, 'a grant by an operator without member records granted_by NULL');

-- limits: operators only
SELECT is((ss_test.attempt('ss_oscar', $$UPDATE secrets_store.account_limits SET max_secrets = 500 WHERE account_id = ss_test.id('acme')$$)).outcome,
          'allowed', 'operator may raise an account''s limits');
SELECT is((ss_test.attempt('ss_alice', $q$DO $d$ BEGIN
              UPDATE secrets_store.account_limits SET max_secrets = 500 WHERE account_id = ss_test.id('acme');
              IF FOUND THEN RAISE EXCEPTION 'updated'; END IF; END $d$ $q$)).outcome,
          '42501', 'a Super Administrator cannot change limits (no UPDATE privilege): 42501');
SELECT is((ss_test.attempt('ss_oscar', $$UPDATE secrets_store.account_limits SET max_secrets = -1 WHERE account_id = ss_test.id('acme')$$)).outcome,
          '22023', 'negative limits are refused: 22023');

-- operators see accounts and members, but no secret metadata
SELECT is((ss_test.attempt('ss_oscar', $q$DO $d$ BEGIN
              IF (SELECT count(*) FROM secrets_store.accounts) < 2 THEN RAISE EXCEPTION 'accounts hidden'; END IF;
              IF (SELECT count(*) FROM secrets_store.secrets) <> 0 THEN RAISE EXCEPTION 'secrets visible'; END IF;
              IF (SELECT count(*) FROM secrets_store.stores) <> 0 THEN RAISE EXCEPTION 'stores visible'; END IF;
              END $d$ $q$)).outcome,
          'allowed', 'an operator sees every account but no store or secret');
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.create_store(ss_test.id('acme'), 'ops')$$)).outcome,
          'P0002', 'being an operator grants no action inside an account: P0002');

-- deleting an account: operators only; it takes everything with it
SELECT is((ss_test.attempt('ss_alice', $q$DO $d$ BEGIN
              DELETE FROM secrets_store.accounts WHERE id = ss_test.id('acme');
              IF FOUND THEN RAISE EXCEPTION 'deleted'; END IF; END $d$ $q$)).outcome,
          '42501', 'a Super Administrator cannot delete their account (no DELETE privilege): 42501');
SELECT is((ss_test.attempt('ss_oscar', $$DELETE FROM secrets_store.accounts WHERE id = ss_test.id('globex')$$)).outcome,
          'allowed', 'an operator may delete an account with stores, secrets, bindings and associations');
DELETE FROM secrets_store.accounts WHERE id = ss_test.id('globex');
SELECT is((SELECT count(*) FROM secrets_store.secrets WHERE account_id = ss_test.id('globex'))
          + (SELECT count(*) FROM secrets_store.stores WHERE account_id = ss_test.id('globex'))
          + (SELECT count(*) FROM secrets_store.worker_bindings WHERE account_id = ss_test.id('globex'))
          + (SELECT count(*) FROM secrets_store.ai_gateway_associations WHERE account_id = ss_test.id('globex'))
          + (SELECT count(*) FROM secrets_store.role_assignments WHERE account_id = ss_test.id('globex'))
          + (SELECT count(*) FROM secrets_store.account_limits WHERE account_id = ss_test.id('globex')),
          0::bigint, 'deleting an account deletes everything in it');

SELECT * FROM finish();
ROLLBACK;
