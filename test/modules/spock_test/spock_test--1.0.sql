/* spock_test--1.0.sql: functions that exercise spock's C++/PostgreSQL error boundary. */

\echo Use "CREATE EXTENSION spock_test" to load this file. \quit

-- Throws a spock::core::Error with the given fields from a guarded C++ frame that owns a
-- tracked object.
CREATE FUNCTION throw_cpp_error(sqlstate text, message text, detail text DEFAULT NULL,
                                hint text DEFAULT NULL) RETURNS void
    AS 'MODULE_PATHNAME', 'spock_test_throw_cpp_error' LANGUAGE C;

-- Throws a standard C++ exception: 'bad_alloc', 'runtime_error' or 'int'.
CREATE FUNCTION throw_std_exception(kind text) RETURNS void
    AS 'MODULE_PATHNAME', 'spock_test_throw_std_exception' LANGUAGE C STRICT;

-- Runs a query through SPI inside pg_call(), from a C++ frame that owns a tracked object, and
-- lets any PostgreSQL error travel out as a C++ exception. Returns the first column of the first
-- row as text when the query succeeds.
CREATE FUNCTION run_query_in_cpp(query text) RETURNS text
    AS 'MODULE_PATHNAME', 'spock_test_run_query_in_cpp' LANGUAGE C STRICT;

-- Like run_query_in_cpp, but runs the query in a subtransaction and catches the error in C++;
-- returns 'SQLSTATE|message|detail|hint' of what C++ saw, or 'ok'.
CREATE FUNCTION catch_query_error_in_cpp(query text) RETURNS text
    AS 'MODULE_PATHNAME', 'spock_test_catch_query_error_in_cpp' LANGUAGE C STRICT;

-- How many tracked objects this backend has destroyed so far.
CREATE FUNCTION destructor_runs() RETURNS bigint
    AS 'MODULE_PATHNAME', 'spock_test_destructor_runs' LANGUAGE C;

-- Decodes one native-protocol message (a row of pg_logical_slot_peek_binary_changes on a
-- spock_output slot) with spock's core codec and renders it as stable text: relation OIDs
-- become names, LSNs, xids and timestamps are left out.
CREATE FUNCTION decode_message(data bytea) RETURNS text
    AS 'MODULE_PATHNAME', 'spock_test_decode_message' LANGUAGE C STRICT;

-- Runs spock's initial synchronisation of a subscription (structure and/or data) the way an
-- apply worker does, in a background worker outside any transaction; waits for it and returns
-- the slot's consistent point. The worker's error, if any, is raised here.
CREATE FUNCTION run_initial_sync(sub_name name, structure boolean, data boolean) RETURNS pg_lsn
    AS 'MODULE_PATHNAME', 'spock_test_run_initial_sync' LANGUAGE C STRICT;

-- Applies native-protocol messages (rows of pg_logical_slot_get_binary_changes on a
-- spock_output slot) with spock's row apply, in the current transaction and with
-- session_replication_role = replica: RELATION, INSERT, UPDATE, DELETE and TRUNCATE are applied,
-- BEGIN and ORIGIN supply the transaction's details, the rest is ignored. origin_node and
-- commit_time, when not NULL, replace what ORIGIN and BEGIN say.
CREATE FUNCTION apply_messages(messages bytea[], origin_node oid, commit_time timestamptz)
    RETURNS void
    AS 'MODULE_PATHNAME', 'spock_test_apply_messages' LANGUAGE C;

-- The conflicts row apply counted in this backend since the last call ("type=n ..." or
-- "none"), cleared by the call.
CREATE FUNCTION take_conflict_counts() RETURNS text
    AS 'MODULE_PATHNAME', 'spock_test_take_conflict_counts' LANGUAGE C;

-- Throws a C++ exception from inside pg_call(), the way a nested pg_call reports a PostgreSQL
-- error, and then lets a PostgreSQL error happen in the same backend: the exception must come
-- out as an ERROR and the next error must still be handled (PostgreSQL's exception stack was
-- restored).
CREATE FUNCTION throw_inside_pg_call(message text) RETURNS void
    AS 'MODULE_PATHNAME', 'spock_test_throw_inside_pg_call' LANGUAGE C STRICT;
