-- The SQL API of reference §3 against a Spock 5.0.11 installation: every function, procedure
-- and aggregate of schema spock, printed as in ../shared/spec/spock5-functions.txt
-- (name|kind|arguments|result|strict), must match line by line. The 66 lines below are that
-- file, unchanged.
-- The reference was printed with the default IntervalStyle; pg_regress runs with
-- postgres_verbose, which would print sub_create's apply_delay default as '@ 0'.
SET IntervalStyle = postgres;
CREATE TEMP TABLE reference_functions (line text);
INSERT INTO reference_functions VALUES
    ($$convert_column_to_int8|f|p_rel regclass, p_attnum smallint|integer|f$$),
    ($$convert_sequence_to_snowflake|f|p_seqid regclass|integer|f$$),
    ($$delta_apply|f|bigint, bigint, bigint|bigint|f$$),
    ($$delta_apply|f|double precision, double precision, double precision|double precision|f$$),
    ($$delta_apply|f|integer, integer, integer|integer|f$$),
    ($$delta_apply|f|money, money, money|money|f$$),
    ($$delta_apply|f|numeric, numeric, numeric|numeric|f$$),
    ($$delta_apply|f|real, real, real|real|f$$),
    ($$delta_apply|f|smallint, smallint, smallint|smallint|f$$),
    ($$get_apply_worker_status|f|OUT worker_pid bigint, OUT worker_dboid integer, OUT worker_subid bigint, OUT worker_status text|SETOF record|f$$),
    ($$get_channel_stats|f|OUT subid oid, OUT relid oid, OUT n_tup_ins bigint, OUT n_tup_upd bigint, OUT n_tup_del bigint, OUT n_conflict bigint, OUT n_dca bigint|SETOF record|f$$),
    ($$get_country|f||text|f$$),
    ($$get_lsn_from_commit_ts|f|slot_name name, commit_ts timestamp with time zone|pg_lsn|t$$),
    ($$md5_agg|a|ORDER BY anyelement|text|f$$),
    ($$md5_agg_sfunc|f|text, anyelement|text|f$$),
    ($$node_add_interface|f|node_name name, interface_name name, dsn text|oid|t$$),
    ($$node_create|f|node_name name, dsn text, location text DEFAULT NULL::text, country text DEFAULT NULL::text, info jsonb DEFAULT NULL::jsonb|oid|f$$),
    ($$node_drop|f|node_name name, ifexists boolean DEFAULT false|boolean|t$$),
    ($$node_drop_interface|f|node_name name, interface_name name|boolean|t$$),
    ($$node_info|f|OUT node_id oid, OUT node_name text, OUT sysid text, OUT dbname text, OUT replication_sets text, OUT location text, OUT country text, OUT info jsonb|record|t$$),
    ($$pause_apply_workers|f||void|f$$),
    ($$repair_mode|f|enabled boolean|pg_lsn|f$$),
    ($$replicate_ddl|f|command text, replication_sets text[] DEFAULT '{ddl_sql}'::text[], search_path text DEFAULT current_setting('search_path'::text), role text DEFAULT CURRENT_USER|boolean|t$$),
    ($$replicate_ddl|f|command text[], replication_sets text[] DEFAULT '{ddl_sql}'::text[], search_path text DEFAULT current_setting('search_path'::text), role text DEFAULT CURRENT_USER|SETOF boolean|t$$),
    ($$repset_add_all_seqs|f|set_name name, schema_names text[], synchronize_data boolean DEFAULT false|boolean|t$$),
    ($$repset_add_all_tables|f|set_name name, schema_names text[], synchronize_data boolean DEFAULT false|boolean|t$$),
    ($$repset_add_partition|f|parent regclass, partition regclass DEFAULT NULL::regclass, row_filter text DEFAULT NULL::text|integer|f$$),
    ($$repset_add_seq|f|set_name name, relation regclass, synchronize_data boolean DEFAULT false|boolean|t$$),
    ($$repset_add_table|f|set_name name, relation regclass, synchronize_data boolean DEFAULT false, columns text[] DEFAULT NULL::text[], row_filter text DEFAULT NULL::text, include_partitions boolean DEFAULT true|boolean|f$$),
    ($$repset_alter|f|set_name name, replicate_insert boolean DEFAULT NULL::boolean, replicate_update boolean DEFAULT NULL::boolean, replicate_delete boolean DEFAULT NULL::boolean, replicate_truncate boolean DEFAULT NULL::boolean|oid|f$$),
    ($$repset_create|f|set_name name, replicate_insert boolean DEFAULT true, replicate_update boolean DEFAULT true, replicate_delete boolean DEFAULT true, replicate_truncate boolean DEFAULT true|oid|t$$),
    ($$repset_drop|f|set_name name, ifexists boolean DEFAULT false|boolean|t$$),
    ($$repset_remove_partition|f|parent regclass, partition regclass DEFAULT NULL::regclass|integer|f$$),
    ($$repset_remove_seq|f|set_name name, relation regclass|boolean|t$$),
    ($$repset_remove_table|f|set_name name, relation regclass, include_partitions boolean DEFAULT true|boolean|t$$),
    ($$repset_show_table|f|relation regclass, repsets text[], OUT relid oid, OUT nspname text, OUT relname text, OUT att_list text[], OUT has_row_filter boolean, OUT relkind "char", OUT relispartition boolean|record|t$$),
    ($$reset_channel_stats|f||void|f$$),
    ($$resume_apply_workers|f||void|f$$),
    ($$spock_gen_slot_name|f|name, name, name|name|t$$),
    ($$spock_max_proto_version|f||integer|f$$),
    ($$spock_min_proto_version|f||integer|f$$),
    ($$spock_version|f||text|f$$),
    ($$spock_version_num|f||integer|f$$),
    ($$sub_add_repset|f|subscription_name name, replication_set name|boolean|t$$),
    ($$sub_alter_interface|f|subscription_name name, interface_name name|boolean|t$$),
    ($$sub_alter_skiplsn|f|subscription_name name, lsn pg_lsn|boolean|t$$),
    ($$sub_alter_sync|f|subscription_name name, truncate boolean DEFAULT false|boolean|t$$),
    ($$sub_create|f|subscription_name name, provider_dsn text, replication_sets text[] DEFAULT '{default,default_insert_only,ddl_sql}'::text[], synchronize_structure boolean DEFAULT false, synchronize_data boolean DEFAULT false, forward_origins text[] DEFAULT '{}'::text[], apply_delay interval DEFAULT '00:00:00'::interval, force_text_transfer boolean DEFAULT false, enabled boolean DEFAULT true, skip_schema text[] DEFAULT '{}'::text[]|oid|t$$),
    ($$sub_disable|f|subscription_name name, immediate boolean DEFAULT false|boolean|t$$),
    ($$sub_drop|f|subscription_name name, ifexists boolean DEFAULT false|oid|t$$),
    ($$sub_enable|f|subscription_name name, immediate boolean DEFAULT false|boolean|t$$),
    ($$sub_remove_repset|f|subscription_name name, replication_set name|boolean|t$$),
    ($$sub_resync_table|f|subscription_name name, relation regclass, truncate boolean DEFAULT true|boolean|t$$),
    ($$sub_show_status|f|subscription_name name DEFAULT NULL::name, OUT subscription_name text, OUT status text, OUT provider_node text, OUT provider_dsn text, OUT slot_name text, OUT replication_sets text[], OUT forward_origins text[]|SETOF record|f$$),
    ($$sub_show_table|f|subscription_name name, relation regclass, OUT nspname text, OUT relname text, OUT status text|record|t$$),
    ($$sub_wait_for_sync|f|subscription_name name|void|t$$),
    ($$sync_event|f|transactional boolean DEFAULT false|pg_lsn|t$$),
    ($$sync_seq|f|relation regclass|boolean|t$$),
    ($$table_data_filtered|f|reltyp anyelement, relation regclass, repsets text[]|SETOF anyelement|f$$),
    ($$table_wait_for_sync|f|subscription_name name, relation regclass|void|t$$),
    ($$terminate_active_transactions|f||boolean|t$$),
    ($$wait_for_apply_worker|f|p_subbid bigint, timeout integer DEFAULT 0|boolean|f$$),
    ($$wait_for_sync_event|p|OUT result boolean, IN origin name, IN lsn pg_lsn, IN timeout integer DEFAULT 0, IN wait_if_disabled boolean DEFAULT false||f$$),
    ($$wait_for_sync_event|p|OUT result boolean, IN origin_id oid, IN lsn pg_lsn, IN timeout integer DEFAULT 0, IN wait_if_disabled boolean DEFAULT false||f$$),
    ($$wait_slot_confirm_lsn|f|slotname name, target pg_lsn|void|f$$),
    ($$xact_commit_timestamp_origin|f|xid xid, OUT "timestamp" timestamp with time zone, OUT roident oid|record|t$$);

