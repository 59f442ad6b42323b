-- Direct DML, the ORM path: plain SELECT / INSERT / UPDATE / DELETE on every
-- table of the schema by every person of the fixture (and the operator), on
-- a row of their own account (Acme) and of another (Globex).  Allowed cells
-- write, change, delete or read the row; refused cells either raise (42501
-- naming the principal and the action, P0002 for an account the person
-- holds nothing in, 42501 "permission denied for table" where the table is
-- not granted at all) or, where row-level security hides the row from an
-- UPDATE or DELETE, affect 0 rows and leave the row as it was.
--
-- Then the WITH CHECK rules: no row moves into another account, no row
-- points into another account, audit columns cannot be forged, values read
-- NULL, the permission matrix is written by superusers only.
BEGIN;

-------------------------------------------------------------------------------
-- Helpers
-------------------------------------------------------------------------------

-- dml(role, statement, probe, setup): run setup as the superuser running the
-- test, then statement as the login role, then probe as the superuser (it
-- sees every row); report what happened and roll everything back.
CREATE FUNCTION pg_temp.dml(who name, statement text, probe text DEFAULT NULL,
                            setup text DEFAULT NULL,
                            OUT outcome text, OUT row_count bigint,
                            OUT message text, OUT probed text)
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        IF setup IS NOT NULL THEN
            EXECUTE setup;
        END IF;
        EXECUTE format('SET LOCAL ROLE %I', who);
        EXECUTE statement;
        GET DIAGNOSTICS row_count = ROW_COUNT;
        RESET ROLE;
        IF probe IS NOT NULL THEN
            EXECUTE probe INTO probed;
        END IF;
        RAISE SQLSTATE 'SSOK1';
    EXCEPTION
        WHEN SQLSTATE 'SSOK1' THEN
            outcome := 'allowed';
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS outcome = RETURNED_SQLSTATE,
                                    message = MESSAGE_TEXT;
            row_count := NULL;
            probed := NULL;
    END;
END
$$;

-- the same as one line: "allowed: N row(s); <probe>" or "SQLSTATE: message"
CREATE FUNCTION pg_temp.try(who name, statement text, probe text DEFAULT NULL,
                            setup text DEFAULT NULL)
RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN d.outcome = 'allowed'
                THEN 'allowed: ' || d.row_count || ' row(s)' || coalesce('; ' || d.probed, '')
                ELSE d.outcome || ': ' || d.message
           END
    FROM pg_temp.dml(who, statement, probe, setup) d
$$;

