# Streaming of large in-progress transactions (docs/replication.md, "Large transactions"): two
# nodes subscribed to each other, both with logical_decoding_work_mem = 64kB, so every
# transaction of more than a few hundred rows is streamed while it runs and applied by the
# subscriber from its spool at the commit. Large transactions with savepoints rolled back and
# released, one that aborts, two interleaved from two sessions while small transactions on both
# nodes write the same rows, a kill -9 of the subscriber's apply worker in the middle of a
# stream, a conflict and a failing change inside streamed transactions; then the same with
# spock.stream_in_progress off. The nodes end identical each time, nothing lost or doubled,
# and pg_stat_replication_slots says whether streaming happened.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $conf = "logical_decoding_work_mem = 64kB\nspock.restart_delay_default = 100\nrestart_after_crash = on\n";
my $n1 = spock_node('stream_n1', extension => 1, extra => $conf);
my $n2 = spock_node('stream_n2', extension => 1, extra => $conf);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE big (id bigint PRIMARY KEY, v int NOT NULL, note text);
        CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL, by_node text);
        CREATE TABLE chk (id int PRIMARY KEY, v int NOT NULL);
        CREATE SEQUENCE batch_seq;
        SELECT spock.repset_add_table('default', t) FROM unnest(ARRAY['big', 'hot', 'chk']) t;
    });
}
# n2 refuses negative values in chk: a change of n1 fails there.
$n2->safe_psql('postgres', 'ALTER TABLE chk ADD CHECK (v >= 0)');
$n1->safe_psql('postgres', 'INSERT INTO hot SELECT g, 0, NULL FROM generate_series(1, 100) g');
$n2->safe_psql('postgres', 'INSERT INTO hot SELECT g, 0, NULL FROM generate_series(1, 100) g');
spock_subscribe($n2, $n1, 'sub_n1_n2', 'synchronize_data := false');
spock_subscribe($n1, $n2, 'sub_n2_n1', 'synchronize_data := false');

# Transactions streamed (and spilled) by a node's walsenders so far.
sub slot_stats {
    my ($node) = @_;
    return $node->safe_psql('postgres', q{
        SELECT coalesce(sum(s.stream_txns), 0) || ' ' || coalesce(sum(s.spill_txns), 0)
        FROM pg_stat_replication_slots s JOIN pg_replication_slots r USING (slot_name)
        WHERE r.plugin = 'spock_output'});
}
sub streamed { return (split / /, slot_stats($_[0]))[0] }
# Waits until n1's walsenders streamed at least $n transactions in all (the statistics are
# updated as decoding goes).
sub streamed_at_least {
    my ($n, $what) = @_;
    ok($n1->poll_query_until('postgres', q{
            SELECT coalesce(sum(s.stream_txns), 0) >= } . $n . q{
            FROM pg_stat_replication_slots s JOIN pg_replication_slots r USING (slot_name)
            WHERE r.plugin = 'spock_output'}), $what)
      or diag 'stream_txns, spill_txns: ' . slot_stats($n1);
}
sub spool_files {
    my ($node) = @_;
    return $node->safe_psql('postgres', q{
        SELECT count(*) FROM pg_ls_dir('pg_spock/replay') f WHERE f LIKE 'stream_sub_%'});
}
sub caught_up {
    spock_wait_caught_up($n1);
    spock_wait_caught_up($n2);
}
sub same {
    my ($what) = @_;
    for my $t (qw(big hot)) {
        is(table_digest($n2, $t), table_digest($n1, $t), "$what: $t identical on both nodes");
    }
}
sub worker_pid {
    my ($node) = @_;
    return $node->safe_psql('postgres',
        "SELECT worker_pid FROM spock.get_apply_worker_status() WHERE worker_status = 'running'");
}

# ----- one large transaction with savepoints ----------------------------------------------------
my $before = streamed($n1);
$n1->safe_psql('postgres', q{
    BEGIN;
    INSERT INTO big SELECT g, 0, 'first' FROM generate_series(1, 30000) g;
    SAVEPOINT a;
    UPDATE big SET v = -1, note = 'rolled back' WHERE id <= 10000;
    INSERT INTO big SELECT g, -1, 'rolled back' FROM generate_series(500001, 505000) g;
    ROLLBACK TO a;
    SAVEPOINT b;
    DELETE FROM big WHERE id > 25000;
    SAVEPOINT c;
    UPDATE big SET v = 2, note = 'released' WHERE id % 3 = 0;
    RELEASE c;
    RELEASE b;
    SAVEPOINT d;
    UPDATE big SET note = 'nested rolled back' WHERE id % 7 = 0;
    SAVEPOINT e;
    DELETE FROM big WHERE id < 100;
    ROLLBACK TO d;
    UPDATE big SET v = v + 1 WHERE id % 5 = 0;
    COMMIT;
});
caught_up();
streamed_at_least($before + 1,
    'n1 streamed the transaction to n2 (pg_stat_replication_slots.stream_txns)');
