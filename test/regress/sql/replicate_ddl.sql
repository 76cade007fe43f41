-- spock.replicate_ddl(): what it accepts, what it queues, the errors it gives before queueing
-- anything (docs/ddl.md). Runs in a database of its own.
CREATE DATABASE ddl_regress;
\c ddl_regress
SET client_min_messages = warning;
CREATE EXTENSION spock;
RESET client_min_messages;

-- Without a local node there is nobody to queue for.
SELECT spock.replicate_ddl('CREATE TABLE t0 (id int)');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_create('n1', 'dbname=ddl_regress') > 0 AS created;

-- Commands that are not exactly one DDL statement that can run in a transaction block.
SELECT spock.replicate_ddl('');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('  -- only a comment');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('CREATE TABLE t1 (id int); CREATE TABLE t2 (id int)');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('CREATE TABLE t1 (id int); INSERT INTO t1 VALUES (1)');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('BEGIN');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('COMMIT');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('SAVEPOINT s');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('VACUUM');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('CREATE INDEX CONCURRENTLY i ON spock.node (node_name)');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('DROP INDEX CONCURRENTLY i');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('REINDEX TABLE CONCURRENTLY spock.node');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('CREATE DATABASE x');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('ALTER SYSTEM SET work_mem = ''8MB''');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('INSERT INTO spock.queue VALUES (now(), current_user, NULL, ''Q'', ''"x"'')');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('SELECT 1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('CREAT TABLE t1 (id int)');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Bad arguments.
SELECT spock.replicate_ddl(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('CREATE TABLE t1 (id int)', '{}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('CREATE TABLE t1 (id int)', '{no_such_set}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('CREATE TABLE t1 (id int)', '{ddl_sql}', 'public, "unterminated');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.replicate_ddl('CREATE TABLE t1 (id int)', '{ddl_sql}', 'public', 'no_such_role');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- A DDL statement that fails here is not queued either.
SELECT spock.replicate_ddl('DROP TABLE no_such_table');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Nothing above was queued or created.
SELECT count(*) AS queued FROM spock.queue;
SELECT to_regclass('t1') AS t1;

-- One statement: runs here and is queued with the search_path and the role.
CREATE SCHEMA ddl_s;
SET search_path = ddl_s, public;
SELECT spock.replicate_ddl('CREATE TABLE t1 (id int PRIMARY KEY, v text)');
SHOW search_path;
SELECT to_regclass('ddl_s.t1') AS created;
SELECT role = current_user AS role_is_caller, replication_sets, message_type, message
FROM spock.queue ORDER BY queued_at;
RESET search_path;

-- The given search_path is used for the command, and only for it.
SELECT spock.replicate_ddl('ALTER TABLE t1 ADD COLUMN w int', '{ddl_sql,default}', 'ddl_s');
SHOW search_path;
SELECT attname FROM pg_attribute WHERE attrelid = 'ddl_s.t1'::regclass AND attnum > 0
ORDER BY attnum;
SELECT replication_sets, message FROM spock.queue ORDER BY queued_at DESC LIMIT 1;
-- An empty search_path is queued as '' and used as such: nowhere to create an unqualified table.
SELECT spock.replicate_ddl('CREATE TABLE t_empty_path (id int)', '{ddl_sql}', '');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- The role runs the command: it owns what it creates; the caller must be a member of it.
CREATE ROLE ddl_owner;
CREATE ROLE ddl_other;
GRANT USAGE, CREATE ON SCHEMA ddl_s TO ddl_owner;
SELECT spock.replicate_ddl('CREATE TABLE owned (id int)', '{ddl_sql}', 'ddl_s', 'ddl_owner');
SELECT relowner::regrole FROM pg_class WHERE oid = 'ddl_s.owned'::regclass;
SELECT role, message FROM spock.queue ORDER BY queued_at DESC LIMIT 1;
GRANT EXECUTE ON FUNCTION spock.replicate_ddl(text, text[], text, text) TO ddl_other;
GRANT USAGE ON SCHEMA spock TO ddl_other;
SET ROLE ddl_other;
SELECT spock.replicate_ddl('CREATE TABLE stolen (id int)', '{ddl_sql}', 'ddl_s', 'ddl_owner');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The array form: one call per element, each checked.
SELECT * FROM spock.replicate_ddl(ARRAY['CREATE TABLE a1 (id int)', 'CREATE TABLE a2 (id int)'],
                                  '{ddl_sql}', 'ddl_s');
SELECT * FROM spock.replicate_ddl(ARRAY['CREATE TABLE a3 (id int)', 'VACUUM'], '{ddl_sql}', 'ddl_s');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT to_regclass('ddl_s.a3') AS a3;
SELECT count(*) AS queued FROM spock.queue;

-- Schema-change counters: one row per subscription (none here).
SELECT * FROM spock.schema_change_stats();
SHOW spock.missing_column_action;

\c regression
DROP DATABASE ddl_regress WITH (FORCE);
DROP ROLE ddl_owner;
DROP ROLE ddl_other;
