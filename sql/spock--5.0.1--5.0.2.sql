/* spock--5.0.1--5.0.2.sql: Spock 5.0.1 to 5.0.2 (docs/upgrading.md). */

\echo Use "ALTER EXTENSION spock UPDATE" to load this file. \quit

-- Subscriptions can skip schemas: a text column (5.0.7 makes it text[]) and sub_create's
-- skip_schema argument.
ALTER TABLE subscription ADD COLUMN sub_skip_schema text;
DROP FUNCTION sub_create(name, text, text[], boolean, boolean, text[], interval, boolean, boolean);
CREATE FUNCTION sub_create(subscription_name name, provider_dsn text,
                           replication_sets text[] DEFAULT '{default,default_insert_only,ddl_sql}',
                           synchronize_structure boolean DEFAULT false,
                           synchronize_data boolean DEFAULT false,
                           forward_origins text[] DEFAULT '{}', apply_delay interval DEFAULT '0',
                           force_text_transfer boolean DEFAULT false,
                           enabled boolean DEFAULT true, skip_schema text[] DEFAULT '{}')
    RETURNS oid
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'extension spock is at version % but its library is 5.1.0',
        (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'spock')
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'The SQL objects of spock 5.0.x cannot run with this library.',
              HINT = 'Run ALTER EXTENSION spock UPDATE.';
END
$$;
