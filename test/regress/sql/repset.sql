-- Replication sets, their tables and sequences (reference §3.3), partitions (§10.3), row and
-- column filters (§10.4), the spock.tables view, and the object-access hook that keeps
-- membership in step with DROP TABLE / DROP SEQUENCE / DROP SCHEMA ... CASCADE, refuses to drop
-- a column that a set uses, and follows renamed and retyped columns. Every function: normal
-- path, the catalog rows it leaves, bad input with its SQLSTATE, NULL arguments (22004, naming
-- the argument, instead of Spock's silent NULL), and failing calls leaving nothing behind.
\set err '\\echo SQLSTATE :LAST_ERROR_SQLSTATE'

-- Without a local node every function refuses (55000). A database of its own, so that this
-- holds whatever state earlier tests left here.
CREATE DATABASE repset_nonode;
\c repset_nonode
CREATE EXTENSION spock;
SELECT spock.repset_create('s');
:err
SELECT spock.repset_drop('s', true);
:err
CREATE TABLE nonode (id int PRIMARY KEY);
SELECT spock.repset_add_table('default', 'nonode');
:err
SELECT * FROM spock.repset_show_table('nonode', '{default}');
:err
\c regression
-- FORCE: the session just left may not have exited yet.
DROP DATABASE repset_nonode WITH (FORCE);

\set err '\\echo SQLSTATE :LAST_ERROR_SQLSTATE'
-- Create the local node unless an earlier test left one; remember whether we did, to drop it
-- at the end.
CREATE TEMP TABLE repset_state AS
SELECT NOT EXISTS (SELECT 1 FROM spock.local_node) AS created_node;
DO $$
BEGIN
    IF (SELECT created_node FROM repset_state) THEN
        PERFORM spock.node_create('test_node', 'dbname=regression');
    END IF;
END $$;
SELECT node_id AS local_id FROM spock.local_node \gset

-- Set ids are hash_any of the 8 bytes {node id, hash_any(name)}: PostgreSQL's hashoidvector.
CREATE FUNCTION pg_temp.set_id_of(name text) RETURNS oid LANGUAGE sql STABLE AS $$
    SELECT hashoidvector(format('%s %s', l.node_id, hashtext(name)::oid)::oidvector)::oid
    FROM spock.local_node l $$;

-- What spock records about the objects of this test (schemas repset_*, "Repset Case").
CREATE TEMP VIEW sets AS
SELECT set_name, replicate_insert AS ins, replicate_update AS upd, replicate_delete AS del,
       replicate_truncate AS trunc, set_id = pg_temp.set_id_of(set_name) AS id_is_hash
FROM spock.replication_set WHERE set_nodeid = (SELECT node_id FROM spock.local_node)
ORDER BY set_name;
CREATE TEMP VIEW members AS
SELECT s.set_name, t.set_reloid AS relation, t.set_att_list AS att_list,
       pg_get_expr(t.set_row_filter, t.set_reloid) AS row_filter
FROM spock.replication_set_table t JOIN spock.replication_set s USING (set_id)
JOIN pg_class c ON c.oid = t.set_reloid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname ILIKE 'repset%'
ORDER BY s.set_name, t.set_reloid::regclass::text COLLATE "C";
CREATE TEMP VIEW seq_members AS
SELECT s.set_name, q.set_seqoid AS sequence, st.cache_size, st.last_value
FROM spock.replication_set_seq q JOIN spock.replication_set s USING (set_id)
JOIN pg_class c ON c.oid = q.set_seqoid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN spock.sequence_state st ON st.seqoid = q.set_seqoid
WHERE n.nspname ILIKE 'repset%'
ORDER BY s.set_name, q.set_seqoid::regclass::text COLLATE "C";
-- spock.depend: (replication_set_table, set id, reloid) -> (pg_class, reloid).
CREATE TEMP VIEW deps AS
SELECT d.classid::regclass, s.set_name, d.objsubid::oid::regclass AS member,
       d.refclassid::regclass, d.refobjid::regclass, d.refobjsubid, d.deptype,
       d.objsubid::oid = d.refobjid AS same_rel
FROM spock.depend d JOIN spock.replication_set s ON s.set_id = d.objid
JOIN pg_namespace n ON n.oid = (SELECT relnamespace FROM pg_class WHERE oid = d.refobjid)
WHERE n.nspname ILIKE 'repset%'
ORDER BY s.set_name, d.objsubid::oid::regclass::text COLLATE "C";
-- repset_show_table without the OID.
CREATE FUNCTION pg_temp.show_table(rel regclass, sets text[])
    RETURNS TABLE (relid regclass, nspname text, relname text, att_list text[],
                   has_row_filter boolean, relkind "char", relispartition boolean)
    LANGUAGE sql AS $$
    SELECT relid::regclass, nspname, relname, att_list, has_row_filter, relkind, relispartition
    FROM spock.repset_show_table(rel, sets) $$;
CREATE TEMP VIEW queued AS
SELECT message_type, replication_sets, message::text, role = current_user AS by_me
FROM spock.queue WHERE message->>'schema_name' ILIKE 'repset%'
ORDER BY queued_at, message::text COLLATE "C";
-- A digest of every row spock keeps about sets, to show that failing calls leave nothing.
CREATE FUNCTION pg_temp.fingerprint() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(r::text, ',' ORDER BY r::text) FROM spock.replication_set r),
        (SELECT string_agg(r::text, ',' ORDER BY r::text) FROM spock.replication_set_table r),
        (SELECT string_agg(r::text, ',' ORDER BY r::text) FROM spock.replication_set_seq r),
        (SELECT string_agg(r::text, ',' ORDER BY r::text) FROM spock.sequence_state r),
        (SELECT string_agg(r::text, ',' ORDER BY r::text) FROM spock.depend r),
        (SELECT count(*)::text FROM spock.queue))) $$;