CREATE TEMP VIEW our_functions AS
SELECT p.proname::text || '|' || p.prokind::text || '|' || pg_get_function_arguments(p.oid) || '|'
       || coalesce(pg_get_function_result(p.oid), '') || '|'
       || CASE WHEN p.proisstrict THEN 't' ELSE 'f' END AS line,
       p.oid::regprocedure AS func, l.lanname AS language
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'spock'::regnamespace;

CREATE TEMP TABLE our_additions (name text);
INSERT INTO our_additions VALUES ('apply_counters'), ('schema_change_stats'), ('apply_stats'), ('conflict_counters'),
                                 ('reset_sub_conflict_stats'), ('deleted_key_trigger'),
                                 ('get_parallel_apply_status'), ('get_stream_apply_status');
SELECT count(*) AS reference, (SELECT count(*) FROM our_functions) AS ours,
       (SELECT count(*) FROM our_additions) AS additions
FROM reference_functions;

-- Name, kind, arguments (names, types, defaults, modes) and result: no difference in either
-- direction, except the functions spock adds to Spock's API (listed here).
SELECT 'missing' AS diff, left(line, -2) AS signature FROM reference_functions
EXCEPT SELECT 'missing', left(line, -2) FROM our_functions
UNION ALL
(SELECT 'extra', left(line, -2) FROM our_functions
 WHERE split_part(line, '|', 1) NOT IN (SELECT name FROM our_additions)
 EXCEPT SELECT 'extra', left(line, -2) FROM reference_functions)
