-- Delta-apply columns (docs/conflicts.md, "Delta-apply columns"): the "spock" security label
-- provider, its errors, and row apply of a labelled column through the test module, as in
-- apply.sql: database delta_prov decodes with spock_output, delta_sub applies what it pulls.
\set err '\\echo SQLSTATE :LAST_ERROR_SQLSTATE'
SET client_min_messages = warning;
DROP DATABASE IF EXISTS delta_prov WITH (FORCE);
DROP DATABASE IF EXISTS delta_sub WITH (FORCE);
RESET client_min_messages;
CREATE DATABASE delta_prov;
CREATE DATABASE delta_sub;

\c delta_prov
CREATE EXTENSION spock;
SELECT spock.node_create('dprov', 'dbname=delta_prov') IS NOT NULL AS created;
CREATE TABLE acct (id int PRIMARY KEY, bal numeric(12,2), n int8, owner text,
                   s int2, i int4, r float4, f float8, m money, arr int4[]);
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
ALTER TABLE acct ADD COLUMN d posint;

-- Without REPLICA IDENTITY FULL the old value is not in the WAL: refused, and the hint says so.
SECURITY LABEL FOR spock ON COLUMN acct.bal IS 'spock.delta_apply';
:err
ALTER TABLE acct REPLICA IDENTITY FULL;
-- Not a number type.
SECURITY LABEL FOR spock ON COLUMN acct.owner IS 'spock.delta_apply';
:err
SECURITY LABEL FOR spock ON COLUMN acct.arr IS 'spock.delta_apply';
:err
SECURITY LABEL FOR spock ON COLUMN acct.d IS 'spock.delta_apply';
:err
-- Another label text.
SECURITY LABEL FOR spock ON COLUMN acct.bal IS 'spock.delta';
:err
SECURITY LABEL FOR spock ON COLUMN acct.bal IS 'SPOCK.DELTA_APPLY';
:err
-- Not a column of a table.
SECURITY LABEL FOR spock ON TABLE acct IS 'spock.delta_apply';
:err
SECURITY LABEL FOR spock ON SCHEMA public IS 'spock.delta_apply';
:err
CREATE VIEW acct_v AS SELECT * FROM acct;
SECURITY LABEL FOR spock ON COLUMN acct_v.bal IS 'spock.delta_apply';
:err
-- Removing a label is always allowed.
SECURITY LABEL FOR spock ON COLUMN acct_v.bal IS NULL;
CREATE SEQUENCE acct_seq;
SECURITY LABEL FOR spock ON SEQUENCE acct_seq IS 'spock.delta_apply';
:err
-- Nothing was stored by the refused statements.
SELECT count(*) FROM pg_seclabel WHERE provider = 'spock';

-- Every number type is accepted; IS NULL removes a label.
SECURITY LABEL FOR spock ON COLUMN acct.bal IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.n IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.s IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.i IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.r IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.f IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.m IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.m IS NULL;
SECURITY LABEL ON COLUMN acct.m IS NULL;
SELECT a.attname, l.label FROM pg_seclabel l JOIN pg_attribute a
    ON a.attrelid = l.objoid AND a.attnum = l.objsubid
    WHERE l.provider = 'spock' AND l.objoid = 'acct'::regclass ORDER BY a.attnum;