-- as_role(role, query): the single value a query returns as the login role
CREATE FUNCTION pg_temp.as_role(who name, query text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    BEGIN
        EXECUTE format('SET LOCAL ROLE %I', who);
        EXECUTE query INTO result;
        RAISE SQLSTATE 'SSOK2';
    EXCEPTION
        WHEN SQLSTATE 'SSOK2' THEN
            NULL;
        WHEN OTHERS THEN
            result := SQLSTATE || ': ' || SQLERRM;
    END;
    RETURN result;
END
$$;

-- the people: the fixture's, and the operator who holds no member
CREATE TEMP TABLE person AS
SELECT db_role, label, roles, ord, false AS operator FROM ss_test.people
UNION ALL
SELECT 'ss_oscar', 'oscar (operator, no member)', '{}', 8, true;

-- an id that exists nowhere
CREATE TEMP TABLE absent AS SELECT gen_random_uuid() AS id;

-- audit columns of the fixture's rows, to tell "kept" from "overwritten"
CREATE TEMP TABLE fixture_rows AS
SELECT id, created_by, created_at FROM secrets_store.secrets
UNION ALL SELECT id, created_by, created_at FROM secrets_store.worker_bindings
UNION ALL SELECT id, created_by, created_at FROM secrets_store.ai_gateway_associations;

-------------------------------------------------------------------------------
-- The cases.  prefix is the account of the target row ('acme' is own,
-- 'globex' another; NULL for a row of no account).  Who may:
--   actions      anyone holding one of these actions in the prefix account
--                (by DESIGN.md section 3, ss_test.design_matrix)
--   self_role    the person whose own row it is
--   operator_may the operator (ss_oscar)
--   everyone     every person
-- How the others are refused:
--   filtered     row-level security hides the row: 0 rows, row unchanged
--   ours         the trigger's check: 42501 naming ours_action if the person
--                holds a role in the account, else P0002 account not found
--   privilege    no table privilege: 42501 permission denied for table
-------------------------------------------------------------------------------
CREATE TEMP TABLE dml_case (
    ord serial PRIMARY KEY,
    tbl text NOT NULL,
    op text NOT NULL,
    what text NOT NULL,
    prefix text,
    statement text NOT NULL,
    probe text,
    actions text[] NOT NULL DEFAULT '{}',
    self_role name,
    operator_may boolean NOT NULL DEFAULT false,
    everyone boolean NOT NULL DEFAULT false,
    refusal text NOT NULL CHECK (refusal IN ('filtered', 'ours', 'privilege')),
    ours_action text,
    rows_allowed int NOT NULL DEFAULT 1,
    probe_allowed text,
    probe_refused text
);

-- account-scoped tables: the same statements in Acme and in Globex
INSERT INTO dml_case (tbl, op, what, prefix, statement, probe, actions, refusal,
                      ours_action, probe_allowed, probe_refused)
SELECT t.tbl, t.op, t.what || CASE a.prefix WHEN 'acme' THEN ' in own account' ELSE ' in another account' END,
       a.prefix, format(t.statement, a.prefix), format(t.probe, a.prefix), t.actions, t.refusal,
       t.ours_action, format(t.probe_allowed, a.prefix), format(t.probe_refused, a.prefix)
FROM (VALUES
 -- stores
 (1, 'stores', 'SELECT', 'a store',
  $q$SELECT * FROM secrets_store.stores WHERE id = ss_test.id('%1$s.store')$q$, NULL,
  '{secret.read}'::text[], 'filtered', NULL, NULL, NULL),
 (2, 'stores', 'INSERT', 'a store',
  $q$INSERT INTO secrets_store.stores (account_id, name) VALUES (ss_test.id('%1$s'), 'third')$q$,
  $q$SELECT count(*) || ' store(s) named third' FROM secrets_store.stores WHERE account_id = ss_test.id('%1$s') AND name = 'third'$q$,
  '{store.create}', 'ours', 'store.create', '1 store(s) named third', NULL),
 (3, 'stores', 'UPDATE', 'a store',
  $q$UPDATE secrets_store.stores SET name = 'renamed' WHERE id = ss_test.id('%1$s.store')$q$,
  $q$SELECT 'name=' || name FROM secrets_store.stores WHERE id = ss_test.id('%1$s.store')$q$,
  '{store.create}', 'filtered', NULL, 'name=renamed', 'name=%1$s-main'),
 (4, 'stores', 'DELETE', 'an empty store',
  $q$DELETE FROM secrets_store.stores WHERE id = ss_test.id('%1$s.empty_store')$q$,
  $q$SELECT count(*) || ' row(s) left' FROM secrets_store.stores WHERE id = ss_test.id('%1$s.empty_store')$q$,
  '{store.delete}', 'filtered', NULL, '0 row(s) left', '1 row(s) left'),
 -- secrets
 (5, 'secrets', 'SELECT', 'a secret',
  $q$SELECT * FROM secrets_store.secrets WHERE id = ss_test.id('%1$s.api_key')$q$, NULL,
  '{secret.read}', 'filtered', NULL, NULL, NULL),
 (6, 'secrets', 'INSERT', 'a secret',
  $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('%1$s'), ss_test.id('%1$s.store'), 'NEW_SECRET', '{workers}')$q$,
  $q$SELECT count(*) || ' secret(s) named NEW_SECRET' FROM secrets_store.secrets WHERE account_id = ss_test.id('%1$s') AND name = 'NEW_SECRET'$q$,
  '{secret.create}', 'ours', 'secret.create', '1 secret(s) named NEW_SECRET', NULL),
 (7, 'secrets', 'UPDATE', 'a secret',
  $q$UPDATE secrets_store.secrets SET comment = 'edited' WHERE id = ss_test.id('%1$s.api_key')$q$,
  $q$SELECT 'comment=' || comment FROM secrets_store.secrets WHERE id = ss_test.id('%1$s.api_key')$q$,
  '{secret.edit}', 'filtered', NULL, 'comment=edited', 'comment=used by the shop'),
 (8, 'secrets', 'DELETE', 'an unused secret',
  $q$DELETE FROM secrets_store.secrets WHERE id = ss_test.id('%1$s.spare')$q$,
  $q$SELECT count(*) || ' row(s) left' FROM secrets_store.secrets WHERE id = ss_test.id('%1$s.spare')$q$,
  '{secret.delete}', 'filtered', NULL, '0 row(s) left', '1 row(s) left'),
 -- worker_bindings
 (9, 'worker_bindings', 'SELECT', 'a Worker binding',
  $q$SELECT * FROM secrets_store.worker_bindings WHERE id = ss_test.id('%1$s.binding')$q$, NULL,
  '{secret.read,binding.create,binding.delete}', 'filtered', NULL, NULL, NULL),
 (10, 'worker_bindings', 'INSERT', 'a Worker binding',
  $q$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name) VALUES (ss_test.id('%1$s'), 'shop', 'NEW_BINDING', ss_test.id('%1$s.store'), 'API_KEY')$q$,
  $q$SELECT count(*) || ' binding(s) named NEW_BINDING' FROM secrets_store.worker_bindings WHERE account_id = ss_test.id('%1$s') AND binding_name = 'NEW_BINDING'$q$,
  '{binding.create}', 'ours', 'binding.create', '1 binding(s) named NEW_BINDING', NULL),
 (11, 'worker_bindings', 'UPDATE', 'a Worker binding',
  $q$UPDATE secrets_store.worker_bindings SET script_name = 'shop2' WHERE id = ss_test.id('%1$s.binding')$q$,
  $q$SELECT 'script_name=' || script_name FROM secrets_store.worker_bindings WHERE id = ss_test.id('%1$s.binding')$q$,
  '{binding.create}', 'filtered', NULL, 'script_name=shop2', 'script_name=shop'),
 (12, 'worker_bindings', 'DELETE', 'a Worker binding',
  $q$DELETE FROM secrets_store.worker_bindings WHERE id = ss_test.id('%1$s.binding')$q$,
  $q$SELECT count(*) || ' row(s) left' FROM secrets_store.worker_bindings WHERE id = ss_test.id('%1$s.binding')$q$,
  '{binding.delete}', 'filtered', NULL, '0 row(s) left', '1 row(s) left'),
 -- ai_gateway_associations
 (13, 'ai_gateway_associations', 'SELECT', 'an AI Gateway association',
  $q$SELECT * FROM secrets_store.ai_gateway_associations WHERE id = ss_test.id('%1$s.association')$q$, NULL,
  '{secret.read,association.create,association.delete}', 'filtered', NULL, NULL, NULL),
 (14, 'ai_gateway_associations', 'INSERT', 'an AI Gateway association',
  $q$INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, secret_id) VALUES (ss_test.id('%1$s'), 'gw2', 'anthropic', ss_test.id('%1$s.api_key'))$q$,
  $q$SELECT count(*) || ' association(s) with gw2' FROM secrets_store.ai_gateway_associations WHERE account_id = ss_test.id('%1$s') AND gateway_id = 'gw2'$q$,
  '{association.create}', 'ours', 'association.create', '1 association(s) with gw2', NULL),
 (15, 'ai_gateway_associations', 'UPDATE', 'an AI Gateway association',
  $q$UPDATE secrets_store.ai_gateway_associations SET alias = 'renamed' WHERE id = ss_test.id('%1$s.association')$q$,
  $q$SELECT 'alias=' || alias FROM secrets_store.ai_gateway_associations WHERE id = ss_test.id('%1$s.association')$q$,
  '{association.create}', 'filtered', NULL, 'alias=renamed', 'alias=default'),
 (16, 'ai_gateway_associations', 'DELETE', 'an AI Gateway association',
  $q$DELETE FROM secrets_store.ai_gateway_associations WHERE id = ss_test.id('%1$s.association')$q$,
  $q$SELECT count(*) || ' row(s) left' FROM secrets_store.ai_gateway_associations WHERE id = ss_test.id('%1$s.association')$q$,
  '{association.delete}', 'filtered', NULL, '0 row(s) left', '1 row(s) left')
) AS t (n, tbl, op, what, statement, probe, actions, refusal, ours_action, probe_allowed, probe_refused)
CROSS JOIN (VALUES (1, 'acme'), (2, 'globex')) AS a (n, prefix)
ORDER BY t.n, a.n;

