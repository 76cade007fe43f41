/* spock--5.1.0.sql: the objects of extension spock, all in schema spock. */

\echo Use "CREATE EXTENSION spock" to load this file. \quit

-- Version and protocol information. Volatile, like Spock's (no volatility clause).
CREATE FUNCTION spock_version() RETURNS text
    AS 'MODULE_PATHNAME', 'spock_version' LANGUAGE C;
CREATE FUNCTION spock_version_num() RETURNS integer
    AS 'MODULE_PATHNAME', 'spock_version_num' LANGUAGE C;
CREATE FUNCTION spock_max_proto_version() RETURNS integer
    AS 'MODULE_PATHNAME', 'spock_max_proto_version' LANGUAGE C;
CREATE FUNCTION spock_min_proto_version() RETURNS integer
    AS 'MODULE_PATHNAME', 'spock_min_proto_version' LANGUAGE C;
