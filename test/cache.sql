-- The principal and its rights cache, in one session (DESIGN.md sections 1,
-- 3 and 7).  whoami() tells the truth for every login role; a member's
-- rights are the union of their roles, in matrix order; switching roles never
-- serves one member's rights or rows to another; grants, revokes, rolled-back
-- grants, a moved db_role and a changed matrix are seen at the next
-- statement; cached plans do not carry rows across roles.
--
-- Observations are made as the login role (SET LOCAL ROLE) by
-- pg_temp.observe(), which stores what the principal sees in a temp table
-- granted to PUBLIC; every pgTAP call runs as the superuser.  Several checks
-- are made twice: once across a role switch, and once with the same role
-- before and after the change (an operator who is also a member changing its
-- own roles, or a SECURITY DEFINER function changing the matrix), so that a
-- cache keyed only by the role could not pass by being rebuilt on SET ROLE.
BEGIN;
SELECT plan(161);

-------------------------------------------------------------------------------
-- Roles and helpers (rolled back with the rest)
-------------------------------------------------------------------------------
CREATE ROLE ss_cache_nobody LOGIN;   -- a login role with no member
CREATE ROLE ss_cache_moved LOGIN;    -- where a member's db_role is moved to
CREATE ROLE ss_cache_ops LOGIN;      -- an operator who is also a member
GRANT secrets_store_user TO ss_cache_nobody, ss_cache_moved;
GRANT secrets_store_operator TO ss_cache_ops;
INSERT INTO ss_test.ids VALUES
    ('ss_cache_ops', secrets_store.create_member('ops@acme.example', 'Ops', 'ss_cache_ops'));

-- who holds which roles where, per the fixture (independent of the extension)
CREATE TEMP TABLE person_roles (db_role name, account text, roles secrets_store.role[]);
INSERT INTO person_roles
SELECT db_role, 'acme', roles FROM ss_test.people
UNION ALL VALUES ('ss_gina', 'globex', '{super_administrator}'::secrets_store.role[]);

-- the actions a person holds in an account, per DESIGN.md section 3, in
-- matrix order
CREATE FUNCTION pg_temp.expected_actions(who name, account text) RETURNS text[]
LANGUAGE sql STABLE AS $f$
SELECT coalesce(array_agg(a.action ORDER BY a.ord), '{}')
FROM ss_test.action_statements a
WHERE EXISTS (SELECT 1 FROM pg_temp.person_roles p
              JOIN ss_test.design_matrix d ON d.role = ANY (p.roles)
              WHERE p.db_role = who AND p.account = expected_actions.account
                AND d.action = a.action)
$f$;

-- what a principal sees, recorded as the principal
CREATE TEMP TABLE seen (
    label text PRIMARY KEY,
    db_role name,                  -- current_user
    principal_type text, member_id uuid, token_id uuid, whoami_role name,
    can_read_acme boolean, can_read_globex boolean,
    acme_actions text[], globex_actions text[],
    acme_secrets int, globex_secrets int, acme_bindings int, accounts int,
    accounts_with_read uuid[],     -- accounts_with('secret.read'), sorted
    can_read_accounts uuid[]       -- accounts where can(id, 'secret.read'), sorted
);
GRANT ALL ON seen TO PUBLIC;
CREATE TEMP TABLE all_accounts AS SELECT id FROM secrets_store.accounts;
GRANT SELECT ON all_accounts TO PUBLIC;
-- single values recorded as a principal
CREATE TEMP TABLE facts (k text PRIMARY KEY, v text);
GRANT ALL ON facts TO PUBLIC;

CREATE PROCEDURE pg_temp.observe(label text)
LANGUAGE sql AS $f$
INSERT INTO pg_temp.seen
SELECT $1, current_user, w.principal_type, w.member_id, w.token_id, w.db_role,
       secrets_store.can(ss_test.id('acme'), 'secret.read'),
       secrets_store.can(ss_test.id('globex'), 'secret.read'),
       secrets_store.my_actions(ss_test.id('acme')),
       secrets_store.my_actions(ss_test.id('globex')),
       (SELECT count(*) FROM secrets_store.secrets s WHERE s.account_id = ss_test.id('acme')),
       (SELECT count(*) FROM secrets_store.secrets s WHERE s.account_id = ss_test.id('globex')),
       (SELECT count(*) FROM secrets_store.worker_bindings b WHERE b.account_id = ss_test.id('acme')),
       (SELECT count(*) FROM secrets_store.accounts),
       ARRAY(SELECT a FROM unnest(secrets_store.accounts_with('secret.read')) AS a ORDER BY a),
       ARRAY(SELECT x.id FROM pg_temp.all_accounts x WHERE secrets_store.can(x.id, 'secret.read') ORDER BY x.id)
FROM secrets_store.whoami() AS w;
$f$;

