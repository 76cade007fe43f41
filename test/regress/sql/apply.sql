-- Row apply (reference §6.3-6.6, §10.4). Database apply_prov is a spock node whose changes are
-- decoded by spock_output; database apply_sub fetches them through dblink and applies them
-- with spock_test.apply_messages, which drives spock's row apply the way an apply worker does
-- (session_replication_role = replica, one local transaction). Its commit_time argument stands
-- in for the provider's commit time, so that conflicts can be steered.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS apply_prov WITH (FORCE);
DROP DATABASE IF EXISTS apply_sub WITH (FORCE);
RESET client_min_messages;
CREATE DATABASE apply_prov;
CREATE DATABASE apply_sub;

\c apply_prov
CREATE EXTENSION spock;
SELECT spock.node_create('aprov', 'dbname=apply_prov') = (hashtext('aprov') & 65535) AS id_ok;
CREATE TABLE items (id int PRIMARY KEY, label text, qty int, note text);
CREATE TABLE counters (id int PRIMARY KEY, n int);
CREATE TABLE nopk (a int PRIMARY KEY, b text);
ALTER TABLE nopk REPLICA IDENTITY FULL;
CREATE TABLE serials (id int PRIMARY KEY, v text);
CREATE TABLE bulk (id int PRIMARY KEY, v text, w int);
CREATE TABLE bulk_trig (id int PRIMARY KEY, v text, w int);
CREATE TABLE missing_here (id int PRIMARY KEY);
CREATE TABLE wide (id int PRIMARY KEY, a text, b text);
CREATE TABLE parted (id int PRIMARY KEY, v text);
SELECT count(*) FROM (SELECT spock.repset_add_table('default', t)
                      FROM unnest('{items,counters,nopk,serials,bulk,bulk_trig,missing_here,wide,parted}'::regclass[]) t) s;
SELECT 'created' AS slot FROM pg_create_logical_replication_slot('apply_main', 'spock_output');

\c apply_sub
CREATE EXTENSION spock;
CREATE EXTENSION spock_test;
SET client_min_messages = warning;
CREATE EXTENSION dblink;
RESET client_min_messages;
-- prov(sql) runs a statement on the provider, provq(query) a query returning one text value;
-- pull(slot, options) takes the changes waiting in a provider slot; apply(...) applies them.
CREATE PROCEDURE prov(sql text) LANGUAGE sql AS $$ SELECT dblink_exec('dbname=apply_prov', sql) $$;
CREATE FUNCTION provq(query text) RETURNS text LANGUAGE sql AS $$
    SELECT v FROM dblink('dbname=apply_prov', query) AS t(v text) $$;
CREATE FUNCTION pull(slot text, options text DEFAULT '') RETURNS bytea[] LANGUAGE sql AS $$
    SELECT array_agg(data ORDER BY n)
    FROM ROWS FROM (dblink('dbname=apply_prov',
        format('SELECT data FROM pg_logical_slot_get_binary_changes(%L, NULL, NULL, '
               '''startup_params_format'', ''1'', ''min_proto_version'', ''3'', '
               '''max_proto_version'', ''4'', ''spock.replication_set_names'', ''default''%s)',
               slot, options)) AS (data bytea)) WITH ORDINALITY AS t(data, n)
$$;
CREATE PROCEDURE apply(commit_time timestamptz DEFAULT NULL, origin oid DEFAULT NULL)
LANGUAGE sql AS $$ SELECT spock_test.apply_messages(pull('apply_main'), origin, commit_time) $$;
SELECT hashtext('aprov') & 65535 AS aprov_id \gset

-- The subscriber's table has its columns in another order and one more column, with a default.
-- A normal trigger does not fire under session_replication_role = replica; an ALWAYS trigger
-- does, and runs as the table owner.
CREATE ROLE apply_owner;
CREATE TABLE items (note text, extra text DEFAULT 'sub default', qty int, label text,
                    id int PRIMARY KEY);