is($n2->safe_psql('postgres', q{
        SELECT count(*) || ' ' || sum(v) || ' ' || count(*) FILTER (WHERE note = 'released')
        FROM big}),
    $n1->safe_psql('postgres', q{
        SELECT count(*) || ' ' || sum(v) || ' ' || count(*) FILTER (WHERE note = 'released')
        FROM big}),
    'the savepoints rolled back are gone and the released ones applied');
is($n2->safe_psql('postgres', "SELECT count(*) FROM big WHERE note LIKE '%rolled back'"), '0',
    'nothing of the rolled back subtransactions reached n2');
same('savepoints');
is(spool_files($n2), '0', 'n2 has no spool file left');

# ----- a large transaction that aborts ----------------------------------------------------------
$before = streamed($n1);
$n1->safe_psql('postgres', q{
    BEGIN;
    INSERT INTO big SELECT g, 9, 'aborted' FROM generate_series(600001, 620000) g;
    UPDATE big SET note = 'aborted' WHERE id <= 5000;
    ROLLBACK;
    INSERT INTO big VALUES (0, 0, 'after the abort');
});
caught_up();
streamed_at_least($before + 1, 'the aborted transaction was streamed before it aborted');
is($n2->safe_psql('postgres', "SELECT count(*) FROM big WHERE note = 'aborted'"), '0',
    'nothing of the aborted transaction is applied');
is($n2->safe_psql('postgres', 'SELECT note FROM big WHERE id = 0'), 'after the abort',
    'the transaction after it is');
is(spool_files($n2), '0', 'the aborted transaction left no spool file');

# ----- two large transactions interleaved, small ones on both nodes writing the same rows -------
my $dir = PostgreSQL::Test::Utils::tempdir;
open my $fh, '>', "$dir/hot.sql" or die;
print $fh "\\set h random(1, 100)\nUPDATE hot SET v = v + 1, by_node = 'n' || :node WHERE id = :h;\n";
close $fh;
my $seconds = $ENV{SPOCK_STREAM_SECONDS} // 6;
my @runs = map {
    spock_pgbench(($n1, $n2)[$_], '-c', '2', '-j', '1', '-T', $seconds, '-D', 'node=' . ($_ + 1),
        '-f', "$dir/hot.sql")
} 0, 1;
$before = streamed($n1);
my @s = map { $n1->background_psql('postgres') } 1 .. 2;
$_->query_safe('BEGIN') for @s;
for my $round (0 .. 4) {
    for my $k (0 .. 1) {
        my $base = 1_000_000 * ($k + 1) + 10_000 * $round;
        $s[$k]->query_safe("INSERT INTO big SELECT $base + g, $k, 'interleaved' "
              . 'FROM generate_series(1, 4000) g');
        $s[$k]->query_safe("UPDATE hot SET v = v + 100, by_node = 'big$k' "
              . "WHERE id % 10 = $round * 2 + $k");
    }
}
$s[0]->query_safe("DELETE FROM big WHERE id BETWEEN 1000001 AND 1002000");
$s[1]->query_safe("UPDATE big SET v = 7 WHERE id BETWEEN 2000001 AND 2004000");
$s[1]->query_safe('COMMIT');
$s[0]->query_safe('COMMIT');
$_->quit for @s;
spock_pgbench_finish('small transactions on the same rows', @runs);
caught_up();
streamed_at_least($before + 2, 'both large transactions were streamed');
is($n2->safe_psql('postgres', "SELECT count(*) FROM big WHERE note = 'interleaved'"), '38000',
    'n2 has every row of both interleaved transactions, once');
same('interleaved');

# ----- kill -9 of the subscriber's apply worker in the middle of a stream -----------------------
my $pid = worker_pid($n2);
my $s = $n1->background_psql('postgres');
$s->query_safe('BEGIN');
$s->query_safe(q{INSERT INTO big SELECT g, 1, 'killed' FROM generate_series(3000001, 3020000) g});
ok($n2->poll_query_until('postgres', q{
        SELECT count(*) > 0 FROM pg_ls_dir('pg_spock/replay') f WHERE f LIKE 'stream_sub_%'}),
    'n2 spools the transaction while it runs');
is($n2->safe_psql('postgres', "SELECT count(*) FROM big WHERE note = 'killed'"), '0',
    'nothing of it is applied before its commit');
kill 'KILL', $pid;
$s->query_safe(q{INSERT INTO big SELECT g, 2, 'killed' FROM generate_series(3020001, 3030000) g});
$s->query_safe('COMMIT');
$s->quit;
# n2 restarts after the crash; a psql that meets it in recovery may break the poll's pipe.
my $restarted;
for my $try (1 .. 5) {
    $restarted = eval {
        $n2->poll_query_until('postgres',
            "SELECT count(*) = 1 FROM spock.get_apply_worker_status() "
              . "WHERE worker_status = 'running' AND worker_pid <> $pid");
    };
    last if $restarted;
}
ok($restarted, 'a new apply worker runs after the kill');
spock_wait_replicating($n2, 'sub_n1_n2');
caught_up();
is($n2->safe_psql('postgres',
        "SELECT count(*) || ' ' || count(DISTINCT id) FROM big WHERE note = 'killed'"),
    '30000 30000', 'after the kill: every row of the transaction, once');
