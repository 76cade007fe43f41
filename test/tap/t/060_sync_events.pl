# Sync events and position waits (issue 11, reference §8, docs/add-node.md) on a three-node mesh:
# spock.sync_event() on one node, spock.wait_for_sync_event() by name and by node id on the
# others, with and without data, transactional and not, with timeouts and disabled
# subscriptions; spock.wait_slot_confirm_lsn() waiting and timing out;
# spock.get_lsn_from_commit_ts() finding the end of the last local commit before a time.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use SpockTest;

my @n = map { spock_node("sev_n$_", extension => 1) } 1 .. 3;
my ($n1, $n2, $n3) = @n;
for my $i (0 .. 2) {
    spock_create_node($n[$i], name => 'n' . ($i + 1));
    $n[$i]->safe_psql('postgres', q{
        CREATE TABLE t (id int PRIMARY KEY, src text);
        SELECT spock.repset_add_table('default', 't');
    });
}
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($n[$s], $n[$p], 'sub_n' . ($p + 1) . '_n' . ($s + 1));
    }
}
my $n1_id = $n1->safe_psql('postgres', "SELECT node_id FROM spock.node WHERE node_name = 'n1'");

sub wait_event {
    my ($node, $origin, $lsn, $timeout, $extra) = @_;
    my $args = "NULL, $origin, '$lsn', $timeout" . ($extra // '');
    return $node->safe_psql('postgres', "CALL spock.wait_for_sync_event($args)");
}

# --- a non-transactional event from an idle provider
my $lsn = $n1->safe_psql('postgres', 'SELECT spock.sync_event()');
is(wait_event($n2, "'n1'", $lsn, 30), 't', 'n2 reaches an event of idle n1 (by name)');
is(wait_event($n3, "$n1_id", $lsn, 30), 't', 'n3 reaches it (by node id)');
my $slot = $n2->safe_psql('postgres',
    "SELECT sub_slot_name FROM spock.subscription WHERE sub_name = 'sub_n1_n2'");
is($n2->safe_psql('postgres',
        "SELECT remote_lsn >= '$lsn' FROM pg_replication_origin_status WHERE external_id = '$slot'"),
    't', "the subscription's origin is at the event");

# --- a transactional event in a transaction that changes nothing replicated (Spock 5 leaves
# the origin behind then)
$lsn = $n1->safe_psql('postgres',
    'BEGIN; CREATE TEMP TABLE scratch (x int); SELECT spock.sync_event(true); COMMIT;');
is(wait_event($n2, "'n1'", $lsn, 30), 't', 'a transactional event alone is reached');

# --- events order data: every row committed before the event is there once it is reached
$n1->safe_psql('postgres', join('', map { "INSERT INTO t VALUES ($_, 'n1');\n" } 1 .. 300));
$lsn = $n1->safe_psql('postgres',
    "BEGIN; INSERT INTO t VALUES (301, 'n1'); SELECT spock.sync_event(true); COMMIT;");
is(wait_event($n3, "'n1'", $lsn, 30), 't', 'n3 reaches an event after 301 transactions');
is($n3->safe_psql('postgres', 'SELECT count(*) FROM t'), '301',
    'and has every row committed before it, the event\'s own transaction included');

# --- a timeout: false after about that many seconds
my $t0 = time;
is(wait_event($n2, "'n1'", 'FFFF/0', 1), 'f', 'an event never reached: false after the timeout');
my $took = time - $t0;
ok($took >= 1 && $took < 20, "the timeout held (${took}s)");

# --- errors
my ($rc, $out, $err) = $n2->psql('postgres', "CALL spock.wait_for_sync_event(NULL, 'nx', '0/1')");
like($err, qr/node "nx" does not exist|nx/, 'an unknown origin node is an error');
($rc, $out, $err) = $n1->psql('postgres', "CALL spock.wait_for_sync_event(NULL, 'n1', '0/1')");
like($err, qr/no subscription from node \d+ to the local node "n1"/,
    'no subscription from the origin: an error');
($rc, $out, $err) = $n2->psql('postgres',
    "CALL spock.wait_for_sync_event(NULL, 'n1', '0/1', -1)");
like($err, qr/timeout must not be negative/, 'a negative timeout is an error');

# --- a disabled subscription: an error, or a wait until it is enabled
$n2->safe_psql('postgres', "SELECT spock.sub_disable('sub_n1_n2', true)");
$n2->poll_query_until('postgres',
    "SELECT status = 'disabled' FROM spock.sub_show_status('sub_n1_n2')")
  or die 'sub_n1_n2 not disabled';
$n1->safe_psql('postgres', "INSERT INTO t VALUES (302, 'n1')");
$lsn = $n1->safe_psql('postgres', 'SELECT spock.sync_event()');
($rc, $out, $err) = $n2->psql('postgres', "CALL spock.wait_for_sync_event(NULL, 'n1', '$lsn')");
like($err, qr/subscription "sub_n1_n2" is disabled/, 'a disabled subscription is an error');
is(wait_event($n2, "'n1'", $lsn, 1, ', wait_if_disabled => true'), 'f',
    'wait_if_disabled waits, here until its timeout');

# --- wait_slot_confirm_lsn on n1: n2's slot is behind while its subscription is disabled
my $n2_slot_on_n1 = $slot;
($rc, $out, $err) = $n1->psql('postgres',
    "SET statement_timeout = '1s'; SELECT spock.wait_slot_confirm_lsn(NULL, NULL)");
like($err, qr/canceling statement due to statement timeout/,
    'wait_slot_confirm_lsn waits for every spock slot, until statement_timeout');
my $n3_slot_on_n1 = $n3->safe_psql('postgres',
    "SELECT sub_slot_name FROM spock.subscription WHERE sub_name = 'sub_n1_n3'");
$n1->safe_psql('postgres', "INSERT INTO t VALUES (303, 'n1')");
my $target = $n1->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
$n1->safe_psql('postgres', "SELECT spock.wait_slot_confirm_lsn('$n3_slot_on_n1', '$target')");
is($n1->safe_psql('postgres', "SELECT confirmed_flush_lsn >= '$target' "
          . "FROM pg_replication_slots WHERE slot_name = '$n3_slot_on_n1'"),
    't', 'a named slot that keeps up is waited for until it confirms the position');
($rc, $out, $err) = $n1->psql('postgres', "SELECT spock.wait_slot_confirm_lsn('no_such_slot', NULL)");
like($err, qr/replication slot "no_such_slot" does not exist/, 'an unknown slot is an error');

# --- get_lsn_from_commit_ts on n1, for n2's inactive slot
# The apply workers on n1 write their spock.progress rows in local transactions of their own
# (at most once a second), so a local commit may fall between any two steps below; the checks
# read the WAL (pg_walinspect) to say what the returned position is the end of.
$n1->safe_psql('postgres', 'CREATE EXTENSION pg_walinspect');
sub record_ending_at {
    my ($from, $at) = @_;
    return $n1->safe_psql('postgres',
        "SELECT resource_manager || ' ' || record_type || ' ' || description "
          . "FROM pg_get_wal_records_info('$from', pg_current_wal_flush_lsn()) "
          . "WHERE end_lsn = '$at'");
}
my $before_a = $n1->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$n1->safe_psql('postgres', "INSERT INTO t VALUES (304, 'n1')");
my $after_a = $n1->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
my $mid = $n1->safe_psql('postgres', 'SELECT clock_timestamp()');
my $before_b = $n1->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$n1->safe_psql('postgres', "INSERT INTO t VALUES (305, 'n1')");
my $after_b = $n1->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
# A transaction applied from n3 after that is not local to n1: it does not count.
$n3->safe_psql('postgres', "INSERT INTO t VALUES (306, 'n3')");
$n1->poll_query_until('postgres', 'SELECT count(*) = 1 FROM t WHERE id = 306')
  or die 'row 306 did not reach n1';
my $end = $n1->safe_psql('postgres', 'SELECT clock_timestamp()');
my $restart = $n1->safe_psql('postgres',
    "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = '$n2_slot_on_n1'");
# The end of n1's commit of row 306, applied from n3 (a commit record with an origin).
my $applied_end = $n1->safe_psql('postgres', qq{
    WITH r AS (SELECT * FROM pg_get_wal_records_info('$after_b', pg_current_wal_flush_lsn()))
    SELECT c.end_lsn FROM r c JOIN r i USING (xid)
    WHERE c.resource_manager = 'Transaction' AND c.record_type = 'COMMIT'
      AND c.description LIKE '%origin: node%'
      AND i.resource_manager = 'Heap' AND i.record_type LIKE 'INSERT%'
      AND i.block_ref LIKE '%/' || pg_relation_filenode('t') || ' %'});
isnt($applied_end, '', "n1's commit of the row applied from n3 is in the WAL ($applied_end)");

my $at_mid = $n1->safe_psql('postgres',
    "SELECT spock.get_lsn_from_commit_ts('$n2_slot_on_n1', '$mid')");
is($n1->safe_psql('postgres',
        "SELECT '$at_mid'::pg_lsn >= '$after_a' AND '$at_mid'::pg_lsn <= '$before_b'"),
    't', "a time between two commits gives a position between them ($after_a <= $at_mid <= $before_b)");
like(record_ending_at($before_a, $at_mid), qr/^Transaction COMMIT (?!.*origin)/,
    'and it is the end of a local commit record');
my $at_end = $n1->safe_psql('postgres',
    "SELECT spock.get_lsn_from_commit_ts('$n2_slot_on_n1', '$end')");
is($n1->safe_psql('postgres', "SELECT '$at_end'::pg_lsn >= '$after_b'"),
    't', "a time after the second commit gives its end or a later local commit ($after_b <= $at_end)");
my $rec = record_ending_at($before_a, $at_end);
like($rec, qr/^Transaction COMMIT (?!.*origin)/,
    "the applied transaction is ignored: $at_end ends a local commit ($rec), not $applied_end");
is($n1->safe_psql('postgres',
        "SELECT spock.get_lsn_from_commit_ts('$n2_slot_on_n1', '2000-01-01')"),
    $restart, 'a time before everything gives the slot\'s restart point');
is($n1->safe_psql('postgres',
        "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = '$n2_slot_on_n1'"),
    $restart, 'the slot did not move');
($rc, $out, $err) = $n1->psql('postgres',
    "SELECT spock.get_lsn_from_commit_ts('$n3_slot_on_n1', now())");
like($err, qr/replication slot "\Q$n3_slot_on_n1\E" is active/, 'an active slot is an error');

# --- enabling the subscription again: the waits return
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n2', true)");
is(wait_event($n2, "'n1'", $lsn, 60, ', wait_if_disabled => true'), 't',
    'after sub_enable the event is reached');
$n1->safe_psql('postgres', 'SELECT spock.wait_slot_confirm_lsn(NULL, NULL)');
pass('wait_slot_confirm_lsn returns once every spock slot caught up');
for my $node (@n) {
    is(table_digest($node, 't'), table_digest($n1, 't'), $node->name . ' has the same rows');
}

done_testing();