-- Rows that point at relations which no longer exist, anywhere in spock's catalog.
CREATE TEMP VIEW orphans AS
SELECT (SELECT count(*) FROM spock.replication_set_table t
        WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = t.set_reloid)) AS tables,
       (SELECT count(*) FROM spock.replication_set_seq q
        WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = q.set_seqoid)) AS seqs,
       (SELECT count(*) FROM spock.sequence_state q
        WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = q.seqoid)) AS seq_states,
       (SELECT count(*) FROM spock.depend d
        WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = d.refobjid)) AS depends;

---------------------------------------------------------------------------------------------
-- The three default sets of the local node.
SELECT * FROM sets;

---------------------------------------------------------------------------------------------
-- repset_create: the id is the hash, the flags default to true.
SELECT spock.repset_create('repset_all') = pg_temp.set_id_of('repset_all') AS id_is_hash;
SELECT spock.repset_create('repset_ins', replicate_update := false, replicate_delete := false,
                           replicate_truncate := false) IS NOT NULL AS created;
SELECT * FROM sets WHERE set_name LIKE 'repset%';
SELECT spock.repset_create('repset_all');
:err
SELECT spock.repset_create('default');
:err
SELECT spock.repset_create('');
:err
SELECT spock.repset_create(NULL);
:err
SELECT spock.repset_create('repset_x', NULL);
:err
SELECT spock.repset_create('repset_x', replicate_truncate := NULL);
:err
SELECT count(*) AS sets FROM sets;

---------------------------------------------------------------------------------------------
-- The tables of this test.
CREATE SCHEMA repset_test;
SET search_path = repset_test, public;
CREATE TABLE t_pk (id int PRIMARY KEY, a int, b text, c text);
CREATE TABLE t_nopk (a int, b int);
CREATE TABLE t_full_pk (id int PRIMARY KEY, v int);
ALTER TABLE t_full_pk REPLICA IDENTITY FULL;
CREATE TABLE t_full_nopk (id int, v int);
ALTER TABLE t_full_nopk REPLICA IDENTITY FULL;
CREATE TABLE t_nothing_pk (id int PRIMARY KEY, v int);
ALTER TABLE t_nothing_pk REPLICA IDENTITY NOTHING;
CREATE TABLE t_ri (id int PRIMARY KEY, k int NOT NULL, v int);
CREATE UNIQUE INDEX t_ri_k ON t_ri (k);
ALTER TABLE t_ri REPLICA IDENTITY USING INDEX t_ri_k;
CREATE TABLE t_other (id int PRIMARY KEY, x int);
CREATE UNLOGGED TABLE t_unlogged (id int PRIMARY KEY);
CREATE TEMP TABLE t_temp (id int PRIMARY KEY);
CREATE VIEW v AS SELECT 1 AS one;
CREATE SEQUENCE s1;
CREATE SCHEMA "Repset Case";
CREATE TABLE "Repset Case"."Mixed Table" ("Id" int PRIMARY KEY, "Amount" int, "weird""col" text);

