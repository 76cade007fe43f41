# spock.add_node() on a single-node cluster (the two-node case): prerequisite failures (a user
# table, missing roles) that change nothing; failures in the copy (a timeout, the source stopping
# mid-copy, a failed post-data restore) each followed by add_node again, which resumes; and
# spock.remove_node() afterwards. spock.health_check() before ('pre') and after ('post') the add.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;
use IPC::Run;

my $n1 = spock_node('addr_n1', extension => 1);
my $n2 = spock_node('addr_n2', extension => 1);
my ($dsn1, $dsn2) = (spock_dsn($n1), spock_dsn($n2));
spock_create_node($n1, name => 'n1');
$n1->safe_psql('postgres', q{
    CREATE TABLE items (id int PRIMARY KEY, v text);
    SELECT spock.repset_add_table('default', 'items');
    INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 1000) g;
});

my $call = "CALL spock.add_node('n1', '$dsn1', 'n2', '$dsn2', verb := true)";

# What a failed prerequisite must leave unchanged, on both nodes.
sub footprint {
    my $s1 = $n1->safe_psql('postgres',
        q{SELECT (SELECT count(*) FROM spock.node) || '/' || (SELECT count(*) FROM pg_replication_slots)
          || '/' || (SELECT count(*) FROM spock.subscription)});
    my $s2 = $n2->safe_psql('postgres',
        q{SELECT (SELECT count(*) FROM spock.node) || '/' || (SELECT count(*) FROM spock.subscription)
          || '/' || (SELECT count(*) FROM spock.add_node_progress)
          || '/' || (SELECT count(*) FROM pg_replication_origin)});
    return "$s1 $s2";
}
my $before = footprint();

# 1. The new node has a user table: a clear error, nothing changed anywhere.
$n2->safe_psql('postgres', 'CREATE TABLE stray (id int)');
my ($rc, $out, $err) = $n2->psql('postgres', $call);
isnt($rc, 0, 'add_node refuses a new node with user tables');
like($err, qr/the new node already has user tables/, 'error names the problem');
like($err, qr/public\.stray/, 'detail names the table');
is(footprint(), $before, 'the failed prerequisite changed nothing');
# health_check 'pre' reports the same problem, and changes nothing either.
my $pre = "CALL spock.health_check('n1', '$dsn1', 'n2', '$dsn2', 'pre', true)";
($rc, $out, $err) = $n2->psql('postgres', $pre);
isnt($rc, 0, 'health_check pre fails where add_node would');
like($err, qr/health_check pre: 1 of 3 checks failed/, 'health_check counts the failed checks');
like($err, qr/FAILED add_node prerequisites for new node "n2".*new node already has user tables/,
    'health_check names the failed check and its problem');
like($err, qr/ok source "n1" is reachable and is that node/, 'the passed checks are reported too');
is(footprint(), $before, 'health_check changed nothing');
$n2->safe_psql('postgres', 'DROP TABLE stray');
($rc, $out, $err) = $n2->psql('postgres', $pre);
is($rc, 0, 'health_check pre passes on an empty new node') or diag $err;
like($err, qr/health_check pre: all 3 checks passed/, 'and says so');
is(footprint(), $before, 'a passing health_check changed nothing');

# Unreachable source and a wrong source name: errors, nothing changed.
($rc, $out, $err) = $n2->psql('postgres',
    "CALL spock.add_node('n1', 'host=/nonexistent port=1 dbname=postgres', 'n2', '$dsn2')");
like($err, qr/cannot query the source node "n1"/, 'unreachable source is an error');
($rc, $out, $err) = $n2->psql('postgres', "CALL spock.add_node('nx', '$dsn1', 'n2', '$dsn2')");
like($err, qr/is not spock node "nx"/, 'wrong source name is an error');
is(footprint(), $before, 'those failures changed nothing either');

