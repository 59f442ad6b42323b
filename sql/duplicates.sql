-- A duplicate name on the direct-SQL path, as a client sees it: PostgreSQL
-- names the constraint, and the extension adds a DETAIL naming the key
-- (PostgreSQL leaves the key out under row-level security).  Upserts keep
-- working.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET ROLE ss_bob;
INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes)
VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'API_KEY', '{workers}');
INSERT INTO secrets_store.stores (account_id, name) VALUES (ss_test.id('acme'), 'acme-main');
SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'API_KEY', NULL, '{workers}');
-- ON CONFLICT is untouched by the extension's checks
INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes)
VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'API_KEY', '{workers}')
ON CONFLICT (account_id, store_id, name) DO NOTHING;
INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, comment)
VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'API_KEY', '{workers}', 'upserted')
ON CONFLICT (account_id, store_id, name) DO UPDATE SET comment = EXCLUDED.comment
RETURNING name, comment;
RESET ROLE;
SET ROLE ss_carol;
INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name)
VALUES (ss_test.id('acme'), 'shop', 'API', ss_test.id('acme.store'), 'SPARE');
RESET ROLE;
