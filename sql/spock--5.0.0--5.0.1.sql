/* spock--5.0.0--5.0.1.sql: Spock 5.0.0 to 5.0.1 (docs/upgrading.md). */

\echo Use "ALTER EXTENSION spock UPDATE" to load this file. \quit

-- replicate_ddl's search_path defaults to the caller's search_path (it was '').
-- Functions are stubs until 5.1.0 (spock--5.0.0.sql).
DROP FUNCTION replicate_ddl(text, text[], text, text);
DROP FUNCTION replicate_ddl(text[], text[], text, text);
CREATE FUNCTION replicate_ddl(command text, replication_sets text[] DEFAULT '{ddl_sql}',
                              search_path text DEFAULT current_setting('search_path'),
                              role text DEFAULT CURRENT_USER) RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'extension spock is at version % but its library is 5.1.0',
        (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'spock')
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'The SQL objects of spock 5.0.x cannot run with this library.',
              HINT = 'Run ALTER EXTENSION spock UPDATE.';
END
$$;
CREATE FUNCTION replicate_ddl(command text[], replication_sets text[] DEFAULT '{ddl_sql}',
                              search_path text DEFAULT current_setting('search_path'),
                              role text DEFAULT CURRENT_USER) RETURNS SETOF boolean
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'extension spock is at version % but its library is 5.1.0',
        (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'spock')
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'The SQL objects of spock 5.0.x cannot run with this library.',
              HINT = 'Run ALTER EXTENSION spock UPDATE.';
END
$$;
