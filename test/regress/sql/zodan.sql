-- The smaller Z0DAN procedures of zodan.sql and zodremove.sql (reference §9) on one instance:
-- their results and their errors. Acting on live nodes is in TAP t/061 and t/062.
CREATE DATABASE zodan_src;
CREATE DATABASE zodan_new;
SELECT format('host=%s port=%s dbname=',
              split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port')) AS base \gset
\c zodan_src
SET client_min_messages = warning;
CREATE EXTENSION spock;
SELECT spock.node_create('zsrc', :'base' || 'zodan_src') > 0 AS created;
\c zodan_new
SET client_min_messages = warning;
CREATE EXTENSION spock;
SELECT :'base' || 'zodan_src' AS src, :'base' || 'zodan_new' AS new \gset
SET client_min_messages = notice;

-- None of them, nor any zd_* helper, can be executed by PUBLIC.
SELECT count(*) AS routines,
       count(*) FILTER (WHERE has_function_privilege('public', p.oid, 'EXECUTE')) AS public_can_execute
FROM pg_proc p WHERE p.pronamespace = 'spock'::regnamespace
  AND (p.proname LIKE 'zd\_%' OR p.proname IN ('create_nodes_only', 'create_sub', 'create_node',
       'enable_sub', 'get_spock_nodes', 'remove_node_subscriptions', 'finalize_node_removal',
       'version_to_array', 'check_node_exists', 'get_node_slots') OR (p.proname = 'sync_event' AND p.prokind = 'p'));
-- Their signatures are the reference's.
SELECT p.proname, p.prokind, pg_get_function_arguments(p.oid)
FROM pg_proc p WHERE p.pronamespace = 'spock'::regnamespace
  AND p.proname IN ('create_nodes_only', 'create_sub', 'create_replication_slot', 'sync_event',
                    'create_node', 'enable_sub', 'verify_subscription_replicating',
                    'trigger_source_sync_and_wait_on_new_node', 'wait_for_replication_catchup_with_dblink',
                    'present_final_cluster_state', 'get_node_slots', 'remove_node_replication_sets')
ORDER BY 1, 3;

-- Versions and DSNs.
SELECT spock.version_to_array('5.0.9') AS v1, spock.version_to_array('5.1.0-devel') AS v2,
       spock.version_major_minor('5.0.11') AS mm, spock.version_to_array(NULL) AS vnull;
SELECT spock.version_to_array('five');
SELECT spock.extract_dbname_from_dsn('host=h port=5432 dbname=app user=u') AS plain,
       spock.extract_dbname_from_dsn('dbname=''my db'' host=h') AS quoted;
SELECT spock.extract_dbname_from_dsn('host=h password=secret');
CALL spock.check_spock_version_compatibility(:'src', :'new', true);
CALL spock.check_spock_version_compatibility(NULL, :'new');

-- The nodes the source knows, in the temp table temp_spock_nodes.
CALL spock.get_spock_nodes(:'src', false);
SELECT node_name, dsn = :'src' AS dsn_ok FROM temp_spock_nodes;
CALL spock.get_spock_nodes(NULL, false);
CALL spock.show_all_nodes(:'src');
-- No subscription replicates in this cluster: an error.
CALL spock.show_all_subscription_status(:'src');
CALL spock.present_final_cluster_state(:'src', 1);

-- Slots, sync events, nodes and subscriptions on a node through its DSN.
CALL spock.create_replication_slot(:'src', 'zodan_slot', true);
CALL spock.create_replication_slot(:'src', 'zodan_slot', true);
CALL spock.create_replication_slot(:'src', NULL, true);
SELECT spock.check_slot_exists_on_node(:'src', 'zodan_slot') AS slot_there,
       spock.check_slot_exists_on_node(:'src', 'nosuch') AS nosuch_there;
SELECT set_config('zodan.src', :'src', false) IS NOT NULL AS set;
DO $$
DECLARE
    l pg_lsn;
BEGIN
    CALL spock.sync_event(current_setting('zodan.src'), false, l);
    RAISE NOTICE 'sync_event returned an LSN: %', l IS NOT NULL;
END
$$;
CALL spock.sync_event(NULL, false);
CALL spock.create_node(NULL, :'new', true);
CALL spock.create_node('znew', :'new', true);
CALL spock.create_node('znew', :'new', true);
SELECT spock.check_node_exists('znew') AS znew, spock.check_node_exists('zsrc') AS zsrc_here;
CALL spock.create_sub(:'new', 'sub_zsrc_znew', :'src', 'not an array', false, false, '{}', '0', false, false, true);
CALL spock.create_sub(:'new', 'sub_zsrc_znew', NULL, '{default}', false, false, '{}', '0', false, false, true);
CALL spock.create_sub(:'new', 'sub_zsrc_znew', :'src', 'ARRAY[''default'', ''ddl_sql'']', false, false, '{}', '0', false, false, true);
CALL spock.create_sub(:'new', 'sub_zsrc_znew', :'src', '{default}', false, false, '{}', '0', false, false, true);
SELECT sub_name, sub_enabled, sub_replication_sets FROM spock.subscription;
SELECT * FROM spock.get_node_slots('zsrc');
\set VERBOSITY terse
CALL spock.enable_sub(:'new', 'nosuch', true);
\set VERBOSITY default
CALL spock.enable_sub(:'new', NULL, true);
CALL spock.verify_subscription_replicating(:'new', 'nosuch');
CALL spock.verify_subscription_replicating(:'new', 'sub_zsrc_znew', true, 0);
CALL spock.verify_subscription_replicating(:'new', 'sub_zsrc_znew', true, 1);
CALL spock.monitor_lag_with_dblink(NULL, 'znew', :'new');
-- (its NOTICE shows a lag that changes from run to run)
SET client_min_messages = warning;
CALL spock.monitor_lag_with_dblink('zsrc', 'znew', :'new');
SET client_min_messages = notice;
CALL spock.wait_for_replication_catchup_with_dblink('zsrc', 'znew', :'new', true, 0);
CALL spock.wait_for_replication_catchup_with_dblink('nosuch', 'znew', :'new', true, 5);

-- add_node's step procedures alone: on a database that is not the new node, or without
-- their arguments, they refuse before changing anything.
CALL spock.create_disable_subscriptions_and_slots('zsrc', :'src', 'other', :'new', true);
CALL spock.create_source_to_new_subscription(NULL, :'src', 'znew', :'new', true);
CALL spock.check_commit_timestamp_and_advance_slot('zsrc', :'src', 'other', :'new', true);
CALL spock.enable_disabled_subscriptions('zsrc', :'src', 'other', :'new', true);
CALL spock.create_sub_on_new_node_to_src_node('zsrc', :'src', 'other', :'new', true);
CALL spock.trigger_source_sync_and_wait_on_new_node('zsrc', :'src', 'other', :'new', true);
CALL spock.trigger_sync_on_other_nodes_and_wait_on_source('zsrc', :'src', 'other', :'new', true);
-- With one existing node there is no other node to prepare, sync or advance.
CALL spock.create_disable_subscriptions_and_slots('zsrc', :'src', 'znew', :'new', true);
CALL spock.check_commit_timestamp_and_advance_slot('zsrc', :'src', 'znew', :'new', true);
CALL spock.trigger_sync_on_other_nodes_and_wait_on_source('zsrc', :'src', 'znew', :'new', true);
-- The source's sync event needs the subscription from the source first.
SELECT spock.sub_drop('sub_zsrc_znew') > 0 AS dropped;
CALL spock.trigger_source_sync_and_wait_on_new_node('zsrc', :'src', 'znew', :'new', true);
BEGIN ISOLATION LEVEL REPEATABLE READ;
CALL spock.create_source_to_new_subscription('zsrc', :'src', 'znew', :'new', true);
ROLLBACK;

-- zodremove: its checks, and finalize refusing while subscriptions remain.
CALL spock.validate_node_removal_prerequisites('zsrc', NULL);
CALL spock.validate_node_removal_prerequisites('znew', :'src');
CALL spock.validate_node_removal_prerequisites('znew', :'new', true);
CALL spock.gather_cluster_info_for_removal('znew', true);
SELECT count(*) AS others FROM temp_spock_nodes;
SELECT spock.check_repset_exists_on_node(:'new', 'default') AS default_set,
       spock.check_repset_exists_on_node(:'new', 'nosuch') AS nosuch_set;
CALL spock.remove_node_replication_sets(NULL);
SELECT spock.sub_create('sub_zsrc_znew', :'src', enabled := false) > 0 AS created;
CALL spock.finalize_node_removal('znew', true);
CALL spock.remove_node_subscriptions('znew', true);
CALL spock.remove_node_replication_sets(:'new', true);
SELECT count(*) AS sets FROM spock.replication_set;
CALL spock.finalize_node_removal('znew', true);
SELECT count(*) AS nodes FROM spock.node;
CALL spock.finalize_node_removal('znew', true);
\c zodan_src
SELECT pg_drop_replication_slot('zodan_slot');
SELECT count(*) AS slots FROM pg_replication_slots;

\c regression
DROP DATABASE zodan_new WITH (FORCE);
DROP DATABASE zodan_src WITH (FORCE);
