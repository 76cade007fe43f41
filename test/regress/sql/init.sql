-- The extension installs into schema spock, is not relocatable, and reports its versions.
CREATE EXTENSION spock;

SELECT extname, extversion, extrelocatable, extnamespace::regnamespace AS schema
FROM pg_extension WHERE extname = 'spock';

SELECT spock.spock_version(), spock.spock_version_num(),
       spock.spock_min_proto_version(), spock.spock_max_proto_version();

-- The version functions are volatile, like Spock's (they carry no volatility clause).
SELECT proname, provolatile, pg_get_function_result(oid) AS result
FROM pg_proc WHERE pronamespace = 'spock'::regnamespace AND proname LIKE 'spock_%version%'
ORDER BY proname;

-- Not relocatable.
CREATE SCHEMA elsewhere;
ALTER EXTENSION spock SET SCHEMA elsewhere;
DROP SCHEMA elsewhere;

-- The supervisor runs and is visible.
SELECT backend_type, datname IS NULL AS no_database
FROM pg_stat_activity WHERE backend_type = 'spock supervisor';

-- Only the PostgreSQL entry points are exported from the module: the shipped script creates
-- no test helpers.
SELECT count(*) AS test_helpers_in_spock
FROM pg_proc WHERE pronamespace = 'spock'::regnamespace AND proname LIKE '%test%';
