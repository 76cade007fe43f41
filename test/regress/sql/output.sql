-- The spock_output plugin, seen through SQL-level logical decoding: every message a slot
-- produces is decoded with spock's own codec by spock_test.decode_message() and rendered as
-- stable text (no LSNs, xids, timestamps or OIDs). The test runs in databases of its own so
-- that its node, sets and slots cannot meet those of other tests.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS output_test WITH (FORCE);
DROP DATABASE IF EXISTS output_peer WITH (FORCE);
RESET client_min_messages;
-- UTF8 whatever the instance's default, so that unicode survives and messages naming the
-- encoding are stable.
CREATE DATABASE output_test ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
CREATE DATABASE output_peer ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;

-- A second node, used later as the provider of a subscription whose origin forwarded changes
-- carry.
\c output_peer
CREATE EXTENSION spock;
SELECT spock.node_create('peer', 'dbname=output_peer') = (hashtext('peer') & 65535) AS id_ok;

\c output_test
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
SET bytea_output = 'hex';

-- ----- a slot in a database that is not a spock node --------------------------------------
SELECT 'created' FROM pg_create_logical_replication_slot('output_nonode', 'spock_output');
-- Without the extension.
SELECT count(*) FROM pg_logical_slot_get_binary_changes('output_nonode', NULL, NULL,
    'startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE EXTENSION spock;
CREATE EXTENSION IF NOT EXISTS spock_test;
-- With the extension but no local node.
SELECT count(*) FROM pg_logical_slot_get_binary_changes('output_nonode', NULL, NULL,
    'startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pg_drop_replication_slot('output_nonode');

SELECT spock.node_create('n1', 'dbname=output_test') = (hashtext('n1') & 65535) AS id_ok;
SELECT node_id AS local_node_id FROM spock.local_node;

-- ----- helpers -----------------------------------------------------------------------------
-- Runs of 250 or more hex digits (toasted values, in text or as hex bytes) are shown by length and
-- md5, so that the output stays readable.
CREATE FUNCTION abbrev(m text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    run text;
BEGIN
    FOR run IN SELECT (regexp_matches(m, '[0-9a-f]{250}[0-9a-f]*', 'g'))[1] LOOP
        m := replace(m, run, format('<%s hex digits, md5 %s>', length(run), md5(run)));
    END LOOP;
    -- The version changes with every release.
    RETURN replace(m, ' spock_version=' || spock.spock_version(), ' spock_version=<current>');
END $$;

-- Consumes the slot's changes and decodes them. The options a subscriber of the 'default' set
-- would send come first; the caller's options follow, and a repeated option wins.
CREATE FUNCTION changes(slot name, VARIADIC opts text[] DEFAULT '{}') RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT abbrev(spock_test.decode_message(data))
    FROM pg_logical_slot_get_binary_changes(slot, NULL, NULL, VARIADIC
        ARRAY['startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4',
              'spock.replication_set_names', 'default'] || opts)
$$;

-- The same without consuming, to decode one change with several option sets.
CREATE FUNCTION peek(slot name, VARIADIC opts text[] DEFAULT '{}') RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT abbrev(spock_test.decode_message(data))
    FROM pg_logical_slot_peek_binary_changes(slot, NULL, NULL, VARIADIC
        ARRAY['startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4',
              'spock.replication_set_names', 'default'] || opts)
$$;

-- The payload of a SYNC_EVENT WAL message (reference §5.6): int32 mtype 3, the origin node id,
-- and a zeroed 64-byte name, in this machine's byte order (little-endian here).
CREATE FUNCTION sync_event_payload(node oid) RETURNS bytea LANGUAGE sql AS $$
    SELECT '\x03000000'::bytea
        || set_byte(set_byte(set_byte(set_byte('\x00000000'::bytea,
               0, (node::bigint & 255)::int), 1, ((node::bigint >> 8) & 255)::int),
               2, ((node::bigint >> 16) & 255)::int), 3, ((node::bigint >> 24) & 255)::int)
        || decode(repeat('00', 64), 'hex')
$$;

SELECT 'created' FROM pg_create_logical_replication_slot('output_s', 'spock_output');

-- An empty stream: the startup message goes out lazily, so nothing at all is sent.
SELECT * FROM changes('output_s');

-- ----- startup options (reference §5.1) ----------------------------------------------------
-- Options are checked whenever decoding starts, even when there is nothing to send.
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('output_s', NULL, NULL,
    'min_proto_version', '3', 'max_proto_version', '4');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('output_s', NULL, NULL,
    'startup_params_format', '2', 'min_proto_version', '3', 'max_proto_version', '4');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('output_s', NULL, NULL,
    'startup_params_format', '1', 'max_proto_version', '4');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM changes('output_s', 'min_proto_version', '5', 'max_proto_version', '6');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM changes('output_s', 'min_proto_version', '1', 'max_proto_version', '2');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM changes('output_s', 'min_proto_version', '4', 'max_proto_version', '3');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM changes('output_s', 'max_proto_version', 'four');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM changes('output_s', 'proto_format', 'json');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM changes('output_s', 'proto_format', 'xml');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM changes('output_s', 'expected_encoding', 'LATIN1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM changes('output_s', 'binary.want_binary_basetypes', 'maybe');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM changes('output_s', 'spock.forward_origins', 'n2');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM changes('output_s', 'spock.replicate_only_table', 'no_schema');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Accepted: the encoding under an alias, native format, the versions a 5.0 subscriber sends,
-- legacy and unknown options (ignored).
SELECT * FROM changes('output_s', 'expected_encoding', 'utf-8', 'proto_format', 'native',
    'min_proto_version', '1', 'max_proto_version', '9', 'hooks.setup_function',
    'spock.spock_hooks_setup', 'relmeta_cache_size', '-1', 'pg_version', '150010',
    'spock_apply_pid', '12345');
-- no_txinfo belongs to the json format.
SELECT * FROM changes('output_s', 'no_txinfo', '1');

-- A set the node does not have is reported once, when decoding starts, and ignored.
CREATE TABLE plain (id int PRIMARY KEY, v text);
SELECT spock.repset_add_table('default', 'plain');
INSERT INTO plain VALUES (1, 'one');
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'default, nosuchset');

-- ----- values of common types in text format -----------------------------------------------
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (a int, b text);
CREATE TABLE types (
    id int PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric,
    n2 numeric(12, 4), t text, vc varchar(10), ch char(3), nm name, u uuid, d date,
    ts timestamp, tstz timestamptz, iv interval, ia int[], ta text[], j json, jb jsonb,
    by bytea, m mood, p pair);
SELECT spock.repset_add_table('default', 'types');
INSERT INTO types VALUES (1, true, -32768, 2147483647, -9223372036854775808, 1.5,
    3.141592653589793, 123456789012345678901234567890.123456789012345678901234567890,
    -12345678.1234, 'plain ascii', 'vc', 'ab', 'a_name', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '2024-02-29', '2024-02-29 23:59:59.999999', '2024-02-29 12:00:00+05:30',
    '1 year 2 mons 3 days 04:05:06.789', '{1,NULL,3}', '{"a b","c,d",NULL,"é"}',
    '{"k": [1, 2, {"x": null}]}', '{"k": [1, 2, {"x": null}], "a": "ü"}', '\xdeadbeef00',
    'happy', ROW(7, 'seven'));
INSERT INTO types VALUES (2, false, 0, 0, 0, 'NaN', '-Infinity', 'NaN', 0, 'Grüße, 你好, 😀',
    '', '   ', '', '00000000-0000-0000-0000-000000000000', 'infinity', '-infinity', 'epoch',
    '-1 days', '{}', '{}', 'null', '[]', '\x', 'sad', ROW(NULL, NULL));
INSERT INTO types (id) VALUES (3);
SELECT * FROM changes('output_s');

-- ----- internal and binary column formats (reference §5.3) ---------------------------------
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE fmt (id int4 PRIMARY KEY, t text, i8 int8, f8 float8, b bool, d date,
    tstz timestamptz, u uuid, n numeric, nm name, ia int[], m mood, p pair, ma mood[],
    pi posint);
SELECT spock.repset_add_table('default', 'fmt');
INSERT INTO fmt VALUES (42, 'ten', 258, 1.5, true, '2000-01-02', '2000-01-01 00:00:01+00',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1.5, 'nm', '{1,2}', 'ok', ROW(1, 'x'), '{sad,ok}',
    5);
-- Text, unless the subscriber asks for more.
SELECT * FROM peek('output_s') WHERE left(peek, 6) IN ('STARTU', 'INSERT');
-- Internal: the server's own datum bytes, for built-in base types that are not arrays or
-- name (whose typelem is set): int4 42 little-endian, text with its 1-byte varlena header
-- (0x09 = length 4 including the header), int8, float8, bool, date (days since 2000-01-01),
-- timestamptz (microseconds since 2000-01-01), uuid (16 bytes), numeric (varlena). Everything
-- else falls back to text.
SELECT * FROM peek('output_s', 'binary.want_internal_basetypes', '1',
    'binary.basetypes_major_version', '1500')
WHERE left(peek, 6) IN ('STARTU', 'INSERT');
-- The full set of traits a Spock subscriber on the same platform sends changes nothing.
SELECT * FROM peek('output_s', 'binary.want_internal_basetypes', '1',
    'binary.basetypes_major_version', '1500', 'binary.bigendian', '0',
    'binary.sizeof_datum', '8', 'binary.sizeof_int', '4', 'binary.sizeof_long', '8',
    'binary.float4_byval', '1', 'binary.float8_byval', '1', 'binary.integer_datetimes', '1')
WHERE left(peek, 6) IN ('STARTU', 'INSERT');
-- Binary: the types' send functions, big-endian (int4 42 = 0000002a), for built-in types
-- (arrays too: their element OIDs are the same everywhere) and for user types that are neither
-- composite nor arrays (the enum sends its label, the domain its base type). A user composite
-- and an array of a user type embed OIDs that differ between nodes and stay text.
SELECT * FROM peek('output_s', 'binary.want_binary_basetypes', '1',
    'binary.basetypes_major_version', '1500')
WHERE left(peek, 6) IN ('STARTU', 'INSERT');
-- Both: internal where possible, then binary, then text.
SELECT * FROM peek('output_s', 'binary.want_internal_basetypes', '1',
    'binary.want_binary_basetypes', '1', 'binary.basetypes_major_version', '1500')
WHERE left(peek, 6) IN ('STARTU', 'INSERT');
-- A trait that differs disables internal datums; another major version disables both.
SELECT * FROM peek('output_s', 'binary.want_internal_basetypes', '1',
    'binary.want_binary_basetypes', '1', 'binary.basetypes_major_version', '1500',
    'binary.sizeof_datum', '4')
WHERE left(peek, 6) IN ('STARTU', 'INSERT');
SELECT * FROM peek('output_s', 'binary.want_internal_basetypes', '1',
    'binary.want_binary_basetypes', '1', 'binary.basetypes_major_version', '1400')
WHERE left(peek, 6) IN ('STARTU', 'INSERT');
-- Without a major version nothing binary is used.
SELECT * FROM peek('output_s', 'binary.want_internal_basetypes', '1',
    'binary.want_binary_basetypes', '1')
WHERE left(peek, 6) IN ('STARTU', 'INSERT');
SELECT count(*) FROM changes('output_s');

-- ----- toasted values, UPDATE and DELETE ---------------------------------------------------
-- 9,600 hex digits: too random to compress, so the value is stored out of line, uncompressed.
-- The second row repeats part of it, so it is stored out of line and compressed.
CREATE TABLE toasty (id int PRIMARY KEY, big text, small int);
SELECT spock.repset_add_table('default', 'toasty');
INSERT INTO toasty SELECT 1, string_agg(md5(i::text), '' ORDER BY i), 1
FROM generate_series(1, 300) i;
INSERT INTO toasty SELECT 2, repeat('0123456789abcdef', 64) || repeat(left(big, 3000), 64), 2
FROM toasty;
SELECT id, length(big), md5(big), pg_column_compression(big) IS NOT NULL AS compressed,
       pg_column_size(big) > 2000 AS too_big_for_the_row
FROM toasty ORDER BY id;
SELECT pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE oid = 'toasty'::regclass))
       > 0 AS toast_table_used;
-- The whole value arrives, in every format.
SELECT * FROM peek('output_s') WHERE peek LIKE 'INSERT%';
SELECT * FROM peek('output_s', 'binary.want_internal_basetypes', '1',
    'binary.basetypes_major_version', '1500') WHERE peek LIKE 'INSERT%';
-- As an internal datum it is the stored varlena. The first row's has a plain 4-byte header
-- (9,604 << 2, little-endian) followed by the text ('c4ca...'). The second row's is sent
-- compressed, as stored: the low bits of its header are 10, and the next 4 bytes hold the
-- raw size, 193,024 = 0x2f200.
SELECT left(v, 8) AS header, substr(v, 9, 8) AS next_4_bytes,
       (('x' || left(v, 2))::bit(8) & B'00000011')::text AS low_bits
FROM (SELECT substring(spock_test.decode_message(data) FROM ', i:([0-9a-f]+), ') AS v
      FROM pg_logical_slot_peek_binary_changes('output_s', NULL, NULL,
          'startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4',
          'spock.replication_set_names', 'default', 'binary.want_internal_basetypes', '1',
          'binary.basetypes_major_version', '1500')) d
WHERE v IS NOT NULL;
SELECT * FROM peek('output_s', 'binary.want_binary_basetypes', '1',
    'binary.basetypes_major_version', '1500') WHERE peek LIKE 'INSERT%';
DELETE FROM toasty WHERE id = 2;
SELECT count(*) FROM changes('output_s');
-- An UPDATE that leaves the toasted column alone sends it as unchanged; there is no old tuple
-- since the key did not change.
UPDATE toasty SET small = 2;
-- An UPDATE of the key sends the old key, with the other columns as null.
UPDATE toasty SET id = 2;
-- Changing the toasted value sends the new one.
UPDATE toasty SET big = 'short now';
-- A DELETE sends the old key.
DELETE FROM toasty;
SELECT * FROM changes('output_s');
-- 'unchanged' is the same in every format.
INSERT INTO toasty SELECT 3, string_agg(md5(i::text), '' ORDER BY i), 1
FROM generate_series(1, 300) i;
UPDATE toasty SET small = 3;
SELECT * FROM changes('output_s', 'binary.want_internal_basetypes', '1',
    'binary.basetypes_major_version', '1500') WHERE changes LIKE 'UPDATE%';

-- REPLICA IDENTITY FULL: UPDATE and DELETE carry the whole old row, also for unchanged
-- columns.
CREATE TABLE full_ri (id int PRIMARY KEY, a text, b int);
ALTER TABLE full_ri REPLICA IDENTITY FULL;
SELECT spock.repset_add_table('default', 'full_ri');
INSERT INTO full_ri VALUES (1, 'a', 10), (2, NULL, 20);
UPDATE full_ri SET b = b + 1;
UPDATE full_ri SET id = 3 WHERE id = 2;
DELETE FROM full_ri WHERE id = 1;
SELECT * FROM changes('output_s');
-- The RELATION message flags the columns of the replica identity index, so none for FULL.
-- REPLICA IDENTITY USING INDEX: the key is the index's columns.
CREATE TABLE idx_ri (id int PRIMARY KEY, code text NOT NULL, v int);
CREATE UNIQUE INDEX idx_ri_code ON idx_ri (code);
ALTER TABLE idx_ri REPLICA IDENTITY USING INDEX idx_ri_code;
SELECT spock.repset_add_table('default', 'idx_ri');
INSERT INTO idx_ri VALUES (1, 'x', 1);
UPDATE idx_ri SET v = 2;
UPDATE idx_ri SET code = 'y';
DELETE FROM idx_ri;
SELECT * FROM changes('output_s');
-- REPLICA IDENTITY NOTHING: an UPDATE has no old tuple and a DELETE, which then has nothing
-- that identifies the row, is not sent at all.
ALTER TABLE plain REPLICA IDENTITY NOTHING;
UPDATE plain SET v = 'uno';
DELETE FROM plain;
SELECT * FROM changes('output_s');
ALTER TABLE plain REPLICA IDENTITY DEFAULT;

-- ----- tables outside the subscriber's sets ------------------------------------------------
CREATE TABLE unpublished (id int PRIMARY KEY);
-- A transaction that touches only tables outside the sets sends nothing, not even BEGIN.
INSERT INTO unpublished VALUES (1);
SELECT * FROM changes('output_s');
-- Mixed: BEGIN goes out with the first published change.
BEGIN;
INSERT INTO unpublished VALUES (2);
INSERT INTO plain VALUES (2, 'two');
INSERT INTO unpublished VALUES (3);
COMMIT;
SELECT * FROM changes('output_s');
-- A set the table is in, but the subscriber does not ask for.
SELECT spock.repset_create('other') IS NOT NULL AS created;
SELECT spock.repset_add_table('other', 'unpublished');
INSERT INTO unpublished VALUES (4);
SELECT * FROM peek('output_s');
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'other');
-- No sets at all: nothing is published.
INSERT INTO plain VALUES (3, 'three');
SELECT * FROM pg_logical_slot_get_binary_changes('output_s', NULL, NULL,
    'startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4');
