-- Visibility: each person sees exactly the rows of the accounts they hold a
-- role in, in every table, and nothing of any other account -- no row, no
-- count, no name -- through a table, a function, or an error message.  An
-- object of another account and an object that does not exist are the same
-- thing to a principal: the same SQLSTATE (P0002) and the same message, with
-- only the id differing.
BEGIN;

-------------------------------------------------------------------------------
-- Helpers
-------------------------------------------------------------------------------

-- as_role(role, query): what a query returns as the login role (one value),
-- or "SQLSTATE: message" if it fails; always rolled back
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
    RETURN coalesce(result, 'NULL');
END
$$;

-- call(role, statement template, id): run format(template, id) as the role;
-- "allowed" or "SQLSTATE: message[ HINT: hint]", with that id written <id>
CREATE FUNCTION pg_temp.call(who name, template text, id uuid)
RETURNS text
LANGUAGE sql AS $$
    SELECT replace(CASE WHEN t.outcome = 'allowed' THEN 'allowed'
                        ELSE t.outcome || ': ' || t.message || coalesce(' HINT: ' || nullif(t.hint, ''), '') END,
                   id::text, '<id>')
    FROM ss_test.attempt(who, format(template, id)) t
$$;

-- the people: the fixture's, and the operator who holds no member
CREATE TEMP TABLE person AS
SELECT db_role, label, roles, ord, false AS operator FROM ss_test.people
UNION ALL
SELECT 'ss_oscar', 'oscar (operator, no member)', '{}', 8, true;

-- an id that exists nowhere
CREATE TEMP TABLE absent AS SELECT gen_random_uuid() AS id;
GRANT SELECT ON absent TO PUBLIC;

-- one API token per account: alice's in Acme, gina's in Globex
DO $$
BEGIN
    SET LOCAL ROLE ss_alice;
    PERFORM secrets_store.create_api_token(ss_test.id('acme'), 'acme-ci', '{secrets_store_read}');
    RESET ROLE;
    SET LOCAL ROLE ss_gina;
    PERFORM secrets_store.create_api_token(ss_test.id('globex'), 'globex-ci', '{secrets_store_read}');
    RESET ROLE;
END
$$;

-- names for every id: the fixture's, the tokens, the absent id
CREATE TEMP TABLE names AS
SELECT name, id FROM ss_test.ids
UNION ALL
SELECT CASE WHEN t.account_id = ss_test.id('acme') THEN 'acme.token' ELSE 'globex.token' END, t.id
FROM secrets_store.api_tokens t
UNION ALL
SELECT 'absent', id FROM absent;
GRANT SELECT ON names TO PUBLIC;

SELECT plan(308);

-------------------------------------------------------------------------------
-- 1. Every table, every person: exactly these rows (count: labels)
-------------------------------------------------------------------------------
CREATE TEMP TABLE table_query (ord int, tbl text, query text);
INSERT INTO table_query VALUES
 (1, 'accounts', $q$SELECT count(*) || ': ' || coalesce(string_agg(name, ', ' ORDER BY name), '') FROM secrets_store.accounts$q$),
 (2, 'members', $q$SELECT count(*) || ': ' || coalesce(string_agg(email, ', ' ORDER BY email), '') FROM secrets_store.members$q$),
 (3, 'role_assignments', $q$SELECT count(*) || ': ' || coalesce(string_agg(a.name || '/' || m.name || '/' || r.role, ', ' ORDER BY a.name, m.name, r.role), '') FROM secrets_store.role_assignments r LEFT JOIN pg_temp.names a ON a.id = r.account_id LEFT JOIN pg_temp.names m ON m.id = r.member_id$q$),
 (4, 'account_limits', $q$SELECT count(*) || ': ' || coalesce(string_agg(a.name, ', ' ORDER BY a.name), '') FROM secrets_store.account_limits l LEFT JOIN pg_temp.names a ON a.id = l.account_id$q$),
 (5, 'stores', $q$SELECT count(*) || ': ' || coalesce(string_agg(n.name, ', ' ORDER BY n.name), '') FROM secrets_store.stores t LEFT JOIN pg_temp.names n ON n.id = t.id$q$),
 (6, 'secrets', $q$SELECT count(*) || ': ' || coalesce(string_agg(n.name, ', ' ORDER BY n.name), '') FROM secrets_store.secrets t LEFT JOIN pg_temp.names n ON n.id = t.id$q$),
 (7, 'worker_bindings', $q$SELECT count(*) || ': ' || coalesce(string_agg(n.name, ', ' ORDER BY n.name), '') FROM secrets_store.worker_bindings t LEFT JOIN pg_temp.names n ON n.id = t.id$q$),
 (8, 'ai_gateway_associations', $q$SELECT count(*) || ': ' || coalesce(string_agg(n.name, ', ' ORDER BY n.name), '') FROM secrets_store.ai_gateway_associations t LEFT JOIN pg_temp.names n ON n.id = t.id$q$),
 (9, 'api_tokens', $q$SELECT count(*) || ': ' || coalesce(string_agg(n.name, ', ' ORDER BY n.name), '') FROM secrets_store.api_tokens t LEFT JOIN pg_temp.names n ON n.id = t.id$q$),
 (10, 'role_actions', $q$SELECT count(*) || ' rows' FROM secrets_store.role_actions$q$),
 (11, 'permission_group_actions', $q$SELECT count(*) || ' rows' FROM secrets_store.permission_group_actions$q$);