-- observations as text, and what DESIGN.md and the fixture say they should be
CREATE TEMP VIEW seen_text AS
SELECT label, db_role,
       format('acme %s, globex %s', can_read_acme::text, can_read_globex::text) AS can_text,
       format('acme %s, globex %s', acme_actions, globex_actions) AS actions_text,
       format('acme secrets %s, globex secrets %s, acme bindings %s, accounts %s',
              acme_secrets, globex_secrets, acme_bindings, accounts) AS rows_text
FROM seen;

CREATE FUNCTION pg_temp.expected(who name, OUT can_text text, OUT actions_text text, OUT rows_text text)
LANGUAGE sql STABLE AS $f$
WITH e AS (SELECT pg_temp.expected_actions(who, 'acme') AS acme,
                  pg_temp.expected_actions(who, 'globex') AS globex)
SELECT format('acme %s, globex %s', ('secret.read' = ANY (e.acme))::text, ('secret.read' = ANY (e.globex))::text),
       format('acme %s, globex %s', e.acme, e.globex),
       format('acme secrets %s, globex secrets %s, acme bindings %s, accounts %s',
              CASE WHEN 'secret.read' = ANY (e.acme)
                   THEN (SELECT count(*) FROM secrets_store.secrets WHERE account_id = ss_test.id('acme')) ELSE 0 END,
              CASE WHEN 'secret.read' = ANY (e.globex)
                   THEN (SELECT count(*) FROM secrets_store.secrets WHERE account_id = ss_test.id('globex')) ELSE 0 END,
              CASE WHEN 'secret.read' = ANY (e.acme)
                   THEN (SELECT count(*) FROM secrets_store.worker_bindings WHERE account_id = ss_test.id('acme')) ELSE 0 END,
              -- operators see every account (accounts_select), members those they belong to
              CASE WHEN pg_has_role(who, 'secrets_store_operator', 'MEMBER')
                   THEN (SELECT count(*) FROM secrets_store.accounts)
                   ELSE (cardinality(e.acme) > 0)::int + (cardinality(e.globex) > 0)::int END)
FROM e
$f$;

-------------------------------------------------------------------------------
-- whoami(), my_actions(), rows and accounts_with() for every login role
-------------------------------------------------------------------------------
DO $$
DECLARE
    r name;
BEGIN
    FOREACH r IN ARRAY ARRAY['ss_alice', 'ss_bob', 'ss_carol', 'ss_dave', 'ss_erin', 'ss_frank',
                             'ss_gina', 'ss_mallory', 'ss_cache_nobody', 'ss_oscar']::name[]
    LOOP
        EXECUTE format('SET LOCAL ROLE %I', r);
        CALL pg_temp.observe('whoami ' || r);
        RESET ROLE;
    END LOOP;
END
$$;

CREATE TEMP TABLE login_roles (ord int, db_role name, principal_type text, member_id uuid, what text);
INSERT INTO login_roles VALUES
    (1, 'ss_alice', 'database_role', ss_test.id('ss_alice'), 'member, Super Administrator'),
    (2, 'ss_bob', 'database_role', ss_test.id('ss_bob'), 'member, Secrets Store Admin'),
    (3, 'ss_carol', 'database_role', ss_test.id('ss_carol'), 'member, Deployer'),
    (4, 'ss_dave', 'database_role', ss_test.id('ss_dave'), 'member, Reporter'),
    (5, 'ss_erin', 'database_role', ss_test.id('ss_erin'), 'member, Admin + Deployer'),
    (6, 'ss_frank', 'database_role', ss_test.id('ss_frank'), 'member with no role'),
    (7, 'ss_gina', 'database_role', ss_test.id('ss_gina'), 'member of another account'),
    (8, 'ss_mallory', 'nobody', NULL, 'login role with no member'),
    (9, 'ss_cache_nobody', 'nobody', NULL, 'another login role with no member'),
    (10, 'ss_oscar', 'nobody', NULL, 'operator with no member');

SELECT is(s.principal_type, l.principal_type,
          format('whoami() as %s (%s): principal_type is %s', l.db_role, l.what, l.principal_type))
FROM login_roles l JOIN seen s ON s.label = 'whoami ' || l.db_role ORDER BY l.ord;
SELECT is(s.member_id, l.member_id,
          format('whoami() as %s (%s): member_id is %s', l.db_role, l.what,
                 CASE WHEN l.member_id IS NULL THEN 'NULL' ELSE 'the member linked to the role' END))
FROM login_roles l JOIN seen s ON s.label = 'whoami ' || l.db_role ORDER BY l.ord;
SELECT is(row(s.whoami_role, s.token_id)::text, row(l.db_role, NULL::uuid)::text,
          format('whoami() as %s: db_role is the current role, token_id is NULL', l.db_role))
FROM login_roles l JOIN seen s ON s.label = 'whoami ' || l.db_role ORDER BY l.ord;

SELECT is(t.actions_text, e.actions_text,
          format('my_actions() as %s (%s): the union of the roles held, in matrix order, per account', l.db_role, l.what))
