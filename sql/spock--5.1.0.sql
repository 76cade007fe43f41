/* spock--5.1.0.sql: the objects of extension spock, all in schema spock. */

\echo Use "CREATE EXTENSION spock" to load this file. \quit

-- Catalog ---------------------------------------------------------------------------------------
-- The node-local tables, views and aggregate of reference §2. Column names, order, types and
-- NOT NULL flags follow spock5-catalog.txt exactly, because C code addresses columns by attnum.
-- Tables the output plugin reads through the historic snapshot are user catalog tables.

CREATE TABLE node (
    node_id oid NOT NULL PRIMARY KEY,
    node_name name NOT NULL UNIQUE,
    location text,
    country text,
    info jsonb
) WITH (user_catalog_table = true);

-- if_nodeid may be NULL in the reference catalog; the cascade keeps interfaces attached when a
-- node id is renumbered.
CREATE TABLE node_interface (
    if_id oid NOT NULL PRIMARY KEY,
    if_name name NOT NULL,
    if_nodeid oid REFERENCES node (node_id) ON UPDATE CASCADE,
    if_dsn text NOT NULL,
    UNIQUE (if_nodeid, if_name)
);

-- At most one row in practice (the identity of this database); the functions enforce that.
-- local_node and subscription are user catalog tables too (Spock's are not): the output
-- plugin reads them while decoding, to name the local node and to map the replication origin
-- of a forwarded transaction to the node it came from.
CREATE TABLE local_node (
    node_id oid NOT NULL PRIMARY KEY REFERENCES node (node_id),
    node_local_interface oid NOT NULL REFERENCES node_interface (if_id)
) WITH (user_catalog_table = true);

-- C code reads columns 1..15 by position. Empty lists are stored as NULL.
CREATE TABLE subscription (
    sub_id oid NOT NULL PRIMARY KEY,
    sub_name name NOT NULL UNIQUE,
    sub_origin oid NOT NULL REFERENCES node (node_id),
    sub_target oid NOT NULL REFERENCES node (node_id),
    sub_origin_if oid NOT NULL REFERENCES node_interface (if_id),
    sub_target_if oid NOT NULL REFERENCES node_interface (if_id),
    sub_enabled boolean NOT NULL DEFAULT true,
    sub_slot_name name NOT NULL,
    sub_replication_sets text[],
    sub_forward_origins text[],
    sub_apply_delay interval NOT NULL DEFAULT '0',
    sub_force_text_transfer boolean NOT NULL DEFAULT false,
    sub_skip_lsn pg_lsn NOT NULL DEFAULT '0/0',
    sub_skip_schema text[],
    sub_created_at timestamptz
) WITH (user_catalog_table = true);

-- The row with NULL nspname/relname is the subscription-level state; the others are per table.
CREATE TABLE local_sync_status (
    sync_kind "char" NOT NULL CHECK (sync_kind IN ('i', 's', 'd', 'f')),
    sync_subid oid NOT NULL REFERENCES subscription (sub_id),
    sync_nspname name,
    sync_relname name,
    sync_status "char" NOT NULL,
    sync_statuslsn pg_lsn NOT NULL,
    UNIQUE (sync_subid, sync_nspname, sync_relname)
);

-- Written by exception replay; one row per failed command per attempt.
CREATE TABLE exception_log (
    remote_origin oid NOT NULL,
    remote_commit_ts timestamptz NOT NULL,
    command_counter integer NOT NULL,
    retry_errored_at timestamptz NOT NULL,
    remote_xid bigint NOT NULL,
    local_origin oid,
    local_commit_ts timestamptz,
    table_schema text,
    table_name text,
    operation text,
    local_tup jsonb,
    remote_old_tup jsonb,
    remote_new_tup jsonb,
    ddl_statement text,
    ddl_user text,
    error_message text NOT NULL,
    PRIMARY KEY (remote_origin, remote_commit_ts, command_counter, retry_errored_at)
) WITH (user_catalog_table = true);

-- The next two are maintained by external tooling (ACE), not by the extension's C code.
CREATE TABLE exception_status (
    remote_origin oid NOT NULL,
    remote_commit_ts timestamptz NOT NULL,
    retry_errored_at timestamptz NOT NULL,
    remote_xid bigint NOT NULL,
    status text NOT NULL,
    resolved_at timestamptz,
    resolution_details jsonb,
    PRIMARY KEY (remote_origin, remote_commit_ts, retry_errored_at)
) WITH (user_catalog_table = true);

CREATE TABLE exception_status_detail (
    remote_origin oid NOT NULL,
    remote_commit_ts timestamptz NOT NULL,
    command_counter integer NOT NULL,
    retry_errored_at timestamptz NOT NULL,
    remote_xid bigint NOT NULL,
    status text NOT NULL,
    resolved_at timestamptz,
    resolution_details jsonb,
    PRIMARY KEY (remote_origin, remote_commit_ts, command_counter, retry_errored_at),
    FOREIGN KEY (remote_origin, remote_commit_ts, retry_errored_at)
        REFERENCES exception_status (remote_origin, remote_commit_ts, retry_errored_at)
) WITH (user_catalog_table = true);

-- Updated in place on every applied commit: a low fillfactor leaves room for HOT updates. C code
-- looks the index up by the name progress_pkey.
CREATE TABLE progress (
    node_id oid NOT NULL,
    remote_node_id oid NOT NULL,
    remote_commit_ts timestamptz NOT NULL,
    remote_lsn pg_lsn NOT NULL,
    remote_insert_lsn pg_lsn NOT NULL,
    last_updated_ts timestamptz NOT NULL,
    updated_by_decode boolean NOT NULL,
    CONSTRAINT progress_pkey PRIMARY KEY (node_id, remote_node_id)
) WITH (fillfactor = 50);

CREATE TABLE replication_set (
    set_id oid NOT NULL PRIMARY KEY,
    set_nodeid oid NOT NULL REFERENCES node (node_id) ON UPDATE CASCADE,
    set_name name NOT NULL,
    replicate_insert boolean NOT NULL DEFAULT true,
    replicate_update boolean NOT NULL DEFAULT true,
    replicate_delete boolean NOT NULL DEFAULT true,
    replicate_truncate boolean NOT NULL DEFAULT true,
    UNIQUE (set_nodeid, set_name)
) WITH (user_catalog_table = true);

-- set_row_filter holds the expression as nodeToString() text.
CREATE TABLE replication_set_table (
    set_id oid NOT NULL,
    set_reloid regclass NOT NULL,
    set_att_list text[],
    set_row_filter pg_node_tree,
    PRIMARY KEY (set_id, set_reloid)
) WITH (user_catalog_table = true);

-- Partitions that repset_remove_partition took out of a set their parent (or another ancestor)
-- is in. A partition with no row of its own in replication_set_table is in every set an
-- ancestor is in, except those listed here (docs/replication.md, "Partitions").
CREATE TABLE replication_set_partition_exclusion (
    set_id oid NOT NULL,
    set_reloid regclass NOT NULL,
    PRIMARY KEY (set_id, set_reloid)
) WITH (user_catalog_table = true);

CREATE TABLE replication_set_seq (
    set_id oid NOT NULL,
    set_seqoid regclass NOT NULL,
    PRIMARY KEY (set_id, set_seqoid)
) WITH (user_catalog_table = true);

CREATE TABLE sequence_state (
    seqoid oid NOT NULL PRIMARY KEY,
    cache_size integer NOT NULL,
    last_value bigint NOT NULL
) WITH (user_catalog_table = true);

-- A private pg_depend: it records repset membership and row-filter dependencies without
-- touching the system catalog. No key, like pg_depend.
CREATE TABLE depend (
    classid oid NOT NULL,
    objid oid NOT NULL,
    objsubid integer NOT NULL,
    refclassid oid NOT NULL,
    refobjid oid NOT NULL,
    refobjsubid integer NOT NULL,
    deptype "char" NOT NULL
) WITH (user_catalog_table = true);

-- Maintained by external tooling; BY DEFAULT so that rows can also be loaded with their ids.
CREATE TABLE pii (
    id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pii_schema text NOT NULL,
    pii_table text NOT NULL,
    pii_column text NOT NULL
) WITH (user_catalog_table = true);

-- The conflict log. The logger takes the id from the identity sequence with nextval() and
-- inserts it explicitly, which GENERATED BY DEFAULT allows.
CREATE TABLE resolutions (
    id integer GENERATED BY DEFAULT AS IDENTITY,
    node_name name NOT NULL,
    log_time timestamptz NOT NULL,
    relname text,
    idxname text,
    conflict_type text,
    conflict_resolution text,
    local_origin integer,
    local_tuple text,
    local_xid xid,
    local_timestamp timestamptz,
    remote_origin integer,
    remote_tuple text,
    remote_xid xid,
    remote_timestamp timestamptz,
    remote_lsn pg_lsn,
    PRIMARY KEY (id, node_name)
) WITH (user_catalog_table = true);

-- Replicated DDL/SQL/sync messages. Rows are never purged, so there is no key to maintain.
CREATE TABLE queue (
    queued_at timestamptz NOT NULL,
    role name NOT NULL,
    replication_sets text[],
    message_type "char" NOT NULL,
    message json NOT NULL
);
-- Apply looks a received message up by queued_at, to act on each message once when it arrives
-- through two nodes (docs/ddl.md, "In a mesh that forwards all origins").
CREATE INDEX queue_queued_at_idx ON queue (queued_at);

-- The last TRUNCATE of each table on this node, local or applied (docs/conflicts.md, "TRUNCATE
-- in a mesh"): remote changes committed before it are not applied. truncated_at is NULL for a
-- local TRUNCATE, whose time is the commit timestamp of the row's own transaction (xmin);
-- origin_node is NULL for a local one. Not a user catalog table: it is written with
-- INSERT ... ON CONFLICT, and decoding never reads it.
CREATE TABLE truncate_horizon (
    relid oid PRIMARY KEY,
    truncated_at timestamptz,
    origin_node oid,
    skipped_changes bigint NOT NULL DEFAULT 0
);

-- Tables in a replication set of the local node (one row per set), then every permanent user
-- table that is in no set at all, with a NULL set_name. A partition is in a set by a row of its
-- own, or else through an ancestor that is, unless repset_remove_partition excluded it from
-- that set (the rule of the output plugin, docs/replication.md "Partitions").
CREATE VIEW tables AS
    WITH member AS (
        SELECT rst.set_reloid::oid AS relid, rs.set_name
        FROM replication_set_table rst
        JOIN replication_set rs ON rs.set_id = rst.set_id
        JOIN local_node ln ON ln.node_id = rs.set_nodeid
        UNION
        SELECT pt.relid::oid, rs.set_name
        FROM replication_set_table rst
        JOIN replication_set rs ON rs.set_id = rst.set_id
        JOIN local_node ln ON ln.node_id = rs.set_nodeid
        CROSS JOIN LATERAL pg_catalog.pg_partition_tree(rst.set_reloid) pt
        WHERE pt.level > 0
          AND NOT EXISTS (SELECT 1 FROM replication_set_table o
                          WHERE o.set_id = rst.set_id AND o.set_reloid = pt.relid)
          AND NOT EXISTS (SELECT 1 FROM replication_set_partition_exclusion x
                          WHERE x.set_id = rst.set_id AND x.set_reloid = pt.relid)
    )
    SELECT c.oid AS relid, n.nspname, c.relname, m.set_name
    FROM member m
    JOIN pg_catalog.pg_class c ON c.oid = m.relid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    UNION ALL
    SELECT c.oid, n.nspname, c.relname, NULL::name
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND c.relpersistence = 'p'
      AND n.nspname !~ '^pg_'
      AND n.nspname NOT IN ('information_schema', 'spock')
      AND NOT EXISTS (SELECT 1 FROM replication_set_table x WHERE x.set_reloid = c.oid)
      AND NOT EXISTS (SELECT 1 FROM member m WHERE m.relid = c.oid);

-- Replication lag per (origin, receiver). The origin is taken from the subscription that feeds
-- the progress row, the receiver from the progress row itself. While the walsender reports
-- decode progress (updated_by_decode) the lag is measured against the origin's WAL insert
-- position and commit time; otherwise only the time since the last update is known.
CREATE VIEW lag_tracker AS
    SELECT o.node_name AS origin_name,
           r.node_name AS receiver_name,
           max(p.remote_commit_ts) AS commit_timestamp,
           max(p.remote_lsn) AS last_received_lsn,
           max(p.remote_insert_lsn) AS remote_insert_lsn,
           CASE WHEN bool_or(p.updated_by_decode)
                THEN greatest(max(p.remote_insert_lsn) - max(p.remote_lsn), 0)
                ELSE 0 END AS replication_lag_bytes,
           CASE WHEN bool_or(p.updated_by_decode)
                THEN now() - max(p.remote_commit_ts)
                ELSE now() - max(p.last_updated_ts) END AS replication_lag
    FROM progress p
    LEFT JOIN subscription s
           ON s.sub_target = p.node_id AND s.sub_origin = p.remote_node_id
    LEFT JOIN node o ON o.node_id = s.sub_origin
    LEFT JOIN node r ON r.node_id = p.node_id
    GROUP BY o.node_name, r.node_name;

-- Per-table apply/output counters of this database, kept in shared memory.
CREATE FUNCTION get_channel_stats(
    OUT subid oid, OUT relid oid, OUT n_tup_ins bigint, OUT n_tup_upd bigint,
    OUT n_tup_del bigint, OUT n_conflict bigint, OUT n_dca bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'spock_get_channel_stats' LANGUAGE C;

-- subid 0 holds the walsender-side (output plugin) counters, which belong to no subscription.
CREATE VIEW channel_table_stats AS
    SELECT st.subid,
           st.relid,
           CASE WHEN st.subid = 0 THEN '<output>'::name ELSE s.sub_name END AS sub_name,
           st.relid::regclass::text AS table_name,
           st.n_tup_ins, st.n_tup_upd, st.n_tup_del, st.n_conflict, st.n_dca
    FROM get_channel_stats() st
    LEFT JOIN subscription s ON s.sub_id = st.subid;

CREATE VIEW channel_summary_stats AS
    SELECT subid, sub_name,
           sum(n_tup_ins) AS n_tup_ins,
           sum(n_tup_upd) AS n_tup_upd,
           sum(n_tup_del) AS n_tup_del,
           sum(n_conflict) AS n_conflict,
           sum(n_dca) AS n_dca
    FROM channel_table_stats
    GROUP BY subid, sub_name;

-- A checksum of a whole ordered set of values, used to compare table contents across nodes:
-- each value is folded into the running md5 in the aggregate's ORDER BY order.
CREATE FUNCTION md5_agg_sfunc(text, anyelement) RETURNS text
    AS $$ SELECT pg_catalog.md5($1 || $2::text) $$
    LANGUAGE sql IMMUTABLE;

CREATE AGGREGATE md5_agg(ORDER BY anyelement) (
    SFUNC = md5_agg_sfunc,
    STYPE = text,
    INITCOND = ''
);

-- End of catalog --------------------------------------------------------------------------------

-- Version and protocol information. Volatile, like Spock's (no volatility clause).
CREATE FUNCTION spock_version() RETURNS text
    AS 'MODULE_PATHNAME', 'spock_version' LANGUAGE C;
CREATE FUNCTION spock_version_num() RETURNS integer
    AS 'MODULE_PATHNAME', 'spock_version_num' LANGUAGE C;
CREATE FUNCTION spock_max_proto_version() RETURNS integer
    AS 'MODULE_PATHNAME', 'spock_max_proto_version' LANGUAGE C;
CREATE FUNCTION spock_min_proto_version() RETURNS integer
    AS 'MODULE_PATHNAME', 'spock_min_proto_version' LANGUAGE C;

-- SQL API ---------------------------------------------------------------------------------------
-- Names, argument names, types and defaults follow Spock 5.0 (reference §3). Unlike Spock, the
-- C functions are CALLED ON NULL INPUT: a NULL where a value is needed raises an error naming
-- the argument instead of silently returning NULL (§14 item 5).

-- Nodes and interfaces (§3.1).
CREATE FUNCTION node_create(node_name name, dsn text, location text DEFAULT NULL,
                            country text DEFAULT NULL, info jsonb DEFAULT NULL)
    RETURNS oid AS 'MODULE_PATHNAME', 'spock_node_create' LANGUAGE C VOLATILE;
CREATE FUNCTION node_drop(node_name name, ifexists boolean DEFAULT false)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_node_drop' LANGUAGE C VOLATILE;
CREATE FUNCTION node_add_interface(node_name name, interface_name name, dsn text)
    RETURNS oid AS 'MODULE_PATHNAME', 'spock_node_add_interface' LANGUAGE C VOLATILE;
CREATE FUNCTION node_drop_interface(node_name name, interface_name name)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_node_drop_interface' LANGUAGE C VOLATILE;
CREATE FUNCTION node_info(OUT node_id oid, OUT node_name text, OUT sysid text, OUT dbname text,
                          OUT replication_sets text, OUT location text, OUT country text,
                          OUT info jsonb)
    RETURNS record AS 'MODULE_PATHNAME', 'spock_node_info' LANGUAGE C STABLE;

-- Subscriptions (§3.2).
CREATE FUNCTION sub_create(subscription_name name, provider_dsn text,
                           replication_sets text[] DEFAULT '{default,default_insert_only,ddl_sql}',
                           synchronize_structure boolean DEFAULT false,
                           synchronize_data boolean DEFAULT false,
                           forward_origins text[] DEFAULT '{}',
                           apply_delay interval DEFAULT '0',
                           force_text_transfer boolean DEFAULT false,
                           enabled boolean DEFAULT true,
                           skip_schema text[] DEFAULT '{}')
    RETURNS oid AS 'MODULE_PATHNAME', 'spock_sub_create' LANGUAGE C VOLATILE;
CREATE FUNCTION sub_drop(subscription_name name, ifexists boolean DEFAULT false)
    RETURNS oid AS 'MODULE_PATHNAME', 'spock_sub_drop' LANGUAGE C VOLATILE;
CREATE FUNCTION sub_alter_interface(subscription_name name, interface_name name)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_sub_alter_interface' LANGUAGE C VOLATILE;
CREATE FUNCTION sub_disable(subscription_name name, immediate boolean DEFAULT false)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_sub_disable' LANGUAGE C VOLATILE;
CREATE FUNCTION sub_enable(subscription_name name, immediate boolean DEFAULT false)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_sub_enable' LANGUAGE C VOLATILE;
CREATE FUNCTION sub_add_repset(subscription_name name, replication_set name)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_sub_add_repset' LANGUAGE C VOLATILE;
CREATE FUNCTION sub_remove_repset(subscription_name name, replication_set name)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_sub_remove_repset' LANGUAGE C VOLATILE;
CREATE FUNCTION sub_alter_skiplsn(subscription_name name, lsn pg_lsn)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_sub_alter_skiplsn' LANGUAGE C VOLATILE;
CREATE FUNCTION sub_show_status(subscription_name name DEFAULT NULL,
                                OUT subscription_name text, OUT status text,
                                OUT provider_node text, OUT provider_dsn text, OUT slot_name text,
                                OUT replication_sets text[], OUT forward_origins text[])
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'spock_sub_show_status' LANGUAGE C STABLE;
CREATE FUNCTION sub_show_table(subscription_name name, relation regclass, OUT nspname text,
                               OUT relname text, OUT status text)
    RETURNS record AS 'MODULE_PATHNAME', 'spock_sub_show_table' LANGUAGE C STABLE;
CREATE FUNCTION sub_alter_sync(subscription_name name, truncate boolean DEFAULT false)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_sub_alter_sync' LANGUAGE C VOLATILE;
CREATE FUNCTION sub_resync_table(subscription_name name, relation regclass,
                                 truncate boolean DEFAULT true)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_sub_resync_table' LANGUAGE C VOLATILE;
CREATE FUNCTION sub_wait_for_sync(subscription_name name)
    RETURNS void AS 'MODULE_PATHNAME', 'spock_sub_wait_for_sync' LANGUAGE C VOLATILE;
CREATE FUNCTION table_wait_for_sync(subscription_name name, relation regclass)
    RETURNS void AS 'MODULE_PATHNAME', 'spock_table_wait_for_sync' LANGUAGE C VOLATILE;

-- Apply workers (§3.2).
CREATE FUNCTION get_apply_worker_status(OUT worker_pid bigint, OUT worker_dboid integer,
                                        OUT worker_subid bigint, OUT worker_status text)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'spock_get_apply_worker_status'
    LANGUAGE C STABLE;
-- The parallel apply processes of each apply worker (ours; spock.parallel_apply_workers > 1).
CREATE FUNCTION get_parallel_apply_status(OUT worker_pid bigint, OUT worker_dboid integer,
                                          OUT worker_subid bigint, OUT process integer,
                                          OUT process_pid bigint, OUT process_status text,
                                          OUT xacts_applied bigint)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'spock_get_parallel_apply_status'
    LANGUAGE C VOLATILE;
-- The stream apply process of each apply worker: early apply of streamed transactions (ours;
-- spock.stream_early_apply).
CREATE FUNCTION get_stream_apply_status(OUT worker_pid bigint, OUT worker_subid bigint,
                                        OUT process_pid bigint, OUT process_status text,
                                        OUT xid bigint, OUT changes_applied bigint,
                                        OUT xacts_committed bigint, OUT xacts_fallen_back bigint,
                                        OUT last_fallback text)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'spock_get_stream_apply_status'
    LANGUAGE C VOLATILE;
-- Exception handling and apply counters per subscription of this database (ours;
-- docs/exceptions.md). Counted since the server started.
CREATE FUNCTION apply_counters(OUT sub_id oid, OUT worker_pid integer, OUT worker_starts bigint,
                               OUT xacts_replayed bigint, OUT xacts_applied_on_replay bigint,
                               OUT xacts_partly_applied bigint, OUT xacts_discarded bigint,
                               OUT xacts_disabled bigint, OUT changes_discarded bigint,
                               OUT xacts_spilled bigint, OUT bytes_spilled bigint,
                               OUT last_error text, OUT last_error_time timestamptz)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'spock_apply_counters' LANGUAGE C STABLE;
CREATE FUNCTION apply_stats(OUT sub_id oid, OUT sub_name name, OUT worker_pid integer,
                            OUT worker_starts bigint, OUT xacts_replayed bigint,
                            OUT xacts_applied_on_replay bigint, OUT xacts_partly_applied bigint,
                            OUT xacts_discarded bigint, OUT xacts_disabled bigint,
                            OUT changes_discarded bigint, OUT xacts_spilled bigint,
                            OUT bytes_spilled bigint, OUT last_error text,
                            OUT last_error_time timestamptz)
    RETURNS SETOF record LANGUAGE sql STABLE AS $$
    SELECT s.sub_id, s.sub_name, c.worker_pid, coalesce(c.worker_starts, 0),
           coalesce(c.xacts_replayed, 0), coalesce(c.xacts_applied_on_replay, 0),
           coalesce(c.xacts_partly_applied, 0), coalesce(c.xacts_discarded, 0),
           coalesce(c.xacts_disabled, 0), coalesce(c.changes_discarded, 0),
           coalesce(c.xacts_spilled, 0), coalesce(c.bytes_spilled, 0),
           c.last_error, c.last_error_time
    FROM spock.subscription s LEFT JOIN spock.apply_counters() c ON c.sub_id = s.sub_id
    ORDER BY s.sub_name
$$;
-- Schema changes seen by the apply workers (ours; docs/ddl.md): queued DDL executed, RELATION
-- messages whose columns changed, values for columns the local table does not have, and queue
-- messages skipped because they arrived a second time.
-- Counted since the server started.
CREATE FUNCTION schema_change_stats(OUT sub_id oid, OUT sub_name name, OUT ddl_applied bigint,
                                    OUT relation_changes bigint,
                                    OUT missing_column_nulls bigint,
                                    OUT missing_column_values_dropped bigint,
                                    OUT queue_repeats_skipped bigint,
                                    OUT ddl_schema_mismatches bigint)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'spock_schema_change_stats'
    LANGUAGE C STABLE;
-- The row trigger spock places on replicated tables to record local DELETEs (ours;
-- docs/conflicts.md, "Update versus delete").
CREATE FUNCTION deleted_key_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'spock_deleted_key_trigger' LANGUAGE C;
-- Conflicts per subscription and type (ours; docs/conflicts.md), shaped like PostgreSQL 18's
-- pg_stat_subscription_stats. Counted since the server started.
CREATE FUNCTION conflict_counters(OUT sub_id oid, OUT apply_error_count bigint,
                                  OUT confl_insert_exists bigint,
                                  OUT confl_update_origin_differs bigint,
                                  OUT confl_update_exists bigint, OUT confl_update_missing bigint,
                                  OUT confl_delete_origin_differs bigint,
                                  OUT confl_delete_missing bigint,
                                  OUT confl_multiple_unique_conflicts bigint,
                                  OUT confl_update_deleted bigint,
                                  OUT confl_delete_exists bigint,
                                  OUT confl_insert_deleted bigint,
                                  OUT stats_reset timestamptz)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'spock_conflict_counters' LANGUAGE C STABLE;
CREATE VIEW sub_conflict_stats AS
    SELECT s.sub_id AS subid, s.sub_name AS subname,
           coalesce(c.apply_error_count, 0) AS apply_error_count,
           coalesce(c.confl_insert_exists, 0) AS confl_insert_exists,
           coalesce(c.confl_update_origin_differs, 0) AS confl_update_origin_differs,
           coalesce(c.confl_update_exists, 0) AS confl_update_exists,
           coalesce(c.confl_update_missing, 0) AS confl_update_missing,
           coalesce(c.confl_delete_origin_differs, 0) AS confl_delete_origin_differs,
           coalesce(c.confl_delete_missing, 0) AS confl_delete_missing,
           coalesce(c.confl_multiple_unique_conflicts, 0) AS confl_multiple_unique_conflicts,
           coalesce(c.confl_update_deleted, 0) AS confl_update_deleted,
           coalesce(c.confl_delete_exists, 0) AS confl_delete_exists,
           coalesce(c.confl_insert_deleted, 0) AS confl_insert_deleted,
           c.stats_reset
    FROM spock.subscription s LEFT JOIN spock.conflict_counters() c ON c.sub_id = s.sub_id;
-- Sets the counters above to zero (PostgreSQL's pg_stat_reset_subscription_stats); NULL: every
-- subscription of this database.
CREATE FUNCTION reset_sub_conflict_stats(subscription name DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'spock_reset_sub_conflict_stats' LANGUAGE C VOLATILE;
CREATE FUNCTION wait_for_apply_worker(p_subbid bigint, timeout integer DEFAULT 0)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_wait_for_apply_worker' LANGUAGE C VOLATILE;
CREATE FUNCTION pause_apply_workers()
    RETURNS void AS 'MODULE_PATHNAME', 'spock_pause_apply_workers' LANGUAGE C VOLATILE;
CREATE FUNCTION resume_apply_workers()
    RETURNS void AS 'MODULE_PATHNAME', 'spock_resume_apply_workers' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION pause_apply_workers() FROM PUBLIC;
REVOKE ALL ON FUNCTION resume_apply_workers() FROM PUBLIC;

-- Replication sets, tables and sequences (§3.3).
CREATE FUNCTION repset_create(set_name name, replicate_insert boolean DEFAULT true,
                              replicate_update boolean DEFAULT true,
                              replicate_delete boolean DEFAULT true,
                              replicate_truncate boolean DEFAULT true)
    RETURNS oid AS 'MODULE_PATHNAME', 'spock_repset_create' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_alter(set_name name, replicate_insert boolean DEFAULT NULL,
                             replicate_update boolean DEFAULT NULL,
                             replicate_delete boolean DEFAULT NULL,
                             replicate_truncate boolean DEFAULT NULL)
    RETURNS oid AS 'MODULE_PATHNAME', 'spock_repset_alter' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_drop(set_name name, ifexists boolean DEFAULT false)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_repset_drop' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_add_table(set_name name, relation regclass,
                                 synchronize_data boolean DEFAULT false,
                                 columns text[] DEFAULT NULL, row_filter text DEFAULT NULL,
                                 include_partitions boolean DEFAULT true)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_repset_add_table' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_add_all_tables(set_name name, schema_names text[],
                                      synchronize_data boolean DEFAULT false)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_repset_add_all_tables' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_remove_table(set_name name, relation regclass,
                                    include_partitions boolean DEFAULT true)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_repset_remove_table' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_add_seq(set_name name, relation regclass,
                               synchronize_data boolean DEFAULT false)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_repset_add_seq' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_add_all_seqs(set_name name, schema_names text[],
                                    synchronize_data boolean DEFAULT false)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_repset_add_all_seqs' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_remove_seq(set_name name, relation regclass)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_repset_remove_seq' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_add_partition(parent regclass, partition regclass DEFAULT NULL,
                                     row_filter text DEFAULT NULL)
    RETURNS integer AS 'MODULE_PATHNAME', 'spock_repset_add_partition' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_remove_partition(parent regclass, partition regclass DEFAULT NULL)
    RETURNS integer AS 'MODULE_PATHNAME', 'spock_repset_remove_partition' LANGUAGE C VOLATILE;
