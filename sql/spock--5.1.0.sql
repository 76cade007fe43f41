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
-- table that is in no set at all, with a NULL set_name. The halves are disjoint, hence UNION ALL.
CREATE VIEW tables AS
    SELECT c.oid AS relid, n.nspname, c.relname, rs.set_name
    FROM replication_set_table rst
    JOIN replication_set rs ON rs.set_id = rst.set_id
    JOIN local_node ln ON ln.node_id = rs.set_nodeid
    JOIN pg_catalog.pg_class c ON c.oid = rst.set_reloid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    UNION ALL
    SELECT c.oid, n.nspname, c.relname, NULL::name
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND c.relpersistence = 'p'
      AND n.nspname !~ '^pg_'
      AND n.nspname NOT IN ('information_schema', 'spock')
      AND NOT EXISTS (SELECT 1 FROM replication_set_table x WHERE x.set_reloid = c.oid);

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
CREATE FUNCTION table_data_filtered(reltyp anyelement, relation regclass, repsets text[])
    RETURNS SETOF anyelement AS 'MODULE_PATHNAME', 'spock_table_data_filtered'
    LANGUAGE C STABLE;
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
CREATE FUNCTION convert_column_to_int8(p_rel regclass, p_attnum smallint) RETURNS integer
    AS 'MODULE_PATHNAME', 'spock_convert_column_to_int8' LANGUAGE C VOLATILE;
CREATE FUNCTION convert_sequence_to_snowflake(p_seqid regclass) RETURNS integer
    AS 'MODULE_PATHNAME', 'spock_convert_sequence_to_snowflake' LANGUAGE C VOLATILE;

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
                            'reset_channel_stats', 'apply_counters', 'apply_stats',
                            'reset_sub_conflict_stats')
    LOOP
        EXECUTE format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', r);
    END LOOP;
END
$$;