-- Set names are an identifier list: quoted names keep their case.
SELECT spock.repset_create('Mixed Case') IS NOT NULL AS created;
SELECT spock.repset_add_table('Mixed Case', 'unpublished');
INSERT INTO unpublished VALUES (5);
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'default,"Mixed Case"');

-- ----- action flags of the sets ------------------------------------------------------------
SELECT spock.repset_create('ins_only', replicate_update := false, replicate_delete := false,
                           replicate_truncate := false) IS NOT NULL AS created;
SELECT spock.repset_create('upd_only', replicate_insert := false, replicate_delete := false,
                           replicate_truncate := false) IS NOT NULL AS created;
CREATE TABLE actions (id int PRIMARY KEY, v int);
SELECT spock.repset_add_table('ins_only', 'actions');
SELECT spock.repset_add_table('upd_only', 'actions');
INSERT INTO actions VALUES (1, 1), (2, 2);
UPDATE actions SET v = 10 WHERE id = 1;
DELETE FROM actions WHERE id = 2;
TRUNCATE actions;
-- Insert-only: updates, deletes and the truncate are not sent.
SELECT * FROM peek('output_s', 'spock.replication_set_names', 'ins_only');
-- Update-only: only the update.
SELECT * FROM peek('output_s', 'spock.replication_set_names', 'upd_only');
-- Both: the flags of the matching sets are ORed.
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'ins_only,upd_only');
-- A set change takes effect from the transaction that made it, within the same session (and
-- RELATION goes out again: every set change makes the relations be described anew).
INSERT INTO actions VALUES (3, 3);
DELETE FROM actions WHERE id = 3;
SELECT spock.repset_alter('ins_only', replicate_delete := true) IS NOT NULL AS altered;
INSERT INTO actions VALUES (4, 4);
DELETE FROM actions WHERE id = 4;
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'ins_only');

