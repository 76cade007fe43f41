# Early apply of streamed transactions (docs/architecture.md, "Early apply of streamed
# transactions"): the subscriber's stream apply process applies a large transaction's changes
# while the provider still runs it, and commits them at the provider's commit. Two nodes
# subscribed to each other with logical_decoding_work_mem = 64kB. Checked: rows applied early
# are invisible until the provider commits and visible soon after; a savepoint rolled back and
# a provider abort leave nothing; a change that fails on the subscriber falls back to the
# spool, where exception handling logs it; a deadlock between the worker (a whole transaction
# between two blocks whose subscriber-only trigger updates a row the early-applied one holds)
# and the process is resolved without losing a change; a process terminated mid-stream falls
# back to the spool; a kill -9 of the process mid-stream loses and doubles nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use SpockTest;

my $conf = "logical_decoding_work_mem = 64kB\nspock.restart_delay_default = 100\n"
  . "restart_after_crash = on\ndeadlock_timeout = 200ms\n";
my $n1 = spock_node('early_n1', extension => 1, extra => $conf);
my $n2 = spock_node('early_n2', extension => 1, extra => $conf);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE big (id bigint PRIMARY KEY, v int NOT NULL, note text);
        CREATE TABLE chk (id int PRIMARY KEY, v int NOT NULL);
        CREATE TABLE ev (id int PRIMARY KEY);
        SELECT spock.repset_add_table('default', t) FROM unnest(ARRAY['big', 'chk', 'ev']) t;
    });
}
# Subscriber-only: n2 refuses negative values in chk, and counts the rows of ev in tally.
$n2->safe_psql('postgres', 'ALTER TABLE chk ADD CHECK (v >= 0)');
$n2->safe_psql('postgres', q{
    CREATE TABLE tally (n int NOT NULL);
    INSERT INTO tally VALUES (0);
    CREATE FUNCTION count_ev() RETURNS trigger LANGUAGE plpgsql AS
        $$BEGIN UPDATE public.tally SET n = n + 1; RETURN NEW; END$$;
    CREATE TRIGGER count_ev AFTER INSERT ON ev FOR EACH ROW EXECUTE FUNCTION count_ev();
    ALTER TABLE ev ENABLE ALWAYS TRIGGER count_ev;
});
spock_subscribe($n2, $n1, 'sub_n1_n2', 'synchronize_data := false');
spock_subscribe($n1, $n2, 'sub_n2_n1', 'synchronize_data := false');

sub caught_up {
    spock_wait_caught_up($n1);
    spock_wait_caught_up($n2);
}
sub status {
    my ($col) = @_;
    return $n2->safe_psql('postgres',
        "SELECT coalesce(sum($col), 0) FROM spock.get_stream_apply_status()");
}
sub count_of {
    my ($where) = @_;
    return $n2->safe_psql('postgres', "SELECT count(*) FROM big WHERE $where");
}

# ----- applied while it runs, visible at its commit ----------------------------------------------
my $s = $n1->background_psql('postgres');
$s->query_safe('BEGIN');
$s->query_safe(q{INSERT INTO big SELECT g, 1, 'early' FROM generate_series(1, 20000) g});
$s->query_safe('SAVEPOINT a');
$s->query_safe(q{INSERT INTO big SELECT g, 9, 'rolled back' FROM generate_series(50001, 55000) g});
$s->query_safe(q{UPDATE big SET v = 9 WHERE id <= 3000});
$s->query_safe('ROLLBACK TO a');
$s->query_safe(q{UPDATE big SET v = 2 WHERE id % 4 = 0});
$s->query_safe(q{INSERT INTO big SELECT g, 3, 'early' FROM generate_series(20001, 30000) g});
ok($n2->poll_query_until('postgres',
        'SELECT coalesce(sum(changes_applied), 0) >= 30000 FROM spock.get_stream_apply_status()'),
    'n2 applies the changes of the running transaction early');
is(count_of('true'), '0', 'none of them is visible before the provider commits');
is(status('xacts_committed'), '0', 'nothing committed early yet');
my $t0 = time;
$s->query_safe('COMMIT');
ok($n2->poll_query_until('postgres', "SELECT count(*) = 30000 FROM big WHERE note = 'early'"),
    'every row is visible after the commit');
my $visible = time - $t0;
diag(sprintf 'commit to visible on n2: %.2f s', $visible);
cmp_ok($visible, '<', 10, 'soon after the commit: it was applied already');
is(status('xacts_committed'), '1', 'the transaction was committed by the stream apply process');
is(status('xacts_fallen_back'), '0', 'without falling back');
is(count_of("note = 'rolled back'"), '0', 'the savepoint rolled back left nothing');
caught_up();
is(table_digest($n2, 'big'), table_digest($n1, 'big'), 'big identical on both nodes');
# The process applies under its origin from the first change on: n2's walsender to n1 sees
# n1's changes as n1's while it decodes them before the commit, and sends none of them back.
is($n2->safe_psql('postgres', q{
        SELECT coalesce(sum(s.stream_txns), 0) FROM pg_stat_replication_slots s
        JOIN pg_replication_slots r USING (slot_name) WHERE r.plugin = 'spock_output'}), '0',
    'n2 streamed nothing of it back to n1');