same('kill -9');

# ----- a conflict inside a streamed transaction -------------------------------------------------
# n1 does not hear from n2 for a moment; n2 deletes a row, then n1 updates it in a streamed
# transaction: n2 receives an UPDATE of a row it deleted earlier (update_missing, applied as an
# insert, the later change), n1 then a DELETE older than its update (its row stays).
$n1->safe_psql('postgres', q{INSERT INTO big VALUES (900001, 0, 'conflict')});
caught_up();
my $missing = $n2->safe_psql('postgres',
    "SELECT confl_update_missing FROM spock.sub_conflict_stats WHERE subname = 'sub_n1_n2'");
$n1->safe_psql('postgres', "SELECT spock.sub_disable('sub_n2_n1', true)");
$n1->poll_query_until('postgres', 'SELECT count(*) = 0 FROM spock.get_apply_worker_status()')
  or die 'sub_n2_n1 did not stop';
$n2->safe_psql('postgres', 'DELETE FROM big WHERE id = 900001');
$before = streamed($n1);
$n1->safe_psql('postgres', q{
    BEGIN;
    INSERT INTO big SELECT g, 3, 'conflict' FROM generate_series(4000001, 4010000) g;
    UPDATE big SET v = 42 WHERE id = 900001;
    COMMIT;
});
spock_wait_caught_up($n1);
$n1->safe_psql('postgres', "SELECT spock.sub_enable('sub_n2_n1', true)");
spock_wait_replicating($n1, 'sub_n2_n1');
caught_up();
streamed_at_least($before + 1, 'the transaction with the conflict was streamed');
cmp_ok($n2->safe_psql('postgres',
        "SELECT confl_update_missing FROM spock.sub_conflict_stats WHERE subname = 'sub_n1_n2'"),
    '>', $missing, 'its UPDATE of the row deleted meanwhile is an update_missing conflict');
is($n2->safe_psql('postgres', 'SELECT v FROM big WHERE id = 900001'), '42',
    'resolved as for a whole transaction: the later update is applied as an insert');
same('conflict');

# ----- a failing change inside a streamed transaction --------------------------------------------
my $xid = $n1->safe_psql('postgres', q{
    BEGIN;
    INSERT INTO chk SELECT g, 1 FROM generate_series(1, 5000) g;
    INSERT INTO chk VALUES (5001, -1);
    SELECT txid_current();
    COMMIT;
});
caught_up();
is($n2->safe_psql('postgres', 'SELECT count(*) FROM chk'), '0',
    'transdiscard: nothing of the failing streamed transaction is applied');
is($n2->safe_psql('postgres', q{
        SELECT count(*) FROM spock.exception_log WHERE error_message LIKE '[23514]%'
        AND table_name = 'chk'} . " AND remote_xid = $xid"), '1',
    'the failing change is in spock.exception_log with the remote xid');
is($n2->safe_psql('postgres', q{
        SELECT string_agg(status, ',') FROM spock.sub_show_status()}), 'replicating',
    'n2 goes on replicating');

# ----- spock.stream_in_progress = off: whole transactions, the same result -----------------------
$pid = worker_pid($n2);
$n2->safe_psql('postgres', 'ALTER SYSTEM SET spock.stream_in_progress = off');
$n2->reload;
ok($n2->poll_query_until('postgres', "SELECT count(*) = 1 FROM spock.get_apply_worker_status() "
          . "WHERE worker_status = 'running' AND worker_pid <> $pid"),
    'the apply worker restarts when the setting changes');
spock_wait_replicating($n2, 'sub_n1_n2');
my ($streams, $spills) = split / /, slot_stats($n1);
$n1->safe_psql('postgres', q{
    BEGIN;
    INSERT INTO big SELECT g, 5, 'not streamed' FROM generate_series(5000001, 5020000) g;
    SAVEPOINT a;
    DELETE FROM big WHERE id > 5010000;
    ROLLBACK TO a;
    COMMIT;
});
caught_up();
ok($n1->poll_query_until('postgres', q{
        SELECT coalesce(sum(s.spill_txns), 0) > } . $spills . q{
        FROM pg_stat_replication_slots s JOIN pg_replication_slots r USING (slot_name)
        WHERE r.plugin = 'spock_output'}), 'the provider spilled the transaction instead');
is(streamed($n1), $streams, 'and streamed nothing');
is($n2->safe_psql('postgres', "SELECT count(*) FROM big WHERE note = 'not streamed'"), '20000',
    'the whole transaction arrived');
same('streaming off');
is(spool_files($n2), '0', 'no spool file on n2 at the end');

$n1->stop;
$n2->stop;
done_testing();