-- accounts: people with any role in an account see its row; only operators write
INSERT INTO dml_case (tbl, op, what, prefix, statement, probe, actions, operator_may, refusal,
                      probe_allowed, probe_refused)
SELECT 'accounts', 'SELECT', a.label, a.prefix,
       format($q$SELECT * FROM secrets_store.accounts WHERE id = ss_test.id('%s')$q$, a.prefix), NULL,
       ARRAY(SELECT action FROM ss_test.action_statements), true, 'filtered', NULL, NULL
FROM (VALUES ('acme', 'the row of own account (Acme)'), ('globex', 'the row of another account (Globex)')) AS a (prefix, label);
INSERT INTO dml_case (tbl, op, what, prefix, statement, probe, operator_may, refusal, probe_allowed)
VALUES ('accounts', 'INSERT', 'an account', NULL,
        $q$INSERT INTO secrets_store.accounts (name) VALUES ('Initech')$q$,
        $q$SELECT count(DISTINCT a.id) || ' account(s) named Initech, ' || count(l.account_id) || ' limits row(s)' FROM secrets_store.accounts a LEFT JOIN secrets_store.account_limits l ON l.account_id = a.id WHERE a.name = 'Initech'$q$,
        true, 'privilege', '1 account(s) named Initech, 1 limits row(s)');
INSERT INTO dml_case (tbl, op, what, prefix, statement, probe, operator_may, refusal, probe_allowed)
SELECT 'accounts', t.op, a.label, a.prefix,
       format(t.statement, a.prefix), format(t.probe, a.prefix), true, 'privilege', t.probe_allowed
FROM (VALUES
  (1, 'UPDATE', $q$UPDATE secrets_store.accounts SET name = 'Renamed' WHERE id = ss_test.id('%s')$q$,
   $q$SELECT 'name=' || name FROM secrets_store.accounts WHERE id = ss_test.id('%s')$q$, 'name=Renamed'),
  (2, 'DELETE', $q$DELETE FROM secrets_store.accounts WHERE id = ss_test.id('%s')$q$,
   $q$SELECT count(*) || ' row(s) left' FROM secrets_store.accounts WHERE id = ss_test.id('%s')$q$, '0 row(s) left')
) AS t (n, op, statement, probe, probe_allowed)
CROSS JOIN (VALUES (1, 'acme', 'the row of own account (Acme)'), (2, 'globex', 'the row of another account (Globex)')) AS a (n, prefix, label)
ORDER BY t.n, a.n;

-- members (global): one's own row, the members of accounts one manages; only
-- operators write.  The target is dave (Acme) or gina (Globex).
INSERT INTO dml_case (tbl, op, what, prefix, statement, probe, actions, self_role, operator_may,
                      refusal, probe_allowed)
SELECT 'members', 'SELECT', format('the member row of %s', a.label), a.prefix,
       format($q$SELECT * FROM secrets_store.members WHERE id = ss_test.id('%s')$q$, a.target), NULL,
       '{member.manage}', a.target, true, 'filtered', NULL
FROM (VALUES ('acme', 'ss_dave', 'dave (Acme)'), ('globex', 'ss_gina', 'gina (Globex)')) AS a (prefix, target, label);
INSERT INTO dml_case (tbl, op, what, prefix, statement, probe, operator_may, refusal, probe_allowed)
VALUES ('members', 'INSERT', 'a member', NULL,
        $q$INSERT INTO secrets_store.members (email, display_name) VALUES ('new@acme.example', 'New')$q$,
        $q$SELECT count(*) || ' member(s) new@acme.example' FROM secrets_store.members WHERE email = 'new@acme.example'$q$,
        true, 'privilege', '1 member(s) new@acme.example');
INSERT INTO dml_case (tbl, op, what, prefix, statement, probe, operator_may, refusal, probe_allowed)
SELECT 'members', t.op, format('the member row of %s', a.label), a.prefix,
       format(t.statement, a.target), format(t.probe, a.target), true, 'privilege', t.probe_allowed
FROM (VALUES
  (1, 'UPDATE', $q$UPDATE secrets_store.members SET display_name = 'Renamed' WHERE id = ss_test.id('%s')$q$,
   $q$SELECT 'display_name=' || display_name FROM secrets_store.members WHERE id = ss_test.id('%s')$q$, 'display_name=Renamed'),
  (2, 'DELETE', $q$DELETE FROM secrets_store.members WHERE id = ss_test.id('%s')$q$,
   $q$SELECT count(*) || ' row(s) left' FROM secrets_store.members WHERE id = ss_test.id('%s')$q$, '0 row(s) left')
) AS t (n, op, statement, probe, probe_allowed)
CROSS JOIN (VALUES (1, 'acme', 'ss_dave', 'dave (Acme)'), (2, 'globex', 'ss_gina', 'gina (Globex)')) AS a (n, prefix, target, label)
ORDER BY t.n, a.n;

-- account_limits: readable with secret.read; only operators write
INSERT INTO dml_case (tbl, op, what, prefix, statement, probe, actions, operator_may, refusal,
                      probe_allowed, probe_refused)
SELECT 'account_limits', t.op, a.label || CASE t.op WHEN 'INSERT' THEN ' (INSERT ... ON CONFLICT DO UPDATE)' ELSE '' END, a.prefix,
       format(t.statement, a.prefix), format(t.probe, a.prefix), t.actions, true, t.refusal,
       t.probe_allowed, NULL