# ----- the provider aborts ------------------------------------------------------------------------
my $applied = status('changes_applied');
$s->query_safe('BEGIN');
$s->query_safe(q{INSERT INTO big SELECT g, 5, 'aborted' FROM generate_series(100001, 120000) g});
ok($n2->poll_query_until('postgres',
        'SELECT coalesce(sum(changes_applied), 0) >= ' . ($applied + 10000)
          . ' FROM spock.get_stream_apply_status()'),
    'the transaction that will abort is applied early');
$s->query_safe('ROLLBACK');
$n1->safe_psql('postgres', q{INSERT INTO big VALUES (0, 0, 'after the abort')});
caught_up();
is(count_of("note = 'aborted'"), '0', 'nothing of the aborted transaction stays');
is(count_of("note = 'after the abort'"), '1', 'the transaction after it is applied');
ok($n2->poll_query_until('postgres',
        "SELECT process_status = 'idle' AND xid IS NULL FROM spock.get_stream_apply_status()"),
    'the process rolled back and is idle');

# ----- a change that fails on n2: back to the spool, exception handling as always --------------
my $fallbacks = status('xacts_fallen_back');
my $xid = $n1->safe_psql('postgres', q{
    BEGIN;
    INSERT INTO chk SELECT g, 1 FROM generate_series(1, 20000) g;
    INSERT INTO chk VALUES (20001, -1);
    SELECT txid_current();
    COMMIT;
});
caught_up();
cmp_ok(status('xacts_fallen_back'), '>', $fallbacks, 'the failing transaction fell back');
is($n2->safe_psql('postgres', 'SELECT last_fallback FROM spock.get_stream_apply_status()'),
    'an error in the stream apply process', 'because of the error');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM chk'), '0',
    'transdiscard from the spool: nothing of it is applied');
is($n2->safe_psql('postgres', q{
        SELECT count(*) FROM spock.exception_log WHERE error_message LIKE '[23514]%'
        AND table_name = 'chk'} . " AND remote_xid = $xid"), '1',
    'the failing change is in spock.exception_log');

# ----- a deadlock between the worker and the process ----------------------------------------------
# On n2 only, an ALWAYS trigger counts the rows of ev in the one row of tally. X inserts into ev
# early (the process then holds the tally row); a whole transaction committed on n1 between two
# blocks of X inserts into ev too: on n2 the worker waits for the process's row lock while the
# process waits for X's next block.
$fallbacks = status('xacts_fallen_back');
$s->query_safe('BEGIN');
$s->query_safe(q{INSERT INTO ev VALUES (1)});
$s->query_safe(q{INSERT INTO big SELECT g, 6, 'deadlock' FROM generate_series(200001, 220000) g});
ok($n2->poll_query_until('postgres',
        'SELECT xid IS NOT NULL FROM spock.get_stream_apply_status()'),
    'the transaction is applied early');
$n1->safe_psql('postgres', q{INSERT INTO ev VALUES (2)});
ok($n2->poll_query_until('postgres', 'SELECT count(*) = 1 FROM ev WHERE id = 2'),
    'the whole transaction in between is applied: the deadlock was resolved');
# Either side may have been chosen by the deadlock detector; the worker hears of a process
# that rolled back at its next look.
ok($n2->poll_query_until('postgres', 'SELECT coalesce(sum(xacts_fallen_back), 0) > '
          . $fallbacks . ' FROM spock.get_stream_apply_status()'),
    'the early apply fell back');
$s->query_safe(q{INSERT INTO big SELECT g, 6, 'deadlock' FROM generate_series(220001, 230000) g});
$s->query_safe('COMMIT');
caught_up();
is(count_of("note = 'deadlock'"), '30000', 'every row of the transaction is applied, once');
is($n2->safe_psql('postgres', q{SELECT (SELECT n FROM tally) || ' ' || count(*) FROM ev}), '2 2',
    'the trigger ran once for each row of both transactions');
is($n2->safe_psql('postgres', q{SELECT string_agg(status, ',') FROM spock.sub_show_status()}),
    'replicating', 'n2 goes on replicating');

# ----- the process terminated in the middle of a stream: the spool applies the transaction ------
$s->query_safe('BEGIN');
$s->query_safe(q{INSERT INTO big SELECT g, 8, 'terminated' FROM generate_series(250001, 270000) g});
ok($n2->poll_query_until('postgres',
        "SELECT xid IS NOT NULL AND process_status <> 'failed' FROM spock.get_stream_apply_status()"),
    'the transaction is applied early');
