-- The catalog of reference §2: every table and view of schema spock, column by column, against
-- spock5-catalog.txt (relation|kind|attnum|column|type|not null), then its keys, options and a
-- few behaviours.
CREATE TEMP TABLE expected_catalog (relation text, kind text, attnum int, col text, type text,
                                    not_null boolean);
INSERT INTO expected_catalog VALUES
    ('channel_summary_stats', 'v', 1, 'subid', 'oid', false),
    ('channel_summary_stats', 'v', 2, 'sub_name', 'name', false),
    ('channel_summary_stats', 'v', 3, 'n_tup_ins', 'numeric', false),
    ('channel_summary_stats', 'v', 4, 'n_tup_upd', 'numeric', false),
    ('channel_summary_stats', 'v', 5, 'n_tup_del', 'numeric', false),
    ('channel_summary_stats', 'v', 6, 'n_conflict', 'numeric', false),
    ('channel_summary_stats', 'v', 7, 'n_dca', 'numeric', false),
    ('channel_table_stats', 'v', 1, 'subid', 'oid', false),
    ('channel_table_stats', 'v', 2, 'relid', 'oid', false),
    ('channel_table_stats', 'v', 3, 'sub_name', 'name', false),
    ('channel_table_stats', 'v', 4, 'table_name', 'text', false),
    ('channel_table_stats', 'v', 5, 'n_tup_ins', 'bigint', false),
    ('channel_table_stats', 'v', 6, 'n_tup_upd', 'bigint', false),
    ('channel_table_stats', 'v', 7, 'n_tup_del', 'bigint', false),
    ('channel_table_stats', 'v', 8, 'n_conflict', 'bigint', false),
    ('channel_table_stats', 'v', 9, 'n_dca', 'bigint', false),
    ('depend', 'r', 1, 'classid', 'oid', true),
    ('depend', 'r', 2, 'objid', 'oid', true),
    ('depend', 'r', 3, 'objsubid', 'integer', true),
    ('depend', 'r', 4, 'refclassid', 'oid', true),
    ('depend', 'r', 5, 'refobjid', 'oid', true),
    ('depend', 'r', 6, 'refobjsubid', 'integer', true),
    ('depend', 'r', 7, 'deptype', '"char"', true),
    ('exception_log', 'r', 1, 'remote_origin', 'oid', true),
    ('exception_log', 'r', 2, 'remote_commit_ts', 'timestamp with time zone', true),
    ('exception_log', 'r', 3, 'command_counter', 'integer', true),
    ('exception_log', 'r', 4, 'retry_errored_at', 'timestamp with time zone', true),
    ('exception_log', 'r', 5, 'remote_xid', 'bigint', true),
    ('exception_log', 'r', 6, 'local_origin', 'oid', false),
    ('exception_log', 'r', 7, 'local_commit_ts', 'timestamp with time zone', false),
    ('exception_log', 'r', 8, 'table_schema', 'text', false),
    ('exception_log', 'r', 9, 'table_name', 'text', false),
    ('exception_log', 'r', 10, 'operation', 'text', false),
    ('exception_log', 'r', 11, 'local_tup', 'jsonb', false),
    ('exception_log', 'r', 12, 'remote_old_tup', 'jsonb', false),
    ('exception_log', 'r', 13, 'remote_new_tup', 'jsonb', false),
    ('exception_log', 'r', 14, 'ddl_statement', 'text', false),
    ('exception_log', 'r', 15, 'ddl_user', 'text', false),
    ('exception_log', 'r', 16, 'error_message', 'text', true),
    ('exception_status', 'r', 1, 'remote_origin', 'oid', true),
    ('exception_status', 'r', 2, 'remote_commit_ts', 'timestamp with time zone', true),
    ('exception_status', 'r', 3, 'retry_errored_at', 'timestamp with time zone', true),
    ('exception_status', 'r', 4, 'remote_xid', 'bigint', true),
    ('exception_status', 'r', 5, 'status', 'text', true),
    ('exception_status', 'r', 6, 'resolved_at', 'timestamp with time zone', false),
    ('exception_status', 'r', 7, 'resolution_details', 'jsonb', false),
    ('exception_status_detail', 'r', 1, 'remote_origin', 'oid', true),
    ('exception_status_detail', 'r', 2, 'remote_commit_ts', 'timestamp with time zone', true),
    ('exception_status_detail', 'r', 3, 'command_counter', 'integer', true),
    ('exception_status_detail', 'r', 4, 'retry_errored_at', 'timestamp with time zone', true),
    ('exception_status_detail', 'r', 5, 'remote_xid', 'bigint', true),
    ('exception_status_detail', 'r', 6, 'status', 'text', true),
    ('exception_status_detail', 'r', 7, 'resolved_at', 'timestamp with time zone', false),
    ('exception_status_detail', 'r', 8, 'resolution_details', 'jsonb', false),
    ('lag_tracker', 'v', 1, 'origin_name', 'name', false),
    ('lag_tracker', 'v', 2, 'receiver_name', 'name', false),
    ('lag_tracker', 'v', 3, 'commit_timestamp', 'timestamp with time zone', false),
    ('lag_tracker', 'v', 4, 'last_received_lsn', 'pg_lsn', false),
    ('lag_tracker', 'v', 5, 'remote_insert_lsn', 'pg_lsn', false),
    ('lag_tracker', 'v', 6, 'replication_lag_bytes', 'numeric', false),
    ('lag_tracker', 'v', 7, 'replication_lag', 'interval', false),
    ('local_node', 'r', 1, 'node_id', 'oid', true),
    ('local_node', 'r', 2, 'node_local_interface', 'oid', true),
    ('local_sync_status', 'r', 1, 'sync_kind', '"char"', true),
    ('local_sync_status', 'r', 2, 'sync_subid', 'oid', true),
    ('local_sync_status', 'r', 3, 'sync_nspname', 'name', false),
    ('local_sync_status', 'r', 4, 'sync_relname', 'name', false),
    ('local_sync_status', 'r', 5, 'sync_status', '"char"', true),
    ('local_sync_status', 'r', 6, 'sync_statuslsn', 'pg_lsn', true),
    ('node', 'r', 1, 'node_id', 'oid', true),
    ('node', 'r', 2, 'node_name', 'name', true),
    ('node', 'r', 3, 'location', 'text', false),
    ('node', 'r', 4, 'country', 'text', false),
    ('node', 'r', 5, 'info', 'jsonb', false),
    ('node_interface', 'r', 1, 'if_id', 'oid', true),
    ('node_interface', 'r', 2, 'if_name', 'name', true),
    ('node_interface', 'r', 3, 'if_nodeid', 'oid', false),
    ('node_interface', 'r', 4, 'if_dsn', 'text', true),
    ('pii', 'r', 1, 'id', 'integer', true),
    ('pii', 'r', 2, 'pii_schema', 'text', true),
    ('pii', 'r', 3, 'pii_table', 'text', true),
    ('pii', 'r', 4, 'pii_column', 'text', true),
    ('progress', 'r', 1, 'node_id', 'oid', true),
    ('progress', 'r', 2, 'remote_node_id', 'oid', true),
    ('progress', 'r', 3, 'remote_commit_ts', 'timestamp with time zone', true),
    ('progress', 'r', 4, 'remote_lsn', 'pg_lsn', true),
    ('progress', 'r', 5, 'remote_insert_lsn', 'pg_lsn', true),
    ('progress', 'r', 6, 'last_updated_ts', 'timestamp with time zone', true),
    ('progress', 'r', 7, 'updated_by_decode', 'boolean', true),
    ('truncate_horizon', 'r', 1, 'relid', 'oid', true),
    ('truncate_horizon', 'r', 2, 'truncated_at', 'timestamp with time zone', false),
    ('truncate_horizon', 'r', 3, 'origin_node', 'oid', false),
    ('truncate_horizon', 'r', 4, 'skipped_changes', 'bigint', true),
    ('queue', 'r', 1, 'queued_at', 'timestamp with time zone', true),
    ('queue', 'r', 2, 'role', 'name', true),
    ('queue', 'r', 3, 'replication_sets', 'text[]', false),
    ('queue', 'r', 4, 'message_type', '"char"', true),
    ('queue', 'r', 5, 'message', 'json', true),
    ('replication_set', 'r', 1, 'set_id', 'oid', true),
    ('replication_set', 'r', 2, 'set_nodeid', 'oid', true),
    ('replication_set', 'r', 3, 'set_name', 'name', true),
    ('replication_set', 'r', 4, 'replicate_insert', 'boolean', true),
    ('replication_set', 'r', 5, 'replicate_update', 'boolean', true),
    ('replication_set', 'r', 6, 'replicate_delete', 'boolean', true),
    ('replication_set', 'r', 7, 'replicate_truncate', 'boolean', true),
    ('replication_set_seq', 'r', 1, 'set_id', 'oid', true),
    ('replication_set_seq', 'r', 2, 'set_seqoid', 'regclass', true),
    ('replication_set_table', 'r', 1, 'set_id', 'oid', true),
    ('replication_set_table', 'r', 2, 'set_reloid', 'regclass', true),
    ('replication_set_table', 'r', 3, 'set_att_list', 'text[]', false),
    ('replication_set_table', 'r', 4, 'set_row_filter', 'pg_node_tree', false),
    ('resolutions', 'r', 1, 'id', 'integer', true),
    ('resolutions', 'r', 2, 'node_name', 'name', true),
    ('resolutions', 'r', 3, 'log_time', 'timestamp with time zone', true),
    ('resolutions', 'r', 4, 'relname', 'text', false),
    ('resolutions', 'r', 5, 'idxname', 'text', false),
    ('resolutions', 'r', 6, 'conflict_type', 'text', false),
    ('resolutions', 'r', 7, 'conflict_resolution', 'text', false),
    ('resolutions', 'r', 8, 'local_origin', 'integer', false),
    ('resolutions', 'r', 9, 'local_tuple', 'text', false),
    ('resolutions', 'r', 10, 'local_xid', 'xid', false),
    ('resolutions', 'r', 11, 'local_timestamp', 'timestamp with time zone', false),
    ('resolutions', 'r', 12, 'remote_origin', 'integer', false),
    ('resolutions', 'r', 13, 'remote_tuple', 'text', false),
    ('resolutions', 'r', 14, 'remote_xid', 'xid', false),
    ('resolutions', 'r', 15, 'remote_timestamp', 'timestamp with time zone', false),
    ('resolutions', 'r', 16, 'remote_lsn', 'pg_lsn', false),
    ('sequence_state', 'r', 1, 'seqoid', 'oid', true),
    ('sequence_state', 'r', 2, 'cache_size', 'integer', true),
    ('sequence_state', 'r', 3, 'last_value', 'bigint', true),
    ('subscription', 'r', 1, 'sub_id', 'oid', true),
    ('subscription', 'r', 2, 'sub_name', 'name', true),
    ('subscription', 'r', 3, 'sub_origin', 'oid', true),
    ('subscription', 'r', 4, 'sub_target', 'oid', true),
    ('subscription', 'r', 5, 'sub_origin_if', 'oid', true),
    ('subscription', 'r', 6, 'sub_target_if', 'oid', true),
    ('subscription', 'r', 7, 'sub_enabled', 'boolean', true),
    ('subscription', 'r', 8, 'sub_slot_name', 'name', true),
    ('subscription', 'r', 9, 'sub_replication_sets', 'text[]', false),
    ('subscription', 'r', 10, 'sub_forward_origins', 'text[]', false),
    ('subscription', 'r', 11, 'sub_apply_delay', 'interval', true),
    ('subscription', 'r', 12, 'sub_force_text_transfer', 'boolean', true),
    ('subscription', 'r', 13, 'sub_skip_lsn', 'pg_lsn', true),
    ('subscription', 'r', 14, 'sub_skip_schema', 'text[]', false),
    ('subscription', 'r', 15, 'sub_created_at', 'timestamp with time zone', false),
    ('tables', 'v', 1, 'relid', 'oid', false),
    ('tables', 'v', 2, 'nspname', 'name', false),
    ('tables', 'v', 3, 'relname', 'name', false),
    ('tables', 'v', 4, 'set_name', 'name', false)