FROM login_roles l JOIN seen_text t ON t.label = 'whoami ' || l.db_role
CROSS JOIN LATERAL pg_temp.expected(l.db_role) e ORDER BY l.ord;
SELECT is(t.can_text, e.can_text,
          format('can(account, ''secret.read'') as %s (%s) agrees with the matrix', l.db_role, l.what))
FROM login_roles l JOIN seen_text t ON t.label = 'whoami ' || l.db_role
CROSS JOIN LATERAL pg_temp.expected(l.db_role) e ORDER BY l.ord;
SELECT is(t.rows_text, e.rows_text,
          format('rows visible to %s (%s): exactly those of accounts where it holds secret.read', l.db_role, l.what))
FROM login_roles l JOIN seen_text t ON t.label = 'whoami ' || l.db_role
CROSS JOIN LATERAL pg_temp.expected(l.db_role) e ORDER BY l.ord;
SELECT is(s.accounts_with_read, s.can_read_accounts,
          format('accounts_with(''secret.read'') as %s equals the accounts where can(..., ''secret.read'') is true', l.db_role))
FROM login_roles l JOIN seen s ON s.label = 'whoami ' || l.db_role ORDER BY l.ord;

-- the matrix order, written out here independently
SELECT is((SELECT acme_actions FROM seen WHERE label = 'whoami ss_alice'),
          '{secret.read,secret.create,secret.edit,secret.duplicate,secret.delete,store.create,store.delete,binding.create,binding.delete,association.create,association.delete,member.manage,token.manage,audit.read}'::text[],
          'my_actions() of a Super Administrator: all 14 actions in the order of the matrix');
SELECT is((SELECT acme_actions FROM seen WHERE label = 'whoami ss_erin'),
          '{secret.read,secret.create,secret.edit,secret.duplicate,secret.delete,store.create,store.delete,binding.create,binding.delete,association.create,association.delete,audit.read}'::text[],
          'my_actions() of ss_erin (Admin + Deployer): the union of both roles, in matrix order');
SET LOCAL ROLE ss_erin;
INSERT INTO facts VALUES ('erin can', format('%s %s %s %s',
    secrets_store.can(ss_test.id('acme'), 'secret.create')::text, secrets_store.can(ss_test.id('acme'), 'binding.create')::text,
    secrets_store.can(ss_test.id('acme'), 'association.delete')::text, secrets_store.can(ss_test.id('acme'), 'member.manage')::text));
RESET ROLE;
SELECT is((SELECT v FROM facts WHERE k = 'erin can'), 'true true true false',
          'can() for ss_erin: secret.create (Admin) and binding.create, association.delete (Deployer), not member.manage');

-------------------------------------------------------------------------------
-- Switching SET ROLE between members in one session
-------------------------------------------------------------------------------
SET LOCAL ROLE ss_alice;        CALL pg_temp.observe('switch 01 ss_alice');
SET LOCAL ROLE ss_gina;         CALL pg_temp.observe('switch 02 ss_gina');
SET LOCAL ROLE ss_alice;        CALL pg_temp.observe('switch 03 ss_alice');
SET LOCAL ROLE ss_dave;         CALL pg_temp.observe('switch 04 ss_dave');
SET LOCAL ROLE ss_gina;         CALL pg_temp.observe('switch 05 ss_gina');
SET LOCAL ROLE ss_frank;        CALL pg_temp.observe('switch 06 ss_frank');
SET LOCAL ROLE ss_erin;         CALL pg_temp.observe('switch 07 ss_erin');
SET LOCAL ROLE ss_mallory;      CALL pg_temp.observe('switch 08 ss_mallory');
SET LOCAL ROLE ss_alice;        CALL pg_temp.observe('switch 09 ss_alice');
SET LOCAL ROLE ss_gina;         CALL pg_temp.observe('switch 10 ss_gina');
RESET ROLE;

SELECT is(t.can_text, e.can_text, format('%s: can() answers for this role only', t.label))
FROM seen_text t CROSS JOIN LATERAL pg_temp.expected(t.db_role) e
WHERE t.label LIKE 'switch %' ORDER BY t.label;
SELECT is(t.actions_text, e.actions_text, format('%s: my_actions() are this role''s only', t.label))
FROM seen_text t CROSS JOIN LATERAL pg_temp.expected(t.db_role) e
WHERE t.label LIKE 'switch %' ORDER BY t.label;
SELECT is(t.rows_text, e.rows_text, format('%s: RLS shows this role''s rows only', t.label))
FROM seen_text t CROSS JOIN LATERAL pg_temp.expected(t.db_role) e
WHERE t.label LIKE 'switch %' ORDER BY t.label;

-------------------------------------------------------------------------------
-- Cached plans: a prepared statement made as one member, executed as another
-------------------------------------------------------------------------------
SET LOCAL ROLE ss_dave;
PREPARE list_secrets AS SELECT s.id, s.account_id, s.name FROM secrets_store.secrets s;
CREATE TEMP TABLE plan_dave_1 AS EXECUTE list_secrets;
SET LOCAL ROLE ss_frank;
CREATE TEMP TABLE plan_frank_1 AS EXECUTE list_secrets;
SET LOCAL ROLE ss_gina;
CREATE TEMP TABLE plan_gina_1 AS EXECUTE list_secrets;
RESET ROLE;