-- what each person sees, written out
CREATE TEMP TABLE sees (db_role name, accounts text, members text, role_assignments text,
                        account_limits text, stores text, secrets text, worker_bindings text,
                        ai_gateway_associations text, api_tokens text);
INSERT INTO sees VALUES
 ('ss_alice', '1: Acme',
  '5: alice@acme.example, bob@acme.example, carol@acme.example, dave@acme.example, erin@acme.example',
  '6: acme/ss_alice/super_administrator, acme/ss_bob/secrets_store_admin, acme/ss_carol/secrets_store_deployer, acme/ss_dave/secrets_store_reporter, acme/ss_erin/secrets_store_admin, acme/ss_erin/secrets_store_deployer',
  '1: acme', '2: acme.empty_store, acme.store', '2: acme.api_key, acme.spare', '1: acme.binding',
  '1: acme.association', '1: acme.token'),
 ('ss_bob', '1: Acme', '1: bob@acme.example', '1: acme/ss_bob/secrets_store_admin',
  '1: acme', '2: acme.empty_store, acme.store', '2: acme.api_key, acme.spare', '1: acme.binding',
  '1: acme.association', '0: '),
 ('ss_carol', '1: Acme', '1: carol@acme.example', '1: acme/ss_carol/secrets_store_deployer',
  '1: acme', '2: acme.empty_store, acme.store', '2: acme.api_key, acme.spare', '1: acme.binding',
  '1: acme.association', '0: '),
 ('ss_dave', '1: Acme', '1: dave@acme.example', '1: acme/ss_dave/secrets_store_reporter',
  '1: acme', '2: acme.empty_store, acme.store', '2: acme.api_key, acme.spare', '1: acme.binding',
  '1: acme.association', '0: '),
 ('ss_erin', '1: Acme', '1: erin@acme.example',
  '2: acme/ss_erin/secrets_store_admin, acme/ss_erin/secrets_store_deployer',
  '1: acme', '2: acme.empty_store, acme.store', '2: acme.api_key, acme.spare', '1: acme.binding',
  '1: acme.association', '0: '),
 -- a member with no role sees their own member row and nothing of any account
 ('ss_frank', '0: ', '1: frank@acme.example', '0: ', '0: ', '0: ', '0: ', '0: ', '0: ', '0: '),
 ('ss_mallory', '0: ', '0: ', '0: ', '0: ', '0: ', '0: ', '0: ', '0: ', '0: '),
 -- the operator sees accounts, members, roles and limits, but no secret metadata or token
 ('ss_oscar', '2: Acme, Globex',
  '7: alice@acme.example, bob@acme.example, carol@acme.example, dave@acme.example, erin@acme.example, frank@acme.example, gina@globex.example',
  '7: acme/ss_alice/super_administrator, acme/ss_bob/secrets_store_admin, acme/ss_carol/secrets_store_deployer, acme/ss_dave/secrets_store_reporter, acme/ss_erin/secrets_store_admin, acme/ss_erin/secrets_store_deployer, globex/ss_gina/super_administrator',
  '2: acme, globex', '0: ', '0: ', '0: ', '0: ', '0: ');

SELECT is(pg_temp.as_role(p.db_role, q.query), e.expected,
          format('%s sees exactly %s in %s', p.label,
                 CASE WHEN e.expected LIKE '0:%' THEN 'no row'
                      WHEN e.expected LIKE '% rows' THEN 'all ' || e.expected
                      ELSE e.expected END,
                 q.tbl))