---------------------------------------------------------------------------------------------
-- repset_add_table: the membership row, its spock.depend row, no queue message without sync.
SELECT spock.repset_add_table('repset_all', 't_pk');
SELECT * FROM members;
SELECT * FROM deps;
SELECT count(*) AS messages FROM queued;
-- synchronize_data queues a TABLESYNC message ('A') for this set.
SELECT spock.repset_add_table('repset_ins', 't_pk', synchronize_data := true);
SELECT * FROM queued;
SELECT pg_temp.fingerprint() AS fp \gset
-- Already a member.
SELECT spock.repset_add_table('repset_all', 't_pk');
:err
-- Unknown set, not a table, unlogged, temporary, spock's and the system's own tables.
SELECT spock.repset_add_table('nosuchset', 't_pk');
:err
SELECT spock.repset_add_table('repset_all', 'v');
:err
SELECT spock.repset_add_table('repset_all', 's1');
:err
SELECT spock.repset_add_table('repset_all', 't_pk_pkey');
:err
SELECT spock.repset_add_table('repset_all', 't_unlogged');
:err
\set VERBOSITY terse
-- (terse: the detail would name this session's pg_temp_N schema)
SELECT spock.repset_add_table('repset_all', 't_temp');
:err
\set VERBOSITY default
SELECT spock.repset_add_table('repset_all', 'spock.node');
:err
SELECT spock.repset_add_table('repset_all', 'pg_class');
:err
-- NULL arguments: set_name, relation, synchronize_data and include_partitions are required;
-- columns and row_filter may be NULL.
SELECT spock.repset_add_table(NULL, 't_other');
:err
SELECT spock.repset_add_table('repset_all', NULL);
:err
SELECT spock.repset_add_table('repset_all', 't_other', NULL);
:err
SELECT spock.repset_add_table('repset_all', 't_other', include_partitions := NULL);
:err
SELECT pg_temp.fingerprint() = :'fp' AS nothing_changed;
SELECT spock.repset_add_table('repset_all', 't_other', false, NULL, NULL, true);
SELECT * FROM members WHERE relation = 't_other'::regclass;

---------------------------------------------------------------------------------------------
-- Replica identity. A set that replicates UPDATE or DELETE needs a primary key or a replica
-- identity index; REPLICA IDENTITY FULL is accepted when there is a primary key to find rows by.
SELECT spock.repset_add_table('repset_all', 't_nopk');
:err
SELECT spock.repset_add_table('repset_all', 't_full_nopk');
:err
SELECT spock.repset_add_table('repset_all', 't_nothing_pk');
:err
SELECT spock.repset_add_table('repset_all', 't_full_pk');
SELECT spock.repset_add_table('repset_all', 't_ri');
-- An insert-only set takes tables without a key.
SELECT spock.repset_add_table('repset_ins', 't_nopk');
SELECT * FROM members;

---------------------------------------------------------------------------------------------
-- repset_alter: NULL keeps a flag, the id comes back.
SELECT spock.repset_alter('repset_ins', replicate_truncate := true)
       = pg_temp.set_id_of('repset_ins') AS returns_id;
SELECT * FROM sets WHERE set_name = 'repset_ins';
SELECT spock.repset_alter('repset_ins', NULL, NULL, NULL, NULL) IS NOT NULL AS unchanged;
SELECT * FROM sets WHERE set_name = 'repset_ins';
-- Turning UPDATE or DELETE on is refused while a member (t_nopk) has no key.
SELECT spock.repset_alter('repset_ins', replicate_update := true);
:err
SELECT spock.repset_alter('repset_ins', replicate_delete := true);
:err
SELECT * FROM sets WHERE set_name = 'repset_ins';
-- Once the table has a key it is allowed; turning them off again is always allowed.
ALTER TABLE t_nopk ADD PRIMARY KEY (a);
SELECT spock.repset_alter('repset_ins', replicate_update := true, replicate_delete := true)
    IS NOT NULL AS altered;
SELECT * FROM sets WHERE set_name = 'repset_ins';
SELECT spock.repset_alter('repset_ins', false, false, false, false) IS NOT NULL AS altered;
SELECT * FROM sets WHERE set_name = 'repset_ins';
ALTER TABLE t_nopk DROP CONSTRAINT t_nopk_pkey;
SELECT spock.repset_alter('repset_ins', replicate_insert := true, replicate_truncate := true)
    IS NOT NULL AS altered;
SELECT * FROM sets WHERE set_name = 'repset_ins';
-- repset_all holds t_full_pk (REPLICA IDENTITY FULL with a primary key) and t_ri (USING INDEX).
SELECT spock.repset_alter('repset_all', replicate_update := false, replicate_delete := false)
    IS NOT NULL AS altered;
SELECT spock.repset_alter('repset_all', replicate_update := true, replicate_delete := true)
    IS NOT NULL AS altered;
SELECT * FROM sets WHERE set_name = 'repset_all';
SELECT spock.repset_alter('nosuchset', replicate_insert := true);
:err
SELECT spock.repset_alter(NULL, replicate_insert := true);
:err

---------------------------------------------------------------------------------------------
-- Column lists: stored as given; every replica identity column must be in them.
SELECT spock.repset_create('repset_cols') IS NOT NULL AS created;
SELECT spock.repset_add_table('repset_cols', 't_pk', columns := '{id,b}');
SELECT pg_temp.fingerprint() AS fp \gset
SELECT spock.repset_add_table('repset_cols', 't_other', columns := '{x}');
:err
SELECT spock.repset_add_table('repset_cols', 't_other', columns := '{id,nosuch}');
:err
SELECT spock.repset_add_table('repset_cols', 't_other', columns := '{id,x,id}');
:err
SELECT spock.repset_add_table('repset_cols', 't_other', columns := '{}');
:err
SELECT spock.repset_add_table('repset_cols', 't_other', columns := '{id,NULL}');
:err
-- Dropped columns do not count.
ALTER TABLE t_other ADD COLUMN gone int;
ALTER TABLE t_other DROP COLUMN gone;
SELECT spock.repset_add_table('repset_cols', 't_other', columns := '{id,gone}');
:err
-- With REPLICA IDENTITY USING INDEX it is the index's column (k) that is required, not the
-- primary key.
SELECT spock.repset_add_table('repset_cols', 't_ri', columns := '{id,v}');
:err
SELECT pg_temp.fingerprint() = :'fp' AS nothing_changed;
SELECT spock.repset_add_table('repset_cols', 't_ri', columns := '{k,v}');
-- Quoted names are taken literally.
SELECT spock.repset_add_table('repset_cols', '"Repset Case"."Mixed Table"',
                              columns := '{Id,"weird\"col"}');
SELECT * FROM members WHERE set_name = 'repset_cols';

---------------------------------------------------------------------------------------------
-- Row filters: compiled like a CHECK constraint over the table alone and stored as a node tree.
SELECT spock.repset_create('repset_filter') IS NOT NULL AS created;
SELECT spock.repset_add_table('repset_filter', 't_pk', row_filter := 'a > 10 AND b <> ''x''');
-- A comment at the end is part of the text and harmless.
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'x IS NULL -- note');
SELECT spock.repset_add_table('repset_filter', '"Repset Case"."Mixed Table"',
                              row_filter := '"Amount" > 0 OR "weird""col" LIKE ''a%''');
SELECT * FROM members WHERE set_name = 'repset_filter';
SELECT spock.repset_remove_table('repset_filter', 't_other');
SELECT pg_temp.fingerprint() AS fp \gset
-- Not boolean; a subquery; an aggregate; a window function; a set-returning function.
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'x + 1');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'x IN (SELECT 1)');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'count(*) > 0');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'row_number() OVER () > 1');
:err
SELECT spock.repset_add_table('repset_filter', 't_other',
                              row_filter := 'generate_series(1, x) > 1');
:err
-- Another table's column; an unknown column; a system column; a parameter.
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 't_pk.a > 1');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'nosuch > 1');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'ctid > ''(0,1)''');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'x > $1');
:err
-- More than one expression, or more than an expression.
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'x > 1, id > 1');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'x > 1 AS keep');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := '*');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 't_other.*');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := '');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'x >');
:err
-- Attempts to smuggle in SQL of its own: another FROM (with and without a comment to cut off
-- ours), a second statement, a set operation, a CTE. The text is only parsed, never run.
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'true FROM pg_class --');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'true FROM pg_class, ');
:err
SELECT spock.repset_add_table('repset_filter', 't_other',
                              row_filter := 'true; DROP TABLE repset_test.t_pk; SELECT true');