-- A partitioned table with REPLICA IDENTITY FULL is accepted too.
CREATE TABLE pt (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
ALTER TABLE pt REPLICA IDENTITY FULL;
SECURITY LABEL FOR spock ON COLUMN pt.v IS 'spock.delta_apply';
SELECT count(*) FROM pg_seclabel WHERE provider = 'spock' AND objoid = 'pt'::regclass;
-- Changes are decoded per partition, which needs FULL of its own.
CREATE TABLE pt_a PARTITION OF pt FOR VALUES FROM (0) TO (100);
ALTER TABLE pt_a REPLICA IDENTITY FULL;

SELECT spock.repset_add_table('default', 'acct');
SELECT spock.repset_add_table('default', 'pt_a');
SELECT 'created' AS slot FROM pg_create_logical_replication_slot('delta_main', 'spock_output');

\c delta_sub
CREATE EXTENSION spock;
CREATE EXTENSION spock_test;
SET client_min_messages = warning;
CREATE EXTENSION dblink;
RESET client_min_messages;
CREATE PROCEDURE prov(sql text) LANGUAGE sql AS $$ SELECT dblink_exec('dbname=delta_prov', sql) $$;
CREATE FUNCTION pull(slot text) RETURNS bytea[] LANGUAGE sql AS $$
    SELECT array_agg(data ORDER BY n)
    FROM ROWS FROM (dblink('dbname=delta_prov',
        format('SELECT data FROM pg_logical_slot_get_binary_changes(%L, NULL, NULL, '
               '''startup_params_format'', ''1'', ''min_proto_version'', ''3'', '
               '''max_proto_version'', ''4'', ''spock.replication_set_names'', ''default'')',
               slot)) AS (data bytea)) WITH ORDINALITY AS t(data, n)
$$;
CREATE PROCEDURE apply(commit_time timestamptz DEFAULT NULL)
LANGUAGE sql AS $$ SELECT spock_test.apply_messages(pull('delta_main'), NULL, commit_time) $$;

CREATE TABLE acct (id int PRIMARY KEY, bal numeric(12,2), n int8, owner text,
                   s int2, i int4, r float4, f float8, m money, arr int4[], d int4);
ALTER TABLE acct REPLICA IDENTITY FULL;
SECURITY LABEL FOR spock ON COLUMN acct.bal IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.n IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.s IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.i IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.r IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.f IS 'spock.delta_apply';
SECURITY LABEL FOR spock ON COLUMN acct.m IS 'spock.delta_apply';

CALL prov($$INSERT INTO acct (id, bal, n, owner, s, i, r, f, m) VALUES
    (1, 100.00, 0, 'a', 1, 10, 1.5, 2.25, 7.50),
    (2, 50.50, NULL, 'b', 1, 10, 1.5, 2.25, 7.50),
    (3, 10.00, 5, 'c', 1, 10, 1.5, 2.25, 7.50),
    (4, 0.00, NULL, 'd', 1, 10, 1.5, 2.25, 7.50)$$);
CALL apply();
-- Local changes on the subscriber, then remote changes to the same rows: every labelled
-- column ends at local + (new remote - old remote), exactly (numeric and money included).
UPDATE acct SET bal = bal + 1000.25, s = s + 1, i = i + 1, r = r + 1, f = f + 1, m = m + 1::money
    WHERE id = 1;
CALL prov($$UPDATE acct SET bal = bal - 30.10, owner = 'a2', s = s + 2, i = i - 20,
    r = r + 0.25, f = f - 0.5, m = m + 0.01::money WHERE id = 1$$);
CALL apply();
SELECT spock_test.take_conflict_counts();
SELECT id, bal, owner, s, i, r, f, m FROM acct WHERE id = 1;
-- The remote change loses the conflict (it is older than the local one): owner keeps the
-- local value, yet the delta still counts.
UPDATE acct SET owner = 'local', bal = bal + 1 WHERE id = 1;
CALL prov($$UPDATE acct SET owner = 'remote', bal = bal + 5 WHERE id = 1$$);
CALL apply(now() - interval '1 hour');
SELECT spock_test.take_conflict_counts();
SELECT id, bal, owner FROM acct WHERE id = 1;
-- An update of other columns only leaves the labelled columns alone.
UPDATE acct SET bal = 7, n = NULL WHERE id = 4;
CALL prov($$UPDATE acct SET owner = 'd2' WHERE id = 4$$);
CALL apply();
SELECT id, bal, n, owner FROM acct WHERE id = 4;