FROM person p
JOIN sees s USING (db_role)
CROSS JOIN table_query q
CROSS JOIN LATERAL (SELECT CASE q.tbl
        WHEN 'accounts' THEN s.accounts
        WHEN 'members' THEN s.members
        WHEN 'role_assignments' THEN s.role_assignments
        WHEN 'account_limits' THEN s.account_limits
        WHEN 'stores' THEN s.stores
        WHEN 'secrets' THEN s.secrets
        WHEN 'worker_bindings' THEN s.worker_bindings
        WHEN 'ai_gateway_associations' THEN s.ai_gateway_associations
        WHEN 'api_tokens' THEN s.api_tokens
        WHEN 'role_actions' THEN '28 rows'            -- the matrix is public to every user
        WHEN 'permission_group_actions' THEN '12 rows'
    END AS expected) e
ORDER BY p.ord, q.ord;

-------------------------------------------------------------------------------
-- 2. Nothing of Globex, by account_id or by name, in any table
-------------------------------------------------------------------------------
SELECT is(pg_temp.as_role(p.db_role, format($q$SELECT concat_ws(', ',
              'accounts ' || (SELECT count(*) FROM secrets_store.accounts WHERE id = %1$L OR name = 'Globex'),
              'members ' || (SELECT count(*) FROM secrets_store.members WHERE email LIKE '%%@globex.example'),
              'role_assignments ' || (SELECT count(*) FROM secrets_store.role_assignments WHERE account_id = %1$L),
              'account_limits ' || (SELECT count(*) FROM secrets_store.account_limits WHERE account_id = %1$L),
              'stores ' || (SELECT count(*) FROM secrets_store.stores WHERE account_id = %1$L OR name LIKE 'globex%%'),
              'secrets ' || (SELECT count(*) FROM secrets_store.secrets WHERE account_id = %1$L),
              'worker_bindings ' || (SELECT count(*) FROM secrets_store.worker_bindings WHERE account_id = %1$L),
              'ai_gateway_associations ' || (SELECT count(*) FROM secrets_store.ai_gateway_associations WHERE account_id = %1$L),
              'api_tokens ' || (SELECT count(*) FROM secrets_store.api_tokens WHERE account_id = %1$L))$q$,
              ss_test.id('globex'))),
          CASE WHEN p.operator
               THEN 'accounts 1, members 1, role_assignments 1, account_limits 1, stores 0, secrets 0, worker_bindings 0, ai_gateway_associations 0, api_tokens 0'
               ELSE 'accounts 0, members 0, role_assignments 0, account_limits 0, stores 0, secrets 0, worker_bindings 0, ai_gateway_associations 0, api_tokens 0' END,
          format('%s finds no row of another account (Globex) by id or name in any table%s', p.label,
                 CASE WHEN p.operator THEN ' but its account, member, role and limits' ELSE '' END))
FROM person p ORDER BY p.ord;

-------------------------------------------------------------------------------
-- 3. Functions that answer about the principal or an account
-------------------------------------------------------------------------------
-- whoami(): who the principal is, nothing more
SELECT is(pg_temp.as_role(p.db_role, $q$SELECT w.principal_type || '/' || coalesce(n.name, 'NULL') || '/' || coalesce(w.token_id::text, 'NULL') || '/' || w.db_role FROM secrets_store.whoami() w LEFT JOIN pg_temp.names n ON n.id = w.member_id$q$),
          CASE WHEN p.db_role IN ('ss_mallory', 'ss_oscar') THEN 'nobody/NULL/NULL/' || p.db_role
               ELSE 'database_role/' || p.db_role || '/NULL/' || p.db_role END,
          format('%s: whoami() names their own member (or nobody) and database role', p.label))
FROM person p ORDER BY p.ord;

-- can(): true only for the own account's actions; Globex answers like an absent account
SELECT is(pg_temp.as_role(p.db_role, format($q$SELECT 'Acme: ' || count(*) FILTER (WHERE secrets_store.can(%1$L, a.action))
                                              || ' | Globex: ' || count(*) FILTER (WHERE secrets_store.can(%2$L, a.action))
                                              || ' | absent: ' || count(*) FILTER (WHERE secrets_store.can(%3$L, a.action))
                                              || ' of ' || count(*)
                                         FROM ss_test.action_statements a$q$,
                                        ss_test.id('acme'), ss_test.id('globex'), (SELECT id FROM absent))),
          format('Acme: %s | Globex: 0 | absent: 0 of 14',
                 (SELECT count(DISTINCT d.action) FROM ss_test.design_matrix d WHERE d.role = ANY (p.roles))),
          format('%s: can() is true for their roles'' actions in own account, false for every action in another or an absent account', p.label))
