-- The C++ / PostgreSQL error boundary, in a real backend. The helpers live in the test-only
-- extension spock_test, never in the shipped spock script.
CREATE EXTENSION spock_test;
SELECT pg_backend_pid() AS pid_before \gset

-- A C++ exception becomes an ERROR with the SQLSTATE, message, detail and hint it carried.
SELECT spock_test.throw_cpp_error('42704', 'node "n9" does not exist', 'It was never created.',
                                  'Create it with spock.node_create().');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock_test.throw_cpp_error('0A000', 'not here yet');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- A malformed SQLSTATE falls back to internal_error rather than garbage.
SELECT spock_test.throw_cpp_error('nope', 'bad code');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Standard exceptions: out of memory, internal error, unknown type.
SELECT spock_test.throw_std_exception('bad_alloc');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock_test.throw_std_exception('runtime_error');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock_test.throw_std_exception('int');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Each of those six calls owned a tracked object; its destructor ran every time.
SELECT spock_test.destructor_runs() AS after_cpp_errors;

-- A PostgreSQL error raised inside pg_call() travels through C++ frames as an exception and
-- comes back out with the same SQLSTATE and message.
SELECT spock_test.run_query_in_cpp('SELECT 1/0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock_test.run_query_in_cpp('SELECT * FROM no_such_table');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock_test.run_query_in_cpp($$SELECT 'abc'::int$$);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT spock_test.destructor_runs() AS after_pg_errors;

-- C++ sees every field of the PostgreSQL error, and can recover inside a subtransaction.
SELECT spock_test.catch_query_error_in_cpp('SELECT 1/0');
SELECT spock_test.catch_query_error_in_cpp($q$DO $b$ BEGIN RAISE EXCEPTION USING
    ERRCODE = 'P0001', MESSAGE = 'custom', DETAIL = 'the detail', HINT = 'the hint'; END $b$$q$);
SELECT spock_test.catch_query_error_in_cpp('SELECT 1');
SELECT spock_test.destructor_runs() AS after_caught_errors;

-- The same works inside an explicit transaction, which stays usable after a caught error.
BEGIN;
CREATE TEMP TABLE t (x int);
SELECT spock_test.catch_query_error_in_cpp('INSERT INTO t VALUES (1/0)');
SELECT spock_test.run_query_in_cpp('INSERT INTO t VALUES (7) RETURNING x');
SELECT * FROM t;
COMMIT;

-- A PostgreSQL error inside a pg_call nested in another pg_call travels out as one exception;
-- afterwards PostgreSQL's own error handling still works (its exception stack was restored).
SELECT spock_test.throw_inside_pg_call('inner failure');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT 1/0;
SELECT spock_test.run_query_in_cpp('SELECT 1/0');
SELECT spock_test.destructor_runs() AS after_nested;

-- The backend survived every error and still answers.
SELECT pg_backend_pid() = :pid_before AS same_backend, spock_test.run_query_in_cpp('SELECT 42');
