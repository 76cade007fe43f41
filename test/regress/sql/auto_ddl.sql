-- Automatic DDL replication (docs/ddl.md "Automatic DDL"): what the ProcessUtility hook queues
-- for each statement class, what it leaves out and why, include_ddl_repset, deny_all_ddl.
-- Runs in a database of its own.
CREATE DATABASE autoddl_regress;
\c autoddl_regress
SET client_min_messages = warning;
CREATE EXTENSION spock;
RESET client_min_messages;

-- The four settings and their defaults.
SELECT name, setting, context FROM pg_settings
WHERE name IN ('spock.enable_ddl_replication', 'spock.include_ddl_repset',
               'spock.allow_ddl_from_functions', 'spock.deny_all_ddl') ORDER BY name;

-- Off by default: nothing is queued.
SELECT spock.node_create('n1', 'dbname=autoddl_regress') > 0 AS created;
CREATE TABLE off_t (id int PRIMARY KEY);
SELECT count(*) AS queued FROM spock.queue;

CREATE VIEW q AS
    SELECT message_type AS type, role = current_user AS my_role, replication_sets AS sets,
           message #>> '{}' AS text
    FROM spock.queue ORDER BY queued_at, message::text;

SET spock.enable_ddl_replication = on;

-- Replicated: each statement of a multi-statement query on its own, with the search_path.
CREATE SCHEMA app;
SET search_path = app, public;
CREATE TABLE t1 (id bigint PRIMARY KEY, v text); CREATE TABLE t2 (x int);
ALTER TABLE t1 ADD COLUMN w int DEFAULT 7;
CREATE INDEX t1_v ON t1 (v);
ALTER TABLE t1 RENAME COLUMN w TO w2;
COMMENT ON TABLE t1 IS 'auto';
CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
DROP TABLE t2;
SELECT type, my_role, sets, text FROM q;
TRUNCATE spock.queue;

-- Left out, each with a WARNING saying why.
CREATE TEMP TABLE tmp1 (id int);
CREATE TEMPORARY VIEW tmpv AS SELECT 1 AS one;
CREATE VIEW implicit_tmpv AS SELECT * FROM tmp1;
CREATE TEMP SEQUENCE tmps;
ALTER TABLE tmp1 ADD COLUMN v text;
CREATE INDEX ON tmp1 (v);
DROP TABLE tmp1 CASCADE;
CREATE TABLE spock.mine (id int);
DROP TABLE spock.mine;
CREATE INDEX CONCURRENTLY t1_v2 ON t1 (v);
DROP INDEX CONCURRENTLY t1_v2;
ALTER DATABASE autoddl_regress SET work_mem = '8MB';
ALTER DATABASE autoddl_regress RESET work_mem;
PREPARE p AS SELECT 1 AS a;
CREATE TABLE from_exec AS EXECUTE p;
DO $$ BEGIN CREATE TABLE in_do (id int); END $$;
CREATE FUNCTION mk() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE in_fn (id int); END $$;
SELECT mk();
-- Not DDL: nothing at all.
INSERT INTO t1 VALUES (1, 'a');
VACUUM t1;
SELECT text FROM q;
TRUNCATE spock.queue;

-- allow_ddl_from_functions: the statement inside the function is queued, not the call.
SET spock.allow_ddl_from_functions = on;
CREATE FUNCTION mk2() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE in_fn2 (id int); END $$;
SELECT mk2();
SELECT text FROM q;
RESET spock.allow_ddl_from_functions;
TRUNCATE spock.queue;

-- A failed statement queues nothing; a rolled back one neither.
CREATE TABLE t1 (id int);
BEGIN;
CREATE TABLE rolled_back (id int);
ROLLBACK;
SELECT count(*) AS queued FROM spock.queue;

-- Repair mode keeps the statement here.
BEGIN;
SELECT spock.repair_mode(true) IS NOT NULL AS repair;
CREATE TABLE repaired (id int);
SELECT spock.repair_mode(false) IS NOT NULL AS repair_off;
COMMIT;
SELECT count(*) AS queued FROM spock.queue;

-- include_ddl_repset: keyed tables into default, keyless into default_insert_only, unlogged
-- out of all, partitions follow their parent; sets chosen by hand stay.
SET spock.include_ddl_repset = on;
CREATE TABLE keyed (id int PRIMARY KEY);
CREATE TABLE keyless (id int);
CREATE UNLOGGED TABLE unl (id int PRIMARY KEY);
CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TABLE asel AS SELECT 1 AS id;
CREATE VIEW sets AS
    SELECT t.set_reloid::text AS rel, s.set_name
    FROM spock.replication_set_table t JOIN spock.replication_set s USING (set_id)
    ORDER BY 1, 2;
SELECT * FROM sets;
ALTER TABLE keyless ADD PRIMARY KEY (id);
ALTER TABLE keyed SET UNLOGGED;
SELECT * FROM sets;
ALTER TABLE keyed SET LOGGED;
SELECT * FROM sets;
SET spock.enable_ddl_replication = off;
-- include_ddl_repset alone acts only on replicated DDL (replicate_ddl here).
CREATE TABLE by_hand (id int PRIMARY KEY);
SELECT spock.replicate_ddl('CREATE TABLE by_replicate_ddl (id int PRIMARY KEY)');
SELECT * FROM sets WHERE rel LIKE 'by_%';
SET spock.enable_ddl_replication = on;
RESET spock.include_ddl_repset;
TRUNCATE spock.queue;

-- ALTER TABLE carries the table's fingerprint before the statement, in a leading comment.
ALTER TABLE keyed ADD COLUMN "we*/ird" text;
ALTER TABLE keyed ADD COLUMN again int;
SELECT text FROM q;
TRUNCATE spock.queue;

-- deny_all_ddl: refused before it runs, with SQLSTATE 42501; superuser only.
SET spock.deny_all_ddl = on;
CREATE TABLE denied (id int);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT to_regclass('app.denied') AS denied;
INSERT INTO t1 VALUES (2, 'b');
RESET spock.deny_all_ddl;
CREATE ROLE autoddl_user;
SET ROLE autoddl_user;
SET spock.deny_all_ddl = off;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE autoddl_user;
SELECT count(*) AS queued FROM spock.queue;

-- No local node: nothing is queued.
SET spock.enable_ddl_replication = off;
SELECT spock.node_drop('n1');
SET spock.enable_ddl_replication = on;
CREATE TABLE no_node (id int);
SELECT count(*) AS queued FROM spock.queue;

\c regression
DROP DATABASE autoddl_regress WITH (FORCE);
