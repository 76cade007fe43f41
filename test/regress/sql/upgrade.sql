-- Updating from Spock 5.0.x (docs/upgrading.md): a database whose extension is at 5.0.0, 5.0.5
-- or 5.0.11, with rows in its catalog, reaches with ALTER EXTENSION spock UPDATE exactly the
-- catalog a fresh CREATE EXTENSION spock makes (tables, columns, types, defaults, constraints,
-- indexes, views, routines with their signatures, bodies and privileges), keeps its rows, and
-- works afterwards.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS upg_fresh WITH (FORCE);
DROP DATABASE IF EXISTS upg_500 WITH (FORCE);
DROP DATABASE IF EXISTS upg_505 WITH (FORCE);
DROP DATABASE IF EXISTS upg_5011 WITH (FORCE);
DROP DATABASE IF EXISTS upg_auto WITH (FORCE);
CREATE DATABASE upg_fresh;
CREATE DATABASE upg_500;
CREATE DATABASE upg_505;
CREATE DATABASE upg_5011;
CREATE DATABASE upg_auto;
RESET client_min_messages;
SELECT format('host=%s port=%s dbname=',
              split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port')) AS base \gset

-- Every object of schema spock and of the extension as (class, text) rows. The same query runs
-- in every database; oids never appear, names do.
SELECT $fp$
SELECT 'relation' AS class, format('%s|%s|%s|%s|%s', c.relname, c.relkind, c.relpersistence,
       c.reloptions, c.relacl) AS item
FROM pg_class c WHERE c.relnamespace = 'spock'::regnamespace
UNION ALL
SELECT 'column', format('%s.%s|%s|%s|%s|%s|%s|%s|%s', c.relname, a.attname, a.attnum,
       format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attisdropped,
       a.attcollation, pg_get_expr(d.adbin, d.adrelid))
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'spock'::regnamespace AND a.attnum > 0
UNION ALL
SELECT 'constraint', format('%s|%s|%s', conrelid::regclass, conname, pg_get_constraintdef(oid))
FROM pg_constraint WHERE connamespace = 'spock'::regnamespace
UNION ALL
SELECT 'index', pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relnamespace = 'spock'::regnamespace
UNION ALL
SELECT 'view', format('%s|%s', c.relname, pg_get_viewdef(c.oid))
FROM pg_class c WHERE c.relnamespace = 'spock'::regnamespace AND c.relkind = 'v'
UNION ALL
SELECT 'trigger', pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = 'spock'::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT 'routine', format('%s(%s)|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', p.proname,
       pg_get_function_arguments(p.oid), p.prokind, pg_get_function_result(p.oid),
       p.proisstrict, p.provolatile, p.prosecdef, p.proparallel, p.proconfig, p.proacl,
       (SELECT lanname FROM pg_language WHERE oid = p.prolang), p.probin, md5(p.prosrc))
FROM pg_proc p WHERE p.pronamespace = 'spock'::regnamespace
UNION ALL
SELECT 'member', pg_describe_object(classid, objid, objsubid)
FROM pg_depend WHERE deptype = 'e' AND refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'spock')
UNION ALL
SELECT 'extension', format('%s|%s|%s|%s', extversion, extrelocatable, extnamespace::regnamespace,
       extconfig::regclass[])
FROM pg_extension WHERE extname = 'spock'
$fp$ AS fp \gset

-- Helpers outside schema spock in each database (after spock exists there): upg_fp() is the
-- query above, upg_diff() the rows that differ from upg_fresh's, both ways; none expected.
SELECT format($f$
CREATE FUNCTION public.upg_fp() RETURNS TABLE (class text, item text) LANGUAGE sql AS %L;
CREATE FUNCTION public.upg_diff() RETURNS TABLE (side text, class text, item text)
LANGUAGE sql AS $d$
    (SELECT 'missing', * FROM dblink(%L, 'SELECT * FROM public.upg_fp()') AS f(class text, item text)
     EXCEPT ALL SELECT 'missing', * FROM public.upg_fp())
    UNION ALL
    (SELECT 'extra', * FROM public.upg_fp()
     EXCEPT ALL SELECT 'extra', * FROM dblink(%L, 'SELECT * FROM public.upg_fp()')
                                    AS f(class text, item text))
    ORDER BY 2, 3, 1
$d$;
$f$, :'fp', :'base' || 'upg_fresh', :'base' || 'upg_fresh') AS helpers \gset

-- The reference: a fresh 5.1.0, a node of its own, and the fingerprint per class.
\c upg_fresh
CREATE EXTENSION spock;
SELECT spock.node_create('fresh', :'base' || 'upg_fresh') > 0 AS fresh_node;
CREATE EXTENSION dblink;
:helpers
SELECT class, count(*) AS objects FROM public.upg_fp() GROUP BY class ORDER BY class;

