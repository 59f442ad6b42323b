/* secrets_store--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION secrets_store" to load this file. \quit

-------------------------------------------------------------------------------
-- Database roles (DESIGN.md section 1).  Roles are cluster-wide and outlive
-- the extension, so they are created only if absent and never dropped here.
-------------------------------------------------------------------------------
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['secrets_store_user', 'secrets_store_gateway',
                             'secrets_store_runtime', 'secrets_store_operator']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

-- an operator uses the same surface as any user, plus its own tasks
GRANT secrets_store_user TO secrets_store_operator;

-------------------------------------------------------------------------------
-- Vocabulary (DESIGN.md section 2)
-------------------------------------------------------------------------------
CREATE TYPE @extschema@.role AS ENUM (
    'super_administrator',
    'secrets_store_admin',
    'secrets_store_deployer',
    'secrets_store_reporter'
);

CREATE TYPE @extschema@.permission_group AS ENUM (
    'secrets_store_edit',
    'secrets_store_read',
    'workers_scripts_edit',
    'ai_gateway_edit'
);

CREATE TYPE @extschema@.scope AS ENUM ('workers', 'ai_gateway');

-- The write-only type of secrets.value: its input seals the plaintext at
-- once (src/seal.c); its output is always "(sealed)".
CREATE TYPE @extschema@.secret_value;
CREATE FUNCTION @extschema@.secret_value_in(cstring)
RETURNS @extschema@.secret_value
AS 'MODULE_PATHNAME', 'ss_secret_value_in'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.secret_value_out(@extschema@.secret_value)
RETURNS cstring
AS 'MODULE_PATHNAME', 'ss_secret_value_out'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
-- The input function is VOLATILE because it is: every call draws a fresh
-- nonce.  PostgreSQL warns about volatile input functions; the warning is
-- expected here and silenced.
SET LOCAL client_min_messages = error;
CREATE TYPE @extschema@.secret_value (
    INPUT = @extschema@.secret_value_in,
    OUTPUT = @extschema@.secret_value_out,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);
SET LOCAL client_min_messages = warning;
CREATE FUNCTION @extschema@.secret_value(text)
RETURNS @extschema@.secret_value
AS 'MODULE_PATHNAME', 'ss_secret_value_from_text'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
-- implicit, so text-typed parameters of ORMs and drivers are accepted
CREATE CAST (text AS @extschema@.secret_value)
    WITH FUNCTION @extschema@.secret_value(text) AS IMPLICIT;
CREATE CAST (varchar AS @extschema@.secret_value)
    WITH FUNCTION @extschema@.secret_value(text) AS IMPLICIT;

CREATE TYPE @extschema@.quota_usage AS (
    secrets_quota integer,
    secrets_usage integer,
    stores_quota integer,
    stores_usage integer
);

CREATE TYPE @extschema@.principal AS (
    principal_type text,
    member_id uuid,
    token_id uuid,
    db_role name
);

-------------------------------------------------------------------------------
-- C functions: identity and rights.  Policies call these per row; they are
-- STABLE (same answer within a statement), PARALLEL RESTRICTED (the
-- principal lives in the leader's memory), and read the tables they derive
-- rights from below row-level security, so they never recurse into policies.
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.whoami()
RETURNS @extschema@.principal
AS 'MODULE_PATHNAME', 'ss_whoami'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.current_member_id()
RETURNS uuid
AS 'MODULE_PATHNAME', 'ss_current_member_id'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.can(account_id uuid, action text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ss_can'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.my_actions(account_id uuid)
RETURNS text[]
AS 'MODULE_PATHNAME', 'ss_my_actions'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.accounts_with(VARIADIC actions text[])
RETURNS uuid[]
AS 'MODULE_PATHNAME', 'ss_accounts_with'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.my_accounts()
RETURNS uuid[]
AS 'MODULE_PATHNAME', 'ss_my_accounts'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.managed_members()
RETURNS uuid[]
AS 'MODULE_PATHNAME', 'ss_managed_members'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.is_operator()
RETURNS boolean
AS 'MODULE_PATHNAME', 'ss_is_operator_sql'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.require_action(account_id uuid, action text)
RETURNS void
AS 'MODULE_PATHNAME', 'ss_require_action_sql'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.require_operator()
RETURNS void
AS 'MODULE_PATHNAME', 'ss_require_operator_sql'
LANGUAGE C STABLE PARALLEL RESTRICTED;

-- lookups below row-level security, answering only inside the principal's
-- own accounts (see src/lookup.c)
CREATE FUNCTION @extschema@.account_of(relation regclass, id uuid)
RETURNS uuid
AS 'MODULE_PATHNAME', 'ss_account_of'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.secret_scopes(account_id uuid, store_id uuid, name text)
RETURNS @extschema@.scope[]
AS 'MODULE_PATHNAME', 'ss_secret_scopes'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.secret_scopes_by_id(account_id uuid, secret_id uuid)
RETURNS @extschema@.scope[]
AS 'MODULE_PATHNAME', 'ss_secret_scopes_by_id'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

-- remembers how to name a duplicate key, for the unique violation it may cause
CREATE FUNCTION @extschema@.note_unique_key(constraint_name text, description text)
RETURNS void
AS 'MODULE_PATHNAME', 'ss_note_unique_key_sql'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.usage(account_id uuid,
    OUT secrets_quota integer, OUT secrets_usage integer,
    OUT stores_quota integer, OUT stores_usage integer,
    OUT max_value_bytes integer)
RETURNS record
AS 'MODULE_PATHNAME', 'ss_usage'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.invalidate_rights_cache()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ss_invalidate_rights_cache'
LANGUAGE C;

-------------------------------------------------------------------------------
-- Validation helpers (DESIGN.md section 6): every bad input is 22023 with a
-- message that says what is allowed.
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.check_secret_name(name text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR name !~ '^[A-Za-z0-9_-]{1,255}$' THEN
        RAISE EXCEPTION 'invalid secret name "%"', name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A secret name is 1 to 255 characters of A-Z, a-z, 0-9, underscore and dash.';
    END IF;
END
$$;

CREATE FUNCTION @extschema@.check_store_name(name text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR length(name) NOT BETWEEN 1 AND 255 OR name ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'invalid store name'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A store name is 1 to 255 printable characters.';
    END IF;
END
$$;

CREATE FUNCTION @extschema@.check_comment(comment text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF comment IS NULL OR length(comment) > 1024 THEN
        RAISE EXCEPTION 'invalid comment: % characters', coalesce(length(comment)::text, 'null')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A comment is text of at most 1,024 characters (use '''' for none).';
    END IF;
END
$$;

CREATE FUNCTION @extschema@.check_scopes(scopes @extschema@.scope[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF scopes IS NULL OR cardinality(scopes) = 0 OR array_position(scopes, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'invalid scopes'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Scopes name at least one of the services that may use the secret: workers, ai_gateway.';
    END IF;
END
$$;

-- Worker script and binding names, AI gateway ids, providers, aliases
CREATE FUNCTION @extschema@.check_identifier(kind text, value text, pattern text, allowed text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF value IS NULL OR value !~ pattern THEN
        RAISE EXCEPTION 'invalid % "%"', kind, value
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = pg_catalog.format('A %s is %s.', kind, allowed);
    END IF;
END
$$;

-------------------------------------------------------------------------------
-- The permission matrix (DESIGN.md section 3), as data
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.role_actions (
    role @extschema@.role NOT NULL,
    action text NOT NULL,
    CONSTRAINT role_actions_pkey PRIMARY KEY (role, action),
    CONSTRAINT role_actions_action_check CHECK (action IN (
        'secret.read', 'secret.create', 'secret.edit', 'secret.duplicate',
        'secret.delete', 'store.create', 'store.delete', 'binding.create',
        'binding.delete', 'association.create', 'association.delete',
        'member.manage', 'token.manage', 'audit.read'))
);

CREATE TABLE @extschema@.permission_group_actions (
    permission_group @extschema@.permission_group NOT NULL,
    action text NOT NULL,
    CONSTRAINT permission_group_actions_pkey PRIMARY KEY (permission_group, action),
    CONSTRAINT permission_group_actions_action_check CHECK (action IN (
        'secret.read', 'secret.create', 'secret.edit', 'secret.duplicate',
        'secret.delete', 'store.create', 'store.delete', 'binding.create',
        'binding.delete', 'association.create', 'association.delete',
        'member.manage', 'token.manage', 'audit.read'))
);

INSERT INTO @extschema@.role_actions (role, action)
SELECT r::@extschema@.role, a FROM (
SELECT 'super_administrator' AS r, a FROM unnest(ARRAY[
    'secret.read', 'secret.create', 'secret.edit', 'secret.duplicate', 'secret.delete',
    'store.create', 'store.delete', 'binding.create', 'binding.delete',
    'association.create', 'association.delete', 'member.manage', 'token.manage',
    'audit.read']) AS a
UNION ALL
SELECT 'secrets_store_admin', a FROM unnest(ARRAY[
    'secret.read', 'secret.create', 'secret.edit', 'secret.duplicate', 'secret.delete',
    'store.create', 'store.delete', 'audit.read']) AS a
UNION ALL
SELECT 'secrets_store_deployer', a FROM unnest(ARRAY[
    'secret.read', 'binding.create', 'binding.delete',
    'association.create', 'association.delete']) AS a
UNION ALL
SELECT 'secrets_store_reporter', 'secret.read') AS m (r, a);

INSERT INTO @extschema@.permission_group_actions (permission_group, action)
SELECT g::@extschema@.permission_group, a FROM (
SELECT 'secrets_store_edit' AS g, a FROM unnest(ARRAY[
    'secret.read', 'secret.create', 'secret.edit', 'secret.duplicate', 'secret.delete',
    'store.create', 'store.delete']) AS a
UNION ALL
SELECT 'secrets_store_read', 'secret.read'
UNION ALL
SELECT 'workers_scripts_edit', a FROM unnest(ARRAY['binding.create', 'binding.delete']) AS a
UNION ALL
SELECT 'ai_gateway_edit', a FROM unnest(ARRAY['association.create', 'association.delete']) AS a) AS m (g, a);

-------------------------------------------------------------------------------
-- Accounts and members
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.accounts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_pkey PRIMARY KEY (id),
    CONSTRAINT accounts_name_check CHECK (length(name) BETWEEN 1 AND 255)
);

CREATE TABLE @extschema@.members (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    email text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    db_role name,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT members_pkey PRIMARY KEY (id),
    CONSTRAINT members_email_key UNIQUE (email),
    CONSTRAINT members_db_role_key UNIQUE (db_role),
    CONSTRAINT members_email_check CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND length(email) <= 320)
);

CREATE TABLE @extschema@.role_assignments (
    account_id uuid NOT NULL REFERENCES @extschema@.accounts (id) ON DELETE CASCADE,
    member_id uuid NOT NULL REFERENCES @extschema@.members (id) ON DELETE CASCADE,
    role @extschema@.role NOT NULL,
    granted_by uuid,
    granted_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT role_assignments_pkey PRIMARY KEY (account_id, member_id, role)
);
-- the rights cache reads a member's roles through this index
CREATE INDEX role_assignments_member_id_idx ON @extschema@.role_assignments (member_id);

CREATE TABLE @extschema@.account_limits (
    account_id uuid NOT NULL REFERENCES @extschema@.accounts (id) ON DELETE CASCADE,
    max_stores integer NOT NULL DEFAULT 1,
    max_secrets integer NOT NULL DEFAULT 100,
    max_value_bytes integer NOT NULL DEFAULT 65536,
    CONSTRAINT account_limits_pkey PRIMARY KEY (account_id),
    CONSTRAINT account_limits_positive CHECK (max_stores >= 0 AND max_secrets >= 0 AND max_value_bytes > 0)
);

-------------------------------------------------------------------------------
-- Stores, secrets, bindings, associations.  Every key and unique constraint
-- includes account_id (DESIGN.md section 7); a plain index on id serves
-- lookups by id.
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.stores (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES @extschema@.accounts (id) ON DELETE CASCADE,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    modified_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stores_pkey PRIMARY KEY (account_id, id),
    CONSTRAINT stores_account_id_name_key UNIQUE (account_id, name)
);
CREATE INDEX stores_id_idx ON @extschema@.stores (id);

CREATE TABLE @extschema@.secrets (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL,
    store_id uuid NOT NULL,
    name text NOT NULL,
    comment text NOT NULL DEFAULT '',
    scopes @extschema@.scope[] NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    value @extschema@.secret_value,
    created_at timestamptz NOT NULL DEFAULT now(),
    modified_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    modified_by uuid,
    CONSTRAINT secrets_pkey PRIMARY KEY (account_id, id),
    CONSTRAINT secrets_account_id_store_id_name_key UNIQUE (account_id, store_id, name),
    CONSTRAINT secrets_account_fkey FOREIGN KEY (account_id)
        REFERENCES @extschema@.accounts (id) ON DELETE CASCADE,
    CONSTRAINT secrets_store_fkey FOREIGN KEY (account_id, store_id)
        REFERENCES @extschema@.stores (account_id, id) ON DELETE CASCADE,
    CONSTRAINT secrets_status_check CHECK (status IN ('pending', 'active', 'deleted')),
    CONSTRAINT secrets_value_never_stored CHECK (value IS NULL)
);
CREATE INDEX secrets_id_idx ON @extschema@.secrets (id);

CREATE TABLE @extschema@.worker_bindings (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES @extschema@.accounts (id) ON DELETE CASCADE,
    script_name text NOT NULL,
    binding_name text NOT NULL,
    store_id uuid NOT NULL,
    secret_name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    CONSTRAINT worker_bindings_pkey PRIMARY KEY (account_id, id),
    CONSTRAINT worker_bindings_account_id_script_name_binding_name_key
        UNIQUE (account_id, script_name, binding_name)
);
CREATE INDEX worker_bindings_id_idx ON @extschema@.worker_bindings (id);
CREATE INDEX worker_bindings_secret_idx
    ON @extschema@.worker_bindings (account_id, store_id, secret_name);

CREATE TABLE @extschema@.ai_gateway_associations (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES @extschema@.accounts (id) ON DELETE CASCADE,
    gateway_id text NOT NULL,
    provider text NOT NULL,
    alias text NOT NULL DEFAULT 'default',
    secret_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    CONSTRAINT ai_gateway_associations_pkey PRIMARY KEY (account_id, id),
    CONSTRAINT ai_gateway_associations_account_gateway_provider_alias_key
        UNIQUE (account_id, gateway_id, provider, alias)
);
CREATE INDEX ai_gateway_associations_id_idx ON @extschema@.ai_gateway_associations (id);
CREATE INDEX ai_gateway_associations_secret_idx
    ON @extschema@.ai_gateway_associations (account_id, secret_id);

-------------------------------------------------------------------------------
-- API tokens.  The metadata is visible to the token's owner and to those who
-- manage every token of the account; the SHA-256 of the secret part lives in
-- api_token_secrets, which nobody but its owner reads (see src/tokens.c).
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.api_tokens (
    id uuid NOT NULL,
    account_id uuid NOT NULL REFERENCES @extschema@.accounts (id) ON DELETE CASCADE,
    owner_member_id uuid REFERENCES @extschema@.members (id) ON DELETE CASCADE,
    name text NOT NULL,
    permission_groups @extschema@.permission_group[] NOT NULL,
    status text NOT NULL DEFAULT 'active',
    not_before timestamptz,
    expires_at timestamptz,
    allowed_cidrs cidr[],
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    CONSTRAINT api_tokens_pkey PRIMARY KEY (account_id, id),
    CONSTRAINT api_tokens_status_check CHECK (status IN ('active', 'disabled'))
);
CREATE INDEX api_tokens_id_idx ON @extschema@.api_tokens (id);
CREATE INDEX api_tokens_owner_member_id_idx ON @extschema@.api_tokens (owner_member_id);

CREATE TABLE @extschema@.api_token_secrets (
    account_id uuid NOT NULL,
    token_id uuid NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT api_token_secrets_pkey PRIMARY KEY (account_id, token_id),
    CONSTRAINT api_token_secrets_token_fkey FOREIGN KEY (account_id, token_id)
        REFERENCES @extschema@.api_tokens (account_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.api_token_secrets IS
    'SHA-256 of each API token''s secret part. No role but the owner may read it.';

-------------------------------------------------------------------------------
-- Sealed values and the data keys they are sealed under (src/keys.c,
-- src/values.c).  Neither is granted to anyone and neither has a policy:
-- only their owner, from C, reads or writes them.  Deleting an account
-- deletes its data key (crypto-shredding).
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.account_keys (
    account_id uuid NOT NULL REFERENCES @extschema@.accounts (id) ON DELETE CASCADE,
    master_key_id text NOT NULL,
    wrapped_key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    rewrapped_at timestamptz,
    CONSTRAINT account_keys_pkey PRIMARY KEY (account_id)
);
COMMENT ON TABLE @extschema@.account_keys IS
    'Per-account data keys, wrapped (AES-256-GCM) under the master key. No role but the owner may read it.';

CREATE TABLE @extschema@.secret_values (
    account_id uuid NOT NULL REFERENCES @extschema@.accounts (id) ON DELETE CASCADE,
    secret_id uuid NOT NULL,
    sealed bytea NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT secret_values_pkey PRIMARY KEY (account_id, secret_id)
);
COMMENT ON TABLE @extschema@.secret_values IS
    'Secret values sealed under their account''s data key, bound to account and secret. No role but the owner may read it.';

-------------------------------------------------------------------------------
-- The audit trail (src/audit.c): append-only, written by the database
-- itself in the transaction of the change, readable per audit.read.  No FK
-- to accounts: events outlive what they describe.
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.audit_events (
    id bigint GENERATED ALWAYS AS IDENTITY,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    account_id uuid NOT NULL,
    action text NOT NULL,
    resource_type text NOT NULL,
    resource_id uuid,
    resource_name text,
    actor_type text NOT NULL,
    actor_member_id uuid,
    actor_token_id uuid,
    actor_db_role name,
    client_addr inet,
    application_name text,
    details jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT audit_events_pkey PRIMARY KEY (account_id, id),
    CONSTRAINT audit_events_action_check CHECK (action IN ('create', 'update', 'delete', 'access')),
    CONSTRAINT audit_events_actor_type_check CHECK (actor_type IN ('member', 'token', 'runtime', 'database_role'))
);
CREATE INDEX audit_events_account_id_occurred_at_idx
    ON @extschema@.audit_events (account_id, occurred_at);

COMMENT ON COLUMN @extschema@.secrets.value IS
    'Write-only. Reads always return NULL; values are sealed, never stored in this column.';

-------------------------------------------------------------------------------
-- Row-level security (DESIGN.md sections 3, 4, 7).  Every policy is a plain
-- comparison of the row's columns with C functions; none has a subquery.
-- Every table is ENABLE and FORCE so the table owner is held to them too.
-------------------------------------------------------------------------------
ALTER TABLE @extschema@.role_actions ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.role_actions FORCE ROW LEVEL SECURITY;
CREATE POLICY role_actions_select ON @extschema@.role_actions
    FOR SELECT USING (true);
-- the matrix is changed by superusers only (who bypass these)
CREATE POLICY role_actions_insert ON @extschema@.role_actions FOR INSERT WITH CHECK (false);
CREATE POLICY role_actions_update ON @extschema@.role_actions FOR UPDATE USING (false) WITH CHECK (false);
CREATE POLICY role_actions_delete ON @extschema@.role_actions FOR DELETE USING (false);

ALTER TABLE @extschema@.permission_group_actions ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.permission_group_actions FORCE ROW LEVEL SECURITY;
CREATE POLICY permission_group_actions_select ON @extschema@.permission_group_actions
    FOR SELECT USING (true);
-- the matrix is changed by superusers only (who bypass these)
CREATE POLICY permission_group_actions_insert ON @extschema@.permission_group_actions FOR INSERT WITH CHECK (false);
CREATE POLICY permission_group_actions_update ON @extschema@.permission_group_actions FOR UPDATE USING (false) WITH CHECK (false);
CREATE POLICY permission_group_actions_delete ON @extschema@.permission_group_actions FOR DELETE USING (false);

ALTER TABLE @extschema@.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY accounts_select ON @extschema@.accounts FOR SELECT
    USING (id = ANY (@extschema@.my_accounts()) OR @extschema@.is_operator());
CREATE POLICY accounts_insert ON @extschema@.accounts FOR INSERT
    WITH CHECK (@extschema@.is_operator());
CREATE POLICY accounts_update ON @extschema@.accounts FOR UPDATE
    USING (@extschema@.is_operator()) WITH CHECK (@extschema@.is_operator());
CREATE POLICY accounts_delete ON @extschema@.accounts FOR DELETE
    USING (@extschema@.is_operator());

ALTER TABLE @extschema@.members ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.members FORCE ROW LEVEL SECURITY;
CREATE POLICY members_select ON @extschema@.members FOR SELECT
    USING (id = @extschema@.current_member_id()
           OR id = ANY (@extschema@.managed_members())
           OR @extschema@.is_operator());
CREATE POLICY members_insert ON @extschema@.members FOR INSERT
    WITH CHECK (@extschema@.is_operator());
CREATE POLICY members_update ON @extschema@.members FOR UPDATE
    USING (@extschema@.is_operator()) WITH CHECK (@extschema@.is_operator());
CREATE POLICY members_delete ON @extschema@.members FOR DELETE
    USING (@extschema@.is_operator());

ALTER TABLE @extschema@.role_assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.role_assignments FORCE ROW LEVEL SECURITY;
CREATE POLICY role_assignments_select ON @extschema@.role_assignments FOR SELECT
    USING (member_id = @extschema@.current_member_id()
           OR account_id = ANY (@extschema@.accounts_with('member.manage'))
           OR @extschema@.is_operator());
CREATE POLICY role_assignments_insert ON @extschema@.role_assignments FOR INSERT
    WITH CHECK (account_id = ANY (@extschema@.accounts_with('member.manage'))
                OR @extschema@.is_operator());
CREATE POLICY role_assignments_update ON @extschema@.role_assignments FOR UPDATE
    USING (false) WITH CHECK (false);
CREATE POLICY role_assignments_delete ON @extschema@.role_assignments FOR DELETE
    USING (account_id = ANY (@extschema@.accounts_with('member.manage'))
           OR @extschema@.is_operator());

ALTER TABLE @extschema@.account_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.account_limits FORCE ROW LEVEL SECURITY;
CREATE POLICY account_limits_select ON @extschema@.account_limits FOR SELECT
    USING (account_id = ANY (@extschema@.accounts_with('secret.read'))
           OR @extschema@.is_operator());
CREATE POLICY account_limits_insert ON @extschema@.account_limits FOR INSERT
    WITH CHECK (@extschema@.is_operator());
CREATE POLICY account_limits_update ON @extschema@.account_limits FOR UPDATE
    USING (@extschema@.is_operator()) WITH CHECK (@extschema@.is_operator());
CREATE POLICY account_limits_delete ON @extschema@.account_limits FOR DELETE
    USING (@extschema@.is_operator());

ALTER TABLE @extschema@.stores ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.stores FORCE ROW LEVEL SECURITY;
CREATE POLICY stores_select ON @extschema@.stores FOR SELECT
    USING (account_id = ANY (@extschema@.accounts_with('secret.read')));
CREATE POLICY stores_insert ON @extschema@.stores FOR INSERT
    WITH CHECK (account_id = ANY (@extschema@.accounts_with('store.create')));
CREATE POLICY stores_update ON @extschema@.stores FOR UPDATE
    USING (account_id = ANY (@extschema@.accounts_with('store.create')))
    WITH CHECK (account_id = ANY (@extschema@.accounts_with('store.create')));
CREATE POLICY stores_delete ON @extschema@.stores FOR DELETE
    USING (account_id = ANY (@extschema@.accounts_with('store.delete')));

ALTER TABLE @extschema@.secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY secrets_select ON @extschema@.secrets FOR SELECT
    USING (account_id = ANY (@extschema@.accounts_with('secret.read')));
CREATE POLICY secrets_insert ON @extschema@.secrets FOR INSERT
    WITH CHECK (account_id = ANY (@extschema@.accounts_with('secret.create')));
CREATE POLICY secrets_update ON @extschema@.secrets FOR UPDATE
    USING (account_id = ANY (@extschema@.accounts_with('secret.edit')))
    WITH CHECK (account_id = ANY (@extschema@.accounts_with('secret.edit')));
CREATE POLICY secrets_delete ON @extschema@.secrets FOR DELETE
    USING (account_id = ANY (@extschema@.accounts_with('secret.delete')));

-- bindings and associations are visible to those who read metadata and to
-- those who manage them (an API token may bind without reading secrets)
ALTER TABLE @extschema@.worker_bindings ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.worker_bindings FORCE ROW LEVEL SECURITY;
CREATE POLICY worker_bindings_select ON @extschema@.worker_bindings FOR SELECT
    USING (account_id = ANY (@extschema@.accounts_with('secret.read', 'binding.create', 'binding.delete')));
CREATE POLICY worker_bindings_insert ON @extschema@.worker_bindings FOR INSERT
    WITH CHECK (account_id = ANY (@extschema@.accounts_with('binding.create')));
CREATE POLICY worker_bindings_update ON @extschema@.worker_bindings FOR UPDATE
    USING (account_id = ANY (@extschema@.accounts_with('binding.create')))
    WITH CHECK (account_id = ANY (@extschema@.accounts_with('binding.create')));
CREATE POLICY worker_bindings_delete ON @extschema@.worker_bindings FOR DELETE
    USING (account_id = ANY (@extschema@.accounts_with('binding.delete')));

ALTER TABLE @extschema@.ai_gateway_associations ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.ai_gateway_associations FORCE ROW LEVEL SECURITY;
CREATE POLICY ai_gateway_associations_select ON @extschema@.ai_gateway_associations FOR SELECT
    USING (account_id = ANY (@extschema@.accounts_with('secret.read', 'association.create', 'association.delete')));
CREATE POLICY ai_gateway_associations_insert ON @extschema@.ai_gateway_associations FOR INSERT
    WITH CHECK (account_id = ANY (@extschema@.accounts_with('association.create')));
CREATE POLICY ai_gateway_associations_update ON @extschema@.ai_gateway_associations FOR UPDATE
    USING (account_id = ANY (@extschema@.accounts_with('association.create')))
    WITH CHECK (account_id = ANY (@extschema@.accounts_with('association.create')));
CREATE POLICY ai_gateway_associations_delete ON @extschema@.ai_gateway_associations FOR DELETE
    USING (account_id = ANY (@extschema@.accounts_with('association.delete')));

ALTER TABLE @extschema@.api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.api_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY api_tokens_select ON @extschema@.api_tokens FOR SELECT
    USING (owner_member_id = @extschema@.current_member_id()
           OR account_id = ANY (@extschema@.accounts_with('token.manage')));
-- tokens are issued only by create_api_token(), which checks and writes in C
CREATE POLICY api_tokens_insert ON @extschema@.api_tokens FOR INSERT
    WITH CHECK (false);
CREATE POLICY api_tokens_update ON @extschema@.api_tokens FOR UPDATE
    USING (owner_member_id = @extschema@.current_member_id()
           OR account_id = ANY (@extschema@.accounts_with('token.manage')))
    WITH CHECK (owner_member_id = @extschema@.current_member_id()
                OR account_id = ANY (@extschema@.accounts_with('token.manage')));
CREATE POLICY api_tokens_delete ON @extschema@.api_tokens FOR DELETE
    USING (owner_member_id = @extschema@.current_member_id()
           OR account_id = ANY (@extschema@.accounts_with('token.manage')));

-- no policy: nobody but the owner (which bypasses with NOFORCE, in C) reads it
ALTER TABLE @extschema@.api_token_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.api_token_secrets FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.account_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.account_keys FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.secret_values ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.secret_values FORCE ROW LEVEL SECURITY;

-- events are written only by the extension, as the owner (src/audit.c)
ALTER TABLE @extschema@.audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_select ON @extschema@.audit_events FOR SELECT
    USING (account_id = ANY (@extschema@.accounts_with('audit.read')));
CREATE POLICY audit_events_insert ON @extschema@.audit_events FOR INSERT
    WITH CHECK (false);
CREATE POLICY audit_events_update ON @extschema@.audit_events FOR UPDATE
    USING (false) WITH CHECK (false);
CREATE POLICY audit_events_delete ON @extschema@.audit_events FOR DELETE
    USING (false);

-------------------------------------------------------------------------------
-- Triggers: the checks that give direct SQL (ORMs, psql) the same errors as
-- the function API, and keep audit columns honest.  Row-level security stays
-- the backstop behind them.
-------------------------------------------------------------------------------

-- rights are derived from these tables: tell every backend when they change
CREATE TRIGGER members_invalidate_rights
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.members
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rights_cache();
CREATE TRIGGER role_assignments_invalidate_rights
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.role_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rights_cache();
CREATE TRIGGER role_actions_invalidate_rights
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.role_actions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rights_cache();
CREATE TRIGGER permission_group_actions_invalidate_rights
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.permission_group_actions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rights_cache();

-- quota checks of one account are serialised by a lock on its
-- account_limits row, which principals cannot take themselves
CREATE FUNCTION @extschema@.lock_account(account_id uuid)
RETURNS void
AS 'MODULE_PATHNAME', 'ss_lock_account'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- ids are refused when in use in any account (see src/lookup.c)
CREATE FUNCTION @extschema@.claim_id()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ss_claim_id'
LANGUAGE C;
CREATE TRIGGER stores_claim_id BEFORE INSERT ON @extschema@.stores
    FOR EACH ROW EXECUTE FUNCTION @extschema@.claim_id();
CREATE TRIGGER secrets_claim_id BEFORE INSERT ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.claim_id();
CREATE TRIGGER worker_bindings_claim_id BEFORE INSERT ON @extschema@.worker_bindings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.claim_id();
CREATE TRIGGER ai_gateway_associations_claim_id BEFORE INSERT ON @extschema@.ai_gateway_associations
    FOR EACH ROW EXECUTE FUNCTION @extschema@.claim_id();

CREATE FUNCTION @extschema@.accounts_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM secrets_store.require_operator();
    IF NEW.name IS NULL OR length(NEW.name) NOT BETWEEN 1 AND 255 OR NEW.name ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'invalid account name'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'An account name is 1 to 255 printable characters.';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.id := OLD.id;
        NEW.created_at := OLD.created_at;
    ELSE
        NEW.created_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER accounts_before_write
    BEFORE INSERT OR UPDATE ON @extschema@.accounts
    FOR EACH ROW EXECUTE FUNCTION @extschema@.accounts_before_write();

-- every account gets its limits row, with the defaults
CREATE FUNCTION @extschema@.accounts_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO secrets_store.account_limits (account_id) VALUES (NEW.id)
    ON CONFLICT (account_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER accounts_after_insert
    AFTER INSERT ON @extschema@.accounts
    FOR EACH ROW EXECUTE FUNCTION @extschema@.accounts_after_insert();

CREATE FUNCTION @extschema@.members_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM secrets_store.require_operator();
    IF NEW.email IS NULL OR NEW.email !~ '^[^@[:space:]]+@[^@[:space:]]+$' OR length(NEW.email) > 320 THEN
        RAISE EXCEPTION 'invalid email address "%"', NEW.email
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'An email address looks like name@example.com, at most 320 characters.';
    END IF;
    IF NEW.db_role IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = NEW.db_role) THEN
        RAISE EXCEPTION 'database role "%" does not exist', NEW.db_role
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Create the login role first, or leave db_role null for members who use tokens or a gateway.';
    END IF;
    -- a group role would make every role that may SET ROLE to it this member
    IF NEW.db_role IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles
                                               WHERE rolname = NEW.db_role AND rolcanlogin) THEN
        RAISE EXCEPTION 'database role "%" cannot log in', NEW.db_role
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Link a member to a LOGIN role of its own, not to a group role.';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.id := OLD.id;
        NEW.created_at := OLD.created_at;
    ELSE
        NEW.created_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER members_before_write
    BEFORE INSERT OR UPDATE ON @extschema@.members
    FOR EACH ROW EXECUTE FUNCTION @extschema@.members_before_write();

CREATE FUNCTION @extschema@.role_assignments_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT secrets_store.is_operator() THEN
        PERFORM secrets_store.require_action(NEW.account_id, 'member.manage');
    END IF;
    NEW.granted_by := secrets_store.current_member_id();
    NEW.granted_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER role_assignments_before_insert
    BEFORE INSERT ON @extschema@.role_assignments
    FOR EACH ROW EXECUTE FUNCTION @extschema@.role_assignments_before_insert();

CREATE FUNCTION @extschema@.account_limits_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM secrets_store.require_operator();
    IF NEW.max_stores < 0 OR NEW.max_secrets < 0 OR NEW.max_value_bytes < 1 THEN
        RAISE EXCEPTION 'invalid account limits'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'max_stores and max_secrets are zero or more; max_value_bytes is at least 1.';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.account_id <> OLD.account_id THEN
        RAISE EXCEPTION 'the limits of an account cannot move to another account'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Update the limits row of the other account instead.';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER account_limits_before_write
    BEFORE INSERT OR UPDATE ON @extschema@.account_limits
    FOR EACH ROW EXECUTE FUNCTION @extschema@.account_limits_before_write();

CREATE FUNCTION @extschema@.stores_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    u record;
BEGIN
    PERFORM secrets_store.note_unique_key('stores_account_id_name_key',
        format('A store named "%s" already exists in this account.', NEW.name));
    IF TG_OP = 'INSERT' THEN
        PERFORM secrets_store.require_action(NEW.account_id, 'store.create');
        PERFORM secrets_store.check_store_name(NEW.name);
        PERFORM secrets_store.lock_account(NEW.account_id);
        u := secrets_store.usage(NEW.account_id);
        IF u.stores_usage >= u.stores_quota THEN
            RAISE EXCEPTION 'maximum stores exceeded: the account has % of % stores', u.stores_usage, u.stores_quota
                USING ERRCODE = 'configuration_limit_exceeded',
                      HINT = 'Use the existing store, delete one, or ask an operator to raise account_limits.max_stores.';
        END IF;
        NEW.created_at := now();
    ELSE
        PERFORM secrets_store.check_store_name(NEW.name);
        IF NEW.id <> OLD.id OR NEW.account_id <> OLD.account_id THEN
            RAISE EXCEPTION 'a store cannot move to another id or account'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Only the name of a store can change.';
        END IF;
        NEW.created_at := OLD.created_at;
    END IF;
    NEW.modified_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER stores_before_write
    BEFORE INSERT OR UPDATE ON @extschema@.stores
    FOR EACH ROW EXECUTE FUNCTION @extschema@.stores_before_write();

CREATE FUNCTION @extschema@.stores_before_delete()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    -- a cascade from deleting the account (operators only) empties everything
    IF NOT EXISTS (SELECT 1 FROM secrets_store.accounts a WHERE a.id = OLD.account_id) THEN
        RETURN OLD;
    END IF;
    SELECT count(*) INTO n FROM secrets_store.secrets
     WHERE account_id = OLD.account_id AND store_id = OLD.id;
    IF n > 0 THEN
        RAISE EXCEPTION 'store "%" is not empty: it holds % secrets', OLD.name, n
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Delete its secrets first, or call secrets_store.delete_store(id, force => true).';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER stores_before_delete
    BEFORE DELETE ON @extschema@.stores
    FOR EACH ROW EXECUTE FUNCTION @extschema@.stores_before_delete();

CREATE FUNCTION @extschema@.secrets_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    u record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM secrets_store.require_action(NEW.account_id, 'secret.create');
        PERFORM secrets_store.check_secret_name(NEW.name);
        -- named in the detail of a unique violation (src/emit_log.c); a
        -- check here would break INSERT ... ON CONFLICT
        PERFORM secrets_store.note_unique_key('secrets_account_id_store_id_name_key',
            format('A secret named "%s" already exists in this store.', NEW.name));
    ELSE
        IF NEW.name <> OLD.name THEN
            RAISE EXCEPTION 'secret names cannot be changed ("%" to "%")', OLD.name, NEW.name
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Duplicate the secret under the new name, move its users, then delete the old one.';
        END IF;
        IF NEW.id <> OLD.id OR NEW.account_id <> OLD.account_id OR NEW.store_id <> OLD.store_id THEN
            RAISE EXCEPTION 'a secret cannot move to another id, store or account'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Only the value, scopes and comment of a secret can change.';
        END IF;
    END IF;
    PERFORM secrets_store.check_scopes(NEW.scopes);
    PERFORM secrets_store.check_comment(NEW.comment);
    IF NEW.status NOT IN ('pending', 'active') THEN
        RAISE EXCEPTION 'invalid secret status "%"', NEW.status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The status of a secret is set by the store: pending until it has a value, then active.';
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM secrets_store.lock_account(NEW.account_id);
        u := secrets_store.usage(NEW.account_id);
        IF u.secrets_usage >= u.secrets_quota THEN
            RAISE EXCEPTION 'maximum secrets exceeded: the account has % of % secrets', u.secrets_usage, u.secrets_quota
                USING ERRCODE = 'configuration_limit_exceeded',
                      HINT = 'Delete secrets that are no longer used, or ask an operator to raise account_limits.max_secrets.';
        END IF;
        NEW.created_at := now();
        NEW.created_by := secrets_store.current_member_id();
    ELSE
        NEW.created_at := OLD.created_at;
        NEW.created_by := OLD.created_by;
    END IF;
    NEW.modified_at := now();
    NEW.modified_by := secrets_store.current_member_id();
    RETURN NEW;
END
$$;
CREATE TRIGGER secrets_10_before_write
    BEFORE INSERT OR UPDATE ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.secrets_before_write();

-- The value column is write-only: seal_value() seals a written value under
-- the account's data key, stores it in secret_values and leaves the column
-- NULL (src/values.c).  It runs after the checks above.
CREATE FUNCTION @extschema@.seal_value()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ss_seal_value'
LANGUAGE C;
CREATE TRIGGER secrets_20_seal_value
    BEFORE INSERT OR UPDATE ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.seal_value();

CREATE FUNCTION @extschema@.forget_value()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ss_forget_value'
LANGUAGE C;
CREATE TRIGGER secrets_forget_value
    AFTER DELETE ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.forget_value();

-- A secret that Workers or AI gateways still use is not deleted by accident:
-- they would fail at run time.  secrets_store.force_delete lets it through.
CREATE FUNCTION @extschema@.secrets_before_delete()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n_bindings integer;
    n_associations integer;
BEGIN
    IF coalesce(current_setting('secrets_store.force_delete', true), 'off')::boolean
       OR NOT EXISTS (SELECT 1 FROM secrets_store.accounts a WHERE a.id = OLD.account_id) THEN
        RETURN OLD;
    END IF;
    SELECT count(*) INTO n_bindings FROM secrets_store.worker_bindings
     WHERE account_id = OLD.account_id AND store_id = OLD.store_id AND secret_name = OLD.name;
    SELECT count(*) INTO n_associations FROM secrets_store.ai_gateway_associations
     WHERE account_id = OLD.account_id AND secret_id = OLD.id;
    IF n_bindings + n_associations > 0 THEN
        RAISE EXCEPTION 'secret "%" is in use by % Worker bindings and % AI Gateway associations', OLD.name, n_bindings, n_associations
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Remove the bindings and associations first, or delete with secrets_store.delete_secret(id, force => true); they will then fail with "secret not found".';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER secrets_before_delete
    BEFORE DELETE ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.secrets_before_delete();

CREATE FUNCTION @extschema@.worker_bindings_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    scopes secrets_store.scope[];
BEGIN
    PERFORM secrets_store.require_action(NEW.account_id, 'binding.create');
    PERFORM secrets_store.check_identifier('Worker script name', NEW.script_name,
        '^[A-Za-z0-9_-]{1,63}$', '1 to 63 characters of A-Z, a-z, 0-9, underscore and dash');
    PERFORM secrets_store.check_identifier('binding name', NEW.binding_name,
        '^[A-Za-z_][A-Za-z0-9_]{0,254}$', 'a JavaScript identifier of at most 255 characters: a letter or underscore, then letters, digits and underscores');
    PERFORM secrets_store.check_secret_name(NEW.secret_name);
    IF TG_OP = 'UPDATE' AND (NEW.id <> OLD.id OR NEW.account_id <> OLD.account_id) THEN
        RAISE EXCEPTION 'a binding cannot move to another id or account'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Create a new binding in the other account instead.';
    END IF;
    PERFORM secrets_store.note_unique_key('worker_bindings_account_id_script_name_binding_name_key',
        format('Worker "%s" already has a binding named "%s".', NEW.script_name, NEW.binding_name));
    scopes := secrets_store.secret_scopes(NEW.account_id, NEW.store_id, NEW.secret_name);
    IF scopes IS NULL THEN
        RAISE EXCEPTION 'secret "%" not found in store %', NEW.secret_name, NEW.store_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT 'workers' = ANY (scopes) THEN
        RAISE EXCEPTION 'secret "%" cannot be bound to a Worker: it lacks the workers scope', NEW.secret_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Add the workers scope to the secret (update_secret(id, scopes => ...)) first.';
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := now();
        NEW.created_by := secrets_store.current_member_id();
    ELSE
        NEW.created_at := OLD.created_at;
        NEW.created_by := OLD.created_by;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER worker_bindings_before_write
    BEFORE INSERT OR UPDATE ON @extschema@.worker_bindings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.worker_bindings_before_write();

CREATE FUNCTION @extschema@.ai_gateway_associations_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    scopes secrets_store.scope[];
BEGIN
    PERFORM secrets_store.require_action(NEW.account_id, 'association.create');
    PERFORM secrets_store.check_identifier('gateway id', NEW.gateway_id,
        '^[a-z0-9_-]{1,64}$', '1 to 64 characters of a-z, 0-9, underscore and dash');
    PERFORM secrets_store.check_identifier('provider', NEW.provider,
        '^[a-z0-9_-]{1,64}$', '1 to 64 characters of a-z, 0-9, underscore and dash (for example openai, anthropic)');
    PERFORM secrets_store.check_identifier('alias', NEW.alias,
        '^[A-Za-z0-9_-]{1,64}$', '1 to 64 characters of A-Z, a-z, 0-9, underscore and dash');
    IF TG_OP = 'UPDATE' AND (NEW.id <> OLD.id OR NEW.account_id <> OLD.account_id) THEN
        RAISE EXCEPTION 'an association cannot move to another id or account'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Create a new association in the other account instead.';
    END IF;
    PERFORM secrets_store.note_unique_key('ai_gateway_associations_account_gateway_provider_alias_key',
        format('Gateway "%s" already has a key for provider "%s" with alias "%s".', NEW.gateway_id, NEW.provider, NEW.alias));
    scopes := secrets_store.secret_scopes_by_id(NEW.account_id, NEW.secret_id);
    IF scopes IS NULL THEN
        RAISE EXCEPTION 'secret % not found', NEW.secret_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT 'ai_gateway' = ANY (scopes) THEN
        RAISE EXCEPTION 'secret % cannot be associated with an AI gateway: it lacks the ai_gateway scope', NEW.secret_id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Add the ai_gateway scope to the secret (update_secret(id, scopes => ...)) first.';
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := now();
        NEW.created_by := secrets_store.current_member_id();
    ELSE
        NEW.created_at := OLD.created_at;
        NEW.created_by := OLD.created_by;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER ai_gateway_associations_before_write
    BEFORE INSERT OR UPDATE ON @extschema@.ai_gateway_associations
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ai_gateway_associations_before_write();

CREATE FUNCTION @extschema@.api_tokens_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.account_id <> OLD.account_id
       OR NEW.owner_member_id IS DISTINCT FROM OLD.owner_member_id
       OR NEW.permission_groups <> OLD.permission_groups
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'the account, owner and permission groups of an API token cannot change'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Create a new token with the groups you need and delete this one.';
    END IF;
    IF NEW.name IS NULL OR length(NEW.name) NOT BETWEEN 1 AND 255 OR NEW.name ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'invalid API token name'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A token name is 1 to 255 printable characters.';
    END IF;
    IF NEW.status NOT IN ('active', 'disabled') THEN
        RAISE EXCEPTION 'invalid API token status "%"', NEW.status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A token is active or disabled.';
    END IF;
    IF NEW.not_before IS NOT NULL AND NEW.expires_at IS NOT NULL AND NEW.expires_at <= NEW.not_before THEN
        RAISE EXCEPTION 'expires_at must be later than not_before'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- an owner may rename and disable a token; re-enabling it or changing its
    -- validity or addresses is for whoever manages the account's tokens, so
    -- that a token a Super Administrator disabled stays disabled
    IF (NEW.status = 'active' AND OLD.status = 'disabled'
        OR NEW.not_before IS DISTINCT FROM OLD.not_before
        OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
        OR NEW.allowed_cidrs IS DISTINCT FROM OLD.allowed_cidrs)
       AND NEW.last_used_at IS NOT DISTINCT FROM OLD.last_used_at THEN
        PERFORM secrets_store.require_action(NEW.account_id, 'token.manage');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER api_tokens_before_update
    BEFORE UPDATE ON @extschema@.api_tokens
    FOR EACH ROW EXECUTE FUNCTION @extschema@.api_tokens_before_update();

-------------------------------------------------------------------------------
-- Audit triggers: one event per changed row, in the same transaction
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.audit_row()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ss_audit_row'
LANGUAGE C;
CREATE TRIGGER secrets_audit AFTER INSERT OR UPDATE OR DELETE ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.audit_row('secret', 'id', 'name');
CREATE TRIGGER stores_audit AFTER INSERT OR UPDATE OR DELETE ON @extschema@.stores
    FOR EACH ROW EXECUTE FUNCTION @extschema@.audit_row('store', 'id', 'name');
CREATE TRIGGER worker_bindings_audit AFTER INSERT OR UPDATE OR DELETE ON @extschema@.worker_bindings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.audit_row('worker_binding', 'id', 'script_name,binding_name');
CREATE TRIGGER ai_gateway_associations_audit AFTER INSERT OR UPDATE OR DELETE ON @extschema@.ai_gateway_associations
    FOR EACH ROW EXECUTE FUNCTION @extschema@.audit_row('ai_gateway_association', 'id', 'gateway_id,provider,alias');
CREATE TRIGGER role_assignments_audit AFTER INSERT OR UPDATE OR DELETE ON @extschema@.role_assignments
    FOR EACH ROW EXECUTE FUNCTION @extschema@.audit_row('role_assignment', 'member_id', 'role');
CREATE TRIGGER api_tokens_audit AFTER INSERT OR UPDATE OR DELETE ON @extschema@.api_tokens
    FOR EACH ROW EXECUTE FUNCTION @extschema@.audit_row('api_token', 'id', 'name');

-- append-only, for the owner too; only purge_audit_events() deletes
CREATE FUNCTION @extschema@.audit_events_immutable()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ss_audit_events_immutable'
LANGUAGE C;
CREATE TRIGGER audit_events_immutable BEFORE UPDATE OR DELETE ON @extschema@.audit_events
    FOR EACH ROW EXECUTE FUNCTION @extschema@.audit_events_immutable();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON @extschema@.audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_events_immutable();

-------------------------------------------------------------------------------
-- The function API (DESIGN.md section 4).  SECURITY INVOKER wrappers over
-- the same writes an ORM does, so both meet the same policies and triggers.
-- They check visibility first (P0002, identical for absent and foreign
-- objects), then the action (42501).
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.not_found(kind text, id anyelement)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '% % not found', kind, id USING ERRCODE = 'no_data_found';
END
$$;

CREATE FUNCTION @extschema@.create_account(name text)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_id uuid;
BEGIN
    PERFORM secrets_store.require_operator();
    INSERT INTO secrets_store.accounts (name) VALUES (create_account.name)
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;

CREATE FUNCTION @extschema@.create_member(email text, display_name text, db_role name DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_id uuid;
BEGIN
    PERFORM secrets_store.require_operator();
    INSERT INTO secrets_store.members (email, display_name, db_role)
    VALUES (create_member.email, coalesce(create_member.display_name, ''), create_member.db_role)
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;

CREATE FUNCTION @extschema@.grant_role(account_id uuid, member_id uuid, role @extschema@.role)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT secrets_store.is_operator() THEN
        PERFORM secrets_store.require_action(grant_role.account_id, 'member.manage');
    ELSIF NOT EXISTS (SELECT 1 FROM secrets_store.accounts a WHERE a.id = grant_role.account_id) THEN
        PERFORM secrets_store.not_found('account', grant_role.account_id);
    END IF;
    BEGIN
        INSERT INTO secrets_store.role_assignments (account_id, member_id, role)
        VALUES (grant_role.account_id, grant_role.member_id, grant_role.role)
        ON CONFLICT ON CONSTRAINT role_assignments_pkey DO NOTHING;
    EXCEPTION WHEN foreign_key_violation THEN
        PERFORM secrets_store.not_found('member', grant_role.member_id);
    END;
END
$$;

CREATE FUNCTION @extschema@.revoke_role(account_id uuid, member_id uuid, role @extschema@.role)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT secrets_store.is_operator() THEN
        PERFORM secrets_store.require_action(revoke_role.account_id, 'member.manage');
    END IF;
    DELETE FROM secrets_store.role_assignments ra
     WHERE ra.account_id = revoke_role.account_id
       AND ra.member_id = revoke_role.member_id
       AND ra.role = revoke_role.role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member % holds no role % in account %', revoke_role.member_id, revoke_role.role, revoke_role.account_id
            USING ERRCODE = 'no_data_found';
    END IF;
END
$$;

CREATE FUNCTION @extschema@.create_store(account_id uuid, name text)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_id uuid;
BEGIN
    PERFORM secrets_store.require_action(create_store.account_id, 'store.create');
    INSERT INTO secrets_store.stores (account_id, name)
    VALUES (create_store.account_id, create_store.name)
    RETURNING id INTO new_id;
    RETURN new_id;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'a store named "%" already exists in this account', create_store.name
        USING ERRCODE = 'unique_violation',
              HINT = 'Store names are unique within an account.';
END
$$;

CREATE FUNCTION @extschema@.default_store(account_id uuid)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found_id uuid;
BEGIN
    PERFORM secrets_store.require_action(default_store.account_id, 'secret.read');
    SELECT s.id INTO found_id FROM secrets_store.stores s
     WHERE s.account_id = default_store.account_id
     ORDER BY s.created_at, s.id LIMIT 1;
    IF found_id IS NOT NULL THEN
        RETURN found_id;
    END IF;
    -- the first store is created on first use by those who may create stores
    IF secrets_store.can(default_store.account_id, 'store.create')
       OR (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RETURN secrets_store.create_store(default_store.account_id, 'default');
    END IF;
    RAISE EXCEPTION 'account % has no store yet', default_store.account_id
        USING ERRCODE = 'no_data_found',
              HINT = 'A Super Administrator or Secrets Store Admin creates the first store by calling default_store().';
END
$$;

CREATE FUNCTION @extschema@.delete_store(store_id uuid, force boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.account_of('secrets_store.stores', delete_store.store_id);
    previous text;
BEGIN
    IF acct IS NULL THEN
        PERFORM secrets_store.not_found('store', delete_store.store_id);
    END IF;
    PERFORM secrets_store.require_action(acct, 'store.delete');
    IF force THEN
        PERFORM secrets_store.require_action(acct, 'secret.delete');
        previous := coalesce(current_setting('secrets_store.force_delete', true), 'off');
        PERFORM set_config('secrets_store.force_delete', 'on', true);
        DELETE FROM secrets_store.secrets s
         WHERE s.account_id = acct AND s.store_id = delete_store.store_id;
        PERFORM set_config('secrets_store.force_delete', previous, true);
    END IF;
    DELETE FROM secrets_store.stores s
     WHERE s.account_id = acct AND s.id = delete_store.store_id;
END
$$;

CREATE FUNCTION @extschema@.create_secret(store_id uuid, name text, value @extschema@.secret_value,
    scopes @extschema@.scope[], comment text DEFAULT '')
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.account_of('secrets_store.stores', create_secret.store_id);
    new_id uuid;
BEGIN
    IF acct IS NULL THEN
        PERFORM secrets_store.not_found('store', create_secret.store_id);
    END IF;
    PERFORM secrets_store.require_action(acct, 'secret.create');
    BEGIN
        INSERT INTO secrets_store.secrets (account_id, store_id, name, value, scopes, comment)
        VALUES (acct, create_secret.store_id, create_secret.name, create_secret.value,
                create_secret.scopes, coalesce(create_secret.comment, ''))
        RETURNING id INTO new_id;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'a secret named "%" already exists in this store', create_secret.name
            USING ERRCODE = 'unique_violation',
                  HINT = 'Secret names are unique within a store; edit the existing secret or choose another name.';
    END;
    RETURN new_id;
END
$$;

CREATE FUNCTION @extschema@.update_secret(secret_id uuid, value @extschema@.secret_value DEFAULT NULL,
    scopes @extschema@.scope[] DEFAULT NULL, comment text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.account_of('secrets_store.secrets', update_secret.secret_id);
BEGIN
    IF acct IS NULL THEN
        PERFORM secrets_store.not_found('secret', update_secret.secret_id);
    END IF;
    PERFORM secrets_store.require_action(acct, 'secret.edit');
    UPDATE secrets_store.secrets s
       SET value = update_secret.value,
           scopes = coalesce(update_secret.scopes, s.scopes),
           comment = coalesce(update_secret.comment, s.comment)
     WHERE s.account_id = acct AND s.id = update_secret.secret_id;
END
$$;

CREATE FUNCTION @extschema@.duplicate_secret(secret_id uuid, name text,
    scopes @extschema@.scope[] DEFAULT NULL, comment text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.account_of('secrets_store.secrets', duplicate_secret.secret_id);
    source record;
    new_id uuid;
BEGIN
    IF acct IS NULL THEN
        PERFORM secrets_store.not_found('secret', duplicate_secret.secret_id);
    END IF;
    PERFORM secrets_store.require_action(acct, 'secret.duplicate');
    SELECT s.store_id, s.scopes, s.comment INTO source FROM secrets_store.secrets s
     WHERE s.account_id = acct AND s.id = duplicate_secret.secret_id;
    IF NOT FOUND THEN
        PERFORM secrets_store.not_found('secret', duplicate_secret.secret_id);
    END IF;
    -- the value is copied inside C, sealed for transit, bound to this account
    BEGIN
        INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, comment, value)
        VALUES (acct, source.store_id, duplicate_secret.name,
                coalesce(duplicate_secret.scopes, source.scopes),
                coalesce(duplicate_secret.comment, source.comment),
                secrets_store.sealed_copy_of(acct, duplicate_secret.secret_id))
        RETURNING id INTO new_id;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'a secret named "%" already exists in this store', duplicate_secret.name
            USING ERRCODE = 'unique_violation',
                  HINT = 'Choose another name for the duplicate.';
    END;
    RETURN new_id;
END
$$;

CREATE FUNCTION @extschema@.delete_secret(secret_id uuid, force boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.account_of('secrets_store.secrets', delete_secret.secret_id);
    previous text;
BEGIN
    IF acct IS NULL THEN
        PERFORM secrets_store.not_found('secret', delete_secret.secret_id);
    END IF;
    PERFORM secrets_store.require_action(acct, 'secret.delete');
    previous := coalesce(current_setting('secrets_store.force_delete', true), 'off');
    IF force THEN
        PERFORM set_config('secrets_store.force_delete', 'on', true);
    END IF;
    DELETE FROM secrets_store.secrets s
     WHERE s.account_id = acct AND s.id = delete_secret.secret_id;
    PERFORM set_config('secrets_store.force_delete', previous, true);
END
$$;

CREATE FUNCTION @extschema@.bind_worker(store_id uuid, script_name text, binding_name text, secret_name text)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.account_of('secrets_store.stores', bind_worker.store_id);
    new_id uuid;
BEGIN
    IF acct IS NULL THEN
        PERFORM secrets_store.not_found('store', bind_worker.store_id);
    END IF;
    PERFORM secrets_store.require_action(acct, 'binding.create');
    BEGIN
        INSERT INTO secrets_store.worker_bindings (account_id, script_name, binding_name, store_id, secret_name)
        VALUES (acct, bind_worker.script_name, bind_worker.binding_name, bind_worker.store_id, bind_worker.secret_name)
        RETURNING id INTO new_id;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'Worker "%" already has a binding named "%"', bind_worker.script_name, bind_worker.binding_name
            USING ERRCODE = 'unique_violation',
                  HINT = 'Binding names are unique per Worker script; unbind the existing one first.';
    END;
    RETURN new_id;
END
$$;

CREATE FUNCTION @extschema@.unbind_worker(binding_id uuid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.account_of('secrets_store.worker_bindings', unbind_worker.binding_id);
BEGIN
    IF acct IS NULL THEN
        PERFORM secrets_store.not_found('binding', unbind_worker.binding_id);
    END IF;
    PERFORM secrets_store.require_action(acct, 'binding.delete');
    DELETE FROM secrets_store.worker_bindings b
     WHERE b.account_id = acct AND b.id = unbind_worker.binding_id;
END
$$;

CREATE FUNCTION @extschema@.associate_gateway(secret_id uuid, gateway_id text, provider text, alias text DEFAULT 'default')
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.account_of('secrets_store.secrets', associate_gateway.secret_id);
    new_id uuid;
BEGIN
    IF acct IS NULL THEN
        PERFORM secrets_store.not_found('secret', associate_gateway.secret_id);
    END IF;
    PERFORM secrets_store.require_action(acct, 'association.create');
    BEGIN
        INSERT INTO secrets_store.ai_gateway_associations (account_id, gateway_id, provider, alias, secret_id)
        VALUES (acct, associate_gateway.gateway_id, associate_gateway.provider,
                coalesce(associate_gateway.alias, 'default'), associate_gateway.secret_id)
        RETURNING id INTO new_id;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'gateway "%" already has a key for provider "%" with alias "%"',
            associate_gateway.gateway_id, associate_gateway.provider, coalesce(associate_gateway.alias, 'default')
            USING ERRCODE = 'unique_violation',
                  HINT = 'Dissociate the existing key first, or use another alias.';
    END;
    RETURN new_id;
END
$$;

CREATE FUNCTION @extschema@.dissociate_gateway(association_id uuid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.account_of('secrets_store.ai_gateway_associations', dissociate_gateway.association_id);
BEGIN
    IF acct IS NULL THEN
        PERFORM secrets_store.not_found('association', dissociate_gateway.association_id);
    END IF;
    PERFORM secrets_store.require_action(acct, 'association.delete');
    DELETE FROM secrets_store.ai_gateway_associations g
     WHERE g.account_id = acct AND g.id = dissociate_gateway.association_id;
END
$$;

CREATE FUNCTION @extschema@.quota(account_id uuid)
RETURNS @extschema@.quota_usage
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    u record;
BEGIN
    PERFORM secrets_store.require_action(quota.account_id, 'secret.read');
    u := secrets_store.usage(quota.account_id);
    RETURN ROW(u.secrets_quota, u.secrets_usage, u.stores_quota, u.stores_usage)::secrets_store.quota_usage;
END
$$;

-------------------------------------------------------------------------------
-- Principals for applications (DESIGN.md section 1): an API token, or a
-- member an application vouches for.  Both last until the end of the
-- transaction and must be called inside one.
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.authenticate(token text)
RETURNS @extschema@.principal
AS 'MODULE_PATHNAME', 'ss_authenticate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.act_as(member_id uuid)
RETURNS @extschema@.principal
AS 'MODULE_PATHNAME', 'ss_act_as'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.create_api_token(account_id uuid, name text,
    permission_groups @extschema@.permission_group[],
    expires_at timestamptz DEFAULT NULL, not_before timestamptz DEFAULT NULL,
    allowed_cidrs cidr[] DEFAULT NULL, account_owned boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'ss_create_api_token'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.roll_api_token(token_id uuid)
RETURNS text
AS 'MODULE_PATHNAME', 'ss_roll_api_token'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- the token's row as the principal may see it (its own, or every token of
-- an account where it holds token.manage), or P0002
CREATE FUNCTION @extschema@.visible_token(token_id uuid)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid;
BEGIN
    IF (secrets_store.whoami()).principal_type = 'token' THEN
        RAISE EXCEPTION 'permission denied: an API token may not manage API tokens'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'API tokens are managed by members: their own tokens, or every token of the account for a Super Administrator.';
    END IF;
    SELECT t.account_id INTO acct FROM secrets_store.api_tokens t WHERE t.id = visible_token.token_id;
    IF acct IS NULL THEN
        PERFORM secrets_store.not_found('API token', visible_token.token_id);
    END IF;
    RETURN acct;
END
$$;

CREATE FUNCTION @extschema@.disable_api_token(token_id uuid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.visible_token(disable_api_token.token_id);
BEGIN
    UPDATE secrets_store.api_tokens t SET status = 'disabled'
     WHERE t.account_id = acct AND t.id = disable_api_token.token_id;
END
$$;

CREATE FUNCTION @extschema@.enable_api_token(token_id uuid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.visible_token(enable_api_token.token_id);
BEGIN
    UPDATE secrets_store.api_tokens t SET status = 'active'
     WHERE t.account_id = acct AND t.id = enable_api_token.token_id;
END
$$;

CREATE FUNCTION @extschema@.delete_api_token(token_id uuid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid := secrets_store.visible_token(delete_api_token.token_id);
BEGIN
    DELETE FROM secrets_store.api_tokens t
     WHERE t.account_id = acct AND t.id = delete_api_token.token_id;
END
$$;

-------------------------------------------------------------------------------
-- Values (DESIGN.md section 5)
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.sealed_copy_of(account_id uuid, secret_id uuid)
RETURNS @extschema@.secret_value
AS 'MODULE_PATHNAME', 'ss_sealed_copy_of'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- the only ways to obtain a plaintext: for secrets_store_runtime roles
CREATE FUNCTION @extschema@.get_bound_secret(account_id uuid, script_name text, binding_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'ss_get_bound_secret'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.get_gateway_key(account_id uuid, gateway_id text, provider text,
                                            alias text DEFAULT 'default')
RETURNS text
AS 'MODULE_PATHNAME', 'ss_get_gateway_key'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- key administration, superuser only (also checked in C)
CREATE FUNCTION @extschema@.rewrap_data_keys()
RETURNS integer
AS 'MODULE_PATHNAME', 'ss_rewrap_data_keys'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.master_key_id(previous boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'ss_master_key_id'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-------------------------------------------------------------------------------
-- Reading and keeping the trail
-------------------------------------------------------------------------------
-- retention, for operators; leaves an event in every account it touched
CREATE FUNCTION @extschema@.purge_audit_events(older_than interval)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ss_purge_audit_events'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- one account's events in a time range, one JSON object per event, for
-- SIEM ingestion (newline-delimited with psql -At)
CREATE FUNCTION @extschema@.export_audit_events(account_id uuid,
    from_time timestamptz DEFAULT '-infinity', to_time timestamptz DEFAULT 'infinity')
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM secrets_store.require_action(export_audit_events.account_id, 'audit.read');
    RETURN QUERY
    SELECT jsonb_build_object(
               'id', e.id, 'occurred_at', e.occurred_at, 'account_id', e.account_id,
               'action', e.action, 'resource_type', e.resource_type,
               'resource_id', e.resource_id, 'resource_name', e.resource_name,
               'actor_type', e.actor_type, 'actor_member_id', e.actor_member_id,
               'actor_token_id', e.actor_token_id, 'actor_db_role', e.actor_db_role,
               'client_addr', host(e.client_addr), 'application_name', e.application_name,
               'details', e.details)
      FROM secrets_store.audit_events e
     WHERE e.account_id = export_audit_events.account_id
       AND e.occurred_at >= from_time AND e.occurred_at < to_time
     ORDER BY e.occurred_at, e.id;
END
$$;

-------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; secrets_store_user is what a login role
-- needs.  Row-level security decides which rows.
-------------------------------------------------------------------------------
REVOKE ALL ON SCHEMA @extschema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO secrets_store_user, secrets_store_gateway, secrets_store_runtime;

REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE USAGE ON TYPE @extschema@.role, @extschema@.permission_group, @extschema@.scope,
    @extschema@.quota_usage, @extschema@.principal, @extschema@.secret_value FROM PUBLIC;
GRANT USAGE ON TYPE @extschema@.role, @extschema@.permission_group, @extschema@.scope,
    @extschema@.quota_usage, @extschema@.principal, @extschema@.secret_value TO secrets_store_user;

GRANT SELECT ON @extschema@.role_actions, @extschema@.permission_group_actions,
    @extschema@.accounts, @extschema@.members, @extschema@.account_limits
    TO secrets_store_user;
GRANT SELECT, INSERT, DELETE ON @extschema@.role_assignments TO secrets_store_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.stores, @extschema@.secrets,
    @extschema@.worker_bindings, @extschema@.ai_gateway_associations
    TO secrets_store_user;
GRANT INSERT, UPDATE, DELETE ON @extschema@.accounts, @extschema@.members,
    @extschema@.account_limits TO secrets_store_operator;
GRANT SELECT, DELETE ON @extschema@.api_tokens TO secrets_store_user;
GRANT SELECT ON @extschema@.audit_events TO secrets_store_user;
GRANT UPDATE (name, status, not_before, expires_at, allowed_cidrs)
    ON @extschema@.api_tokens TO secrets_store_user;

GRANT EXECUTE ON FUNCTION
    @extschema@.whoami(), @extschema@.current_member_id(),
    @extschema@.can(uuid, text), @extschema@.my_actions(uuid),
    @extschema@.accounts_with(text[]), @extschema@.my_accounts(),
    @extschema@.managed_members(), @extschema@.is_operator(),
    @extschema@.require_action(uuid, text), @extschema@.require_operator(),
    @extschema@.account_of(regclass, uuid),
    @extschema@.secret_scopes(uuid, uuid, text),
    @extschema@.secret_scopes_by_id(uuid, uuid),
    @extschema@.usage(uuid),
    @extschema@.note_unique_key(text, text),
    @extschema@.check_secret_name(text), @extschema@.check_store_name(text),
    @extschema@.check_comment(text), @extschema@.check_scopes(@extschema@.scope[]),
    @extschema@.check_identifier(text, text, text, text),
    @extschema@.lock_account(uuid),
    @extschema@.not_found(text, anyelement),
    @extschema@.create_account(text),
    @extschema@.create_member(text, text, name),
    @extschema@.grant_role(uuid, uuid, @extschema@.role),
    @extschema@.revoke_role(uuid, uuid, @extschema@.role),
    @extschema@.create_store(uuid, text), @extschema@.default_store(uuid),
    @extschema@.delete_store(uuid, boolean),
    @extschema@.create_secret(uuid, text, @extschema@.secret_value, @extschema@.scope[], text),
    @extschema@.update_secret(uuid, @extschema@.secret_value, @extschema@.scope[], text),
    @extschema@.secret_value_in(cstring), @extschema@.secret_value_out(@extschema@.secret_value),
    @extschema@.secret_value(text), @extschema@.sealed_copy_of(uuid, uuid),
    @extschema@.duplicate_secret(uuid, text, @extschema@.scope[], text),
    @extschema@.delete_secret(uuid, boolean),
    @extschema@.bind_worker(uuid, text, text, text), @extschema@.unbind_worker(uuid),
    @extschema@.associate_gateway(uuid, text, text, text),
    @extschema@.dissociate_gateway(uuid),
    @extschema@.quota(uuid),
    @extschema@.authenticate(text), @extschema@.act_as(uuid),
    @extschema@.create_api_token(uuid, text, @extschema@.permission_group[],
                                 timestamptz, timestamptz, cidr[], boolean),
    @extschema@.roll_api_token(uuid), @extschema@.visible_token(uuid),
    @extschema@.disable_api_token(uuid), @extschema@.enable_api_token(uuid),
    @extschema@.delete_api_token(uuid),
    @extschema@.export_audit_events(uuid, timestamptz, timestamptz)
    TO secrets_store_user;
GRANT EXECUTE ON FUNCTION @extschema@.purge_audit_events(interval) TO secrets_store_operator;
GRANT EXECUTE ON FUNCTION
    @extschema@.get_bound_secret(uuid, text, text),
    @extschema@.get_gateway_key(uuid, text, text, text)
    TO secrets_store_runtime;
