/* secrets_store--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION secrets_store UPDATE TO '1.1'" to load this file. \quit

-------------------------------------------------------------------------------
-- 1.1: ready to be distributed, and dumped.
--
-- 1. No column default calls a volatile function: Citus evaluates defaults
--    where a row is routed, and a random default there is a trap.  Ids that
--    a client does not supply are drawn by the claim_id() trigger (which
--    already refuses ids in use) and by the account and member triggers;
--    claim_id() now fires first among the BEFORE triggers, since the others
--    read the id.  The audit trail stamps occurred_at itself.
-- 2. The data tables are marked for pg_dump, so a dump of a database that
--    uses the extension carries its accounts, secrets (sealed), keys
--    (wrapped) and audit trail.
-------------------------------------------------------------------------------

ALTER TABLE @extschema@.accounts ALTER COLUMN id DROP DEFAULT;
ALTER TABLE @extschema@.members ALTER COLUMN id DROP DEFAULT;
ALTER TABLE @extschema@.stores ALTER COLUMN id DROP DEFAULT;
ALTER TABLE @extschema@.secrets ALTER COLUMN id DROP DEFAULT;
ALTER TABLE @extschema@.worker_bindings ALTER COLUMN id DROP DEFAULT;
ALTER TABLE @extschema@.ai_gateway_associations ALTER COLUMN id DROP DEFAULT;
ALTER TABLE @extschema@.audit_events ALTER COLUMN occurred_at SET DEFAULT now();

ALTER TRIGGER stores_claim_id ON @extschema@.stores RENAME TO stores_00_claim_id;
ALTER TRIGGER secrets_claim_id ON @extschema@.secrets RENAME TO secrets_00_claim_id;
ALTER TRIGGER worker_bindings_claim_id ON @extschema@.worker_bindings
    RENAME TO worker_bindings_00_claim_id;
ALTER TRIGGER ai_gateway_associations_claim_id ON @extschema@.ai_gateway_associations
    RENAME TO ai_gateway_associations_00_claim_id;

CREATE OR REPLACE FUNCTION @extschema@.accounts_before_write()
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
        NEW.id := coalesce(NEW.id, gen_random_uuid());
        NEW.created_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.members_before_write()
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
        NEW.id := coalesce(NEW.id, gen_random_uuid());
        NEW.created_at := now();
    END IF;
    RETURN NEW;
END
$$;

-- what pg_dump carries (the permission matrix is shipped by the script)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.members', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.role_assignments', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.account_limits', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stores', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.secrets', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.worker_bindings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ai_gateway_associations', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.api_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.api_token_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.account_keys', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.secret_values', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_events', '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.pg_get_serial_sequence('@extschema@.audit_events', 'id')::regclass, '');
