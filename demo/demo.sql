-- The secrets_store demo: the people of test/fixtures/people.sql attempt
-- every action of the permission matrix, in their own account (Acme) and in
-- another one (Globex), each attempt rolled back.  Cells: Y = allowed, or the
-- SQLSTATE of the refusal (42501 lacks the action, P0002 cannot see it).
\pset footer off
\pset null '-'
\echo 'Legend: Y = allowed; 42501 = refused, the person lacks the action in that account;'
\echo '        P0002 = "not found": the person holds nothing there, so for them it does not exist.'

CREATE TEMP TABLE observed AS SELECT * FROM ss_test.observe();

\echo
\echo '== Observed in their own account (Acme): attempts through the function API'
SELECT o.action, o.label,
       CASE o.outcome WHEN 'allowed' THEN 'Y' ELSE o.outcome END
       || CASE WHEN o.outcome <> e.outcome
               THEN ' (expected ' || e.outcome || ')' ELSE '' END AS cell,
       o.person_ord
FROM observed o JOIN ss_test.expected e USING (db_role, action, prefix)
WHERE o.prefix = 'acme'
ORDER BY o.action_ord
\crosstabview action label cell person_ord

\echo '== Expected (DESIGN.md section 3; P0002 where the person holds no role)'
SELECT e.action, e.label,
       CASE e.outcome WHEN 'allowed' THEN 'Y' ELSE e.outcome END AS cell,
       e.person_ord
FROM ss_test.expected e
WHERE e.prefix = 'acme'
ORDER BY e.action_ord
\crosstabview action label cell person_ord

\echo '== Observed in another account (Globex): nobody from Acme can see it'
SELECT o.action, o.label,
       CASE o.outcome WHEN 'allowed' THEN 'Y' ELSE o.outcome END
       || CASE WHEN o.outcome <> e.outcome
               THEN ' (expected ' || e.outcome || ')' ELSE '' END AS cell,
       o.person_ord
FROM observed o JOIN ss_test.expected e USING (db_role, action, prefix)
WHERE o.prefix = 'globex'
ORDER BY o.action_ord
\crosstabview action label cell person_ord

\echo '== What a refusal looks like'
SELECT label AS who, action, CASE prefix WHEN 'acme' THEN 'own' ELSE 'another' END AS account,
       outcome AS sqlstate, message, hint FROM observed
WHERE (db_role, action, prefix) IN (('ss_dave', 'secret.create', 'acme'),
                                    ('ss_bob', 'binding.create', 'acme'),
                                    ('ss_alice', 'secret.edit', 'globex'))
ORDER BY db_role;

\echo '== What each person sees of the secrets table (row-level security)'
CREATE TEMP TABLE seen (db_role name, secrets bigint, stores bigint, bindings bigint);
GRANT INSERT ON seen TO PUBLIC;
DO $$
DECLARE p record;
BEGIN
    FOR p IN SELECT db_role FROM ss_test.people ORDER BY ord LOOP
        EXECUTE format('SET LOCAL ROLE %I', p.db_role);
        INSERT INTO seen SELECT p.db_role,
            (SELECT count(*) FROM secrets_store.secrets),
            (SELECT count(*) FROM secrets_store.stores),
            (SELECT count(*) FROM secrets_store.worker_bindings);
        RESET ROLE;
    END LOOP;
END
$$;
SELECT p.label AS person, s.secrets, s.stores, s.bindings
FROM seen s JOIN ss_test.people p USING (db_role) ORDER BY p.ord;

\echo '== Summary'
SELECT count(*) FILTER (WHERE o.outcome = e.outcome) AS cells_as_designed,
       count(*) AS cells,
       CASE WHEN bool_and(o.outcome = e.outcome)
            THEN 'observed matrix equals DESIGN.md section 3'
            ELSE 'MISMATCH: see cells marked "expected"' END AS verdict
FROM observed o JOIN ss_test.expected e USING (db_role, action, prefix);

\echo
\echo '== API tokens: one token per permission group, created by alice (Super Administrator)'
\echo '   and used by an application login role that is no member (the token alone decides)'
CREATE TEMP TABLE demo_tokens (permission_group secrets_store.permission_group, bearer text);
DO $$
DECLARE
    g secrets_store.permission_group;
    bearer text;
BEGIN
    FOREACH g IN ARRAY enum_range(NULL::secrets_store.permission_group) LOOP
        SET LOCAL ROLE ss_alice;
        bearer := secrets_store.create_api_token(
            (SELECT id FROM secrets_store.accounts WHERE name = 'Acme'), 'demo ' || g, ARRAY[g]);
        RESET ROLE;
        INSERT INTO demo_tokens VALUES (g, bearer);
    END LOOP;