;
-- Ours, not Spock 5.0's: conflict counters shaped like PostgreSQL 18's
-- pg_stat_subscription_stats (docs/conflicts.md).
INSERT INTO expected_catalog VALUES
    ('sub_conflict_stats', 'v', 1, 'subid', 'oid', false),
    ('sub_conflict_stats', 'v', 2, 'subname', 'name', false),
    ('sub_conflict_stats', 'v', 3, 'apply_error_count', 'bigint', false),
    ('sub_conflict_stats', 'v', 4, 'confl_insert_exists', 'bigint', false),
    ('sub_conflict_stats', 'v', 5, 'confl_update_origin_differs', 'bigint', false),
    ('sub_conflict_stats', 'v', 6, 'confl_update_exists', 'bigint', false),
    ('sub_conflict_stats', 'v', 7, 'confl_update_missing', 'bigint', false),
    ('sub_conflict_stats', 'v', 8, 'confl_delete_origin_differs', 'bigint', false),
    ('sub_conflict_stats', 'v', 9, 'confl_delete_missing', 'bigint', false),
    ('sub_conflict_stats', 'v', 10, 'confl_multiple_unique_conflicts', 'bigint', false),
    ('sub_conflict_stats', 'v', 11, 'confl_update_deleted', 'bigint', false),
    ('sub_conflict_stats', 'v', 12, 'confl_delete_exists', 'bigint', false),
    ('sub_conflict_stats', 'v', 13, 'confl_insert_deleted', 'bigint', false),
    ('sub_conflict_stats', 'v', 14, 'stats_reset', 'timestamp with time zone', false);

