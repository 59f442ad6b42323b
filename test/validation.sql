-- Validation (DESIGN.md sections 4 and 6): bad input gets a clear error and
-- loses nothing, through the function API and through direct INSERT/UPDATE/
-- DELETE (the ORM path), as a principal who may otherwise do the action.
--
-- Every refused write runs through pg_temp.try(), which -- unlike
-- ss_test.attempt() -- keeps the effects of a statement that succeeds, and
-- compares a fingerprint of every secrets_store table before and after.  A
-- write that should have been refused but went through therefore fails both
-- the SQLSTATE and the "nothing changed" assertion.
BEGIN;
SELECT plan(657);

-------------------------------------------------------------------------------
-- Helpers (run as the superuser; they switch to the login role themselves)
-------------------------------------------------------------------------------

-- everything the extension stores, as one string (the superuser bypasses RLS)
CREATE FUNCTION pg_temp.state() RETURNS text
LANGUAGE sql VOLATILE AS $f$
SELECT md5(concat_ws(' | ',
    (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM secrets_store.accounts t),
    (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM secrets_store.members t),
    (SELECT string_agg(t::text, ',' ORDER BY t.account_id, t.member_id, t.role) FROM secrets_store.role_assignments t),
    (SELECT string_agg(t::text, ',' ORDER BY t.account_id) FROM secrets_store.account_limits t),
    (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM secrets_store.stores t),
    (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM secrets_store.secrets t),
    (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM secrets_store.worker_bindings t),
    (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM secrets_store.ai_gateway_associations t),
    (SELECT string_agg(t::text, ',' ORDER BY t.role, t.action) FROM secrets_store.role_actions t)))
$f$;

-- try(role, statement): run the statement as the login role in a
-- subtransaction; keep its effects if it succeeds.  Returns the outcome
-- ('allowed' or the SQLSTATE), the error's message, detail and hint, and
-- whether the stored data is exactly as before.
CREATE FUNCTION pg_temp.try(who name, statement text,
    OUT outcome text, OUT message text, OUT detail text, OUT hint text, OUT unchanged boolean)
LANGUAGE plpgsql AS $f$
DECLARE
    before text := pg_temp.state();
BEGIN
    BEGIN
        EXECUTE format('SET LOCAL ROLE %I', who);
        EXECUTE statement;
        outcome := 'allowed';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS outcome = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                                detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    END;
    RESET ROLE;
    detail := nullif(detail, '');
    hint := nullif(hint, '');
    unchanged := pg_temp.state() = before;
END
$f$;

-- results collected as a login role, read back as the superuser
CREATE TEMP TABLE got (k text PRIMARY KEY, v text);
GRANT ALL ON got TO PUBLIC;

-------------------------------------------------------------------------------
-- Fixture additions (as the superuser, not under test)
-------------------------------------------------------------------------------
-- Acme may hold more stores, so store-name tests do not run into the quota
UPDATE secrets_store.account_limits SET max_stores = 10 WHERE account_id = ss_test.id('acme');

DO $$
DECLARE
    acme uuid := ss_test.id('acme');
    st uuid := ss_test.id('acme.store');
    doomed uuid;
    s uuid;
BEGIN
    -- fresh accounts with the default limits (1 store, 100 secrets)
    INSERT INTO ss_test.ids VALUES ('quota', secrets_store.create_account('Quota Test'));
    PERFORM secrets_store.grant_role(ss_test.id('quota'), ss_test.id('ss_bob'), 'secrets_store_admin');
    INSERT INTO ss_test.ids VALUES ('storeless', secrets_store.create_account('Storeless'));
    PERFORM secrets_store.grant_role(ss_test.id('storeless'), ss_test.id('ss_bob'), 'secrets_store_admin');
    PERFORM secrets_store.grant_role(ss_test.id('storeless'), ss_test.id('ss_dave'), 'secrets_store_reporter');

    -- a secret only AI gateways may use
    INSERT INTO ss_test.ids VALUES ('acme.gw_only',
        secrets_store.create_secret(st, 'GW_ONLY', NULL, '{ai_gateway}'));
    -- a secret used by a Worker binding only
    INSERT INTO ss_test.ids VALUES ('acme.bound_only',
        secrets_store.create_secret(st, 'BOUND_ONLY', NULL, '{workers}'));
    INSERT INTO ss_test.ids VALUES ('acme.bound_only_binding',
        secrets_store.bind_worker(st, 'shop', 'BOUND_ONLY', 'BOUND_ONLY'));
    -- a store with two secrets, one bound and associated
    doomed := secrets_store.create_store(acme, 'doomed-store');
    INSERT INTO ss_test.ids VALUES ('acme.doomed_store', doomed);
    s := secrets_store.create_secret(doomed, 'DOOMED_A', NULL, '{workers,ai_gateway}');
    INSERT INTO ss_test.ids VALUES ('acme.doomed_a', s);
    INSERT INTO ss_test.ids VALUES ('acme.doomed_b',
        secrets_store.create_secret(doomed, 'DOOMED_B', NULL, '{workers}'));
    INSERT INTO ss_test.ids VALUES ('acme.doomed_binding',
        secrets_store.bind_worker(doomed, 'doomed', 'A', 'DOOMED_A'));
    INSERT INTO ss_test.ids VALUES ('acme.doomed_association',
        secrets_store.associate_gateway(s, 'doomed-gw', 'openai'));
END
$$;

-------------------------------------------------------------------------------
-- Refused writes and bad arguments, table-driven.  For each case:
--   SQLSTATE; message (regex); hint (regex, where the contract asks for one);
--   for writes, nothing changed.
-------------------------------------------------------------------------------
CREATE TEMP TABLE cases (
    ord serial PRIMARY KEY,
    rule text NOT NULL,
    who name NOT NULL,
    statement text NOT NULL,
    outcome text NOT NULL,
    message text NOT NULL,      -- regex on MESSAGE (or MESSAGE + DETAIL where noted)
    hint text,                  -- regex on HINT, or NULL: not checked
    write boolean NOT NULL DEFAULT true,
    with_detail boolean NOT NULL DEFAULT false
);

-- secret names: 1-255 of A-Z a-z 0-9 _ -
INSERT INTO cases (rule, who, statement, outcome, message, hint)
SELECT format('secret name %s is refused by %s', n.label, p.label), 'ss_bob',
       format(p.stmt, n.expr), '22023', '^invalid secret name',
       '^A secret name is 1 to 255 characters of A-Z, a-z, 0-9, underscore and dash\.$'
FROM (VALUES
        (1, 'create_secret()', $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), %s, NULL, '{workers}')$s$),
        (2, 'direct INSERT', $s$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), %s, '{workers}')$s$),
        (3, 'duplicate_secret()', $s$SELECT secrets_store.duplicate_secret(ss_test.id('acme.spare'), %s)$s$)
     ) AS p (pord, label, stmt)
CROSS JOIN (VALUES
        (1, '(empty)', $e$''$e$),
        (2, '(256 characters)', $e$repeat('a', 256)$e$),
        (3, 'with a space', $e$'MY SECRET'$e$),
        (4, 'with unicode (é)', $e$'CLÉ_API'$e$),
        (5, 'in Cyrillic', $e$'ключ'$e$),
        (6, 'with a dot', $e$'API.KEY'$e$),
        (7, 'with a slash', $e$'db/password'$e$),
        (8, 'with = and @', $e$'key=value@host'$e$),
        (9, 'with a trailing newline', $e$E'API_KEY2\n'$e$),
        (10, 'NULL', $e$NULL$e$)
     ) AS n (nord, label, expr)
WHERE p.pord < 3 OR n.nord IN (1, 3, 6)
ORDER BY p.pord, n.nord;