FROM (VALUES
  (1, 'SELECT', $q$SELECT * FROM secrets_store.account_limits WHERE account_id = ss_test.id('%s')$q$,
   NULL, '{secret.read}'::text[], 'filtered', NULL),
  (2, 'INSERT', $q$INSERT INTO secrets_store.account_limits (account_id, max_stores) VALUES (ss_test.id('%1$s'), 7) ON CONFLICT (account_id) DO UPDATE SET max_stores = excluded.max_stores$q$,
   $q$SELECT 'max_stores=' || max_stores FROM secrets_store.account_limits WHERE account_id = ss_test.id('%s')$q$,
   '{}', 'privilege', 'max_stores=7'),
  (3, 'UPDATE', $q$UPDATE secrets_store.account_limits SET max_secrets = 5 WHERE account_id = ss_test.id('%s')$q$,
   $q$SELECT 'max_secrets=' || max_secrets FROM secrets_store.account_limits WHERE account_id = ss_test.id('%s')$q$,
   '{}', 'privilege', 'max_secrets=5'),
  (4, 'DELETE', $q$DELETE FROM secrets_store.account_limits WHERE account_id = ss_test.id('%s')$q$,
   $q$SELECT count(*) || ' row(s) left' FROM secrets_store.account_limits WHERE account_id = ss_test.id('%s')$q$,
   '{}', 'privilege', '0 row(s) left')
) AS t (n, op, statement, probe, actions, refusal, probe_allowed)
CROSS JOIN (VALUES (1, 'acme', 'the limits of own account (Acme)'), (2, 'globex', 'the limits of another account (Globex)')) AS a (n, prefix, label)
ORDER BY t.n, a.n;

-- role_assignments: one's own, or all of an account one manages; granting
-- needs member.manage (or an operator); nobody updates one in place;
-- revoking by DELETE needs member.manage (or an operator).  The target is
-- dave's role in Acme or gina's in Globex; the grant is to frank.
INSERT INTO dml_case (tbl, op, what, prefix, statement, probe, actions, self_role, operator_may,
                      refusal, ours_action, probe_allowed, probe_refused)
SELECT 'role_assignments', t.op, format(t.what, a.label, a.target_label), a.prefix,
       format(t.statement, a.prefix, a.target), format(t.probe, a.prefix, a.target),
       t.actions, CASE WHEN t.op = 'SELECT' THEN a.target END, t.operator_may, t.refusal,
       t.ours_action, t.probe_allowed, t.probe_refused
FROM (VALUES
  (1, 'SELECT', 'the role assignment of %2$s in %1$s',
   $q$SELECT * FROM secrets_store.role_assignments WHERE account_id = ss_test.id('%1$s') AND member_id = ss_test.id('%2$s')$q$,
   NULL, '{member.manage}'::text[], true, 'filtered', NULL, NULL, NULL),
  (2, 'INSERT', 'a role assignment (frank as Reporter) in %1$s',
   $q$INSERT INTO secrets_store.role_assignments (account_id, member_id, role) VALUES (ss_test.id('%1$s'), ss_test.id('ss_frank'), 'secrets_store_reporter')$q$,
   $q$SELECT 'frank holds ' || coalesce(string_agg(role::text, ','), 'nothing') FROM secrets_store.role_assignments WHERE account_id = ss_test.id('%1$s') AND member_id = ss_test.id('ss_frank')$q$,
   '{member.manage}', true, 'ours', 'member.manage', 'frank holds secrets_store_reporter', NULL),
  (3, 'UPDATE', 'the role assignment of %2$s in %1$s (to super_administrator)',
   $q$UPDATE secrets_store.role_assignments SET role = 'super_administrator' WHERE account_id = ss_test.id('%1$s') AND member_id = ss_test.id('%2$s')$q$,
   NULL, '{}', false, 'privilege', NULL, NULL, NULL),
  (4, 'DELETE', 'the role assignment of %2$s in %1$s',
   $q$DELETE FROM secrets_store.role_assignments WHERE account_id = ss_test.id('%1$s') AND member_id = ss_test.id('%2$s')$q$,
   $q$SELECT count(*) || ' role(s) left' FROM secrets_store.role_assignments WHERE account_id = ss_test.id('%1$s') AND member_id = ss_test.id('%2$s')$q$,
   '{member.manage}', true, 'filtered', NULL, '0 role(s) left', '1 role(s) left')
) AS t (n, op, what, statement, probe, actions, operator_may, refusal, ours_action, probe_allowed, probe_refused)
CROSS JOIN (VALUES (1, 'acme', 'ss_dave', 'dave', 'own account (Acme)'),
                   (2, 'globex', 'ss_gina', 'gina', 'another account (Globex)')) AS a (n, prefix, target, target_label, label)
ORDER BY t.n, a.n;

-- role_actions: the matrix; everyone reads it, nobody but a superuser writes it
INSERT INTO dml_case (tbl, op, what, prefix, statement, everyone, refusal, rows_allowed)
VALUES ('role_actions', 'SELECT', 'the permission matrix', NULL,
        $q$SELECT * FROM secrets_store.role_actions$q$, true, 'filtered', 28);
INSERT INTO dml_case (tbl, op, what, prefix, statement, refusal)
VALUES ('role_actions', 'INSERT', 'a row of the permission matrix (Reporter gets secret.create)', NULL,
        $q$INSERT INTO secrets_store.role_actions (role, action) VALUES ('secrets_store_reporter', 'secret.create')$q$, 'privilege'),
       ('role_actions', 'UPDATE', 'the permission matrix (Reporter gets member.manage)', NULL,
        $q$UPDATE secrets_store.role_actions SET action = 'member.manage' WHERE role = 'secrets_store_reporter'$q$, 'privilege'),
       ('role_actions', 'DELETE', 'the permission matrix', NULL,
        $q$DELETE FROM secrets_store.role_actions$q$, 'privilege');