CREATE FUNCTION repset_show_table(relation regclass, repsets text[], OUT relid oid,
                                  OUT nspname text, OUT relname text, OUT att_list text[],
                                  OUT has_row_filter boolean, OUT relkind "char",
                                  OUT relispartition boolean)
    RETURNS record AS 'MODULE_PATHNAME', 'spock_repset_show_table' LANGUAGE C STABLE;
-- The rows of `relation` that pass the row filters of the named sets (combined with OR, as the
-- initial copy combines them); every row when one of the sets has the table without a filter.
CREATE FUNCTION table_data_filtered(reltyp anyelement, relation regclass, repsets text[])
    RETURNS SETOF anyelement LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_filters text[] := '{}';
    v_unfiltered boolean := false;
    v_found boolean := false;
    v_set text;
    v_set_id oid;
    v_filter text;
BEGIN
    IF relation IS NULL OR repsets IS NULL THEN
        RAISE EXCEPTION 'relation and repsets of spock.table_data_filtered() must not be NULL'
            USING ERRCODE = '22004',
                  HINT = 'Call it as spock.table_data_filtered(NULL::s.t, ''s.t''::regclass, ARRAY[''default'']).';
    END IF;
    IF pg_typeof(reltyp) IS DISTINCT FROM
       (SELECT c.reltype::regtype FROM pg_class c WHERE c.oid = relation) THEN
        RAISE EXCEPTION 'reltyp of spock.table_data_filtered() must be the row type of %', relation
            USING ERRCODE = '42804',
                  DETAIL = format('reltyp is of type %s.', pg_typeof(reltyp)),
                  HINT = format('Pass NULL::%s as the first argument.', relation);
    END IF;
    FOREACH v_set IN ARRAY repsets LOOP
        SELECT rs.set_id INTO v_set_id FROM spock.replication_set rs
            JOIN spock.local_node l ON l.node_id = rs.set_nodeid
            WHERE rs.set_name = v_set;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'replication set "%" does not exist', v_set
                USING ERRCODE = '42704',
                      HINT = 'spock.replication_set lists the sets of the local node.';
        END IF;
        FOR v_filter IN
            SELECT pg_get_expr(t.set_row_filter, t.set_reloid)
            FROM spock.replication_set_table t
            WHERE t.set_id = v_set_id AND t.set_reloid::oid = relation::oid
        LOOP
            v_found := true;
            IF v_filter IS NULL THEN
                v_unfiltered := true;
            ELSE
                v_filters := v_filters || ('(' || v_filter || ')');
            END IF;
        END LOOP;
    END LOOP;
    IF NOT v_found THEN
        RAISE EXCEPTION 'table % is not in any of the replication sets %', relation, repsets
            USING ERRCODE = '55000',
                  HINT = 'Add it with spock.repset_add_table() or name a set that has it.';
    END IF;
    IF v_unfiltered THEN
        RETURN QUERY EXECUTE format('SELECT * FROM %s', relation);
    ELSE
        RETURN QUERY EXECUTE format('SELECT * FROM %s WHERE %s', relation,
                                    array_to_string(v_filters, ' OR '));
    END IF;
END
$$;
CREATE FUNCTION sync_seq(relation regclass)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_sync_seq' LANGUAGE C VOLATILE;

-- DDL replication (§3.4).
CREATE FUNCTION replicate_ddl(command text,
                              replication_sets text[] DEFAULT '{ddl_sql}',
                              search_path text DEFAULT current_setting('search_path'),
                              role text DEFAULT CURRENT_USER)
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_replicate_ddl' LANGUAGE C VOLATILE;
CREATE FUNCTION replicate_ddl(command text[],
                              replication_sets text[] DEFAULT '{ddl_sql}',
                              search_path text DEFAULT current_setting('search_path'),
                              role text DEFAULT CURRENT_USER)
    RETURNS SETOF boolean LANGUAGE sql VOLATILE
    -- A NULL array reaches the text version as one NULL command, which rejects it by name,
    -- instead of quietly running nothing.
    AS $$ SELECT spock.replicate_ddl(c, $2, $3, $4)
          FROM unnest(coalesce($1, ARRAY[NULL::text])) AS c $$;

-- Sync events, waits and LSN helpers (§3.5).
CREATE FUNCTION sync_event(transactional boolean DEFAULT false)
    RETURNS pg_lsn AS 'MODULE_PATHNAME', 'spock_sync_event' LANGUAGE C VOLATILE;
CREATE PROCEDURE wait_for_sync_event(OUT result boolean, origin_id oid, lsn pg_lsn,
                                     timeout integer DEFAULT 0,
                                     wait_if_disabled boolean DEFAULT false)
    AS 'MODULE_PATHNAME', 'spock_wait_for_sync_event_id' LANGUAGE C;
CREATE PROCEDURE wait_for_sync_event(OUT result boolean, origin name, lsn pg_lsn,
                                     timeout integer DEFAULT 0,
                                     wait_if_disabled boolean DEFAULT false)
    AS 'MODULE_PATHNAME', 'spock_wait_for_sync_event_name' LANGUAGE C;
CREATE FUNCTION wait_slot_confirm_lsn(slotname name, target pg_lsn)
    RETURNS void AS 'MODULE_PATHNAME', 'spock_wait_slot_confirm_lsn' LANGUAGE C VOLATILE;
CREATE FUNCTION get_lsn_from_commit_ts(slot_name name, commit_ts timestamptz)
    RETURNS pg_lsn AS 'MODULE_PATHNAME', 'spock_get_lsn_from_commit_ts' LANGUAGE C VOLATILE;
