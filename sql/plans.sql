-- Plan shape: the policy predicate becomes an index condition on account_id,
-- for the tables a principal lists.  Small data, so sequential scans are
-- disabled to show that the index is usable, not that it is chosen.
SET enable_seqscan = off;
SET ROLE ss_dave;  -- a Reporter
EXPLAIN (COSTS OFF) SELECT id, name FROM secrets_store.secrets WHERE account_id = ss_test.id('acme');
EXPLAIN (COSTS OFF) SELECT id, name FROM secrets_store.secrets;
EXPLAIN (COSTS OFF) SELECT * FROM secrets_store.stores WHERE account_id = ss_test.id('acme');
EXPLAIN (COSTS OFF) SELECT * FROM secrets_store.worker_bindings WHERE account_id = ss_test.id('acme');
EXPLAIN (COSTS OFF) SELECT * FROM secrets_store.ai_gateway_associations WHERE account_id = ss_test.id('acme');
-- point lookup of one secret by id
EXPLAIN (COSTS OFF) SELECT name FROM secrets_store.secrets WHERE id = ss_test.id('acme.api_key');
RESET ROLE;
RESET enable_seqscan;

-- no policy contains a subquery (DESIGN.md section 7)
SELECT polrelid::regclass AS table_name, polname
FROM pg_policy
WHERE polrelid::regclass::text LIKE 'secrets_store.%'
  AND (coalesce(polqual::text, '') LIKE '%{SUBLINK%'
       OR coalesce(polwithcheck::text, '') LIKE '%{SUBLINK%');
-- every policy function is ours, in C, and not volatile
SELECT DISTINCT p.proname, p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AS in_c, p.provolatile
FROM pg_policy pol
CROSS JOIN LATERAL regexp_matches(coalesce(pol.polqual::text, '') || coalesce(pol.polwithcheck::text, ''),
                                  ':funcid (\d+)', 'g') AS m (funcid)
JOIN pg_proc p ON p.oid = m.funcid[1]::oid
WHERE pol.polrelid::regclass::text LIKE 'secrets_store.%'
ORDER BY 1;

-- the audit trail, for a Secrets Store Admin (audit.read)
SET enable_seqscan = off;
SET ROLE ss_bob;
EXPLAIN (COSTS OFF) SELECT * FROM secrets_store.audit_events WHERE account_id = ss_test.id('acme');
RESET ROLE;
RESET enable_seqscan;