CREATE TABLE trigger_log (who name, op text, id int);
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'normal trigger fired'; END $$;
CREATE FUNCTION log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trigger_log VALUES (current_user, TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END $$;
CREATE TRIGGER refuse BEFORE INSERT OR UPDATE OR DELETE ON items FOR EACH ROW EXECUTE FUNCTION refuse();
CREATE TRIGGER log_change AFTER INSERT OR UPDATE OR DELETE ON items FOR EACH ROW EXECUTE FUNCTION log_change();
ALTER TABLE items ENABLE ALWAYS TRIGGER log_change;
ALTER TABLE items OWNER TO apply_owner;
ALTER TABLE trigger_log OWNER TO apply_owner;

-- INSERT, UPDATE and DELETE arrive; missing columns get their defaults.
CALL prov($$INSERT INTO items VALUES (1, 'one', 10, 'n1'), (2, 'two', 20, NULL), (3, 'three', 30, 'n3')$$);
CALL prov($$UPDATE items SET qty = qty + 1 WHERE id = 2$$);
CALL prov($$DELETE FROM items WHERE id = 3$$);
CALL apply();
SELECT * FROM items ORDER BY id;
SELECT * FROM trigger_log;
-- A key change: the row is found by its old key.
CALL prov($$UPDATE items SET id = 4, label = 'four' WHERE id = 2$$);
CALL apply();
SELECT id, label, qty, extra FROM items ORDER BY id;

-- Every column format applies: text, send/receive and internal, including a TOAST value that
-- an UPDATE leaves unchanged (sent as 'u'), an inline-compressed value, user types whose OIDs
-- differ between the nodes, and a column whose type differs on the subscriber (int4 there,
-- int8 here).
CALL prov($$CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')$$);
CALL prov($$CREATE TYPE pair AS (a int, b text)$$);
CALL prov($$CREATE DOMAIN posint AS int CHECK (VALUE > 0)$$);
CALL prov($$CREATE TABLE typed (id int PRIMARY KEY, i2 int2, i8 int8, num numeric, f4 float4,
    f8 float8, b bool, t text, vc varchar(10), ch char(3), ba bytea, d date, ts timestamp,
    tstz timestamptz, iv interval, u uuid, j json, jb jsonb, ia int4[], ta text[], nm name,
    ip inet, pt point, m mood, pr pair, pi posint, conv int4, big text)$$);
SELECT provq($$SELECT spock.repset_add_table('default', 'typed')$$) AS added;
CREATE TYPE pair AS (a int, b text);
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE typed (big text, conv int8, pi posint, pr pair, m mood, pt point, ip inet, nm name,
    ta text[], ia int4[], jb jsonb, j json, u uuid, iv interval, tstz timestamptz, ts timestamp,
    d date, ba bytea, ch char(3), vc varchar(10), t text, b bool, f8 float8, f4 float4,
    num numeric, i8 int8, i2 int2, id int PRIMARY KEY);
CREATE FUNCTION typed_digest() RETURNS text LANGUAGE sql
SET DateStyle = 'ISO, YMD' SET TimeZone = 'UTC' SET extra_float_digits = 1 AS $$
    SELECT md5(string_agg(concat_ws('|', id, i2, i8, num, f4, f8, b, t, vc, ch, ba, d, ts, tstz,
        iv, u, j, jb, ia, ta, nm, ip, pt, m, pr, pi, conv, md5(big)), E'\n' ORDER BY id))
    FROM typed $$;
CALL prov($$CREATE FUNCTION typed_digest() RETURNS text LANGUAGE sql
SET DateStyle = 'ISO, YMD' SET TimeZone = 'UTC' SET extra_float_digits = 1 AS '
    SELECT md5(string_agg(concat_ws(''|'', id, i2, i8, num, f4, f8, b, t, vc, ch, ba, d, ts, tstz,
        iv, u, j, jb, ia, ta, nm, ip, pt, m, pr, pi, conv, md5(big)), E''\n'' ORDER BY id))
    FROM typed'$$);
SELECT provq($$SELECT slot_name FROM pg_create_logical_replication_slot('apply_binary', 'spock_output')$$) AS slot;
SELECT provq($$SELECT slot_name FROM pg_create_logical_replication_slot('apply_internal', 'spock_output')$$) AS slot;
CALL prov($$INSERT INTO typed VALUES
    (1, 1, 2, 3.14159, 1.5, 2.25, true, 'text', 'varchar', 'abc', '\xdeadbeef', '2024-02-29',
     '2024-02-29 12:34:56.789', '2024-02-29 12:34:56.789+01', '1 day 2 hours',
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"b": {"c": null}}', '{1,2,NULL}',
     '{"x","y z"}', 'aname', '192.168.0.1/24', '(1.5,2)', 'happy', '(7,seven)', 42, 123456, 'small'),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (3, -1, -2, 'NaN', '-Infinity', 1e300, false, '', '', '', '', 'infinity', '-infinity',
     'infinity', '-1 year', '00000000-0000-0000-0000-000000000000', '[]', '{}', '{}', '{}', '',
     '::1', '(0,0)', 'sad', '(,)', 1, -2147483648, repeat('compress me ', 1000))$$);
CALL prov($$INSERT INTO typed (id, big) SELECT 4, string_agg(md5(i::text), '') FROM generate_series(1, 2000) i$$);
CALL prov($$UPDATE typed SET i2 = 7, pi = 5 WHERE id = 4$$);
SELECT * FROM dblink('dbname=apply_prov', 'SELECT typed_digest()') AS p(provider_digest text) \gset
CREATE TEMP TABLE formats (name text, msgs bytea[]);
INSERT INTO formats SELECT 'text', pull('apply_main');
INSERT INTO formats SELECT 'binary', pull('apply_binary',
    $$, 'binary.want_binary_basetypes', '1', 'binary.basetypes_major_version', '1500'$$);
INSERT INTO formats SELECT 'internal', pull('apply_internal',
    $$, 'binary.want_internal_basetypes', '1', 'binary.want_binary_basetypes', '1',
      'binary.basetypes_major_version', '1500'$$);
-- The format of the first column of the first INSERT (byte 10 of the message: type, flags,
-- relid, 'N', 'T', natts, then the column's kind), and the size of the UPDATE, which does not
-- carry the 64 kB value.
SELECT name, (SELECT chr(get_byte(m, 10)) FROM unnest(msgs) m WHERE get_byte(m, 0) = ascii('I') LIMIT 1) AS kind,
       (SELECT length(m) < 1000 FROM unnest(msgs) m WHERE get_byte(m, 0) = ascii('U')) AS small_update
FROM formats ORDER BY name DESC;
SELECT spock_test.apply_messages(msgs, NULL, NULL) FROM formats WHERE name = 'text';
SELECT typed_digest() = :'provider_digest' AS same, count(*) FROM typed;
DELETE FROM typed;  -- not TRUNCATE: the same (older) transaction is applied again
SELECT spock_test.apply_messages(msgs, NULL, NULL) FROM formats WHERE name = 'binary';
SELECT typed_digest() = :'provider_digest' AS same, count(*) FROM typed;
DELETE FROM typed;  -- not TRUNCATE: the same (older) transaction is applied again
SELECT spock_test.apply_messages(msgs, NULL, NULL) FROM formats WHERE name = 'internal';
SELECT typed_digest() = :'provider_digest' AS same, count(*) FROM typed;
SELECT id, i2, pi, length(big) FROM typed ORDER BY id;
SELECT provq($$SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots
               WHERE slot_name IN ('apply_binary', 'apply_internal')$$) AS dropped;

-- A subscriber table without a primary key is searched by a sequential scan comparing the
-- columns the provider sent: here REPLICA IDENTITY FULL sends the whole old row.
CREATE TABLE nopk (b text, c text DEFAULT 'local only', a int);
CALL prov($$INSERT INTO nopk VALUES (1, 'x'), (2, 'y'), (3, 'z')$$);
CALL prov($$UPDATE nopk SET b = 'y2' WHERE b = 'y'$$);
CALL prov($$DELETE FROM nopk WHERE b = 'z'$$);
CALL apply();
SELECT * FROM nopk ORDER BY a, b;

-- TRUNCATE with RESTART IDENTITY restarts the subscriber's own sequences too.
CREATE TABLE serials (id int PRIMARY KEY, v text, local_no serial);
CALL prov($$INSERT INTO serials VALUES (1, 'a'), (2, 'b')$$);
CALL apply();
CALL prov($$TRUNCATE serials RESTART IDENTITY$$);
CALL prov($$INSERT INTO serials VALUES (3, 'c')$$);
CALL apply();
SELECT * FROM serials;

-- A table missing on the subscriber is a clear error. A column missing there (docs/ddl.md):
-- under spock.missing_column_action = error a non-NULL value for it is an error; under the
-- default (ignore) the value is dropped with a LOG line and the rest of the row applied.
CALL prov($$INSERT INTO missing_here VALUES (1)$$);
CREATE TEMP TABLE pending AS SELECT pull('apply_main') AS msgs;
SELECT spock_test.apply_messages(msgs, NULL, NULL) FROM pending;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TABLE missing_here (other int);
SET spock.missing_column_action = error;
SELECT spock_test.apply_messages(msgs, NULL, NULL) FROM pending;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET spock.missing_column_action;
SELECT spock_test.apply_messages(msgs, NULL, NULL) FROM pending;
SELECT * FROM missing_here;
-- The row is applied (its progress too): a column added afterwards does not bring the value back.
ALTER TABLE missing_here ADD COLUMN id int;
SELECT * FROM missing_here;

-- A partitioned table here cannot take rows (they arrive for partitions), but a TRUNCATE
-- empties it with all its partitions.
CREATE TABLE parted (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (100) TO (200);
INSERT INTO parted VALUES (1, 'low'), (150, 'high');
CALL prov($$INSERT INTO parted VALUES (2, 'x')$$);
CALL apply();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CALL prov($$TRUNCATE parted$$);
CALL apply();
SELECT count(*) FROM parted;

-- The conflict tests below steer remote commit times into the past; the TRUNCATEs applied so
-- far would make such changes older than the last TRUNCATE of their tables (skipped, see the
-- end of this file).
DELETE FROM spock.truncate_horizon;

-- Conflicts. This database becomes a spock node with tiebreaker 1, and resolved conflicts are
-- recorded in spock.resolutions.
SELECT spock.node_create('asub', 'dbname=apply_sub', info := '{"tiebreaker": 1}') > 0 AS node_ok;
ALTER SYSTEM SET spock.save_resolutions = on;
SELECT pg_reload_conf();
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN (SELECT s FROM dblink('dbname=apply_sub', 'SHOW spock.save_resolutions') AS t(s text)) = 'on';
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
\c apply_sub
SHOW spock.save_resolutions;
SHOW spock.conflict_resolution;

-- insert_exists under last_update_wins: an older remote row loses, a newer one wins and turns
-- into an UPDATE of the received columns (the subscriber's own column keeps its value).
CREATE TABLE wide (id int PRIMARY KEY, a text, b text, mine text);
INSERT INTO wide VALUES (1, 'local a', 'local b', 'mine 1'), (2, 'local a', 'local b', 'mine 2');
CALL prov($$INSERT INTO wide VALUES (1, 'remote a', 'remote b')$$);
CALL apply('2001-01-01 00:00:00+00');
CALL prov($$INSERT INTO wide VALUES (2, 'remote a', 'remote b')$$);
CALL apply(now() + interval '1 day');
SELECT * FROM wide ORDER BY id;

-- Equal commit times from different origins: the lower tiebreaker wins, here this node's (1).
INSERT INTO wide VALUES (3, 'local a', 'local b', 'mine 3');
SELECT pg_xact_commit_timestamp(xmin) AS local_ts FROM wide WHERE id = 3 \gset
CALL prov($$INSERT INTO wide VALUES (3, 'remote a', 'remote b')$$);
CALL apply(:'local_ts');
SELECT * FROM wide WHERE id = 3;
-- With this node's tiebreaker above the provider's node id, the remote row wins; with equal
-- tiebreakers the remote row wins too, with a warning.
UPDATE spock.node SET info = '{"tiebreaker": 70000}' WHERE node_name = 'asub';
INSERT INTO wide VALUES (4, 'local a', 'local b', 'mine 4'), (5, 'local a', 'local b', 'mine 5');
SELECT pg_xact_commit_timestamp(xmin) AS local_ts FROM wide WHERE id = 4 \gset
CALL prov($$INSERT INTO wide VALUES (4, 'remote a', 'remote b')$$);
CALL apply(:'local_ts');
UPDATE spock.node SET info = jsonb_build_object('tiebreaker', :aprov_id) WHERE node_name = 'asub';
CALL prov($$INSERT INTO wide VALUES (5, 'remote a', 'remote b')$$);
CALL apply(:'local_ts');
SELECT * FROM wide WHERE id IN (4, 5) ORDER BY id;

-- The other strategies.
INSERT INTO wide VALUES (6, 'local a', 'local b', 'mine 6'), (7, 'local a', 'local b', 'mine 7'),
                        (8, 'local a', 'local b', 'mine 8'), (9, 'local a', 'local b', 'mine 9');
SET spock.conflict_resolution = keep_local;
CALL prov($$INSERT INTO wide VALUES (6, 'remote a', 'remote b')$$);
CALL apply(now() + interval '1 day');
SET spock.conflict_resolution = apply_remote;
CALL prov($$INSERT INTO wide VALUES (7, 'remote a', 'remote b')$$);
CALL apply('2001-01-01 00:00:00+00');
SET spock.conflict_resolution = first_update_wins;
CALL prov($$INSERT INTO wide VALUES (8, 'remote a', 'remote b')$$);
CALL apply('2001-01-01 00:00:00+00');
SET spock.conflict_resolution = error;
CALL prov($$INSERT INTO wide VALUES (9, 'remote a', 'remote b')$$);
CALL apply(now() + interval '1 day');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET spock.conflict_resolution;
SELECT * FROM wide WHERE id BETWEEN 6 AND 9 ORDER BY id;
-- Conflicts are counted as they are met (an apply worker adds them to spock.sub_conflict_stats
-- at commit); the refused one too.
SELECT spock_test.take_conflict_counts();

-- update_update: a row last changed here is updated by an older remote change (the local row
-- stays) and by a newer one (applied, and not recorded: that is ordinary replication).
-- Columns the provider does not send keep their local values.
CALL prov($$INSERT INTO counters VALUES (1, 0), (2, 0)$$);
CREATE TABLE counters (id int PRIMARY KEY, n int, note text DEFAULT 'new');
CALL apply();
UPDATE counters SET n = 100, note = 'kept';
CALL prov($$UPDATE counters SET n = n + 1$$);
CALL apply('2001-01-01 00:00:00+00');
SELECT * FROM counters ORDER BY id;
CALL prov($$UPDATE counters SET n = n + 1 WHERE id = 2$$);
CALL apply(now() + interval '1 day');
SELECT * FROM counters ORDER BY id;

-- Rows applied under a subscription's replication origin are known to come from its provider:
-- a later change from that node is no conflict, however old its commit time. Under the
-- origin of a forwarded node (<slot>:n<node>) the rows come from that node instead.
SELECT spock.sub_create('apply_sub1', 'dbname=apply_prov', enabled := false) > 0 AS sub_ok;
SELECT sub_slot_name AS slot FROM spock.subscription \gset
SELECT pg_replication_origin_create(:'slot' || ':n4242') > 0 AS forwarded_origin_ok;
CALL prov($$INSERT INTO counters VALUES (3, 0), (4, 0)$$);
BEGIN;
SELECT pg_replication_origin_session_setup(:'slot');
CALL apply('2005-01-01 00:00:00+00');
COMMIT;
SELECT pg_replication_origin_session_reset();
SELECT c.id, o.roname = :'slot' AS via_subscription_origin
FROM counters c, pg_xact_commit_timestamp_origin(c.xmin) x JOIN pg_replication_origin o ON o.roident = x.roident
WHERE c.id IN (3, 4) ORDER BY c.id;
CALL prov($$UPDATE counters SET n = 1 WHERE id = 3$$);
CALL apply('2001-01-01 00:00:00+00');
BEGIN;
SELECT pg_replication_origin_session_setup(:'slot' || ':n4242');
UPDATE counters SET n = 50 WHERE id = 4;
COMMIT;
SELECT pg_replication_origin_session_reset();
-- Node 4242's row: an older change from the provider conflicts and loses; an older change from
-- node 4242 itself is applied.
CALL prov($$UPDATE counters SET n = 2 WHERE id = 4$$);
CALL apply('2001-01-01 00:00:00+00');
SELECT id, n FROM counters WHERE id IN (3, 4) ORDER BY id;
CALL prov($$UPDATE counters SET n = 3 WHERE id = 4$$);
CALL apply('2002-01-01 00:00:00+00', 4242);
SELECT id, n FROM counters WHERE id IN (3, 4) ORDER BY id;
SELECT spock_test.take_conflict_counts();

-- Parallel apply processes each have an origin of their own, "<origin>:w<K>" (PostgreSQL 15
-- lets one process at a time use an origin); rows written under one come from the same node as
-- under <origin>: the provider for "<slot>:w2", node 4242 for "<slot>:n4242:w3".
SELECT pg_replication_origin_create(:'slot' || ':w2') > 0 AS worker_origin_ok;
SELECT pg_replication_origin_create(:'slot' || ':n4242:w3') > 0 AS forwarded_worker_origin_ok;
BEGIN;
SELECT pg_replication_origin_session_setup(:'slot' || ':w2');
UPDATE counters SET n = 60 WHERE id = 3;
COMMIT;
SELECT pg_replication_origin_session_reset();
BEGIN;
SELECT pg_replication_origin_session_setup(:'slot' || ':n4242:w3');
UPDATE counters SET n = 70 WHERE id = 4;
COMMIT;
SELECT pg_replication_origin_session_reset();
SELECT c.id, x.roident = CASE c.id WHEN 3 THEN :aprov_id ELSE 4242 END AS node_of_origin
FROM counters c, spock.xact_commit_timestamp_origin(c.xmin) x
WHERE c.id IN (3, 4) ORDER BY c.id;
-- An older change from the provider: applied to row 3 (the provider's own row), a conflict it
-- loses on row 4 (node 4242's row).
CALL prov($$UPDATE counters SET n = n + 1 WHERE id IN (3, 4)$$);
CALL apply('2001-01-01 00:00:00+00');
SELECT id, n FROM counters WHERE id IN (3, 4) ORDER BY id;
SELECT spock_test.take_conflict_counts();

-- An UPDATE that finds no row (update_missing) is applied as an INSERT of its new row: counters
-- is in no replication set here, so its local DELETEs are not in the record of deleted keys
-- and nothing says the delete came later. A DELETE that finds no row (delete_missing) is
-- skipped and recorded; neither is an error.
CALL prov($$INSERT INTO counters VALUES (5, 0), (6, 0), (7, 0)$$);
CALL apply();
DELETE FROM counters WHERE id IN (5, 6);
CALL prov($$UPDATE counters SET n = 1 WHERE id = 5$$);
CALL apply();
CALL prov($$DELETE FROM counters WHERE id = 6$$);
CALL apply();
SELECT count(*) FROM counters WHERE id IN (5, 6);
-- delete_exists: a DELETE older than the local change of its row loses under
-- last_update_wins (the row stays); delete_origin_differs: a newer one is applied.
UPDATE counters SET n = 70 WHERE id = 7;
CALL prov($$DELETE FROM counters WHERE id = 7$$);
CALL apply('2001-01-01 00:00:00+00');
SELECT count(*) FROM counters WHERE id = 7;
CALL prov($$INSERT INTO counters VALUES (12, 0)$$);
CALL apply();
UPDATE counters SET n = 70 WHERE id = 12;
CALL prov($$DELETE FROM counters WHERE id = 12$$);
CALL apply(now() + interval '1 day');
SELECT count(*) FROM counters WHERE id = 12;
SELECT spock_test.take_conflict_counts();

-- The record of deleted keys. Adding a table to a replication set puts spock's DELETE trigger
-- on it; local DELETEs are recorded from then on.
SELECT spock.repset_add_table('default', 'counters');
SELECT tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger
WHERE tgrelid = 'counters'::regclass AND NOT tgisinternal;
CALL prov($$INSERT INTO counters VALUES (8, 0), (9, 0), (10, 0)$$);
CALL apply('2001-01-01 00:00:00+00');
DELETE FROM counters WHERE id = 8;
-- update_deleted: an UPDATE committed before the local DELETE is skipped; insert_deleted: so
-- is an INSERT of the key committed before it.
CALL prov($$UPDATE counters SET n = 1 WHERE id = 8$$);
CALL apply('2002-01-01 00:00:00+00');
CALL prov($$DELETE FROM counters WHERE id = 8$$);
CALL prov($$INSERT INTO counters VALUES (8, 2)$$);
CALL apply('2002-01-01 00:00:00+00');
SELECT count(*) FROM counters WHERE id = 8;
-- A change committed after the DELETE wins: the UPDATE becomes an INSERT (update_missing).
CALL prov($$UPDATE counters SET n = 3 WHERE id = 8$$);
CALL apply(now() + interval '1 day');
SELECT * FROM counters WHERE id = 8;
-- A DELETE rolled back is not a delete: the older UPDATE is applied as an INSERT.
BEGIN;
DELETE FROM counters WHERE id = 9;
ROLLBACK;
DELETE FROM counters WHERE id = 9 AND n < 0;
SET session_replication_role = replica;
DELETE FROM counters WHERE id = 9;
RESET session_replication_role;
CALL prov($$UPDATE counters SET n = 4 WHERE id = 9$$);
CALL apply('2002-01-01 00:00:00+00');
SELECT * FROM counters WHERE id = 9;
-- A remote DELETE that finds no row is recorded too: the INSERT it deleted on another node,
-- arriving after it, is skipped (insert_deleted); a later INSERT of the key is applied.
CALL prov($$INSERT INTO counters VALUES (11, 0)$$);
CALL apply('2001-01-01 00:00:00+00');
SET session_replication_role = replica;
DELETE FROM counters WHERE id = 11;
RESET session_replication_role;
CALL prov($$DELETE FROM counters WHERE id = 11$$);
CALL apply('2003-01-01 00:00:00+00');
CALL prov($$INSERT INTO counters VALUES (11, 1)$$);
CALL apply('2002-06-01 00:00:00+00');
SELECT count(*) FROM counters WHERE id = 11;
CALL prov($$DELETE FROM counters WHERE id = 11$$);
CALL prov($$INSERT INTO counters VALUES (11, 5)$$);
CALL apply('2004-01-01 00:00:00+00');
SELECT * FROM counters WHERE id = 11;
-- keep_local: a missing row stays missing; error: the UPDATE fails.
DELETE FROM counters WHERE id = 10;
SET spock.conflict_resolution = keep_local;
CALL prov($$UPDATE counters SET n = 6 WHERE id = 10$$);
CALL apply(now() + interval '1 day');
SELECT count(*) FROM counters WHERE id = 10;
SET spock.conflict_resolution = error;
CALL prov($$UPDATE counters SET n = 7 WHERE id = 10$$);
CALL apply(now() + interval '1 day');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET spock.conflict_resolution;
SELECT spock_test.take_conflict_counts();
-- DELETEs go through spock.conflict_resolution. first_update_wins: a DELETE older than the
-- local change of its row wins (delete_exists, applied); error: such a DELETE fails.
CALL prov($$INSERT INTO counters VALUES (13, 0), (14, 0)$$);
CALL apply('2001-01-01 00:00:00+00');
UPDATE counters SET n = 1 WHERE id IN (13, 14);
SET spock.conflict_resolution = first_update_wins;
CALL prov($$DELETE FROM counters WHERE id = 13$$);
CALL apply('2002-01-01 00:00:00+00');
SELECT count(*) FROM counters WHERE id = 13;
SET spock.conflict_resolution = error;
CALL prov($$DELETE FROM counters WHERE id = 14$$);
CALL apply('2002-01-01 00:00:00+00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET spock.conflict_resolution;
SELECT count(*) FROM counters WHERE id = 14;
-- A table without key here (nopk): an UPDATE that finds no row is skipped, never inserted (a
-- missing row may only mean that the old values differ).
CALL prov($$INSERT INTO nopk VALUES (4, 'w')$$);
CALL apply();
DELETE FROM nopk WHERE a = 4;
CALL prov($$UPDATE nopk SET b = 'w2' WHERE a = 4$$);
CALL apply(now() + interval '1 day');
SELECT count(*) FROM nopk WHERE a = 4;
SELECT spock_test.take_conflict_counts();
-- The trigger goes when the table leaves its last replication set.
SELECT spock.repset_remove_table('default', 'counters');
SELECT count(*) AS spock_triggers FROM pg_trigger
WHERE tgrelid = 'counters'::regclass AND tgname = 'spock_deleted_keys';
-- ... also when its last set is dropped.
SELECT spock.repset_create('deleted_keys_set') > 0 AS created;
SELECT spock.repset_add_table('deleted_keys_set', 'counters');
SELECT count(*) AS spock_triggers FROM pg_trigger
WHERE tgrelid = 'counters'::regclass AND tgname = 'spock_deleted_keys';
SELECT spock.repset_drop('deleted_keys_set');
SELECT count(*) AS spock_triggers FROM pg_trigger
WHERE tgrelid = 'counters'::regclass AND tgname = 'spock_deleted_keys';
-- Called other than as an AFTER DELETE row trigger, it refuses.
SELECT spock.deleted_key_trigger();
CREATE TABLE not_delete (id int PRIMARY KEY);
CREATE TRIGGER wrong AFTER INSERT ON not_delete FOR EACH ROW EXECUTE FUNCTION spock.deleted_key_trigger();
INSERT INTO not_delete VALUES (1);
DROP TABLE not_delete;

-- What spock.resolutions recorded.
SELECT node_name, relname, idxname, conflict_type, conflict_resolution, local_origin,
       local_tuple, local_xid IS NOT NULL AS has_local_xid,
       local_timestamp IS NOT NULL AS has_local_ts, remote_origin = :aprov_id AS from_aprov,
       remote_tuple, remote_xid IS NOT NULL AS has_remote_xid,
       CASE WHEN remote_timestamp < '2010-01-01' THEN to_char(remote_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD')
            ELSE 'recent' END AS remote_day, remote_lsn > '0/0' AS has_lsn
FROM spock.resolutions ORDER BY id;
ALTER SYSTEM RESET spock.save_resolutions;
SELECT pg_reload_conf();

-- The conflict message in the server log, shown here at WARNING.
SET spock.conflict_log_level = warning;
\set VERBOSITY terse
INSERT INTO wide VALUES (10, 'local a', 'local b', 'mine 10');
CALL prov($$INSERT INTO wide VALUES (10, 'remote a', 'remote b')$$);
CALL apply('2001-01-01 00:00:00+00');
-- update_exists: the new key of an UPDATE is taken by another row here. The change fails with
-- a unique violation that names the conflict (an apply worker replays the transaction).
CALL prov($$INSERT INTO wide VALUES (11, 'remote a', 'remote b')$$);
CALL apply();
INSERT INTO wide VALUES (12, 'local a', 'local b', 'mine 12');
CALL prov($$UPDATE wide SET id = 12 WHERE id = 11$$);
CALL apply();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT id, a, mine FROM wide WHERE id IN (11, 12) ORDER BY id;
-- A key change within one remote transaction (row 13 inserted, then renumbered to 14) meets
-- only its own rows: no conflict.
CALL prov($$INSERT INTO wide VALUES (13, 'remote a', 'remote b'); UPDATE wide SET id = 14 WHERE id = 13$$);
CALL apply();
SELECT id, a FROM wide WHERE id IN (13, 14) ORDER BY id;
-- Row 11 came through the test module without a replication origin, so the UPDATE was an
-- update_origin_differs before it was an update_exists; rows 13 and 14 gave no conflict.
SELECT spock_test.take_conflict_counts();
\set VERBOSITY default
RESET spock.conflict_log_level;

-- multiple_unique_conflicts (spock.check_all_uc_indexes = on): the remote row's key is taken
-- by one row and its value of another unique index by a second row.
ALTER SYSTEM SET spock.check_all_uc_indexes = on;
SELECT pg_reload_conf();
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN (SELECT s FROM dblink('dbname=apply_sub', 'SHOW spock.check_all_uc_indexes') AS t(s text)) = 'on';
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
\c apply_sub
CREATE UNIQUE INDEX serials_v ON serials (v);
INSERT INTO serials VALUES (20, 'p'), (21, 'q'), (22, 'r');
SET spock.conflict_log_level = warning;
\set VERBOSITY terse
CALL prov($$INSERT INTO serials VALUES (20, 'q')$$);
CALL apply();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- One row in two indexes is a plain insert_exists.
CALL prov($$INSERT INTO serials VALUES (22, 'r')$$);
CALL apply('2001-01-01 00:00:00+00');
\set VERBOSITY default
SELECT id, v FROM serials WHERE id >= 20 ORDER BY id;
SELECT spock_test.take_conflict_counts();
DROP INDEX serials_v;
ALTER SYSTEM RESET spock.check_all_uc_indexes;
SELECT pg_reload_conf();
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN (SELECT s FROM dblink('dbname=apply_sub', 'SHOW spock.check_all_uc_indexes') AS t(s text)) = 'off';
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
\c apply_sub

-- Multi-insert: 5000 rows into a plain table go through buffered writes (DEBUG1 reports each
-- flush); the same rows into a table with an ALWAYS trigger go row by row. Rows that exist
-- here already (ids 100 and 4000, committed later than the remote rows) stay in both.
CREATE TABLE bulk (id int PRIMARY KEY, v text, w int, extra int DEFAULT 7);
CREATE TABLE bulk_trig (id int PRIMARY KEY, v text, w int, extra int DEFAULT 7);
CREATE FUNCTION count_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER count_rows BEFORE INSERT ON bulk_trig FOR EACH ROW EXECUTE FUNCTION count_rows();
ALTER TABLE bulk_trig ENABLE ALWAYS TRIGGER count_rows;
INSERT INTO bulk VALUES (100, 'local', 0), (4000, 'local', 0);
INSERT INTO bulk_trig VALUES (100, 'local', 0), (4000, 'local', 0);
CALL prov($$INSERT INTO bulk SELECT i, md5(i::text), i % 7 FROM generate_series(1, 5000) i$$);
CALL prov($$INSERT INTO bulk_trig SELECT i, md5(i::text), i % 7 FROM generate_series(1, 5000) i$$);
SET spock.conflict_log_level = debug2;
SET client_min_messages = debug1;
CALL apply('2001-01-01 00:00:00+00');
RESET client_min_messages;
RESET spock.conflict_log_level;
SELECT (SELECT md5(string_agg(format('%s %s %s %s', id, v, w, extra), ',' ORDER BY id)) FROM bulk) =
       (SELECT md5(string_agg(format('%s %s %s %s', id, v, w, extra), ',' ORDER BY id)) FROM bulk_trig) AS same,
       (SELECT count(*) FROM bulk) AS n, (SELECT count(*) FROM bulk WHERE v = 'local') AS kept_local;
-- A key that appears twice in one buffered run (here: the DELETE between the two INSERTs is
-- left out) is caught: the second row wins over the first, as over any row of this transaction.
CALL prov($$INSERT INTO bulk VALUES (6001, 'first', 1), (6002, 'x', 2)$$);
CALL prov($$DELETE FROM bulk WHERE id = 6001$$);
CALL prov($$INSERT INTO bulk VALUES (6001, 'second', 3), (6003, 'y', 4)$$);
SELECT spock_test.apply_messages(array(SELECT m FROM unnest(pull('apply_main')) WITH ORDINALITY u(m, n)
                                       WHERE get_byte(m, 0) <> ascii('D') ORDER BY n), NULL, NULL);
SELECT * FROM bulk WHERE id > 6000 ORDER BY id;
-- Four insert_exists (ids 100 and 4000 in both tables); the repeated key of one run is none.
SELECT spock_test.take_conflict_counts();

-- TRUNCATE arrives; the trigger log shows who ran the ALWAYS trigger.
CALL prov($$TRUNCATE items$$);
CALL apply();
SELECT count(*) FROM items;
SELECT DISTINCT who FROM trigger_log;

-- TRUNCATE in a mesh: every TRUNCATE is remembered, the remote one above with the provider's
-- node and commit time, a local one with neither (its time is its row's commit time). A remote
-- INSERT committed before the last TRUNCATE of its table is skipped and counted; one committed
-- after it is applied.
SELECT truncated_at IS NOT NULL AS has_time, origin_node = :aprov_id AS from_aprov
FROM spock.truncate_horizon WHERE relid = 'items'::regclass;
TRUNCATE missing_here;
SELECT truncated_at IS NULL AND origin_node IS NULL AS local_truncate, skipped_changes
FROM spock.truncate_horizon WHERE relid = 'missing_here'::regclass;
CALL prov($$INSERT INTO missing_here VALUES (7)$$);
CALL apply('2001-01-01 00:00:00+00');
CALL prov($$INSERT INTO missing_here VALUES (8)$$);
CALL apply(now() + interval '1 hour');
SELECT id FROM missing_here ORDER BY id;
SELECT truncated_at IS NOT NULL AS time_written_out, skipped_changes
FROM spock.truncate_horizon WHERE relid = 'missing_here'::regclass;
-- A remote TRUNCATE older than rows written here keeps them (it becomes a DELETE of the older
-- rows, here none); a newer one empties the table.
INSERT INTO missing_here (id) VALUES (9);
CALL prov($$TRUNCATE missing_here$$);
CALL apply('2001-01-02 00:00:00+00');
SELECT id FROM missing_here ORDER BY id;
CALL prov($$TRUNCATE missing_here$$);
CALL apply(now() + interval '1 hour');
SELECT count(*) FROM missing_here;
SELECT truncated_at > now() AS newest_kept, origin_node = :aprov_id AS from_aprov
FROM spock.truncate_horizon WHERE relid = 'missing_here'::regclass;

SELECT spock.sub_drop('apply_sub1') > 0 AS sub_dropped;
-- sub_drop dropped the forwarded-node origin too.
SELECT count(*) AS forwarded_origins_left FROM pg_replication_origin WHERE roname = :'slot' || ':n4242';
SELECT count(*) AS worker_origins_left FROM pg_replication_origin
WHERE roname IN (:'slot' || ':w2', :'slot' || ':n4242:w3');
\c regression
SELECT count(*) AS slots_dropped
FROM (SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = 'apply_prov') s;
SET client_min_messages = warning;
DROP DATABASE apply_prov WITH (FORCE);
DROP DATABASE apply_sub WITH (FORCE);
DROP ROLE apply_owner;