-- What the server says about schema spock, in the same shape. Every relation kind that has
-- columns is included, so an unexpected materialized view or foreign table shows up too.
CREATE TEMP VIEW actual_catalog AS
SELECT c.relname::text AS relation, c.relkind::text AS kind, a.attnum::int AS attnum,
       a.attname::text AS col, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'spock'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attnum > 0 AND NOT a.attisdropped;

-- Differences in both directions: expected zero rows.
(SELECT 'missing' AS diff, * FROM expected_catalog EXCEPT SELECT 'missing', * FROM actual_catalog)
UNION ALL
(SELECT 'extra', * FROM actual_catalog EXCEPT SELECT 'extra', * FROM expected_catalog)
ORDER BY relation, attnum, diff;

SELECT kind, count(DISTINCT relation) AS relations, count(*) AS columns
FROM actual_catalog GROUP BY ROLLUP (kind) ORDER BY kind;

-- Storage options: the user catalog tables the walsender reads under the historic snapshot, and
-- the fillfactor of progress.
SELECT relname, reloptions
FROM pg_class
WHERE relnamespace = 'spock'::regnamespace AND relkind = 'r'
ORDER BY relname;

-- Every constraint: primary keys, unique keys, foreign keys (with their ON UPDATE action) and
-- the sync_kind check. progress_pkey is looked up by name by C code.
SELECT conrelid::regclass AS relation, conname, contype, pg_get_constraintdef(oid) AS definition
FROM pg_constraint
WHERE connamespace = 'spock'::regnamespace
ORDER BY conrelid::regclass::text, contype, conname;

