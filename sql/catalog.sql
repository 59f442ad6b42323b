-- Catalog checks: forced row-level security everywhere, nothing for PUBLIC,
-- roles as designed, pinned search_path where it matters.

-- every table: RLS enabled and forced (expect no rows)
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = 'secrets_store'::regnamespace AND c.relkind IN ('r', 'p')
  AND NOT (c.relrowsecurity AND c.relforcerowsecurity);

-- the tables, with their policies per command
SELECT c.relname,
       string_agg(DISTINCT p.polcmd::text, '' ORDER BY p.polcmd::text) AS commands_with_policies
FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
WHERE c.relnamespace = 'secrets_store'::regnamespace AND c.relkind = 'r'
GROUP BY c.relname ORDER BY c.relname;

-- nothing granted to PUBLIC: tables, functions, schema, types (expect no rows)
SELECT 'table' AS kind, c.relname AS name FROM pg_class c, aclexplode(c.relacl) a
WHERE c.relnamespace = 'secrets_store'::regnamespace AND a.grantee = 0
UNION ALL
SELECT 'function', p.oid::regprocedure::text FROM pg_proc p
WHERE p.pronamespace = 'secrets_store'::regnamespace
  AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0))
UNION ALL
SELECT 'schema', n.nspname FROM pg_namespace n, aclexplode(n.nspacl) a
WHERE n.nspname = 'secrets_store' AND a.grantee = 0
UNION ALL
SELECT 'type', t.typname FROM pg_type t
WHERE t.typnamespace = 'secrets_store'::regnamespace AND t.typtype IN ('e', 'c')
  AND t.typrelid = 0
  AND (t.typacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(t.typacl) a WHERE a.grantee = 0));

-- SECURITY DEFINER functions that do not pin search_path (expect no rows)
SELECT p.oid::regprocedure FROM pg_proc p
WHERE p.pronamespace = 'secrets_store'::regnamespace AND p.prosecdef
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');

-- SQL-language functions without a pinned search_path (expect no rows)
SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'secrets_store'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');

-- the four roles exist and cannot log in
SELECT rolname, rolcanlogin, rolsuper, rolbypassrls FROM pg_roles
WHERE rolname IN ('secrets_store_user', 'secrets_store_gateway', 'secrets_store_runtime', 'secrets_store_operator')
ORDER BY rolname;

-- the extension: not relocatable, its own schema
SELECT e.extname, e.extrelocatable, n.nspname FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'secrets_store';
SELECT name, version, superuser, trusted, relocatable, schema FROM pg_available_extension_versions
WHERE name = 'secrets_store' ORDER BY version;

-- the shipped matrix equals DESIGN.md section 3 (expect no rows either way)
(SELECT role, action FROM secrets_store.role_actions EXCEPT SELECT role, action FROM ss_test.design_matrix)
UNION ALL
(SELECT role, action FROM ss_test.design_matrix EXCEPT SELECT role, action FROM secrets_store.role_actions);
SELECT permission_group, string_agg(action, ', ' ORDER BY action) AS actions
FROM secrets_store.permission_group_actions GROUP BY 1 ORDER BY 1;

-- a login role without secrets_store_user cannot touch the surface
CREATE ROLE ss_outsider LOGIN;
SET ROLE ss_outsider;
SELECT count(*) FROM secrets_store.secrets;
SELECT secrets_store.whoami();
RESET ROLE;
DROP ROLE ss_outsider;

-- the secret value is never readable (there is nothing to read)
SELECT count(*) AS secrets, count(value) AS readable_values FROM secrets_store.secrets;
