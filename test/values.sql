-- Secret values: sealed on write, write-only, copied by duplicate without
-- exposure, read only by runtime roles through bindings and associations;
-- associated data, nonces, the value limit, master-key problems, rotation,
-- crypto-shredding.
--
-- Needs the test cluster's throwaway keys (scripts/cluster.sh): the server
-- runs with secrets_store.master_key_file = <cluster>/keys/master.key, and
-- next.key, loose.key (group-readable) and bad.key (not hex) lie beside it.
BEGIN;
SELECT plan(96);

-- a value as the runtime sees it, or the SQLSTATE and message of the refusal
CREATE FUNCTION pg_temp.runtime(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    BEGIN
        SET LOCAL ROLE ss_runtime;
        EXECUTE statement INTO result;
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION
        WHEN SQLSTATE 'SSOK0' THEN RETURN result;
        WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
    END;
END
$$;

CREATE TEMP TABLE key_dir AS
    SELECT regexp_replace(current_setting('secrets_store.master_key_file'), '[^/]*$', '') AS dir;
CREATE FUNCTION pg_temp.key_path(name text) RETURNS text
LANGUAGE sql AS $$ SELECT dir || name || '.key' FROM key_dir $$;

DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ss_runtime') THEN
        CREATE ROLE ss_runtime LOGIN;
    END IF;
END $$;
GRANT secrets_store_runtime TO ss_runtime;

CREATE TEMP TABLE ids (name text PRIMARY KEY, id uuid);
GRANT SELECT ON ids TO PUBLIC;
CREATE FUNCTION pg_temp.id(n text) RETURNS uuid LANGUAGE sql AS $$ SELECT id FROM ids WHERE name = n $$;

-- a secret with a value, bound to a Worker and associated with a gateway
INSERT INTO ids VALUES ('payment', ss_test.run_as('ss_bob',
    $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'PAYMENT_KEY', 'pk_live_first', '{workers,ai_gateway}')$$)::uuid);
SELECT lives_ok($$SELECT ss_test.run_as('ss_carol', 'SELECT secrets_store.bind_worker(ss_test.id(''acme.store''), ''checkout'', ''PAY'', ''PAYMENT_KEY'')')$$,
                'a Deployer binds the secret to a Worker');
SELECT lives_ok(format($$SELECT ss_test.run_as('ss_carol', 'SELECT secrets_store.associate_gateway(''%s'', ''gw9'', ''openai'')')$$, pg_temp.id('payment')),
                'and associates it with an AI gateway');

SELECT is((SELECT status FROM secrets_store.secrets WHERE id = pg_temp.id('payment')), 'active', 'a secret with a value is active');
SELECT is((SELECT value::text FROM secrets_store.secrets WHERE id = pg_temp.id('payment')), NULL, 'reading value returns NULL, even for a superuser');
SELECT is(ss_test.run_as('ss_bob', $$SELECT count(value)::text FROM secrets_store.secrets$$), '0', 'reading value returns NULL for the Admin who wrote it');
SELECT is((SELECT status FROM secrets_store.secrets WHERE id = ss_test.id('acme.api_key')), 'pending', 'a secret created without a value is pending');
SELECT is('anything'::secrets_store.secret_value::text, '(sealed)', 'a secret_value never prints its content');

-- round trips
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
          'pk_live_first', 'the runtime reads the value through the Worker binding');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw9', 'openai')$$),
          'pk_live_first', 'and through the AI Gateway association (alias default)');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw9', 'openai', 'default')$$),
          'pk_live_first', 'and with the alias named');

-- an edit takes effect everywhere at once
SELECT lives_ok(format($$SELECT ss_test.run_as('ss_bob', 'SELECT secrets_store.update_secret(''%s'', value => ''pk_live_second'')')$$, pg_temp.id('payment')),
                'an Admin edits the value');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
          'pk_live_second', 'the binding sees the new value at once');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw9', 'openai')$$),
          'pk_live_second', 'the association sees the new value at once');
SELECT lives_ok(format($$SELECT ss_test.run_as('ss_bob', 'UPDATE secrets_store.secrets SET value = ''pk_live_third'' WHERE id = ''%s'' RETURNING 1')$$, pg_temp.id('payment')),
                'a direct UPDATE of value (the ORM path) is accepted');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
          'pk_live_third', 'and sealed the same way');
