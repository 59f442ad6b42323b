-- Benchmark data: :n_accounts accounts holding :n_secrets secrets in all,
-- one account (the "large" one) holding 10% of them and the others an even
-- share; Worker bindings and AI Gateway associations for a quarter of the
-- secrets; members with every role; tokens of every group.  Loaded as a
-- superuser with triggers off (session_replication_role = replica): this is
-- bulk data, not the path under test.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
\o /dev/null
CREATE EXTENSION IF NOT EXISTS secrets_store;

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['bench_reporter', 'bench_admin', 'bench_app', 'bench_runtime', 'bench_naive']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', r);
        END IF;
        EXECUTE format('GRANT secrets_store_user TO %I', r);
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_bypass') THEN
        CREATE ROLE bench_bypass LOGIN BYPASSRLS;
    END IF;
END
$$;
GRANT secrets_store_user TO bench_bypass;
GRANT secrets_store_runtime TO bench_runtime;

CREATE SCHEMA bench;
GRANT USAGE ON SCHEMA bench TO PUBLIC;
CREATE TABLE bench.ids (name text PRIMARY KEY, id uuid NOT NULL);
GRANT SELECT ON bench.ids TO PUBLIC;

SET session_replication_role = replica;

-- accounts: number 1 is large, number 2 is the "typical" one the scripts use
CREATE TEMP TABLE acct AS
SELECT n, gen_random_uuid() AS id,
       CASE WHEN n = 1 THEN (:n_secrets / 10)
            ELSE ((:n_secrets - :n_secrets / 10) / (:n_accounts - 1)) END AS secrets
FROM generate_series(1, :n_accounts) n;
INSERT INTO secrets_store.accounts (id, name) SELECT id, 'account ' || n FROM acct;
INSERT INTO secrets_store.account_limits (account_id, max_stores, max_secrets)
SELECT id, 1, 1000000000 FROM acct;
CREATE TEMP TABLE store AS SELECT a.n, a.id AS account_id, gen_random_uuid() AS id, a.secrets FROM acct a;
INSERT INTO secrets_store.stores (id, account_id, name) SELECT id, account_id, 'main' FROM store;

INSERT INTO secrets_store.secrets (id, account_id, store_id, name, comment, scopes, status)
SELECT gen_random_uuid(), s.account_id, s.id, 'SECRET_' || i, 'benchmark secret ' || i,
       '{workers,ai_gateway}', 'pending'
FROM store s, generate_series(1, s.secrets) i;

-- a quarter of the secrets bound to a Worker, a quarter associated with a gateway
INSERT INTO secrets_store.worker_bindings (id, account_id, script_name, binding_name, store_id, secret_name)
SELECT gen_random_uuid(), account_id, 'worker', 'B_' || substr(name, 8), store_id, name
FROM secrets_store.secrets WHERE substr(name, 8)::int % 4 = 0;
INSERT INTO secrets_store.ai_gateway_associations (id, account_id, gateway_id, provider, alias, secret_id)
SELECT gen_random_uuid(), account_id, 'gw', 'openai', 'a' || substr(name, 8), id
FROM secrets_store.secrets WHERE substr(name, 8)::int % 4 = 1;

RESET session_replication_role;
-- the quota counters, which the bulk load bypassed
SELECT secrets_store.recount_usage();

-- members: every role in the typical account; the Reporter also reads the
-- large account and one more, as a person in three accounts would
SELECT secrets_store.create_member(r || '@bench.example', r, r) FROM unnest(ARRAY['bench_reporter', 'bench_admin', 'bench_naive']) r;
SELECT secrets_store.create_member(r || '@bench.example', r) FROM unnest(ARRAY['bench_super', 'bench_deployer']) r;
SELECT secrets_store.grant_role(a.id, (SELECT id FROM secrets_store.members WHERE email = 'bench_reporter@bench.example'), 'secrets_store_reporter')
FROM acct a WHERE a.n IN (1, 2, 3);
SELECT secrets_store.grant_role(a.id, (SELECT id FROM secrets_store.members WHERE email = 'bench_naive@bench.example'), 'secrets_store_reporter')
FROM acct a WHERE a.n IN (1, 2, 3);
SELECT secrets_store.grant_role(a.id, (SELECT id FROM secrets_store.members WHERE email = 'bench_admin@bench.example'), 'secrets_store_admin')
FROM acct a WHERE a.n = 2;
SELECT secrets_store.grant_role(a.id, (SELECT id FROM secrets_store.members WHERE email = 'bench_super@bench.example'), 'super_administrator')
FROM acct a WHERE a.n = 2;
SELECT secrets_store.grant_role(a.id, (SELECT id FROM secrets_store.members WHERE email = 'bench_deployer@bench.example'), 'secrets_store_deployer')
FROM acct a WHERE a.n = 2;

