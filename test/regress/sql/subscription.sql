-- Subscriptions, catalog side. Two databases of this instance act as provider and subscriber;
-- no apply worker runs yet, so subscriptions are created disabled or show as "down".
SET client_min_messages = warning;
DROP DATABASE IF EXISTS sub_provider WITH (FORCE);
DROP DATABASE IF EXISTS sub_subscriber WITH (FORCE);
RESET client_min_messages;
CREATE DATABASE sub_provider;
CREATE DATABASE sub_subscriber;

\c sub_provider
CREATE EXTENSION spock;
SELECT spock.node_create('prov', 'dbname=sub_provider') = (hashtext('prov') & 65535) AS id_ok;
CREATE TABLE items (id int PRIMARY KEY, label text);
SELECT spock.repset_add_table('default', 'items');
SELECT spock.repset_create('extra') IS NOT NULL AS extra_created;

\c sub_subscriber
CREATE EXTENSION spock;

-- No local node yet.
SELECT spock.sub_create('sub1', 'dbname=sub_provider', enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

SELECT spock.node_create('subr', 'dbname=sub_subscriber') = (hashtext('subr') & 65535) AS id_ok;

-- Bad input: names, NULLs, option combinations, unreachable or non-spock providers.
SELECT spock.sub_create('Sub-1', 'dbname=sub_provider', enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'dbname=sub_provider', replication_sets := NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'dbname=sub_provider', replication_sets := '{default,NULL}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'dbname=sub_provider', replication_sets := '{""}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- The sets must exist on the provider.
SELECT spock.sub_create('sub1', 'dbname=sub_provider', replication_sets := '{default,nosuch}',
                        enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'dbname=sub_provider', apply_delay := '-1 second',
                        enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'dbname=sub_provider', apply_delay := NULL, enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'dbname=sub_provider', synchronize_data := true,
                        enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'dbname=sub_provider', forward_origins := '{n9}',
                        enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'host=127.0.0.1 port=1 dbname=x password=s3cret',
                        enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'postgresql://u@127.0.0.1:1/x?pass%77ord=s3cret',
                        enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'dbname=regression password=s3cret', enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'dbname=sub_subscriber', enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub1', 'this is not a dsn', enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Nothing was left behind by the failures.
SELECT (SELECT count(*) FROM spock.subscription) AS subs,
       (SELECT count(*) FROM spock.node) AS nodes,
       (SELECT count(*) FROM spock.progress) AS progress,
       (SELECT count(*) FROM pg_replication_origin) AS origins;

-- A disabled subscription: the provider's node and interface are recorded, with a progress
-- row, a subscription-level sync status of 'r' and a replication origin named like the slot.
SELECT spock.sub_create('sub1', 'dbname=sub_provider', enabled := false)
       = hashtext('sub1')::oid AS sub_id_ok;
SELECT sub_name, o.node_name AS origin, t.node_name AS target, sub_enabled, sub_slot_name,
       sub_replication_sets, sub_forward_origins, sub_apply_delay, sub_force_text_transfer,
       sub_skip_lsn, sub_skip_schema, sub_created_at IS NOT NULL AS has_created_at,
       oi.if_name AS origin_if, ti.if_name AS target_if
FROM spock.subscription s
JOIN spock.node o ON o.node_id = s.sub_origin JOIN spock.node t ON t.node_id = s.sub_target
JOIN spock.node_interface oi ON oi.if_id = s.sub_origin_if
JOIN spock.node_interface ti ON ti.if_id = s.sub_target_if;
SELECT node_name FROM spock.node ORDER BY node_name;
SELECT if_name, if_dsn FROM spock.node_interface ORDER BY if_name;
SELECT n.node_name, r.node_name AS remote, p.remote_lsn, p.remote_insert_lsn,
       p.updated_by_decode
FROM spock.progress p JOIN spock.node n ON n.node_id = p.node_id
JOIN spock.node r ON r.node_id = p.remote_node_id;
SELECT sync_kind, sync_nspname, sync_relname, sync_status, sync_statuslsn
FROM spock.local_sync_status;
SELECT roname FROM pg_replication_origin;
SELECT spock.spock_gen_slot_name(current_database(), 'prov', 'sub1');

-- A disabled subscription created for an existing copy of the data is ready at once, so
-- waiting for its synchronisation returns immediately; a snapshot that never moves is refused.
SELECT spock.sub_wait_for_sync('sub1');
SELECT spock.table_wait_for_sync('sub1', 'spock.node');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT spock.sub_wait_for_sync('sub1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT spock.sub_wait_for_sync('nosuch');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Statuses: disabled, or down when enabled but no worker runs (yet).
SELECT subscription_name, status, provider_node, provider_dsn, slot_name, replication_sets,
       forward_origins FROM spock.sub_show_status();
-- (Checked before the enabling commits: the manager starts the worker only then. This
-- subscription has no slot on the provider, so its worker would fail anyway.)
BEGIN;
SELECT spock.sub_enable('sub1');
SELECT status FROM spock.sub_show_status('sub1');
ROLLBACK;
BEGIN;
SELECT spock.sub_disable('sub1', immediate := true);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT spock.sub_disable('sub1');
SELECT status FROM spock.sub_show_status('sub1');
SELECT * FROM spock.sub_show_status('nosuch');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM spock.sub_show_table('sub1', 'spock.node');
SELECT * FROM spock.sub_show_table('nosuch', 'spock.node');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Duplicates and a second subscription to the same provider with overlapping sets.
SELECT spock.sub_create('sub1', 'dbname=sub_provider', enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_create('sub2', 'dbname=sub_provider', replication_sets := '{default}',
                        forward_origins := '{all}', apply_delay := '5 seconds',
                        enabled := false) IS NOT NULL AS created;
SELECT sub_name, sub_replication_sets, sub_forward_origins, sub_apply_delay
FROM spock.subscription ORDER BY sub_name;
-- The same provider node under another connection string is refused.
SELECT spock.sub_create('sub3', 'dbname=sub_provider connect_timeout=5', enabled := false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_drop('sub2') = hashtext('sub2')::oid AS dropped;

-- Replication sets of a subscription.
SELECT spock.sub_add_repset('sub1', 'extra');
SELECT spock.sub_add_repset('sub1', 'extra');
SELECT spock.sub_remove_repset('sub1', 'ddl_sql');
SELECT spock.sub_remove_repset('sub1', 'ddl_sql');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_add_repset('nosuch', 'extra');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_add_repset('sub1', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_add_repset('sub1', '');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_add_repset('sub1', 'nosuch');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT sub_replication_sets FROM spock.subscription WHERE sub_name = 'sub1';

-- Interfaces: switch to another interface of the provider node.
SELECT spock.node_add_interface('prov', 'prov_tcp', 'dbname=sub_provider port=' ||
                                current_setting('port')) IS NOT NULL AS added;
SELECT spock.sub_alter_interface('sub1', 'prov_tcp');
SELECT spock.sub_alter_interface('sub1', 'prov_tcp');
SELECT spock.sub_alter_interface('sub1', 'nosuch');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT i.if_name FROM spock.subscription s JOIN spock.node_interface i
  ON i.if_id = s.sub_origin_if;
SELECT spock.node_drop_interface('prov', 'prov_tcp');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_alter_interface('sub1', 'prov');
-- The provider DSN that sub_show_status() shows (anyone may call it) has its password masked,
-- as in error messages; the URI form with a percent-encoded keyword too.
SELECT spock.node_add_interface('prov', 'prov_pw', 'dbname=sub_provider password=s3cret')
       IS NOT NULL AS added;
SELECT spock.sub_alter_interface('sub1', 'prov_pw');
SELECT provider_dsn FROM spock.sub_show_status('sub1');
SELECT spock.node_add_interface('prov', 'prov_uri',
           'postgresql:///sub_provider?pass%77ord=s3cret') IS NOT NULL AS added;
SELECT spock.sub_alter_interface('sub1', 'prov_uri');
SELECT provider_dsn FROM spock.sub_show_status('sub1');
SELECT spock.sub_alter_interface('sub1', 'prov');
SELECT spock.node_drop_interface('prov', 'prov_pw');
SELECT spock.node_drop_interface('prov', 'prov_uri');

-- sub_alter_sync needs a truncate flag, like every function needs its arguments.
SELECT spock.sub_alter_sync('sub1', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Skip LSN.
SELECT spock.sub_alter_skiplsn('sub1', '0/1A2B3C');
SELECT sub_skip_lsn FROM spock.subscription WHERE sub_name = 'sub1';
SELECT spock.sub_alter_skiplsn('sub1', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Nodes in use cannot be dropped.
SELECT spock.node_drop('prov');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.node_drop('subr');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Dropping: the subscription, its status rows, its origin and the provider's node go.
SELECT spock.sub_drop('nosuch');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock.sub_drop('nosuch', ifexists := true);
SELECT spock.sub_drop('sub1') = hashtext('sub1')::oid AS dropped;
SELECT (SELECT count(*) FROM spock.subscription) AS subs,
       (SELECT count(*) FROM spock.local_sync_status) AS sync_rows,
       (SELECT count(*) FROM pg_replication_origin) AS origins,
       (SELECT string_agg(node_name, ',') FROM spock.node) AS nodes;
-- Progress rows stay, as in Spock (they are the history of what was applied).
SELECT count(*) AS progress_rows FROM spock.progress;
SELECT spock.node_drop('subr');

\c regression
DROP DATABASE sub_provider WITH (FORCE);
DROP DATABASE sub_subscriber WITH (FORCE);
