-- Install the extension and the shared fixture (test/fixtures/people.sql).
CREATE EXTENSION secrets_store;
\set ECHO none
\i test/fixtures/people.sql
\set ECHO all
SELECT name FROM secrets_store.accounts ORDER BY name;
SELECT email, db_role FROM secrets_store.members ORDER BY email;
