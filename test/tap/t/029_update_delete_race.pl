# Two live nodes replicating both ways, one deleting rows while the other updates the same rows
# at the same time: an UPDATE that reaches a node after the row was deleted there is an
# update_missing conflict (applied as an INSERT when it is the later change) or update_deleted
# (skipped when the DELETE is later), never an error, so nothing is replayed; both nodes end
# identical, and both subscriptions keep replicating with the same worker processes.
# Subscriptions whose names differ only by a "_n<digits>" suffix keep separate positions.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use SpockTest;

# n1's failed workers wait 10 minutes, except after a failure while streaming.
my $n1 = spock_node('race_n1', extension => 1,
    extra => "spock.restart_delay_default = 600000\nspock.restart_delay_on_exception = 100\n");
my $n2 = spock_node('race_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
        SELECT spock.repset_add_table('default', 't');
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2');
spock_subscribe($n1, $n2, 'sub_n2_n1');
$n1->safe_psql('postgres',
    'INSERT INTO t SELECT g, 0 FROM generate_series(1, 400) g UNION ALL '
      . 'SELECT g, 0 FROM generate_series(2001, 2010) g');
spock_wait_caught_up($n1);

# First the case the race below makes only likely, made certain: n2 holds n1's changes while
# n1 deletes rows 2001-2010 and n2 then updates them (later). n1 receives updates of rows it
# deleted earlier: update_missing, applied as inserts; n2 receives deletes older than its
# updates and keeps its rows. Both end with the ten rows.
$n2->safe_psql('postgres', "SELECT spock.sub_disable('sub_n1_n2', true)");
$n2->poll_query_until('postgres', 'SELECT count(*) = 0 FROM spock.get_apply_worker_status()')
  or die 'sub_n1_n2 did not stop';
$n1->safe_psql('postgres', 'DELETE FROM t WHERE id > 2000');
$n2->safe_psql('postgres', 'UPDATE t SET v = v + 1 WHERE id > 2000');
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n2', true)");
spock_wait_replicating($n2, 'sub_n1_n2');
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
is($n1->safe_psql('postgres', 'SELECT count(*), sum(v) FROM t WHERE id > 2000'), '10|10',
    'n1 has the rows n2 updated after n1 deleted them');
is(table_digest($n1, 't'), table_digest($n2, 't'), 'both nodes have the same rows after it');

sub pids {
    my ($node) = @_;
    return $node->safe_psql('postgres',
        "SELECT string_agg(worker_pid::text, ',') FROM spock.get_apply_worker_status()");
}
my ($pid1, $pid2) = (pids($n1), pids($n2));

my $dir = PostgreSQL::Test::Utils::tempdir;
open(my $fh, '>', "$dir/delete.sql") or die;
print $fh "\\set k random(1, 400)\nDELETE FROM t WHERE id = :k;\n";
close $fh;
open($fh, '>', "$dir/update.sql") or die;
print $fh "\\set k random(1, 400)\nUPDATE t SET v = v + 1 WHERE id = :k;\n";
close $fh;
my $seconds = $ENV{SPOCK_RACE_SECONDS} // 6;
spock_pgbench_finish('pgbench',
    spock_pgbench($n1, '-T', $seconds, '-c', '2', '-f', "$dir/delete.sql"),
    spock_pgbench($n2, '-T', $seconds, '-c', '2', '-f', "$dir/update.sql"));
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
is(table_digest($n1, 't'), table_digest($n2, 't'), 'both nodes end with the same rows');
my $missing = $n1->safe_psql('postgres',
    "SELECT confl_update_missing FROM spock.sub_conflict_stats WHERE subname = 'sub_n2_n1'");
ok($missing > 0, "updates of rows deleted meanwhile are update_missing conflicts ($missing)");
is($n1->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
    'they are not errors: nothing in exception_log');
is($n1->safe_psql('postgres', q{
        SELECT xacts_replayed FROM spock.apply_stats() WHERE sub_name = 'sub_n2_n1'}),
    '0', 'apply_stats: no transaction was replayed');
is(pids($n1), $pid1, 'n1: the same apply worker process throughout');
is(pids($n2), $pid2, 'n2: the same apply worker process throughout');
for my $node ($n1, $n2) {
    is($node->safe_psql('postgres',
            "SELECT string_agg(status, ',') FROM spock.sub_show_status()"),
        'replicating', $node->name . ': the subscription is replicating');
}
# Both directions still carry changes.
$n1->safe_psql('postgres', 'INSERT INTO t VALUES (10001, 1)');
$n2->safe_psql('postgres', 'INSERT INTO t VALUES (10002, 2)');
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
is($n1->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id > 10000'), '2', 'n1 has both new rows');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id > 10000'), '2', 'n2 has both new rows');
is($n2->safe_psql('postgres', q{
        SELECT o.roident = n.node_id FROM t, spock.xact_commit_timestamp_origin(t.xmin) o,
             spock.node n WHERE t.id = 10001 AND n.node_name = 'n1'}),
    't', 'xact_commit_timestamp_origin names the node an applied row came from');

# A lost connection is not an apply error: the worker restarts and streams again, after
# spock.restart_delay_on_exception (not restart_delay_default) since it failed while streaming.
$n2->safe_psql('postgres', q{
    SELECT pg_terminate_backend(pid) FROM pg_stat_replication
    WHERE application_name LIKE '%sub_n2_n1%'});
ok($n1->poll_query_until('postgres', qq{
        SELECT count(*) = 1 FROM spock.get_apply_worker_status()
        WHERE worker_status = 'running' AND worker_pid <> $pid1}),
    'after a lost connection the worker is back after restart_delay_on_exception');
$n2->safe_psql('postgres', 'INSERT INTO t VALUES (10003, 3)');
spock_wait_caught_up($n2);
is($n1->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id = 10003'), '1',
    'and replicates again');

# Resume positions belong to one subscription only: "s" and "s_n5" from the same provider
# (their slots differ by a suffix that looked like a forwarded origin's name before).
my $n3 = spock_node('race_n3', extension => 1, extra => "spock.restart_delay_default = 200\n");
spock_create_node($n3, name => 'n3');
$n1->safe_psql('postgres', q{
    CREATE TABLE a (id int PRIMARY KEY);
    CREATE TABLE b (id int PRIMARY KEY);
    SELECT spock.repset_create('set_a');
    SELECT spock.repset_create('set_b');
    SELECT spock.repset_add_table('set_a', 'a');
    SELECT spock.repset_add_table('set_b', 'b');
});
$n3->safe_psql('postgres', 'CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)');
spock_subscribe($n3, $n1, 's', q{replication_sets := '{set_a}'});
spock_subscribe($n3, $n1, 's_n5', q{replication_sets := '{set_b}'});
$n3->safe_psql('postgres', "SELECT spock.sub_disable('s', true)");
$n1->safe_psql('postgres', 'INSERT INTO a VALUES (1)');
$n1->safe_psql('postgres', 'INSERT INTO b VALUES (1)');
$n3->poll_query_until('postgres', 'SELECT count(*) = 1 FROM b');
$n3->safe_psql('postgres', "SELECT spock.sub_enable('s')");
ok($n3->poll_query_until('postgres', 'SELECT count(*) = 1 FROM a'),
    'subscription s resumes at its own position, not at that of s_n5');

$n1->stop;
$n2->stop;
$n3->stop;
done_testing();