SELECT lives_ok(format($$SELECT ss_test.run_as('ss_bob', 'SELECT secrets_store.update_secret(''%s'', comment => ''rotated'')')$$, pg_temp.id('payment')),
                'editing only the comment');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
          'pk_live_third', 'keeps the value');
SELECT lives_ok($$SELECT ss_test.run_as('ss_bob', $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, value) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'ORM_SECRET', '{workers}', 'from an orm'::text) RETURNING id$q$)$$,
                'a direct INSERT with a text-typed value (the ORM path) is accepted');
SELECT is((SELECT status FROM secrets_store.secrets WHERE name = 'ORM_SECRET'), 'active', 'and the secret is active');

-- INSERT ... ON CONFLICT: nothing sealed for a row that is never inserted
CREATE TEMP TABLE values_before AS SELECT count(*) AS n FROM secrets_store.secret_values;
SELECT is((ss_test.attempt('ss_bob', $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, value) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'PAYMENT_KEY', '{workers}', 'upserted') ON CONFLICT (account_id, store_id, name) DO NOTHING$q$)).outcome,
          'allowed', 'INSERT ... ON CONFLICT DO NOTHING with a value is accepted');
SELECT ss_test.run_as('ss_bob', $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, value) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'PAYMENT_KEY', '{workers}', 'upserted') ON CONFLICT (account_id, store_id, name) DO NOTHING RETURNING 1$q$);
SELECT is((SELECT count(*) FROM secrets_store.secret_values), (SELECT n FROM values_before),
          'and leaves no sealed value for the row it did not insert');
SELECT is((ss_test.attempt('ss_bob', $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, value) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'PAYMENT_KEY', '{workers}', 'upserted') ON CONFLICT (account_id, store_id, name) DO UPDATE SET value = EXCLUDED.value$q$)).outcome,
          '0A000', 'a value that ON CONFLICT DO UPDATE would drop is refused, not lost: 0A000');
SELECT is((ss_test.attempt('ss_bob', $q$INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, comment) VALUES (ss_test.id('acme'), ss_test.id('acme.store'), 'PAYMENT_KEY', '{workers}', 'upserted') ON CONFLICT (account_id, store_id, name) DO UPDATE SET comment = EXCLUDED.comment$q$)).outcome,
          'allowed', 'an upsert of metadata works');

-- duplicate: same value, sealed anew for the new secret
INSERT INTO ids VALUES ('copy', ss_test.run_as('ss_bob', format(
    $$SELECT secrets_store.duplicate_secret(%L, 'PAYMENT_KEY_COPY')$$, pg_temp.id('payment')))::uuid);
SELECT lives_ok($$SELECT ss_test.run_as('ss_carol', 'SELECT secrets_store.bind_worker(ss_test.id(''acme.store''), ''checkout'', ''PAY_COPY'', ''PAYMENT_KEY_COPY'')')$$,
                'the duplicate can be bound');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY_COPY')$$),
          'pk_live_third', 'a duplicate carries the same value');
SELECT isnt((SELECT sealed FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('copy')),
            (SELECT sealed FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('payment')),
            'sealed under its own associated data and nonce');
SELECT is((SELECT status FROM secrets_store.secrets WHERE id = pg_temp.id('copy')), 'active', 'and it is active');
SELECT is(ss_test.run_as('ss_bob', format($$SELECT secrets_store.duplicate_secret(%L, 'PENDING_COPY')::text IS NOT NULL$$, ss_test.id('acme.api_key'))), 'true',
          'duplicating a pending secret makes a pending secret');
SELECT is((ss_test.attempt('ss_dave', format($$SELECT secrets_store.sealed_copy_of(ss_test.id('acme'), %L)$$, pg_temp.id('payment')))).outcome,
          '42501', 'a Reporter cannot take a sealed copy: 42501');
SELECT is((ss_test.attempt('ss_gina', format($$SELECT secrets_store.sealed_copy_of(ss_test.id('acme'), %L)$$, pg_temp.id('payment')))).outcome,
          'P0002', 'nor can another account''s Super Administrator: P0002');