-- the message quotes the refused name
INSERT INTO cases (rule, who, statement, outcome, message, hint) VALUES
 ('secret name with a space: message quotes the name', 'ss_bob',
  $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'MY SECRET', NULL, '{workers}')$s$,
  '22023', '^invalid secret name "MY SECRET"$', 'A-Z, a-z, 0-9, underscore and dash'),
 ('bind_worker() refuses a malformed secret name', 'ss_carol',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), 'shop', 'BAD', 'API KEY')$s$,
  '22023', '^invalid secret name "API KEY"$', 'A-Z, a-z, 0-9, underscore and dash');

-- store names: 1-255 printable characters
INSERT INTO cases (rule, who, statement, outcome, message, hint)
SELECT format('store name %s is refused by %s', n.label, p.label), 'ss_bob',
       format(p.stmt, n.expr), '22023', '^invalid store name$',
       '^A store name is 1 to 255 printable characters\.$'
FROM (VALUES
        (1, 'create_store()', $s$SELECT secrets_store.create_store(ss_test.id('acme'), %s)$s$),
        (2, 'direct INSERT', $s$INSERT INTO secrets_store.stores (account_id, name) VALUES (ss_test.id('acme'), %s)$s$),
        (3, 'direct UPDATE', $s$UPDATE secrets_store.stores SET name = %s WHERE id = ss_test.id('acme.empty_store')$s$)
     ) AS p (pord, label, stmt)
CROSS JOIN (VALUES
        (1, '(empty)', $e$''$e$),
        (2, '(256 characters)', $e$repeat('s', 256)$e$),
        (3, 'with a tab', $e$E'main\tstore'$e$),
        (4, 'with a newline', $e$E'main\nstore'$e$),
        (5, 'with BEL (U+0007)', $e$E'main\x07'$e$),
        (6, 'with DEL (U+007F)', $e$E'main\x7f'$e$),
        (7, 'with a C1 control (U+0085)', $e$E'main\u0085store'$e$),
        (8, 'NULL', $e$NULL$e$)
     ) AS n (nord, label, expr)
WHERE p.pord = 1 OR n.nord IN (1, 2, 4, 7)
ORDER BY p.pord, n.nord;

-- comments: at most 1,024 characters
INSERT INTO cases (rule, who, statement, outcome, message, hint) VALUES
 ('comment of 1025 characters is refused by create_secret()', 'ss_bob',
  $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'LONG_COMMENT', NULL, '{workers}', repeat('c', 1025))$s$,
  '22023', '^invalid comment: 1025 characters$', 'at most 1,024 characters'),
 ('comment of 1025 multibyte characters is refused by create_secret()', 'ss_bob',
  $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'LONG_COMMENT', NULL, '{workers}', repeat('é', 1025))$s$,
  '22023', '^invalid comment: 1025 characters$', 'at most 1,024 characters'),
 ('comment of 1025 characters is refused by update_secret()', 'ss_bob',
  $s$SELECT secrets_store.update_secret(ss_test.id('acme.spare'), comment => repeat('c', 1025))$s$,
  '22023', '^invalid comment: 1025 characters$', 'at most 1,024 characters'),
 ('comment of 1025 characters is refused by duplicate_secret()', 'ss_bob',
  $s$SELECT secrets_store.duplicate_secret(ss_test.id('acme.spare'), 'SPARE_COPY', comment => repeat('c', 1025))$s$,
  '22023', '^invalid comment: 1025 characters$', 'at most 1,024 characters'),
 ('comment of 1025 characters is refused by direct INSERT', 'ss_bob',
  $s$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, comment) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'LONG_COMMENT', '{workers}', repeat('c', 1025))$s$,
  '22023', '^invalid comment: 1025 characters$', 'at most 1,024 characters'),
 ('comment of 1025 characters is refused by direct UPDATE', 'ss_bob',
  $s$UPDATE secrets_store.secrets SET comment = repeat('c', 1025) WHERE id = ss_test.id('acme.spare')$s$,
  '22023', '^invalid comment: 1025 characters$', 'at most 1,024 characters'),
 ('NULL comment is refused by direct UPDATE', 'ss_bob',
  $s$UPDATE secrets_store.secrets SET comment = NULL WHERE id = ss_test.id('acme.spare')$s$,
  '22023', '^invalid comment', 'at most 1,024 characters');

-- scopes: at least one of workers, ai_gateway; no NULL
INSERT INTO cases (rule, who, statement, outcome, message, hint)
SELECT format('scopes %s are refused by %s', n.label, p.label), 'ss_bob',
       format(p.stmt, n.expr), n.outcome, n.message, n.hint
FROM (VALUES
        (1, 'create_secret()', $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'SCOPED', NULL, %s)$s$),
        (2, 'update_secret()', $s$SELECT secrets_store.update_secret(ss_test.id('acme.spare'), scopes => %s)$s$),
        (3, 'direct INSERT', $s$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'SCOPED', %s)$s$),
        (4, 'direct UPDATE', $s$UPDATE secrets_store.secrets SET scopes = %s WHERE id = ss_test.id('acme.spare')$s$)
     ) AS p (pord, label, stmt)
CROSS JOIN (VALUES
        (1, '(empty array)', $e$'{}'$e$, '22023', '^invalid scopes$',
         '^Scopes name at least one of the services that may use the secret: workers, ai_gateway\.$'),
        (2, 'with a NULL element', $e$'{workers,NULL}'$e$, '22023', '^invalid scopes$',
         '^Scopes name at least one of the services that may use the secret: workers, ai_gateway\.$'),
        (3, 'with an unknown value', $e$'{workers,email}'$e$, '22P02',
         '^invalid input value for enum secrets_store\.scope: "email"$', NULL),
        (4, '(NULL)', $e$NULL$e$, '22023', '^invalid scopes$',
         '^Scopes name at least one of the services that may use the secret: workers, ai_gateway\.$')
     ) AS n (nord, label, expr, outcome, message, hint)
-- update_secret(scopes => NULL) means "keep the scopes"
WHERE NOT (p.pord = 2 AND n.nord = 4)
ORDER BY p.pord, n.nord;

-- a secret's name, store and account never change
INSERT INTO cases (rule, who, statement, outcome, message, hint) VALUES
 ('secret name is immutable: UPDATE secrets SET name is refused (Admin)', 'ss_bob',
  $s$UPDATE secrets_store.secrets SET name = 'RENAMED' WHERE id = ss_test.id('acme.spare')$s$,
  '22023', '^secret names cannot be changed \("SPARE" to "RENAMED"\)$', 'Duplicate the secret under the new name'),
 ('secret name is immutable: UPDATE secrets SET name is refused (Super Administrator)', 'ss_alice',
  $s$UPDATE secrets_store.secrets SET name = 'RENAMED' WHERE id = ss_test.id('acme.spare')$s$,
  '22023', '^secret names cannot be changed \("SPARE" to "RENAMED"\)$', 'Duplicate the secret under the new name'),
 ('a secret cannot move to another store', 'ss_bob',
  $s$UPDATE secrets_store.secrets SET store_id = ss_test.id('acme.empty_store') WHERE id = ss_test.id('acme.spare')$s$,
  '22023', '^a secret cannot move to another id, store or account$', 'Only the value, scopes and comment'),
 ('a secret cannot move to another account', 'ss_bob',
  $s$UPDATE secrets_store.secrets SET account_id = ss_test.id('globex') WHERE id = ss_test.id('acme.spare')$s$,
  '22023', '^a secret cannot move to another id, store or account$', 'Only the value, scopes and comment'),
 ('a secret cannot move to another store and account at once', 'ss_bob',
  $s$UPDATE secrets_store.secrets SET account_id = ss_test.id('globex'), store_id = ss_test.id('globex.store') WHERE id = ss_test.id('acme.spare')$s$,
  '22023', '^a secret cannot move to another id, store or account$', 'Only the value, scopes and comment'),
 ('a secret cannot change its id', 'ss_bob',
  $s$UPDATE secrets_store.secrets SET id = '00000000-0000-4000-8000-0000000000c1' WHERE id = ss_test.id('acme.spare')$s$,
  '22023', '^a secret cannot move to another id, store or account$', 'Only the value, scopes and comment'),
 ('a store cannot move to another account', 'ss_bob',
  $s$UPDATE secrets_store.stores SET account_id = ss_test.id('globex') WHERE id = ss_test.id('acme.empty_store')$s$,
  '22023', '^a store cannot move to another id or account$', 'Only the name of a store can change');

