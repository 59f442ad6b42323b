-- The permission matrix, cell by cell: every person of the fixture attempts
-- every action through the function API in their own account (Acme) and in
-- another (Globex).  Allowed cells succeed; refused cells carry SQLSTATE
-- 42501 naming the principal and the action with a hint naming the roles
-- that have it, or P0002 where the person holds nothing in the account.
BEGIN;
SELECT plan((SELECT count(*)::int FROM ss_test.expected)
            + (SELECT count(*)::int FROM ss_test.expected WHERE outcome = '42501') * 2);

CREATE TEMP TABLE observed AS SELECT * FROM ss_test.observe();

SELECT is(o.outcome, e.outcome,
          format('%s: %s in %s account -> %s', e.label, e.action,
                 CASE e.prefix WHEN 'acme' THEN 'own' ELSE 'another' END, e.outcome))
FROM ss_test.expected e JOIN observed o USING (db_role, action, prefix)
ORDER BY e.prefix, e.person_ord, e.action_ord;

-- 42501 messages name the principal and the action
SELECT matches(o.message,
               format('^permission denied: member "%s@acme\.example" \(database role "%s"\) may not perform "%s"$',
                      substr(e.db_role, 4), e.db_role, replace(e.action, '.', '\.')),
               format('%s refused %s: message names principal and action', e.label, e.action))
FROM ss_test.expected e JOIN observed o USING (db_role, action, prefix)
WHERE e.outcome = '42501'
ORDER BY e.person_ord, e.action_ord;

-- and the hint names exactly the roles that hold the action
SELECT is(o.hint,
          format('"%s" is granted by the roles: %s; and by the API token permission groups: %s.',
                 e.action,
                 (SELECT string_agg(d.role::text, ', ' ORDER BY d.role) FROM ss_test.design_matrix d WHERE d.action = e.action),
                 (SELECT coalesce(string_agg(g.permission_group::text, ', ' ORDER BY g.permission_group), 'none')
                    FROM secrets_store.permission_group_actions g WHERE g.action = e.action)),
          format('%s refused %s: hint names the roles that have it', e.label, e.action))
FROM ss_test.expected e JOIN observed o USING (db_role, action, prefix)
WHERE e.outcome = '42501'
ORDER BY e.person_ord, e.action_ord;

SELECT * FROM finish();
ROLLBACK;