-- NULLs (the rule of core::decide_delta):
--   old NULL -> v, local NULL: v                      (id 2)
--   old NULL -> v, local l:    l + v                  (id 4, after a local n = 3)
--   old o -> v,    local NULL: stays NULL             (id 3, after a local n = NULL)
--   old o -> NULL:             NULL                   (id 1)
UPDATE acct SET n = 3 WHERE id = 4;
UPDATE acct SET n = NULL WHERE id = 3;
CALL prov($$UPDATE acct SET n = 7 WHERE id = 2$$);
CALL prov($$UPDATE acct SET n = 10 WHERE id = 4$$);
CALL prov($$UPDATE acct SET n = n + 1 WHERE id = 3$$);
CALL prov($$UPDATE acct SET n = NULL WHERE id = 1$$);
CALL apply();
SELECT id, n FROM acct ORDER BY id;

-- Arithmetic errors of the type fail the change like any other apply error.
UPDATE acct SET s = 32767 WHERE id = 2;
CALL prov($$UPDATE acct SET s = s + 1 WHERE id = 2$$);
CALL apply();
:err
SELECT id, s FROM acct WHERE id = 2;
-- The sum is checked against numeric(12,2) as an assignment would be.
UPDATE acct SET bal = 9999999999.00 WHERE id = 2;
CALL prov($$UPDATE acct SET bal = bal + 5 WHERE id = 2$$);
CALL apply();
:err
SELECT id, bal FROM acct WHERE id = 2;

-- The provider's table loses REPLICA IDENTITY FULL: the old value is no longer sent. The
-- subscriber warns and applies the column as a plain one (the remote value wins here).
\c delta_prov
ALTER TABLE acct REPLICA IDENTITY DEFAULT;
\c delta_sub
UPDATE acct SET bal = bal + 100 WHERE id = 3;
CALL prov($$UPDATE acct SET bal = bal + 1 WHERE id = 3$$);
-- A key change sends the old key with the labelled columns as "no value".
CALL prov($$UPDATE acct SET id = 33, bal = bal + 1 WHERE id = 3$$);
-- The provider's decoding warns as well (peeked here, where its WARNING is visible).
\c delta_prov
SELECT count(*) > 0 AS changes FROM pg_logical_slot_peek_binary_changes('delta_main', NULL, NULL,
    'startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4',
    'spock.replication_set_names', 'default');
\c delta_sub
CALL apply();
SELECT id, bal FROM acct WHERE id IN (3, 33);
-- Back to FULL: delta apply resumes.
\c delta_prov
ALTER TABLE acct REPLICA IDENTITY FULL;
\c delta_sub
UPDATE acct SET bal = bal + 100 WHERE id = 33;
CALL prov($$UPDATE acct SET bal = bal + 1 WHERE id = 33$$);
CALL apply();
SELECT id, bal FROM acct WHERE id = 33;

-- A label on a partitioned table applies to its partitions (by column name).
CREATE TABLE pt (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
ALTER TABLE pt REPLICA IDENTITY FULL;
SECURITY LABEL FOR spock ON COLUMN pt.v IS 'spock.delta_apply';
CREATE TABLE pt_a PARTITION OF pt FOR VALUES FROM (0) TO (100);
ALTER TABLE pt_a REPLICA IDENTITY FULL;
CALL prov($$INSERT INTO pt VALUES (1, 10)$$);
CALL apply();
UPDATE pt SET v = v + 100 WHERE id = 1;
CALL prov($$UPDATE pt SET v = v + 1 WHERE id = 1$$);
CALL apply();
SELECT id, v FROM pt;
-- Removing the parent's label reaches the partition's cached mapping at once: the next
-- update is applied as a plain column.
SECURITY LABEL FOR spock ON COLUMN pt.v IS NULL;
UPDATE pt SET v = v + 100 WHERE id = 1;
CALL prov($$UPDATE pt SET v = v + 1 WHERE id = 1$$);
CALL apply();
SELECT id, v FROM pt;

\c delta_prov
SELECT pg_drop_replication_slot('delta_main');
\c postgres
SET client_min_messages = warning;
DROP DATABASE delta_prov WITH (FORCE);
DROP DATABASE delta_sub WITH (FORCE);
