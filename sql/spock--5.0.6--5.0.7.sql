/* spock--5.0.6--5.0.7.sql: Spock 5.0.6 to 5.0.7 (docs/upgrading.md). */

\echo Use "ALTER EXTENSION spock UPDATE" to load this file. \quit

-- sub_skip_schema becomes text[] in place. A value stored as text is kept: an array literal
-- as that array, anything else as a one-element array.
ALTER TABLE subscription ALTER COLUMN sub_skip_schema TYPE text[]
    USING CASE WHEN sub_skip_schema IS NULL THEN NULL
               WHEN sub_skip_schema LIKE '{%}' THEN sub_skip_schema::text[]
               ELSE ARRAY[sub_skip_schema] END;

-- sync_event() without arguments is gone; transactional defaults to false.
DROP FUNCTION sync_event();
DROP FUNCTION sync_event(boolean);
CREATE FUNCTION sync_event(transactional boolean DEFAULT false) RETURNS pg_lsn
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'extension spock is at version % but its library is 5.1.0',
        (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'spock')
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'The SQL objects of spock 5.0.x cannot run with this library.',
              HINT = 'Run ALTER EXTENSION spock UPDATE.';
END
$$;

-- Pausing apply workers, for superusers only.
CREATE FUNCTION pause_apply_workers() RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'extension spock is at version % but its library is 5.1.0',
        (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'spock')
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'The SQL objects of spock 5.0.x cannot run with this library.',
              HINT = 'Run ALTER EXTENSION spock UPDATE.';
END
$$;
CREATE FUNCTION resume_apply_workers() RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'extension spock is at version % but its library is 5.1.0',
        (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'spock')
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'The SQL objects of spock 5.0.x cannot run with this library.',
              HINT = 'Run ALTER EXTENSION spock UPDATE.';
END
$$;
REVOKE ALL ON FUNCTION pause_apply_workers() FROM PUBLIC;
REVOKE ALL ON FUNCTION resume_apply_workers() FROM PUBLIC;