-- a copy is bound to its account: it cannot carry a value into another one
SELECT secrets_store.grant_role(ss_test.id('globex'), ss_test.id('ss_erin'), 'secrets_store_admin');
SELECT is((ss_test.attempt('ss_erin', format($$UPDATE secrets_store.secrets SET value = secrets_store.sealed_copy_of(ss_test.id('acme'), %L) WHERE id = ss_test.id('globex.api_key')$$, pg_temp.id('payment')))).outcome,
          '22023', 'a member of two accounts cannot copy a value from one into the other: 22023');
SELECT secrets_store.revoke_role(ss_test.id('globex'), ss_test.id('ss_erin'), 'secrets_store_admin');

-- nonces: the same value twice seals differently
INSERT INTO ids VALUES ('twin1', ss_test.run_as('ss_bob', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'TWIN_1', 'same value', '{workers}')$$)::uuid);
INSERT INTO ids VALUES ('twin2', ss_test.run_as('ss_bob', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'TWIN_2', 'same value', '{workers}')$$)::uuid);
SELECT isnt((SELECT sealed FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('twin1')),
            (SELECT sealed FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('twin2')),
            'the same value in two secrets seals to different bytes');
SELECT isnt(substr((SELECT sealed FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('twin1')), 1, 12),
            substr((SELECT sealed FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('twin2')), 1, 12),
            'with different nonces');
CREATE TEMP TABLE before_rewrite AS SELECT sealed FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('twin1');
SELECT ss_test.run_as('ss_bob', format($$SELECT secrets_store.update_secret(%L, value => 'same value')::text$$, pg_temp.id('twin1')));
SELECT isnt((SELECT sealed FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('twin1')),
            (SELECT sealed FROM before_rewrite), 'writing the same value again seals it anew');
SELECT is((SELECT count(*) FROM secrets_store.secret_values v
           WHERE position(convert_to('same value', 'UTF8') IN v.sealed) > 0), 0::bigint,
          'no stored bytes contain the plaintext');
SELECT is(length((SELECT sealed FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('twin1'))),
          12 + length(convert_to('same value', 'UTF8')) + 16, 'sealed = 12-byte nonce, ciphertext, 16-byte tag');

-- associated data: a ciphertext copied to another row does not open
SELECT lives_ok($$SELECT ss_test.run_as('ss_carol', 'SELECT secrets_store.bind_worker(ss_test.id(''acme.store''), ''checkout'', ''TWIN'', ''TWIN_2'')')$$,
                'a binding to the second twin');
UPDATE secrets_store.secret_values SET sealed = (SELECT sealed FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('twin1'))
WHERE secret_id = pg_temp.id('twin2');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'TWIN')$$),
          format('XX001: the sealed value of secret %s does not open', pg_temp.id('twin2')),
          'a ciphertext copied (by a superuser) to another secret fails to open, with a clear error');
UPDATE secrets_store.secret_values SET sealed = set_byte(sealed, 19, (get_byte(sealed, 19) + 1) % 256)
WHERE secret_id = pg_temp.id('twin1');
SELECT lives_ok($$SELECT ss_test.run_as('ss_carol', 'SELECT secrets_store.bind_worker(ss_test.id(''acme.store''), ''checkout'', ''TWIN1'', ''TWIN_1'')')$$,
                'a binding to the first twin');
SELECT matches(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'TWIN1')$$),
               '^XX001', 'a tampered ciphertext fails to open');

-- the value limit, in bytes
UPDATE secrets_store.account_limits SET max_value_bytes = 10 WHERE account_id = ss_test.id('acme');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'TEN', '0123456789', '{workers}')$$)).outcome,
          'allowed', 'a value of exactly max_value_bytes is accepted');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'ELEVEN', '0123456789x', '{workers}')$$)).outcome,
          '54000', 'one byte more: 54000');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'ELEVEN', '0123456789x', '{workers}')$$)).message,
          'secret value is 11 bytes; the account''s limit is 10 bytes', 'the message says the limit, not the value');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'MULTI', 'éééééé', '{workers}')$$)).outcome,
          '54000', 'the limit counts bytes, not characters (6 characters, 12 bytes)');
