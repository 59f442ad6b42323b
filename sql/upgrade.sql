-- Upgrade: install 1.0, fill it, update to 1.1, and check data, policies,
-- privileges and behaviour after each step.
CREATE DATABASE ss_upgrade;
\c ss_upgrade
SET client_min_messages = warning;
CREATE EXTENSION secrets_store VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'secrets_store';
\set ECHO none
\i test/fixtures/people.sql
\set ECHO all

-- a value sealed under 1.0
CREATE ROLE ss_upgrade_runtime LOGIN;
GRANT secrets_store_runtime TO ss_upgrade_runtime;
SET ROLE ss_bob;
SELECT secrets_store.update_secret(ss_test.id('acme.api_key'), value => 'written under 1.0');
RESET ROLE;

CREATE TEMP TABLE before_update AS
SELECT 'secrets' AS t, count(*) AS n FROM secrets_store.secrets
UNION ALL SELECT 'stores', count(*) FROM secrets_store.stores
UNION ALL SELECT 'bindings', count(*) FROM secrets_store.worker_bindings
UNION ALL SELECT 'associations', count(*) FROM secrets_store.ai_gateway_associations
UNION ALL SELECT 'role_assignments', count(*) FROM secrets_store.role_assignments
UNION ALL SELECT 'audit_events', count(*) FROM secrets_store.audit_events
UNION ALL SELECT 'secret_values', count(*) FROM secrets_store.secret_values;

ALTER EXTENSION secrets_store UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'secrets_store';

-- data: every row is still there
SELECT b.t, b.n = a.n AS kept
FROM before_update b
JOIN (SELECT 'secrets' AS t, count(*) AS n FROM secrets_store.secrets
      UNION ALL SELECT 'stores', count(*) FROM secrets_store.stores
      UNION ALL SELECT 'bindings', count(*) FROM secrets_store.worker_bindings
      UNION ALL SELECT 'associations', count(*) FROM secrets_store.ai_gateway_associations
      UNION ALL SELECT 'role_assignments', count(*) FROM secrets_store.role_assignments
      UNION ALL SELECT 'audit_events', count(*) FROM secrets_store.audit_events
      UNION ALL SELECT 'secret_values', count(*) FROM secrets_store.secret_values) a USING (t)
ORDER BY b.t;

-- the value sealed under 1.0 opens under 1.1
SET ROLE ss_upgrade_runtime;
SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'shop', 'API') = 'written under 1.0' AS value_opens;
RESET ROLE;

-- policies: every table still forced, same policies
SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity AS forced,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c WHERE c.relnamespace = 'secrets_store'::regnamespace AND c.relkind = 'r'
ORDER BY c.relname;

-- privileges: nothing for PUBLIC, the surface for secrets_store_user
SELECT count(*) AS granted_to_public FROM pg_class c, aclexplode(c.relacl) a
WHERE c.relnamespace = 'secrets_store'::regnamespace AND a.grantee = 0;
SELECT count(*) AS functions_for_public FROM pg_proc p
WHERE p.pronamespace = 'secrets_store'::regnamespace
  AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0));
SELECT has_table_privilege('secrets_store_user', 'secrets_store.secrets', 'INSERT') AS user_inserts_secrets,
       has_table_privilege('secrets_store_user', 'secrets_store.secret_values', 'SELECT') AS user_reads_values,
       has_function_privilege('secrets_store_runtime', 'secrets_store.get_bound_secret(uuid, text, text)', 'EXECUTE') AS runtime_reads;

-- behaviour: the matrix is unchanged, ids are drawn by the trigger
SELECT count(*) FILTER (WHERE o.outcome = e.outcome) AS cells_as_designed, count(*) AS cells
FROM ss_test.observe() o JOIN ss_test.expected e USING (db_role, action, prefix);
SET ROLE ss_bob;
INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes)
VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'AFTER_UPDATE', '{workers}')
RETURNING id IS NOT NULL AS id_drawn, status;
RESET ROLE;
SELECT column_name, column_default FROM information_schema.columns
WHERE table_schema = 'secrets_store' AND column_name = 'id' ORDER BY table_name;

-- a fresh install of 1.1 and the updated one have the same objects: the two
-- digests below must be equal
SELECT count(*) AS objects, md5(string_agg(pg_describe_object(classid, objid, objsubid), ',' ORDER BY pg_describe_object(classid, objid, objsubid))) AS digest
FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'secrets_store');
\c contrib_regression
SELECT count(*) AS objects, md5(string_agg(pg_describe_object(classid, objid, objsubid), ',' ORDER BY pg_describe_object(classid, objid, objsubid))) AS digest
FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'secrets_store');
DROP DATABASE ss_upgrade;
DROP ROLE ss_upgrade_runtime;