FROM person p ORDER BY p.ord;

-- my_actions(): the own account's actions; {} for Globex, exactly as for an absent account
SELECT is(pg_temp.as_role(p.db_role, format($q$SELECT 'Acme: ' || secrets_store.my_actions(%1$L)::text
                                              || ' | Globex: ' || secrets_store.my_actions(%2$L)::text
                                              || ' | absent: ' || secrets_store.my_actions(%3$L)::text$q$,
                                        ss_test.id('acme'), ss_test.id('globex'), (SELECT id FROM absent))),
          format('Acme: %s | Globex: {} | absent: {}',
                 (SELECT coalesce(array_agg(a.action ORDER BY a.ord), '{}')::text FROM ss_test.action_statements a
                   WHERE EXISTS (SELECT 1 FROM ss_test.design_matrix d WHERE d.role = ANY (p.roles) AND d.action = a.action))),
          format('%s: my_actions() lists own account''s actions, {} for another or an absent account', p.label))
FROM person p ORDER BY p.ord;

-- quota(): the own account's counts to those who read it; P0002 otherwise
SELECT is(pg_temp.as_role(p.db_role, format($q$SELECT secrets_store.quota(%L)::text$q$, ss_test.id('acme'))),
          CASE WHEN cardinality(p.roles) > 0 THEN '(100,2,3,2)'
               ELSE format('P0002: account %s not found', ss_test.id('acme')) END,
          format('%s: quota() of own account %s', p.label,
                 CASE WHEN cardinality(p.roles) > 0 THEN 'counts only Acme''s 2 secrets and 2 stores'
                      ELSE 'is P0002: they hold nothing there' END))
FROM person p ORDER BY p.ord;

-- usage(): counts an account's rows below row-level security, so it must
-- answer only inside the principal's accounts (and to operators, who see
-- every account and set the limits)
SELECT is(replace(replace(replace(
              pg_temp.as_role(p.db_role, format($q$SELECT 'Acme: ' || (SELECT u::text FROM secrets_store.usage(%1$L) u)$q$, ss_test.id('acme')))
              || ' | ' || pg_temp.as_role(p.db_role, format($q$SELECT 'Globex: ' || (SELECT u::text FROM secrets_store.usage(%1$L) u)$q$, ss_test.id('globex')))
              || ' | ' || pg_temp.as_role(p.db_role, format($q$SELECT 'absent: ' || (SELECT u::text FROM secrets_store.usage(%1$L) u)$q$, (SELECT id FROM absent))),
              ss_test.id('acme')::text, '<id>'), ss_test.id('globex')::text, '<id>'), (SELECT id FROM absent)::text, '<id>'),
          CASE WHEN p.operator THEN 'Acme: (100,2,3,2,65536) | Globex: (100,2,3,2,65536) | P0002: account <id> not found'
               WHEN cardinality(p.roles) > 0 THEN 'Acme: (100,2,3,2,65536) | P0002: account <id> not found | P0002: account <id> not found'
               ELSE 'P0002: account <id> not found | P0002: account <id> not found | P0002: account <id> not found' END,
          format('%s: usage() %s', p.label,
                 CASE WHEN p.operator THEN 'answers an operator for every existing account, P0002 for an absent one'
                      WHEN cardinality(p.roles) > 0 THEN 'counts own account; another account is P0002 like an absent one'
                      ELSE 'is P0002 for every account, own, another or absent' END))
FROM person p ORDER BY p.ord;

