# Apply errors never stop replication (docs/exceptions.md): a remote transaction that fails on
# the subscriber is replayed from the worker's record in the same process, each change in its
# own subtransaction, and handled as spock.exception_behaviour says. The apply worker keeps its
# process id throughout; spock.exception_log and spock.apply_stats() say what happened.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('exc_n1', extension => 1);
my $n2 = spock_node('exc_n2', extension => 1,
    extra => "spock.restart_delay_default = 200\nrestart_after_crash = on\n"
      # replays beyond 10 in 10 seconds are logged at DEBUG1; the test waits for such lines
      . "log_min_messages = debug1\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);
        SELECT spock.repset_add_table('default', 't');
    });
}
# A constraint only the subscriber has: negative values fail there.
$n2->safe_psql('postgres', 'ALTER TABLE t ADD CONSTRAINT t_v_check CHECK (v >= 0)');
spock_subscribe($n2, $n1, 'sub_n1_n2');

sub worker_pid {
    return $n2->safe_psql('postgres',
        "SELECT worker_pid FROM spock.get_apply_worker_status() WHERE worker_status = 'running'");
}
my $pid = worker_pid();
ok($pid =~ /^\d+$/, "apply worker runs (pid $pid)");

# Each transaction: one good row and one row the subscriber refuses.
sub failing_batch {
    my ($from, $count) = @_;
    my $sql = '';
    for my $i ($from .. $from + $count - 1) {
        my $bad = 100000 + $i;
        $sql .= "BEGIN; INSERT INTO t VALUES ($i, 1); INSERT INTO t VALUES ($bad, -1); COMMIT;\n";
    }
    $n1->safe_psql('postgres', $sql);
}

# --- transdiscard (the default): nothing of a failing transaction is applied
failing_batch(1, 50);
$n1->safe_psql('postgres', 'INSERT INTO t VALUES (1000, 7)');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id <= 50 OR id > 100000'), '0',
    'transdiscard: nothing of the failing transactions applied');
is($n2->safe_psql('postgres', 'SELECT v FROM t WHERE id = 1000'), '7',
    'the transaction after them applied');
is($n2->safe_psql('postgres',
        "SELECT count(*) FROM spock.exception_log WHERE error_message LIKE '[23514] %t_v_check%'"),
    '50', 'one exception_log row per failed change, with SQLSTATE and message');
is($n2->safe_psql('postgres',
        "SELECT count(*) FROM spock.exception_log "
          . "WHERE error_message LIKE 'transdiscard: change discarded because change % failed%'"),
    '50', 'the good change of each transaction is logged as discarded with it');
is($n2->safe_psql('postgres', q{
        SELECT table_schema || '.' || table_name || ' ' || operation || ' '
               || (remote_new_tup -> 1 ->> 'attname') || '=' || (remote_new_tup -> 1 ->> 'value')
        FROM spock.exception_log WHERE error_message LIKE '[23514]%'
        ORDER BY command_counter LIMIT 1}),
    'public.t INSERT v=-1', 'the log row names table, operation and the remote tuple');
is($n2->safe_psql('postgres', q{
        SELECT xacts_replayed || ' ' || xacts_discarded || ' ' || changes_discarded
        FROM spock.apply_stats() WHERE sub_name = 'sub_n1_n2'}),
    '50 50 100', 'apply_stats counts the replayed transactions and discarded changes');
is(worker_pid(), $pid, 'the same apply worker process throughout');

# A change that found its local row before failing names it: local_tup, and the node and
# commit time the local row came from.
$n1->safe_psql('postgres', 'UPDATE t SET v = -5 WHERE id = 1000');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', q{
        SELECT (local_tup -> 1 ->> 'value') || ' '
               || (local_origin = (SELECT node_id FROM spock.node WHERE node_name = 'n1')) || ' '
               || (local_commit_ts IS NOT NULL) || ' ' || (remote_new_tup -> 1 ->> 'value')
        FROM spock.exception_log WHERE operation = 'UPDATE'}),
    '7 true true -5', 'the failed UPDATE is logged with the local row, its origin and commit time');
is($n2->safe_psql('postgres', 'SELECT v FROM t WHERE id = 1000'), '7', 'and was not applied');

# --- discard: the good rows are kept, the failed ones skipped and logged
$n2->safe_psql('postgres', q{
    ALTER SYSTEM SET spock.exception_behaviour = 'discard';
    ALTER SYSTEM SET spock.exception_logging = 'discard';
    SELECT pg_reload_conf();
});
$n2->safe_psql('postgres', 'TRUNCATE spock.exception_log');
failing_batch(201, 50);
$n1->safe_psql('postgres', 'INSERT INTO t VALUES (1001, 8)');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id BETWEEN 201 AND 250'), '50',
    'discard: the good change of every failing transaction applied');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id > 100000'), '0',
    'discard: the failed changes skipped');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '50',
    'exception_logging = discard: one row per failed change, none for applied ones');
is(worker_pid(), $pid, 'still the same apply worker process');

