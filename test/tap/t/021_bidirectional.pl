# Two nodes replicating to each other: writes on both converge and nothing loops back.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('bi_n1', extension => 1);
my $n2 = spock_node('bi_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE items (id int PRIMARY KEY, label text, qty int);
        SELECT spock.repset_add_table('default', 'items');
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2');
spock_subscribe($n1, $n2, 'sub_n2_n1');

$n1->safe_psql('postgres',
    "INSERT INTO items SELECT g, 'n1-' || g, g FROM generate_series(1, 500) g");
$n2->safe_psql('postgres',
    "INSERT INTO items SELECT g, 'n2-' || g, g FROM generate_series(1001, 1500) g");
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
is(table_digest($n1, 'items'), table_digest($n2, 'items'), 'inserts on both converge');
is($n1->safe_psql('postgres', 'SELECT count(*) FROM items'), '1000', 'no duplicates');

$n1->safe_psql('postgres', 'UPDATE items SET qty = qty * 2 WHERE id <= 1100 AND id % 2 = 0');
# The updates reach n2 before it deletes (the counts below assume it; an update racing a delete
# of the same row is an update_missing conflict, docs/conflicts.md).
spock_wait_caught_up($n1);
$n2->safe_psql('postgres', 'DELETE FROM items WHERE id % 5 = 0');
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
is(table_digest($n1, 'items'), table_digest($n2, 'items'), 'updates and deletes converge');

# Nothing loops: the origin filter keeps a node's own changes from coming back. n1 updated
# 300 rows; each node has applied exactly those 300 updates once (a loop would apply them again
# as conflicting inserts or repeated updates).
for my $node ($n1, $n2) {
    ok($node->poll_query_until('postgres',
            "SELECT n_tup_upd = 300 FROM pg_stat_user_tables WHERE relname = 'items'"),
        $node->name . ': every update applied exactly once')
      or diag $node->safe_psql('postgres',
        "SELECT n_tup_ins || ' ' || n_tup_upd || ' ' || n_tup_del FROM pg_stat_user_tables "
          . "WHERE relname = 'items'");
}
$n1->safe_psql('postgres', "INSERT INTO items VALUES (5000, 'ping', 1)");
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
is($n1->safe_psql('postgres',
        "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'items'"),
    '300', 'n1 received nothing of its own back');

# Applied rows carry the origin of the node they came from.
my $n1_id = $n1->safe_psql('postgres', 'SELECT node_id FROM spock.node_info()');
my $roident = $n2->safe_psql('postgres',
    "SELECT (pg_xact_commit_timestamp_origin(xmin)).roident FROM items WHERE id = 5000");
isnt($roident, '0', 'applied row has a replication origin');
is($n2->safe_psql('postgres',
        "SELECT (spock.xact_commit_timestamp_origin(xmin)).roident FROM items WHERE id = 5000"),
    $n1_id, 'spock.xact_commit_timestamp_origin names the node it came from');
is($n2->safe_psql('postgres',
        "SELECT external_id FROM pg_replication_origin_status WHERE local_id = $roident"),
    $n2->safe_psql('postgres', "SELECT sub_slot_name FROM spock.subscription WHERE sub_name = 'sub_n1_n2'"),
    'the origin is the subscription\'s own');

# Workers: one per subscription, visible; pausing and resuming leaves replication working.
is($n2->safe_psql('postgres',
        "SELECT count(*) FROM spock.get_apply_worker_status() WHERE worker_status = 'running'"),
    '1', 'n2 runs one apply worker');
my $subid = $n2->safe_psql('postgres',
    "SELECT sub_id FROM spock.subscription WHERE sub_name = 'sub_n1_n2'");
is($n2->safe_psql('postgres', "SELECT spock.wait_for_apply_worker($subid, 300)"), 't',
    'wait_for_apply_worker sees it running');
$n2->safe_psql('postgres', 'SELECT spock.pause_apply_workers()');
$n1->safe_psql('postgres', "INSERT INTO items VALUES (5001, 'while paused', 1)");
$n2->safe_psql('postgres', 'SELECT spock.resume_apply_workers()');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT label FROM items WHERE id = 5001'), 'while paused',
    'the change made while paused arrives after resume');

# Disabling stops the worker; enabling starts it again.
$n2->safe_psql('postgres', "SELECT spock.sub_disable('sub_n1_n2')");
ok($n2->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM spock.get_apply_worker_status()"), 'disabled: worker stopped');
is($n2->safe_psql('postgres', "SELECT status FROM spock.sub_show_status('sub_n1_n2')"),
    'disabled', 'status disabled');
$n1->safe_psql('postgres', "INSERT INTO items VALUES (5002, 'while disabled', 1)");
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n2')");
spock_wait_replicating($n2, 'sub_n1_n2');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT label FROM items WHERE id = 5002'), 'while disabled',
    'enabled again: the change made while disabled arrives');

# Once everything is applied and the provider is quiet, lag_tracker shows no lag: the worker
# records the caught-up position when a keepalive finds nothing in flight.
ok($n2->poll_query_until('postgres',
        "SELECT replication_lag_bytes = 0 AND replication_lag < interval '60 seconds' "
          . "FROM spock.lag_tracker WHERE origin_name = 'n1'"),
    'lag_tracker: no lag when caught up');

# An idle pair stays quiet: each node's spock.progress write is WAL its peer's keepalives
# report, so writing the idle row at every move kept both nodes writing once a second for ever.
# Once n1's apply worker has written its idle row, over six seconds it may write at most once
# more (a commit it applied just before may still be written once; the next idle refresh waits
# ten seconds). Writing at every move of n2's WAL was about six writes in six seconds.
$n1->safe_psql('postgres', 'CREATE EXTENSION pg_walinspect');
$n1->poll_query_until('postgres', 'SELECT bool_and(NOT updated_by_decode) FROM spock.progress')
  or die 'n1 never wrote an idle progress row';
my $idle_from = $n1->safe_psql('postgres', 'SELECT pg_current_wal_flush_lsn()');
my $idle_t0 = $n1->safe_psql('postgres', 'SELECT clock_timestamp()');
$n1->poll_query_until('postgres', "SELECT clock_timestamp() > '$idle_t0'::timestamptz + interval '6 s'")
  or die 'clock did not move';
my $progress_writes = $n1->safe_psql('postgres', qq{
    SELECT CASE WHEN pg_current_wal_flush_lsn() = '$idle_from' THEN 0 ELSE (
        SELECT count(*) FROM pg_get_wal_records_info('$idle_from', pg_current_wal_flush_lsn())
        WHERE resource_manager = 'Heap' AND record_type LIKE '%UPDATE%'
          AND block_ref LIKE '%/' || pg_relation_filenode('spock.progress') || ' %') END});
cmp_ok($progress_writes, '<=', 2, "an idle pair does not keep writing spock.progress ($progress_writes writes in 6 s)");

# Dropping the subscription stops its worker and drops the slot on the provider.
$n2->safe_psql('postgres', "SELECT spock.sub_drop('sub_n1_n2')");
is($n1->safe_psql('postgres',
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'spk_postgres_n1_sub_n1_n2'"),
    '0', 'sub_drop dropped the provider slot');

$n1->stop;
$n2->stop;
done_testing();