-- account_of(): the account of an object of the principal's accounts; NULL
-- for another account's objects exactly as for an absent id
SELECT is(pg_temp.as_role(p.db_role, format($q$SELECT 'Acme: ' || concat_ws(',',
                  coalesce((SELECT name FROM pg_temp.names WHERE id = secrets_store.account_of('secrets_store.stores', ss_test.id('acme.store'))), 'NULL'),
                  coalesce((SELECT name FROM pg_temp.names WHERE id = secrets_store.account_of('secrets_store.secrets', ss_test.id('acme.api_key'))), 'NULL'),
                  coalesce((SELECT name FROM pg_temp.names WHERE id = secrets_store.account_of('secrets_store.worker_bindings', ss_test.id('acme.binding'))), 'NULL'),
                  coalesce((SELECT name FROM pg_temp.names WHERE id = secrets_store.account_of('secrets_store.ai_gateway_associations', ss_test.id('acme.association'))), 'NULL'))
              || ' | Globex: ' || concat_ws(',',
                  coalesce((SELECT name FROM pg_temp.names WHERE id = secrets_store.account_of('secrets_store.stores', ss_test.id('globex.store'))), 'NULL'),
                  coalesce((SELECT name FROM pg_temp.names WHERE id = secrets_store.account_of('secrets_store.secrets', ss_test.id('globex.api_key'))), 'NULL'),
                  coalesce((SELECT name FROM pg_temp.names WHERE id = secrets_store.account_of('secrets_store.worker_bindings', ss_test.id('globex.binding'))), 'NULL'),
                  coalesce((SELECT name FROM pg_temp.names WHERE id = secrets_store.account_of('secrets_store.ai_gateway_associations', ss_test.id('globex.association'))), 'NULL'))
              || ' | absent: ' || concat_ws(',',
                  coalesce(secrets_store.account_of('secrets_store.stores', %1$L)::text, 'NULL'),
                  coalesce(secrets_store.account_of('secrets_store.secrets', %1$L)::text, 'NULL'),
                  coalesce(secrets_store.account_of('secrets_store.worker_bindings', %1$L)::text, 'NULL'),
                  coalesce(secrets_store.account_of('secrets_store.ai_gateway_associations', %1$L)::text, 'NULL'))$q$,
              (SELECT id FROM absent))),
          CASE WHEN cardinality(p.roles) > 0 THEN 'Acme: acme,acme,acme,acme | Globex: NULL,NULL,NULL,NULL | absent: NULL,NULL,NULL,NULL'
               ELSE 'Acme: NULL,NULL,NULL,NULL | Globex: NULL,NULL,NULL,NULL | absent: NULL,NULL,NULL,NULL' END,
          format('%s: account_of() %s; NULL for another account''s store, secret, binding, association as for an absent id', p.label,
                 CASE WHEN cardinality(p.roles) > 0 THEN 'finds own account''s objects' ELSE 'finds nothing in Acme either' END))
FROM person p ORDER BY p.ord;

-- secret_scopes() / secret_scopes_by_id(): scopes of own secrets only
SELECT is(pg_temp.as_role(p.db_role, format($q$SELECT concat_ws(' | ',
                  'Acme: ' || coalesce(secrets_store.secret_scopes(ss_test.id('acme'), ss_test.id('acme.store'), 'API_KEY')::text, 'NULL')
                      || ' ' || coalesce(secrets_store.secret_scopes_by_id(ss_test.id('acme'), ss_test.id('acme.api_key'))::text, 'NULL'),
                  'Globex: ' || coalesce(secrets_store.secret_scopes(ss_test.id('globex'), ss_test.id('globex.store'), 'API_KEY')::text, 'NULL')
                      || ' ' || coalesce(secrets_store.secret_scopes_by_id(ss_test.id('globex'), ss_test.id('globex.api_key'))::text, 'NULL'),
                  'Acme account, Globex object: ' || coalesce(secrets_store.secret_scopes(ss_test.id('acme'), ss_test.id('globex.store'), 'API_KEY')::text, 'NULL')
                      || ' ' || coalesce(secrets_store.secret_scopes_by_id(ss_test.id('acme'), ss_test.id('globex.api_key'))::text, 'NULL'),
                  'absent: ' || coalesce(secrets_store.secret_scopes(%1$L, %1$L, 'API_KEY')::text, 'NULL')
                      || ' ' || coalesce(secrets_store.secret_scopes_by_id(%1$L, %1$L)::text, 'NULL'))$q$,
              (SELECT id FROM absent))),
          CASE WHEN cardinality(p.roles) > 0
               THEN 'Acme: {workers,ai_gateway} {workers,ai_gateway} | Globex: NULL NULL | Acme account, Globex object: NULL NULL | absent: NULL NULL'
               ELSE 'Acme: NULL NULL | Globex: NULL NULL | Acme account, Globex object: NULL NULL | absent: NULL NULL' END,
          format('%s: secret_scopes() and secret_scopes_by_id() %s; NULL for another account''s secret as for an absent one', p.label,
                 CASE WHEN cardinality(p.roles) > 0 THEN 'answer for own secrets' ELSE 'answer for no secret' END))
