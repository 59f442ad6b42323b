-- Scale-out readiness (DESIGN.md section 7), checked by rule since Citus is
-- not installable here.

-- every primary key, unique constraint and foreign key of a table with an
-- account_id includes account_id; the exceptions are foreign keys to the
-- global tables (members), which Citus keeps as reference tables.  Expect
-- only those.
SELECT c.relname AS table_name, con.conname, con.contype
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
WHERE c.relnamespace = 'secrets_store'::regnamespace
  AND con.contype IN ('p', 'u', 'f')
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'account_id')
  AND NOT (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'account_id') = ANY (con.conkey)
ORDER BY 1, 2;

-- the global tables: members and the matrix (reference tables), accounts
-- (distributed by its own id)
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = 'secrets_store'::regnamespace AND c.relkind = 'r'
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'account_id')
ORDER BY 1;

-- no column default calls a volatile function (expect no rows)
SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid) AS default_expression
FROM pg_attrdef d
JOIN pg_class c ON c.oid = d.adrelid
JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE c.relnamespace = 'secrets_store'::regnamespace
  AND EXISTS (SELECT 1 FROM regexp_matches(d.adbin::text, ':funcid (\d+)', 'g') m
              JOIN pg_proc p ON p.oid = m[1]::oid WHERE p.provolatile = 'v')
ORDER BY 1, 2;

-- no policy calls a volatile function (expect no rows)
SELECT pol.polrelid::regclass, pol.polname, p.proname
FROM pg_policy pol
CROSS JOIN LATERAL regexp_matches(coalesce(pol.polqual::text, '') || coalesce(pol.polwithcheck::text, ''),
                                  ':funcid (\d+)', 'g') AS m (funcid)
JOIN pg_proc p ON p.oid = m.funcid[1]::oid
WHERE pol.polrelid::regclass::text LIKE 'secrets_store.%' AND p.provolatile = 'v';