-- duplicate names: 23505 naming the name.  The function API says it in the
-- message; on the direct-SQL path PostgreSQL names the constraint and the
-- extension adds a DETAIL naming the key when the error reaches the client
-- (an emit_log_hook, so not visible to an in-session handler like this
-- one: sql/duplicates.sql shows it as a client sees it)
INSERT INTO cases (rule, who, statement, outcome, message, hint, with_detail) VALUES
 ('duplicate secret name via create_secret() -> 23505 naming the name', 'ss_bob',
  $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'API_KEY', NULL, '{workers}')$s$,
  '23505', '\mAPI_KEY\M', NULL, true),
 ('duplicate secret name via direct INSERT -> 23505 naming the constraint', 'ss_bob',
  $s$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'API_KEY', '{workers}')$s$,
  '23505', '"secrets_account_id_store_id_name_key"', NULL, false),
 ('duplicate secret name via duplicate_secret() -> 23505 naming the name', 'ss_bob',
  $s$SELECT secrets_store.duplicate_secret(ss_test.id('acme.spare'), 'API_KEY')$s$,
  '23505', '\mAPI_KEY\M', NULL, true),
 ('duplicate store name via create_store() -> 23505 naming the name', 'ss_bob',
  $s$SELECT secrets_store.create_store(ss_test.id('acme'), 'acme-main')$s$,
  '23505', 'acme-main', NULL, true),
 ('duplicate Worker binding via bind_worker() -> 23505 naming the binding', 'ss_carol',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), 'shop', 'API', 'SPARE')$s$,
  '23505', '\mAPI\M', NULL, true),
 ('duplicate gateway association via associate_gateway() -> 23505 naming the gateway', 'ss_carol',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), 'gw1', 'openai')$s$,
  '23505', '\mgw1\M', NULL, true),
 ('duplicate store name via direct INSERT -> 23505 naming the name', 'ss_bob',
  $s$INSERT INTO secrets_store.stores (account_id, name) VALUES (ss_test.id('acme'), 'acme-main')$s$,
  '23505', '"stores_account_id_name_key"', NULL, false),
 ('duplicate store name via direct UPDATE (rename) -> 23505 naming the name', 'ss_bob',
  $s$UPDATE secrets_store.stores SET name = 'acme-main' WHERE id = ss_test.id('acme.empty_store')$s$,
  '23505', '"stores_account_id_name_key"', NULL, false),
 ('duplicate Worker binding via direct INSERT -> 23505 naming the binding', 'ss_carol',
  $s$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name) VALUES (ss_test.id('acme'), 'shop', 'API', ss_test.id('acme.store'), 'SPARE')$s$,
  '23505', '"worker_bindings_account_id_script_name_binding_name_key"', NULL, false),
 ('duplicate gateway association via direct INSERT -> 23505 naming the gateway', 'ss_carol',
  $s$INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, secret_id) VALUES (ss_test.id('acme'), 'gw1', 'openai', ss_test.id('acme.api_key'))$s$,
  '23505', '"ai_gateway_associations_account_gateway_provider_alias_key"', NULL, false);

-- bindings need the workers scope, associations the ai_gateway scope; the
-- secret must exist
INSERT INTO cases (rule, who, statement, outcome, message, hint) VALUES
 ('bind_worker() needs the workers scope (secret with only ai_gateway)', 'ss_carol',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), 'shop', 'GW', 'GW_ONLY')$s$,
  '22023', '^secret "GW_ONLY" cannot be bound to a Worker: it lacks the workers scope$', 'Add the workers scope'),
 ('direct INSERT of a binding needs the workers scope', 'ss_carol',
  $s$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name) VALUES (ss_test.id('acme'), 'shop', 'GW', ss_test.id('acme.store'), 'GW_ONLY')$s$,
  '22023', '^secret "GW_ONLY" cannot be bound to a Worker: it lacks the workers scope$', 'Add the workers scope'),
 ('direct UPDATE of a binding to a secret without the workers scope is refused', 'ss_carol',
  $s$UPDATE secrets_store.worker_bindings SET secret_name = 'GW_ONLY' WHERE id = ss_test.id('acme.binding')$s$,
  '22023', '^secret "GW_ONLY" cannot be bound to a Worker: it lacks the workers scope$', 'Add the workers scope'),
 ('associate_gateway() needs the ai_gateway scope', 'ss_carol',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.spare'), 'gw2', 'openai')$s$,
  '22023', format('^secret %s cannot be associated with an AI gateway: it lacks the ai_gateway scope$', ss_test.id('acme.spare')),
  'Add the ai_gateway scope'),
 ('direct INSERT of an association needs the ai_gateway scope', 'ss_carol',
  $s$INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, secret_id) VALUES (ss_test.id('acme'), 'gw2', 'openai', ss_test.id('acme.spare'))$s$,
  '22023', 'lacks the ai_gateway scope$', 'Add the ai_gateway scope'),
 ('bind_worker() to a secret name that does not exist -> P0002', 'ss_carol',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), 'shop', 'MISSING', 'NO_SUCH_SECRET')$s$,
  'P0002', format('^secret "NO_SUCH_SECRET" not found in store %s$', ss_test.id('acme.store')), NULL),
 ('bind_worker() to a secret of another store of the account -> P0002', 'ss_carol',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.empty_store'), 'shop', 'MISSING', 'API_KEY')$s$,
  'P0002', format('^secret "API_KEY" not found in store %s$', ss_test.id('acme.empty_store')), NULL),
 ('direct INSERT of a binding to a secret name that does not exist -> P0002', 'ss_carol',
  $s$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name) VALUES (ss_test.id('acme'), 'shop', 'MISSING', ss_test.id('acme.store'), 'NO_SUCH_SECRET')$s$,
  'P0002', '^secret "NO_SUCH_SECRET" not found in store', NULL),
 ('associate_gateway() with a secret that does not exist -> P0002', 'ss_carol',
  $s$SELECT secrets_store.associate_gateway('00000000-0000-4000-8000-0000000000a1', 'gw2', 'openai')$s$,
  'P0002', '^secret 00000000-0000-4000-8000-0000000000a1 not found$', NULL);