FROM person p ORDER BY p.ord;

-- default_store(): one of the own account's stores; which one of two stores
-- created in the same transaction is not settled (created_at ties, then id)
SELECT is(pg_temp.as_role(p.db_role, format($q$SELECT CASE WHEN n.name IN ('acme.store', 'acme.empty_store') THEN 'an Acme store' ELSE coalesce(n.name, d::text) END
                                         FROM secrets_store.default_store(%L) d LEFT JOIN pg_temp.names n ON n.id = d$q$, ss_test.id('acme'))),
          CASE WHEN cardinality(p.roles) > 0 THEN 'an Acme store'
               ELSE format('P0002: account %s not found', ss_test.id('acme')) END,
          format('%s: default_store() of own account %s', p.label,
                 CASE WHEN cardinality(p.roles) > 0 THEN 'is one of its stores' ELSE 'is P0002: they hold nothing there' END))
FROM person p ORDER BY p.ord;

-- names are unique per account: another account's names neither conflict nor show
SELECT is((ss_test.attempt('ss_bob', $q$SELECT secrets_store.create_store(ss_test.id('acme'), 'globex-main')$q$)).outcome,
          'allowed', 'a store name used in another account (globex-main) is free in own account: no 23505 reveals it');
SELECT is((SELECT outcome || CASE WHEN message LIKE '%"acme-main"%' THEN ' naming "acme-main"' ELSE ': ' || message END
            FROM ss_test.attempt('ss_bob', $q$SELECT secrets_store.create_store(ss_test.id('acme'), 'acme-main')$q$)),
          '23505 naming "acme-main"',
          'a store name used in own account (acme-main) is a duplicate: 23505 naming the name');

-- keys include account_id, but ids are refused when in use in any account,
-- so an id always names one object and the function API cannot be misled
SELECT is((SELECT outcome || coalesce(': ' || message, '') FROM ss_test.attempt('ss_bob', format($q$DO $d$ BEGIN
              INSERT INTO secrets_store.stores (id, account_id, name) VALUES (%1$L, ss_test.id('acme'), 'reused-id');
              PERFORM secrets_store.create_secret(%1$L, 'IN_REUSED', NULL, '{workers}');
          END $d$$q$, (SELECT id FROM absent)))),
          'allowed',
          'Secrets Store Admin may create a secret in an own store whose id is used nowhere else');
SELECT is((SELECT outcome || coalesce(': ' || message, '') FROM ss_test.attempt('ss_bob', format($q$DO $d$ BEGIN
              INSERT INTO secrets_store.stores (id, account_id, name) VALUES (%1$L, ss_test.id('acme'), 'reused-id');
              PERFORM secrets_store.create_secret(%1$L, 'IN_REUSED', NULL, '{workers}');
          END $d$$q$, ss_test.id('globex.store')))),
          format('23505: id %s is already in use', ss_test.id('globex.store')),
          'an id in use in another account cannot be reused (only someone who already knows the id learns it exists)');

