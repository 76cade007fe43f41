# Under spock.exception_behaviour = sub_disable, a transaction the subscriber cannot apply
# disables the subscription and records the LSN to skip; the DBA skips exactly that
# transaction with sub_alter_skiplsn, enables the subscription, and replication goes on with the
# next transaction. apply_delay holds changes back.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('skip_n1', extension => 1);
my $n2 = spock_node('skip_n2', extension => 1,
    extra => "spock.restart_delay_default = 200\nspock.exception_behaviour = sub_disable\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
# The subscriber's table refuses v = 'changed', so an UPDATE to it cannot be applied. (An UPDATE
# of a row the subscriber does not have is no longer an error but an update_missing conflict,
# skipped: docs/conflicts.md.)
$n1->safe_psql('postgres', q{
    CREATE TABLE t (id int PRIMARY KEY, v text);
    SELECT spock.repset_add_table('default', 't');
});
$n2->safe_psql('postgres', q{
    CREATE TABLE t (id int PRIMARY KEY, v text CHECK (v <> 'changed'));
    SELECT spock.repset_add_table('default', 't');
});
$n1->safe_psql('postgres', "INSERT INTO t VALUES (1, 'before the subscription')");
$n2->safe_psql('postgres', "INSERT INTO t VALUES (1, 'before the subscription')");
spock_subscribe($n2, $n1, 'sub_n1_n2');
$n1->safe_psql('postgres', "INSERT INTO t VALUES (2, 'before')");
$n1->safe_psql('postgres', "UPDATE t SET v = 'changed' WHERE id = 1");
$n1->safe_psql('postgres', "INSERT INTO t VALUES (3, 'after')");

# The worker fails on the UPDATE, replays it, and disables the subscription, recording the LSN
# of the transaction in spock.exception_log.
ok($n2->poll_query_until('postgres', "SELECT count(*) = 1 FROM t WHERE id = 2"),
    'the transaction before the bad one applied');
ok($n2->poll_query_until('postgres',
        "SELECT NOT sub_enabled FROM spock.subscription WHERE sub_name = 'sub_n1_n2'"),
    'sub_disable: the subscription is disabled');
my $lsn = $n2->safe_psql('postgres', q{
    SELECT substring(error_message from 'skip_lsn = ([0-9A-F]+/[0-9A-F]+)')
    FROM spock.exception_log WHERE operation = 'SUB_DISABLE'});
ok($lsn =~ m{^[0-9A-F]+/[0-9A-F]+$}, "exception_log names the transaction to skip ($lsn)");
like($n2->safe_psql('postgres',
        "SELECT error_message FROM spock.exception_log WHERE operation = 'UPDATE'"),
    qr/^\[\w{5}\] .*row/, 'the failed UPDATE is logged with its error');
ok($n2->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM spock.get_apply_worker_status() WHERE worker_status = 'running'"),
    'the worker stopped');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id = 3'), '0',
    'nothing after it was applied');

# Skip it and enable: the next transaction arrives, the skip LSN is cleared.
$n2->safe_psql('postgres', "SELECT spock.sub_alter_skiplsn('sub_n1_n2', '$lsn')");
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n2')");
ok($n2->poll_query_until('postgres', "SELECT count(*) = 1 FROM t WHERE id = 3"),
    'replication goes on after the skipped transaction');
is($n2->safe_psql('postgres', "SELECT sub_skip_lsn FROM spock.subscription"), '0/0',
    'skip LSN cleared once used');
is($n2->safe_psql('postgres', "SELECT v FROM t WHERE id = 1"), 'before the subscription',
    'the skipped change was not applied');

# apply_delay: a change is applied no sooner than the delay after its commit. The subscriber's
# table has an extra column stamped when the row is applied locally.
$n2->safe_psql('postgres', "SELECT spock.sub_drop('sub_n1_n2')");
$n1->safe_psql('postgres', q{
    CREATE TABLE d (id int PRIMARY KEY, v text);
    SELECT spock.repset_add_table('default', 'd');
});
$n2->safe_psql('postgres',
    'CREATE TABLE d (id int PRIMARY KEY, v text, applied_at timestamptz DEFAULT clock_timestamp())');
spock_subscribe($n2, $n1, 'sub_delayed', q{apply_delay := '2 seconds'});
$n1->safe_psql('postgres', "INSERT INTO d VALUES (10, 'delayed')");
my $committed = $n1->safe_psql('postgres',
    "SELECT pg_xact_commit_timestamp(xmin) FROM d WHERE id = 10");
ok($n2->poll_query_until('postgres', "SELECT count(*) = 1 FROM d WHERE id = 10"),
    'delayed change arrives');
is($n2->safe_psql('postgres',
        "SELECT applied_at - '$committed'::timestamptz >= interval '2 seconds' FROM d WHERE id = 10"),
    't', 'applied at least apply_delay after the provider committed it');
# Applied rows keep the provider's commit time, which conflict resolution compares.
is($n2->safe_psql('postgres', "SELECT pg_xact_commit_timestamp(xmin) FROM d WHERE id = 10"),
    $committed, 'commit timestamp of the applied row is the provider\'s');

$n1->stop;
$n2->stop;
done_testing();