-- ----- row filters (reference §10.4) -------------------------------------------------------
CREATE TABLE rf (id int PRIMARY KEY, v int, note text);
SELECT spock.repset_create('rf_a') IS NOT NULL AS created;
SELECT spock.repset_create('rf_b') IS NOT NULL AS created;
SELECT spock.repset_add_table('rf_a', 'rf', row_filter := 'v > 10');
SELECT spock.repset_add_table('rf_b', 'rf', row_filter := 'v < 100 AND note IS DISTINCT FROM ''skip''');
INSERT INTO rf VALUES (1, 5, NULL), (2, 50, NULL), (3, 500, NULL), (4, 50, 'skip'),
    (5, NULL, NULL);
-- The filter is evaluated on the new row of an UPDATE: a row that leaves the filter is not
-- sent (and not turned into a DELETE), one that enters it is sent as an UPDATE.
UPDATE rf SET v = 1 WHERE id = 2;
UPDATE rf SET v = 60 WHERE id = 1;
-- A DELETE carries only the key, so a filter on other columns sees NULL and fails.
DELETE FROM rf WHERE id = 1;
-- One set: its filter alone.
SELECT * FROM peek('output_s', 'spock.replication_set_names', 'rf_a');
-- Two sets with filters: a change must pass both (NULL counts as false).
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'rf_a,rf_b');
-- A filter on the key applies to deletes too.
CREATE TABLE rf_key (id int PRIMARY KEY, v int);
SELECT spock.repset_add_table('rf_a', 'rf_key', row_filter := 'id % 2 = 0');
INSERT INTO rf_key SELECT g, g FROM generate_series(1, 4) g;
DELETE FROM rf_key WHERE id IN (1, 2);
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'rf_a');
-- Filters may call functions (evaluated under the decoding snapshot).
CREATE TABLE rf_fn (id int PRIMARY KEY, name text);
SELECT spock.repset_add_table('rf_a', 'rf_fn', row_filter := 'upper(name) LIKE ''A%''');
INSERT INTO rf_fn VALUES (1, 'alice'), (2, 'bob'), (3, 'Anna');
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'rf_a');
-- A filter that reads a toasted value an UPDATE did not change: the value comes from the old
-- row when WAL has it (REPLICA IDENTITY FULL), else from the toast table.
CREATE TABLE rf_toast (id int PRIMARY KEY, doc text, n int);
CREATE TABLE rf_toast_full (id int PRIMARY KEY, doc text, n int);
ALTER TABLE rf_toast_full REPLICA IDENTITY FULL;
SELECT spock.repset_add_table('rf_a', 'rf_toast', row_filter := 'doc LIKE ''c4ca%''');
SELECT spock.repset_add_table('rf_a', 'rf_toast_full', row_filter := 'doc LIKE ''c4ca%''');
INSERT INTO rf_toast SELECT 1, string_agg(md5(i::text), '' ORDER BY i), 1
FROM generate_series(1, 300) i;
INSERT INTO rf_toast_full SELECT * FROM rf_toast;
UPDATE rf_toast SET n = 2;
UPDATE rf_toast_full SET n = 2;
SELECT * FROM peek('output_s', 'spock.replication_set_names', 'rf_a');
-- When the toast table no longer has it (VACUUM removed it, or, as here, the table has been
-- rewritten since), the filter sees NULL and a WARNING says so; reading it anyway would fail
-- on every retry and stop the slot.
TRUNCATE rf_toast, rf_toast_full;
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'rf_a');

