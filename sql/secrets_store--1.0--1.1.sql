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

-------------------------------------------------------------------------------
-- 3. Quotas are counters (src/quota.c): a check costs the same in an account
--    of 100 secrets as in one of 100,000 an operator allowed, where 1.0
--    counted the account's rows on every insert.  The counters start from
--    the rows already there.
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.account_usage (
    account_id uuid NOT NULL REFERENCES @extschema@.accounts (id) ON DELETE CASCADE,
    stores integer NOT NULL DEFAULT 0,
    secrets integer NOT NULL DEFAULT 0,
    CONSTRAINT account_usage_pkey PRIMARY KEY (account_id)
);
COMMENT ON TABLE @extschema@.account_usage IS
    'Stores and secrets per account, kept by triggers for quota checks. No role but the owner may read it.';
ALTER TABLE @extschema@.account_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.account_usage FORCE ROW LEVEL SECURITY;
INSERT INTO @extschema@.account_usage (account_id, stores, secrets)
SELECT a.id,
       (SELECT count(*) FROM @extschema@.stores s WHERE s.account_id = a.id),
       (SELECT count(*) FROM @extschema@.secrets s WHERE s.account_id = a.id)
FROM @extschema@.accounts a;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.account_usage', '');

CREATE FUNCTION @extschema@.take_quota()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ss_take_quota'
LANGUAGE C;
CREATE FUNCTION @extschema@.release_quota()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ss_release_quota'
LANGUAGE C;
-- AFTER INSERT: a row INSERT ... ON CONFLICT never inserts is never counted
CREATE TRIGGER stores_take_quota AFTER INSERT ON @extschema@.stores
    FOR EACH ROW EXECUTE FUNCTION @extschema@.take_quota('stores');
CREATE TRIGGER stores_release_quota AFTER DELETE ON @extschema@.stores
    FOR EACH ROW EXECUTE FUNCTION @extschema@.release_quota('stores');
CREATE TRIGGER secrets_take_quota AFTER INSERT ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.take_quota('secrets');
CREATE TRIGGER secrets_release_quota AFTER DELETE ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.release_quota('secrets');

-- after a bulk load that bypassed triggers
CREATE FUNCTION @extschema@.recount_usage()
RETURNS integer
AS 'MODULE_PATHNAME', 'ss_recount_usage'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.recount_usage() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recount_usage() TO secrets_store_operator;
REVOKE ALL ON FUNCTION @extschema@.take_quota(), @extschema@.release_quota() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.stores_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM secrets_store.note_unique_key('stores_account_id_name_key',
        format('A store named "%s" already exists in this account.', NEW.name));
    IF TG_OP = 'INSERT' THEN
        PERFORM secrets_store.require_action(NEW.account_id, 'store.create');
        PERFORM secrets_store.check_store_name(NEW.name);
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

-------------------------------------------------------------------------------
-- 4. The write trigger of secrets does its checks in one C call
--    (src/validate.c) rather than a PL/pgSQL statement per check.
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.validate_secret(account_id uuid, name text, is_insert boolean,
    scopes @extschema@.scope[], comment text, status text)
RETURNS void
AS 'MODULE_PATHNAME', 'ss_validate_secret'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION @extschema@.validate_secret(uuid, text, boolean, @extschema@.scope[], text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.validate_secret(uuid, text, boolean, @extschema@.scope[], text, text)
    TO secrets_store_user;

CREATE OR REPLACE FUNCTION @extschema@.secrets_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me uuid := secrets_store.current_member_id();
BEGIN
    IF TG_OP = 'UPDATE' THEN
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
        NEW.created_at := OLD.created_at;
        NEW.created_by := OLD.created_by;
    ELSE
        NEW.created_at := now();
        NEW.created_by := me;
    END IF;
    -- the permission (on INSERT), the name, scopes, comment and status
    PERFORM secrets_store.validate_secret(NEW.account_id, NEW.name, TG_OP = 'INSERT',
                                          NEW.scopes, NEW.comment, NEW.status);
    NEW.modified_at := now();
    NEW.modified_by := me;
    RETURN NEW;
END
$$;

-------------------------------------------------------------------------------
-- 5. A value written by INSERT is stored once the row exists (AFTER INSERT),
--    so an INSERT that ON CONFLICT never inserts leaves no sealed value
--    behind; a value that ON CONFLICT DO UPDATE would drop is refused.
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.store_value()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ss_store_value'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@.store_value() FROM PUBLIC;
CREATE TRIGGER secrets_store_value AFTER INSERT ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.store_value();

-------------------------------------------------------------------------------
-- 6. create_secret and duplicate_secret check for a duplicate name instead of
--    catching the unique violation: no subtransaction per call.
-------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.create_secret(store_id uuid, name text, value @extschema@.secret_value,
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
    -- a check, not an exception handler: a subtransaction per call would cost
    -- more than the insert (a concurrent duplicate still meets the index)
    IF secrets_store.secret_scopes(acct, create_secret.store_id, create_secret.name) IS NOT NULL THEN
        RAISE EXCEPTION 'a secret named "%" already exists in this store', create_secret.name
            USING ERRCODE = 'unique_violation',
                  HINT = 'Secret names are unique within a store; edit the existing secret or choose another name.';
    END IF;
    INSERT INTO secrets_store.secrets (account_id, store_id, name, value, scopes, comment)
    VALUES (acct, create_secret.store_id, create_secret.name, create_secret.value,
            create_secret.scopes, coalesce(create_secret.comment, ''))
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.duplicate_secret(secret_id uuid, name text,
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
    IF secrets_store.secret_scopes(acct, source.store_id, duplicate_secret.name) IS NOT NULL THEN
        RAISE EXCEPTION 'a secret named "%" already exists in this store', duplicate_secret.name
            USING ERRCODE = 'unique_violation',
                  HINT = 'Choose another name for the duplicate.';
    END IF;
    -- the value is copied inside C, sealed for transit, bound to this account
    INSERT INTO secrets_store.secrets (account_id, store_id, name, scopes, comment, value)
    VALUES (acct, source.store_id, duplicate_secret.name,
            coalesce(duplicate_secret.scopes, source.scopes),
            coalesce(duplicate_secret.comment, source.comment),
            secrets_store.sealed_copy_of(acct, duplicate_secret.secret_id))
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;