ORDER BY 1, 2;

-- Strictness differs on purpose: Spock declares these STRICT, so a NULL argument makes them
-- return NULL without a word (reference §14 item 5). Ours are CALLED ON NULL INPUT and raise
-- 22004 naming the argument (the SQL wrapper replicate_ddl(text[]) passes NULLs on to the C
-- function, which does the same). Nothing else differs.
SELECT o.func, right(r.line, 1) AS spock_strict, right(o.line, 1) AS our_strict, o.language
FROM reference_functions r JOIN our_functions o ON left(o.line, -2) = left(r.line, -2)
WHERE right(o.line, 1) <> right(r.line, 1)
ORDER BY o.func::text;

-- A NULL argument raises an error naming it instead of returning NULL.
SELECT spock.node_drop(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.spock_gen_slot_name('db', NULL, 'sub');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- A helper that runs a statement and reports its SQLSTATE and message.
CREATE TABLE api_t (id int PRIMARY KEY, v text);
CREATE SEQUENCE api_seq;
CREATE FUNCTION pg_temp.try_call(fname text, stmt text,
                                 OUT code text, OUT message text, OUT names_it boolean)
LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE stmt;
    code := '00000';
    message := 'no error';
    names_it := false;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
    names_it := position('spock.' || fname || '()' IN message) > 0;
END
$f$;

-- Sync events and waits on a node without subscriptions or slots: clear errors, and a wait
-- for "every spock slot" that has none to wait for returns at once.
SELECT c.fname, r.code, r.message, c.stmt AS call
FROM (VALUES
    ('wait_for_sync_event', $$CALL spock.wait_for_sync_event(NULL, 1234::oid, '0/1', 10)$$),
    ('wait_for_sync_event', $$CALL spock.wait_for_sync_event(NULL, 'n1'::name, '0/1', 10)$$),
    ('wait_for_sync_event', $$CALL spock.wait_for_sync_event(NULL, 'nx'::name, '0/1', 10)$$),
    ('wait_for_sync_event', $$CALL spock.wait_for_sync_event(NULL, 'n1'::name, NULL, 10)$$),
    ('wait_for_sync_event', $$CALL spock.wait_for_sync_event(NULL, 'n1'::name, '0/1', -1)$$),
    ('wait_slot_confirm_lsn', $$SELECT spock.wait_slot_confirm_lsn('spk_db_n1_sub1', '0/1')$$),
    ('wait_slot_confirm_lsn', $$SELECT spock.wait_slot_confirm_lsn(NULL, NULL)$$),
    ('get_lsn_from_commit_ts', $$SELECT spock.get_lsn_from_commit_ts('spk_db_n1_sub1', now())$$),
    ('get_lsn_from_commit_ts', $$SELECT spock.get_lsn_from_commit_ts(NULL, now())$$)
) AS c(fname, stmt), pg_temp.try_call(c.fname, c.stmt) AS r
ORDER BY c.fname, c.stmt;
-- Nothing was left behind by the calls above.
SELECT to_regclass('api_ddl') AS api_ddl;
DROP TABLE api_t;
DROP SEQUENCE api_seq;

-- Every function in schema spock belongs to the extension and every C function is in
-- $libdir/spock; the shipped script carries no test helpers (those live in the separate
-- spock_test extension).
SELECT count(*) AS functions,
       count(*) FILTER (WHERE d.objid IS NULL) AS not_in_extension,
       count(*) FILTER (WHERE l.lanname = 'c' AND p.probin <> '$libdir/spock') AS other_module,
       count(*) FILTER (WHERE p.proname ~ 'test' OR p.prosrc ~ 'test') AS test_helpers
FROM pg_proc p
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
     AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'spock')