-- ----- column lists ------------------------------------------------------------------------
CREATE TABLE cl (id int PRIMARY KEY, a text, b text, c text);
SELECT spock.repset_create('cl_a') IS NOT NULL AS created;
SELECT spock.repset_create('cl_b') IS NOT NULL AS created;
SELECT spock.repset_create('cl_all') IS NOT NULL AS created;
SELECT spock.repset_add_table('cl_a', 'cl', columns := '{id,a}');
SELECT spock.repset_add_table('cl_b', 'cl', columns := '{id,c}');
SELECT spock.repset_add_table('cl_all', 'cl');
INSERT INTO cl VALUES (1, 'a1', 'b1', 'c1');
UPDATE cl SET b = 'b2';
UPDATE cl SET id = 2;
DELETE FROM cl;
-- Only the listed columns, in RELATION and in every tuple.
SELECT * FROM peek('output_s', 'spock.replication_set_names', 'cl_a');
-- Two lists: their union.
SELECT * FROM peek('output_s', 'spock.replication_set_names', 'cl_a,cl_b');
-- A set without a list publishes every column, so it widens the others' lists (Spock keeps
-- the union of the lists, reference §14 item 11).
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'cl_a,cl_all');
-- Column lists and internal format together; a dropped column is never sent.
ALTER TABLE cl DROP COLUMN b;
INSERT INTO cl VALUES (3, 'a3', 'c3');
SELECT * FROM peek('output_s', 'spock.replication_set_names', 'cl_b',
    'binary.want_internal_basetypes', '1', 'binary.basetypes_major_version', '1500');
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'cl_all');