SET LOCAL plan_cache_mode = force_generic_plan;
SET LOCAL ROLE ss_dave;
PREPARE list_account_secrets (uuid) AS
    SELECT s.id, s.account_id, s.name FROM secrets_store.secrets s WHERE s.account_id = $1;
CREATE TEMP TABLE plan_dave_2 AS EXECUTE list_account_secrets (ss_test.id('acme'));
CREATE TEMP TABLE plan_dave_3 AS EXECUTE list_account_secrets (ss_test.id('acme'));
SET LOCAL ROLE ss_frank;
CREATE TEMP TABLE plan_frank_2 AS EXECUTE list_account_secrets (ss_test.id('acme'));
SET LOCAL ROLE ss_gina;
CREATE TEMP TABLE plan_gina_2 AS EXECUTE list_account_secrets (ss_test.id('acme'));
SET LOCAL ROLE ss_dave;
CREATE TEMP TABLE plan_dave_4 AS EXECUTE list_account_secrets (ss_test.id('acme'));
RESET ROLE;
INSERT INTO facts SELECT 'generic plans', generic_plans::text FROM pg_prepared_statements WHERE name = 'list_account_secrets';
RESET plan_cache_mode;

-- a plan cached inside a PL/pgSQL function
CREATE FUNCTION pg_temp.count_secrets() RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE n bigint;
BEGIN
    SELECT count(*) INTO n FROM secrets_store.secrets;
    RETURN n;
END
$f$;
SET LOCAL ROLE ss_dave;
INSERT INTO facts VALUES ('plpgsql dave', pg_temp.count_secrets());
SET LOCAL ROLE ss_frank;
INSERT INTO facts VALUES ('plpgsql frank', pg_temp.count_secrets());
RESET ROLE;

SELECT is((SELECT array_agg(DISTINCT account_id) FROM plan_dave_1), ARRAY[ss_test.id('acme')],
          'prepared statement as ss_dave: lists the Acme secrets');
SELECT is((SELECT count(*)::int FROM plan_dave_1), (SELECT count(*)::int FROM secrets_store.secrets WHERE account_id = ss_test.id('acme')),
          'prepared statement as ss_dave: lists all of them');
SELECT is((SELECT count(*)::int FROM plan_frank_1), 0,
          'statement prepared as ss_dave, executed as ss_frank: only ss_frank''s rows (none)');
SELECT is((SELECT array_agg(DISTINCT account_id) FROM plan_gina_1), ARRAY[ss_test.id('globex')],
          'statement prepared as ss_dave, executed as ss_gina: only Globex rows');
SELECT ok((SELECT v::int FROM facts WHERE k = 'generic plans') > 0,
          'plan_cache_mode = force_generic_plan: the statement ran from a generic plan');
SELECT is((SELECT count(*)::int FROM plan_dave_3), (SELECT count(*)::int FROM secrets_store.secrets WHERE account_id = ss_test.id('acme')),
          'generic plan as ss_dave: the Acme secrets');
SELECT is((SELECT count(*)::int FROM plan_frank_2), 0,
          'generic plan prepared as ss_dave, executed as ss_frank: only ss_frank''s rows (none)');
SELECT is((SELECT count(*)::int FROM plan_gina_2), 0,
          'generic plan prepared as ss_dave, executed as ss_gina for Acme: no Acme rows');
SELECT is((SELECT count(*)::int FROM plan_dave_4), (SELECT count(*)::int FROM secrets_store.secrets WHERE account_id = ss_test.id('acme')),
          'generic plan back as ss_dave: the Acme secrets again (no other role''s answer stuck)');
SELECT is((SELECT array_agg(v ORDER BY k) FROM facts WHERE k LIKE 'plpgsql %'),
          ARRAY[(SELECT count(*)::text FROM secrets_store.secrets WHERE account_id = ss_test.id('acme')), '0'],
          'a PL/pgSQL function''s cached plan: ss_dave counts the Acme secrets, ss_frank then counts none');

-------------------------------------------------------------------------------
-- A grant is seen at the next statement
-------------------------------------------------------------------------------
-- across a role switch: ss_alice grants, ss_frank looks
SET LOCAL ROLE ss_frank;
CALL pg_temp.observe('frank before grant');
SET LOCAL ROLE ss_alice;
DO $$ BEGIN PERFORM secrets_store.grant_role(ss_test.id('acme'), ss_test.id('ss_frank'), 'secrets_store_reporter'); END $$;
SET LOCAL ROLE ss_frank;
CALL pg_temp.observe('frank after grant');
RESET ROLE;

