-- spock.readonly (reference §10.1): sessions cannot write under `user` (alias `local`) or
-- `all`, with SQLSTATE 25006 and a message naming the mode; reads, temporary tables and
-- session commands still work. terminate_active_transactions() ends the transactions other
-- sessions still have open.
SELECT format('host=%s port=%s dbname=',
              split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port')) AS base \gset
CREATE DATABASE spock_readonly;
\c spock_readonly
CREATE EXTENSION spock;
CREATE TABLE ro_t (id int PRIMARY KEY, v text);
INSERT INTO ro_t VALUES (1, 'a');
CREATE TEMP TABLE ro_tmp (id int);
CREATE ROLE spock_ro_user;
GRANT ALL ON ro_t TO spock_ro_user;

SET spock.readonly = 'user';
SHOW spock.readonly;
INSERT INTO ro_t VALUES (2, 'b');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE ro_t SET v = 'x';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM ro_t;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
WITH d AS (DELETE FROM ro_t RETURNING *) SELECT count(*) FROM d;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM ro_t FOR UPDATE;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE ro_t;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
COPY ro_t FROM '/nonexistent/ro_t.data';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TABLE ro_new (id int);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE ro_t ADD COLUMN w int;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Writes inside functions and DO blocks go through the same check.
DO $$ BEGIN INSERT INTO ro_t VALUES (5, 'e'); END $$;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Spock's own functions that write are refused too.
SELECT spock.node_create('ro_n1', :'base' || 'spock_readonly');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- What still works: reads, COPY TO, EXPLAIN, temporary tables, transactions, SET.
SELECT * FROM ro_t ORDER BY id;
COPY ro_t TO stdout;
EXPLAIN (COSTS OFF) INSERT INTO ro_t VALUES (3, 'c');
INSERT INTO ro_tmp VALUES (1);
SELECT count(*) FROM ro_tmp;
BEGIN;
SET LOCAL work_mem = '8MB';
SELECT count(*) FROM ro_t;
COMMIT;

-- `local` is accepted for `user`; `all` refuses the same.
SET spock.readonly = local;
SHOW spock.readonly;
INSERT INTO ro_t VALUES (2, 'b');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SET spock.readonly = 'all';
INSERT INTO ro_t VALUES (2, 'b');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Only a superuser changes the mode.
SET ROLE spock_ro_user;
SET spock.readonly = off;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO ro_t VALUES (2, 'b');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

RESET spock.readonly;
INSERT INTO ro_t VALUES (2, 'b');
SELECT * FROM ro_t ORDER BY id;

-- terminate_active_transactions(): another session, idle in a transaction that wrote a row,
-- loses the transaction (and its row); this session is untouched.
CREATE EXTENSION dblink;
SELECT dblink_connect('victim', :'base' || 'spock_readonly') AS connected;
SELECT * FROM dblink('victim', 'SELECT pg_backend_pid()') AS t(pid int) \gset victim_
SELECT dblink_exec('victim', 'BEGIN');
SELECT dblink_exec('victim', 'INSERT INTO ro_t VALUES (100, ''victim'')');
BEGIN;
SELECT spock.terminate_active_transactions();
COMMIT;
SET spock_test.victim = :'victim_pid';
DO $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '30 seconds';
BEGIN
    WHILE EXISTS (SELECT 1 FROM pg_stat_activity
                  WHERE pid = current_setting('spock_test.victim')::int
                    AND xact_start IS NOT NULL) LOOP
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'the other session still has its transaction';
        END IF;
        PERFORM pg_sleep(0.05);
        -- pg_stat_activity is read once per transaction unless the snapshot is cleared.
        PERFORM pg_stat_clear_snapshot();
    END LOOP;
END
$$;
SELECT count(*) AS victim_rows FROM ro_t WHERE id = 100;
SELECT dblink_disconnect('victim') IS NOT NULL AS disconnected;
-- It is not for everybody.
SET ROLE spock_ro_user;
SELECT spock.terminate_active_transactions();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

\c regression
DROP DATABASE spock_readonly WITH (FORCE);
DROP ROLE spock_ro_user;