-- a secret in use is not deleted by accident; a store with secrets neither
INSERT INTO cases (rule, who, statement, outcome, message, hint) VALUES
 ('delete_secret() is refused while a binding and an association use the secret', 'ss_bob',
  $s$SELECT secrets_store.delete_secret(ss_test.id('acme.doomed_a'))$s$,
  '2BP01', '^secret "DOOMED_A" is in use by 1 Worker bindings and 1 AI Gateway associations$', 'force => true'),
 ('delete_secret() is refused while a binding uses the secret', 'ss_bob',
  $s$SELECT secrets_store.delete_secret(ss_test.id('acme.bound_only'))$s$,
  '2BP01', '^secret "BOUND_ONLY" is in use by 1 Worker bindings and 0 AI Gateway associations$', 'force => true'),
 ('delete_secret() with force => false is refused like the default', 'ss_alice',
  $s$SELECT secrets_store.delete_secret(ss_test.id('acme.api_key'), force => false)$s$,
  '2BP01', '^secret "API_KEY" is in use by 1 Worker bindings and 1 AI Gateway associations$', 'force => true'),
 ('direct DELETE of a bound secret is refused the same way', 'ss_bob',
  $s$DELETE FROM secrets_store.secrets WHERE id = ss_test.id('acme.doomed_a')$s$,
  '2BP01', '^secret "DOOMED_A" is in use by 1 Worker bindings and 1 AI Gateway associations$', 'force => true'),
 ('delete_store() is refused for a store that holds secrets', 'ss_bob',
  $s$SELECT secrets_store.delete_store(ss_test.id('acme.doomed_store'))$s$,
  '2BP01', '^store "doomed-store" is not empty: it holds 2 secrets$', 'force => true'),
 ('direct DELETE of a store that holds secrets is refused the same way', 'ss_bob',
  $s$DELETE FROM secrets_store.stores WHERE id = ss_test.id('acme.doomed_store')$s$,
  '2BP01', '^store "doomed-store" is not empty: it holds 2 secrets$', 'force => true');

-- unknown action names
INSERT INTO cases (rule, who, statement, outcome, message, hint, write)
SELECT format('unknown action %s in %s -> 22023', n.label, p.label), p.who,
       format(p.stmt, n.expr), '22023', format('^unknown action "%s"$', n.shown),
       '^Known actions: secret\.read, secret\.create, secret\.edit, secret\.duplicate, secret\.delete, store\.create, store\.delete, binding\.create, binding\.delete, association\.create, association\.delete, member\.manage, token\.manage, audit\.read\.$',
       false
FROM (VALUES
        (1, 'can()', 'ss_alice', $s$SELECT secrets_store.can(ss_test.id('acme'), %s)$s$),
        (2, 'accounts_with()', 'ss_alice', $s$SELECT secrets_store.accounts_with('secret.read', %s)$s$),
        (3, 'can() by a role with no member', 'ss_mallory', $s$SELECT secrets_store.can(ss_test.id('acme'), %s)$s$),
        (4, 'require_action()', 'ss_alice', $s$SELECT secrets_store.require_action(ss_test.id('acme'), %s)$s$)
     ) AS p (pord, label, who, stmt)
CROSS JOIN (VALUES
        (1, '"secret.steal"', $e$'secret.steal'$e$, 'secret\.steal'),
        (2, '"" (empty)', $e$''$e$, ''),
        (3, '"SECRET.READ" (actions are case-sensitive)', $e$'SECRET.READ'$e$, 'SECRET\.READ')
     ) AS n (nord, label, expr, shown)
WHERE p.pord <= 2 OR n.nord = 1
ORDER BY p.pord, n.nord;

-- secret values over the account's limit: refused, and never echoed
INSERT INTO cases (rule, who, statement, outcome, message, hint) VALUES
 ('a value over the limit in create_secret() -> 54000, no row written', 'ss_bob',
  format($s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'WITH_VALUE', %L, '{workers}')$s$, 'sk-live-Zq7VALUE-' || repeat('x', 65536)),
  '54000', '^secret value is 65553 bytes; the account''s limit is 65536 bytes$', 'max_value_bytes'),
 ('a value over the limit in a direct INSERT -> 54000, no row written', 'ss_bob',
  format($s$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, value) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'WITH_VALUE', '{workers}', %L)$s$, 'sk-live-Zq7VALUE-' || repeat('x', 65536)),
  '54000', '^secret value is 65553 bytes; the account''s limit is 65536 bytes$', 'max_value_bytes'),
 ('a value over the limit in update_secret() -> 54000, row unchanged', 'ss_bob',
  format($s$SELECT secrets_store.update_secret(ss_test.id('acme.spare'), value => %L)$s$, 'sk-live-Zq7VALUE-' || repeat('x', 65536)),
  '54000', '^secret value is 65553 bytes; the account''s limit is 65536 bytes$', 'max_value_bytes'),
 ('a value over the limit in a direct UPDATE -> 54000, row unchanged', 'ss_bob',
  format($s$UPDATE secrets_store.secrets SET value = %L WHERE id = ss_test.id('acme.spare')$s$, 'sk-live-Zq7VALUE-' || repeat('x', 65536)),
  '54000', '^secret value is 65553 bytes; the account''s limit is 65536 bytes$', 'max_value_bytes'),
 ('a value with a bad name -> 22023 that does not echo the value', 'ss_bob',
  $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'BAD NAME', 'sk-live-Zq7VALUE-4242', '{workers}')$s$,
  '22023', '^invalid secret name "BAD NAME"$', 'A-Z, a-z, 0-9, underscore and dash');

-- members and accounts: operator tasks, with valid input
INSERT INTO cases (rule, who, statement, outcome, message, hint) VALUES
 ('create_member() refuses an email without @', 'ss_oscar',
  $s$SELECT secrets_store.create_member('not-an-email', 'X')$s$,
  '22023', '^invalid email address "not-an-email"$', 'name@example\.com'),
 ('create_member() refuses an email with two @', 'ss_oscar',
  $s$SELECT secrets_store.create_member('two@@example.com', 'X')$s$,
  '22023', '^invalid email address "two@@example\.com"$', 'name@example\.com'),
 ('create_member() refuses an email with a space', 'ss_oscar',
  $s$SELECT secrets_store.create_member('has space@example.com', 'X')$s$,
  '22023', '^invalid email address "has space@example\.com"$', 'name@example\.com'),
 ('create_member() refuses an empty email', 'ss_oscar',
  $s$SELECT secrets_store.create_member('', 'X')$s$,
  '22023', '^invalid email address ""$', 'name@example\.com'),
 ('create_member() refuses an email over 320 characters', 'ss_oscar',
  $s$SELECT secrets_store.create_member(repeat('a', 310) || '@example.com', 'X')$s$,
  '22023', '^invalid email address', 'at most 320 characters'),
 ('create_member() refuses an unknown db_role', 'ss_oscar',
  $s$SELECT secrets_store.create_member('newbie@acme.example', 'Newbie', 'ss_no_such_role')$s$,
  '22023', '^database role "ss_no_such_role" does not exist$', 'Create the login role first'),
 ('direct INSERT of a member with an invalid email is refused', 'ss_oscar',
  $s$INSERT INTO secrets_store.members (email, display_name) VALUES ('not-an-email', 'X')$s$,
  '22023', '^invalid email address "not-an-email"$', 'name@example\.com'),
 ('direct UPDATE of a member to an invalid email is refused', 'ss_oscar',
  $s$UPDATE secrets_store.members SET email = 'not-an-email' WHERE id = ss_test.id('ss_frank')$s$,
  '22023', '^invalid email address "not-an-email"$', 'name@example\.com'),
 ('direct UPDATE of a member to an unknown db_role is refused', 'ss_oscar',
  $s$UPDATE secrets_store.members SET db_role = 'ss_no_such_role' WHERE id = ss_test.id('ss_frank')$s$,
  '22023', '^database role "ss_no_such_role" does not exist$', 'Create the login role first'),
 ('create_account() refuses an empty name', 'ss_oscar',
  $s$SELECT secrets_store.create_account('')$s$,
  '22023', '^invalid account name$', '1 to 255 printable characters'),
 ('create_account() refuses a name with a control character', 'ss_oscar',
  $s$SELECT secrets_store.create_account(E'Evil\nCorp')$s$,
  '22023', '^invalid account name$', '1 to 255 printable characters'),
 ('create_account() by a Super Administrator (not an operator) -> 42501', 'ss_alice',
  $s$SELECT secrets_store.create_account('Evil Corp')$s$,
  '42501', '^permission denied: member "alice@acme\.example" \(database role "ss_alice"\) is not a secrets_store operator$',
  '\msecrets_store_operator\M'),
 ('create_member() by a Super Administrator (not an operator) -> 42501', 'ss_alice',
  $s$SELECT secrets_store.create_member('eve@evil.example', 'Eve')$s$,
  '42501', '^permission denied: member "alice@acme\.example" \(database role "ss_alice"\) is not a secrets_store operator$',
  '\msecrets_store_operator\M'),
 ('create_member() by a Secrets Store Admin -> 42501', 'ss_bob',
  $s$SELECT secrets_store.create_member('eve@evil.example', 'Eve')$s$,
  '42501', '^permission denied: member "bob@acme\.example" \(database role "ss_bob"\) is not a secrets_store operator$',
  '\msecrets_store_operator\M'),
 ('create_account() by a role with no member -> 42501', 'ss_mallory',
  $s$SELECT secrets_store.create_account('Evil Corp')$s$,
  '42501', '^permission denied: database role "ss_mallory", which is not linked to a secrets_store member, is not a secrets_store operator$',
  '\msecrets_store_operator\M'),
 ('direct INSERT into accounts by a non-operator -> 42501', 'ss_alice',
  $s$INSERT INTO secrets_store.accounts (name) VALUES ('Evil Corp')$s$,
  '42501', 'permission denied', NULL),
 ('direct INSERT into members by a non-operator -> 42501', 'ss_alice',
  $s$INSERT INTO secrets_store.members (email, display_name) VALUES ('eve@evil.example', 'Eve')$s$,
  '42501', 'permission denied', NULL);