SELECT is(can_text, 'acme false, globex false', 'before the grant, ss_frank (no role) may read nothing')
FROM seen_text WHERE label = 'frank before grant';
SELECT is(rows_text, 'acme secrets 0, globex secrets 0, acme bindings 0, accounts 0', 'before the grant, ss_frank sees no rows')
FROM seen_text WHERE label = 'frank before grant';
SELECT is(can_text, 'acme true, globex false', 'after grant_role(Reporter) in the same transaction, can() says ss_frank may read Acme')
FROM seen_text WHERE label = 'frank after grant';
SELECT is(actions_text, 'acme {secret.read}, globex {}', 'after grant_role(Reporter), my_actions() of ss_frank is {secret.read}')
FROM seen_text WHERE label = 'frank after grant';
SELECT is(t.rows_text, e.rows_text, 'after grant_role(Reporter), ss_frank sees the Acme rows at the next statement')
FROM seen_text t, pg_temp.expected('ss_dave') e WHERE t.label = 'frank after grant';

-- with no role switch: an operator who is a member grants itself a role
SET LOCAL ROLE ss_cache_ops;
CALL pg_temp.observe('ops before grant');
DO $$ BEGIN PERFORM secrets_store.grant_role(ss_test.id('acme'), ss_test.id('ss_cache_ops'), 'secrets_store_reporter'); END $$;
CALL pg_temp.observe('ops after grant');
RESET ROLE;

SELECT is(row(principal_type, member_id)::text, row('database_role', ss_test.id('ss_cache_ops'))::text,
          'whoami() as ss_cache_ops: an operator linked to a member is that member')
FROM seen WHERE label = 'ops before grant';
SELECT is(can_text || '; ' || rows_text, 'acme false, globex false; acme secrets 0, globex secrets 0, acme bindings 0, accounts 2',
          'same role, before its own grant: ss_cache_ops may read nothing and sees no secrets (an operator sees accounts, not their secrets)')
FROM seen_text WHERE label = 'ops before grant';
SELECT is(can_text, 'acme true, globex false', 'same role, no SET ROLE in between: the grant is seen by can() at the next statement')
FROM seen_text WHERE label = 'ops after grant';
SELECT is(actions_text, 'acme {secret.read}, globex {}', 'same role: my_actions() shows the new role at the next statement')
FROM seen_text WHERE label = 'ops after grant';
SELECT is(rows_text, format('acme secrets %s, globex secrets 0, acme bindings %s, accounts %s',
                             (SELECT count(*) FROM secrets_store.secrets WHERE account_id = ss_test.id('acme')),
                             (SELECT count(*) FROM secrets_store.worker_bindings WHERE account_id = ss_test.id('acme')),
                             (SELECT count(*) FROM secrets_store.accounts)),
          'same role: RLS shows the Acme rows at the next statement')
FROM seen_text WHERE label = 'ops after grant';

-------------------------------------------------------------------------------
-- A grant rolled back with its savepoint is gone again
-------------------------------------------------------------------------------
-- same role: ss_cache_ops grants itself Admin inside a savepoint
SET LOCAL ROLE ss_cache_ops;
SAVEPOINT before_admin;
DO $$ BEGIN PERFORM secrets_store.grant_role(ss_test.id('acme'), ss_test.id('ss_cache_ops'), 'secrets_store_admin'); END $$;
SELECT secrets_store.can(ss_test.id('acme'), 'secret.create')::text AS ops_sp_can_create,
       secrets_store.my_actions(ss_test.id('acme'))::text AS ops_sp_actions \gset
ROLLBACK TO SAVEPOINT before_admin;
CALL pg_temp.observe('ops after rollback');
INSERT INTO facts VALUES ('ops can create after rollback', secrets_store.can(ss_test.id('acme'), 'secret.create')::text);
RESET ROLE;

SELECT is(:'ops_sp_can_create'::text, 'true', 'inside the savepoint, ss_cache_ops''s own Admin grant is seen: can(secret.create)');
SELECT is(:'ops_sp_actions'::text, '{secret.read,secret.create,secret.edit,secret.duplicate,secret.delete,store.create,store.delete,audit.read}',
          'inside the savepoint, my_actions() of ss_cache_ops is Reporter + Admin');
SELECT is((SELECT v FROM facts WHERE k = 'ops can create after rollback'), 'false',
          'same role, after ROLLBACK TO SAVEPOINT: the rolled-back Admin grant no longer gives secret.create');
SELECT is(actions_text, 'acme {secret.read}, globex {}',
          'same role, after ROLLBACK TO SAVEPOINT: my_actions() is back to Reporter only')
FROM seen_text WHERE label = 'ops after rollback';

