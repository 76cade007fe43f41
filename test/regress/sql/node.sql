-- Node management (reference §3.1) and the small helpers of §3.5, §3.7 and §3.8: ids computed
-- by PostgreSQL itself, catalog rows, errors with their SQLSTATEs, slot names, commit
-- timestamps, delta_apply, get_country and md5_agg.

-- Everything spock keeps about nodes, in one row, to show that failing calls leave nothing.
CREATE TEMP VIEW node_state AS
SELECT (SELECT string_agg(node_name, ',' ORDER BY node_name) FROM spock.node) AS nodes,
       (SELECT string_agg(if_name, ',' ORDER BY if_name) FROM spock.node_interface)
           AS interfaces,
       (SELECT count(*) FROM spock.replication_set) AS sets,
       (SELECT n.node_name FROM spock.local_node l JOIN spock.node n USING (node_id)) AS local,
       (SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots) AS slots;

-- No local node yet (other tests drop theirs).
SELECT * FROM node_state;
SELECT * FROM spock.node_info();
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- node_create returns the node id: hash_any(name) & 0xFFFF, which is PostgreSQL's hashtext.
SELECT spock.node_create('n1', 'dbname=regression', location := 'Lisbon', country := 'PT',
                         info := '{"tiebreaker": 7}') AS n1_id \gset
SELECT :n1_id AS node_id, :n1_id = hashtext('n1') & 65535 AS id_is_hashtext;

SELECT * FROM spock.node;
-- Interface and set ids are hash_any of the 8 bytes {node id, hash_any(name)}, which is what
-- PostgreSQL's hashoidvector computes for the oidvector 'node_id hashtext(name)'.
CREATE FUNCTION pg_temp.pair_id(node oid, name text) RETURNS oid
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT hashoidvector(format('%s %s', node, hashtext(name)::oid)::oidvector)::oid $$;
-- The default interface is named after the node; the local node points at it.
SELECT if_id, if_id = pg_temp.pair_id(:n1_id, 'n1') AS id_is_hash, if_name,
       if_nodeid = :n1_id AS of_n1, if_dsn
FROM spock.node_interface;
SELECT node_id = :n1_id AS is_n1,
       node_local_interface = (SELECT if_id FROM spock.node_interface WHERE if_name = 'n1')
           AS default_interface
FROM spock.local_node;
-- The three default replication sets, with their flags.
SELECT set_id, set_id = pg_temp.pair_id(:n1_id, set_name) AS id_is_hash,
       set_nodeid = :n1_id AS of_n1, set_name, replicate_insert, replicate_update,
       replicate_delete, replicate_truncate
FROM spock.replication_set ORDER BY set_name;

-- node_info describes the local node; sysid is the cluster's system identifier.
SELECT node_id, node_name, dbname, replication_sets, location, country, info,
       sysid = (SELECT system_identifier::text FROM pg_control_system()) AS sysid_matches
FROM spock.node_info();