-- ----- TRUNCATE ----------------------------------------------------------------------------
CREATE TABLE tr_parent (id int PRIMARY KEY);
CREATE TABLE tr_child (id int PRIMARY KEY, parent int REFERENCES tr_parent);
CREATE TABLE tr_other (id serial PRIMARY KEY);
CREATE TABLE tr_none (id int PRIMARY KEY);
SELECT spock.repset_add_table('default', 'tr_parent');
SELECT spock.repset_add_table('default', 'tr_child');
SELECT spock.repset_add_table('other', 'tr_other');
INSERT INTO tr_parent VALUES (1);
INSERT INTO tr_child VALUES (1, 1);
INSERT INTO tr_other DEFAULT VALUES;
SELECT count(*) FROM changes('output_s');
-- One TRUNCATE message with the flags and only the relations in the subscriber's sets: the
-- table of set 'other' and the table in no set are left out (Spock would include every
-- table with a truncating set of the provider, reference §14 item 11). RELATION goes first
-- for each relation the session has not described yet.
TRUNCATE tr_parent, tr_other, tr_none CASCADE;
TRUNCATE tr_child RESTART IDENTITY;
TRUNCATE tr_other RESTART IDENTITY;
SELECT * FROM peek('output_s');
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'default,other');
-- A set that does not replicate truncates (ins_only was altered earlier but still has
-- replicate_truncate off).
INSERT INTO actions VALUES (5, 5);
TRUNCATE actions;
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'ins_only');

-- ----- replication origins -----------------------------------------------------------------
-- Changes made under a replication origin were applied from another node. By default they
-- are not sent on: that is what keeps a mesh from looping.
SELECT 'created' FROM pg_replication_origin_create('foreign');
SELECT pg_replication_origin_session_setup('foreign');
INSERT INTO plain VALUES (10, 'from elsewhere');
SELECT pg_replication_origin_session_reset();
INSERT INTO plain VALUES (11, 'local');
SELECT * FROM peek('output_s');
SELECT * FROM peek('output_s', 'spock.forward_origins', '');
-- With 'all' they are forwarded. ORIGIN names the node the change came from; 'foreign' is not
-- the origin of a spock subscription, so all there is to send is its replication origin id.
SELECT replace(c, 'ORIGIN ' || (SELECT roident FROM pg_replication_origin
                                 WHERE roname = 'foreign'), 'ORIGIN <roident of foreign>')