# 2. A table on n1 belongs to a role n2 lacks, and another role is granted on it: add_node
# refuses before the copy, naming both roles, and changes nothing.
$n1->safe_psql('postgres', q{
    CREATE ROLE app_owner NOLOGIN;
    CREATE ROLE app_reader NOLOGIN;
    CREATE TABLE owned (id int PRIMARY KEY, v text);
    ALTER TABLE owned OWNER TO app_owner;
    GRANT SELECT ON owned TO app_reader;
    SELECT spock.repset_add_table('default', 'owned');
    INSERT INTO owned SELECT g, 'o' || g FROM generate_series(1, 100) g;
});
($rc, $out, $err) = $n2->psql('postgres', "$call;");
isnt($rc, 0, 'add_node refuses when roles of the source are missing');
like($err, qr/roles of the source node are missing on the new node/, 'the error says so');
like($err, qr/DETAIL:  Missing roles: app_owner, app_reader /, 'the detail names the missing roles');
like($err, qr/HINT:  Create these roles on this node first/, 'the hint says what to do');
is(footprint(), $before, 'the role check changed nothing');
$n2->safe_psql('postgres', 'CREATE ROLE app_owner NOLOGIN; CREATE ROLE app_reader NOLOGIN');

# 3. Failures during the copy, each followed by add_node again. A table of n1 has a row filter
# that sleeps a second per row while test.slow_copy is on in n1's database, so the copy's data
# step lasts ten seconds.
$n1->safe_psql('postgres', q{
    CREATE FUNCTION slow_filter(i int) RETURNS boolean LANGUAGE plpgsql AS $f$
    BEGIN
        IF current_setting('test.slow_copy', true) = 'on' THEN
            PERFORM pg_sleep(1);
        END IF;
        RETURN true;
    END $f$;
    CREATE TABLE slow (id int PRIMARY KEY);
    INSERT INTO slow SELECT generate_series(1, 10);
    SELECT spock.repset_add_table('default', 'slow', row_filter := 'slow_filter(id)');
    ALTER DATABASE postgres SET test.slow_copy = on;
});
# A timeout: add_node gives up after spock.add_node_timeout, naming the step and the node.
($rc, $out, $err) = $n2->psql('postgres', "SET spock.add_node_timeout = 3;\n$call;");
isnt($rc, 0, 'add_node fails when the copy does not finish in time');
like($err, qr/step "copy" on node "n1": timed out waiting until the structure and data of "n1" are copied/,
    'the error names the step, the node and what it waited for');
like($err, qr/CALL spock\.add_node\(\) again/, 'the hint says how to go on');
is($n2->safe_psql('postgres',
    q{SELECT string_agg(step || ':' || state, ',' ORDER BY step_no, step) FROM spock.add_node_status}),
    'prerequisites:done,create_node:done,copy:failed', 'add_node_status shows the failed step');

# The source stops in the middle of the copy's data step.
my ($aout, $aerr) = ('', '');
my $add = IPC::Run::start(
    [ 'psql', '-X', '-d', $n2->connstr('postgres'), '-c', "SET spock.add_node_timeout = 8", '-c', $call ],
    '>', \$aout, '2>', \$aerr);
ok($n2->poll_query_until('postgres',
    q{SELECT count(*) > 0 FROM spock.add_node_progress p, spock.local_sync_status ss
      JOIN spock.subscription s ON s.sub_id = ss.sync_subid
      WHERE p.step = 'copy' AND p.attempts = 2 AND p.state = 'running'
        AND s.sub_name = 'sub_n1_n2' AND ss.sync_nspname IS NULL AND ss.sync_status = 'd'}),
    'the copy is taken again and copies data');
$n1->stop('fast');
$add->finish;
isnt($?, 0, 'add_node fails when the source stops mid-copy');
like($aerr, qr/resuming the unfinished add/, 'it had resumed the earlier add');
like($aerr, qr/step "copy" on node "n1"/, 'the failure names the copy and the source');
$n1->start;
$n1->safe_psql('postgres', 'ALTER DATABASE postgres RESET test.slow_copy');

