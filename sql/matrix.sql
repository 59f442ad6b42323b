-- The permission matrix as observed: every person of the fixture attempts
-- every action through the function API, in their own account (Acme) and in
-- another (Globex).  Y = allowed; otherwise the SQLSTATE.
\pset footer off
CREATE TEMP TABLE observed AS SELECT * FROM ss_test.observe();

-- own account
SELECT action, db_role, CASE outcome WHEN 'allowed' THEN 'Y' ELSE outcome END AS cell, person_ord
FROM observed WHERE prefix = 'acme' ORDER BY action_ord
\crosstabview action db_role cell person_ord

-- another account: nothing exists for them there
SELECT action, db_role, CASE outcome WHEN 'allowed' THEN 'Y' ELSE outcome END AS cell, person_ord
FROM observed WHERE prefix = 'globex' ORDER BY action_ord
\crosstabview action db_role cell person_ord

-- differences from DESIGN.md section 3 (none expected)
SELECT o.db_role, o.action, o.prefix, o.outcome AS observed, e.outcome AS expected
FROM observed o JOIN ss_test.expected e USING (db_role, action, prefix)
WHERE o.outcome IS DISTINCT FROM e.outcome;

-- every refusal in the own account names the principal and the action, and
-- its hint names who has the action
SELECT db_role, action, message, hint FROM observed
WHERE prefix = 'acme' AND outcome = '42501'
  AND (message NOT LIKE '%' || substr(db_role, 4) || '@acme.example%'
       OR message NOT LIKE '%"' || action || '"%'
       OR hint NOT LIKE '%granted by the roles: %');

-- foreign and absent objects are indistinguishable: same SQLSTATE and the
-- same message with the id substituted
SELECT t.outcome, replace(t.message, ss_test.id('globex.api_key')::text, '<id>') AS message
FROM ss_test.attempt('ss_alice', $$SELECT secrets_store.update_secret(ss_test.id('globex.api_key'), comment => 'x')$$) t
UNION ALL
SELECT t.outcome, replace(t.message, '00000000-0000-4000-8000-000000000000', '<id>')
FROM ss_test.attempt('ss_alice', $$SELECT secrets_store.update_secret('00000000-0000-4000-8000-000000000000', comment => 'x')$$) t;