# A transaction whose error does not recur on replay is applied, not thrown away: a trigger
# on the subscriber fails the first time it runs only (sequences are not transactional).
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE f (id int PRIMARY KEY);
        SELECT spock.repset_add_table('default', 'f');
    });
}
$n2->safe_psql('postgres', q{
    CREATE SEQUENCE flaky_seq;
    CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF nextval('public.flaky_seq') = 1 THEN RAISE EXCEPTION 'transient failure'; END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER flaky BEFORE INSERT ON f FOR EACH ROW EXECUTE FUNCTION flaky();
    ALTER TABLE f ENABLE ALWAYS TRIGGER flaky;
    ALTER SYSTEM SET spock.exception_behaviour = 'transdiscard';
    SELECT pg_reload_conf();
});
$n1->safe_psql('postgres', 'INSERT INTO f VALUES (1)');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM f'), '1',
    'transdiscard: a transaction whose error does not recur on replay is applied');
is($n2->safe_psql('postgres',
        "SELECT xacts_applied_on_replay FROM spock.apply_stats() WHERE sub_name = 'sub_n1_n2'"),
    '1', 'apply_stats counts it as applied on replay');

# --- a transaction far larger than spock.exception_replay_queue_size is replayed from the
# spill file: same worker, same walsender, the spill file gone afterwards.
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE big (id int PRIMARY KEY, v int NOT NULL, pad text);
        SELECT spock.repset_add_table('default', 'big');
    });
}
$n2->safe_psql('postgres', q{
    ALTER TABLE big ADD CONSTRAINT big_v_check CHECK (v >= 0);
    ALTER SYSTEM SET spock.exception_behaviour = 'discard';
    ALTER SYSTEM SET spock.exception_replay_queue_size = '64kB';
    SELECT pg_reload_conf();
});
my $walsender = $n1->safe_psql('postgres',
    "SELECT pid FROM pg_stat_replication WHERE application_name LIKE '%sub_n1_n2%'");
$pid = worker_pid();
$n1->safe_psql('postgres',
    'BEGIN; INSERT INTO big SELECT g, 1, repeat(\'x\', 40) FROM generate_series(1, 20000) g; '
      . 'INSERT INTO big VALUES (20001, -1, NULL); COMMIT;');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*), max(id) FROM big'), '20000|20000',
    'spilled transaction replayed: every good row applied, the bad one skipped');
is($n2->safe_psql('postgres', q{
        SELECT xacts_spilled > 0 AND bytes_spilled > 65536 FROM spock.apply_stats()
        WHERE sub_name = 'sub_n1_n2'}),
    't', 'apply_stats counts the spilled transaction');
is(worker_pid(), $pid, 'the same apply worker process');
is($n1->safe_psql('postgres',
        "SELECT pid FROM pg_stat_replication WHERE application_name LIKE '%sub_n1_n2%'"),
    $walsender, 'the same walsender on the provider: nothing was fetched again');
my $spill_dir = $n2->data_dir . '/pg_spock/replay';
opendir(my $dh, $spill_dir) or die "no $spill_dir";
my @left = grep { !/^\./ } readdir($dh);
closedir($dh);
is(scalar(@left), 0, 'no spill file left behind');
$n2->safe_psql('postgres', q{
    ALTER SYSTEM RESET spock.exception_replay_queue_size;
    SELECT pg_reload_conf();
});

# --- kill -9 of the worker in the middle of a replay loses and duplicates nothing. A trigger
# makes each row slow on the subscriber, so the replay takes a few seconds.
$n2->safe_psql('postgres', q{
    CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$;
    CREATE TRIGGER slow BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION slow_row();
    ALTER TABLE t ENABLE ALWAYS TRIGGER slow;
    ALTER SYSTEM SET spock.exception_behaviour = 'discard';
    SELECT pg_reload_conf();
});
my $log_offset = -s $n2->logfile;
$n1->safe_psql('postgres',
    'BEGIN; INSERT INTO t SELECT g, 1 FROM generate_series(2001, 2300) g; '
      . 'INSERT INTO t VALUES (2301, -1); COMMIT;');
ok($n2->wait_for_log(qr/failed; it is replayed/, $log_offset), 'the big transaction failed once');
$n2->poll_query_until('postgres', 'SELECT count(*) > 0 FROM pg_stat_activity '
      . "WHERE backend_type LIKE 'spock apply%' AND wait_event = 'PgSleep'");
my $old = worker_pid();
kill 'KILL', $old;
# The postmaster restarts everything after a backend crash; then the worker comes back and
# receives the transaction again.
$n2->poll_query_until('postgres', 'SELECT count(*) = 300 FROM t WHERE id > 2000')
  or diag 'rows after kill: ' . $n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id > 2000');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*), min(id), max(id) FROM t WHERE id > 2000'),
    '300|2001|2300', 'after kill -9 during replay: every good row once, the bad one skipped');

# --- an immediate restart of the subscriber during a replay
$log_offset = -s $n2->logfile;
$n1->safe_psql('postgres',
    'BEGIN; INSERT INTO t SELECT g, 1 FROM generate_series(3001, 3300) g; '
      . 'INSERT INTO t VALUES (3301, -1); COMMIT;');
ok($n2->wait_for_log(qr/failed; it is replayed/, $log_offset), 'the next big transaction failed');
$n2->stop('immediate');
$n2->start;
$n2->poll_query_until('postgres', 'SELECT count(*) = 300 FROM t WHERE id > 3000')
  or diag 'rows after restart: ' . $n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id > 3000');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*), min(id), max(id) FROM t WHERE id > 3000'),
    '300|3001|3300', 'after an immediate restart during replay: every good row once');

$n1->stop;
$n2->stop;
done_testing();