-- Column defaults and identity columns.
SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid) AS default_value, a.attidentity
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace = 'spock'::regnamespace AND c.relkind = 'r'
  AND (d.oid IS NOT NULL OR a.attidentity <> '')
ORDER BY c.relname, a.attnum;

-- md5_agg is an ordered-set aggregate with no direct arguments; its state starts as ''.
SELECT aggfnoid, aggkind, aggnumdirectargs, aggtransfn, aggtranstype::regtype,
       quote_nullable(agginitval) AS agginitval,
       pg_get_function_arguments(aggfnoid) AS arguments
FROM pg_aggregate WHERE aggfnoid = 'spock.md5_agg'::regproc;

-- It folds each value into a running md5, exactly like the manual chain.
SELECT spock.md5_agg() WITHIN GROUP (ORDER BY x) AS md5_agg,
       md5(md5(md5('' || 'a') || 'b') || 'c') AS manual_chain
FROM (SELECT x FROM (VALUES ('b'), ('c'), ('a')) v(x) ORDER BY x) s;
-- Like every ordered-set aggregate, PostgreSQL hands the values over in the order they arrive
-- (the transition function would have to sort them itself), so callers feed sorted input.
SELECT spock.md5_agg() WITHIN GROUP (ORDER BY x) = md5(md5(md5('b') || 'c') || 'a') AS arrival_order
FROM (VALUES ('b'), ('c'), ('a')) v(x);
-- Any type: rows are folded through their text form. No rows leave the initial ''.
SELECT spock.md5_agg() WITHIN GROUP (ORDER BY r) = md5(md5('(1,x)') || '(2,y)') AS rows_ok
FROM (SELECT r FROM (VALUES (1, 'x'), (2, 'y')) r(i, t) ORDER BY i) s;
SELECT quote_nullable(spock.md5_agg() WITHIN GROUP (ORDER BY x)) AS no_rows
FROM generate_series(1, 0) x;