-- A second node_create, with the same name or another, is refused.
SELECT spock.node_create('n1', 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_create('n2', 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Arguments are checked first: NULL (22004), empty name and malformed DSN (22023, with
-- libpq's own message).
SELECT spock.node_create(NULL, 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_create('n2', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_create('', 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_create('n2', 'dbname=regression nosuchoption=1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_create('n2', 'host');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_create('n2', 'host=''unterminated');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM node_state;

-- node_add_interface: a second connection string for a node; returns the interface id.
SELECT spock.node_add_interface('n1', 'n1_tcp', 'host=127.0.0.1 dbname=regression')
    AS tcp_if_id \gset
SELECT if_id = :tcp_if_id AS returned_id, if_id = pg_temp.pair_id(:n1_id, if_name) AS id_is_hash,
       if_name, if_nodeid = :n1_id AS of_n1, if_dsn
FROM spock.node_interface ORDER BY if_name;
SELECT spock.node_add_interface('n1', 'n1_tcp', 'host=127.0.0.2 dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_add_interface('n1', 'n1', 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_add_interface('nosuchnode', 'if1', 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_add_interface('n1', 'if_bad', 'port');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_add_interface('n1', 'if_bad', 'nosuchoption=1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_add_interface('n1', '', 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_add_interface('n1', NULL, 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_add_interface('n1', 'if_null', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM node_state;

-- node_drop_interface.
SELECT spock.node_drop_interface('n1', 'n1_tcp');
SELECT spock.node_drop_interface('n1', 'n1_tcp');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_drop_interface('nosuchnode', 'n1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- The local node's own interface cannot go: the node would have no address.
SELECT spock.node_drop_interface('n1', 'n1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_drop_interface('n1', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM node_state;

-- node_drop: unknown nodes.
SELECT spock.node_drop('nosuchnode');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_drop('nosuchnode', ifexists := true);
SELECT spock.node_drop('n1', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Dropping the local node removes its interfaces, its sets and the local_node row. It drops
-- the local spock_output slots named spk_*; slots of other plugins stay.
SELECT slot_name FROM pg_create_logical_replication_slot('spk_regression_n1_other',
                                                         'test_decoding');
SELECT spock.node_add_interface('n1', 'n1_tcp', 'host=127.0.0.1 dbname=regression') IS NOT NULL
    AS added;
SELECT spock.node_drop('n1');
SELECT * FROM node_state;
SELECT pg_drop_replication_slot('spk_regression_n1_other');

-- A node that only a subscription knows (sub_create records its provider like this): a
-- node_create of the same name, or of a name whose 16-bit id collides with it, is refused.
INSERT INTO spock.node (node_id, node_name) VALUES (hashtext('prov') & 65535, 'prov');
SELECT spock.node_add_interface('prov', 'prov', 'host=192.0.2.1 dbname=regression') IS NOT NULL
    AS added;
SELECT spock.node_create('prov', 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT 'c' || i AS colliding_name FROM generate_series(1, 1000000) AS i
WHERE hashtext('c' || i) & 65535 = hashtext('prov') & 65535 LIMIT 1 \gset
SELECT :'colliding_name' AS colliding_name, hashtext(:'colliding_name') & 65535 AS id;
SELECT spock.node_create(:'colliding_name', 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Id 0 is InvalidRepOriginId and cannot name a node.
SELECT 'z' || i AS zero_name FROM generate_series(1, 1000000) AS i
WHERE hashtext('z' || i) & 65535 = 0 LIMIT 1 \gset
SELECT spock.node_create(:'zero_name', 'dbname=regression');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- The only interface of a node that is not local may be dropped.
SELECT spock.node_drop_interface('prov', 'prov');
SELECT spock.node_drop('prov');
SELECT * FROM node_state;

-- spock_gen_slot_name(db, provider, sub) = spk_<db>_<provider>_<sub> (§0). Parts of at most 16
-- bytes stay whole; longer ones become their first 8 bytes and the first 7 hex digits of
-- hash_any (Spock's truncation to 15 characters). Then every byte outside [a-z0-9_] becomes _.
SELECT spock.spock_gen_slot_name('regression', 'n1', 'sub1');
-- 16 bytes stay, 17 are shortened.
SELECT spock.spock_gen_slot_name('sixteen_bytes_db', 'n1', 'seventeen_bytes_s');
SELECT spock.spock_gen_slot_name('sixteen_bytes_db', 'n1', 'seventeen_bytes_s')
       = 'spk_sixteen_bytes_db_n1_seventee'
         || left(lpad(to_hex(hashtext('seventeen_bytes_s')), 8, '0'), 7) AS matches_hashtext;
SELECT spock.spock_gen_slot_name('a_very_long_database_name', 'provider_node_number_1',
                                 'subscription_from_provider_1') AS slot_name,
       'spk_a_very_l' || left(lpad(to_hex(hashtext('a_very_long_database_name')), 8, '0'), 7)
       || '_provider' || left(lpad(to_hex(hashtext('provider_node_number_1')), 8, '0'), 7)
       || '_subscrip' || left(lpad(to_hex(hashtext('subscription_from_provider_1')), 8, '0'), 7)
           AS expected;
-- Upper case, punctuation and each byte of a multi-byte character become _.
SELECT spock.spock_gen_slot_name('Regression', 'Provider-Node.1', 'sub a') AS slot_name,
       'spk__egression__rovider__ode_1_sub_a' AS expected;
SELECT spock.spock_gen_slot_name('db', U&'n\00F3de', 'sub') AS slot_name,
       'spk_db_n__de_sub' AS expected;
-- Shortening happens before the replacement: the hash is of the original name.
SELECT spock.spock_gen_slot_name('db', 'ProviderNodeNumberOne', 'sub') AS slot_name,
       'spk_db__rovider' || left(lpad(to_hex(hashtext('ProviderNodeNumberOne')), 8, '0'), 7)
       || '_sub' AS expected;
SELECT spock.spock_gen_slot_name('db', 'n1', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- xact_commit_timestamp_origin of a committed transaction: its commit timestamp and origin 0
-- (a local transaction), the same as PostgreSQL's own pg_xact_commit_timestamp_origin.
CREATE TABLE node_commit_ts (id int);
INSERT INTO node_commit_ts VALUES (1);
SELECT x."timestamp" IS NOT NULL AS has_timestamp, x.roident,
       x."timestamp" = p."timestamp" AS same_timestamp
FROM node_commit_ts t, spock.xact_commit_timestamp_origin(t.xmin) AS x,
     pg_xact_commit_timestamp_origin(t.xmin) AS p;
-- A transaction committed under a replication origin reports that origin.
SELECT pg_replication_origin_create('regress_node_origin') IS NOT NULL AS origin_created;
SELECT pg_replication_origin_session_setup('regress_node_origin');
INSERT INTO node_commit_ts VALUES (2);
SELECT pg_replication_origin_session_reset();
SELECT x."timestamp" = p."timestamp" AS same_timestamp,
       x.roident = o.roident AS origin_matches, x.roident <> 0 AS not_local
FROM node_commit_ts t, spock.xact_commit_timestamp_origin(t.xmin) AS x,
     pg_xact_commit_timestamp_origin(t.xmin) AS p, pg_replication_origin AS o
WHERE t.id = 2 AND o.roname = 'regress_node_origin';
SELECT pg_replication_origin_drop('regress_node_origin');
-- No data: an aborted transaction, a frozen xid, one from before commit timestamps were on,
-- and one not yet assigned. xid 0 is invalid; NULL is refused.
BEGIN;
INSERT INTO node_commit_ts VALUES (3);
SELECT pg_current_xact_id() AS aborted_xid \gset
ROLLBACK;
SELECT * FROM spock.xact_commit_timestamp_origin(:'aborted_xid');
SELECT * FROM spock.xact_commit_timestamp_origin('2');
SELECT * FROM spock.xact_commit_timestamp_origin('3');
SELECT * FROM spock.xact_commit_timestamp_origin('2000000000');
SELECT * FROM spock.xact_commit_timestamp_origin('0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM spock.xact_commit_timestamp_origin(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP TABLE node_commit_ts;

-- get_country() reads spock.country, '??' by default.
SELECT spock.get_country();

-- delta_apply(old_remote, new_remote, local) = local + (new_remote - old_remote), per type.
SELECT spock.delta_apply(10::smallint, 15::smallint, 100::smallint) AS int2,
       spock.delta_apply(10, 15, 100) AS int4,
       spock.delta_apply(10000000000, 10000000005, -3) AS int8,
       spock.delta_apply(0.5::real, 1.75::real, 10::real) AS float4,
       spock.delta_apply(0.5::float8, 1.75::float8, 10::float8) AS float8,
       spock.delta_apply(1.10, 2.35, 100.05) AS numeric,
       spock.delta_apply(1.10::money, 2.35::money, 100.05::money)::numeric AS money;
SELECT pg_typeof(spock.delta_apply(1::smallint, 2::smallint, 3::smallint)) AS int2,
       pg_typeof(spock.delta_apply(1::bigint, 2, 3)) AS int8,
       pg_typeof(spock.delta_apply(1::real, 2, 3)) AS float4,
       pg_typeof(spock.delta_apply(1::money, 2::money, 3::money)) AS money;
-- The arithmetic of the type applies, overflow included.
SELECT spock.delta_apply(0::smallint, 30000::smallint, 30000::smallint);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- md5_agg folds md5(state || value) over its input, starting from ''.
SELECT spock.md5_agg() WITHIN GROUP (ORDER BY x) = md5(md5('1') || '2') AS folds
FROM (VALUES (1), (2)) AS v(x);
SELECT spock.md5_agg() WITHIN GROUP (ORDER BY x) = '' AS empty_is_empty_string
FROM (VALUES (1)) AS v(x) WHERE false;

-- Nothing is left for the tests that follow.
SELECT * FROM node_state;
