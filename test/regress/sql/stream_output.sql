-- Streaming of large in-progress transactions by spock_output (docs/protocol.md, "Streamed
-- transactions"), seen through SQL-level logical decoding with a 64kB
-- logical_decoding_work_mem: what a subscriber that asked with spock.stream_in_progress
-- receives, and what one that did not (a Spock peer) receives for the same transactions.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS stream_test WITH (FORCE);
RESET client_min_messages;
CREATE DATABASE stream_test ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c stream_test
CREATE EXTENSION spock;
CREATE EXTENSION spock_test;
SELECT spock.node_create('s1', 'dbname=stream_test') IS NOT NULL AS created;
CREATE TABLE big (id int PRIMARY KEY, v text);
SELECT spock.repset_add_table('default', 'big');
CREATE TABLE unpublished (id int PRIMARY KEY);

-- Two slots see the same transactions: one is read with streaming, one without.
SELECT 'created' FROM pg_create_logical_replication_slot('stream_on', 'spock_output');
SELECT 'created' FROM pg_create_logical_replication_slot('stream_off', 'spock_output');

-- The messages the slot has for a subscriber asking for streaming or not, without consuming
-- them; each message as its kind (the first word, and the whole text of stream messages, which
-- carry no xid or LSN in their rendering). done() consumes them.
CREATE FUNCTION msgs(slot name, streaming text) RETURNS TABLE (pos bigint, m text)
LANGUAGE sql AS $$
    SELECT row_number() OVER (), CASE WHEN m LIKE 'STREAM%' THEN m ELSE split_part(m, ' ', 1) END
    FROM (SELECT spock_test.decode_message(data) AS m
          FROM pg_logical_slot_peek_binary_changes(slot, NULL, NULL,
              'startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4',
              'spock.replication_set_names', 'default', 'spock.stream_in_progress', streaming)) d
$$;
-- Counts of each kind up to the second transaction streamed from its start (how many blocks,
-- and how much of a transaction that aborts was streamed, depend on memory accounting).
CREATE FUNCTION kinds(slot name, streaming text) RETURNS TABLE (kind text, n bigint)
LANGUAGE sql AS $$
    SELECT m, count(*) FROM msgs(slot, streaming)
    WHERE m NOT IN ('STREAM START', 'STREAM STOP', 'STREAM XID', 'RELATION', 'UPDATE')
      AND pos < coalesce((SELECT pos FROM msgs(slot, streaming) WHERE m = 'STREAM START first'
                          ORDER BY pos OFFSET 1), 1e18)
    GROUP BY m ORDER BY m
$$;
CREATE FUNCTION done(slot name, streaming text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_logical_slot_get_binary_changes(slot, NULL, NULL,
        'startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4',
        'spock.replication_set_names', 'default', 'spock.stream_in_progress', streaming)
$$;

SET logical_decoding_work_mem = '64kB';

-- A large transaction with a subtransaction rolled back and one released, and changes to a
-- table nobody subscribes to.
BEGIN;
INSERT INTO big SELECT g, repeat('x', 20) FROM generate_series(1, 5000) g;
SAVEPOINT a;
UPDATE big SET v = 'rolled back';
ROLLBACK TO a;
SAVEPOINT b;
DELETE FROM big WHERE id > 4000;
RELEASE b;
INSERT INTO unpublished SELECT generate_series(1, 3000);
COMMIT;
-- A small transaction right after it.
INSERT INTO big VALUES (0, 'small');

-- A large transaction that aborts: its streamed changes are withdrawn with one STREAM ABORT;
-- whole, nothing of it is ever sent.
BEGIN;
INSERT INTO big SELECT g, repeat('y', 20) FROM generate_series(10001, 14000) g;
ROLLBACK;
-- An abort does not flush WAL; a commit (of a change nobody subscribes to) does.
INSERT INTO unpublished VALUES (-1);

-- Streamed: blocks of changes, the rolled back subtransaction aborted on its own, one commit,
-- the aborted transaction's changes and its abort; the one BEGIN and COMMIT are the small
-- transaction's.
SELECT * FROM kinds('stream_on', 'on');
SELECT count(*) FILTER (WHERE m = 'STREAM START') > 0 AS several_blocks,
       count(*) FILTER (WHERE m LIKE 'STREAM START%') =
           count(*) FILTER (WHERE m = 'STREAM STOP') AS blocks_closed,
       count(*) FILTER (WHERE m = 'STREAM XID') > 0 AS subtransactions_marked,
       count(*) FILTER (WHERE m = 'UPDATE') > 0 AS rolled_back_updates_were_streamed
FROM msgs('stream_on', 'on');
-- The stream described the relation for itself: the small transaction after it describes it
-- again, since a subscriber applies a stream's description only with its commit.
SELECT m FROM msgs('stream_on', 'on')
WHERE pos > (SELECT pos FROM msgs('stream_on', 'on') WHERE m = 'STREAM COMMIT')
  AND pos < (SELECT pos FROM msgs('stream_on', 'on') WHERE m = 'STREAM START first'
             ORDER BY pos OFFSET 1)
ORDER BY pos;
-- The aborted transaction: streamed changes, then its abort, the last message.
SELECT count(*) FILTER (WHERE m = 'INSERT') > 0 AS streamed_inserts,
       count(*) FILTER (WHERE m = 'STREAM ABORT') AS aborts,
       max(pos) = max(pos) FILTER (WHERE m = 'STREAM ABORT') AS abort_is_last
FROM msgs('stream_on', 'on')
WHERE pos > (SELECT pos FROM msgs('stream_on', 'on') WHERE m = 'STREAM START first'
             ORDER BY pos OFFSET 1);
SELECT done('stream_on', 'on') > 0 AS consumed;

-- Not asked: the same transactions whole, as a Spock provider sends them.
SELECT * FROM kinds('stream_off', 'off');
SELECT count(*) FILTER (WHERE m = 'UPDATE') AS updates FROM msgs('stream_off', 'off');
SELECT done('stream_off', 'off') > 0 AS consumed;

-- The option is a boolean.
SELECT count(*) FROM msgs('stream_on', 'maybe');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

SELECT pg_drop_replication_slot('stream_on');
SELECT pg_drop_replication_slot('stream_off');
\c regression
DROP DATABASE stream_test WITH (FORCE);