SELECT is((ss_test.attempt('ss_bob', format($$SELECT secrets_store.update_secret(%L, value => '0123456789x')$$, pg_temp.id('payment')))).outcome,
          '54000', 'an edit over the limit: 54000');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
          'pk_live_third', 'and the old value is kept');
UPDATE secrets_store.account_limits SET max_value_bytes = 65536 WHERE account_id = ss_test.id('acme');
SELECT is((ss_test.attempt('ss_bob', format($$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'BIG', %L, '{workers}')$$, repeat('x', 65536)))).outcome,
          'allowed', 'the default limit accepts 65,536 bytes');
SELECT is((ss_test.attempt('ss_bob', format($$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'BIG', %L, '{workers}')$$, repeat('x', 65537)))).outcome,
          '54000', 'and refuses 65,537');

-- the runtime functions: runtime roles only, the right scope, existing secrets
SELECT is(array_agg(DISTINCT t.outcome), ARRAY['42501'],
          'every person of the fixture is refused get_bound_secret: 42501')
FROM ss_test.people p, ss_test.attempt(p.db_role, $$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$) t;
SELECT is(array_agg(DISTINCT t.outcome), ARRAY['42501'],
          'every person of the fixture is refused get_gateway_key: 42501')
FROM ss_test.people p, ss_test.attempt(p.db_role, $$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw9', 'openai')$$) t;
CREATE TEMP TABLE group_tokens (g secrets_store.permission_group, bearer text);
INSERT INTO group_tokens SELECT g, ss_test.run_as('ss_alice', format(
    $$SELECT secrets_store.create_api_token(ss_test.id('acme'), %L, %L)$$, 'runtime probe ' || g, ARRAY[g]))
FROM unnest(enum_range(NULL::secrets_store.permission_group)) g;
SELECT is(array_agg(DISTINCT t.outcome), ARRAY['42501'],
          'every token group is refused get_bound_secret: 42501')
FROM group_tokens k, ss_test.attempt_token(k.bearer, $$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$) t;
SELECT is(array_agg(DISTINCT t.outcome), ARRAY['42501'],
          'every token group is refused get_gateway_key: 42501')
FROM group_tokens k, ss_test.attempt_token(k.bearer, $$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw9', 'openai')$$) t;
CREATE FUNCTION pg_temp.runtime_with_token(token text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        SET LOCAL ROLE ss_runtime;
        PERFORM secrets_store.authenticate(token);
        PERFORM secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY');
        RAISE SQLSTATE 'SSOK0';
    EXCEPTION
        WHEN SQLSTATE 'SSOK0' THEN RETURN 'allowed';
        WHEN OTHERS THEN RETURN SQLSTATE;
    END;
END
$$;
SELECT is(pg_temp.runtime_with_token(bearer), '42501',
          'a runtime role that authenticated as a token is refused: values are not for principals')
FROM group_tokens WHERE g = 'secrets_store_edit';
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'NO_SUCH')$$),
          'P0002: secret not found', 'an unknown binding: P0002 secret not found');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('globex'), 'checkout', 'PAY')$$),
          'P0002: secret not found', 'the binding in another account: P0002 secret not found');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'shop', 'API')$$),
          'P0002: secret not found', 'a bound secret without a value: P0002 secret not found');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw9', 'openai', 'other')$$),
          'P0002: secret not found', 'an unknown alias: P0002 secret not found');
SELECT lives_ok(format($$SELECT ss_test.run_as('ss_bob', 'SELECT secrets_store.update_secret(''%s'', scopes => ''{ai_gateway}'')')$$, pg_temp.id('payment')),
                'the Admin removes the workers scope');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
          'P0002: secret not found', 'a Worker bound to a secret that lost its workers scope: P0002');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw9', 'openai')$$),
          'pk_live_third', 'the gateway association still reads it');
SELECT lives_ok(format($$SELECT ss_test.run_as('ss_bob', 'SELECT secrets_store.update_secret(''%s'', scopes => ''{workers}'')')$$, pg_temp.id('payment')),
                'the Admin swaps the scopes');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw9', 'openai')$$),
          'P0002: secret not found', 'an association whose secret lost the ai_gateway scope: P0002');