FROM changes('output_s', 'spock.forward_origins', 'all') c;
-- The origin of a subscription (named like its slot) maps to the subscription's provider
-- node: here 'peer', whose changes this node would apply.
SELECT spock.sub_create('sub_peer', 'dbname=output_peer', enabled := false) IS NOT NULL AS created;
SELECT count(*) AS origin_named_like_slot FROM pg_replication_origin
WHERE roname = spock.spock_gen_slot_name('output_test', 'peer', 'sub_peer');
SELECT pg_replication_origin_session_setup(
    spock.spock_gen_slot_name('output_test', 'peer', 'sub_peer'));
INSERT INTO plain VALUES (12, 'from peer');
SELECT pg_replication_origin_session_reset();
SELECT node_id AS peer_node_id FROM spock.node WHERE node_name = 'peer';
SELECT * FROM peek('output_s');
SELECT * FROM changes('output_s', 'spock.forward_origins', 'all');

-- ----- compact transaction headers (ours) -------------------------------------------------
-- A subscriber that sends spock.compact_begin gets no ORIGIN for a transaction that originated
-- here (it takes a missing ORIGIN as the provider's) and no COMMIT-ORDER; a forwarded
-- transaction keeps its ORIGIN. Without the option (a Spock subscriber) nothing changes.
INSERT INTO plain VALUES (13, 'local, compact');
SELECT pg_replication_origin_session_setup('foreign');
INSERT INTO plain VALUES (14, 'forwarded, compact');
SELECT pg_replication_origin_session_reset();
SELECT split_part(c, ' ', 1) AS without_option
FROM peek('output_s', 'spock.forward_origins', 'all') c;
SELECT replace(c, 'ORIGIN ' || (SELECT roident FROM pg_replication_origin
                                 WHERE roname = 'foreign'), 'ORIGIN <roident of foreign>')
       AS compact
FROM changes('output_s', 'spock.forward_origins', 'all', 'spock.compact_begin', '1') c;

-- ----- sync events and other WAL messages (reference §5.6) ---------------------------------
-- A transactional sync event is sent inside its transaction, which needs no other change to
-- be sent; a non-transactional one is sent at once, outside any transaction (the startup
-- message goes first when nothing else has been sent yet). A non-transactional message does
-- not flush WAL, and decoding reads only flushed WAL: a committed change flushes it.
SELECT 'emitted' FROM pg_logical_emit_message(false, 'Spock', sync_event_payload(49708));
INSERT INTO unpublished VALUES (100);
SELECT * FROM changes('output_s');
SELECT 'emitted' FROM pg_logical_emit_message(true, 'Spock', sync_event_payload(49708));
SELECT * FROM changes('output_s');
BEGIN;
INSERT INTO plain VALUES (20, 'before the event');
SELECT 'emitted' FROM pg_logical_emit_message(true, 'Spock', sync_event_payload(49708));
SELECT 'emitted' FROM pg_logical_emit_message(false, 'Spock', sync_event_payload(13587));
INSERT INTO plain VALUES (21, 'after the event');
COMMIT;
SELECT * FROM changes('output_s');
-- Messages of other prefixes are not sent; Spock messages of unknown types or sizes are
-- reported and not sent.
SELECT 'emitted' FROM pg_logical_emit_message(true, 'other', sync_event_payload(49708));
SELECT 'emitted' FROM pg_logical_emit_message(false, 'other', 'x');
SELECT 'emitted' FROM pg_logical_emit_message(true, 'Spock', '\x63000000'::bytea);
SELECT 'emitted' FROM pg_logical_emit_message(true, 'Spock', '\x03'::bytea);
SELECT * FROM changes('output_s');
-- A sync event of the wrong size, which the subscriber could not read either.
SELECT 'emitted' FROM pg_logical_emit_message(true, 'Spock', '\x03000000'::bytea);
SELECT * FROM changes('output_s');
-- A sync event emitted under a replication origin is filtered like the changes.
SELECT pg_replication_origin_session_setup('foreign');
SELECT 'emitted' FROM pg_logical_emit_message(true, 'Spock', sync_event_payload(49708));
SELECT pg_replication_origin_session_reset();
SELECT * FROM peek('output_s');
SELECT replace(c, 'ORIGIN ' || (SELECT roident FROM pg_replication_origin
                                 WHERE roname = 'foreign'), 'ORIGIN <roident of foreign>')
FROM changes('output_s', 'spock.forward_origins', 'all') c;

-- ----- repair mode (reference §10.8) -------------------------------------------------------
-- spock.repair_mode(true) (REPAIR_MODE_ON, mtype 1) suppresses the changes of its transaction
-- until spock.repair_mode(false) (REPAIR_MODE_OFF, mtype 2); neither message is sent.
BEGIN;
INSERT INTO plain VALUES (30, 'sent');
SELECT 'on' FROM spock.repair_mode(true);
INSERT INTO plain VALUES (31, 'repaired locally');
UPDATE plain SET v = 'repaired too' WHERE id = 30;
TRUNCATE tr_parent CASCADE;
SELECT 'emitted' FROM pg_logical_emit_message(true, 'Spock', sync_event_payload(49708));
SELECT 'off' FROM spock.repair_mode(false);
INSERT INTO plain VALUES (32, 'sent again');
COMMIT;
-- Repair mode does not outlive its transaction.
BEGIN;
SELECT 'on' FROM spock.repair_mode(true);
INSERT INTO plain VALUES (33, 'repaired');
COMMIT;
INSERT INTO plain VALUES (34, 'next transaction');
-- A whole transaction in repair mode sends nothing at all.
BEGIN;
SELECT 'on' FROM spock.repair_mode(true);
INSERT INTO plain VALUES (35, 'repaired');
SELECT 'off' FROM spock.repair_mode(false);
COMMIT;
SELECT * FROM changes('output_s');
-- Messages that look like repair mode but were written with pg_logical_emit_message() are
-- ignored with a WARNING, whoever wrote them: Spock's untagged layout, a made-up tag, and
-- non-transactional ones.
BEGIN;
SELECT 'on' FROM pg_logical_emit_message(true, 'Spock', '\x01000000'::bytea);
SELECT 'on' FROM pg_logical_emit_message(true, 'Spock',
    '\x01000000'::bytea || decode(repeat('ab', 32), 'hex'));
INSERT INTO plain VALUES (36, 'sent');
COMMIT;
SELECT 'on' FROM pg_logical_emit_message(false, 'Spock', '\x01000000'::bytea);
INSERT INTO plain VALUES (37, 'sent');
SELECT * FROM changes('output_s');
-- An ordinary role cannot use repair mode: spock.repair_mode() is not granted to PUBLIC and
-- checks for a superuser, and what it can emit itself is ignored.
CREATE ROLE output_plain_role;
GRANT USAGE ON SCHEMA spock TO output_plain_role;
GRANT INSERT ON plain TO output_plain_role;
SET ROLE output_plain_role;
SELECT spock.repair_mode(true);
SELECT spock.repair_mode(false);
BEGIN;
SELECT 'on' FROM pg_logical_emit_message(true, 'Spock', '\x01000000'::bytea);
INSERT INTO plain VALUES (39, 'hidden by a plain role?');
COMMIT;
RESET ROLE;
SELECT * FROM changes('output_s');
SELECT has_function_privilege('output_plain_role', 'spock.repair_mode(boolean)', 'EXECUTE')
    AS plain_role_may_call_repair_mode;
-- Even with EXECUTE granted, the function itself refuses a non-superuser.
GRANT EXECUTE ON FUNCTION spock.repair_mode(boolean) TO output_plain_role;
SET ROLE output_plain_role;
SELECT spock.repair_mode(true);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE EXECUTE ON FUNCTION spock.repair_mode(boolean) FROM output_plain_role;
REVOKE INSERT ON plain FROM output_plain_role;
REVOKE USAGE ON SCHEMA spock FROM output_plain_role;
DROP ROLE output_plain_role;

-- ----- RELATION after a schema change --------------------------------------------------------
-- Within one decoding session RELATION goes out once per relation, and again after the
-- relation changes (a relcache invalidation), before its next change.
CREATE TABLE evolving (id int PRIMARY KEY, a text);
SELECT spock.repset_add_table('default', 'evolving');
INSERT INTO evolving VALUES (1, 'one');
INSERT INTO evolving VALUES (2, 'two');
ALTER TABLE evolving ADD COLUMN b int DEFAULT 7;
INSERT INTO evolving VALUES (3, 'three', 3);
UPDATE evolving SET a = 'uno' WHERE id = 1;
ALTER TABLE evolving ALTER COLUMN b TYPE bigint, DROP COLUMN a;
INSERT INTO evolving VALUES (4, 4);
SELECT * FROM changes('output_s');

-- ----- a set dropped while in use ----------------------------------------------------------
-- The sets are read as of each change: the table is sent until the drop, and not after it.
-- Decoding starts after the drop, so the name is reported as unknown (Spock stops with an
-- ERROR instead).
CREATE TABLE doomed (id int PRIMARY KEY);
SELECT spock.repset_create('doomed_set') IS NOT NULL AS created;
SELECT spock.repset_add_table('doomed_set', 'doomed');
INSERT INTO doomed VALUES (1);
SELECT spock.repset_drop('doomed_set');
INSERT INTO doomed VALUES (2);
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'doomed_set');

