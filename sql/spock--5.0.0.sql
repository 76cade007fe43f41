/* spock--5.0.0.sql: the objects of Spock 5.0.0, as far as an update to 5.1.0 needs them.
 *
 * Installing spock at a 5.0.x version exists for one purpose: a database that Spock 5.0.x made
 * (CREATE EXTENSION spock VERSION '5.0.1' ... '5.0.11') reaches our 5.1.0 with
 * ALTER EXTENSION spock UPDATE, through spock--5.0.0--5.0.1.sql ... spock--5.0.11--5.1.0.sql
 * (docs/upgrading.md). This script recreates Spock 5.0.0's catalog tables and views from the
 * reference (spock5-reference.md §2; columns as in spock5-catalog.txt less those later 5.0.x
 * versions added) with their data-bearing shape exactly, so the update scripts are tested on the
 * same tables a real 5.0.x database has. Its functions and procedures have Spock 5.0.0's
 * signatures but are stubs: this library is 5.1.0, and every stub raises an error that says to
 * run ALTER EXTENSION spock UPDATE (the spock manager of the database runs it at start, as
 * Spock's does). The 5.1.0 update drops every routine and view of the extension and creates
 * ours, so what Spock's own C functions were does not matter.
 */

\echo Use "CREATE EXTENSION spock VERSION '5.0.0'" to load this file. \quit

-- Catalog ---------------------------------------------------------------------------------------

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

-- At most one row. local_node and subscription are plain tables in Spock 5.0 (5.1.0 makes
-- them user catalog tables).
CREATE TABLE local_node (
    node_id oid NOT NULL PRIMARY KEY REFERENCES node (node_id),
    node_local_interface oid NOT NULL REFERENCES node_interface (if_id)
);

-- 5.0.2 adds sub_skip_schema, 5.0.6 sub_created_at (see the update scripts).
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
    sub_skip_lsn pg_lsn NOT NULL DEFAULT '0/0'
);

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

-- SQL API: Spock 5.0.0's signatures, each a stub (above). 5.0.1 changes replicate_ddl's
-- search_path default, 5.0.2 adds sub_create's skip_schema, 5.0.7 drops sync_event() and adds
-- pause_apply_workers() / resume_apply_workers().
DO $do$
DECLARE
    sig text;