:err
SELECT spock.repset_add_table('repset_filter', 't_other',
                              row_filter := 'true UNION SELECT false');
:err
SELECT spock.repset_add_table('repset_filter', 't_other', row_filter := 'true /*');
:err
SELECT to_regclass('repset_test.t_pk') IS NOT NULL AS t_pk_still_there;
SELECT pg_temp.fingerprint() = :'fp' AS nothing_changed;
SELECT * FROM members WHERE set_name = 'repset_filter';

---------------------------------------------------------------------------------------------
-- repset_show_table: att_list is every live column unless the named sets have column lists
-- for the table; then it is their union, and a set without a list widens it to every column.
SELECT * FROM pg_temp.show_table('t_pk', '{repset_cols}');
SELECT * FROM pg_temp.show_table('t_pk', '{repset_filter}');
SELECT * FROM pg_temp.show_table('t_pk', '{repset_cols,repset_filter}');
SELECT spock.repset_create('repset_cols2') IS NOT NULL AS created;
SELECT spock.repset_add_table('repset_cols2', 't_pk', columns := '{c,id}');
SELECT att_list FROM pg_temp.show_table('t_pk', '{repset_cols,repset_cols2}');
SELECT att_list FROM pg_temp.show_table('t_pk', '{repset_cols,repset_cols2,repset_all}');
-- Sets that do not contain the table are ignored; a set that does not exist is an error, as
-- in Spock.
SELECT * FROM pg_temp.show_table('t_other', '{repset_cols}');
SELECT * FROM pg_temp.show_table('t_other', '{repset_cols,nosuchset}');
:err
SELECT * FROM pg_temp.show_table('t_other', '{}');
-- Dropped columns are never listed.
SELECT att_list FROM pg_temp.show_table('t_other', '{repset_all}');
SELECT spock.repset_show_table(NULL, '{default}');
:err
SELECT spock.repset_show_table('t_pk', NULL);
:err
SELECT spock.repset_drop('repset_cols2');

---------------------------------------------------------------------------------------------
-- repset_remove_table removes the row and its spock.depend row.
SELECT count(*) AS deps_before FROM deps WHERE set_name = 'repset_cols';
SELECT spock.repset_remove_table('repset_cols', 't_ri');
SELECT * FROM members WHERE set_name = 'repset_cols';
SELECT * FROM deps WHERE set_name = 'repset_cols';
SELECT spock.repset_remove_table('repset_cols', 't_ri');
:err
SELECT spock.repset_remove_table('nosuchset', 't_pk');
:err
SELECT spock.repset_remove_table(NULL, 't_pk');
:err
SELECT spock.repset_remove_table('repset_cols', NULL);
:err
SELECT spock.repset_remove_table('repset_cols', 't_pk', NULL);
:err