-- expected outcome of every (person, case)
CREATE TEMP TABLE dml_expected AS
SELECT c.ord AS case_ord, p.ord AS person_ord, p.db_role, p.label, c.tbl, c.op, c.what,
       m.may,
       CASE
           WHEN m.may THEN 'allowed: ' || c.rows_allowed || ' row(s)' || coalesce('; ' || c.probe_allowed, '')
           WHEN c.refusal = 'filtered' THEN 'allowed: 0 row(s)' || coalesce('; ' || c.probe_refused, '')
           WHEN c.refusal = 'privilege' THEN '42501: permission denied for table ' || c.tbl
           WHEN c.prefix = 'acme' AND cardinality(p.roles) > 0 THEN
               format('42501: permission denied: member "%s@acme.example" (database role "%s") may not perform "%s"',
                      substr(p.db_role, 4), p.db_role, c.ours_action)
           ELSE format('P0002: account %s not found', ss_test.id(c.prefix))
       END AS expected,
       CASE
           WHEN m.may THEN CASE c.op WHEN 'SELECT' THEN c.rows_allowed || ' row(s) visible'
                                     WHEN 'INSERT' THEN 'row written'
                                     WHEN 'UPDATE' THEN 'row changed'
                                     ELSE 'row deleted' END
           WHEN c.refusal = 'filtered' THEN CASE c.op WHEN 'SELECT' THEN 'not visible (0 rows)'
                                                  ELSE '0 rows, row unchanged' END
           WHEN c.refusal = 'privilege' THEN '42501, no privilege on the table'
           WHEN c.prefix = 'acme' AND cardinality(p.roles) > 0 THEN format('42501 naming "%s"', c.ours_action)
           ELSE 'P0002 account not found'
       END AS short
FROM dml_case c
CROSS JOIN person p
CROSS JOIN LATERAL (SELECT
    c.everyone
    OR (c.operator_may AND p.operator)
    OR (c.self_role IS NOT NULL AND p.db_role = c.self_role)
    OR (c.prefix = 'acme' AND EXISTS (SELECT 1 FROM ss_test.design_matrix d
                                      WHERE d.role = ANY (p.roles) AND d.action = ANY (c.actions)))
    AS may) AS m;

SELECT plan((SELECT count(*)::int FROM dml_expected) + 50);

-------------------------------------------------------------------------------
-- 1. Every person, every table, every statement, own and another account
-------------------------------------------------------------------------------
SELECT is(pg_temp.try(e.db_role, c.statement, c.probe), e.expected,
          format('%s: %s %s -> %s', e.label, c.op, c.what, e.short))
FROM dml_expected e JOIN dml_case c ON c.ord = e.case_ord
ORDER BY e.case_ord, e.person_ord;

-------------------------------------------------------------------------------
-- 2. Superusers, and only they, change the permission matrix
-------------------------------------------------------------------------------
SELECT is(pg_temp.try(current_user, $q$INSERT INTO secrets_store.role_actions (role, action) VALUES ('secrets_store_reporter', 'secret.create')$q$,
                      $q$SELECT 'reporter: ' || string_agg(action, ',' ORDER BY action) FROM secrets_store.role_actions WHERE role = 'secrets_store_reporter'$q$),
          'allowed: 1 row(s); reporter: secret.create,secret.read',
          'a superuser may INSERT into role_actions');
SELECT is(pg_temp.try(current_user, $q$UPDATE secrets_store.role_actions SET action = 'audit.read' WHERE role = 'secrets_store_reporter'$q$,
                      $q$SELECT 'reporter: ' || string_agg(action, ',' ORDER BY action) FROM secrets_store.role_actions WHERE role = 'secrets_store_reporter'$q$),
          'allowed: 1 row(s); reporter: audit.read',
          'a superuser may UPDATE role_actions');
SELECT is(pg_temp.try(current_user, $q$DELETE FROM secrets_store.role_actions WHERE role = 'secrets_store_reporter'$q$,
                      $q$SELECT count(*) || ' reporter row(s) left' FROM secrets_store.role_actions WHERE role = 'secrets_store_reporter'$q$),
          'allowed: 1 row(s); 0 reporter row(s) left',
          'a superuser may DELETE from role_actions');

-------------------------------------------------------------------------------
-- 3. No row moves into another account (UPDATE account_id / store_id).
--    "alice in both" holds super_administrator in Acme and in Globex, so the
--    move itself, not the missing right in Globex, is what is refused.
-------------------------------------------------------------------------------
CREATE TEMP TABLE alice_in_both (setup text);
INSERT INTO alice_in_both VALUES (
    $q$INSERT INTO secrets_store.role_assignments (account_id, member_id, role) VALUES (ss_test.id('globex'), ss_test.id('ss_alice'), 'super_administrator')$q$);

SELECT is(pg_temp.try('ss_bob', $q$UPDATE secrets_store.stores SET account_id = ss_test.id('globex') WHERE id = ss_test.id('acme.empty_store')$q$),
          '22023: a store cannot move to another id or account',
          'Secrets Store Admin cannot move a store into another account (UPDATE account_id): 22023');
SELECT is(pg_temp.try('ss_alice', $q$UPDATE secrets_store.stores SET account_id = ss_test.id('globex') WHERE id = ss_test.id('acme.empty_store')$q$,
                      NULL, (SELECT setup FROM alice_in_both)),
          '22023: a store cannot move to another id or account',
          'Super Administrator of both accounts cannot move a store from one to the other: 22023');
SELECT is(pg_temp.try('ss_bob', $q$UPDATE secrets_store.secrets SET account_id = ss_test.id('globex') WHERE id = ss_test.id('acme.spare')$q$),
          '22023: a secret cannot move to another id, store or account',
          'Secrets Store Admin cannot move a secret into another account (UPDATE account_id): 22023');
SELECT is(pg_temp.try('ss_bob', $q$UPDATE secrets_store.secrets SET store_id = ss_test.id('globex.store') WHERE id = ss_test.id('acme.spare')$q$),
          '22023: a secret cannot move to another id, store or account',
          'Secrets Store Admin cannot move a secret into another account''s store (UPDATE store_id): 22023');
SELECT is(pg_temp.try('ss_alice', $q$UPDATE secrets_store.secrets SET account_id = ss_test.id('globex'), store_id = ss_test.id('globex.store') WHERE id = ss_test.id('acme.spare')$q$,
                      NULL, (SELECT setup FROM alice_in_both)),
          '22023: a secret cannot move to another id, store or account',
          'Super Administrator of both accounts cannot move a secret from one to the other: 22023');