SELECT lives_ok(format($$SELECT ss_test.run_as('ss_bob', 'SELECT secrets_store.delete_secret(''%s'', force => true)')$$, pg_temp.id('copy')),
                'the Admin force-deletes the duplicate while bound');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY_COPY')$$),
          'P0002: secret not found', 'a binding to a deleted secret: P0002 secret not found');
SELECT is((SELECT count(*) FROM secrets_store.secret_values WHERE secret_id = pg_temp.id('copy')), 0::bigint,
          'the deleted secret''s sealed value is gone');

-- master-key problems: metadata keeps working, values fail clearly, nothing is lost
CREATE TEMP TABLE keys_before AS SELECT * FROM secrets_store.account_keys;
SET LOCAL secrets_store.master_key_file = '';
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'NOKEY', 'v', '{workers}')$$)).outcome,
          '55000', 'without a master key, writing a value fails: 55000');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'NOKEY', NULL, '{workers}')$$)).outcome,
          'allowed', 'metadata still works without a master key');
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
          '55000: no master key is configured', 'reading a value without a master key fails: 55000');
SELECT matches(pg_temp.runtime($$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw1', 'openai')$$),
               '^P0002', 'reading a secret that has no value needs no key');
SELECT lives_ok(format($$SELECT ss_test.run_as('ss_bob', 'SELECT secrets_store.update_secret(''%s'', scopes => ''{workers,ai_gateway}'')')$$, pg_temp.id('payment')),
                'the scopes can still be edited without a key');
SELECT matches(pg_temp.runtime($$SELECT secrets_store.get_gateway_key(ss_test.id('acme'), 'gw9', 'openai')$$),
               '^55000: no master key is configured', 'through an association too: 55000');
SET LOCAL secrets_store.master_key_file = '/nonexistent/master.key';
SELECT matches(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
               '^55000: could not open the master key file', 'a missing key file: 55000');
SELECT set_config('secrets_store.master_key_file', pg_temp.key_path('loose'), true);
SELECT matches(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
               '^55000: the master key file has group or world permissions', 'a group-readable key file is refused: 55000');
SELECT set_config('secrets_store.master_key_file', pg_temp.key_path('bad'), true);
SELECT matches(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
               '^55000: the master key is not 64 hexadecimal digits', 'a key file that is not a key: 55000');
SELECT set_config('secrets_store.master_key_file', pg_temp.key_path('next'), true);
SELECT matches(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
               '^55000: the data key of account .* is wrapped under master key [0-9a-f]{16}, which is not configured',
               'the wrong master key: 55000 naming the key id that is needed');
SELECT is((ss_test.attempt('ss_bob', format($$SELECT secrets_store.update_secret(%L, value => 'overwrite')$$, pg_temp.id('payment')))).outcome,
          '55000', 'writing a value under the wrong master key fails: 55000');
SELECT results_eq($$SELECT account_id, master_key_id, wrapped_key FROM secrets_store.account_keys ORDER BY 1$$,
                  $$SELECT account_id, master_key_id, wrapped_key FROM keys_before ORDER BY 1$$,
                  'and no data key was created or replaced');
SELECT set_config('secrets_store.master_key_file', '', true);
SELECT set_config('secrets_store.master_key_command', 'cat ' || pg_temp.key_path('master'), true);
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
          'pk_live_third', 'a key command that prints the right key works, and nothing was lost');
SELECT set_config('secrets_store.master_key_command', '', true);
RESET secrets_store.master_key_file;

-- rotation: a new master key, the old one still readable, one rewrap
SELECT is(secrets_store.master_key_id() ~ '^[0-9a-f]{16}$', true, 'master_key_id() gives an id of 16 hex digits');
SELECT isnt(secrets_store.master_key_id(), pg_read_file(current_setting('secrets_store.master_key_file')),
            'and not the key');
CREATE TEMP TABLE sealed_before AS SELECT secret_id, sealed FROM secrets_store.secret_values;
SELECT set_config('secrets_store.previous_master_key_file', current_setting('secrets_store.master_key_file'), true);
SELECT set_config('secrets_store.master_key_file', pg_temp.key_path('next'), true);
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
          'pk_live_third', 'during rotation, values open with the previous key');