BEGIN
    FOREACH sig IN ARRAY ARRAY[
        $q$FUNCTION convert_column_to_int8(p_rel regclass, p_attnum smallint) RETURNS integer$q$,
        $q$FUNCTION convert_sequence_to_snowflake(p_seqid regclass) RETURNS integer$q$,
        $q$FUNCTION delta_apply(bigint, bigint, bigint) RETURNS bigint$q$,
        $q$FUNCTION delta_apply(double precision, double precision, double precision) RETURNS double precision$q$,
        $q$FUNCTION delta_apply(integer, integer, integer) RETURNS integer$q$,
        $q$FUNCTION delta_apply(money, money, money) RETURNS money$q$,
        $q$FUNCTION delta_apply(numeric, numeric, numeric) RETURNS numeric$q$,
        $q$FUNCTION delta_apply(real, real, real) RETURNS real$q$,
        $q$FUNCTION delta_apply(smallint, smallint, smallint) RETURNS smallint$q$,
        $q$FUNCTION get_apply_worker_status(OUT worker_pid bigint, OUT worker_dboid integer, OUT worker_subid bigint, OUT worker_status text) RETURNS SETOF record$q$,
        $q$FUNCTION get_channel_stats(OUT subid oid, OUT relid oid, OUT n_tup_ins bigint, OUT n_tup_upd bigint, OUT n_tup_del bigint, OUT n_conflict bigint, OUT n_dca bigint) RETURNS SETOF record$q$,
        $q$FUNCTION get_country() RETURNS text$q$,
        $q$FUNCTION get_lsn_from_commit_ts(slot_name name, commit_ts timestamp with time zone) RETURNS pg_lsn$q$,
        $q$FUNCTION node_add_interface(node_name name, interface_name name, dsn text) RETURNS oid$q$,
        $q$FUNCTION node_create(node_name name, dsn text, location text DEFAULT NULL::text, country text DEFAULT NULL::text, info jsonb DEFAULT NULL::jsonb) RETURNS oid$q$,
        $q$FUNCTION node_drop(node_name name, ifexists boolean DEFAULT false) RETURNS boolean$q$,
        $q$FUNCTION node_drop_interface(node_name name, interface_name name) RETURNS boolean$q$,
        $q$FUNCTION node_info(OUT node_id oid, OUT node_name text, OUT sysid text, OUT dbname text, OUT replication_sets text, OUT location text, OUT country text, OUT info jsonb) RETURNS record$q$,
        $q$FUNCTION repair_mode(enabled boolean) RETURNS pg_lsn$q$,
        $q$FUNCTION replicate_ddl(command text, replication_sets text[] DEFAULT '{ddl_sql}'::text[], search_path text DEFAULT ''::text, role text DEFAULT CURRENT_USER) RETURNS boolean$q$,
        $q$FUNCTION replicate_ddl(command text[], replication_sets text[] DEFAULT '{ddl_sql}'::text[], search_path text DEFAULT ''::text, role text DEFAULT CURRENT_USER) RETURNS SETOF boolean$q$,
        $q$FUNCTION repset_add_all_seqs(set_name name, schema_names text[], synchronize_data boolean DEFAULT false) RETURNS boolean$q$,
        $q$FUNCTION repset_add_all_tables(set_name name, schema_names text[], synchronize_data boolean DEFAULT false) RETURNS boolean$q$,
        $q$FUNCTION repset_add_partition(parent regclass, partition regclass DEFAULT NULL::regclass, row_filter text DEFAULT NULL::text) RETURNS integer$q$,
        $q$FUNCTION repset_add_seq(set_name name, relation regclass, synchronize_data boolean DEFAULT false) RETURNS boolean$q$,
        $q$FUNCTION repset_add_table(set_name name, relation regclass, synchronize_data boolean DEFAULT false, columns text[] DEFAULT NULL::text[], row_filter text DEFAULT NULL::text, include_partitions boolean DEFAULT true) RETURNS boolean$q$,
        $q$FUNCTION repset_alter(set_name name, replicate_insert boolean DEFAULT NULL::boolean, replicate_update boolean DEFAULT NULL::boolean, replicate_delete boolean DEFAULT NULL::boolean, replicate_truncate boolean DEFAULT NULL::boolean) RETURNS oid$q$,
        $q$FUNCTION repset_create(set_name name, replicate_insert boolean DEFAULT true, replicate_update boolean DEFAULT true, replicate_delete boolean DEFAULT true, replicate_truncate boolean DEFAULT true) RETURNS oid$q$,
        $q$FUNCTION repset_drop(set_name name, ifexists boolean DEFAULT false) RETURNS boolean$q$,
        $q$FUNCTION repset_remove_partition(parent regclass, partition regclass DEFAULT NULL::regclass) RETURNS integer$q$,
        $q$FUNCTION repset_remove_seq(set_name name, relation regclass) RETURNS boolean$q$,
        $q$FUNCTION repset_remove_table(set_name name, relation regclass, include_partitions boolean DEFAULT true) RETURNS boolean$q$,
        $q$FUNCTION repset_show_table(relation regclass, repsets text[], OUT relid oid, OUT nspname text, OUT relname text, OUT att_list text[], OUT has_row_filter boolean, OUT relkind "char", OUT relispartition boolean) RETURNS record$q$,
        $q$FUNCTION reset_channel_stats() RETURNS void$q$,
        $q$FUNCTION spock_gen_slot_name(name, name, name) RETURNS name$q$,
        $q$FUNCTION spock_max_proto_version() RETURNS integer$q$,
        $q$FUNCTION spock_min_proto_version() RETURNS integer$q$,
        $q$FUNCTION spock_version() RETURNS text$q$,
        $q$FUNCTION spock_version_num() RETURNS integer$q$,
        $q$FUNCTION sub_add_repset(subscription_name name, replication_set name) RETURNS boolean$q$,
        $q$FUNCTION sub_alter_interface(subscription_name name, interface_name name) RETURNS boolean$q$,
        $q$FUNCTION sub_alter_skiplsn(subscription_name name, lsn pg_lsn) RETURNS boolean$q$,
        $q$FUNCTION sub_alter_sync(subscription_name name, truncate boolean DEFAULT false) RETURNS boolean$q$,
        $q$FUNCTION sub_create(subscription_name name, provider_dsn text, replication_sets text[] DEFAULT '{default,default_insert_only,ddl_sql}'::text[], synchronize_structure boolean DEFAULT false, synchronize_data boolean DEFAULT false, forward_origins text[] DEFAULT '{}'::text[], apply_delay interval DEFAULT '00:00:00'::interval, force_text_transfer boolean DEFAULT false, enabled boolean DEFAULT true) RETURNS oid$q$,
        $q$FUNCTION sub_disable(subscription_name name, immediate boolean DEFAULT false) RETURNS boolean$q$,
        $q$FUNCTION sub_drop(subscription_name name, ifexists boolean DEFAULT false) RETURNS oid$q$,
        $q$FUNCTION sub_enable(subscription_name name, immediate boolean DEFAULT false) RETURNS boolean$q$,
        $q$FUNCTION sub_remove_repset(subscription_name name, replication_set name) RETURNS boolean$q$,
        $q$FUNCTION sub_resync_table(subscription_name name, relation regclass, truncate boolean DEFAULT true) RETURNS boolean$q$,
        $q$FUNCTION sub_show_status(subscription_name name DEFAULT NULL::name, OUT subscription_name text, OUT status text, OUT provider_node text, OUT provider_dsn text, OUT slot_name text, OUT replication_sets text[], OUT forward_origins text[]) RETURNS SETOF record$q$,
        $q$FUNCTION sub_show_table(subscription_name name, relation regclass, OUT nspname text, OUT relname text, OUT status text) RETURNS record$q$,
        $q$FUNCTION sub_wait_for_sync(subscription_name name) RETURNS void$q$,
        $q$FUNCTION sync_event() RETURNS pg_lsn$q$,
        $q$FUNCTION sync_event(transactional boolean) RETURNS pg_lsn$q$,
        $q$FUNCTION sync_seq(relation regclass) RETURNS boolean$q$,
        $q$FUNCTION table_data_filtered(reltyp anyelement, relation regclass, repsets text[]) RETURNS SETOF anyelement$q$,
        $q$FUNCTION table_wait_for_sync(subscription_name name, relation regclass) RETURNS void$q$,
        $q$FUNCTION terminate_active_transactions() RETURNS boolean$q$,
        $q$FUNCTION wait_for_apply_worker(p_subbid bigint, timeout integer DEFAULT 0) RETURNS boolean$q$,
        $q$PROCEDURE wait_for_sync_event(OUT result boolean, IN origin name, IN lsn pg_lsn, IN timeout integer DEFAULT 0, IN wait_if_disabled boolean DEFAULT false)$q$,
        $q$PROCEDURE wait_for_sync_event(OUT result boolean, IN origin_id oid, IN lsn pg_lsn, IN timeout integer DEFAULT 0, IN wait_if_disabled boolean DEFAULT false)$q$,
        $q$FUNCTION wait_slot_confirm_lsn(slotname name, target pg_lsn) RETURNS void$q$,
        $q$FUNCTION xact_commit_timestamp_origin(xid xid, OUT "timestamp" timestamp with time zone, OUT roident oid) RETURNS record$q$
    ]
    LOOP
        EXECUTE 'CREATE ' || sig || $b$ LANGUAGE plpgsql AS $s$
BEGIN
    RAISE EXCEPTION 'extension spock is at version % but its library is 5.1.0',
        (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'spock')
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'The SQL objects of spock 5.0.x cannot run with this library.',
              HINT = 'Run ALTER EXTENSION spock UPDATE.';
END
$s$$b$;
    END LOOP;
END
$do$;

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