-------------------------------------------------------------------------------
-- 4. Every function that takes an id: another account's id and an absent id
--    give the same SQLSTATE and message (the id written <id>); for people
--    who hold nothing in Acme, Acme's ids do too
-------------------------------------------------------------------------------
CREATE TEMP TABLE id_function (ord int, fn text, template text, object text, expected text);
INSERT INTO id_function VALUES
 (1, 'update_secret', $q$SELECT secrets_store.update_secret(%L, comment => 'x')$q$, 'api_key', 'P0002: secret <id> not found'),
 (2, 'duplicate_secret', $q$SELECT secrets_store.duplicate_secret(%L, 'API_KEY_COPY')$q$, 'api_key', 'P0002: secret <id> not found'),
 (3, 'delete_secret', $q$SELECT secrets_store.delete_secret(%L)$q$, 'spare', 'P0002: secret <id> not found'),
 (4, 'delete_store', $q$SELECT secrets_store.delete_store(%L)$q$, 'empty_store', 'P0002: store <id> not found'),
 (5, 'create_secret', $q$SELECT secrets_store.create_secret(%L, 'NEW_SECRET', NULL, '{workers}')$q$, 'store', 'P0002: store <id> not found'),
 (6, 'bind_worker', $q$SELECT secrets_store.bind_worker(%L, 'shop', 'NEW_BINDING', 'API_KEY')$q$, 'store', 'P0002: store <id> not found'),
 (7, 'unbind_worker', $q$SELECT secrets_store.unbind_worker(%L)$q$, 'binding', 'P0002: binding <id> not found'),
 (8, 'associate_gateway', $q$SELECT secrets_store.associate_gateway(%L, 'gw2', 'anthropic')$q$, 'api_key', 'P0002: secret <id> not found'),
 (9, 'dissociate_gateway', $q$SELECT secrets_store.dissociate_gateway(%L)$q$, 'association', 'P0002: association <id> not found'),
 (10, 'quota', $q$SELECT secrets_store.quota(%L)$q$, '', 'P0002: account <id> not found'),
 (11, 'create_store', $q$SELECT secrets_store.create_store(%L, 'third')$q$, '', 'P0002: account <id> not found'),
 (12, 'default_store', $q$SELECT secrets_store.default_store(%L)$q$, '', 'P0002: account <id> not found'),
 (13, 'grant_role', $q$SELECT secrets_store.grant_role(%L, ss_test.id('ss_frank'), 'secrets_store_reporter')$q$, '', 'P0002: account <id> not found'),
 (14, 'revoke_role', $q$SELECT secrets_store.revoke_role(%L, ss_test.id('ss_frank'), 'secrets_store_reporter')$q$, '', 'P0002: account <id> not found'),
 (15, 'roll_api_token', $q$SELECT secrets_store.roll_api_token(%L)$q$, 'token', 'P0002: API token <id> not found'),
 (16, 'disable_api_token', $q$SELECT secrets_store.disable_api_token(%L)$q$, 'token', 'P0002: API token <id> not found'),
 (17, 'enable_api_token', $q$SELECT secrets_store.enable_api_token(%L)$q$, 'token', 'P0002: API token <id> not found'),
 (18, 'delete_api_token', $q$SELECT secrets_store.delete_api_token(%L)$q$, 'token', 'P0002: API token <id> not found');

SELECT is(concat_ws(' | ',
              'Globex: ' || pg_temp.call(p.db_role, f.template, (SELECT id FROM names WHERE name = concat_ws('.', 'globex', nullif(f.object, '')))),
              'absent: ' || pg_temp.call(p.db_role, f.template, (SELECT id FROM absent)),
              CASE WHEN cardinality(p.roles) = 0
                   THEN 'Acme: ' || pg_temp.call(p.db_role, f.template, (SELECT id FROM names WHERE name = concat_ws('.', 'acme', nullif(f.object, '')))) END),
          concat_ws(' | ',
              'Globex: ' || x.globex,
              'absent: ' || x.absent,
              CASE WHEN cardinality(p.roles) = 0 THEN 'Acme: ' || x.acme END),
          format('%s: %s() with another account''s id%s answers as for an absent id: %s', p.label, f.fn,
                 CASE WHEN cardinality(p.roles) = 0 THEN ' (or Acme''s)' ELSE '' END,
                 CASE WHEN x.globex = x.absent THEN x.absent ELSE 'allowed for an operator, absent is ' || x.absent END))
FROM person p
CROSS JOIN id_function f
CROSS JOIN LATERAL (SELECT
    -- operators grant roles in every existing account; for them revoking
    -- frank's role that he does not hold is "holds no role" everywhere
    CASE WHEN p.operator AND f.fn = 'grant_role' THEN 'allowed'
         WHEN p.operator AND f.fn = 'revoke_role' THEN format('P0002: member %s holds no role secrets_store_reporter in account <id>', ss_test.id('ss_frank'))
         ELSE f.expected END AS globex,
    CASE WHEN p.operator AND f.fn = 'revoke_role' THEN format('P0002: member %s holds no role secrets_store_reporter in account <id>', ss_test.id('ss_frank'))
         ELSE f.expected END AS absent,
    CASE WHEN p.operator AND f.fn = 'grant_role' THEN 'allowed'
         WHEN p.operator AND f.fn = 'revoke_role' THEN format('P0002: member %s holds no role secrets_store_reporter in account <id>', ss_test.id('ss_frank'))
         ELSE f.expected END AS acme) AS x
ORDER BY p.ord, f.ord;

SELECT * FROM finish();
ROLLBACK;
