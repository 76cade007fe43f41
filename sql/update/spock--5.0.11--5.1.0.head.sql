/* spock--5.0.11--5.1.0.sql: Spock 5.0.11 to spock 5.1.0 (docs/upgrading.md).
 *
 * Generated at build time by sql/update/generate.sh: this head, then sql/spock--5.1.0.sql
 * without the CREATE TABLE statements of the tables Spock 5.0.11 already has. Their rows
 * (nodes, interfaces, sets, members, subscriptions with their slot names, progress, queue, logs)
 * stay as they are; only what differs in shape is altered here. Every routine and view of the
 * extension is dropped and created again from the 5.1.0 script, so the functions are ours
 * whatever Spock's were. User objects that depend on a spock routine or view (a view over
 * spock.tables, say) make the update fail with PostgreSQL's "other objects depend on it":
 * drop them before the update and create them again after it.
 */

\echo Use "ALTER EXTENSION spock UPDATE" to load this file. \quit

-- The output plugin reads local_node and subscription with the historic snapshot of decoding.
ALTER TABLE local_node SET (user_catalog_table = true);
ALTER TABLE subscription SET (user_catalog_table = true);

-- Views first (they use the functions), then aggregates, then functions and procedures. One
-- statement per kind, so the order among them does not matter. No CASCADE: a user object that
-- depends on one of them stops the update instead of disappearing.
DO $$
DECLARE
    members text;
BEGIN
    SELECT string_agg(format('spock.%I', c.relname), ', ') INTO members
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e'
      AND d.refclassid = 'pg_catalog.pg_extension'::regclass
      AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'spock')
      AND c.relkind = 'v';
    IF members IS NOT NULL THEN
        EXECUTE 'DROP VIEW ' || members;
    END IF;
    FOR members IN
        SELECT CASE WHEN p.prokind = 'a' THEN 'DROP AGGREGATE ' ELSE 'DROP ROUTINE ' END
               || string_agg(p.oid::regprocedure::text, ', ')
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_proc p ON p.oid = d.objid
        WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e'
          AND d.refclassid = 'pg_catalog.pg_extension'::regclass
          AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'spock')
        GROUP BY p.prokind = 'a'
        ORDER BY p.prokind = 'a' DESC
    LOOP
        EXECUTE members;
    END LOOP;
END
$$;

-- What follows is sql/spock--5.1.0.sql less the tables above.