-- across a role switch: ss_alice grants ss_frank Admin inside a savepoint
SAVEPOINT before_frank_admin;
SET LOCAL ROLE ss_alice;
DO $$ BEGIN PERFORM secrets_store.grant_role(ss_test.id('acme'), ss_test.id('ss_frank'), 'secrets_store_admin'); END $$;
SET LOCAL ROLE ss_frank;
SELECT secrets_store.can(ss_test.id('acme'), 'secret.create')::text AS frank_sp_can_create \gset
ROLLBACK TO SAVEPOINT before_frank_admin;
SET LOCAL ROLE ss_frank;
CALL pg_temp.observe('frank after rollback');
INSERT INTO facts VALUES ('frank can create after rollback', secrets_store.can(ss_test.id('acme'), 'secret.create')::text);
RESET ROLE;

SELECT is(:'frank_sp_can_create'::text, 'true', 'inside the savepoint, ss_frank has the Admin right ss_alice granted');
SELECT is((SELECT v FROM facts WHERE k = 'frank can create after rollback'), 'false',
          'after ROLLBACK TO SAVEPOINT, ss_frank no longer has secret.create');
SELECT is(actions_text, 'acme {secret.read}, globex {}',
          'after ROLLBACK TO SAVEPOINT, my_actions() of ss_frank is back to Reporter only')
FROM seen_text WHERE label = 'frank after rollback';

-------------------------------------------------------------------------------
-- A revoke is seen at the next statement
-------------------------------------------------------------------------------
-- same role: ss_cache_ops revokes its own Reporter role
SET LOCAL ROLE ss_cache_ops;
DO $$ BEGIN PERFORM secrets_store.revoke_role(ss_test.id('acme'), ss_test.id('ss_cache_ops'), 'secrets_store_reporter'); END $$;
CALL pg_temp.observe('ops after revoke');
RESET ROLE;

SELECT is(can_text, 'acme false, globex false', 'same role: after revoking its own role, can() is false at the next statement')
FROM seen_text WHERE label = 'ops after revoke';
SELECT is(actions_text, 'acme {}, globex {}', 'same role: after the revoke, my_actions() is empty')
FROM seen_text WHERE label = 'ops after revoke';
SELECT is(rows_text, 'acme secrets 0, globex secrets 0, acme bindings 0, accounts 2',
          'same role: after the revoke, RLS shows no secrets or bindings (an operator still sees the accounts)')
FROM seen_text WHERE label = 'ops after revoke';

-- across a role switch: ss_alice revokes ss_dave's Reporter role, then grants it back
SET LOCAL ROLE ss_dave;
CALL pg_temp.observe('dave before revoke');
SET LOCAL ROLE ss_alice;
DO $$ BEGIN PERFORM secrets_store.revoke_role(ss_test.id('acme'), ss_test.id('ss_dave'), 'secrets_store_reporter'); END $$;
SET LOCAL ROLE ss_dave;
CALL pg_temp.observe('dave after revoke');
SET LOCAL ROLE ss_alice;
DO $$ BEGIN PERFORM secrets_store.grant_role(ss_test.id('acme'), ss_test.id('ss_dave'), 'secrets_store_reporter'); END $$;
SET LOCAL ROLE ss_dave;
CALL pg_temp.observe('dave after regrant');
RESET ROLE;

SELECT is(t.rows_text, e.rows_text, 'before the revoke, ss_dave sees the Acme rows')
FROM seen_text t, pg_temp.expected('ss_dave') e WHERE t.label = 'dave before revoke';
SELECT is(can_text || '; ' || actions_text, 'acme false, globex false; acme {}, globex {}',
          'after revoke_role(Reporter), ss_dave may do nothing at the next statement')
FROM seen_text WHERE label = 'dave after revoke';
SELECT is(rows_text, 'acme secrets 0, globex secrets 0, acme bindings 0, accounts 0',
          'after revoke_role(Reporter), ss_dave sees no rows at the next statement')
FROM seen_text WHERE label = 'dave after revoke';
SELECT is(t.can_text || '; ' || t.rows_text, e.can_text || '; ' || e.rows_text,
          'after the Reporter role is granted back, ss_dave reads Acme again')
FROM seen_text t, pg_temp.expected('ss_dave') e WHERE t.label = 'dave after regrant';

-- a second account: accounts_with() and can() agree across accounts
DO $$ BEGIN PERFORM secrets_store.grant_role(ss_test.id('globex'), ss_test.id('ss_alice'), 'secrets_store_reporter'); END $$;
SET LOCAL ROLE ss_alice;
CALL pg_temp.observe('alice in two accounts');
RESET ROLE;
SELECT is(accounts_with_read, can_read_accounts,
          'accounts_with(''secret.read'') equals the accounts where can() is true, for a member of two accounts')
FROM seen WHERE label = 'alice in two accounts';
SELECT is(accounts_with_read, ARRAY(SELECT id FROM secrets_store.accounts WHERE id IN (ss_test.id('acme'), ss_test.id('globex')) ORDER BY id),
          'accounts_with(''secret.read'') for a member of two accounts names both')
FROM seen WHERE label = 'alice in two accounts';
SELECT is(actions_text, format('acme %s, globex {secret.read}', pg_temp.expected_actions('ss_alice', 'acme')),
          'my_actions() per account: Super Administrator in Acme, Reporter in Globex')