SELECT ok(secrets_store.rewrap_data_keys() >= 1, 'rewrap_data_keys() rewraps the data keys');
SELECT is((SELECT count(*) FROM secrets_store.account_keys WHERE master_key_id <> secrets_store.master_key_id()), 0::bigint,
          'every data key is now under the new master key');
SELECT is(secrets_store.rewrap_data_keys(), 0, 'a second rewrap has nothing to do');
SELECT results_eq($$SELECT secret_id, sealed FROM secrets_store.secret_values ORDER BY 1$$,
                  $$SELECT secret_id, sealed FROM sealed_before ORDER BY 1$$,
                  'no secret row was touched');
RESET secrets_store.previous_master_key_file;
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
          'pk_live_third', 'after rotation the old key can be removed: values open with the new key alone');
SELECT is((ss_test.attempt('ss_bob', $$SELECT secrets_store.create_secret(ss_test.id('acme.store'), 'AFTER_ROTATION', 'new', '{workers}')$$)).outcome,
          'allowed', 'and new values are sealed');
SELECT set_config('secrets_store.master_key_file', pg_temp.key_path('master'), true);
SELECT matches(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('acme'), 'checkout', 'PAY')$$),
               '^55000', 'the retired key alone no longer opens anything');
RESET secrets_store.master_key_file;
SELECT is((ss_test.attempt('ss_oscar', $$SELECT secrets_store.rewrap_data_keys()$$)).outcome, '42501', 'an operator cannot rewrap keys: 42501');
SELECT is((ss_test.attempt('ss_alice', $$SELECT secrets_store.master_key_id()$$)).outcome, '42501', 'nor ask for the key id: 42501');
SELECT is((ss_test.attempt('ss_alice', $$SELECT count(*) FROM secrets_store.account_keys$$)).outcome, '42501', 'nobody reads account_keys: 42501');
SELECT is((ss_test.attempt('ss_alice', $$SELECT count(*) FROM secrets_store.secret_values$$)).outcome, '42501', 'nobody reads secret_values: 42501');
SELECT is((ss_test.attempt('ss_alice', $$SHOW secrets_store.master_key_file$$)).outcome, '42501', 'the key setting is hidden from non-superusers: 42501');

-- crypto-shredding: deleting an account destroys its data key
SELECT ss_test.run_as('ss_gina', $$SELECT secrets_store.update_secret(ss_test.id('globex.api_key'), value => 'globex secret')::text$$);
CREATE TEMP TABLE globex_backup AS SELECT * FROM secrets_store.secret_values WHERE account_id = ss_test.id('globex');
SELECT is((SELECT count(*) FROM globex_backup), 1::bigint, 'a copy of Globex''s sealed value rows is taken');
DELETE FROM secrets_store.accounts WHERE id = ss_test.id('globex');
SELECT is((SELECT count(*) FROM secrets_store.account_keys WHERE account_id = ss_test.id('globex')), 0::bigint,
          'deleting the account deleted its data key');
INSERT INTO secrets_store.accounts (id, name) VALUES (ss_test.id('globex'), 'Globex restored');
INSERT INTO secrets_store.stores (id, account_id, name) VALUES (ss_test.id('globex.store'), ss_test.id('globex'), 'globex-main');
INSERT INTO secrets_store.secrets (id, account_id, store_id, name, scopes)
    VALUES (ss_test.id('globex.api_key'), ss_test.id('globex'), ss_test.id('globex.store'), 'API_KEY', '{workers}');
INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name)
    VALUES (ss_test.id('globex'), 'shop', 'API', ss_test.id('globex.store'), 'API_KEY');
INSERT INTO secrets_store.secret_values SELECT * FROM globex_backup;
SELECT is(pg_temp.runtime($$SELECT secrets_store.get_bound_secret(ss_test.id('globex'), 'shop', 'API')$$),
          'P0002: secret not found', 'the old sealed rows, restored alone, no longer open: the key is gone');

SELECT * FROM finish();
ROLLBACK;