---------------------------------------------------------------------------------------------
-- Partitions. The partitions number their columns differently: pt_us was created with its
-- columns in another order, pt_asia with a column since dropped. Filters are compiled for each
-- partition, so the stored attribute numbers are each partition's own.
CREATE TABLE pt (id int, region text, amount int, note text, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE pt_eu PARTITION OF pt FOR VALUES IN ('eu');
CREATE TABLE pt_us (note text, amount int, region text NOT NULL, id int NOT NULL);
ALTER TABLE pt ATTACH PARTITION pt_us FOR VALUES IN ('us');
CREATE TABLE pt_asia (junk int, id int NOT NULL, region text NOT NULL, amount int, note text);
ALTER TABLE pt_asia DROP COLUMN junk;
ALTER TABLE pt ATTACH PARTITION pt_asia FOR VALUES IN ('asia');
-- A partition that is itself partitioned.
CREATE TABLE pt_sa PARTITION OF pt FOR VALUES IN ('sa', 'sb') PARTITION BY LIST (region);
CREATE TABLE pt_sa1 PARTITION OF pt_sa FOR VALUES IN ('sa');
CREATE TEMP VIEW part_members AS
SELECT set_name, relation, att_list, row_filter,
       substring(t.set_row_filter::text FROM ':varattno (\d+)')::int AS filter_attnum,
       (SELECT attnum FROM pg_attribute WHERE attrelid = relation AND attname = 'amount')
           AS amount_attnum
FROM members m JOIN spock.replication_set_table t ON t.set_reloid = m.relation
     AND t.set_id = pg_temp.set_id_of(m.set_name)
WHERE relation::text LIKE 'pt%'
ORDER BY m.set_name, m.relation::text COLLATE "C";
SELECT spock.repset_create('repset_parts') IS NOT NULL AS created;
-- include_partitions (the default) adds the whole tree with the parent's list and filter;
-- synchronize_data queues the parent only.
SELECT spock.repset_add_table('repset_parts', 'pt', synchronize_data := true,
                              columns := '{id,region,amount}', row_filter := 'amount > 10');
SELECT * FROM part_members;
SELECT count(*) AS deps FROM deps WHERE set_name = 'repset_parts';
SELECT * FROM queued WHERE message::text LIKE '%pt%';
-- include_partitions := false adds the parent alone.
SELECT spock.repset_add_table('repset_ins', 'pt', include_partitions := false);
SELECT * FROM part_members WHERE set_name = 'repset_ins';
-- A partition that cannot be replicated fails the whole call, and nothing is left behind.
CREATE UNLOGGED TABLE pt_unlogged PARTITION OF pt FOR VALUES IN ('xx');
SELECT spock.repset_add_table('repset_all', 'pt');
:err
SELECT count(*) AS rows_left FROM members
WHERE set_name = 'repset_all' AND relation::text LIKE 'pt%';
DROP TABLE pt_unlogged;

-- repset_add_partition: partitions attached later are added to every set that holds the
-- parent, with the parent's column list and filter; the count of rows added comes back.
CREATE TABLE pt_af (region text NOT NULL, amount int, id int NOT NULL, note text);
ALTER TABLE pt ATTACH PARTITION pt_af FOR VALUES IN ('af');
CREATE TABLE pt_oc PARTITION OF pt FOR VALUES IN ('oc');
-- repset_ins held the parent alone, so it gets every partition now.
SELECT spock.repset_add_partition('pt');
SELECT * FROM part_members;
SELECT spock.repset_add_partition('pt');
-- One partition, with a filter of its own.
SELECT spock.repset_remove_partition('pt', 'pt_af');
SELECT spock.repset_add_partition('pt', 'pt_af', row_filter := 'amount > 99 OR note IS NULL');
SELECT * FROM part_members WHERE relation::text = 'pt_af';
SELECT spock.repset_add_partition('pt', 'pt_af');
-- A bad filter adds nothing.
SELECT spock.repset_remove_partition('pt', 'pt_oc');
SELECT spock.repset_add_partition('pt', 'pt_oc', row_filter := 'nosuch > 1');
:err
SELECT count(*) AS pt_oc_rows FROM part_members WHERE relation::text = 'pt_oc';
-- Not a partition of the parent; a parent that is not partitioned is an error (42809), for
-- removal too.
SELECT spock.repset_add_partition('pt', 't_pk');
:err
SELECT spock.repset_add_partition('pt_sa', 'pt_eu');
:err
SELECT spock.repset_add_partition('t_pk');
:err
SELECT spock.repset_remove_partition('t_pk');
:err
SELECT spock.repset_add_partition(NULL);
:err
-- repset_remove_partition counts the rows removed from every set holding the parent; a
-- sub-partition is a partition too.
SELECT spock.repset_add_partition('pt', 'pt_oc');
SELECT spock.repset_remove_partition('pt', 'pt_sa1');
SELECT spock.repset_remove_partition('pt', 'pt_sa1');
SELECT spock.repset_remove_partition('pt');
SELECT * FROM part_members;
SELECT count(*) AS deps FROM deps WHERE set_name = 'repset_parts';
SELECT spock.repset_remove_partition('pt', 't_pk');
:err
SELECT spock.repset_remove_partition(NULL);
:err
SELECT spock.repset_add_partition('pt');
-- repset_show_table on a partition.
SELECT * FROM pg_temp.show_table('pt_asia', '{repset_parts}');
SELECT * FROM pg_temp.show_table('pt', '{repset_parts}');
-- repset_remove_table removes the whole tree, or with include_partitions := false the
-- parent alone.
SELECT spock.repset_remove_table('repset_parts', 'pt', include_partitions := false);
SELECT count(*) AS partitions_left FROM part_members WHERE set_name = 'repset_parts';
SELECT spock.repset_add_table('repset_parts', 'pt', include_partitions := false);
SELECT spock.repset_remove_table('repset_parts', 'pt');
SELECT * FROM part_members WHERE set_name = 'repset_parts';
SELECT count(*) AS deps FROM deps WHERE set_name = 'repset_parts';

-- Partitions created later follow the parent without a row of their own; repset_remove_partition
-- records an exclusion for them; include_partitions := false excludes the partitions of the
-- moment; DETACH takes the detached tree out of the parent's sets, rows and exclusions alike.
CREATE TEMP VIEW exclusions AS
SELECT s.set_name, x.set_reloid AS relation
FROM spock.replication_set_partition_exclusion x JOIN spock.replication_set s USING (set_id)
ORDER BY s.set_name, x.set_reloid::text COLLATE "C";
CREATE TABLE dp (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE dp_1 PARTITION OF dp FOR VALUES FROM (0) TO (10);
SELECT spock.repset_add_table('repset_parts', 'dp');
SELECT spock.repset_add_table('repset_ins', 'dp', include_partitions := false);
CREATE TABLE dp_2 PARTITION OF dp FOR VALUES FROM (10) TO (20) PARTITION BY RANGE (id);
CREATE TABLE dp_21 PARTITION OF dp_2 FOR VALUES FROM (10) TO (15);
SELECT relation, set_name FROM members WHERE relation::text LIKE 'dp%';
SELECT * FROM exclusions;
-- dp_21 inherits from dp through dp_2, in both sets: one exclusion each; again: nothing new.
SELECT spock.repset_remove_partition('dp', 'dp_21');
SELECT spock.repset_remove_partition('dp', 'dp_21');
SELECT * FROM exclusions;
-- dp_1 has its own row in repset_parts and is excluded from repset_ins already.
SELECT spock.repset_remove_partition('dp', 'dp_1');
SELECT relation, set_name FROM members WHERE relation::text LIKE 'dp%';
SELECT * FROM exclusions;
SELECT spock.repset_add_partition('dp', 'dp_1');
SELECT relation, set_name FROM members WHERE relation::text LIKE 'dp%';
SELECT * FROM exclusions;
-- DETACH: dp_1 loses its rows, dp_2 and dp_21 their exclusions.
ALTER TABLE dp DETACH PARTITION dp_1;
ALTER TABLE dp DETACH PARTITION dp_2;
SELECT relation, set_name FROM members WHERE relation::text LIKE 'dp%';
SELECT * FROM exclusions;
SELECT count(*) AS deps FROM spock.depend
WHERE classid = 'spock.replication_set_table'::regclass AND objsubid IN
      ('dp_1'::regclass::oid::int, 'dp_2'::regclass::oid::int, 'dp_21'::regclass::oid::int);
-- A detached table can join a set on its own; DROP removes its exclusions.
SELECT spock.repset_add_table('repset_parts', 'dp_1');
ALTER TABLE dp ATTACH PARTITION dp_2 FOR VALUES FROM (10) TO (20);
SELECT spock.repset_remove_partition('dp', 'dp_2');
DROP TABLE dp_2;
SELECT * FROM exclusions;
DROP TABLE dp, dp_1;

-- spock.tables and repset_show_table show a partition that is in a set through its parent, as
-- the output plugin replicates it: with the parent's column list and filter, unless
-- repset_remove_partition excluded it (then it is in no set).
CREATE TABLE ip (id int PRIMARY KEY, a int, b int) PARTITION BY RANGE (id);
SELECT spock.repset_add_table('repset_parts', 'ip', columns := '{id,a}', row_filter := 'a > 0');
CREATE TABLE ip_1 PARTITION OF ip FOR VALUES FROM (0) TO (10);
CREATE TABLE ip_2 PARTITION OF ip FOR VALUES FROM (10) TO (20) PARTITION BY RANGE (id);
CREATE TABLE ip_21 PARTITION OF ip_2 FOR VALUES FROM (10) TO (15);
CREATE TABLE ip_3 PARTITION OF ip FOR VALUES FROM (20) TO (30);
SELECT spock.repset_remove_partition('ip', 'ip_3');
SELECT relname, set_name FROM spock.tables WHERE relname LIKE 'ip%' ORDER BY 1, 2;
SELECT count(*) AS own_rows FROM members WHERE relation::text LIKE 'ip_%';
SELECT * FROM pg_temp.show_table('ip_1', '{repset_parts}');
SELECT * FROM pg_temp.show_table('ip_21', '{repset_parts}');
SELECT * FROM pg_temp.show_table('ip_3', '{repset_parts}');
SELECT * FROM pg_temp.show_table('ip_1', '{repset_ins}');
-- A second set holding the sub-partition itself: the own row wins there, the parent's
-- elsewhere; both sets show.
SELECT spock.repset_add_table('repset_ins', 'ip_21', columns := '{id,b}');
SELECT relname, set_name FROM spock.tables WHERE relname = 'ip_21' ORDER BY 2;
SELECT * FROM pg_temp.show_table('ip_21', '{repset_ins,repset_parts}');
DROP TABLE ip;

---------------------------------------------------------------------------------------------
-- repset_add_all_tables: every permanent table (r, p) of the schemas, partitions included,
-- except members; TABLESYNC for the non-partitions when asked.
CREATE SCHEMA repset_more;
CREATE TABLE repset_more.b (id int PRIMARY KEY);
CREATE TABLE repset_more.a (id int PRIMARY KEY);
CREATE TABLE repset_more.p (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE repset_more.p1 PARTITION OF repset_more.p FOR VALUES FROM (0) TO (10);
CREATE UNLOGGED TABLE repset_more.u (id int PRIMARY KEY);
CREATE VIEW repset_more.v AS SELECT 1;
CREATE SEQUENCE repset_more.s;
CREATE TABLE repset_more.nokey (x int);
SELECT spock.repset_create('repset_bulk', replicate_update := false, replicate_delete := false)
    IS NOT NULL AS created;
SELECT spock.repset_add_table('repset_bulk', 'repset_more.a');
SELECT spock.repset_add_all_tables('repset_bulk', '{repset_more}', true);
SELECT * FROM members WHERE set_name = 'repset_bulk';
SELECT * FROM queued WHERE message::text LIKE '%repset_more%';
SELECT spock.repset_add_all_tables('repset_bulk', '{repset_more}', true);
SELECT count(*) AS members FROM members WHERE set_name = 'repset_bulk';
SELECT count(*) AS messages FROM queued WHERE message::text LIKE '%repset_more%';
-- A set that replicates UPDATE stops at the table without a key, and keeps nothing.
SELECT spock.repset_create('repset_bulk2') IS NOT NULL AS created;
SELECT spock.repset_add_all_tables('repset_bulk2', '{repset_more}');
:err
SELECT count(*) AS members FROM members WHERE set_name = 'repset_bulk2';
SELECT spock.repset_add_all_tables('repset_bulk2', '{repset_more,nosuchschema}');
:err
SELECT spock.repset_add_all_tables('repset_bulk2', '{spock}');
:err
SELECT spock.repset_add_all_tables('repset_bulk2', '{}');
SELECT spock.repset_add_all_tables('nosuchset', '{repset_more}');
:err
SELECT spock.repset_add_all_tables(NULL, '{repset_more}');
:err
SELECT spock.repset_add_all_tables('repset_bulk2', NULL);
:err
SELECT spock.repset_add_all_tables('repset_bulk2', '{repset_more,NULL}');
:err
SELECT spock.repset_add_all_tables('repset_bulk2', '{repset_more}', NULL);
:err
SELECT count(*) AS members FROM members WHERE set_name = 'repset_bulk2';

---------------------------------------------------------------------------------------------
-- Sequences: membership plus a sequence_state row (cache 1000, the current last_value) that
-- sets share; synchronize_data queues a SEQUENCE message ('S') with last_value as a string.
SELECT nextval('s1'), nextval('s1'), nextval('s1');
SELECT spock.repset_add_seq('repset_all', 's1');
SELECT * FROM seq_members;
SELECT * FROM deps WHERE member = 's1'::regclass;
SELECT nextval('s1');
SELECT spock.repset_add_seq('repset_ins', 's1', synchronize_data := true);
SELECT * FROM seq_members;
SELECT * FROM queued WHERE message_type = 'S';
SELECT pg_temp.fingerprint() AS fp \gset
SELECT spock.repset_add_seq('repset_all', 's1');
:err
SELECT spock.repset_add_seq('nosuchset', 's1');
:err
SELECT spock.repset_add_seq('repset_all', 't_pk');
:err
CREATE UNLOGGED SEQUENCE s_unlogged;
SELECT spock.repset_add_seq('repset_all', 's_unlogged');
:err
SELECT spock.repset_add_seq('repset_all', 'spock.resolutions_id_seq');
:err
SELECT spock.repset_add_seq(NULL, 's1');
:err
SELECT spock.repset_add_seq('repset_all', NULL);
:err
SELECT spock.repset_add_seq('repset_all', 's1', NULL);
:err
SELECT pg_temp.fingerprint() = :'fp' AS nothing_changed;
-- repset_add_all_seqs: the permanent sequences of the schemas, members skipped.
SELECT spock.repset_add_all_seqs('repset_all', '{repset_test,repset_more}', true);
SELECT * FROM seq_members WHERE set_name = 'repset_all';
SELECT * FROM queued WHERE message_type = 'S';
SELECT spock.repset_add_all_seqs('repset_all', '{repset_test,repset_more}', true);
SELECT count(*) AS messages FROM queued WHERE message_type = 'S';
SELECT spock.repset_add_all_seqs('repset_all', '{nosuchschema}');
:err
SELECT spock.repset_add_all_seqs('repset_all', '{spock}');
:err
SELECT spock.repset_add_all_seqs('nosuchset', '{repset_test}');
:err
SELECT spock.repset_add_all_seqs(NULL, '{repset_test}');
:err
SELECT spock.repset_add_all_seqs('repset_all', NULL);
:err
SELECT spock.repset_add_all_seqs('repset_all', '{repset_test}', NULL);
:err
-- repset_remove_seq; the state row goes when no set holds the sequence any more.
SELECT spock.repset_remove_seq('repset_all', 's1');
SELECT * FROM seq_members WHERE sequence = 's1'::regclass;
SELECT count(*) AS state_rows FROM spock.sequence_state WHERE seqoid = 's1'::regclass;
SELECT spock.repset_remove_seq('repset_ins', 's1');
SELECT count(*) AS state_rows FROM spock.sequence_state WHERE seqoid = 's1'::regclass;
SELECT * FROM deps WHERE member = 's1'::regclass;
SELECT spock.repset_remove_seq('repset_ins', 's1');
:err
SELECT spock.repset_remove_seq('nosuchset', 's1');
:err
SELECT spock.repset_remove_seq(NULL, 's1');
:err
SELECT spock.repset_remove_seq('repset_all', NULL);
:err
SELECT spock.repset_add_seq('repset_ins', 's1');

---------------------------------------------------------------------------------------------
-- spock.tables: one row per set for members, one row with a NULL set for other tables.
SELECT nspname, relname, set_name FROM spock.tables WHERE nspname ILIKE 'repset%'
ORDER BY nspname COLLATE "C", relname COLLATE "C", set_name COLLATE "C";
SELECT count(*) FILTER (WHERE relid = 't_pk'::regclass) AS t_pk_rows,
       count(*) FILTER (WHERE relid = 't_unlogged'::regclass) AS unlogged_rows,
       count(*) FILTER (WHERE relid = 't_temp'::regclass) AS temp_rows
FROM spock.tables;

---------------------------------------------------------------------------------------------
-- The object-access hook. A column that a set's column list or row filter uses cannot be
-- dropped: b is in repset_cols' list for t_pk, a in repset_filter's filter.
SELECT * FROM members WHERE relation = 't_pk'::regclass;
ALTER TABLE t_pk DROP COLUMN b;
:err
ALTER TABLE t_pk DROP COLUMN a;
:err
-- Other columns can.
ALTER TABLE t_pk DROP COLUMN c;
-- Column lists hold names: a renamed column is renamed in them. Filters refer to columns by
-- number and show the new name.
ALTER TABLE t_pk RENAME COLUMN b TO bee;
ALTER TABLE t_pk RENAME COLUMN a TO amount;
SELECT * FROM members WHERE relation = 't_pk'::regclass;
-- A filter that uses a column whose type changes is compiled again for the new type...
CREATE TEMP VIEW t_pk_filter AS
SELECT pg_get_expr(set_row_filter, set_reloid) AS row_filter,
       substring(set_row_filter::text FROM ':varattno 2 :vartype (\d+)')::oid::regtype
           AS amount_type
FROM spock.replication_set_table
WHERE set_reloid = 'repset_test.t_pk'::regclass AND set_row_filter IS NOT NULL;
SELECT * FROM t_pk_filter;
ALTER TABLE t_pk ALTER COLUMN amount TYPE bigint;
SELECT * FROM t_pk_filter;
-- ... and a type change it cannot follow is refused.
ALTER TABLE t_pk ALTER COLUMN bee TYPE int USING 0;
:err
SELECT * FROM t_pk_filter;
-- Out of the list, bee is still in the filter.
SELECT spock.repset_remove_table('repset_cols', 't_pk');
ALTER TABLE t_pk DROP COLUMN bee;
:err
DROP VIEW t_pk_filter;
-- Through a partitioned parent.
SELECT spock.repset_add_table('repset_parts', 'pt', columns := '{id,region,amount}');
ALTER TABLE pt DROP COLUMN amount;
:err
ALTER TABLE pt DROP COLUMN note;
-- A rename reaches every partition's list, whatever its column numbers.
ALTER TABLE pt RENAME COLUMN amount TO amt;
SELECT relation, att_list FROM members WHERE set_name = 'repset_parts';
SELECT count(*) AS memberships FROM members WHERE relation::text LIKE 'pt%';
-- DROP TABLE, DROP SEQUENCE: the table leaves every set with a NOTICE, its depend rows go;
-- all of it transactional.
SELECT pg_temp.fingerprint() AS fp \gset
BEGIN;
DROP TABLE t_pk;
SELECT * FROM orphans;
ROLLBACK;
SELECT pg_temp.fingerprint() = :'fp' AS nothing_changed;
SELECT count(*) AS memberships FROM members WHERE relation = 't_full_pk'::regclass;
DROP TABLE t_full_pk;
SELECT relname FROM pg_class WHERE relname = 't_full_pk';
SELECT * FROM members WHERE set_name = 'repset_all';
DROP TABLE t_pk;
DROP SEQUENCE s1;
-- A table in no set is dropped silently.
DROP TABLE t_full_nopk;
-- Dropping a partitioned table drops its partitions, each leaving its sets.
DROP TABLE pt;
SELECT * FROM orphans;
-- Someone who has no rights on spock's catalog can still drop a member table of theirs.
CREATE ROLE regress_repset_user;
GRANT CREATE, USAGE ON SCHEMA repset_test TO regress_repset_user;
SET ROLE regress_repset_user;
CREATE TABLE repset_test.owned (id int PRIMARY KEY);
SELECT count(*) FROM spock.replication_set_table;
:err
RESET ROLE;
SELECT spock.repset_add_table('repset_all', 'repset_test.owned');
SET ROLE regress_repset_user;
DROP TABLE repset_test.owned;
RESET ROLE;
-- An operator with exactly matching argument types in a schema on the search_path wins over
-- pg_catalog's. Spock's catalog queries never pick such a planted operator: neither those of
-- the functions nor those of the drop hook, which runs as superuser with a search_path of its
-- own, whatever the dropping user's.
CREATE FUNCTION public.repset_trap(regclass, oid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'trap called'; END $$;
CREATE OPERATOR public.= (FUNCTION = public.repset_trap, LEFTARG = regclass, RIGHTARG = oid);
SELECT 'pg_class'::regclass = 1259::oid;
:err
CREATE TABLE trapped (id int PRIMARY KEY, v int);
SELECT spock.repset_add_table('repset_all', 'trapped', columns := '{id,v}',
                              row_filter := 'v > 0');
SELECT * FROM pg_temp.show_table('trapped', '{repset_all}');
SELECT spock.repset_remove_table('repset_all', 'trapped');
SELECT spock.repset_add_table('repset_all', 'trapped');
CREATE SEQUENCE trapped_seq;
SELECT spock.repset_add_seq('repset_all', 'trapped_seq');
SELECT spock.repset_remove_seq('repset_all', 'trapped_seq');
SELECT spock.repset_add_seq('repset_all', 'trapped_seq');
SET search_path = public, pg_catalog;
DROP TABLE repset_test.trapped;
DROP SEQUENCE repset_test.trapped_seq;
SET search_path = repset_test, public;
DROP OPERATOR public.= (regclass, oid);
DROP FUNCTION public.repset_trap(regclass, oid);
-- DROP SCHEMA ... CASCADE.
SELECT count(*) AS repset_more_members FROM members m
WHERE relation::text LIKE 'repset_more.%';
SELECT spock.repset_add_seq('repset_bulk', 'repset_more.s');
DROP SCHEMA repset_more CASCADE;
SELECT * FROM members WHERE set_name = 'repset_bulk';
SELECT * FROM orphans;

---------------------------------------------------------------------------------------------
-- repset_drop removes the set's tables and sequences with their depend and state rows; a
-- sequence still in another set keeps its state.
CREATE SEQUENCE s2;
CREATE SEQUENCE s3;
SELECT spock.repset_add_seq('repset_ins', 's2'), spock.repset_add_seq('repset_ins', 's3'),
       spock.repset_add_seq('repset_all', 's3');
SELECT * FROM members WHERE set_name = 'repset_ins';
SELECT * FROM seq_members;
SELECT count(*) AS deps FROM deps WHERE set_name = 'repset_ins';
SELECT spock.repset_drop('repset_ins');
SELECT * FROM sets WHERE set_name LIKE 'repset%';
SELECT * FROM members WHERE set_name = 'repset_ins';
SELECT * FROM seq_members;
SELECT seqoid::regclass AS with_state FROM spock.sequence_state
WHERE seqoid IN ('s2'::regclass, 's3'::regclass) ORDER BY 1;
SELECT count(*) AS deps FROM deps WHERE set_name = 'repset_ins';
SELECT spock.repset_drop('repset_ins');
:err
SELECT spock.repset_drop('repset_ins', true);
SELECT spock.repset_drop(NULL);
:err
SELECT spock.repset_drop('repset_all', NULL);
:err

---------------------------------------------------------------------------------------------
-- Dropping one of the built-in sets is allowed, as in Spock, with a WARNING.
SELECT set_name, replicate_insert, replicate_update, replicate_delete, replicate_truncate
FROM spock.replication_set WHERE set_name = 'ddl_sql';
SELECT spock.repset_drop('ddl_sql');
SELECT spock.repset_create('ddl_sql', true, false, false, false) IS NOT NULL AS recreated;

---------------------------------------------------------------------------------------------
-- Clean up: the sets, the tables, the queued messages of this test, the role, the node.
SELECT spock.repset_drop(set_name) FROM sets WHERE set_name LIKE 'repset%';
DROP SCHEMA repset_test CASCADE;
DROP SCHEMA "Repset Case" CASCADE;
DELETE FROM spock.queue WHERE message->>'schema_name' ILIKE 'repset%';
DROP ROLE regress_repset_user;
RESET search_path;
SELECT * FROM orphans;
SELECT count(*) AS test_sets FROM spock.replication_set WHERE set_name LIKE 'repset%';
DO $$
BEGIN
    IF (SELECT created_node FROM repset_state) THEN
        PERFORM spock.node_drop('test_node');
    END IF;
END $$;
SELECT (SELECT count(*) FROM spock.local_node) = 0 OR NOT created_node AS node_gone
FROM repset_state;