FROM seen_text WHERE label = 'alice in two accounts';

-------------------------------------------------------------------------------
-- Changing members.db_role moves the principal at the next statement
-------------------------------------------------------------------------------
SET LOCAL ROLE ss_cache_moved;
CALL pg_temp.observe('moved before move');
SET LOCAL ROLE ss_oscar;
UPDATE secrets_store.members SET db_role = 'ss_cache_moved' WHERE id = ss_test.id('ss_dave');
SET LOCAL ROLE ss_dave;
CALL pg_temp.observe('dave after move');
SET LOCAL ROLE ss_cache_moved;
CALL pg_temp.observe('moved after move');
SET LOCAL ROLE ss_oscar;
UPDATE secrets_store.members SET db_role = 'ss_dave' WHERE id = ss_test.id('ss_dave');
SET LOCAL ROLE ss_dave;
CALL pg_temp.observe('dave after move back');
SET LOCAL ROLE ss_cache_moved;
CALL pg_temp.observe('moved after move back');
RESET ROLE;

SELECT is(row(principal_type, member_id)::text, row('nobody', NULL::uuid)::text,
          'before the move, ss_cache_moved is nobody')
FROM seen WHERE label = 'moved before move';
SELECT is(row(principal_type, member_id)::text, row('nobody', NULL::uuid)::text,
          'after the operator moved dave''s db_role away, ss_dave is nobody at the next statement')
FROM seen WHERE label = 'dave after move';
SELECT is(can_text || '; ' || rows_text, 'acme false, globex false; acme secrets 0, globex secrets 0, acme bindings 0, accounts 0',
          'after the move, ss_dave may read nothing and sees no rows')
FROM seen_text WHERE label = 'dave after move';
SELECT is(row(principal_type, member_id)::text, row('database_role', ss_test.id('ss_dave'))::text,
          'after the move, ss_cache_moved is dave''s member')
FROM seen WHERE label = 'moved after move';
SELECT is(t.can_text || '; ' || t.rows_text, e.can_text || '; ' || e.rows_text,
          'after the move, ss_cache_moved has dave''s rights and rows')
FROM seen_text t, pg_temp.expected('ss_dave') e WHERE t.label = 'moved after move';
SELECT is(row(principal_type, member_id)::text, row('database_role', ss_test.id('ss_dave'))::text,
          'after moving db_role back, ss_dave is dave''s member again')
FROM seen WHERE label = 'dave after move back';
SELECT is(row(principal_type, member_id)::text || '; ' || t.rows_text,
          row('nobody', NULL::uuid)::text || '; acme secrets 0, globex secrets 0, acme bindings 0, accounts 0',
          'after moving db_role back, ss_cache_moved is nobody and sees nothing')
FROM seen s JOIN seen_text t USING (label) WHERE label = 'moved after move back';

-- same role: an operator-member moves its own db_role away
SET LOCAL ROLE ss_cache_ops;
UPDATE secrets_store.members SET db_role = 'ss_cache_moved' WHERE id = ss_test.id('ss_cache_ops');
CALL pg_temp.observe('ops after own move');
SET LOCAL ROLE ss_cache_moved;
CALL pg_temp.observe('moved after ops move');
RESET ROLE;

SELECT is(row(principal_type, member_id)::text, row('nobody', NULL::uuid)::text,
          'same role: after moving its own db_role away, ss_cache_ops is nobody at the next statement')
FROM seen WHERE label = 'ops after own move';
SELECT is(row(principal_type, member_id)::text, row('database_role', ss_test.id('ss_cache_ops'))::text,
          'the new role ss_cache_moved is now the ops member')
FROM seen WHERE label = 'moved after ops move';

-------------------------------------------------------------------------------
-- Changing the matrix (role_actions) is seen at the next statement
-------------------------------------------------------------------------------
-- as the superuser, between two statements of ss_dave
SET LOCAL ROLE ss_dave;
CALL pg_temp.observe('dave before matrix change');
RESET ROLE;
DELETE FROM secrets_store.role_actions WHERE role = 'secrets_store_reporter' AND action = 'secret.read';
SET LOCAL ROLE ss_dave;
CALL pg_temp.observe('dave without reporter read');
RESET ROLE;
INSERT INTO secrets_store.role_actions VALUES ('secrets_store_reporter', 'secret.read');
SET LOCAL ROLE ss_dave;
CALL pg_temp.observe('dave with reporter read restored');
RESET ROLE;

SELECT is(t.can_text || '; ' || t.rows_text, e.can_text || '; ' || e.rows_text,
          'before the matrix change, the Reporter ss_dave reads Acme')
FROM seen_text t, pg_temp.expected('ss_dave') e WHERE t.label = 'dave before matrix change';
SELECT is(can_text || '; ' || actions_text, 'acme false, globex false; acme {}, globex {}',
          'after deleting the Reporter''s secret.read from role_actions, ss_dave holds nothing at the next statement')