CREATE FUNCTION xact_commit_timestamp_origin("xid" xid, OUT "timestamp" timestamptz,
                                             OUT "roident" oid)
    RETURNS record AS 'MODULE_PATHNAME', 'spock_xact_commit_timestamp_origin'
    LANGUAGE C VOLATILE;

-- Statistics (§3.6).
CREATE FUNCTION reset_channel_stats()
    RETURNS void AS 'MODULE_PATHNAME', 'spock_reset_channel_stats' LANGUAGE C VOLATILE;

-- Conflicts, delta apply and repair mode (§3.7). delta_apply(old_remote, new_remote, local)
-- returns local + (new_remote - old_remote).
CREATE FUNCTION delta_apply(smallint, smallint, smallint) RETURNS smallint
    LANGUAGE sql IMMUTABLE AS $$ SELECT $3 + ($2 - $1) $$;
CREATE FUNCTION delta_apply(integer, integer, integer) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT $3 + ($2 - $1) $$;
CREATE FUNCTION delta_apply(bigint, bigint, bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$ SELECT $3 + ($2 - $1) $$;
CREATE FUNCTION delta_apply(real, real, real) RETURNS real
    LANGUAGE sql IMMUTABLE AS $$ SELECT $3 + ($2 - $1) $$;
CREATE FUNCTION delta_apply(double precision, double precision, double precision)
    RETURNS double precision LANGUAGE sql IMMUTABLE AS $$ SELECT $3 + ($2 - $1) $$;
CREATE FUNCTION delta_apply(numeric, numeric, numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE AS $$ SELECT $3 + ($2 - $1) $$;
CREATE FUNCTION delta_apply(money, money, money) RETURNS money
    LANGUAGE sql IMMUTABLE AS $$ SELECT $3 + ($2 - $1) $$;
CREATE FUNCTION repair_mode(enabled boolean)
    RETURNS pg_lsn AS 'MODULE_PATHNAME', 'spock_repair_mode' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION repair_mode(boolean) FROM PUBLIC;

-- Read-only helpers and miscellany (§3.8).
CREATE FUNCTION terminate_active_transactions()
    RETURNS boolean AS 'MODULE_PATHNAME', 'spock_terminate_active_transactions'
    LANGUAGE C VOLATILE;
CREATE FUNCTION get_country() RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT current_setting('spock.country') $$;
CREATE FUNCTION spock_gen_slot_name(name, name, name) RETURNS name
    AS 'MODULE_PATHNAME', 'spock_gen_slot_name' LANGUAGE C IMMUTABLE;

-- Column type conversions for multi-master keys.
-- Changes a smallint or integer column to bigint, and with it every column that references it
-- through a foreign key (transitively). Returns how many columns changed type. Local DDL: run
-- it on every node (docs/functions.md).
CREATE FUNCTION convert_column_to_int8(p_rel regclass, p_attnum smallint) RETURNS integer
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_todo text[];
    v_seen text[] := '{}';
    v_item text;
    v_rel oid;
    v_att int2;
    v_name name;
    v_type regtype;
    v_count integer := 0;
BEGIN
    IF p_rel IS NULL OR p_attnum IS NULL THEN
        RAISE EXCEPTION 'p_rel and p_attnum of spock.convert_column_to_int8() must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = p_rel) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', p_rel
            USING ERRCODE = '42809',
                  HINT = 'spock.convert_column_to_int8() converts columns of tables.';
    END IF;
    SELECT a.atttypid::regtype INTO v_type FROM pg_attribute a
        WHERE a.attrelid = p_rel AND a.attnum = p_attnum AND a.attnum > 0
          AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column number % of table % does not exist', p_attnum, p_rel
            USING ERRCODE = '42703',
                  HINT = 'pg_attribute.attnum gives the column numbers.';
    END IF;
    IF v_type NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
        RAISE EXCEPTION 'column % of table % is of type %, not an integer type',
                        (SELECT a.attname FROM pg_attribute a
                          WHERE a.attrelid = p_rel AND a.attnum = p_attnum), p_rel, v_type
            USING ERRCODE = '42804',
                  HINT = 'Only smallint and integer columns can be converted to bigint.';
    END IF;
    v_todo := ARRAY[p_rel::oid::text || ':' || p_attnum];
    WHILE cardinality(v_todo) > 0 LOOP
        v_item := v_todo[1];
        v_todo := v_todo[2:];
        CONTINUE WHEN v_item = ANY (v_seen);
        v_seen := v_seen || v_item;
        v_rel := split_part(v_item, ':', 1)::oid;
        v_att := split_part(v_item, ':', 2)::int2;
        SELECT a.attname, a.atttypid::regtype INTO v_name, v_type FROM pg_attribute a
            WHERE a.attrelid = v_rel AND a.attnum = v_att;
        IF v_type IN ('smallint'::regtype, 'integer'::regtype) THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE bigint', v_rel::regclass, v_name);
            v_count := v_count + 1;
        END IF;
        -- The columns of foreign keys that reference this one.
        v_todo := v_todo || ARRAY(
            SELECT c.conrelid::text || ':' || c.conkey[k.i]
            FROM pg_constraint c, generate_subscripts(c.confkey, 1) AS k(i)
            WHERE c.contype = 'f' AND c.confrelid = v_rel AND c.confkey[k.i] = v_att);
    END LOOP;
    RETURN v_count;
END
$$;
-- Needs the separate snowflake extension; without it, a clear error.
CREATE FUNCTION convert_sequence_to_snowflake(p_seqid regclass) RETURNS integer
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    v_count integer := 0;
BEGIN
    IF p_seqid IS NULL THEN
        RAISE EXCEPTION 'p_seqid of spock.convert_sequence_to_snowflake() must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = p_seqid) <> 'S' THEN
        RAISE EXCEPTION '% is not a sequence', p_seqid USING ERRCODE = '42809';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'snowflake') THEN
        RAISE EXCEPTION 'spock.convert_sequence_to_snowflake() needs the snowflake extension'
            USING ERRCODE = '55000',
                  DETAIL = 'The snowflake extension is not installed in this database.',
                  HINT = 'Install it on every node (CREATE EXTENSION snowflake) with a '
                         'node-unique snowflake.node, or use a step/offset scheme for the '
                         'sequence (docs/sequences.md).';
    END IF;
    -- Every column whose default takes values from the sequence.
    FOR r IN
        SELECT d.adrelid, d.adnum FROM pg_depend dep
        JOIN pg_attrdef d ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = d.oid
        WHERE dep.refclassid = 'pg_class'::regclass AND dep.refobjid = p_seqid
    LOOP
        PERFORM spock.convert_column_to_int8(r.adrelid::regclass, r.adnum);
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT snowflake.nextval(%L::regclass)',
                       r.adrelid::regclass,
                       (SELECT a.attname FROM pg_attribute a
                         WHERE a.attrelid = r.adrelid AND a.attnum = r.adnum),
                       p_seqid::text);
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$$;

-- Least privilege (docs/security.md): every routine that changes nodes, subscriptions,
-- replication sets or replication itself, or shows apply errors (which carry row values), is
-- for superusers and the roles a superuser grants EXECUTE to. Spock 5 leaves most of them to
-- PUBLIC and relies on table privileges, which answers with errors about tables.
DO $$
DECLARE
    r regprocedure;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'spock'::regnamespace
          AND p.proname IN ('node_create', 'node_drop', 'node_add_interface',
                            'node_drop_interface', 'sub_create', 'sub_drop',
                            'sub_alter_interface', 'sub_enable', 'sub_disable', 'sub_add_repset',
                            'sub_remove_repset', 'sub_alter_skiplsn', 'sub_alter_sync',
                            'sub_resync_table', 'repset_create', 'repset_alter', 'repset_drop',
                            'repset_add_table', 'repset_add_all_tables', 'repset_remove_table',
                            'repset_add_seq', 'repset_add_all_seqs', 'repset_remove_seq',
                            'repset_add_partition', 'repset_remove_partition', 'replicate_ddl',
                            'sync_seq', 'sync_event', 'terminate_active_transactions',
                            'convert_column_to_int8', 'convert_sequence_to_snowflake',
                            'reset_channel_stats', 'apply_counters', 'apply_stats', 'schema_change_stats',
                            'reset_sub_conflict_stats')
    LOOP
        EXECUTE format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', r);
    END LOOP;
END
$$;

-- ===============================================================================================
-- Zero-downtime add and remove of a node (reference §9; user guide docs/add-node.md).
-- PL/pgSQL driven by dblink: every step is a few statements on some node, the procedures commit
-- between steps so the new node's workers see what was made, and each wait polls with a bound.
-- ===============================================================================================

-- One row per step (and per peer node for the per-node steps) of the last add_node() run for a
-- new node. A retry updates the rows; remove_node() deletes them.
CREATE TABLE add_node_progress (
    new_node name NOT NULL,
    step_no integer NOT NULL,
    step text NOT NULL,
    peer name NOT NULL DEFAULT '',
    state text NOT NULL CHECK (state IN ('running', 'done')),
    lsn pg_lsn,
    detail text,
    attempts integer NOT NULL DEFAULT 1,
    pid integer,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (new_node, step, peer)
);

-- The steps as users see them: a step still 'running' whose backend is gone failed.
CREATE VIEW add_node_status AS
    SELECT p.new_node, p.step_no, p.step, nullif(p.peer, '') AS peer,
           CASE WHEN p.state = 'running' AND NOT EXISTS
                    (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = p.pid)
                THEN 'failed' ELSE p.state END AS state,
           p.lsn, p.detail, p.attempts, p.started_at, p.finished_at
    FROM add_node_progress p
    WHERE p.step <> 'baseline';

-- The schema of the dblink extension, created here when missing.
CREATE FUNCTION zd_dblink_schema() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    s text;
BEGIN
    SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
        JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'dblink';
    IF s IS NULL THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS dblink;
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION 'spock.add_node and spock.remove_node need the dblink extension'
                USING ERRCODE = '58P01', DETAIL = SQLERRM,
                      HINT = 'Install the package postgresql-contrib-15 and run CREATE EXTENSION dblink.';
        END;
        SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
            JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'dblink';
    END IF;
    RETURN s;
END
$$;