SELECT is(pg_temp.try('ss_carol', $q$UPDATE secrets_store.worker_bindings SET account_id = ss_test.id('globex') WHERE id = ss_test.id('acme.binding')$q$),
          format('P0002: account %s not found', ss_test.id('globex')),
          'Deployer cannot move a Worker binding into another account (UPDATE account_id): P0002 account not found');
SELECT is(pg_temp.try('ss_alice', $q$UPDATE secrets_store.worker_bindings SET account_id = ss_test.id('globex') WHERE id = ss_test.id('acme.binding')$q$,
                      NULL, (SELECT setup FROM alice_in_both)),
          '22023: a binding cannot move to another id or account',
          'Super Administrator of both accounts cannot move a Worker binding from one to the other: 22023');
SELECT is(pg_temp.try('ss_carol', $q$UPDATE secrets_store.ai_gateway_associations SET account_id = ss_test.id('globex') WHERE id = ss_test.id('acme.association')$q$),
          format('P0002: account %s not found', ss_test.id('globex')),
          'Deployer cannot move an AI Gateway association into another account (UPDATE account_id): P0002 account not found');
SELECT is(pg_temp.try('ss_alice', $q$UPDATE secrets_store.ai_gateway_associations SET account_id = ss_test.id('globex') WHERE id = ss_test.id('acme.association')$q$,
                      NULL, (SELECT setup FROM alice_in_both)),
          '22023: an association cannot move to another id or account',
          'Super Administrator of both accounts cannot move an AI Gateway association from one to the other: 22023');
SELECT is(pg_temp.try('ss_oscar', $q$UPDATE secrets_store.account_limits SET account_id = ss_test.id('globex') WHERE account_id = ss_test.id('acme')$q$,
                      $q$SELECT 'acme ' || count(*) FILTER (WHERE account_id = ss_test.id('acme')) || ', globex ' || count(*) FILTER (WHERE account_id = ss_test.id('globex')) FROM secrets_store.account_limits$q$),
          '22023: the limits of an account cannot move to another account',
          'operator cannot move an account''s limits to another account: 22023');
SELECT is(pg_temp.as_role('ss_alice', format($q$SELECT secrets_store.my_actions(%L)::text$q$, ss_test.id('globex'))),
          '{}', 'the "both accounts" grant of the cases above was rolled back: Super Administrator holds nothing in Globex');

-------------------------------------------------------------------------------
-- 4. No row points into another account
-------------------------------------------------------------------------------
-- a secret in own account, in another account's store: the composite foreign
-- key (account_id, store_id) fails, exactly as for a store that does not exist
SELECT is(pg_temp.try('ss_bob', $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('acme'), ss_test.id('globex.store'), 'X', '{workers}')$q$),
          '23503: insert or update on table "secrets" violates foreign key constraint "secrets_store_fkey"',
          'Secrets Store Admin cannot INSERT a secret (own account_id) into another account''s store: 23503');
SELECT is(pg_temp.try('ss_bob', format($q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('acme'), %L, 'X', '{workers}')$q$, (SELECT id FROM absent))),
          '23503: insert or update on table "secrets" violates foreign key constraint "secrets_store_fkey"',
          'the same INSERT into an absent store fails the same way: 23503');
SELECT is(pg_temp.try('ss_alice', $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('acme'), ss_test.id('globex.store'), 'X', '{workers}')$q$,
                      NULL, (SELECT setup FROM alice_in_both)),
          '23503: insert or update on table "secrets" violates foreign key constraint "secrets_store_fkey"',
          'Super Administrator of both accounts cannot INSERT an Acme secret into a Globex store: 23503');
SELECT is(pg_temp.try('ss_bob', $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('globex'), ss_test.id('globex.store'), 'X', '{workers}')$q$),
          format('P0002: account %s not found', ss_test.id('globex')),
          'Secrets Store Admin cannot INSERT a secret with another account''s account_id: P0002 account not found');
SELECT is(pg_temp.try('ss_bob', format($q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (%1$L, %1$L, 'X', '{workers}')$q$, (SELECT id FROM absent))),
          format('P0002: account %s not found', (SELECT id FROM absent)),
          'the same INSERT with an absent account_id gives the same error: P0002 account not found');
-- a Worker binding in own account to another account's secret
SELECT is(pg_temp.try('ss_carol', $q$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name) VALUES (ss_test.id('acme'), 'shop', 'STOLEN', ss_test.id('globex.store'), 'API_KEY')$q$),
          format('P0002: secret "API_KEY" not found in store %s', ss_test.id('globex.store')),
          'Deployer cannot bind a Worker to another account''s secret (own account_id, foreign store_id): P0002');
SELECT is(pg_temp.try('ss_carol', format($q$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name) VALUES (ss_test.id('acme'), 'shop', 'STOLEN', %L, 'API_KEY')$q$, (SELECT id FROM absent))),
          format('P0002: secret "API_KEY" not found in store %s', (SELECT id FROM absent)),
          'binding to an absent store gives the same error: P0002');
SELECT is(pg_temp.try('ss_alice', $q$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name) VALUES (ss_test.id('acme'), 'shop', 'STOLEN', ss_test.id('globex.store'), 'API_KEY')$q$,
                      NULL, (SELECT setup FROM alice_in_both)),
          format('P0002: secret "API_KEY" not found in store %s', ss_test.id('globex.store')),
          'Super Administrator of both accounts cannot bind an Acme Worker to a Globex secret: P0002');
SELECT is(pg_temp.try('ss_carol', $q$UPDATE secrets_store.worker_bindings SET store_id = ss_test.id('globex.store') WHERE id = ss_test.id('acme.binding')$q$),
          format('P0002: secret "API_KEY" not found in store %s', ss_test.id('globex.store')),
          'Deployer cannot repoint a Worker binding to another account''s store (UPDATE store_id): P0002');
SELECT is(pg_temp.try('ss_carol', $q$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name) VALUES (ss_test.id('globex'), 'shop', 'STOLEN', ss_test.id('globex.store'), 'API_KEY')$q$),
          format('P0002: account %s not found', ss_test.id('globex')),
          'Deployer cannot INSERT a Worker binding with another account''s account_id: P0002 account not found');
