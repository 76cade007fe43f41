-- Sync events and repair mode: "Spock" logical messages, as a subscriber receives them.
CREATE DATABASE messages_test;
\c messages_test
CREATE EXTENSION spock;
CREATE EXTENSION spock_test;

-- Sync events need a local node: they carry its id.
SELECT spock.sync_event();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_create('msg_node', 'dbname=messages_test') AS node_id \gset
SELECT spock.sync_event(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

CREATE TABLE m (id int PRIMARY KEY, v text);
SELECT spock.repset_add_table('default', 'm');
SELECT 'init' FROM pg_create_logical_replication_slot('msg_slot', 'spock_output');

-- A non-transactional event goes out at once, a transactional one inside its transaction.
SELECT spock.sync_event() > '0/0' AS immediate_lsn;
BEGIN;
INSERT INTO m VALUES (1, 'one');
SELECT spock.sync_event(true) > '0/0' AS transactional_lsn;
COMMIT;

-- Repair mode keeps the rest of the transaction out of replication; off lets it through again.
BEGIN;
INSERT INTO m VALUES (2, 'replicated');
SELECT spock.repair_mode(true) > '0/0' AS on_lsn;
SHOW spock.replication_repair_mode;
INSERT INTO m VALUES (3, 'repaired locally');
UPDATE m SET v = 'fixed' WHERE id = 1;
SELECT spock.repair_mode(false) > '0/0' AS off_lsn;
INSERT INTO m VALUES (4, 'replicated again');
COMMIT;
SHOW spock.replication_repair_mode;

-- A transaction entirely in repair mode sends nothing at all.
BEGIN;
SELECT spock.repair_mode(true) IS NOT NULL AS on_lsn;
DELETE FROM m WHERE id = 4;
COMMIT;
-- ... and repair mode ends with it, though it was never turned off.
SHOW spock.replication_repair_mode;

SELECT replace(spock_test.decode_message(data), :'node_id', '<node>') AS message
FROM pg_logical_slot_get_binary_changes('msg_slot', NULL, NULL,
    'startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4',
    'spock.replication_set_names', 'default');

-- The events are written by the local node.
SELECT :node_id = (hashtext('msg_node') & 65535) AS origin_is_local_node;

SELECT pg_drop_replication_slot('msg_slot');
SELECT spock.node_drop('msg_node');
\c regression
DROP DATABASE messages_test WITH (FORCE);