-- roles
INSERT INTO cases (rule, who, statement, outcome, message, hint) VALUES
 ('grant_role() of an unknown member -> P0002 (Super Administrator)', 'ss_alice',
  $s$SELECT secrets_store.grant_role(ss_test.id('acme'), '00000000-0000-4000-8000-0000000000b1', 'secrets_store_reporter')$s$,
  'P0002', '^member 00000000-0000-4000-8000-0000000000b1 not found$', NULL),
 ('grant_role() of an unknown member -> P0002 (operator)', 'ss_oscar',
  $s$SELECT secrets_store.grant_role(ss_test.id('acme'), '00000000-0000-4000-8000-0000000000b1', 'secrets_store_reporter')$s$,
  'P0002', '^member 00000000-0000-4000-8000-0000000000b1 not found$', NULL),
 ('grant_role() in an unknown account -> P0002 (operator)', 'ss_oscar',
  $s$SELECT secrets_store.grant_role('00000000-0000-4000-8000-0000000000b2', ss_test.id('ss_frank'), 'secrets_store_reporter')$s$,
  'P0002', '^account 00000000-0000-4000-8000-0000000000b2 not found$', NULL),
 ('grant_role() of an unknown role name -> 22P02', 'ss_alice',
  $s$SELECT secrets_store.grant_role(ss_test.id('acme'), ss_test.id('ss_frank'), 'owner')$s$,
  '22P02', '^invalid input value for enum secrets_store\.role: "owner"$', NULL),
 ('revoke_role() of a role not held (member has no role) -> P0002', 'ss_alice',
  $s$SELECT secrets_store.revoke_role(ss_test.id('acme'), ss_test.id('ss_frank'), 'secrets_store_reporter')$s$,
  'P0002', format('^member %s holds no role secrets_store_reporter in account %s$', ss_test.id('ss_frank'), ss_test.id('acme')), NULL),
 ('revoke_role() of a role not held (member holds another role) -> P0002', 'ss_alice',
  $s$SELECT secrets_store.revoke_role(ss_test.id('acme'), ss_test.id('ss_dave'), 'secrets_store_admin')$s$,
  'P0002', format('^member %s holds no role secrets_store_admin in account %s$', ss_test.id('ss_dave'), ss_test.id('acme')), NULL);

-- Worker script names, binding names, gateway ids, providers, aliases
INSERT INTO cases (rule, who, statement, outcome, message, hint)
SELECT format('%s %s is refused by %s', n.kind, n.label, n.path), 'ss_carol', n.stmt, '22023',
       format('^invalid %s "%s"$', n.kind, n.shown), n.hint
FROM (VALUES
 (1, 'Worker script name', '(empty)', '', 'bind_worker()',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), '', 'B1', 'API_KEY')$s$,
  '^A Worker script name is 1 to 63 characters of A-Z, a-z, 0-9, underscore and dash\.$'),
 (2, 'Worker script name', 'with a space', 'my shop', 'bind_worker()',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), 'my shop', 'B1', 'API_KEY')$s$,
  '^A Worker script name is 1 to 63 characters of A-Z, a-z, 0-9, underscore and dash\.$'),
 (3, 'Worker script name', 'with a dot', 'shop\.js', 'bind_worker()',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), 'shop.js', 'B1', 'API_KEY')$s$,
  '^A Worker script name is 1 to 63 characters of A-Z, a-z, 0-9, underscore and dash\.$'),
 (4, 'Worker script name', '(64 characters)', 'w{64}', 'bind_worker()',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), repeat('w', 64), 'B1', 'API_KEY')$s$,
  '^A Worker script name is 1 to 63 characters of A-Z, a-z, 0-9, underscore and dash\.$'),
 (5, 'Worker script name', 'with a space', 'my shop', 'direct INSERT',
  $s$INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name) VALUES (ss_test.id('acme'), 'my shop', 'B1', ss_test.id('acme.store'), 'API_KEY')$s$,
  '^A Worker script name is 1 to 63 characters of A-Z, a-z, 0-9, underscore and dash\.$'),
 (6, 'binding name', 'starting with a digit', '1ST', 'bind_worker()',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), 'shop', '1ST', 'API_KEY')$s$,
  'JavaScript identifier of at most 255 characters'),
 (7, 'binding name', 'with a dash', 'MY-BINDING', 'bind_worker()',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), 'shop', 'MY-BINDING', 'API_KEY')$s$,
  'JavaScript identifier of at most 255 characters'),
 (8, 'binding name', '(empty)', '', 'bind_worker()',
  $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), 'shop', '', 'API_KEY')$s$,
  'JavaScript identifier of at most 255 characters'),
 (9, 'binding name', 'starting with a digit', '1ST', 'direct UPDATE',
  $s$UPDATE secrets_store.worker_bindings SET binding_name = '1ST' WHERE id = ss_test.id('acme.binding')$s$,
  'JavaScript identifier of at most 255 characters'),
 (10, 'gateway id', 'in upper case', 'GW1', 'associate_gateway()',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), 'GW1', 'openai')$s$,
  '^A gateway id is 1 to 64 characters of a-z, 0-9, underscore and dash\.$'),
 (11, 'gateway id', 'with a space', 'gw 1', 'associate_gateway()',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), 'gw 1', 'openai')$s$,
  '^A gateway id is 1 to 64 characters of a-z, 0-9, underscore and dash\.$'),
 (12, 'gateway id', '(empty)', '', 'associate_gateway()',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), '', 'openai')$s$,
  '^A gateway id is 1 to 64 characters of a-z, 0-9, underscore and dash\.$'),
 (13, 'gateway id', '(65 characters)', 'g{65}', 'associate_gateway()',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), repeat('g', 65), 'openai')$s$,
  '^A gateway id is 1 to 64 characters of a-z, 0-9, underscore and dash\.$'),
 (14, 'gateway id', 'in upper case', 'GW1', 'direct INSERT',
  $s$INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, secret_id) VALUES (ss_test.id('acme'), 'GW1', 'openai', ss_test.id('acme.api_key'))$s$,
  '^A gateway id is 1 to 64 characters of a-z, 0-9, underscore and dash\.$'),
 (15, 'provider', 'with a space', 'Open AI', 'associate_gateway()',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), 'gw2', 'Open AI')$s$,
  '^A provider is 1 to 64 characters of a-z, 0-9, underscore and dash'),
 (16, 'provider', '(empty)', '', 'associate_gateway()',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), 'gw2', '')$s$,
  '^A provider is 1 to 64 characters of a-z, 0-9, underscore and dash'),
 (17, 'provider', 'with a space', 'Open AI', 'direct INSERT',
  $s$INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, secret_id) VALUES (ss_test.id('acme'), 'gw2', 'Open AI', ss_test.id('acme.api_key'))$s$,
  '^A provider is 1 to 64 characters of a-z, 0-9, underscore and dash'),
 (18, 'alias', 'with a space', 'my alias', 'associate_gateway()',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), 'gw2', 'openai', 'my alias')$s$,
  '^An? alias is 1 to 64 characters of A-Z, a-z, 0-9, underscore and dash\.$'),
 (19, 'alias', '(empty)', '', 'associate_gateway()',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), 'gw2', 'openai', '')$s$,
  '^An? alias is 1 to 64 characters of A-Z, a-z, 0-9, underscore and dash\.$'),
 (20, 'alias', '(65 characters)', 'x{65}', 'associate_gateway()',
  $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), 'gw2', 'openai', repeat('x', 65))$s$,
  '^An? alias is 1 to 64 characters of A-Z, a-z, 0-9, underscore and dash\.$'),
 (21, 'alias', 'with a space', 'bad alias', 'direct UPDATE',
  $s$UPDATE secrets_store.ai_gateway_associations SET alias = 'bad alias' WHERE id = ss_test.id('acme.association')$s$,
  '^An? alias is 1 to 64 characters of A-Z, a-z, 0-9, underscore and dash\.$')
) AS n (nord, kind, label, shown, path, stmt, hint)
ORDER BY n.nord;