-- an AI Gateway association in own account with another account's secret
SELECT is(pg_temp.try('ss_carol', $q$INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, secret_id) VALUES (ss_test.id('acme'), 'gw9', 'openai', ss_test.id('globex.api_key'))$q$),
          format('P0002: secret %s not found', ss_test.id('globex.api_key')),
          'Deployer cannot associate a gateway with another account''s secret (own account_id, foreign secret_id): P0002');
SELECT is(pg_temp.try('ss_carol', format($q$INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, secret_id) VALUES (ss_test.id('acme'), 'gw9', 'openai', %L)$q$, (SELECT id FROM absent))),
          format('P0002: secret %s not found', (SELECT id FROM absent)),
          'associating with an absent secret gives the same error: P0002');
SELECT is(pg_temp.try('ss_alice', $q$INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, secret_id) VALUES (ss_test.id('acme'), 'gw9', 'openai', ss_test.id('globex.api_key'))$q$,
                      NULL, (SELECT setup FROM alice_in_both)),
          format('P0002: secret %s not found', ss_test.id('globex.api_key')),
          'Super Administrator of both accounts cannot associate an Acme gateway with a Globex secret: P0002');
SELECT is(pg_temp.try('ss_carol', $q$UPDATE secrets_store.ai_gateway_associations SET secret_id = ss_test.id('globex.api_key') WHERE id = ss_test.id('acme.association')$q$),
          format('P0002: secret %s not found', ss_test.id('globex.api_key')),
          'Deployer cannot repoint an AI Gateway association to another account''s secret (UPDATE secret_id): P0002');
SELECT is(pg_temp.try('ss_carol', $q$INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, secret_id) VALUES (ss_test.id('globex'), 'gw9', 'openai', ss_test.id('globex.api_key'))$q$),
          format('P0002: account %s not found', ss_test.id('globex')),
          'Deployer cannot INSERT an AI Gateway association with another account''s account_id: P0002 account not found');

-------------------------------------------------------------------------------
-- 5. Audit columns cannot be forged: triggers overwrite created_by,
--    modified_by, granted_by (and the timestamps) on INSERT and keep them on
--    UPDATE, whatever the client sends
-------------------------------------------------------------------------------
CREATE TEMP TABLE probes (name text PRIMARY KEY, probe text);
INSERT INTO probes VALUES
 ('grant', $q$SELECT 'granted_by=' || coalesce((SELECT name FROM ss_test.ids WHERE id = r.granted_by), 'NULL') || ', granted_at is now: ' || (r.granted_at = now()) FROM secrets_store.role_assignments r WHERE account_id = ss_test.id('acme') AND member_id = ss_test.id('ss_frank')$q$),
 ('new secret', $q$SELECT 'created_by=' || coalesce((SELECT name FROM ss_test.ids WHERE id = s.created_by), 'NULL') || ', modified_by=' || coalesce((SELECT name FROM ss_test.ids WHERE id = s.modified_by), 'NULL') || ', created_at is now: ' || (s.created_at = now()) FROM secrets_store.secrets s WHERE account_id = ss_test.id('acme') AND name = 'FORGED'$q$),
 ('old secret', $q$SELECT 'created_by kept: ' || (s.created_by IS NOT DISTINCT FROM f.created_by) || ', created_at kept: ' || (s.created_at = f.created_at) || ', modified_by=' || coalesce((SELECT name FROM ss_test.ids WHERE id = s.modified_by), 'NULL') FROM secrets_store.secrets s JOIN pg_temp.fixture_rows f USING (id) WHERE s.id = ss_test.id('acme.api_key')$q$),
 ('new binding', $q$SELECT 'created_by=' || coalesce((SELECT name FROM ss_test.ids WHERE id = b.created_by), 'NULL') || ', created_at is now: ' || (b.created_at = now()) FROM secrets_store.worker_bindings b WHERE account_id = ss_test.id('acme') AND binding_name = 'FORGED'$q$),
 ('old binding', $q$SELECT 'created_by kept: ' || (b.created_by IS NOT DISTINCT FROM f.created_by) || ', created_at kept: ' || (b.created_at = f.created_at) FROM secrets_store.worker_bindings b JOIN pg_temp.fixture_rows f USING (id) WHERE b.id = ss_test.id('acme.binding')$q$),
 ('new association', $q$SELECT 'created_by=' || coalesce((SELECT name FROM ss_test.ids WHERE id = g.created_by), 'NULL') || ', created_at is now: ' || (g.created_at = now()) FROM secrets_store.ai_gateway_associations g WHERE account_id = ss_test.id('acme') AND gateway_id = 'forged'$q$),
 ('old association', $q$SELECT 'created_by kept: ' || (g.created_by IS NOT DISTINCT FROM f.created_by) || ', created_at kept: ' || (g.created_at = f.created_at) FROM secrets_store.ai_gateway_associations g JOIN pg_temp.fixture_rows f USING (id) WHERE g.id = ss_test.id('acme.association')$q$);

SELECT is(pg_temp.try('ss_alice', $q$INSERT INTO secrets_store.role_assignments (account_id, member_id, role, granted_by, granted_at) VALUES (ss_test.id('acme'), ss_test.id('ss_frank'), 'secrets_store_reporter', ss_test.id('ss_gina'), '2000-01-01')$q$,
                      (SELECT probe FROM probes WHERE name = 'grant')),
          'allowed: 1 row(s); granted_by=ss_alice, granted_at is now: true',
          'Super Administrator cannot forge granted_by / granted_at on INSERT: the trigger records the granting member');
SELECT is(pg_temp.try('ss_oscar', $q$INSERT INTO secrets_store.role_assignments (account_id, member_id, role, granted_by, granted_at) VALUES (ss_test.id('acme'), ss_test.id('ss_frank'), 'secrets_store_reporter', ss_test.id('ss_gina'), '2000-01-01')$q$,
                      (SELECT probe FROM probes WHERE name = 'grant')),
          'allowed: 1 row(s); granted_by=NULL, granted_at is now: true',
          'operator cannot forge granted_by on INSERT: an operator without member records NULL');