# A failure in the copy's post-data section: an index of n1 cannot be built on n2, after the
# tables and rows are there. Retrying drops what the failed copy restored and copies again.
$n1->safe_psql('postgres', q{
    CREATE FUNCTION idx_check(i int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $f$
    BEGIN
        IF current_setting('test.fail_index', true) = 'on' THEN
            RAISE EXCEPTION 'injected index failure';
        END IF;
        RETURN i;
    END $f$;
    CREATE INDEX items_check ON items (idx_check(id));
});
$n2->safe_psql('postgres', 'ALTER DATABASE postgres SET test.fail_index = on');
($rc, $out, $err) = $n2->psql('postgres', "SET spock.add_node_timeout = 8;\n$call;");
isnt($rc, 0, 'add_node fails when the post-data restore fails');
like($err, qr/step "copy" on node "n1": timed out/, 'the copy step failed');
is($n2->safe_psql('postgres', q{SELECT count(*) FROM items}), '1000',
    'the failed copy had loaded the rows before the indexes');
is($n2->safe_psql('postgres', q{SELECT count(*) FROM pg_indexes WHERE indexname = 'items_check'}),
    '0', 'but not the index');
$n2->safe_psql('postgres', 'ALTER DATABASE postgres RESET test.fail_index');

# The DBA fixes the cause and calls add_node again: it resumes and finishes.
$n1->safe_psql('postgres', "INSERT INTO items SELECT g, 'late' FROM generate_series(1001, 1100) g");
($rc, $out, $err) = $n2->psql('postgres', $call);
is($rc, 0, 'the retried add_node succeeds') or diag $err;
like($err, qr/resuming the unfinished add of node "n2"/, 'the retry resumes');
like($err, qr/dropped \d+ objects an earlier copy had restored/, 'it dropped the failed copy first');
is($n2->safe_psql('postgres', q{SELECT count(*) FROM spock.add_node_status WHERE state <> 'done'}),
    '0', 'every step done');
is($n2->safe_psql('postgres', q{SELECT count(*) FROM pg_indexes WHERE indexname = 'items_check'}),
    '1', 'the index that failed before is there');

spock_wait_replicating($n2, 'sub_n1_n2');
spock_wait_replicating($n1, 'sub_n2_n1');
$n1->safe_psql('postgres', "UPDATE items SET v = 'from n1' WHERE id <= 10");
$n2->safe_psql('postgres', "INSERT INTO items VALUES (5000, 'from n2')");
$n2->safe_psql('postgres', "UPDATE owned SET v = 'from n2' WHERE id <= 5");
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
for my $t ('items', 'owned', 'slow') {
    is(table_digest($n2, $t), table_digest($n1, $t), "$t identical on n1 and n2");
}
is($n1->safe_psql('postgres', 'SELECT count(*) FROM items'), '1101', 'n1 has every row');

# health_check 'post' after the add: run from n1, the new node's DSN looked up on the source.
my $post = "CALL spock.health_check('n1', '$dsn1', 'n2', NULL, 'post', true)";
($rc, $out, $err) = $n1->psql('postgres', $post);
is($rc, 0, 'health_check post passes after the add') or diag $err;
like($err, qr/ok n1 -> n2: subscription replicating, slot on n1/, 'it checks n1 -> n2');
like($err, qr/ok n2 -> n1: subscription replicating, slot on n2/, 'it checks n2 -> n1');
like($err, qr/health_check post: all 7 checks passed/, 'every check passed');
# A disabled subscription fails it, naming the subscription.
$n1->safe_psql('postgres', "SELECT spock.sub_disable('sub_n2_n1', true)");
($rc, $out, $err) = $n1->psql('postgres', $post);
isnt($rc, 0, 'health_check post fails with a disabled subscription');
like($err, qr/FAILED n2 -> n1: subscription replicating, slot on n2: sub_n2_n1 is disabled/,
    'the failure names the subscription and its state');
$n1->safe_psql('postgres', "SELECT spock.sub_enable('sub_n2_n1', true)");
spock_wait_replicating($n1, 'sub_n2_n1');

# The Z0DAN procedures that act on live nodes, by their reference names, from n2.
my $z = sub {
    my ($sql) = @_;
    my ($r, $o, $e) = $n2->psql('postgres', $sql);
    is($r, 0, "$sql succeeds") or diag $e;
    return $e;
};
like($z->("CALL spock.wait_for_replication_catchup_with_dblink('n1', 'n2', '$dsn2', true, 30)"),
    qr/node n2 caught up with node n1/, 'wait_for_replication_catchup_with_dblink waits for n1');
like($z->("CALL spock.trigger_source_sync_and_wait_on_new_node('n1', '$dsn1', 'n2', '$dsn2', true, true)"),
    qr/subscription sub_n1_n2 is replicating/, 'trigger_source_sync_and_wait_on_new_node');
like($z->("CALL spock.monitor_lag_with_dblink('n1', 'n2', '$dsn2')"), qr/n1 -> n2: lag \d+ bytes/,
    'monitor_lag_with_dblink reports the lag');
like($z->("CALL spock.show_all_subscription_status('$dsn1')"),
    qr/node n1: subscription sub_n2_n1 from n2 is replicating.*node n2: subscription sub_n1_n2 from n1 is replicating/s,
    'show_all_subscription_status lists every node\'s subscriptions');
like($z->("CALL spock.verify_subscription_replicating('$dsn1', 'sub_n2_n1')"),
    qr/subscription sub_n2_n1 is replicating/, 'verify_subscription_replicating on n1');
my $lsn = $n2->safe_psql('postgres', "CALL spock.sync_event('$dsn1', false)");
like($lsn, qr{^[0-9A-F]+/[0-9A-F]+$}, 'the sync_event procedure returns the LSN of n1\'s event');
is($n2->safe_psql('postgres', "CALL spock.wait_for_sync_event(NULL, 'n1', '$lsn', 30)"), 't',
    'and n2 applies it');
is($n1->safe_psql('postgres', q{SELECT string_agg(slot_name, ',') FROM spock.get_node_slots('n2')}),
    $n1->safe_psql('postgres', q{SELECT sub_slot_name FROM spock.subscription WHERE sub_name = 'sub_n2_n1'}),
    'get_node_slots names the slot n1 uses on n2');

# 3. remove_node on n2: nothing of n2 left on n1, n1 keeps working alone.
($rc, $out, $err) = $n2->psql('postgres', "CALL spock.remove_node('n2', '$dsn2')");
is($rc, 0, 'remove_node succeeds') or diag $err;
is($n1->safe_psql('postgres',
    q{SELECT (SELECT count(*) FROM spock.subscription) || '/' || (SELECT count(*) FROM pg_replication_slots)
      || '/' || (SELECT count(*) FROM pg_replication_origin) || '/'
      || (SELECT string_agg(node_name, ',') FROM spock.node)}),
    '0/0/0/n1', 'n1: no subscription, slot, origin or node row of n2');
is($n2->safe_psql('postgres',
    q{SELECT (SELECT count(*) FROM spock.node) || '/' || (SELECT count(*) FROM spock.subscription)
      || '/' || (SELECT count(*) FROM pg_replication_slots) || '/' || (SELECT count(*) FROM pg_replication_origin)}),
    '0/0/0/0', 'n2: no node, subscription, slot or origin');
($rc, $out, $err) = $n2->psql('postgres', "CALL spock.remove_node('n2', '$dsn2')");
like($err, qr/this database is not a spock node/, 'remove_node on a removed node says so');

# samples/Z0DAN/zodan.sql and zodremove.sql load harmlessly where the extension is.
my $procs = q{SELECT count(*) FROM pg_proc WHERE pronamespace = 'spock'::regnamespace};
my $nprocs = $n1->safe_psql('postgres', $procs);
for my $f ('zodan.sql', 'zodremove.sql') {
    my $path = "$ENV{SPOCK_SOURCE_DIR}/samples/Z0DAN/$f";
    ($rc, $out, $err) = $n1->psql('postgres', slurp_file($path));
    is($rc, 0, "$f loads") or diag $err;
    like($err, qr/ships with the spock extension/, "$f says where the procedures are");
}
is($n1->safe_psql('postgres', $procs), $nprocs, 'loading the samples changed nothing');

done_testing();