CREATE TEMP TABLE results (ord int PRIMARY KEY, outcome text, message text, detail text, hint text, unchanged boolean);
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM cases ORDER BY ord LOOP
        INSERT INTO results SELECT c.ord, t.* FROM pg_temp.try(c.who, c.statement) t;
    END LOOP;
END
$$;

SELECT is(r.outcome, c.outcome, format('%s -> %s', regexp_replace(c.rule, ' -> [0-9A-Z]{5}\M', ''), c.outcome))
FROM cases c JOIN results r USING (ord) ORDER BY ord;

SELECT matches(CASE WHEN c.with_detail THEN concat_ws(' / ', r.message, r.detail) ELSE r.message END,
               c.message,
               format(CASE WHEN c.with_detail THEN '%s: the error (message or detail) names the conflicting name'
                           ELSE '%s: the message says what is wrong' END, c.rule))
FROM cases c JOIN results r USING (ord) ORDER BY ord;

SELECT matches(r.hint, c.hint, format('%s: the hint says what is allowed', c.rule))
FROM cases c JOIN results r USING (ord) WHERE c.hint IS NOT NULL ORDER BY ord;

SELECT ok(r.unchanged, format('%s: nothing changed', c.rule))
FROM cases c JOIN results r USING (ord) WHERE c.write ORDER BY ord;

-- a refused value never appears in what the error says
SELECT ok(strpos(concat_ws(' / ', r.message, r.detail, r.hint), 'Zq7VALUE') = 0,
          format('%s: message, detail and hint do not contain the value', c.rule))
FROM cases c JOIN results r USING (ord) WHERE c.statement LIKE '%Zq7VALUE%' ORDER BY ord;

-- a value offered under a name that is taken: an error that never echoes
-- the value
CREATE TEMP TABLE dup_value AS
SELECT * FROM pg_temp.try('ss_bob',
    $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'API_KEY', 'sk-live-Zq7VALUE-4242', '{workers}')$s$);
SELECT is(outcome, '23505', 'a value under a duplicate name is refused as a duplicate: 23505')
FROM dup_value;
SELECT ok(strpos(concat_ws(' / ', message, detail, hint), 'Zq7VALUE') = 0,
          'a value under a duplicate name: message, detail and hint do not contain the value')
FROM dup_value;
SELECT ok(unchanged, 'a value under a duplicate name: nothing changed') FROM dup_value;

SELECT is((SELECT count(*)::int FROM secrets_store.secrets WHERE name = 'WITH_VALUE'), 0,
          'a secret offered with a value was not written under any path');
SELECT is((SELECT row(s.name, s.status, s.value, s.comment, s.scopes)::text FROM secrets_store.secrets s
            WHERE s.id = ss_test.id('acme.spare')),
          row('SPARE', 'pending', NULL::text, '', '{workers}'::secrets_store.scope[])::text,
          'refused updates, renames, moves and values left the SPARE secret exactly as it was');

-------------------------------------------------------------------------------
-- What is allowed is accepted, exactly as given
-------------------------------------------------------------------------------
CREATE TEMP TABLE long_names AS
SELECT left(repeat('Az09_-', 43), 255) AS fn_name,
       'B' || left(repeat('by_-9Z', 43), 254) AS orm_name;

SELECT is((SELECT outcome FROM pg_temp.try('ss_bob', format(
              $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), %L, NULL, '{workers}')$s$,
              (SELECT fn_name FROM long_names)))),
          'allowed', 'secret name of 255 characters of [A-Za-z0-9_-] is accepted by create_secret()');
SELECT is((SELECT outcome FROM pg_temp.try('ss_bob', format(
              $s$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), %L, '{workers}')$s$,
              (SELECT orm_name FROM long_names)))),
          'allowed', 'secret name of 255 characters of [A-Za-z0-9_-] is accepted by direct INSERT');
SELECT is((SELECT array_agg(length(s.name) ORDER BY s.name) FROM secrets_store.secrets s, long_names l
            WHERE s.account_id = ss_test.id('acme') AND s.name IN (l.fn_name, l.orm_name)),
          '{255,255}'::int[], 'both 255-character secret names are stored unchanged');

SELECT is((SELECT outcome FROM pg_temp.try('ss_bob',
              $s$SELECT secrets_store.create_store(ss_test.id('acme'), 'Ünïcødé store 店 🔑')$s$)),
          'allowed', 'store name of printable unicode is accepted by create_store()');
SELECT is((SELECT outcome FROM pg_temp.try('ss_bob',
              $s$INSERT INTO secrets_store.stores (account_id, name) VALUES (ss_test.id('acme'), repeat('ß', 255))$s$)),
          'allowed', 'store name of 255 characters is accepted by direct INSERT');
SELECT is((SELECT outcome FROM pg_temp.try('ss_bob',
              $s$UPDATE secrets_store.stores SET name = 'Entrepôt — ünïcode ✓' WHERE id = ss_test.id('acme.empty_store')$s$)),
          'allowed', 'store rename to printable unicode is accepted by direct UPDATE');
SELECT is((SELECT array_agg(name ORDER BY name) FROM secrets_store.stores
            WHERE account_id = ss_test.id('acme') AND name IN ('Ünïcødé store 店 🔑', repeat('ß', 255), 'Entrepôt — ünïcode ✓')),
          ARRAY['Entrepôt — ünïcode ✓', 'Ünïcødé store 店 🔑', repeat('ß', 255)],
          'unicode store names are stored unchanged');