-- ----- spock.replicate_only_table (sync catch-up) ------------------------------------------
-- Only that table is sent, whatever the sets say: here a table in no set, while a table of
-- the requested set is left out.
INSERT INTO unpublished VALUES (200);
INSERT INTO plain VALUES (200, 'in default');
INSERT INTO tr_none VALUES (200);
UPDATE tr_none SET id = 201;
DELETE FROM tr_none;
INSERT INTO tr_none VALUES (202);
TRUNCATE tr_none;
SELECT * FROM peek('output_s', 'spock.replicate_only_table', 'public.tr_none');
-- Names follow identifier rules: quoting keeps case, unquoted names are folded.
SELECT * FROM peek('output_s', 'spock.replicate_only_table', 'PUBLIC.TR_NONE')
WHERE peek LIKE 'INSERT%';
SELECT count(*) FROM changes('output_s', 'spock.replicate_only_table', '"PUBLIC"."TR_NONE"');

-- ----- spock.queue -------------------------------------------------------------------------
-- Queue rows go to subscribers of the sets they name, or to everyone when they name none.
INSERT INTO spock.queue VALUES ('2024-01-01 00:00:00+00', 'postgres', NULL, 'Q', '"for all"');
INSERT INTO spock.queue VALUES ('2024-01-01 00:00:00+00', 'postgres', '{other,default}', 'Q',
    '"for default and other"');
