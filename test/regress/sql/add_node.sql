-- spock.add_node() and spock.remove_node() on one instance: their prerequisite errors, which
-- change nothing. Adding and removing live nodes is in TAP t/061 and t/062.
SELECT p.proname, pg_get_function_arguments(p.oid)
FROM pg_proc p WHERE p.pronamespace = 'spock'::regnamespace
  AND p.proname IN ('add_node', 'remove_node', 'health_check') ORDER BY 1;
SELECT has_function_privilege('public', 'spock.zd_exec(text, text)', 'EXECUTE') AS public_can_exec;

CREATE DATABASE addnode_src;
CREATE DATABASE addnode_other;
CREATE DATABASE addnode_new;
SELECT format('host=%s port=%s dbname=',
              split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port')) AS base \gset
\c addnode_other
SET client_min_messages = warning;
CREATE EXTENSION spock;
SELECT spock.node_create('other1', :'base' || 'addnode_other') > 0 AS created;
\c addnode_src
SET client_min_messages = warning;
CREATE EXTENSION spock;
SELECT spock.node_create('src1', :'base' || 'addnode_src') > 0 AS created;
\c addnode_new
SET client_min_messages = warning;
CREATE EXTENSION spock;
SELECT :'base' || 'addnode_src' AS src, :'base' || 'addnode_new' AS new \gset

-- Missing arguments, a wrong source name, the source's own name, a DSN that is not this node.
CALL spock.add_node(NULL, :'src', 'new1', :'new');
CALL spock.add_node('src1', :'src', 'src1', :'new');
CALL spock.add_node('nosuch', :'src', 'new1', :'new');
CALL spock.add_node('src1', :'src', 'new1', :'src');
-- Not in READ COMMITTED.
BEGIN ISOLATION LEVEL REPEATABLE READ;
CALL spock.add_node('src1', :'src', 'new1', :'new');
ROLLBACK;
-- The source cannot be reached (the detail is libpq's message).
\set VERBOSITY terse
CALL spock.add_node('src1', 'host=/nonexistent port=1 dbname=x', 'new1', :'new');
\set VERBOSITY default
-- health_check: bad arguments are errors.
SET client_min_messages = notice;
CALL spock.health_check('src1', :'src', check_type := 'during');
CALL spock.health_check('src1', :'src', check_type := NULL);
CALL spock.health_check(NULL, :'src');
CALL spock.health_check('src1', :'src', check_type := 'post');
CALL spock.health_check('src1', :'src', 'new1');
-- health_check 'pre' where add_node would succeed: each check reported with verb.
CALL spock.health_check('src1', :'src', 'new1', :'new', 'pre', true);
CALL spock.health_check('src1', :'src');
-- A wrong source name, an unreachable source, and 'post' for a node that was never added.
CALL spock.health_check('nosuch', :'src', 'new1', :'new');
\set VERBOSITY terse
CALL spock.health_check('src1', 'host=/nonexistent port=1 dbname=x');
\set VERBOSITY default
CALL spock.health_check('src1', :'src', 'new1', NULL, 'post', true);
SET client_min_messages = warning;
-- health_check changed nothing, not even the dblink extension it used.
SELECT count(*) AS dblink FROM pg_extension WHERE extname = 'dblink';
-- The new node has a user table.
CREATE TABLE stray (id int);
CALL spock.add_node('src1', :'src', 'new1', :'new');
DROP TABLE stray;
-- A node of the cluster has a disabled subscription.
\c addnode_src
SELECT spock.sub_create('sub_other1_src1', :'base' || 'addnode_other', enabled := false) > 0 AS created;
\c addnode_new
CALL spock.add_node('src1', :'src', 'new1', :'new');
-- health_check 'pre' lists every failed check, the disabled subscription among them.
CALL spock.health_check('src1', :'src', 'new1', :'new');
-- The new node is a node already.
SELECT spock.node_create('new1', :'new') > 0 AS created;
CALL spock.add_node('src1', :'src', 'new1', :'new');
SELECT spock.node_drop('new1');
-- None of it changed anything.
SELECT (SELECT count(*) FROM spock.node) AS nodes, (SELECT count(*) FROM spock.subscription) AS subs,
       (SELECT count(*) FROM spock.add_node_progress) AS steps;
\c addnode_src
SELECT string_agg(node_name, ',' ORDER BY node_name) AS nodes_on_src,
       (SELECT count(*) FROM pg_replication_slots) AS slots FROM spock.node;
SELECT spock.sub_drop('sub_other1_src1') > 0 AS dropped;

-- remove_node: not a node, and not this node.
\c addnode_new
CALL spock.remove_node('new1');
\c addnode_src
CALL spock.remove_node('other1');
SHOW spock.add_node_timeout;

\c regression
DROP DATABASE addnode_new WITH (FORCE);
DROP DATABASE addnode_src WITH (FORCE);
DROP DATABASE addnode_other WITH (FORCE);