SELECT is((SELECT outcome FROM pg_temp.try('ss_bob',
              $s$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'COMMENTED', NULL, '{workers}', repeat('c', 1024))$s$)),
          'allowed', 'comment of 1024 characters is accepted by create_secret()');
SELECT is((SELECT outcome FROM pg_temp.try('ss_bob',
              $s$UPDATE secrets_store.secrets SET comment = repeat('é', 1024) WHERE id = ss_test.id('acme.bound_only')$s$)),
          'allowed', 'comment of 1024 multibyte characters is accepted by direct UPDATE');
SELECT is((SELECT array_agg(length(comment) ORDER BY name) FROM secrets_store.secrets
            WHERE account_id = ss_test.id('acme') AND name IN ('COMMENTED', 'BOUND_ONLY')),
          '{1024,1024}'::int[], '1024-character comments are stored unchanged');

SELECT is((SELECT outcome FROM pg_temp.try('ss_carol',
              $s$SELECT secrets_store.bind_worker(ss_test.id('acme.store'), repeat('w', 63), '_private_1', 'API_KEY')$s$)),
          'allowed', 'Worker script name of 63 characters and binding name "_private_1" are accepted');
SELECT is((SELECT outcome FROM pg_temp.try('ss_carol',
              $s$SELECT secrets_store.associate_gateway(ss_test.id('acme.api_key'), 'my-gateway_1', 'workers-ai', 'Team-A_2')$s$)),
          'allowed', 'gateway id "my-gateway_1", provider "workers-ai" and alias "Team-A_2" are accepted');

-------------------------------------------------------------------------------
-- Quotas: 1 store and 100 secrets per account by default; only operators
-- change account_limits
-------------------------------------------------------------------------------
SELECT is((SELECT outcome FROM pg_temp.try('ss_bob',
              $s$SELECT secrets_store.create_store(ss_test.id('quota'), 'first')$s$)),
          'allowed', 'quota: the first store of a fresh account is created');
INSERT INTO ss_test.ids SELECT 'quota.store', id FROM secrets_store.stores WHERE account_id = ss_test.id('quota');

CREATE TEMP TABLE quota_results AS
SELECT k, t.* FROM (VALUES
    (1, 'store 2 via create_store()', 'ss_bob', $s$SELECT secrets_store.create_store(ss_test.id('quota'), 'second')$s$),
    (2, 'store 2 via direct INSERT', 'ss_bob', $s$INSERT INTO secrets_store.stores (account_id, name) VALUES (ss_test.id('quota'), 'second')$s$)
) AS v (n, k, who, stmt)
CROSS JOIN LATERAL pg_temp.try(v.who, v.stmt) t ORDER BY n;

SELECT is(outcome, '53400', format('quota: %s in an account with 1 of 1 stores -> 53400', k)) FROM quota_results ORDER BY k;
SELECT matches(message, '^maximum stores exceeded: the account has 1 of 1 stores$',
               format('quota: %s: message names usage and quota', k)) FROM quota_results ORDER BY k;
SELECT matches(hint, 'account_limits\.max_stores', format('quota: %s: hint says how to raise it', k)) FROM quota_results ORDER BY k;
SELECT ok(unchanged, format('quota: %s: nothing changed', k)) FROM quota_results ORDER BY k;

SELECT is((SELECT outcome FROM pg_temp.try('ss_bob', $s$
              DO $d$ BEGIN
                  FOR i IN 1..100 LOOP
                      PERFORM secrets_store.create_secret(ss_test.id('quota.store'), 'S' || i, NULL, '{workers}');
                  END LOOP;
              END $d$ $s$)),
          'allowed', 'quota: 100 secrets are created in a fresh account');
SELECT is((SELECT count(*)::int FROM secrets_store.secrets WHERE account_id = ss_test.id('quota')), 100,
          'quota: the account holds 100 secrets');

DELETE FROM quota_results;
INSERT INTO quota_results
SELECT k, t.* FROM (VALUES
    (1, 'secret 101 via create_secret()', 'ss_bob', $s$SELECT secrets_store.create_secret(ss_test.id('quota.store'), 'S101', NULL, '{workers}')$s$),
    (2, 'secret 101 via direct INSERT', 'ss_bob', $s$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('quota'), ss_test.id('quota.store'), 'S101', '{workers}')$s$),
    (3, 'secret 101 via duplicate_secret()', 'ss_bob', $s$SELECT secrets_store.duplicate_secret((SELECT id FROM secrets_store.secrets WHERE account_id = ss_test.id('quota') AND name = 'S1'), 'S1_COPY')$s$),
    (4, 'secrets 101 and 102 via one multi-row INSERT', 'ss_bob', $s$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes) VALUES (ss_test.id('quota'), ss_test.id('quota.store'), 'S101', '{workers}'), (ss_test.id('quota'), ss_test.id('quota.store'), 'S102', '{workers}')$s$)
) AS v (n, k, who, stmt)
CROSS JOIN LATERAL pg_temp.try(v.who, v.stmt) t ORDER BY n;

SELECT is(outcome, '53400', format('quota: %s in an account with 100 of 100 secrets -> 53400', k)) FROM quota_results ORDER BY k;
SELECT matches(message, '^maximum secrets exceeded: the account has 100 of 100 secrets$',
               format('quota: %s: message names usage and quota', k)) FROM quota_results ORDER BY k;
SELECT matches(hint, 'account_limits\.max_secrets', format('quota: %s: hint says how to raise it', k)) FROM quota_results ORDER BY k;
SELECT ok(unchanged, format('quota: %s: nothing changed', k)) FROM quota_results ORDER BY k;

-- only operators change account_limits: 42501, or no row touched
DELETE FROM quota_results;
INSERT INTO quota_results
SELECT k, t.* FROM (VALUES
    (1, 'Secrets Store Admin UPDATEs the limits of their account', 'ss_bob', $s$UPDATE secrets_store.account_limits SET max_secrets = 1000, max_stores = 10 WHERE account_id = ss_test.id('quota')$s$),
    (2, 'Super Administrator UPDATEs the limits of their account', 'ss_alice', $s$UPDATE secrets_store.account_limits SET max_secrets = 1000 WHERE account_id = ss_test.id('acme')$s$),
    (3, 'Super Administrator DELETEs the limits of their account', 'ss_alice', $s$DELETE FROM secrets_store.account_limits WHERE account_id = ss_test.id('acme')$s$),
    (4, 'Secrets Store Admin INSERTs limits', 'ss_bob', $s$INSERT INTO secrets_store.account_limits (account_id, max_secrets) VALUES (ss_test.id('storeless'), 1000)$s$),
    (5, 'role with no member UPDATEs every limit', 'ss_mallory', $s$UPDATE secrets_store.account_limits SET max_secrets = 1000$s$)
) AS v (n, k, who, stmt)
CROSS JOIN LATERAL pg_temp.try(v.who, v.stmt) t ORDER BY n;

SELECT ok(outcome = '42501' OR (outcome = 'allowed' AND unchanged),
          format('account_limits: %s -> 42501 or 0 rows (got %s: %s)', k, outcome, coalesce(message, '-')))
FROM quota_results ORDER BY k;
SELECT ok(unchanged, format('account_limits: %s: limits unchanged', k)) FROM quota_results ORDER BY k;

SELECT is((SELECT row(outcome, message, unchanged)::text FROM pg_temp.try('ss_oscar',
              $s$UPDATE secrets_store.account_limits SET max_secrets = -1 WHERE account_id = ss_test.id('quota')$s$)),
          row('22023', 'invalid account limits', true)::text,
          'account_limits: a negative limit is refused even for an operator (22023), nothing changed');