-- A command on another node, in its own transaction there.
CREATE FUNCTION zd_exec(dsn text, cmd text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    EXECUTE format('SELECT %I.dblink_exec($1, $2)', spock.zd_dblink_schema()) INTO r USING dsn, cmd;
    RETURN r;
END
$$;

-- The rows of a query on another node, each as a jsonb object.
CREATE FUNCTION zd_query(dsn text, q text) RETURNS SETOF jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE
        format('SELECT t.v FROM %I.dblink($1, $2) AS t(v jsonb)', spock.zd_dblink_schema())
        USING dsn, 'SELECT pg_catalog.to_jsonb(q) FROM (' || q || ') q';
END
$$;

-- The single value of a query on another node, as text.
CREATE FUNCTION zd_value(dsn text, q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    EXECUTE format('SELECT t.v FROM %I.dblink($1, $2) AS t(v text) LIMIT 1',
                   spock.zd_dblink_schema()) INTO r USING dsn, q;
    RETURN r;
END
$$;

-- spock.add_node_timeout in seconds.
CREATE FUNCTION zd_timeout() RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT setting::integer FROM pg_catalog.pg_settings WHERE name = 'spock.add_node_timeout'
$$;

CREATE FUNCTION gen_sub_name(provider_node text, subscriber_node text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'sub_' || provider_node || '_' || subscriber_node $$;

-- Records that a step starts (in the caller's transaction: the caller commits).
CREATE FUNCTION zd_step_begin(p_new name, p_no integer, p_step text, p_peer name, p_verb boolean)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO spock.add_node_progress AS p (new_node, step_no, step, peer, state, pid, started_at)
        VALUES (p_new, p_no, p_step, coalesce(p_peer, ''), 'running', pg_catalog.pg_backend_pid(),
                pg_catalog.clock_timestamp())
        ON CONFLICT (new_node, step, peer) DO UPDATE
        SET state = 'running', pid = EXCLUDED.pid, started_at = EXCLUDED.started_at,
            finished_at = NULL, attempts = p.attempts + 1, detail = NULL;
    IF p_verb THEN
        RAISE NOTICE 'add_node %: step %: %', p_new, p_no,
            p_step || CASE WHEN p_peer IS NULL THEN '' ELSE ' (node ' || p_peer || ')' END;
    END IF;
END
$$;

CREATE FUNCTION zd_step_done(p_new name, p_step text, p_peer name, p_lsn pg_lsn DEFAULT NULL,
                             p_detail text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE spock.add_node_progress
        SET state = 'done', finished_at = pg_catalog.clock_timestamp(),
            lsn = coalesce(p_lsn, lsn), detail = p_detail
        WHERE new_node = p_new AND step = p_step AND peer = coalesce(p_peer, '');
END
$$;

CREATE FUNCTION zd_step_is_done(p_new name, p_step text, p_peer name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT state = 'done' FROM spock.add_node_progress
                     WHERE new_node = p_new AND step = p_step AND peer = coalesce(p_peer, '')),
                    false)
$$;

CREATE FUNCTION zd_step_lsn(p_new name, p_step text, p_peer name) RETURNS pg_lsn
LANGUAGE sql STABLE AS $$
    SELECT lsn FROM spock.add_node_progress
    WHERE new_node = p_new AND step = p_step AND peer = coalesce(p_peer, '') AND state = 'done'
$$;

-- The error of a step that did not finish, naming the node and the step, with the way on.
CREATE FUNCTION zd_fail(p_new name, p_step text, p_peer name, p_msg text, p_state text,
                        p_detail text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    msg text := format('add_node of "%s": step "%s"%s: %s', p_new, p_step,
                       CASE WHEN p_peer IS NULL THEN '' ELSE ' on node "' || p_peer || '"' END, p_msg);
    hint text := 'Fix the cause and CALL spock.add_node() again with the same arguments: it '
                 'resumes after the last finished step (see spock.add_node_status). To give '
                 'up instead, CALL spock.remove_node() on this node.';
BEGIN
    IF p_detail IS NULL OR p_detail = '' THEN
        RAISE EXCEPTION USING MESSAGE = msg, ERRCODE = coalesce(p_state, 'XX000'), HINT = hint;
    END IF;
    RAISE EXCEPTION USING MESSAGE = msg, ERRCODE = coalesce(p_state, 'XX000'), DETAIL = p_detail,
                          HINT = hint;
END
$$;

-- Polls a boolean query on a node (NULL dsn: this node) until it is true, at most
-- spock.add_node_timeout; raises an error naming the step and node otherwise.
CREATE FUNCTION zd_wait(p_new name, p_step text, p_peer name, p_dsn text, p_query text,
                        p_what text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := pg_catalog.clock_timestamp() +
        pg_catalog.make_interval(secs => spock.zd_timeout());
    ok boolean;
BEGIN
    IF p_query IS NULL THEN
        RAISE EXCEPTION 'zd_wait: the query is NULL' USING ERRCODE = '22004';
    END IF;
    LOOP
        IF p_dsn IS NULL THEN
            EXECUTE p_query INTO ok;
        ELSE
            ok := spock.zd_value(p_dsn, p_query)::boolean;
        END IF;
        EXIT WHEN ok;
        IF pg_catalog.clock_timestamp() > deadline THEN
            PERFORM spock.zd_fail(p_new, p_step, p_peer,
                'timed out waiting until ' || p_what, '57014',
                'spock.add_node_timeout is ' || pg_catalog.current_setting('spock.add_node_timeout') || '.');
        END IF;
        PERFORM pg_catalog.pg_sleep(0.1);
    END LOOP;
END
$$;

-- The checks add_node() makes before it changes anything. Raises the first problem found.
CREATE PROCEDURE verify_node_prerequisites(src_node_name text, src_dsn text, new_node_name text,
                                           new_node_dsn text, verb boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v text;
    local_name name;
    local_ver integer[];
    tables text;
BEGIN
    IF src_node_name IS NULL OR src_dsn IS NULL OR new_node_name IS NULL OR new_node_dsn IS NULL
       OR src_node_name = '' OR new_node_name = '' THEN
        RAISE EXCEPTION 'add_node: src_node_name, src_dsn, new_node_name and new_node_dsn are required'
            USING ERRCODE = '22004', DETAIL = 'One of them is NULL or empty.',
                  HINT = 'Pass the source node''s name and DSN and this node''s name and DSN.';
    END IF;
    IF src_node_name = new_node_name THEN
        RAISE EXCEPTION 'add_node: the new node cannot be named like the source node "%"', src_node_name
            USING ERRCODE = '22023', DETAIL = 'new_node_name and src_node_name are equal.',
                  HINT = 'Give the new node a name no node of the cluster has.';
    END IF;
    SELECT n.node_name INTO local_name FROM spock.local_node l JOIN spock.node n USING (node_id);
    IF local_name IS NOT NULL THEN
        RAISE EXCEPTION 'add_node: this database is already spock node "%"', local_name
            USING ERRCODE = '42710',
                  DETAIL = 'add_node() makes the node itself and must run on a database that is not a node yet.',
                  HINT = 'Run it on the new, empty database; to take this node out of its cluster first, CALL spock.remove_node().';
    END IF;
    IF EXISTS (SELECT 1 FROM spock.subscription) THEN
        RAISE EXCEPTION 'add_node: this database already has spock subscriptions'
            USING ERRCODE = '55000', DETAIL = 'The new node must have no replication configuration.',
                  HINT = 'Drop them with spock.sub_drop() first.';
    END IF;
    SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY n.nspname, c.relname)
        INTO tables
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'spock')
          AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                            AND d.deptype = 'e');
    IF tables IS NOT NULL THEN
        RAISE EXCEPTION 'add_node: the new node already has user tables'
            USING ERRCODE = '55000', DETAIL = 'Tables: ' || left(tables, 500) || '.',
                  HINT = 'The new node gets its schema and data from the source node; run add_node on an empty database or drop these tables.';
    END IF;
    PERFORM spock.zd_dblink_schema();
    -- The source: reachable, the named node, and the new node unknown to it.
    BEGIN
        v := spock.zd_value(src_dsn,
            'SELECT n.node_name FROM spock.local_node l JOIN spock.node n USING (node_id)');
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'add_node: cannot query the source node "%"', src_node_name
            USING ERRCODE = CASE WHEN SQLSTATE LIKE '08%' THEN SQLSTATE ELSE '08001' END,
                  DETAIL = SQLERRM,
                  HINT = 'Check src_dsn, that the source is running and has the spock extension, and pg_hba.conf.';
    END;
    IF v IS DISTINCT FROM src_node_name THEN
        RAISE EXCEPTION 'add_node: the database at src_dsn is not spock node "%"', src_node_name
            USING ERRCODE = '22023', DETAIL = 'Its local node is ' || coalesce('"' || v || '"', 'not set') || '.',
                  HINT = 'Pass the name and DSN of the same existing node.';
    END IF;
    IF spock.zd_value(src_dsn, format('SELECT count(*) FROM spock.node WHERE node_name = %L',
                                      new_node_name))::integer > 0 THEN
        RAISE EXCEPTION 'add_node: the cluster already has a node named "%"', new_node_name
            USING ERRCODE = '42710', DETAIL = 'Node "' || src_node_name || '" knows it.',
                  HINT = 'Choose another name, or remove the old node first with spock.remove_node() on it.';
    END IF;
    -- The roles that own or are granted objects on the source must exist here: the copy
    -- restores owners and grants, and roles are not replicated.
    v := (SELECT string_agg(x.rolname, ', ' ORDER BY x.rolname)
          FROM (SELECT j->>'rolname' AS rolname FROM spock.zd_query(src_dsn, spock.zd_roles_query()) j) x
          WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles pr WHERE pr.rolname = x.rolname));
    IF v IS NOT NULL THEN
        RAISE EXCEPTION 'add_node: roles of the source node are missing on the new node'
            USING ERRCODE = '42704',
                  DETAIL = 'Missing roles: ' || left(v, 500) || ' (they own or are granted objects on "' || src_node_name || '").',
                  HINT = 'Create these roles on this node first (CREATE ROLE ...; roles are not replicated), then CALL spock.add_node() again.';
    END IF;
    -- new_node_dsn must lead the other nodes here.
    BEGIN
        v := spock.zd_value(new_node_dsn,
            'SELECT system_identifier::text || '' '' || current_database() FROM pg_catalog.pg_control_system()');
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'add_node: cannot connect to the new node through new_node_dsn'
            USING ERRCODE = '08001', DETAIL = SQLERRM,
                  HINT = 'The other nodes connect to this node with new_node_dsn; it must work from them and from here.';
    END;
    IF v IS DISTINCT FROM (SELECT system_identifier::text || ' ' || current_database()
                           FROM pg_catalog.pg_control_system()) THEN
        RAISE EXCEPTION 'add_node: new_node_dsn does not lead to this database'
            USING ERRCODE = '22023',
                  DETAIL = CASE WHEN split_part(v, ' ', 1) = (SELECT system_identifier::text FROM pg_catalog.pg_control_system())
                                THEN 'It reaches database "' || substr(v, strpos(v, ' ') + 1) || '" of this instance.'
                                ELSE 'It reaches another PostgreSQL instance.' END,
                  HINT = 'Pass the DSN of the database add_node runs in.';
    END IF;
    -- Every node: reachable, the same spock major.minor, every subscription enabled.
    local_ver := (regexp_match(spock.spock_version(), '^(\d+)\.(\d+)'))::integer[];
    FOR r IN SELECT (j->>'node_name') AS node_name, (j->>'dsn') AS dsn
             FROM spock.zd_query(src_dsn,
                 'SELECT n.node_name, i.if_dsn AS dsn FROM spock.node n JOIN spock.node_interface i '
                 'ON i.if_nodeid = n.node_id ORDER BY n.node_name, i.if_id') j
    LOOP
        BEGIN
            v := spock.zd_value(r.dsn, 'SELECT spock.spock_version()');
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION 'add_node: cannot reach node "%" of the cluster', r.node_name
                USING ERRCODE = '08001', DETAIL = SQLERRM,
                      HINT = 'Every node must be reachable from the new node with the DSN the source has for it, for the whole add.';
        END;
        IF (regexp_match(v, '^(\d+)\.(\d+)'))::integer[] IS DISTINCT FROM local_ver THEN
            RAISE EXCEPTION 'add_node: node "%" runs spock %, this node %', r.node_name, v, spock.spock_version()
                USING ERRCODE = '55000', DETAIL = 'All nodes must run the same spock major and minor version.',
                      HINT = 'Install the same spock version on the new node.';
        END IF;
        v := spock.zd_value(r.dsn, 'SELECT string_agg(sub_name, '', '' ORDER BY sub_name) '
                                   'FROM spock.subscription WHERE NOT sub_enabled');
        IF v IS NOT NULL THEN
            RAISE EXCEPTION 'add_node: node "%" has disabled subscriptions', r.node_name
                USING ERRCODE = '55000', DETAIL = 'Disabled: ' || v || '.',
                      HINT = 'Enable them with spock.sub_enable() (or drop them) before adding a node.';
        END IF;
        IF verb THEN
            RAISE NOTICE 'add_node: node % is reachable, runs this spock version, all its subscriptions enabled', r.node_name;
        END IF;
    END LOOP;
END
$$;

-- The user objects this database had when add_node made the node (no tables: the prerequisites
-- saw to that), as {"n": schema oids, "c": relation oids, "p": routine oids, "t": type oids}.
-- A copy that failed half-way (say in its post-data section) leaves objects a new copy cannot
-- restore over; zd_drop_copied_objects() drops everything not in this list.
CREATE FUNCTION zd_user_objects() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH ns AS (
        SELECT n.oid FROM pg_catalog.pg_namespace n
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'spock', 'pg_toast')
          AND n.nspname !~ '^pg_(toast_)?temp_'
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_namespace'::regclass AND d.objid = n.oid
                            AND d.deptype = 'e'))
    SELECT jsonb_build_object(
        'n', (SELECT coalesce(jsonb_agg(oid), '[]') FROM ns),
        'c', (SELECT coalesce(jsonb_agg(c.oid), '[]') FROM pg_catalog.pg_class c
              WHERE c.relnamespace IN (SELECT oid FROM ns)),
        'p', (SELECT coalesce(jsonb_agg(p.oid), '[]') FROM pg_catalog.pg_proc p
              WHERE p.pronamespace IN (SELECT oid FROM ns)),
        't', (SELECT coalesce(jsonb_agg(t.oid), '[]') FROM pg_catalog.pg_type t
              WHERE t.typnamespace IN (SELECT oid FROM ns)))
$$;

CREATE FUNCTION zd_record_baseline(p_new name) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO spock.add_node_progress (new_node, step_no, step, peer, state, started_at,
                                         finished_at, detail)
        VALUES (p_new, 2, 'baseline', '', 'done', pg_catalog.clock_timestamp(),
                pg_catalog.clock_timestamp(), spock.zd_user_objects()::text)
        ON CONFLICT (new_node, step, peer) DO UPDATE SET detail = EXCLUDED.detail;
END
$$;

-- Drops the user objects that are not in the baseline of add_node for p_new: what an earlier
-- copy restored. Extension members are left alone.
CREATE FUNCTION zd_drop_copied_objects(p_new name, p_verb boolean) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    base jsonb;
    now_ jsonb := spock.zd_user_objects();
    o oid;
    cmd text;
    dropped integer := 0;
BEGIN
    SELECT detail::jsonb INTO base FROM spock.add_node_progress
        WHERE new_node = p_new AND step = 'baseline' AND peer = '';
    IF base IS NULL THEN
        RETURN 0;
    END IF;
    -- Schemas, then relations (tables first: their views, sequences and indexes go with
    -- them), routines and types; each looked up again since a CASCADE may have taken it.
    FOR o IN SELECT x::oid FROM jsonb_array_elements_text(now_->'n') x
             EXCEPT SELECT x::oid FROM jsonb_array_elements_text(base->'n') x LOOP
        SELECT format('DROP SCHEMA %I CASCADE', nspname) INTO cmd FROM pg_catalog.pg_namespace
            WHERE oid = o;
        CONTINUE WHEN cmd IS NULL;
        EXECUTE cmd;
        dropped := dropped + 1;
    END LOOP;
    FOR o IN SELECT c.oid FROM pg_catalog.pg_class c
             WHERE c.oid IN (SELECT x::oid FROM jsonb_array_elements_text(now_->'c') x
                             EXCEPT SELECT x::oid FROM jsonb_array_elements_text(base->'c') x)
             ORDER BY c.relkind IN ('r', 'p') DESC, c.oid LOOP
        SELECT format('DROP %s IF EXISTS %s CASCADE',
                      CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'TABLE' WHEN 'v' THEN 'VIEW'
                           WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                           WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE' END,
                      c.oid::regclass)
            INTO cmd FROM pg_catalog.pg_class c
            WHERE c.oid = o AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                              WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                                AND d.deptype IN ('e', 'i', 'a'));
        CONTINUE WHEN cmd IS NULL;
        EXECUTE cmd;
        dropped := dropped + 1;
    END LOOP;
    FOR o IN SELECT x::oid FROM jsonb_array_elements_text(now_->'p') x
             EXCEPT SELECT x::oid FROM jsonb_array_elements_text(base->'p') x LOOP
        SELECT format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure) INTO cmd
            FROM pg_catalog.pg_proc p WHERE p.oid = o
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                              WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
                                AND d.deptype = 'e');
        CONTINUE WHEN cmd IS NULL;
        EXECUTE cmd;
        dropped := dropped + 1;
    END LOOP;
    FOR o IN SELECT x::oid FROM jsonb_array_elements_text(now_->'t') x
             EXCEPT SELECT x::oid FROM jsonb_array_elements_text(base->'t') x LOOP
        SELECT format('DROP %s IF EXISTS %s CASCADE',
                      CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype) INTO cmd
            FROM pg_catalog.pg_type t
            WHERE t.oid = o AND t.typtype IN ('b', 'd', 'e', 'r') AND t.typelem = 0;
        CONTINUE WHEN cmd IS NULL;
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                              WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = o
                                AND d.deptype IN ('e', 'i'));
        EXECUTE cmd;
        dropped := dropped + 1;
    END LOOP;
    IF dropped > 0 THEN
        RAISE NOTICE 'add_node %: dropped % objects an earlier copy had restored', p_new, dropped;
    END IF;
    RETURN dropped;
END
$$;

-- The query, run on the source, for the roles that own or are granted its user objects
-- (schemas, relations, columns, routines, types, default privileges; extension members and
-- the spock schema excluded).
CREATE FUNCTION zd_roles_query() RETURNS text
LANGUAGE sql IMMUTABLE AS $q$ SELECT $$
    WITH ns AS (
        SELECT n.oid, n.nspowner, n.nspacl FROM pg_catalog.pg_namespace n
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'spock')
          AND n.nspname !~ '^pg_'
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = n.oid
                          AND d.classid = 'pg_catalog.pg_namespace'::regclass AND d.deptype = 'e')),
    objs AS (
        SELECT nspowner AS owner, nspacl AS acl FROM ns
        UNION ALL
        SELECT c.relowner, c.relacl FROM pg_catalog.pg_class c
        WHERE c.relnamespace IN (SELECT oid FROM ns) AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
            WHERE d.objid = c.oid AND d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e')
        UNION ALL
        SELECT NULL, a.attacl FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        WHERE a.attacl IS NOT NULL AND c.relnamespace IN (SELECT oid FROM ns)
        UNION ALL
        SELECT p.proowner, p.proacl FROM pg_catalog.pg_proc p
        WHERE p.pronamespace IN (SELECT oid FROM ns) AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
            WHERE d.objid = p.oid AND d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e')
        UNION ALL
        SELECT t.typowner, t.typacl FROM pg_catalog.pg_type t
        WHERE t.typnamespace IN (SELECT oid FROM ns) AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
            WHERE d.objid = t.oid AND d.classid = 'pg_catalog.pg_type'::regclass AND d.deptype = 'e')
        UNION ALL
        SELECT d.defaclrole, d.defaclacl FROM pg_catalog.pg_default_acl d),
    ids AS (
        SELECT owner AS id FROM objs WHERE owner IS NOT NULL
        UNION SELECT a.grantee FROM objs, pg_catalog.aclexplode(objs.acl) a WHERE objs.acl IS NOT NULL
        UNION SELECT a.grantor FROM objs, pg_catalog.aclexplode(objs.acl) a WHERE objs.acl IS NOT NULL)
    SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid IN (SELECT id FROM ids)
$$ $q$;

