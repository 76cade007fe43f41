-- Sequences through the queue (reference §3.3, §10.2; docs/sequences.md): sync_seq() ships
-- the last value plus the margin (cache_size steps) to the sets that hold the sequence and
-- records it in sequence_state; errors for sequences in no set and for other relations. And
-- the remaining functions: table_data_filtered(), convert_column_to_int8(),
-- convert_sequence_to_snowflake() without the snowflake extension.
SELECT format('host=%s port=%s dbname=',
              split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port')) AS base \gset
CREATE DATABASE spock_sequences;
\c spock_sequences
CREATE EXTENSION spock;
SELECT spock.node_create('seq_n1', :'base' || 'spock_sequences') > 0 AS created;

CREATE SEQUENCE s_up;
SELECT nextval('s_up') FROM generate_series(1, 5) ORDER BY 1 DESC LIMIT 1;
CREATE SEQUENCE s_step INCREMENT 3 START 2;
SELECT nextval('s_step');
CREATE SEQUENCE s_down INCREMENT -1 MAXVALUE -1 START -1;
SELECT nextval('s_down');
CREATE SEQUENCE s_alone;
SELECT spock.repset_add_seq('default', 's_up');
SELECT spock.repset_add_seq('default_insert_only', 's_up');
SELECT spock.repset_add_all_seqs('default', ARRAY['public']);
SELECT spock.repset_remove_seq('default', 's_alone');
SELECT seqoid::regclass, cache_size, last_value FROM spock.sequence_state ORDER BY seqoid::regclass::text;

SELECT spock.sync_seq('s_up'), spock.sync_seq('s_step'), spock.sync_seq('s_down');
-- Queued once per call, for every set that holds the sequence.
SELECT message_type, replication_sets, message->>'schema_name' AS nspname,
       message->>'sequence_name' AS seqname, message->>'last_value' AS last_value
FROM spock.queue WHERE message_type = 'S' ORDER BY queued_at, seqname;
SELECT seqoid::regclass, last_value FROM spock.sequence_state ORDER BY seqoid::regclass::text;
-- The local sequences themselves are not moved.
SELECT last_value FROM s_up;

-- Errors.
SELECT spock.sync_seq('s_alone');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TABLE f_t (id int PRIMARY KEY, v int);
SELECT spock.sync_seq('f_t');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sync_seq(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Refused on a read-only node.
SET spock.readonly = 'user';
SELECT spock.sync_seq('s_up');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET spock.readonly;

-- table_data_filtered(): the rows of the sets' filters, combined with OR.
INSERT INTO f_t SELECT g, g * 10 FROM generate_series(1, 10) g;
SELECT spock.repset_create('evens') > 0 AS created;
SELECT spock.repset_create('big') > 0 AS created;
SELECT spock.repset_add_table('evens', 'f_t', row_filter := 'id % 2 = 0');
SELECT spock.repset_add_table('big', 'f_t', row_filter := 'v > 80');
SELECT id FROM spock.table_data_filtered(NULL::f_t, 'f_t', ARRAY['evens']) ORDER BY id;
SELECT id FROM spock.table_data_filtered(NULL::f_t, 'f_t', ARRAY['evens', 'big']) ORDER BY id;
SELECT spock.repset_add_table('default', 'f_t');
SELECT count(*) FROM spock.table_data_filtered(NULL::f_t, 'f_t', ARRAY['evens', 'default']);
SELECT * FROM spock.table_data_filtered(NULL::f_t, 'f_t', ARRAY['nosuchset']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM spock.table_data_filtered(NULL::f_t, 'f_t', ARRAY['default_insert_only']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM spock.table_data_filtered(NULL::int, 'f_t', ARRAY['evens']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM spock.table_data_filtered(NULL::f_t, NULL, ARRAY['evens']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- convert_column_to_int8(): the column and, transitively, the foreign keys that reference it.
CREATE TABLE c_parent (id int PRIMARY KEY, label text);
CREATE TABLE c_mid (pid int PRIMARY KEY REFERENCES c_parent, n smallint);
CREATE TABLE c_leaf (id int, mid int REFERENCES c_mid);
INSERT INTO c_parent VALUES (1, 'one');
INSERT INTO c_mid VALUES (1, 1);
INSERT INTO c_leaf VALUES (1, 1);
SELECT spock.convert_column_to_int8('c_parent', 1::smallint) AS converted;
SELECT attrelid::regclass, attname, atttypid::regtype FROM pg_attribute
WHERE attrelid IN ('c_parent'::regclass, 'c_mid'::regclass, 'c_leaf'::regclass) AND attnum > 0
ORDER BY attrelid::regclass::text, attnum;
SELECT spock.convert_column_to_int8('c_parent', 1::smallint) AS converted_again;
SELECT * FROM c_leaf JOIN c_mid ON c_leaf.mid = c_mid.pid JOIN c_parent ON c_parent.id = c_mid.pid;
SELECT spock.convert_column_to_int8('c_parent', 2::smallint);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.convert_column_to_int8('c_parent', 9::smallint);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.convert_column_to_int8('s_up', 1::smallint);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.convert_column_to_int8(NULL, 1::smallint);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- convert_sequence_to_snowflake() needs the snowflake extension.
SELECT spock.convert_sequence_to_snowflake('s_up');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.convert_sequence_to_snowflake('f_t');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

\c regression
DROP DATABASE spock_sequences WITH (FORCE);