FROM seen_text WHERE label = 'dave without reporter read';
SELECT is(rows_text, 'acme secrets 0, globex secrets 0, acme bindings 0, accounts 0',
          'after deleting the Reporter''s secret.read, ss_dave sees no rows')
FROM seen_text WHERE label = 'dave without reporter read';
SELECT is(t.can_text || '; ' || t.actions_text || '; ' || t.rows_text, e.can_text || '; ' || e.actions_text || '; ' || e.rows_text,
          'restoring the Reporter''s secret.read restores ss_dave''s access at the next statement')
FROM seen_text t, pg_temp.expected('ss_dave') e WHERE t.label = 'dave with reporter read restored';

-- with no role switch around the principal: ss_dave calls a SECURITY DEFINER
-- function (owned by the superuser) that changes the matrix
CREATE FUNCTION pg_temp.set_reporter_read(present boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
    IF present THEN
        INSERT INTO secrets_store.role_actions VALUES ('secrets_store_reporter', 'secret.read');
    ELSE
        DELETE FROM secrets_store.role_actions WHERE role = 'secrets_store_reporter' AND action = 'secret.read';
    END IF;
END
$f$;
SET LOCAL ROLE ss_dave;
CALL pg_temp.observe('dave warm before definer');
DO $$ BEGIN PERFORM pg_temp.set_reporter_read(false); END $$;
CALL pg_temp.observe('dave after definer delete');
DO $$ BEGIN PERFORM pg_temp.set_reporter_read(true); END $$;
CALL pg_temp.observe('dave after definer restore');
RESET ROLE;

SELECT is(can_text, 'acme true, globex false', 'ss_dave reads Acme before the matrix is changed under it')
FROM seen_text WHERE label = 'dave warm before definer';
SELECT is(can_text || '; ' || actions_text, 'acme false, globex false; acme {}, globex {}',
          'matrix changed by a function ss_dave called: its next statement holds nothing')
FROM seen_text WHERE label = 'dave after definer delete';
SELECT is(rows_text, 'acme secrets 0, globex secrets 0, acme bindings 0, accounts 0',
          'matrix changed by a function ss_dave called: its next statement sees no rows')
FROM seen_text WHERE label = 'dave after definer delete';
SELECT is(t.can_text || '; ' || t.rows_text, e.can_text || '; ' || e.rows_text,
          'matrix restored by a function ss_dave called: its next statement reads Acme again')
FROM seen_text t, pg_temp.expected('ss_dave') e WHERE t.label = 'dave after definer restore';

-------------------------------------------------------------------------------
-- Renaming a login role: the principal is the member whose db_role is the
-- role's name (DESIGN.md section 1), so the renamed role is no longer that
-- member, and a new role under the old name is
-------------------------------------------------------------------------------
CREATE ROLE ss_cache_renamed LOGIN;
GRANT secrets_store_user TO ss_cache_renamed;
INSERT INTO ss_test.ids VALUES
    ('ss_cache_renamed', secrets_store.create_member('renamed@acme.example', 'Renamed', 'ss_cache_renamed'));
DO $$ BEGIN PERFORM secrets_store.grant_role(ss_test.id('acme'), ss_test.id('ss_cache_renamed'), 'secrets_store_reporter'); END $$;
SET LOCAL ROLE ss_cache_renamed;
CALL pg_temp.observe('renamed before rename');
RESET ROLE;
ALTER ROLE ss_cache_renamed RENAME TO ss_cache_renamed_new;
SET LOCAL ROLE ss_cache_renamed_new;
CALL pg_temp.observe('renamed after rename');
RESET ROLE;
CREATE ROLE ss_cache_renamed LOGIN;
GRANT secrets_store_user TO ss_cache_renamed;
SET LOCAL ROLE ss_cache_renamed;
CALL pg_temp.observe('new role under the old name');
RESET ROLE;

SELECT is(row(principal_type, member_id)::text, row('database_role', ss_test.id('ss_cache_renamed'))::text,
          'before the rename, ss_cache_renamed is its member')
FROM seen WHERE label = 'renamed before rename';
SELECT is(row(principal_type, member_id)::text, row('nobody', NULL::uuid)::text,
          'after ALTER ROLE ... RENAME, the renamed role (no member has its name as db_role) is nobody at the next statement')
FROM seen WHERE label = 'renamed after rename';
SELECT is(can_text || '; ' || rows_text, 'acme false, globex false; acme secrets 0, globex secrets 0, acme bindings 0, accounts 0',
          'after ALTER ROLE ... RENAME, the renamed role keeps none of the member''s rights or rows')
FROM seen_text WHERE label = 'renamed after rename';
SELECT is(row(principal_type, member_id)::text, row('database_role', ss_test.id('ss_cache_renamed'))::text,
          'a new login role under the old name is the member members.db_role names')
FROM seen WHERE label = 'new role under the old name';

DEALLOCATE list_secrets;
DEALLOCATE list_account_secrets;
SELECT * FROM finish();
ROLLBACK;