-- A 5.0.x catalog with rows in it: this node (u) and a provider (p), their interfaces, the
-- three default sets of u, a member table and sequence, a disabled subscription p -> u with its
-- slot name, its sync status, progress, a queued DDL message, a dependency, a conflict and an
-- exception. Ids are Spock's: node ids 16-bit, the rest as a 5.0 node would have them.
\set fill_500 'INSERT INTO spock.node VALUES (4001, \'u\', \'here\', \'xx\', \'{"tiebreaker": 7}\'), (4002, \'p\', NULL, NULL, NULL); INSERT INTO spock.node_interface VALUES (11, \'u\', 4001, \'dbname=u\'), (12, \'p\', 4002, \'dbname=p\'); INSERT INTO spock.local_node VALUES (4001, 11); INSERT INTO spock.replication_set VALUES (21, 4001, \'default\', true, true, true, true), (22, 4001, \'default_insert_only\', true, false, false, true), (23, 4001, \'ddl_sql\', true, false, false, false); CREATE TABLE public.t (id int PRIMARY KEY, v text); CREATE SEQUENCE public.s; INSERT INTO spock.replication_set_table VALUES (21, \'public.t\', \'{id,v}\', NULL); INSERT INTO spock.replication_set_seq VALUES (21, \'public.s\'); INSERT INTO spock.sequence_state VALUES (\'public.s\'::regclass, 1000, 1); INSERT INTO spock.depend VALUES (\'spock.replication_set_table\'::regclass, 21, \'public.t\'::regclass::int, \'pg_class\'::regclass, \'public.t\'::regclass, 0, \'n\'); INSERT INTO spock.progress VALUES (4001, 4002, \'2026-01-02 03:04:05+00\', \'0/1234\', \'0/1300\', \'2026-01-02 03:04:06+00\', false); INSERT INTO spock.queue VALUES (\'2026-01-02 03:04:00+00\', \'postgres\', \'{ddl_sql}\', \'Q\', \'"CREATE TABLE x ()"\'); INSERT INTO spock.resolutions (node_name, log_time, conflict_type) VALUES (\'u\', \'2026-01-02 03:04:07+00\', \'update_exists\'); INSERT INTO spock.exception_log (remote_origin, remote_commit_ts, command_counter, retry_errored_at, remote_xid, error_message) VALUES (4002, \'2026-01-02 03:04:08+00\', 1, \'2026-01-02 03:04:09+00\', 777, \'boom\')'
\set sync_500 'INSERT INTO spock.local_sync_status VALUES (\'d\', 31, NULL, NULL, \'r\', \'0/1234\')'
\set sub_500 'INSERT INTO spock.subscription VALUES (31, \'sub_p_u\', 4002, 4001, 12, 11, false, \'spk_upg_p_sub_p_u\', \'{default,ddl_sql}\', NULL, \'1 min\', false, \'0/0\''

-- What must have survived, in every updated database.
\set survived 'SELECT n.node_id, n.node_name, n.info, i.if_id, regexp_replace(i.if_dsn, \'^host=\\S+ port=\\d+ \', \'\') AS if_dsn, l.node_id IS NOT NULL AS local FROM spock.node n JOIN spock.node_interface i ON i.if_nodeid = n.node_id LEFT JOIN spock.local_node l ON l.node_id = n.node_id ORDER BY 1; SELECT set_id, set_name, replicate_update FROM spock.replication_set ORDER BY 1; SELECT set_id, set_reloid, set_att_list FROM spock.replication_set_table; SELECT set_id, set_seqoid FROM spock.replication_set_seq; SELECT sub_id, sub_name, sub_origin, sub_target, sub_enabled, sub_slot_name, sub_replication_sets, sub_apply_delay, sub_skip_schema, sub_created_at FROM spock.subscription; SELECT sync_kind, sync_subid, sync_status, sync_statuslsn FROM spock.local_sync_status; SELECT node_id, remote_node_id, remote_lsn, remote_insert_lsn FROM spock.progress; SELECT role, message_type, message::text FROM spock.queue; SELECT id, node_name, conflict_type FROM spock.resolutions; SELECT remote_origin, remote_xid, error_message FROM spock.exception_log; SELECT count(*) AS depend_rows FROM spock.depend'