END
$$;
-- the bearer strings stay in this session's temporary table and are never printed
CREATE TEMP TABLE token_observed AS
SELECT k.permission_group, a.action, a.ord AS action_ord, acct.prefix, t.outcome,
       CASE WHEN acct.prefix = 'globex' THEN 'P0002'
            WHEN EXISTS (SELECT 1 FROM ss_test.design_group_matrix d
                         WHERE d.permission_group = k.permission_group AND d.action = a.action) THEN 'allowed'
            ELSE '42501' END AS expected
FROM demo_tokens k
CROSS JOIN ss_test.action_statements a
CROSS JOIN (VALUES ('acme'), ('globex')) AS acct (prefix)
CROSS JOIN LATERAL ss_test.attempt_token(k.bearer, format(a.statement, acct.prefix)) t;

\echo '== Observed with tokens in their own account (Acme)'
SELECT action, permission_group,
       CASE outcome WHEN 'allowed' THEN 'Y' ELSE outcome END
       || CASE WHEN outcome <> expected THEN ' (expected ' || expected || ')' ELSE '' END AS cell,
       array_position(enum_range(NULL::secrets_store.permission_group), permission_group) AS sort
FROM token_observed WHERE prefix = 'acme' ORDER BY action_ord
\crosstabview action permission_group cell sort

SELECT count(*) FILTER (WHERE prefix = 'globex' AND outcome = 'P0002') AS another_account_refused_p0002,
       count(*) FILTER (WHERE prefix = 'globex') AS another_account_attempts,
       count(*) FILTER (WHERE outcome = expected) AS cells_as_designed, count(*) AS cells,
       CASE WHEN bool_and(outcome = expected) THEN 'token matrix equals DESIGN.md section 3'
            ELSE 'MISMATCH' END AS verdict
FROM token_observed;

\echo '== A token that is garbage, tampered with, or disabled: one answer (28000)'
SELECT 'disabled' AS "the Read token" FROM secrets_store.disable_api_token((SELECT id FROM secrets_store.api_tokens WHERE name = 'demo secrets_store_read'));
SELECT v.what, t.outcome AS sqlstate, t.message
FROM (VALUES ('garbage', 'not a token'),
             ('tampered', (SELECT overlay(bearer placing 'AAAA' from 40 for 4) FROM demo_tokens LIMIT 1)),
             ('disabled', (SELECT bearer FROM demo_tokens WHERE permission_group = 'secrets_store_read'))) AS v (what, b),
     ss_test.attempt_token(v.b, 'SELECT 1') t;

\echo
\echo '== Secret values: written once, never read back by people, read by the bound Worker'
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ss_worker_runtime') THEN
        CREATE ROLE ss_worker_runtime LOGIN;
    END IF;
END $$;
GRANT secrets_store_runtime TO ss_worker_runtime;
SET ROLE ss_bob;      -- Secrets Store Admin writes the value
SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'STRIPE_KEY', 'sk_live_demo_4242', '{workers}',
                                   'payments') IS NOT NULL AS created;
RESET ROLE;
SET ROLE ss_carol;    -- Deployer binds it to the checkout Worker
SELECT secrets_store.bind_worker(ss_test.id('acme.store'), 'checkout', 'STRIPE', 'STRIPE_KEY') IS NOT NULL AS bound;
RESET ROLE;
SET ROLE ss_alice;    -- even the Super Administrator reads only metadata
SELECT name, status, scopes, value FROM secrets_store.secrets WHERE name = 'STRIPE_KEY';
RESET ROLE;
SET ROLE ss_worker_runtime;   -- the Workers runtime resolves the binding
SELECT md5(secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'STRIPE')) = md5('sk_live_demo_4242')
       AS "runtime got bob's value (by digest)";
RESET ROLE;
SELECT p.label AS person, t.outcome AS get_bound_secret
FROM ss_test.people p,
     ss_test.attempt(p.db_role, $$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'STRIPE')$$) t
ORDER BY p.ord;

\echo
\echo '== The audit trail of what the demo just did (as bob, Secrets Store Admin of Acme)'
SET ROLE ss_bob;
SELECT to_char(e.occurred_at, 'HH24:MI:SS.MS') AS at, e.action, e.resource_type, e.resource_name,
       e.actor_type, coalesce(e.actor_db_role::text, '') AS db_role,
       e.details - 'account_id' - 'store_id' - 'id' AS details
FROM secrets_store.audit_events e
ORDER BY e.id;
\echo '   (the same as JSON for a SIEM: SELECT * FROM secrets_store.export_audit_events(<account>))'
RESET ROLE;
SET ROLE ss_gina;
SELECT count(*) AS events_gina_sees_of_acme FROM secrets_store.audit_events
WHERE account_id = ss_test.id('acme');
RESET ROLE;