$fallbacks = status('xacts_fallen_back');
$n2->safe_psql('postgres',
    'SELECT pg_terminate_backend(process_pid::int) FROM spock.get_stream_apply_status()');
$s->query_safe(q{INSERT INTO big SELECT g, 8, 'terminated' FROM generate_series(270001, 280000) g});
ok($n2->poll_query_until('postgres', 'SELECT coalesce(sum(xacts_fallen_back), 0) > '
          . $fallbacks . ' FROM spock.get_stream_apply_status()'),
    'the worker notices the process is gone and falls back');
is($n2->safe_psql('postgres', 'SELECT last_fallback FROM spock.get_stream_apply_status()'),
    'the stream apply process is gone', 'because it is gone');
$s->query_safe('COMMIT');
caught_up();
is($n2->safe_psql('postgres',
        "SELECT count(*) || ' ' || count(DISTINCT id) FROM big WHERE note = 'terminated'"),
    '30000 30000', 'the spool applied every row of the transaction, once');

# ----- kill -9 of the stream apply process in the middle of a stream ------------------------------
$s->query_safe('BEGIN');
$s->query_safe(q{INSERT INTO big SELECT g, 7, 'killed' FROM generate_series(300001, 320000) g});
ok($n2->poll_query_until('postgres',
        "SELECT xid IS NOT NULL AND process_status <> 'failed' FROM spock.get_stream_apply_status()"),
    'the transaction is applied early');
my $pid = $n2->safe_psql('postgres', 'SELECT process_pid FROM spock.get_stream_apply_status()');
kill 'KILL', $pid;
$s->query_safe(q{INSERT INTO big SELECT g, 7, 'killed' FROM generate_series(320001, 330000) g});
$s->query_safe('COMMIT');
$s->quit;
# n2 restarts after the crash; a psql that meets it in recovery may break the poll's pipe.
my $back;
for my $try (1 .. 5) {
    $back = eval {
        $n2->poll_query_until('postgres', "SELECT count(*) = 1 FROM spock.get_apply_worker_status() "
              . "WHERE worker_status = 'running'");
    };
    last if $back;
}
ok($back, 'the apply worker runs again after the crash restart');
spock_wait_replicating($n2, 'sub_n1_n2');
caught_up();
is($n2->safe_psql('postgres',
        "SELECT count(*) || ' ' || count(DISTINCT id) FROM big WHERE note = 'killed'"),
    '30000 30000', 'after the kill: every row of the transaction, once');
is(table_digest($n2, 'big'), table_digest($n1, 'big'), 'big identical on both nodes');

# ----- streaming with parallel apply: spooled, applied whole at the commit -----------------------
my $old = $n2->safe_psql('postgres', q{SELECT worker_pid FROM spock.get_apply_worker_status()
    WHERE worker_status = 'running'});
$n2->safe_psql('postgres', 'ALTER SYSTEM SET spock.parallel_apply_workers = 2');
$n2->reload;
ok($n2->poll_query_until('postgres', "SELECT count(*) = 1 FROM spock.get_apply_worker_status() "
          . "WHERE worker_status = 'running' AND worker_pid <> $old"),
    'the apply worker restarts with two parallel apply processes');
spock_wait_replicating($n2, 'sub_n1_n2');
my $streamed = $n1->safe_psql('postgres', q{
    SELECT coalesce(sum(s.stream_txns), 0) FROM pg_stat_replication_slots s
    JOIN pg_replication_slots r USING (slot_name) WHERE r.plugin = 'spock_output'});
my $p = $n1->background_psql('postgres');
$p->query_safe('BEGIN');
$p->query_safe(q{INSERT INTO big SELECT g, 9, 'parallel' FROM generate_series(400001, 420000) g});
$p->query_safe('SAVEPOINT a');
$p->query_safe(q{UPDATE big SET v = -9 WHERE id BETWEEN 400001 AND 405000});
$p->query_safe('ROLLBACK TO a');
# Small transactions of another session commit while it streams.
$n1->safe_psql('postgres', "INSERT INTO big VALUES ($_, 9, 'parallel small')") for 500001 .. 500020;
$p->query_safe(q{DELETE FROM big WHERE id BETWEEN 410001 AND 411000});
$p->query_safe('COMMIT');
$p->quit;
caught_up();
cmp_ok($n1->safe_psql('postgres', q{
        SELECT coalesce(sum(s.stream_txns), 0) FROM pg_stat_replication_slots s
        JOIN pg_replication_slots r USING (slot_name) WHERE r.plugin = 'spock_output'}),
    '>', $streamed, 'n1 streamed the transaction to the parallel apply worker');
is($n2->safe_psql('postgres', q{SELECT count(*) || ' ' || sum(v) FROM big
        WHERE note IN ('parallel', 'parallel small')}), '19020 171180',
    'with parallel apply: every row once, the savepoint rolled back');
is(table_digest($n2, 'big'), table_digest($n1, 'big'), 'big identical on both nodes');

$n1->stop;
$n2->stop;
done_testing();