WHERE p.pronamespace = 'spock'::regnamespace;
SELECT count(*) AS spock_members_outside_schema_spock
FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'spock')
  AND p.pronamespace <> 'spock'::regnamespace;

-- EXECUTE on pause_apply_workers() and resume_apply_workers() is revoked from PUBLIC (Spock
-- 5.0.7), on repair_mode() (spock only: it hides changes from every subscriber), and on every
-- routine that changes nodes, subscriptions, sets or replication, or shows apply errors
-- (spock only: least privilege, docs/security.md); reading functions keep the default grant.
SELECT p.oid::regprocedure AS func
FROM pg_proc p
WHERE p.pronamespace = 'spock'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                  WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
ORDER BY 1::text;
CREATE ROLE regress_spock_api;
SELECT has_function_privilege('regress_spock_api', 'spock.pause_apply_workers()', 'EXECUTE')
           AS pause,
       has_function_privilege('regress_spock_api', 'spock.resume_apply_workers()', 'EXECUTE')
           AS resume,
       has_function_privilege('regress_spock_api', 'spock.spock_version()', 'EXECUTE')
           AS version;
GRANT USAGE ON SCHEMA spock TO regress_spock_api;
SET ROLE regress_spock_api;
SELECT spock.pause_apply_workers();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.resume_apply_workers();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_drop('any');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.repset_create('any');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM spock.apply_counters();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Resetting statistics is for superusers (as pg_stat_reset_subscription_stats); reading the
-- per-table counters is not (they hold counts, no row values).
SELECT spock.reset_channel_stats();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.reset_sub_conflict_stats();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM spock.get_channel_stats();
SELECT spock.spock_version_num();
RESET ROLE;
REVOKE USAGE ON SCHEMA spock FROM regress_spock_api;
DROP ROLE regress_spock_api;
RESET IntervalStyle;

-- Parallel apply processes (ours, docs/functions.md): none where no apply worker runs.
SELECT count(*) AS parallel_processes FROM spock.get_parallel_apply_status();
-- Stream apply processes (ours): none either.
SELECT count(*) AS stream_apply_processes FROM spock.get_stream_apply_status();