-- The constraints reject bad rows.
INSERT INTO spock.node (node_id, node_name) VALUES (1, 'n1'), (2, 'n2');
INSERT INTO spock.node_interface VALUES (11, 'n1', 1, 'dbname=one'), (12, 'n2', 2, 'dbname=two');
INSERT INTO spock.local_node VALUES (1, 11);
INSERT INTO spock.subscription (sub_id, sub_name, sub_origin, sub_target, sub_origin_if,
                                sub_target_if, sub_slot_name)
VALUES (500, 'sub_n2_n1', 2, 1, 12, 11, 'spk_regression_n2_sub_n2_n1');
-- The defaults of a fresh subscription.
SELECT sub_enabled, sub_replication_sets, sub_forward_origins, sub_apply_delay,
       sub_force_text_transfer, sub_skip_lsn, sub_skip_schema, sub_created_at
FROM spock.subscription;

INSERT INTO spock.local_sync_status VALUES ('x', 500, NULL, NULL, 'i', '0/0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO spock.local_sync_status VALUES ('f', 500, NULL, NULL, 'i', '0/0');
INSERT INTO spock.local_sync_status VALUES ('d', 500, 'public', 't', 'i', '0/0'),
                                           ('d', 500, 'public', 't', 'r', '0/0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO spock.local_sync_status VALUES ('d', 501, 'public', 't', 'i', '0/0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO spock.node (node_id, node_name) VALUES (3, 'n1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO spock.node_interface VALUES (13, 'n9', 9, 'dbname=nine');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO spock.node_interface VALUES (13, 'n1', 1, 'dbname=again');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO spock.node_interface VALUES (13, 'n1_other', 1, NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM spock.node WHERE node_id = 2;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO spock.replication_set (set_id, set_nodeid, set_name) VALUES (100, 1, 'default');
INSERT INTO spock.replication_set (set_id, set_nodeid, set_name) VALUES (101, 1, 'default');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO spock.exception_status_detail
VALUES (2, '2024-01-01 00:00:00+00', 1, '2024-01-01 00:00:01+00', 700, 'pending', NULL, NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT set_name, replicate_insert, replicate_update, replicate_delete, replicate_truncate
FROM spock.replication_set;

-- Renumbering a node carries its interfaces and replication sets along (ON UPDATE CASCADE); the
-- plain references, such as the subscription's, refuse it.
INSERT INTO spock.replication_set (set_id, set_nodeid, set_name) VALUES (103, 2, 'n2_set');
UPDATE spock.node SET node_id = 20 WHERE node_id = 2;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM spock.local_sync_status;
DELETE FROM spock.subscription;
UPDATE spock.node SET node_id = 20 WHERE node_id = 2;
SELECT if_name, if_nodeid FROM spock.node_interface ORDER BY if_id;
SELECT set_name, set_nodeid FROM spock.replication_set ORDER BY set_id;

-- resolutions takes its id from the identity sequence, also when given explicitly.
INSERT INTO spock.resolutions (node_name, log_time) VALUES ('n1', now());
INSERT INTO spock.resolutions (id, node_name, log_time)
VALUES (nextval(pg_get_serial_sequence('spock.resolutions', 'id')), 'n1', now());
SELECT id, node_name FROM spock.resolutions ORDER BY id;

-- spock.tables: a permanent user table in no set has a NULL set_name; unlogged and temporary
-- tables, sequences, views and spock's own tables are not listed. Membership in a set of the
-- local node gives one row per set.
CREATE TABLE catalog_plain (id int PRIMARY KEY);
CREATE TABLE catalog_parted (id int) PARTITION BY RANGE (id);
CREATE UNLOGGED TABLE catalog_unlogged (id int);
CREATE TEMP TABLE catalog_temp (id int);
CREATE VIEW catalog_view AS SELECT 1 AS one;
CREATE SEQUENCE catalog_seq;
SELECT relid::regclass, nspname, relname, set_name
FROM spock.tables ORDER BY relname, set_name;
INSERT INTO spock.replication_set (set_id, set_nodeid, set_name) VALUES (102, 1, 'ddl_sql');
INSERT INTO spock.replication_set_table (set_id, set_reloid)
VALUES (100, 'catalog_plain'), (102, 'catalog_plain');
SELECT relid::regclass, nspname, relname, set_name
FROM spock.tables ORDER BY relname, set_name;

-- lag_tracker: while decoding progress is reported the lag is measured in bytes against the
-- origin's insert position; otherwise the bytes are 0 and the lag is the time since the update.
INSERT INTO spock.subscription (sub_id, sub_name, sub_origin, sub_target, sub_origin_if,
                                sub_target_if, sub_slot_name)
VALUES (501, 'sub_n2_n1', 20, 1, 12, 11, 'spk_regression_n2_sub_n2_n1');
INSERT INTO spock.progress
VALUES (1, 20, '2024-01-01 00:00:00+00', '0/1000', '0/1800', now(), true);
SELECT origin_name, receiver_name, commit_timestamp, last_received_lsn, remote_insert_lsn,
       replication_lag_bytes, replication_lag > interval '1 day' AS lag_since_commit
FROM spock.lag_tracker;
UPDATE spock.progress SET updated_by_decode = false, last_updated_ts = now() - interval '1 hour';
SELECT origin_name, receiver_name, replication_lag_bytes,
       replication_lag BETWEEN interval '1 hour' AND interval '2 hours' AS lag_since_update
FROM spock.lag_tracker;

-- Lag bytes are never negative, even where a row's insert position is behind its remote_lsn
-- (the apply worker no longer writes such rows; t/037_channel_stats.pl).
UPDATE spock.progress SET updated_by_decode = true, remote_insert_lsn = '0/800';
SELECT origin_name, receiver_name, replication_lag_bytes FROM spock.lag_tracker;

-- The per-table apply counters: nothing applied in this database, so no rows (the counting
-- itself is tested between live nodes in t/037_channel_stats.pl).
SELECT * FROM spock.channel_table_stats;
SELECT * FROM spock.channel_summary_stats;
SELECT spock.reset_channel_stats();
SELECT count(*) FROM spock.get_channel_stats();

-- Conflict counters: reset one subscription (an entry is made for it, so stats_reset says
-- when), every subscription, or a subscription that does not exist.
SELECT subname, apply_error_count, confl_insert_exists, stats_reset IS NULL AS never_reset
FROM spock.sub_conflict_stats;
SELECT spock.reset_sub_conflict_stats('sub_n2_n1');
SELECT subname, apply_error_count, confl_insert_exists,
       stats_reset BETWEEN now() - interval '1 minute' AND clock_timestamp() AS reset_now
FROM spock.sub_conflict_stats;
SELECT spock.reset_sub_conflict_stats();
SELECT spock.reset_sub_conflict_stats(NULL);
SELECT spock.reset_sub_conflict_stats('no_such_sub');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Leave the catalog empty for the tests that follow.
DELETE FROM spock.progress;
DELETE FROM spock.resolutions;
DELETE FROM spock.replication_set_table;
DELETE FROM spock.replication_set;
DELETE FROM spock.local_sync_status;
DELETE FROM spock.subscription;
DELETE FROM spock.local_node;
DELETE FROM spock.node_interface;
DELETE FROM spock.node;
ALTER SEQUENCE spock.resolutions_id_seq RESTART;
DROP VIEW catalog_view;
DROP SEQUENCE catalog_seq;
DROP TABLE catalog_plain, catalog_parted, catalog_unlogged, catalog_temp;