-- The other existing nodes O of the cluster, as the source knows them (one DSN each).
CREATE FUNCTION zd_other_nodes(src_dsn text, src_node_name text, new_node_name text)
RETURNS TABLE (node_name text, dsn text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT (j->>'node_name'), (j->>'dsn')
        FROM spock.zd_query(src_dsn,
            format('SELECT DISTINCT ON (n.node_name) n.node_name, i.if_dsn AS dsn '
                   'FROM spock.node n JOIN spock.node_interface i ON i.if_nodeid = n.node_id '
                   'WHERE n.node_name NOT IN (%L, %L) ORDER BY n.node_name, i.if_id',
                   src_node_name, new_node_name)) j
        ORDER BY 1;
END
$$;

-- A step procedure of add_node called on its own: its arguments present and this database
-- already the new node (create_nodes_only, or add_node, made it).
CREATE FUNCTION zd_require_new_node(p_proc text, src_node_name text, src_dsn text,
                                    new_node_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    local_name name;
BEGIN
    IF src_node_name IS NULL OR src_dsn IS NULL OR new_node_name IS NULL THEN
        RAISE EXCEPTION '%: src_node_name, src_dsn and new_node_name are required', p_proc
            USING ERRCODE = '22004', DETAIL = 'One of them is NULL.',
                  HINT = 'Pass the source node''s name and DSN and the new node''s name and DSN.';
    END IF;
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION '% needs READ COMMITTED', p_proc USING ERRCODE = '25001',
            HINT = 'CALL it outside an explicit transaction block.';
    END IF;
    SELECT nd.node_name INTO local_name FROM spock.local_node l JOIN spock.node nd USING (node_id);
    IF local_name IS DISTINCT FROM new_node_name THEN
        RAISE EXCEPTION '%: this database is not the new node "%"', p_proc, new_node_name
            USING ERRCODE = '55000',
                  DETAIL = 'Its local node is ' || coalesce('"' || local_name || '"', 'not set') || '.',
                  HINT = 'Run the steps of add_node on the new node, after CALL spock.create_nodes_only(); '
                         'CALL spock.add_node() runs every step in order.';
    END IF;
END
$$;

-- Makes O's sync event at p_lsn be applied on the node at p_waiter_dsn (p_waiter names it),
-- within spock.add_node_timeout; a failure is an error of step p_step.
CREATE FUNCTION zd_wait_event_on(p_new name, p_step text, o text, p_lsn pg_lsn, p_waiter text,
                                 p_waiter_dsn text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e_state text;
    e_msg text;
    e_detail text;
BEGIN
    IF o IS NULL OR p_lsn IS NULL OR p_waiter_dsn IS NULL THEN
        RAISE EXCEPTION 'zd_wait_event_on: the node, the LSN and the waiting node''s DSN are required'
            USING ERRCODE = '22004', DETAIL = 'One of them is NULL.', HINT = 'This is an internal helper of spock.add_node().';
    END IF;
    BEGIN
        PERFORM spock.zd_value(p_waiter_dsn, format(
            'CALL spock.wait_for_sync_event(NULL, %L::name, %L::pg_lsn, %s, true)',
            o, p_lsn, spock.zd_timeout()));
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL;
        PERFORM spock.zd_fail(p_new, p_step, o, 'waiting on "' || p_waiter || '" for the sync event of "'
                              || o || '": ' || e_msg, e_state, e_detail);
    END;
    IF NOT coalesce(spock.zd_value(p_waiter_dsn, format(
            'SELECT bool_and(remote_lsn >= %L::pg_lsn) FROM pg_catalog.pg_replication_origin_status os '
            'JOIN spock.subscription s ON s.sub_slot_name = os.external_id '
            'JOIN spock.node nd ON nd.node_id = s.sub_origin WHERE nd.node_name = %L', p_lsn, o))::boolean,
            false) THEN
        PERFORM spock.zd_fail(p_new, p_step, o, 'node "' || p_waiter ||
                              '" did not apply the sync event of this node in time', '57014',
                              'spock.add_node_timeout is ' || pg_catalog.current_setting('spock.add_node_timeout') || '.');
    END IF;
END
$$;

-- Steps 1 and 2 of add_node: the prerequisites, then the new node. On a new node whose add
-- did not finish, it does nothing but count (add_node then resumes).
CREATE PROCEDURE create_nodes_only(src_node_name text, src_dsn text, new_node_name text,
                                   new_node_dsn text, verb boolean, new_node_location text,
                                   new_node_country text, new_node_info jsonb,
                                   INOUT initial_node_count integer)
LANGUAGE plpgsql AS $$
DECLARE
    n name := new_node_name;
    local_name name;
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'add_node needs READ COMMITTED' USING ERRCODE = '25001',
            HINT = 'CALL it outside an explicit transaction block.';
    END IF;
    SELECT nd.node_name INTO local_name FROM spock.local_node l JOIN spock.node nd USING (node_id);
    IF local_name IS NOT NULL AND local_name = n
       AND spock.zd_step_is_done(n, 'create_node', NULL)
       AND NOT spock.zd_step_is_done(n, 'finish', NULL) THEN
        RAISE NOTICE 'add_node: resuming the unfinished add of node "%"', n;
    ELSE
        -- Nothing is changed before every prerequisite passes.
        CALL spock.verify_node_prerequisites(src_node_name, src_dsn, new_node_name, new_node_dsn, verb);
        DELETE FROM spock.add_node_progress WHERE new_node = n;
        PERFORM spock.zd_step_begin(n, 1, 'prerequisites', NULL, verb);
        PERFORM spock.zd_step_done(n, 'prerequisites', NULL);
        PERFORM spock.zd_step_begin(n, 2, 'create_node', NULL, verb);
        PERFORM spock.node_create(n, new_node_dsn, new_node_location, new_node_country, new_node_info);
        PERFORM spock.zd_step_done(n, 'create_node', NULL);
        PERFORM spock.zd_record_baseline(n);
        COMMIT;
    END IF;
    initial_node_count := spock.zd_value(src_dsn, format(
        'SELECT count(*) FROM spock.node WHERE node_name <> %L', n))::integer;
END
$$;

-- Step 3 of add_node. For each other node O: a disabled subscription O -> N here, its slot on
-- O (which keeps every O change from now on for N), and O's changes up to past the slot's
-- start applied on the source.
CREATE PROCEDURE create_disable_subscriptions_and_slots(src_node_name text, src_dsn text,
                                                        new_node_name text, new_node_dsn text,
                                                        verb boolean)
LANGUAGE plpgsql AS $$
DECLARE
    n name := new_node_name;
    r record;
    sub text;
    slot text;
    lsn pg_lsn;
    e_state text;
    e_msg text;
    e_detail text;
BEGIN
    PERFORM spock.zd_require_new_node('create_disable_subscriptions_and_slots', src_node_name,
                                      src_dsn, new_node_name);
    FOR r IN SELECT * FROM spock.zd_other_nodes(src_dsn, src_node_name, n) LOOP
        CONTINUE WHEN spock.zd_step_is_done(n, 'prepare_subscription', r.node_name);
        PERFORM spock.zd_step_begin(n, 3, 'prepare_subscription', r.node_name, verb);
        sub := spock.gen_sub_name(r.node_name, n);
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM spock.subscription WHERE sub_name = sub) THEN
                PERFORM spock.sub_create(sub, r.dsn, '{default,default_insert_only,ddl_sql}',
                                         false, false, '{}', '0', false, false);
            END IF;
            SELECT sub_slot_name INTO slot FROM spock.subscription WHERE sub_name = sub;
            IF spock.zd_value(r.dsn, format('SELECT count(*) FROM pg_catalog.pg_replication_slots '
                                            'WHERE slot_name = %L', slot))::integer = 0 THEN
                PERFORM spock.zd_value(r.dsn, format(
                    'SELECT lsn FROM pg_catalog.pg_create_logical_replication_slot(%L, ''spock_output'')',
                    slot));
            END IF;
            lsn := spock.zd_value(r.dsn, 'SELECT spock.sync_event()')::pg_lsn;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL;
            PERFORM spock.zd_fail(n, 'prepare_subscription', r.node_name, e_msg, e_state, e_detail);
        END;
        COMMIT;
        -- Every O commit before the slot's start is on S once S has applied this event.
        PERFORM spock.zd_wait_event_on(n, 'prepare_subscription', r.node_name, lsn, src_node_name, src_dsn);
        PERFORM spock.zd_step_done(n, 'prepare_subscription', r.node_name, lsn);
        COMMIT;
    END LOOP;
END
$$;

-- A sync event on every other node, each waited for on the source (reference step 4). add_node
-- does this per node inside create_disable_subscriptions_and_slots; this is the same wait again.
CREATE PROCEDURE trigger_sync_on_other_nodes_and_wait_on_source(src_node_name text, src_dsn text,
                                                                new_node_name text,
                                                                new_node_dsn text, verb boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    lsn pg_lsn;
BEGIN
    PERFORM spock.zd_require_new_node('trigger_sync_on_other_nodes_and_wait_on_source',
                                      src_node_name, src_dsn, new_node_name);
    FOR r IN SELECT * FROM spock.zd_other_nodes(src_dsn, src_node_name, new_node_name) LOOP
        lsn := spock.zd_value(r.dsn, 'SELECT spock.sync_event()')::pg_lsn;
        PERFORM spock.zd_wait_event_on(new_node_name, 'sync_other_nodes', r.node_name, lsn,
                                       src_node_name, src_dsn);
        IF verb THEN
            RAISE NOTICE 'add_node: node % applied the sync event % of node %', src_node_name, lsn, r.node_name;
        END IF;
    END LOOP;
END
$$;

-- Steps 4 and 5 of add_node: S -> N with structure and data, then the replication sets of the
-- copied tables as on S. S's apply workers are paused while the copy's snapshot is taken, so
-- S's origin for each O says exactly which O changes the copy holds.
CREATE PROCEDURE create_source_to_new_subscription(src_node_name text, src_dsn text,
                                                   new_node_name text, new_node_dsn text,
                                                   verb boolean)
LANGUAGE plpgsql AS $$
DECLARE
    n name := new_node_name;
    o_names text[];
    i integer;
    sub text;
    slot text;
    before jsonb;
    after jsonb;
    r record;
    e_state text;
    e_msg text;
    e_detail text;
BEGIN
    PERFORM spock.zd_require_new_node('create_source_to_new_subscription', src_node_name, src_dsn,
                                      new_node_name);
    SELECT coalesce(array_agg(o.node_name), '{}') INTO o_names
        FROM spock.zd_other_nodes(src_dsn, src_node_name, n) o;
    IF NOT spock.zd_step_is_done(n, 'copy', src_node_name) THEN
        PERFORM spock.zd_step_begin(n, 4, 'copy', src_node_name, verb);
        sub := spock.gen_sub_name(src_node_name, n);
        PERFORM spock.sub_drop(sub, true);
        DELETE FROM spock.add_node_progress WHERE new_node = n AND step = 'copy_position';
        COMMIT;
        -- What an earlier, failed copy restored goes first (its post-data part may have failed).
        PERFORM spock.zd_drop_copied_objects(n, verb);
        COMMIT;
        BEGIN
            PERFORM spock.zd_value(src_dsn, 'SELECT spock.pause_apply_workers()');
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL;
            PERFORM spock.zd_fail(n, 'copy', src_node_name, 'pausing the apply workers: ' || e_msg, e_state, e_detail);
        END;
        before := spock.zd_add_node_origins(src_dsn, o_names);
        BEGIN
            PERFORM spock.sub_create(sub, src_dsn, '{default,default_insert_only,ddl_sql}',
                                     true, true, '{}', '0', false, true);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL;
            PERFORM spock.zd_value(src_dsn, 'SELECT spock.resume_apply_workers()');
            PERFORM spock.zd_fail(n, 'copy', src_node_name, e_msg, e_state, e_detail);
        END;
        SELECT sub_slot_name INTO slot FROM spock.subscription WHERE sub_name = sub;
        COMMIT;
        BEGIN
            PERFORM spock.zd_wait(n, 'copy', src_node_name, src_dsn,
                format('SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = %L '
                       'AND confirmed_flush_lsn IS NOT NULL)', slot),
                'the copy''s slot on the source has its snapshot');
            after := spock.zd_add_node_origins(src_dsn, o_names);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL;
            BEGIN
                PERFORM spock.zd_value(src_dsn, 'SELECT spock.resume_apply_workers()');
            EXCEPTION WHEN OTHERS THEN
                NULL;  -- the source is gone; its pause ends with spock.pause_timeout
            END;
            PERFORM spock.zd_fail(n, 'copy', src_node_name, e_msg, e_state, e_detail);
        END;
        PERFORM spock.zd_value(src_dsn, 'SELECT spock.resume_apply_workers()');
        IF before IS DISTINCT FROM after THEN
            PERFORM spock.zd_fail(n, 'copy', src_node_name,
                'the source applied changes of other nodes while the copy''s snapshot was taken', '55000',
                'Its apply workers stopped pausing (spock.pause_timeout on the source) before the snapshot was ready.');
        END IF;
        FOR i IN 1 .. coalesce(array_length(o_names, 1), 0) LOOP
            PERFORM spock.zd_step_begin(n, 4, 'copy_position', o_names[i], false);
            PERFORM spock.zd_step_done(n, 'copy_position', o_names[i], (after->>o_names[i])::pg_lsn);
        END LOOP;
        COMMIT;
        PERFORM spock.zd_wait(n, 'copy', src_node_name, NULL,
            format('SELECT coalesce((SELECT sync_status = ''r'' FROM spock.local_sync_status ss '
                   'JOIN spock.subscription s ON s.sub_id = ss.sync_subid WHERE s.sub_name = %L '
                   'AND ss.sync_nspname IS NULL AND ss.sync_relname IS NULL), false)', sub),
            'the structure and data of "' || src_node_name || '" are copied (see the server log '
            'of this node for errors of the subscription ' || sub || ')');
        PERFORM spock.zd_step_done(n, 'copy', src_node_name);
        COMMIT;
    END IF;

    IF NOT spock.zd_step_is_done(n, 'replication_sets', NULL) THEN
        PERFORM spock.zd_step_begin(n, 5, 'replication_sets', NULL, verb);
        FOR r IN SELECT (j->>'set_name') AS set_name, (j->>'rel') AS rel, (j->>'kind') AS kind
                 FROM spock.zd_query(src_dsn,
                     'SELECT rs.set_name, rst.set_reloid::regclass::text AS rel, ''t'' AS kind '
                     'FROM spock.replication_set rs JOIN spock.replication_set_table rst USING (set_id) '
                     'JOIN spock.local_node l ON l.node_id = rs.set_nodeid '
                     'UNION ALL SELECT rs.set_name, rss.set_seqoid::regclass::text, ''s'' '
                     'FROM spock.replication_set rs JOIN spock.replication_set_seq rss USING (set_id) '
                     'JOIN spock.local_node l ON l.node_id = rs.set_nodeid') j
        LOOP
            IF NOT EXISTS (SELECT 1 FROM spock.replication_set WHERE set_name = r.set_name) THEN
                PERFORM spock.repset_create(r.set_name);
            END IF;
            IF r.kind = 't' AND NOT EXISTS (SELECT 1 FROM spock.tables t
                    WHERE t.relid = r.rel::regclass AND t.set_name = r.set_name) THEN
                PERFORM spock.repset_add_table(r.set_name, r.rel::regclass, false);
            ELSIF r.kind = 's' AND NOT EXISTS (SELECT 1 FROM spock.replication_set_seq q
                    JOIN spock.replication_set rs USING (set_id)
                    WHERE q.set_seqoid = r.rel::regclass AND rs.set_name = r.set_name) THEN
                PERFORM spock.repset_add_seq(r.set_name, r.rel::regclass, false);
            END IF;
        END LOOP;
        PERFORM spock.zd_step_done(n, 'replication_sets', NULL);
        COMMIT;
    END IF;
END
$$;

-- A sync event on the source, waited for here (reference step 6): N has applied every S commit
-- before it. With sync_check_on_new_node, also that sub_S_N replicates.
CREATE PROCEDURE trigger_source_sync_and_wait_on_new_node(src_node_name text, src_dsn text,
                                                          new_node_name text, new_node_dsn text,
                                                          verb boolean,
                                                          sync_check_on_new_node boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
    lsn pg_lsn;
    sub text := spock.gen_sub_name(src_node_name, new_node_name);
BEGIN
    PERFORM spock.zd_require_new_node('trigger_source_sync_and_wait_on_new_node', src_node_name,
                                      src_dsn, new_node_name);
    IF NOT EXISTS (SELECT 1 FROM spock.subscription WHERE sub_name = sub) THEN
        RAISE EXCEPTION 'trigger_source_sync_and_wait_on_new_node: subscription "%" does not exist', sub
            USING ERRCODE = '42704', DETAIL = 'This node has no subscription from the source yet.',
                  HINT = 'CALL spock.create_source_to_new_subscription() first.';
    END IF;
    lsn := spock.zd_value(src_dsn, 'SELECT spock.sync_event()')::pg_lsn;
    COMMIT;
    PERFORM spock.zd_wait_event_on(new_node_name, 'sync_source', src_node_name, lsn,
                                   new_node_name, new_node_dsn);
    IF sync_check_on_new_node THEN
        CALL spock.verify_subscription_replicating(new_node_dsn, sub, verb);
    END IF;
    IF verb THEN
        RAISE NOTICE 'add_node: this node applied the sync event % of node %', lsn, src_node_name;
    END IF;
END
$$;

-- Step 6 of add_node. For each O: its slot and N's origin moved to where the copy's knowledge
-- of O ends, so no O change is lost or applied twice.
CREATE PROCEDURE check_commit_timestamp_and_advance_slot(src_node_name text, src_dsn text,
                                                         new_node_name text, new_node_dsn text,
                                                         verb boolean)
LANGUAGE plpgsql AS $$
DECLARE
    n name := new_node_name;
    r record;
    slot text;
    lsn pg_lsn;
    target pg_lsn;
    e_state text;
    e_msg text;
    e_detail text;
BEGIN
    PERFORM spock.zd_require_new_node('check_commit_timestamp_and_advance_slot', src_node_name,
                                      src_dsn, new_node_name);
    FOR r IN SELECT * FROM spock.zd_other_nodes(src_dsn, src_node_name, n) LOOP
        CONTINUE WHEN spock.zd_step_is_done(n, 'advance', r.node_name);
        PERFORM spock.zd_step_begin(n, 6, 'advance', r.node_name, verb);
        SELECT sub_slot_name INTO slot FROM spock.subscription
            WHERE sub_name = spock.gen_sub_name(r.node_name, n);
        target := spock.zd_step_lsn(n, 'copy_position', r.node_name);
        BEGIN
            IF target IS NULL OR slot IS NULL THEN
                RAISE EXCEPTION 'the copy holds no position for this node' USING ERRCODE = '55000',
                    DETAIL = 'create_disable_subscriptions_and_slots and create_source_to_new_subscription must finish first.';
            END IF;
            lsn := spock.zd_value(r.dsn, format('SELECT confirmed_flush_lsn FROM '
                                                'pg_catalog.pg_replication_slots WHERE slot_name = %L', slot))::pg_lsn;
            IF lsn IS NULL THEN
                RAISE EXCEPTION 'slot "%" is missing', slot USING ERRCODE = '55000';
            ELSIF lsn > target THEN
                RAISE EXCEPTION 'slot "%" is at %, past the copy''s position %', slot, lsn, target
                    USING ERRCODE = '55000';
            ELSIF lsn < target THEN
                PERFORM spock.zd_value(r.dsn, format(
                    'SELECT end_lsn FROM pg_catalog.pg_replication_slot_advance(%L, %L::pg_lsn)',
                    slot, target));
            END IF;
            PERFORM pg_catalog.pg_replication_origin_advance(slot, target);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL;
            PERFORM spock.zd_fail(n, 'advance', r.node_name, e_msg, e_state, e_detail);
        END;
        PERFORM spock.zd_step_done(n, 'advance', r.node_name, target);
        COMMIT;
    END LOOP;
END
$$;

-- Step 7 of add_node. For each O: sub_O_N enabled, and a fresh sync event of O applied here.
CREATE PROCEDURE enable_disabled_subscriptions(src_node_name text, src_dsn text,
                                               new_node_name text, new_node_dsn text, verb boolean)
LANGUAGE plpgsql AS $$
DECLARE
    n name := new_node_name;
    r record;
    sub text;
    lsn pg_lsn;
BEGIN
    PERFORM spock.zd_require_new_node('enable_disabled_subscriptions', src_node_name, src_dsn,
                                      new_node_name);
    FOR r IN SELECT * FROM spock.zd_other_nodes(src_dsn, src_node_name, n) LOOP
        CONTINUE WHEN spock.zd_step_is_done(n, 'enable', r.node_name);
        IF NOT spock.zd_step_is_done(n, 'advance', r.node_name) THEN
            PERFORM spock.zd_fail(n, 'enable', r.node_name,
                'its slot was not advanced to the copy''s position', '55000',
                'CALL spock.check_commit_timestamp_and_advance_slot() first.');
        END IF;
        PERFORM spock.zd_step_begin(n, 7, 'enable', r.node_name, verb);
        sub := spock.gen_sub_name(r.node_name, n);
        PERFORM spock.sub_enable(sub, true);
        COMMIT;
        lsn := spock.zd_value(r.dsn, 'SELECT spock.sync_event()')::pg_lsn;
        PERFORM spock.zd_wait(n, 'enable', r.node_name, NULL,
            format('SELECT coalesce((SELECT remote_lsn >= %L::pg_lsn FROM '
                   'pg_catalog.pg_replication_origin_status os JOIN spock.subscription s '
                   'ON s.sub_slot_name = os.external_id WHERE s.sub_name = %L), false)', lsn, sub),
            'this node applied a sync event of "' || r.node_name || '" (subscription ' || sub || ')');
        PERFORM spock.zd_step_done(n, 'enable', r.node_name, lsn);
        COMMIT;
    END LOOP;
END
$$;

-- Step 8 of add_node for one existing node E: sub_N_E on E, without sync, until it replicates.
CREATE PROCEDURE zd_reverse_subscription(new_node_name text, new_node_dsn text, e text,
                                         edsn text, verb boolean)
LANGUAGE plpgsql AS $$
DECLARE
    n name := new_node_name;
    sub text := spock.gen_sub_name(new_node_name, e);
    e_state text;
    e_msg text;
    e_detail text;
BEGIN
    IF spock.zd_step_is_done(n, 'reverse_subscription', e) THEN
        RETURN;
    END IF;
    PERFORM spock.zd_step_begin(n, 8, 'reverse_subscription', e, verb);
    COMMIT;
    BEGIN
        IF spock.zd_value(edsn, format('SELECT count(*) FROM spock.subscription WHERE sub_name = %L',
                                       sub))::integer = 0 THEN
            PERFORM spock.zd_value(edsn, format(
                'SELECT spock.sub_create(%L, %L, ''{default,default_insert_only,ddl_sql}'', '
                'false, false, ''{}'', ''0'', false, true)', sub, new_node_dsn));
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL;
        PERFORM spock.zd_fail(n, 'reverse_subscription', e, e_msg, e_state, e_detail);
    END;
    PERFORM spock.zd_wait(n, 'reverse_subscription', e, edsn,
        format('SELECT coalesce((SELECT status = ''replicating'' FROM spock.sub_show_status(%L)), false)', sub),
        'subscription ' || sub || ' on "' || e || '" is replicating');
    PERFORM spock.zd_step_done(n, 'reverse_subscription', e);
    COMMIT;
END
$$;

-- Step 8 of add_node: every existing node (the source first) subscribes to the new node.
CREATE PROCEDURE create_sub_on_new_node_to_src_node(src_node_name text, src_dsn text,
                                                    new_node_name text, new_node_dsn text,
                                                    verb boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    PERFORM spock.zd_require_new_node('create_sub_on_new_node_to_src_node', src_node_name, src_dsn,
                                      new_node_name);
    CALL spock.zd_reverse_subscription(new_node_name, new_node_dsn, src_node_name, src_dsn, verb);
    FOR r IN SELECT * FROM spock.zd_other_nodes(src_dsn, src_node_name, new_node_name) LOOP
        CALL spock.zd_reverse_subscription(new_node_name, new_node_dsn, r.node_name, r.dsn, verb);
    END LOOP;
END
$$;

-- Step 8 of add_node for the source alone: sub_N_S on the source.
CREATE PROCEDURE create_new_to_source_subscription(src_node_name text, src_dsn text,
                                                   new_node_name text, new_node_dsn text,
                                                   verb boolean)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM spock.zd_require_new_node('create_new_to_source_subscription', src_node_name, src_dsn,
                                      new_node_name);
    CALL spock.zd_reverse_subscription(new_node_name, new_node_dsn, src_node_name, src_dsn, verb);
END
$$;

-- The slots of sub_O_N on every other node O, without the subscriptions (reference: unused by
-- add_node, which makes them in create_disable_subscriptions_and_slots).
CREATE PROCEDURE create_replication_slots(src_node_name text, src_dsn text, new_node_name text,
                                          new_node_dsn text, verb boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    PERFORM spock.zd_require_new_node('create_replication_slots', src_node_name, src_dsn,
                                      new_node_name);
    FOR r IN SELECT * FROM spock.zd_other_nodes(src_dsn, src_node_name, new_node_name) LOOP
        CALL spock.create_replication_slot(r.dsn,
            spock.spock_gen_slot_name(pg_catalog.current_database(), r.node_name,
                                      spock.gen_sub_name(r.node_name, new_node_name)), verb);
    END LOOP;
END
$$;

-- Step 9 of add_node: every subscription of every node replicating, within
-- spock.add_node_timeout each.
CREATE PROCEDURE zd_finish(src_node_name text, src_dsn text, new_node_name text,
                           new_node_dsn text, verb boolean, started timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    n name := new_node_name;
    r record;
BEGIN
    PERFORM spock.zd_step_begin(n, 9, 'finish', NULL, verb);
    COMMIT;
    FOR r IN SELECT src_node_name AS node_name, src_dsn AS dsn
             UNION ALL SELECT * FROM spock.zd_other_nodes(src_dsn, src_node_name, n)
             UNION ALL SELECT new_node_name, new_node_dsn
    LOOP
        PERFORM spock.zd_wait(n, 'finish', r.node_name, r.dsn,
            'SELECT coalesce(bool_and(status = ''replicating''), true) FROM spock.sub_show_status()',
            'every subscription of "' || r.node_name || '" is replicating');
    END LOOP;
    PERFORM spock.zd_step_done(n, 'finish', NULL, NULL,
        'added in ' || round(extract(epoch FROM pg_catalog.clock_timestamp() - started)::numeric, 1) || ' s');
    COMMIT;
END
$$;

CREATE PROCEDURE add_node(src_node_name text, src_dsn text, new_node_name text, new_node_dsn text,
                          verb boolean DEFAULT false, new_node_location text DEFAULT 'NY',
                          new_node_country text DEFAULT 'USA', new_node_info jsonb DEFAULT '{}')
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := pg_catalog.clock_timestamp();
    initial_node_count integer;
BEGIN
    CALL spock.create_nodes_only(src_node_name, src_dsn, new_node_name, new_node_dsn, verb,
                                 new_node_location, new_node_country, new_node_info,
                                 initial_node_count);
    CALL spock.create_disable_subscriptions_and_slots(src_node_name, src_dsn, new_node_name,
                                                      new_node_dsn, verb);
    CALL spock.create_source_to_new_subscription(src_node_name, src_dsn, new_node_name,
                                                 new_node_dsn, verb);
    CALL spock.check_commit_timestamp_and_advance_slot(src_node_name, src_dsn, new_node_name,
                                                       new_node_dsn, verb);
    CALL spock.enable_disabled_subscriptions(src_node_name, src_dsn, new_node_name, new_node_dsn,
                                             verb);
    CALL spock.create_sub_on_new_node_to_src_node(src_node_name, src_dsn, new_node_name,
                                                  new_node_dsn, verb);
    CALL spock.zd_finish(src_node_name, src_dsn, new_node_name, new_node_dsn, verb, started);
    IF verb THEN
        CALL spock.present_final_cluster_state(src_dsn, initial_node_count, verb);
    END IF;
    RAISE NOTICE 'add_node: node "%" joined the cluster of "%" (% other nodes)', new_node_name,
        src_node_name, initial_node_count;
END
$$;

-- S's replication origin position for each named node, as {"node": "lsn"}.
CREATE FUNCTION zd_add_node_origins(src_dsn text, nodes text[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_object_agg(j->>'node_name', j->>'remote_lsn'), '{}')
            FROM spock.zd_query(src_dsn,
                'SELECT nd.node_name, os.remote_lsn FROM spock.subscription s '
                'JOIN spock.node nd ON nd.node_id = s.sub_origin '
                'JOIN pg_catalog.pg_replication_origin_status os ON os.external_id = s.sub_slot_name '
                'JOIN spock.local_node l ON l.node_id = s.sub_target') j
            WHERE j->>'node_name' = ANY (nodes));
END
$$;

-- ===============================================================================================
-- Removing a node (zodremove.sql, reference §9): remove_node() and its steps, each callable on
-- its own on the node being removed, each safe to run again.
-- ===============================================================================================

CREATE FUNCTION check_repset_exists_on_node(node_dsn text, repset_name text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RETURN spock.zd_value(node_dsn, format(
        'SELECT count(*) > 0 FROM spock.replication_set WHERE set_name = %L', repset_name))::boolean;
END
$$;

CREATE FUNCTION check_slot_exists_on_node(node_dsn text, slot_name text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RETURN spock.zd_value(node_dsn, format(
        'SELECT count(*) > 0 FROM pg_catalog.pg_replication_slots WHERE slot_name = %L',
        slot_name))::boolean;
END
$$;

CREATE FUNCTION check_node_exists(node_name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM spock.node n WHERE n.node_name = check_node_exists.node_name)
$$;

-- The replication slots of a node's replication known here: for this node, the spock slots of
-- this database (the other nodes' subscriptions from it); for another node, the slots on it
-- that this node's subscriptions from it use.
CREATE FUNCTION get_node_slots(node_name text) RETURNS TABLE (slot_name text)
LANGUAGE sql STABLE AS $$
    SELECT s.slot_name::text FROM pg_catalog.pg_replication_slots s
    WHERE s.database = pg_catalog.current_database()
      AND s.plugin = 'spock_output'
      AND EXISTS (SELECT 1 FROM spock.local_node l JOIN spock.node n USING (node_id)
                  WHERE n.node_name = get_node_slots.node_name)
    UNION
    SELECT sub.sub_slot_name::text FROM spock.subscription sub JOIN spock.node n ON n.node_id = sub.sub_origin
    WHERE n.node_name = get_node_slots.node_name
    ORDER BY 1
$$;

-- remove_node() runs on the node it removes; target_node_dsn, when given, must lead here.
CREATE PROCEDURE validate_node_removal_prerequisites(target_node_name text, target_node_dsn text,
                                                     verbose_mode boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    local_name name;
    v text;
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'remove_node needs READ COMMITTED' USING ERRCODE = '25001',
            HINT = 'CALL it outside an explicit transaction block.';
    END IF;
    SELECT nd.node_name INTO local_name FROM spock.local_node l JOIN spock.node nd USING (node_id);
    IF local_name IS NULL THEN
        RAISE EXCEPTION 'remove_node: this database is not a spock node'
            USING ERRCODE = '55000', DETAIL = 'There is no local node to remove.',
                  HINT = 'Nothing to do here; run remove_node on the node being removed.';
    END IF;
    IF target_node_name IS DISTINCT FROM local_name THEN
        RAISE EXCEPTION 'remove_node: this database is node "%", not "%"', local_name, target_node_name
            USING ERRCODE = '22023',
                  DETAIL = 'remove_node runs on the node being removed.',
                  HINT = 'Connect to the node named "' || coalesce(target_node_name, '') || '" and call it there.';
    END IF;
    IF target_node_dsn IS NOT NULL THEN
        PERFORM spock.zd_dblink_schema();
        BEGIN
            v := spock.zd_value(target_node_dsn,
                'SELECT system_identifier::text || '' '' || current_database() FROM pg_catalog.pg_control_system()');
        EXCEPTION WHEN OTHERS THEN
            v := NULL;
        END;
        IF v IS DISTINCT FROM (SELECT system_identifier::text || ' ' || current_database()
                               FROM pg_catalog.pg_control_system()) THEN
            RAISE EXCEPTION 'remove_node: target_node_dsn does not lead to this database'
                USING ERRCODE = '22023',
                      DETAIL = 'remove_node runs on the node being removed; the DSN reaches another database or none.',
                      HINT = 'Pass the DSN of this database, or NULL.';
        END IF;
    END IF;
    IF verbose_mode THEN
        RAISE NOTICE 'remove_node: node "%" can be removed', local_name;
    END IF;
END
$$;

-- The other nodes this node knows, with a DSN each, into the temp table temp_spock_nodes.
CREATE PROCEDURE gather_cluster_info_for_removal(target_node_name text,
                                                 verbose_mode boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    CALL spock.validate_node_removal_prerequisites(target_node_name, NULL, false);
    IF pg_catalog.to_regclass('pg_temp.temp_spock_nodes') IS NULL THEN
        CREATE TEMP TABLE temp_spock_nodes (node_id bigint, node_name text, location text,
                                            country text, info text, dsn text);
    END IF;
    DELETE FROM temp_spock_nodes;
    INSERT INTO temp_spock_nodes
        SELECT DISTINCT ON (nd.node_name) nd.node_id, nd.node_name, nd.location, nd.country,
               nd.info::text, i.if_dsn
        FROM spock.node nd JOIN spock.node_interface i ON i.if_nodeid = nd.node_id
        WHERE nd.node_name <> target_node_name ORDER BY nd.node_name, i.if_id;
    IF verbose_mode THEN
        FOR r IN SELECT node_name FROM temp_spock_nodes ORDER BY 1 LOOP
            RAISE NOTICE 'remove_node: node % is in the cluster', r.node_name;
        END LOOP;
    END IF;
END
$$;

-- The other nodes' subscriptions from this node (each drop also drops its slot here), then
-- this node's subscriptions (each drop drops its slot on the provider and its origin here).
CREATE PROCEDURE remove_node_subscriptions(target_node_name text,
                                           verbose_mode boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    s record;
    e_msg text;
BEGIN
    CALL spock.gather_cluster_info_for_removal(target_node_name, false);
    PERFORM spock.zd_dblink_schema();
    FOR r IN SELECT node_name, dsn FROM temp_spock_nodes ORDER BY node_name LOOP
        BEGIN
            FOR s IN SELECT j->>'sub_name' AS sub_name FROM spock.zd_query(r.dsn, format(
                         'SELECT s.sub_name FROM spock.subscription s JOIN spock.node nd '
                         'ON nd.node_id = s.sub_origin WHERE nd.node_name = %L', target_node_name)) j
            LOOP
                PERFORM spock.zd_value(r.dsn, format('SELECT spock.sub_drop(%L, true)', s.sub_name));
                IF verbose_mode THEN
                    RAISE NOTICE 'remove_node: dropped subscription % on node %', s.sub_name, r.node_name;
                END IF;
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            e_msg := SQLERRM;
            RAISE EXCEPTION 'remove_node: could not clean up node "%"', r.node_name
                USING ERRCODE = CASE WHEN SQLSTATE LIKE '08%' THEN SQLSTATE ELSE '55000' END,
                      DETAIL = e_msg,
                      HINT = 'Make the node reachable and CALL spock.remove_node() again; what was already removed stays removed.';
        END;
    END LOOP;
    COMMIT;
    FOR s IN SELECT sub_name FROM spock.subscription ORDER BY sub_name LOOP
        PERFORM spock.sub_drop(s.sub_name, true);
        IF verbose_mode THEN
            RAISE NOTICE 'remove_node: dropped subscription % on node %', s.sub_name, target_node_name;
        END IF;
        COMMIT;
    END LOOP;
END
$$;

-- The replication sets of the node at target_node_dsn (its own sets; the data stays).
CREATE PROCEDURE remove_node_replication_sets(target_node_dsn text,
                                              verbose_mode boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    s jsonb;
BEGIN
    IF target_node_dsn IS NULL THEN
        RAISE EXCEPTION 'remove_node_replication_sets: target_node_dsn is required'
            USING ERRCODE = '22004', DETAIL = 'target_node_dsn is NULL.',
                  HINT = 'Pass the DSN of the node whose replication sets are dropped.';
    END IF;
    FOR s IN SELECT * FROM spock.zd_query(target_node_dsn,
                 'SELECT rs.set_name FROM spock.replication_set rs JOIN spock.local_node l '
                 'ON l.node_id = rs.set_nodeid ORDER BY 1') LOOP
        IF spock.check_repset_exists_on_node(target_node_dsn, s->>'set_name') THEN
            PERFORM spock.zd_value(target_node_dsn,
                format('SELECT spock.repset_drop(%L, true)', s->>'set_name'));
            IF verbose_mode THEN
                RAISE NOTICE 'remove_node: dropped replication set %', s->>'set_name';
            END IF;
        END IF;
    END LOOP;
END
$$;

-- On every other node: the node row of this node (once nothing there uses it) and its
-- spock.progress rows.
CREATE PROCEDURE remove_node_from_cluster_registry(target_node_name text,
                                                   verbose_mode boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    local_id oid;
    e_msg text;
BEGIN
    CALL spock.gather_cluster_info_for_removal(target_node_name, false);
    SELECT node_id INTO local_id FROM spock.local_node;
    FOR r IN SELECT node_name, dsn FROM temp_spock_nodes ORDER BY node_name LOOP
        BEGIN
            PERFORM spock.zd_value(r.dsn, format(
                'SELECT spock.node_drop(%L, true) WHERE NOT EXISTS (SELECT 1 FROM spock.subscription s '
                'JOIN spock.node nd ON nd.node_id IN (s.sub_origin, s.sub_target) WHERE nd.node_name = %L)',
                target_node_name, target_node_name));
            PERFORM spock.zd_exec(r.dsn, format('DELETE FROM spock.progress WHERE remote_node_id = %s',
                                                local_id));
        EXCEPTION WHEN OTHERS THEN
            e_msg := SQLERRM;
            RAISE EXCEPTION 'remove_node: could not clean up node "%"', r.node_name
                USING ERRCODE = CASE WHEN SQLSTATE LIKE '08%' THEN SQLSTATE ELSE '55000' END,
                      DETAIL = e_msg,
                      HINT = 'Make the node reachable and CALL spock.remove_node() again; what was already removed stays removed.';
        END;
        IF verbose_mode THEN
            RAISE NOTICE 'remove_node: node % forgot node %', r.node_name, target_node_name;
        END IF;
    END LOOP;
END
$$;

-- This node itself: its node row and slots, and what add_node recorded here.
CREATE PROCEDURE finalize_node_removal(target_node_name text, verbose_mode boolean DEFAULT true)
LANGUAGE plpgsql AS $$
BEGIN
    CALL spock.validate_node_removal_prerequisites(target_node_name, NULL, false);
    IF EXISTS (SELECT 1 FROM spock.subscription) THEN
        RAISE EXCEPTION 'remove_node: node "%" still has subscriptions', target_node_name
            USING ERRCODE = '55000',
                  DETAIL = 'Subscriptions: ' || (SELECT string_agg(sub_name, ', ' ORDER BY sub_name) FROM spock.subscription) || '.',
                  HINT = 'CALL spock.remove_node_subscriptions() first, or spock.remove_node() for every step.';
    END IF;
    PERFORM spock.node_drop(target_node_name, true);
    DELETE FROM spock.node_interface WHERE if_nodeid NOT IN (SELECT node_id FROM spock.node);
    DELETE FROM spock.progress;
    DELETE FROM spock.add_node_progress WHERE new_node = target_node_name;
    COMMIT;
    RAISE NOTICE 'remove_node: node "%" left its cluster', target_node_name;
END
$$;

-- Takes this node out of its cluster: the other nodes' subscriptions from it, its own
-- subscriptions (and their slots on the providers), its slots and node rows everywhere.
-- Leaves the data. Runs on the node being removed; safe to run again after a failure.
CREATE PROCEDURE remove_node(target_node_name text, target_node_dsn text DEFAULT NULL,
                             verbose_mode boolean DEFAULT true)
LANGUAGE plpgsql AS $$
BEGIN
    CALL spock.validate_node_removal_prerequisites(target_node_name, NULL, verbose_mode);
    CALL spock.remove_node_subscriptions(target_node_name, verbose_mode);
    CALL spock.remove_node_from_cluster_registry(target_node_name, verbose_mode);
    COMMIT;
    CALL spock.finalize_node_removal(target_node_name, verbose_mode);
END
$$;

-- ===============================================================================================
-- The smaller procedures of Spock 5's zodan.sql and zodremove.sql under their own names
-- (reference §9); add_node() and remove_node() are built from the step procedures above.
-- ===============================================================================================

-- '5.0.9' -> {5,0,9}; a suffix such as '-devel' is ignored.
CREATE FUNCTION version_to_array(v text) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    m text;
BEGIN
    m := substring(v FROM '^\s*(\d+(\.\d+)*)');
    IF m IS NULL THEN
        RAISE EXCEPTION 'invalid spock version "%"', v USING ERRCODE = '22P02',
            DETAIL = 'A version is numbers separated by dots, such as 5.0.9.',
            HINT = 'Pass the value of spock.spock_version().';
    END IF;
    RETURN string_to_array(m, '.')::integer[];
END
$$;

CREATE FUNCTION version_major_minor(v text) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT (spock.version_to_array(v))[1:2] $$;

-- The dbname of a key=value DSN (quoted values included).
CREATE FUNCTION extract_dbname_from_dsn(dsn text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    m text[];
BEGIN
    IF dsn IS NULL THEN
        RAISE EXCEPTION 'extract_dbname_from_dsn: dsn is NULL' USING ERRCODE = '22004',
            DETAIL = 'There is no DSN to read.', HINT = 'Pass a DSN such as ''host=h dbname=app''.';
    END IF;
    m := regexp_match(coalesce(dsn, ''), '(?:^|\s)dbname\s*=\s*(''((?:[^''\\]|\\.)*)''|[^\s'']+)');
    IF m IS NULL THEN
        RAISE EXCEPTION 'the DSN has no dbname' USING ERRCODE = '22023',
            DETAIL = 'DSN: ' || coalesce(regexp_replace(dsn, 'password\s*=\s*(''[^'']*''|\S+)', 'password=***', 'g'), 'NULL') || '.',
            HINT = 'Write the DSN as key=value pairs with dbname=..., e.g. ''host=h dbname=app''.';
    END IF;
    RETURN coalesce(regexp_replace(m[2], '\\(.)', '\1', 'g'), m[1]);
END
$$;

-- Both nodes run the same spock major.minor (add_node checks every node).
CREATE PROCEDURE check_spock_version_compatibility(src_dsn text, new_node_dsn text,
                                                   verb boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
    sv text;
    nv text;
BEGIN
    IF src_dsn IS NULL OR new_node_dsn IS NULL THEN
        RAISE EXCEPTION 'check_spock_version_compatibility: src_dsn and new_node_dsn are required'
            USING ERRCODE = '22004', DETAIL = 'One of them is NULL.', HINT = 'Pass both DSNs.';
    END IF;
    sv := spock.zd_value(src_dsn, 'SELECT spock.spock_version()');
    nv := spock.zd_value(new_node_dsn, 'SELECT spock.spock_version()');
    IF spock.version_major_minor(sv) IS DISTINCT FROM spock.version_major_minor(nv) THEN
        RAISE EXCEPTION 'spock versions differ: the source runs %, the new node %', sv, nv
            USING ERRCODE = '55000', DETAIL = 'All nodes must run the same spock major and minor version.',
                  HINT = 'Install the same spock version on the new node.';
    END IF;
    IF verb THEN
        RAISE NOTICE 'spock versions compatible: source %, new node %', sv, nv;
    END IF;
END
$$;

-- Fills the session's temp table temp_spock_nodes with the nodes the source knows.
CREATE PROCEDURE get_spock_nodes(src_dsn text, verb boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF src_dsn IS NULL THEN
        RAISE EXCEPTION 'get_spock_nodes: src_dsn is required' USING ERRCODE = '22004',
            DETAIL = 'src_dsn is NULL.', HINT = 'Pass the DSN of a node of the cluster.';
    END IF;
    IF pg_catalog.to_regclass('pg_temp.temp_spock_nodes') IS NULL THEN
        CREATE TEMP TABLE temp_spock_nodes (node_id bigint, node_name text, location text,
                                            country text, info text, dsn text);
    END IF;
    DELETE FROM temp_spock_nodes;
    INSERT INTO temp_spock_nodes
        SELECT (j->>'node_id')::bigint, j->>'node_name', j->>'location', j->>'country',
               j->>'info', j->>'dsn'
        FROM spock.zd_query(src_dsn,
            'SELECT DISTINCT ON (n.node_name) n.node_id, n.node_name, n.location, n.country, '
            'n.info::text AS info, i.if_dsn AS dsn FROM spock.node n '
            'JOIN spock.node_interface i ON i.if_nodeid = n.node_id ORDER BY n.node_name, i.if_id') j;
    IF verb THEN
        FOR r IN SELECT * FROM temp_spock_nodes ORDER BY node_name LOOP
            RAISE NOTICE 'node %: id %, location %, country %', r.node_name, r.node_id, r.location, r.country;
        END LOOP;
    END IF;
END
$$;

-- An array argument given as SQL text: '{a,b}' or ARRAY['a','b'].
CREATE FUNCTION zd_text_array(p_arg text, p_what text) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    r text[];
BEGIN
    IF p_arg IS NULL OR btrim(p_arg) = '' THEN
        RETURN '{}';
    END IF;
    BEGIN
        IF btrim(p_arg) ~* '^array\s*\[' THEN
            EXECUTE 'SELECT (' || p_arg || ')::text[]' INTO r;
        ELSE
            r := p_arg::text[];
        END IF;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'invalid % "%"', p_what, p_arg USING ERRCODE = '22P02', DETAIL = SQLERRM,
            HINT = 'Write it as an array literal such as ''{default,ddl_sql}'' or ARRAY[''default''].';
    END;
    RETURN r;
END
$$;

-- spock.sub_create on the node at node_dsn.
CREATE PROCEDURE create_sub(node_dsn text, subscription_name text, provider_dsn text,
                            replication_sets text, synchronize_structure boolean,
                            synchronize_data boolean, forward_origins text, apply_delay interval,
                            enabled boolean, force_text_transfer boolean, verb boolean)
LANGUAGE plpgsql AS $$
DECLARE
    sets text[] := spock.zd_text_array(replication_sets, 'replication_sets');
    fwd text[] := spock.zd_text_array(forward_origins, 'forward_origins');
BEGIN
    IF node_dsn IS NULL OR subscription_name IS NULL OR provider_dsn IS NULL THEN
        RAISE EXCEPTION 'create_sub: node_dsn, subscription_name and provider_dsn are required'
            USING ERRCODE = '22004', DETAIL = 'One of them is NULL.',
                  HINT = 'Pass the subscriber''s DSN, the subscription''s name and the provider''s DSN.';
    END IF;
    IF spock.zd_value(node_dsn, format('SELECT count(*) FROM spock.subscription WHERE sub_name = %L',
                                       subscription_name))::integer > 0 THEN
        IF verb THEN
            RAISE NOTICE 'create_sub: subscription % exists already', subscription_name;
        END IF;
        RETURN;
    END IF;
    PERFORM spock.zd_value(node_dsn, format(
        'SELECT spock.sub_create(%L, %L, %L::text[], %L, %L, %L::text[], %L::interval, %L, %L)',
        subscription_name, provider_dsn, sets, coalesce(synchronize_structure, false),
        coalesce(synchronize_data, false), fwd, coalesce(apply_delay, '0'),
        coalesce(force_text_transfer, false), coalesce(enabled, true)));
    IF verb THEN
        RAISE NOTICE 'create_sub: subscription % created', subscription_name;
    END IF;
END
$$;

-- A logical slot on the node at node_dsn, unless it exists.
CREATE PROCEDURE create_replication_slot(node_dsn text, slot_name text, verb boolean,
                                         plugin text DEFAULT 'spock_output')
LANGUAGE plpgsql AS $$
DECLARE
    lsn text;
BEGIN
    IF node_dsn IS NULL OR slot_name IS NULL OR plugin IS NULL THEN
        RAISE EXCEPTION 'create_replication_slot: node_dsn, slot_name and plugin are required'
            USING ERRCODE = '22004', DETAIL = 'One of them is NULL.', HINT = 'Pass all three.';
    END IF;
    IF spock.zd_value(node_dsn, format('SELECT count(*) FROM pg_catalog.pg_replication_slots '
                                       'WHERE slot_name = %L', slot_name))::integer > 0 THEN
        IF verb THEN
            RAISE NOTICE 'create_replication_slot: slot % exists already', slot_name;
        END IF;
        RETURN;
    END IF;
    lsn := spock.zd_value(node_dsn, format(
        'SELECT lsn FROM pg_catalog.pg_create_logical_replication_slot(%L, %L)', slot_name, plugin));
    IF verb THEN
        RAISE NOTICE 'create_replication_slot: slot % created', slot_name;
    END IF;
END
$$;

-- spock.sync_event() on the node at node_dsn; its LSN in sync_lsn.
CREATE PROCEDURE sync_event(node_dsn text, verb boolean, INOUT sync_lsn pg_lsn DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
    IF node_dsn IS NULL THEN
        RAISE EXCEPTION 'sync_event: node_dsn is required' USING ERRCODE = '22004',
            DETAIL = 'node_dsn is NULL.', HINT = 'Pass the DSN of the node to write the event on.';
    END IF;
    sync_lsn := spock.zd_value(node_dsn, 'SELECT spock.sync_event()')::pg_lsn;
    IF verb THEN
        RAISE NOTICE 'sync_event: written at %', sync_lsn;
    END IF;
END
$$;

-- spock.node_create on the database at dsn (a node of that name there already is left alone).
CREATE PROCEDURE create_node(node_name text, dsn text, verb boolean, location text DEFAULT 'NY',
                             country text DEFAULT 'USA', info jsonb DEFAULT '{}')
LANGUAGE plpgsql AS $$
BEGIN
    IF node_name IS NULL OR node_name = '' OR dsn IS NULL THEN
        RAISE EXCEPTION 'create_node: node_name and dsn are required' USING ERRCODE = '22004',
            DETAIL = 'One of them is NULL or empty.', HINT = 'Pass the node''s name and its DSN.';
    END IF;
    IF spock.zd_value(dsn, format('SELECT count(*) FROM spock.node WHERE node_name = %L',
                                  node_name))::integer > 0 THEN
        IF verb THEN
            RAISE NOTICE 'create_node: node % exists already', node_name;
        END IF;
        RETURN;
    END IF;
    PERFORM spock.zd_value(dsn, format('SELECT spock.node_create(%L, %L, %L, %L, %L::jsonb)',
                                       node_name, dsn, location, country, info));
    IF verb THEN
        RAISE NOTICE 'create_node: node % created', node_name;
    END IF;
END
$$;

-- spock.sub_enable on the node at node_dsn.
CREATE PROCEDURE enable_sub(node_dsn text, sub_name text, verb boolean,
                            immediate boolean DEFAULT true)
LANGUAGE plpgsql AS $$
BEGIN
    IF node_dsn IS NULL OR sub_name IS NULL THEN
        RAISE EXCEPTION 'enable_sub: node_dsn and sub_name are required' USING ERRCODE = '22004',
            DETAIL = 'One of them is NULL.', HINT = 'Pass the subscriber''s DSN and the subscription''s name.';
    END IF;
    PERFORM spock.zd_value(node_dsn, format('SELECT spock.sub_enable(%L, %L)', sub_name,
                                            coalesce(immediate, true)));
    IF verb THEN
        RAISE NOTICE 'enable_sub: subscription % enabled', sub_name;
    END IF;
END
$$;

-- Waits until the subscription on the node at node_dsn replicates: max_attempts polls, one a
-- second.
CREATE PROCEDURE verify_subscription_replicating(node_dsn text, subscription_name text,
                                                 verb boolean DEFAULT true,
                                                 max_attempts integer DEFAULT 120)
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    i integer := 0;
BEGIN
    IF node_dsn IS NULL OR subscription_name IS NULL THEN
        RAISE EXCEPTION 'verify_subscription_replicating: node_dsn and subscription_name are required'
            USING ERRCODE = '22004', DETAIL = 'One of them is NULL.',
                  HINT = 'Pass the subscriber''s DSN and the subscription''s name.';
    END IF;
    IF max_attempts IS NULL OR max_attempts < 1 THEN
        RAISE EXCEPTION 'verify_subscription_replicating: max_attempts must be at least 1'
            USING ERRCODE = '22023', DETAIL = 'max_attempts is ' || coalesce(max_attempts::text, 'NULL') || '.',
                  HINT = 'It counts polls one second apart; the default is 120.';
    END IF;
    LOOP
        st := spock.zd_value(node_dsn, format(
            'SELECT coalesce((SELECT status FROM spock.sub_show_status() WHERE subscription_name = %L), ''missing'')',
            subscription_name));
        EXIT WHEN st = 'replicating';
        IF st = 'missing' THEN
            RAISE EXCEPTION 'subscription "%" does not exist on that node', subscription_name
                USING ERRCODE = '42704', DETAIL = 'The node node_dsn leads to has no such subscription.',
                      HINT = 'Check the subscription name (spock.sub_show_status() on the node).';
        END IF;
        i := i + 1;
        IF i >= max_attempts THEN
            RAISE EXCEPTION 'subscription "%" is not replicating after % attempts', subscription_name, i
                USING ERRCODE = '57014', DETAIL = 'Its status is ' || st || '.',
                      HINT = 'See spock.sub_show_status() and the server log of that node.';
        END IF;
        PERFORM pg_catalog.pg_sleep(1);
    END LOOP;
    IF verb THEN
        RAISE NOTICE 'subscription % is replicating', subscription_name;
    END IF;
END
$$;

-- The nodes known at cluster_dsn, a NOTICE each.
CREATE PROCEDURE show_all_nodes(cluster_dsn text, verb boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    CALL spock.get_spock_nodes(cluster_dsn, false);
    FOR r IN SELECT * FROM temp_spock_nodes ORDER BY node_name LOOP
        RAISE NOTICE 'node %: id %, location %, country %', r.node_name, r.node_id, r.location,
            r.country;
    END LOOP;
END
$$;

-- Every subscription of every node known at cluster_dsn, a NOTICE each; an error when none
-- replicates.
CREATE PROCEDURE show_all_subscription_status(cluster_dsn text, verb boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    s jsonb;
    replicating integer := 0;
BEGIN
    CALL spock.get_spock_nodes(cluster_dsn, false);
    FOR r IN SELECT * FROM temp_spock_nodes ORDER BY node_name LOOP
        FOR s IN SELECT * FROM spock.zd_query(r.dsn,
                     'SELECT subscription_name, status, provider_node FROM spock.sub_show_status() '
                     'ORDER BY 1') LOOP
            RAISE NOTICE 'node %: subscription % from % is %', r.node_name, s->>'subscription_name',
                s->>'provider_node', s->>'status';
            IF s->>'status' = 'replicating' THEN
                replicating := replicating + 1;
            END IF;
        END LOOP;
    END LOOP;
    IF replicating = 0 THEN
        RAISE EXCEPTION 'no subscription of the cluster is replicating' USING ERRCODE = '55000',
            DETAIL = 'Nodes: ' || (SELECT count(*) FROM temp_spock_nodes) || '.',
            HINT = 'See spock.sub_show_status() and the server logs of the nodes.';
    END IF;
END
$$;

-- The final report of add_node: nodes and subscriptions, and how many nodes there were before.
CREATE PROCEDURE present_final_cluster_state(src_dsn text, initial_node_count integer,
                                             verb boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
    now_count integer;
BEGIN
    IF verb THEN
        CALL spock.show_all_nodes(src_dsn, verb);
        CALL spock.show_all_subscription_status(src_dsn, verb);
    ELSE
        CALL spock.get_spock_nodes(src_dsn, false);
    END IF;
    now_count := (SELECT count(*) FROM temp_spock_nodes);
    RAISE NOTICE 'cluster: % nodes (% before)', now_count, coalesce(initial_node_count::text, 'unknown');
END
$$;

-- The lag of S -> N as the new node's lag_tracker shows it, once.
CREATE PROCEDURE monitor_lag_with_dblink(src_node_name text, new_node_name text,
                                         new_node_dsn text, verb boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    j jsonb;
BEGIN
    IF src_node_name IS NULL OR new_node_name IS NULL OR new_node_dsn IS NULL THEN
        RAISE EXCEPTION 'monitor_lag_with_dblink: src_node_name, new_node_name and new_node_dsn are required'
            USING ERRCODE = '22004', DETAIL = 'One of them is NULL.', HINT = 'Pass all three.';
    END IF;
    SELECT q INTO j FROM spock.zd_query(new_node_dsn, format(
        'SELECT origin_name, receiver_name, last_received_lsn::text, replication_lag_bytes, '
        'replication_lag::text FROM spock.lag_tracker WHERE origin_name = %L AND receiver_name = %L',
        src_node_name, new_node_name)) q;
    IF j IS NULL THEN
        RAISE EXCEPTION 'node "%" has no lag information about node "%"', new_node_name, src_node_name
            USING ERRCODE = '55000', DETAIL = 'spock.lag_tracker on it has no such row.',
                  HINT = 'It appears once the subscription from the source has applied something.';
    END IF;
    RAISE NOTICE '% -> %: lag % bytes, %, received up to %', src_node_name, new_node_name,
        j->>'replication_lag_bytes', j->>'replication_lag', j->>'last_received_lsn';
END
$$;

-- Reports S -> N lag until the new node has caught up with the source (a sync event of the
-- source applied there), at most 60 s.
CREATE PROCEDURE monitor_replication_lag(src_node_name text, new_node_name text,
                                         new_node_dsn text, verb boolean)
LANGUAGE plpgsql AS $$
BEGIN
    CALL spock.wait_for_replication_catchup_with_dblink(src_node_name, new_node_name, new_node_dsn,
                                                        verb, 60);
END
$$;

-- Waits until the new node has applied everything the source committed before the call: a
-- sync event of the source, waited for on the new node, at most max_wait_seconds. (Spock's
-- version reads a column lag_tracker does not have; this one works.)
CREATE PROCEDURE wait_for_replication_catchup_with_dblink(src_node_name text, new_node_name text,
                                                          new_node_dsn text,
                                                          verb boolean DEFAULT true,
                                                          max_wait_seconds integer DEFAULT 180)
LANGUAGE plpgsql AS $$
DECLARE
    src_dsn text;
    lsn pg_lsn;
    ok boolean;
BEGIN
    IF src_node_name IS NULL OR new_node_name IS NULL OR new_node_dsn IS NULL THEN
        RAISE EXCEPTION 'wait_for_replication_catchup_with_dblink: src_node_name, new_node_name and new_node_dsn are required'
            USING ERRCODE = '22004', DETAIL = 'One of them is NULL.', HINT = 'Pass all three.';
    END IF;
    IF max_wait_seconds IS NULL OR max_wait_seconds < 1 THEN
        RAISE EXCEPTION 'max_wait_seconds must be at least 1' USING ERRCODE = '22023',
            DETAIL = 'It is ' || coalesce(max_wait_seconds::text, 'NULL') || '.',
            HINT = 'Pass the longest wait in seconds; the default is 180.';
    END IF;
    src_dsn := spock.zd_value(new_node_dsn, format(
        'SELECT min(i.if_dsn) FROM spock.node n JOIN spock.node_interface i ON i.if_nodeid = n.node_id '
        'WHERE n.node_name = %L', src_node_name));
    IF src_dsn IS NULL THEN
        RAISE EXCEPTION 'node "%" does not know node "%"', new_node_name, src_node_name
            USING ERRCODE = '42704', DETAIL = 'It has no interface for it.',
                  HINT = 'Pass the names of the source and the added node.';
    END IF;
    lsn := spock.zd_value(src_dsn, 'SELECT spock.sync_event()')::pg_lsn;
    ok := spock.zd_value(new_node_dsn, format(
        'CALL spock.wait_for_sync_event(NULL, %L::name, %L::pg_lsn, %s, true)',
        src_node_name, lsn, max_wait_seconds))::boolean;
    IF NOT coalesce(ok, false) THEN
        RAISE EXCEPTION 'node "%" did not catch up with node "%" within % s', new_node_name,
            src_node_name, max_wait_seconds
            USING ERRCODE = '57014', DETAIL = 'It did not apply the sync event at ' || lsn || '.',
                  HINT = 'See spock.sub_show_status() and spock.lag_tracker on the new node.';
    END IF;
    IF verb THEN
        RAISE NOTICE 'node % caught up with node % (sync event %)', new_node_name, src_node_name, lsn;
    END IF;
END
$$;

-- Every routine above is for superusers (add_node and remove_node, their steps and helpers):
-- EXECUTE is revoked from PUBLIC. The zd_* helpers are internal, not API.
DO $$
DECLARE
    r regprocedure;
BEGIN
    FOR r IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'spock'::regnamespace
               AND (p.proname LIKE 'zd\_%' OR (p.proname = 'sync_event' AND p.prokind = 'p')
                    OR p.proname IN ('add_node', 'remove_node', 'verify_node_prerequisites',
                        'gen_sub_name', 'create_nodes_only', 'create_disable_subscriptions_and_slots',
                        'trigger_sync_on_other_nodes_and_wait_on_source',
                        'create_source_to_new_subscription', 'trigger_source_sync_and_wait_on_new_node',
                        'check_commit_timestamp_and_advance_slot', 'enable_disabled_subscriptions',
                        'create_sub_on_new_node_to_src_node', 'create_new_to_source_subscription',
                        'create_replication_slots', 'version_to_array', 'version_major_minor',
                        'extract_dbname_from_dsn', 'check_spock_version_compatibility',
                        'get_spock_nodes', 'create_sub', 'create_replication_slot', 'create_node',
                        'enable_sub', 'verify_subscription_replicating', 'show_all_nodes',
                        'show_all_subscription_status', 'present_final_cluster_state',
                        'monitor_lag_with_dblink', 'monitor_replication_lag',
                        'wait_for_replication_catchup_with_dblink', 'check_repset_exists_on_node',
                        'check_slot_exists_on_node', 'check_node_exists', 'get_node_slots',
                        'validate_node_removal_prerequisites', 'gather_cluster_info_for_removal',
                        'remove_node_subscriptions', 'remove_node_replication_sets',
                        'remove_node_from_cluster_registry', 'finalize_node_removal'))
    LOOP
        EXECUTE format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', r);
    END LOOP;
END
$$;

-- ===============================================================================================
-- spock.health_check(): add_node's prerequisites before an add ('pre'), or that the added node
-- replicates both ways afterwards ('post'). Each check is reported; failures end in one error
-- that lists them all. It changes nothing: the checks run in a subtransaction rolled back at
-- the end (even the dblink extension it may create).
-- ===============================================================================================

-- Runs a query on a node that returns NULL when a check passes, or a sentence saying what is
-- wrong; a failing connection or query is that check's problem too.
CREATE FUNCTION zd_hc_remote(dsn text, q text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN spock.zd_value(dsn, q);
EXCEPTION WHEN OTHERS THEN
    RETURN 'cannot query it: ' || SQLERRM;
END
$$;

CREATE PROCEDURE health_check(src_node_name text, src_dsn text, new_node_name text DEFAULT NULL,
                              new_node_dsn text DEFAULT NULL, check_type text DEFAULT 'pre',
                              verb boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
    kind text := lower(btrim(check_type));
    names text[] := '{}';
    problems text[] := '{}';
    nodes text[] := '{}';
    dsns text[] := '{}';
    ndsn text := new_node_dsn;
    local_ver text := substring(spock.spock_version() FROM '^\d+\.\d+');
    chk text;
    p text;
    i integer;
    j integer;
    e_msg text;
    e_detail text;
    failures text;
BEGIN
    IF kind IS NULL OR kind NOT IN ('pre', 'post') THEN
        RAISE EXCEPTION 'health_check: unknown check_type "%"', check_type
            USING ERRCODE = '22023', DETAIL = 'check_type chooses the checks to run.',
                  HINT = 'Use ''pre'' (before spock.add_node: its prerequisites, run on the new node) '
                         'or ''post'' (after it: the new node replicates to and from every node).';
    END IF;
    IF src_node_name IS NULL OR src_node_name = '' OR src_dsn IS NULL OR src_dsn = '' THEN
        RAISE EXCEPTION 'health_check: src_node_name and src_dsn are required'
            USING ERRCODE = '22004', DETAIL = 'One of them is NULL or empty.',
                  HINT = 'Pass the name and DSN of an existing node of the cluster.';
    END IF;
    IF kind = 'post' AND (new_node_name IS NULL OR new_node_name = '') THEN
        RAISE EXCEPTION 'health_check: check_type ''post'' needs new_node_name'
            USING ERRCODE = '22004', DETAIL = 'new_node_name is NULL or empty.',
                  HINT = 'Pass the name of the node spock.add_node() added.';
    END IF;
    IF kind = 'pre' AND ((new_node_name IS NULL) <> (new_node_dsn IS NULL)) THEN
        RAISE EXCEPTION 'health_check: pass both new_node_name and new_node_dsn, or neither'
            USING ERRCODE = '22004',
                  DETAIL = 'With both, the checks include add_node''s prerequisites for the new node; with neither, only the cluster is checked.',
                  HINT = 'Add the missing argument, or drop the other.';
    END IF;

    BEGIN
        -- The source: reachable, and the node named.
        chk := format('source "%s" is reachable and is that node', src_node_name);
        p := spock.zd_hc_remote(src_dsn, format(
            'SELECT CASE WHEN n.node_name IS NULL THEN ''it is not a spock node'' '
            'WHEN n.node_name <> %L THEN ''it is node "'' || n.node_name || ''"'' END '
            'FROM (SELECT 1) x LEFT JOIN (spock.local_node l JOIN spock.node n USING (node_id)) ON true',
            src_node_name));
        names := names || chk;
        problems := problems || coalesce(p, '');
        IF p IS NULL THEN
            SELECT array_agg(q->>'node_name' ORDER BY q->>'node_name'),
                   array_agg(q->>'dsn' ORDER BY q->>'node_name')
                INTO nodes, dsns
                FROM spock.zd_query(src_dsn,
                    'SELECT DISTINCT ON (n.node_name) n.node_name, i.if_dsn AS dsn FROM spock.node n '
                    'JOIN spock.node_interface i ON i.if_nodeid = n.node_id ORDER BY n.node_name, i.if_id') q;
            nodes := coalesce(nodes, '{}');
            dsns := coalesce(dsns, '{}');
        END IF;

        IF kind = 'post' AND p IS NULL THEN
            chk := format('node "%s" is a node of the cluster', new_node_name);
            i := array_position(nodes, new_node_name::text);
            p := CASE WHEN i IS NULL THEN format('node "%s" does not know it', src_node_name) END;
            names := names || chk;
            problems := problems || coalesce(p, '');
            IF i IS NOT NULL AND ndsn IS NULL THEN
                ndsn := dsns[i];
            END IF;
        END IF;

        -- Every node: reachable, this spock major.minor, its subscriptions enabled and replicating.
        FOR i IN 1 .. coalesce(array_length(nodes, 1), 0) LOOP
            chk := format('node "%s": reachable, spock %s, every subscription enabled and replicating',
                          nodes[i], local_ver);
            p := spock.zd_hc_remote(dsns[i], format(
                'SELECT coalesce(CASE WHEN substring(spock.spock_version() FROM ''^\d+\.\d+'') <> %L '
                'THEN ''it runs spock '' || spock.spock_version() END, '
                '(SELECT ''disabled: '' || string_agg(sub_name, '', '' ORDER BY sub_name) '
                ' FROM spock.subscription WHERE NOT sub_enabled), '
                '(SELECT ''not replicating: '' || string_agg(subscription_name || '' ('' || status || '')'', '', '' '
                ' ORDER BY subscription_name) FROM spock.sub_show_status() WHERE status <> ''replicating''))',
                local_ver));
            names := names || chk;
            problems := problems || coalesce(p, '');
        END LOOP;

        IF kind = 'pre' AND new_node_name IS NOT NULL THEN
            chk := format('add_node prerequisites for new node "%s" (this database)', new_node_name);
            p := NULL;
            BEGIN
                CALL spock.verify_node_prerequisites(src_node_name, src_dsn, new_node_name,
                                                     new_node_dsn, false);
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL;
                p := regexp_replace(e_msg, '^add_node: ', '') ||
                     coalesce(nullif(' (' || e_detail || ')', ' ()'), '');
            END;
            names := names || chk;
            problems := problems || coalesce(p, '');
        END IF;

        -- After an add: each direction between the new node and every other node has its
        -- subscription, replicating, and the slot on the provider.
        IF kind = 'post' AND ndsn IS NOT NULL THEN
            FOR i IN 1 .. coalesce(array_length(nodes, 1), 0) LOOP
                CONTINUE WHEN nodes[i] = new_node_name;
                FOR j IN 1 .. 2 LOOP
                    DECLARE
                        prov text := CASE WHEN j = 1 THEN nodes[i] ELSE new_node_name END;
                        subr text := CASE WHEN j = 1 THEN new_node_name ELSE nodes[i] END;
                        pdsn text := CASE WHEN j = 1 THEN dsns[i] ELSE ndsn END;
                        sdsn text := CASE WHEN j = 1 THEN ndsn ELSE dsns[i] END;
                        slot text;
                    BEGIN
                        chk := format('%s -> %s: subscription replicating, slot on %s', prov, subr, prov);
                        p := spock.zd_hc_remote(sdsn, format(
                            'SELECT CASE WHEN count(*) = 0 THEN ''no subscription from '' || %L '
                            'WHEN bool_or(st.status IS DISTINCT FROM ''replicating'') THEN '
                            'string_agg(s.sub_name || '' is '' || coalesce(st.status, ''unknown''), '', '') END '
                            'FROM spock.subscription s JOIN spock.node o ON o.node_id = s.sub_origin '
                            'LEFT JOIN spock.sub_show_status() st ON st.subscription_name = s.sub_name '
                            'WHERE o.node_name = %L', prov, prov));
                        IF p IS NULL THEN
                            slot := spock.zd_value(sdsn, format(
                                'SELECT min(s.sub_slot_name) FROM spock.subscription s JOIN spock.node o '
                                'ON o.node_id = s.sub_origin WHERE o.node_name = %L', prov));
                            p := spock.zd_hc_remote(pdsn, format(
                                'SELECT CASE WHEN count(*) = 0 THEN ''slot '' || %L || '' is missing'' END '
                                'FROM pg_catalog.pg_replication_slots WHERE slot_name = %L', slot, slot));
                        END IF;
                        names := names || chk;
                        problems := problems || coalesce(p, '');
                    END;
                END LOOP;
            END LOOP;
            chk := format('add_node of "%s" finished every step', new_node_name);
            p := spock.zd_hc_remote(ndsn, format(
                'SELECT ''unfinished: '' || string_agg(step || coalesce('' ('' || peer || '')'', '''') '
                '|| '' '' || state, '', '' ORDER BY step_no) FROM spock.add_node_status '
                'WHERE new_node = %L AND state <> ''done''', new_node_name));
            names := names || chk;
            problems := problems || coalesce(p, '');
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'spock health_check: roll back';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS e_msg = MESSAGE_TEXT;
        IF e_msg <> 'spock health_check: roll back' THEN
            RAISE;
        END IF;
    END;

    FOR i IN 1 .. coalesce(array_length(names, 1), 0) LOOP
        IF problems[i] <> '' THEN
            failures := coalesce(failures || E'\n', '') || 'FAILED ' || names[i] || ': ' || problems[i];
        END IF;
        IF verb THEN
            RAISE NOTICE 'health_check %: % %', kind,
                CASE WHEN problems[i] = '' THEN 'ok' ELSE 'FAILED' END,
                names[i] || coalesce(': ' || nullif(problems[i], ''), '');
        END IF;
    END LOOP;
    IF failures IS NOT NULL THEN
        RAISE EXCEPTION 'health_check %: % of % checks failed', kind,
            (SELECT count(*) FROM unnest(problems) x WHERE x <> ''), coalesce(array_length(names, 1), 0)
            USING ERRCODE = '55000', DETAIL = failures,
                  HINT = CASE WHEN kind = 'pre'
                              THEN 'Fix these before CALL spock.add_node(); health_check changes nothing and can run again.'
                              ELSE 'See spock.sub_show_status() and the server logs of the nodes named; spock.add_node_status on the new node shows the steps of the add.' END;
    END IF;
    RAISE NOTICE 'health_check %: all % checks passed', kind, coalesce(array_length(names, 1), 0);
END
$$;

REVOKE ALL ON ROUTINE health_check(text, text, text, text, text, boolean), zd_hc_remote(text, text)
    FROM PUBLIC;