SELECT is(pg_temp.try('ss_bob', $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, created_by, modified_by, created_at) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'FORGED', '{workers}', ss_test.id('ss_gina'), ss_test.id('ss_gina'), '2000-01-01')$q$,
                      (SELECT probe FROM probes WHERE name = 'new secret')),
          'allowed: 1 row(s); created_by=ss_bob, modified_by=ss_bob, created_at is now: true',
          'Secrets Store Admin cannot forge created_by / modified_by / created_at when INSERTing a secret');
SELECT is(pg_temp.try('ss_bob', $q$UPDATE secrets_store.secrets SET comment = 'x', created_by = ss_test.id('ss_gina'), modified_by = ss_test.id('ss_gina'), created_at = '2000-01-01' WHERE id = ss_test.id('acme.api_key')$q$,
                      (SELECT probe FROM probes WHERE name = 'old secret')),
          'allowed: 1 row(s); created_by kept: true, created_at kept: true, modified_by=ss_bob',
          'Secrets Store Admin cannot forge created_by / modified_by / created_at when UPDATEing a secret');
SELECT is(pg_temp.try('ss_carol', $q$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name, created_by, created_at) VALUES (ss_test.id('acme'), 'shop', 'FORGED', ss_test.id('acme.store'), 'API_KEY', ss_test.id('ss_gina'), '2000-01-01')$q$,
                      (SELECT probe FROM probes WHERE name = 'new binding')),
          'allowed: 1 row(s); created_by=ss_carol, created_at is now: true',
          'Deployer cannot forge created_by / created_at when INSERTing a Worker binding');
SELECT is(pg_temp.try('ss_carol', $q$UPDATE secrets_store.worker_bindings SET created_by = ss_test.id('ss_gina'), created_at = '2000-01-01' WHERE id = ss_test.id('acme.binding')$q$,
                      (SELECT probe FROM probes WHERE name = 'old binding')),
          'allowed: 1 row(s); created_by kept: true, created_at kept: true',
          'Deployer cannot forge created_by / created_at when UPDATEing a Worker binding');
SELECT is(pg_temp.try('ss_carol', $q$INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, secret_id, created_by, created_at) VALUES (ss_test.id('acme'), 'forged', 'openai', ss_test.id('acme.api_key'), ss_test.id('ss_gina'), '2000-01-01')$q$,
                      (SELECT probe FROM probes WHERE name = 'new association')),
          'allowed: 1 row(s); created_by=ss_carol, created_at is now: true',
          'Deployer cannot forge created_by / created_at when INSERTing an AI Gateway association');
SELECT is(pg_temp.try('ss_carol', $q$UPDATE secrets_store.ai_gateway_associations SET created_by = ss_test.id('ss_gina'), created_at = '2000-01-01' WHERE id = ss_test.id('acme.association')$q$,
                      (SELECT probe FROM probes WHERE name = 'old association')),
          'allowed: 1 row(s); created_by kept: true, created_at kept: true',
          'Deployer cannot forge created_by / created_at when UPDATEing an AI Gateway association');

-------------------------------------------------------------------------------
-- 6. The value column is write-only: a plaintext written by INSERT or UPDATE
--    is sealed (test/values.sql covers sealing) and every read is NULL.
-------------------------------------------------------------------------------
SELECT is(pg_temp.try('ss_bob', $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, value) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'WITH_VALUE', '{workers}', 'hunter2')$q$,
                      $q$SELECT status || ', value ' || coalesce(value::text, 'NULL') FROM secrets_store.secrets WHERE name = 'WITH_VALUE'$q$),
          'allowed: 1 row(s); active, value NULL',
          'a plaintext value in a direct INSERT is sealed: the secret is active and its value reads NULL');
SELECT is(pg_temp.try('ss_bob', $q$UPDATE secrets_store.secrets SET value = 'hunter2' WHERE id = ss_test.id('acme.api_key')$q$,
                      $q$SELECT status || ', value ' || coalesce(value::text, 'NULL') FROM secrets_store.secrets WHERE id = ss_test.id('acme.api_key')$q$),
          'allowed: 1 row(s); active, value NULL',
          'a plaintext value in a direct UPDATE is sealed: the secret is active and its value reads NULL');
SELECT is(pg_temp.as_role(p.db_role, $q$SELECT count(*) || ' secret(s) read, ' || count(value) || ' value(s) not NULL' FROM secrets_store.secrets$q$),
          CASE WHEN cardinality(p.roles) > 0 THEN '2 secret(s) read, 0 value(s) not NULL'
               ELSE '0 secret(s) read, 0 value(s) not NULL' END,
          format('%s: the value column of every secret they read is NULL', p.label))
FROM person p ORDER BY p.ord;

-------------------------------------------------------------------------------
-- 7. Keys include account_id, but an id in use in any account is refused,
--    so an id always names one object: nobody can squat another account's
--    id to mislead the function API.
-------------------------------------------------------------------------------
SELECT is(pg_temp.try('ss_gina', $q$INSERT INTO secrets_store.stores (id, account_id, name) VALUES (ss_test.id('acme.store'), ss_test.id('globex'), 'squatter')$q$),
          format('23505: id %s is already in use', ss_test.id('acme.store')),
          'a Globex Super Administrator cannot INSERT a store with the id of an Acme store: 23505');
SELECT is(pg_temp.try('ss_gina', $q$INSERT INTO secrets_store.secrets (id, account_id, store_id, name, scopes) VALUES (ss_test.id('acme.api_key'), ss_test.id('globex'), ss_test.id('globex.store'), 'SQUAT', '{workers}')$q$),
          format('23505: id %s is already in use', ss_test.id('acme.api_key')),
          'nor a secret with the id of an Acme secret: 23505');
SELECT is(pg_temp.try('ss_bob', $q$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'AFTER_SQUAT', NULL, '{workers}')$q$),
          'allowed: 1 row(s)',
          'Acme''s own store keeps working for its Secrets Store Admin');

SELECT * FROM finish();
ROLLBACK;