INSERT INTO spock.queue VALUES ('2024-01-01 00:00:00+00', 'postgres', '{cl_a}', 'Q',
    '"for cl_a"');
-- Only inserts are considered.
DELETE FROM spock.queue;
SELECT * FROM peek('output_s');
SELECT * FROM changes('output_s', 'spock.replication_set_names', 'cl_a');

-- ----- partitions, subtransactions, big transactions -----------------------------------------
-- Changes to a partitioned table arrive as changes to its partitions, which repset_add_table
-- put in the set with it. A row moving between partitions is a DELETE and an INSERT.
CREATE TABLE parted (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (100) TO (200);
SELECT spock.repset_add_table('default', 'parted');
INSERT INTO parted VALUES (1, 'low'), (150, 'high');
UPDATE parted SET id = 101 WHERE id = 1;
UPDATE parted SET v = 'higher' WHERE id = 150;
SELECT * FROM changes('output_s');
-- A partition created or attached later is sent with no repset_add_partition, from the
-- transaction that attached it on; a detached one is not sent after its DETACH (and leaves
-- the set), in the same stream.
CREATE TABLE parted_mid PARTITION OF parted FOR VALUES FROM (200) TO (300);
CREATE TABLE parted_att (v text, junk int, id int NOT NULL);
ALTER TABLE parted_att DROP COLUMN junk;
INSERT INTO parted_att VALUES ('before attach', 350);
ALTER TABLE parted ATTACH PARTITION parted_att FOR VALUES FROM (300) TO (400);
INSERT INTO parted VALUES (250, 'mid'), (351, 'attached');
ALTER TABLE parted DETACH PARTITION parted_low;
INSERT INTO parted_low VALUES (2, 'detached');
INSERT INTO parted VALUES (252, 'mid again');
SELECT count(*) AS parted_low_rows FROM spock.replication_set_table
WHERE set_reloid = 'parted_low'::regclass;
SELECT * FROM changes('output_s');
-- repset_remove_partition excludes an inherited partition; repset_add_partition brings it back.
SELECT spock.repset_remove_partition('parted', 'parted_mid');
INSERT INTO parted VALUES (253, 'excluded'), (152, 'still sent');
SELECT spock.repset_add_partition('parted', 'parted_mid');
INSERT INTO parted VALUES (254, 'back');
SELECT * FROM changes('output_s');
-- The parent's row filter, mapped to the partition's own column numbers.
CREATE TABLE fparted (id int PRIMARY KEY, amount int) PARTITION BY RANGE (id);
SELECT spock.repset_add_table('default', 'fparted', row_filter := 'amount > 10');
CREATE TABLE fparted_1 (junk text, amount int, id int NOT NULL);
ALTER TABLE fparted_1 DROP COLUMN junk;
ALTER TABLE fparted ATTACH PARTITION fparted_1 FOR VALUES FROM (0) TO (100);
INSERT INTO fparted VALUES (1, 5), (2, 50);
SELECT * FROM changes('output_s');
-- Rolled-back subtransactions send nothing.
BEGIN;
INSERT INTO plain VALUES (300, 'kept');
SAVEPOINT s;
INSERT INTO plain VALUES (301, 'rolled back');
ROLLBACK TO SAVEPOINT s;
INSERT INTO plain VALUES (302, 'kept too');
COMMIT;
BEGIN;
INSERT INTO plain VALUES (303, 'rolled back');
ROLLBACK;
SELECT * FROM changes('output_s');
-- A transaction bigger than logical_decoding_work_mem is spilled to disk and sent whole.
SET logical_decoding_work_mem = '64kB';
INSERT INTO plain SELECT g, repeat('x', 100) FROM generate_series(1000, 5999) g;
SELECT count(*) FILTER (WHERE c LIKE 'INSERT plain (t:%, t:xxxx%)') AS inserts,
       count(*) FILTER (WHERE c = 'BEGIN') AS begins, count(*) AS messages
FROM changes('output_s') c;
RESET logical_decoding_work_mem;

-- ----- cleanup -----------------------------------------------------------------------------
SELECT pg_drop_replication_slot('output_s');
SELECT spock.sub_drop('sub_peer') IS NOT NULL AS dropped;
SELECT pg_replication_origin_drop('foreign');
SELECT spock.node_drop('n1');
\c output_peer
SELECT spock.node_drop('peer');
\c regression
DROP DATABASE output_test WITH (FORCE);
DROP DATABASE output_peer WITH (FORCE);
SELECT count(*) AS slots_left FROM pg_replication_slots WHERE slot_name LIKE 'output%';
SELECT count(*) AS origins_left FROM pg_replication_origin
WHERE roname = 'foreign' OR roname LIKE 'spk_output_test%';
