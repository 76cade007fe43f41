-- Bad input to every SQL function (issue: reliability and security suite): each gives an
-- ERROR with a fitting SQLSTATE and leaves nothing behind; none crashes or raises an internal
-- error (XX000).
CREATE DATABASE regress_bad_input;
\c regress_bad_input
CREATE EXTENSION spock;
SET client_min_messages = error;

-- Runs a statement and reports its outcome: 'ok' or the SQLSTATE it raised.
CREATE FUNCTION pg_temp.outcome(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text;
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
    RETURN st;
END
$$;

-- NULL for every argument of every function and procedure that takes arguments. Functions
-- that accept NULL on purpose say 'ok' (sub_show_status(NULL) lists every subscription, for
-- example); every other one refuses with 22004.
WITH calls AS (
    SELECT p.oid::regprocedure::text AS func,
           CASE p.prokind WHEN 'p' THEN 'CALL ' ELSE 'SELECT ' END
           || 'spock.' || quote_ident(p.proname) || '('
           || (SELECT string_agg('NULL::' || CASE WHEN t = 'anyelement'::regtype THEN 'int'
                                                  ELSE format_type(t, NULL) END, ', ' ORDER BY i)
               FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS a(t, i)
               WHERE p.proargmodes IS NULL OR p.proargmodes[i] IN ('i', 'b', 'v')
                     OR (p.prokind = 'p' AND p.proargmodes[i] = 'o'))
           || ')' AS stmt
    FROM pg_proc p
    WHERE p.pronamespace = 'spock'::regnamespace AND p.prokind IN ('f', 'p')
      AND p.pronargs > 0 AND p.proname NOT IN ('md5_agg_sfunc', 'delta_apply')
)
SELECT func, pg_temp.outcome(stmt) AS outcome FROM calls ORDER BY func;

-- Nothing was created by any of those calls.
SELECT (SELECT count(*) FROM spock.node) AS nodes,
       (SELECT count(*) FROM spock.subscription) AS subscriptions,
       (SELECT count(*) FROM spock.replication_set) AS sets,
       (SELECT count(*) FROM pg_replication_slots) AS slots,
       (SELECT count(*) FROM pg_replication_origin) AS origins;

-- Empty, overlong, hostile and missing names, and malformed DSNs. Names are of type name, so
-- an overlong one is cut to 63 bytes, as PostgreSQL does with identifiers (the node made with
-- it is dropped by the same overlong name).
SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
    ($$SELECT spock.node_create('', 'dbname=regress_bad_input')$$),
    ($$SELECT spock.node_create('n1', '')$$),
    ($$SELECT spock.node_create('n1', '   ')$$),
    ($$SELECT spock.node_create('n1', 'this is not a dsn')$$),
    ($$SELECT spock.node_create(repeat('n', 100), 'dbname=regress_bad_input')$$),
    ($$SELECT spock.node_drop(repeat('n', 100))$$),
    ($$SELECT spock.node_drop('no_such_node')$$),
    ($$SELECT spock.node_add_interface('no_such_node', 'i', 'dbname=x')$$),
    ($$SELECT spock.repset_create('s1')$$),
    ($$SELECT spock.sub_create('s', 'dbname=regress_bad_input')$$),
    ($$SELECT spock.sub_drop('no_such_sub')$$),
    ($$SELECT spock.sub_enable('no_such_sub')$$),
    ($$SELECT spock.sub_alter_skiplsn('no_such_sub', '0/1')$$),
    ($$SELECT spock.repset_add_table('no_such_set', 'pg_class')$$)
) AS v(stmt);

-- With a local node.
SELECT spock.node_create('n1', 'dbname=regress_bad_input') > 0 AS node_created;
CREATE TABLE "Weird ""table"";" (id int PRIMARY KEY);
CREATE TABLE nokey (id int);
SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
    ($$SELECT spock.node_create('n1', 'dbname=regress_bad_input')$$),
    ($$SELECT spock.repset_create('')$$),
    ($$SELECT spock.repset_create(repeat('s', 100))$$),
    ($$SELECT spock.repset_create('default')$$),
    ($$SELECT spock.repset_drop('no_such_set')$$),
    ($$SELECT spock.repset_add_table('no_such_set', 'nokey')$$),
    ($$SELECT spock.repset_add_table('default', 'no_such_table')$$),
    ($$SELECT spock.repset_add_table('default', 'nokey')$$),
    ($$SELECT spock.repset_add_table('default', 'pg_class')$$),
    ($$SELECT spock.repset_add_table('default', '"Weird ""table"";"', row_filter := 'no_such_column > 0')$$),
    ($$SELECT spock.repset_add_table('default', '"Weird ""table"";"', columns := '{no_such_column}')$$),
    ($$SELECT spock.repset_add_table('default', '"Weird ""table"";"')$$),
    ($$SELECT spock.repset_add_table('default', '"Weird ""table"";"')$$),
    ($$SELECT spock.repset_remove_table('default', 'nokey')$$),
    ($$SELECT spock.repset_add_seq('default', 'nokey')$$),
    ($$SELECT spock.repset_alter('no_such_set', replicate_insert := false)$$),
    ($$SELECT spock.sub_create('', 'dbname=regress_bad_input')$$),
    ($$SELECT spock.sub_create('s', '')$$),
    ($$SELECT spock.sub_create('s', 'host=/nonexistent dbname=x password=secret')$$),
    ($$SELECT spock.sub_create('s', 'dbname=regress_bad_input', apply_delay := '-1 s')$$),
    ($$SELECT spock.sub_create('s', 'dbname=regress_bad_input', forward_origins := '{nonsense}')$$),
    ($$SELECT spock.sub_alter_skiplsn('no_such_sub', 'not an lsn')$$),
    ($$SELECT spock.sub_resync_table('no_such_sub', 'nokey')$$),
    ($$SELECT spock.sub_show_table('no_such_sub', 'nokey')$$),
    ($$SELECT spock.node_drop_interface('n1', 'no_such_interface')$$),
    ($$SELECT spock.node_drop_interface('n1', 'n1')$$),
    ($$SELECT spock.wait_for_apply_worker(-1, -5)$$),
    ($$SELECT spock.spock_gen_slot_name('', '', '')$$)
) AS v(stmt);

-- Still nothing but the node, its interface and the default sets; no slot, no origin.
SELECT (SELECT count(*) FROM spock.node) AS nodes,
       (SELECT count(*) FROM spock.node_interface) AS interfaces,
       (SELECT count(*) FROM spock.subscription) AS subscriptions,
       (SELECT string_agg(set_name, ',' ORDER BY set_name) FROM spock.replication_set) AS sets,
       (SELECT count(*) FROM spock.replication_set_table) AS tables,
       (SELECT count(*) FROM pg_replication_slots) AS slots,
       (SELECT count(*) FROM pg_replication_origin) AS origins;

-- No error message carries the password of a DSN.
SELECT pg_temp.outcome($$SELECT spock.sub_create('s2', 'host=/nonexistent dbname=x password=topsecret')$$);
SET client_min_messages = notice;
DO $$
DECLARE
    msg text;
    detail text;
    hint text;
BEGIN
    PERFORM spock.sub_create('s3', 'host=/nonexistent dbname=x password=topsecret');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RAISE NOTICE 'password shown: %, masked: %',
        concat(msg, detail, hint) LIKE '%topsecret%', concat(msg, detail, hint) LIKE '%********%';
END
$$;

\c regression
DROP DATABASE regress_bad_input WITH (FORCE);