-- the operator raises them, and the quota lifts
SELECT is((SELECT outcome FROM pg_temp.try('ss_oscar', $s$
              DO $d$ DECLARE n int; BEGIN
                  UPDATE secrets_store.account_limits SET max_secrets = 101, max_stores = 2
                   WHERE account_id = ss_test.id('quota');
                  GET DIAGNOSTICS n = ROW_COUNT;
                  IF n <> 1 THEN RAISE 'updated % rows', n; END IF;
              END $d$ $s$)),
          'allowed', 'account_limits: an operator raises max_secrets and max_stores (1 row)');
SELECT is((SELECT row(max_stores, max_secrets)::text FROM secrets_store.account_limits WHERE account_id = ss_test.id('quota')),
          '(2,101)', 'account_limits: the raised limits are stored');
SELECT is((SELECT outcome FROM pg_temp.try('ss_bob',
              $s$SELECT secrets_store.create_secret(ss_test.id('quota.store'), 'S101', NULL, '{workers}')$s$)),
          'allowed', 'quota: after the operator raised max_secrets, secret 101 is created');
SELECT is((SELECT row(outcome, message)::text FROM pg_temp.try('ss_bob',
              $s$SELECT secrets_store.create_secret(ss_test.id('quota.store'), 'S102', NULL, '{workers}')$s$)),
          row('53400', 'maximum secrets exceeded: the account has 101 of 101 secrets')::text,
          'quota: secret 102 is refused at the raised quota, naming 101 of 101');
SELECT is((SELECT outcome FROM pg_temp.try('ss_bob',
              $s$SELECT secrets_store.create_store(ss_test.id('quota'), 'second')$s$)),
          'allowed', 'quota: after the operator raised max_stores, a second store is created');
SELECT is((SELECT row(outcome, message)::text FROM pg_temp.try('ss_bob',
              $s$SELECT secrets_store.create_store(ss_test.id('quota'), 'third')$s$)),
          row('53400', 'maximum stores exceeded: the account has 2 of 2 stores')::text,
          'quota: a third store is refused at the raised quota, naming 2 of 2');
SET LOCAL ROLE ss_bob;
INSERT INTO got VALUES ('quota', (SELECT secrets_store.quota(ss_test.id('quota')))::text);
RESET ROLE;
SELECT is((SELECT v FROM got WHERE k = 'quota'), '(101,101,2,2)',
          'quota(): reports (secrets_quota, secrets_usage, stores_quota, stores_usage) after the raise');

-------------------------------------------------------------------------------
-- Deleting what is in use: force, and the force_delete setting
-------------------------------------------------------------------------------
SELECT is((SELECT outcome FROM ss_test.attempt('ss_bob', $s$
              DO $d$ DECLARE n int; BEGIN
                  SET LOCAL secrets_store.force_delete = on;
                  DELETE FROM secrets_store.secrets WHERE id = ss_test.id('acme.doomed_a');
                  GET DIAGNOSTICS n = ROW_COUNT;
                  IF n <> 1 THEN RAISE 'deleted % rows', n; END IF;
              END $d$ $s$)),
          'allowed', 'SET LOCAL secrets_store.force_delete = on lets a direct DELETE of a bound secret through');

SELECT is((SELECT outcome FROM pg_temp.try('ss_bob',
              $s$SELECT secrets_store.delete_secret(ss_test.id('acme.bound_only'), force => true)$s$)),
          'allowed', 'delete_secret(id, force => true) deletes a secret a binding uses');
SELECT is((SELECT count(*)::int FROM secrets_store.secrets WHERE id = ss_test.id('acme.bound_only')), 0,
          'delete_secret(force => true): the secret is gone');
SELECT is((SELECT row(script_name, binding_name, secret_name)::text FROM secrets_store.worker_bindings
            WHERE id = ss_test.id('acme.bound_only_binding')),
          '(shop,BOUND_ONLY,BOUND_ONLY)', 'delete_secret(force => true): the binding is left dangling');
SELECT is(current_setting('secrets_store.force_delete'), 'off',
          'delete_secret(force => true) puts secrets_store.force_delete back');
SELECT is((SELECT row(outcome, message)::text FROM pg_temp.try('ss_bob',
              $s$DELETE FROM secrets_store.secrets WHERE id = ss_test.id('acme.doomed_a')$s$)),
          row('2BP01', 'secret "DOOMED_A" is in use by 1 Worker bindings and 1 AI Gateway associations')::text,
          'after a forced delete, a direct DELETE of another bound secret is refused again');

SELECT is((SELECT outcome FROM pg_temp.try('ss_bob',
              $s$SELECT secrets_store.delete_store(ss_test.id('acme.doomed_store'), force => true)$s$)),
          'allowed', 'delete_store(id, force => true) deletes a store that holds secrets');
SELECT is((SELECT count(*)::int FROM secrets_store.stores WHERE id = ss_test.id('acme.doomed_store')), 0,
          'delete_store(force => true): the store is gone');
SELECT is((SELECT count(*)::int FROM secrets_store.secrets
            WHERE id IN (ss_test.id('acme.doomed_a'), ss_test.id('acme.doomed_b'))
               OR store_id = ss_test.id('acme.doomed_store')), 0,
          'delete_store(force => true): its secrets are gone');
SELECT is((SELECT array_agg(name ORDER BY name) FROM secrets_store.secrets
            WHERE id IN (ss_test.id('acme.api_key'), ss_test.id('acme.spare'), ss_test.id('acme.gw_only'))),
          '{API_KEY,GW_ONLY,SPARE}', 'delete_store(force => true): secrets of other stores are kept');
SELECT is(current_setting('secrets_store.force_delete'), 'off',
          'delete_store(force => true) puts secrets_store.force_delete back');

-------------------------------------------------------------------------------
-- default_store(): the first store on first use, once
-------------------------------------------------------------------------------
SELECT is((SELECT row(outcome, message, unchanged)::text FROM pg_temp.try('ss_dave',
              $s$SELECT secrets_store.default_store(ss_test.id('storeless'))$s$)),
          row('P0002', format('account %s has no store yet', ss_test.id('storeless')), true)::text,
          'default_store(): a Reporter in an account with no store -> P0002, nothing created');
SELECT matches((SELECT hint FROM pg_temp.try('ss_dave',
              $s$SELECT secrets_store.default_store(ss_test.id('storeless'))$s$)),
          'Super Administrator or Secrets Store Admin',
          'default_store(): the P0002 hint says who creates the first store');

SET LOCAL ROLE ss_bob;
INSERT INTO got VALUES ('default 1', secrets_store.default_store(ss_test.id('storeless')));
INSERT INTO got VALUES ('default 2', secrets_store.default_store(ss_test.id('storeless')));
RESET ROLE;
SET LOCAL ROLE ss_dave;
INSERT INTO got VALUES ('default dave', secrets_store.default_store(ss_test.id('storeless')));
RESET ROLE;

SELECT is((SELECT array_agg(row(id, name)::text) FROM secrets_store.stores WHERE account_id = ss_test.id('storeless')),
          ARRAY[row((SELECT v FROM got WHERE k = 'default 1')::uuid, 'default')::text],
          'default_store(): a Secrets Store Admin''s first call creates exactly one store, "default", and returns its id');
SELECT is((SELECT v FROM got WHERE k = 'default 2'), (SELECT v FROM got WHERE k = 'default 1'),
          'default_store(): the second call returns the same id (no second store)');
SELECT is((SELECT v FROM got WHERE k = 'default dave'), (SELECT v FROM got WHERE k = 'default 1'),
          'default_store(): a Reporter then gets the same store');

SELECT * FROM finish();
ROLLBACK;