-- the stores, by account number: create benchmarks spread over the
-- accounts, so each holds about its hundred secrets as in production
CREATE TABLE bench.stores AS SELECT n, account_id, id AS store_id FROM store;
ALTER TABLE bench.stores ADD PRIMARY KEY (n);
GRANT SELECT ON bench.stores TO PUBLIC;
SELECT secrets_store.grant_role(s.account_id, (SELECT id FROM secrets_store.members WHERE email = 'bench_admin@bench.example'), 'secrets_store_admin')
FROM store s WHERE s.n > 3;

INSERT INTO bench.ids
SELECT 'typical', id FROM acct WHERE n = 2
UNION ALL SELECT 'large', id FROM acct WHERE n = 1
UNION ALL SELECT 'third', id FROM acct WHERE n = 3
UNION ALL SELECT 'typical.store', id FROM store WHERE n = 2
UNION ALL SELECT 'typical.secret', (SELECT s.id FROM secrets_store.secrets s JOIN acct a ON a.id = s.account_id
                                    WHERE a.n = 2 AND s.name = 'SECRET_8');

-- a value for one bound secret, sealed through the normal path
SET ROLE bench_admin;
SELECT secrets_store.update_secret((SELECT id FROM bench.ids WHERE name = 'typical.secret'),
                                   value => 'sk_bench_' || md5('bench')) IS NULL AS sealed;
RESET ROLE;

-- a plain copy of the secrets table: no policies, no triggers, no sealing
CREATE TABLE bench.plain_secrets (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL, store_id uuid NOT NULL, name text NOT NULL,
    comment text NOT NULL DEFAULT '', scopes secrets_store.scope[] NOT NULL,
    status text NOT NULL DEFAULT 'pending', value text,
    created_at timestamptz NOT NULL DEFAULT now(), modified_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid, modified_by uuid,
    PRIMARY KEY (account_id, id), UNIQUE (account_id, store_id, name));
CREATE INDEX ON bench.plain_secrets (id);
INSERT INTO bench.plain_secrets SELECT id, account_id, store_id, name, comment, scopes, status, NULL,
                                       created_at, modified_at, created_by, modified_by
FROM secrets_store.secrets;
GRANT ALL ON bench.plain_secrets TO PUBLIC;

-- the common way: a copy of the table under a policy that looks the
-- principal's roles up per row in PL/pgSQL
CREATE FUNCTION bench.naive_can_read(account uuid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM secrets_store.role_assignments ra
        JOIN secrets_store.members m ON m.id = ra.member_id
        JOIN secrets_store.role_actions r ON r.role = ra.role
        WHERE m.db_role = current_user AND ra.account_id = account AND r.action = 'secret.read');
END
$$;
CREATE TABLE bench.naive_secrets (LIKE bench.plain_secrets INCLUDING ALL);
INSERT INTO bench.naive_secrets SELECT * FROM bench.plain_secrets;
ALTER TABLE bench.naive_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE bench.naive_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY naive_select ON bench.naive_secrets FOR SELECT USING (bench.naive_can_read(account_id));
GRANT SELECT ON bench.naive_secrets TO PUBLIC;

VACUUM ANALYZE;
\o
SELECT (SELECT count(*) FROM secrets_store.accounts) AS accounts,
       (SELECT count(*) FROM secrets_store.secrets) AS secrets,
       (SELECT count(*) FROM secrets_store.worker_bindings) AS bindings,
       (SELECT count(*) FROM secrets_store.ai_gateway_associations) AS associations;