-- 5.0.0: the whole chain. In one transaction, so that the database's manager (which updates an
-- old spock by itself) cannot take the update first.
\c upg_500
CREATE EXTENSION dblink;
BEGIN;
CREATE EXTENSION spock VERSION '5.0.0';
SELECT extversion FROM pg_extension WHERE extname = 'spock';
:fill_500;
:sub_500);
:sync_500;
UPDATE spock.node_interface SET if_dsn = :'base' || current_database() WHERE if_id = 11;
-- A 5.0.0 function is a stub that says what to do.
SAVEPOINT stub;
SELECT spock.sync_event();
ROLLBACK TO stub;
ALTER EXTENSION spock UPDATE;
COMMIT;
:helpers
SELECT * FROM public.upg_diff();
:survived;
SELECT extversion FROM pg_extension WHERE extname = 'spock';

-- It works: a new set and member, a subscription to the fresh node (disabled: no worker), and
-- back out again.
SELECT spock.repset_create('after_update') > 0 AS set_created;
CREATE TABLE public.t2 (id int PRIMARY KEY);
SELECT spock.repset_add_table('after_update', 'public.t2');
SELECT set_name FROM spock.tables WHERE relname = 't2';
SELECT spock.sub_create('sub_fresh_u', :'base' || 'upg_fresh', enabled := false) > 0 AS sub_created;
SELECT sub_name, sub_slot_name, sub_created_at IS NOT NULL AS has_created_at
FROM spock.subscription ORDER BY sub_id;
SELECT spock.sub_drop('sub_fresh_u') <> 0 AS sub_dropped;
SELECT spock.spock_version();

-- 5.0.5: from the middle, with sub_skip_schema still text.
\c upg_505
CREATE EXTENSION dblink;
BEGIN;
CREATE EXTENSION spock VERSION '5.0.5';
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'spock.subscription'::regclass AND attname = 'sub_skip_schema';
:fill_500;
:sub_500, '{audit,"odd name"}');
:sync_500;
UPDATE spock.node_interface SET if_dsn = :'base' || current_database() WHERE if_id = 11;
ALTER EXTENSION spock UPDATE;
COMMIT;
:helpers
SELECT * FROM public.upg_diff();
:survived;

-- 5.0.11: the last step alone, from the final 5.0 catalog.
\c upg_5011
CREATE EXTENSION dblink;
BEGIN;
CREATE EXTENSION spock VERSION '5.0.11';
:fill_500;
:sub_500, '{audit}', '2026-01-01 00:00:00+00');
:sync_500;
UPDATE spock.node_interface SET if_dsn = :'base' || current_database() WHERE if_id = 11;
-- A user view over a spock view stops the update with PostgreSQL's own error, and nothing
-- changes; without it the update goes through.
CREATE VIEW public.my_tables AS SELECT relname, set_name FROM spock.tables;
SAVEPOINT blocked;
ALTER EXTENSION spock UPDATE;
ROLLBACK TO blocked;
SELECT extversion FROM pg_extension WHERE extname = 'spock';
DROP VIEW public.my_tables;
ALTER EXTENSION spock UPDATE;
COMMIT;
:helpers
SELECT * FROM public.upg_diff();
:survived;

-- The manager updates a database left at 5.0.x by itself (spock.so replaced under a database
-- Spock made): upg_auto is committed at 5.0.11 with a node, and the subscription made below
-- wakes the supervisor, which starts a manager for upg_auto.
\c upg_auto
CREATE EXTENSION dblink;
BEGIN;
CREATE EXTENSION spock VERSION '5.0.11';
:fill_500;
:sub_500, NULL, '2026-01-01 00:00:00+00');
:sync_500;
COMMIT;
\c upg_5011
SELECT spock.sub_create('sub_fresh_u', :'base' || 'upg_fresh', enabled := false) > 0 AS sub_created;
SELECT spock.sub_drop('sub_fresh_u') <> 0 AS sub_dropped;
\c upg_auto
DO $$
BEGIN
    FOR i IN 1..1200 LOOP
        EXIT WHEN (SELECT extversion FROM pg_extension WHERE extname = 'spock') = '5.1.0';
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;
SELECT extversion FROM pg_extension WHERE extname = 'spock';
:helpers
SELECT * FROM public.upg_diff();
SELECT sub_id, sub_name, sub_slot_name FROM spock.subscription;

-- An update path exists from every 5.0.x version.
SELECT source, target, path FROM pg_extension_update_paths('spock')
WHERE target = '5.1.0' AND source LIKE '5.0.%' ORDER BY string_to_array(source, '.')::int[];

-- sub_drop dropped the slots the subscriptions made on the provider.
\c upg_fresh
SELECT count(*) AS slots_left FROM pg_replication_slots;
\c regression
SET client_min_messages = warning;
DROP DATABASE upg_fresh WITH (FORCE);
DROP DATABASE upg_500 WITH (FORCE);
DROP DATABASE upg_505 WITH (FORCE);
DROP DATABASE upg_5011 WITH (FORCE);
DROP DATABASE upg_auto WITH (FORCE);
RESET client_min_messages;
