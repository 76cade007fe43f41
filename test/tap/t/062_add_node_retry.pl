# spock.add_node() on a single-node cluster (the two-node case), a prerequisite failure that
# changes nothing, a failure in a later step (the copy) followed by a retry that resumes, and
# spock.remove_node() afterwards. spock.health_check() before ('pre') and after ('post') the add.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

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

# 2. A failure in a later step: a table on n1 belongs to a role n2 lacks, so the copy's
# schema restore fails; add_node gives up after spock.add_node_timeout naming the step.
$n1->safe_psql('postgres', q{
    CREATE ROLE app_owner NOLOGIN;
    CREATE TABLE owned (id int PRIMARY KEY, v text);
    ALTER TABLE owned OWNER TO app_owner;
    SELECT spock.repset_add_table('default', 'owned');
    INSERT INTO owned SELECT g, 'o' || g FROM generate_series(1, 100) g;
});
($rc, $out, $err) = $n2->psql('postgres', "SET spock.add_node_timeout = 8;\n$call;");
isnt($rc, 0, 'add_node fails when the copy cannot finish');
like($err, qr/step "copy" on node "n1": timed out/, 'the error names the step and the node');
like($err, qr/CALL spock\.add_node\(\) again/, 'the hint says how to go on');
is($n2->safe_psql('postgres',
    q{SELECT string_agg(step || ':' || state, ',' ORDER BY step_no, step) FROM spock.add_node_status}),
    'prerequisites:done,create_node:done,copy:failed', 'add_node_status shows the failed step');

# The DBA fixes the cause and calls add_node again: it resumes and finishes.
$n2->safe_psql('postgres', 'CREATE ROLE app_owner NOLOGIN');
$n1->safe_psql('postgres', "INSERT INTO items SELECT g, 'late' FROM generate_series(1001, 1100) g");
($rc, $out, $err) = $n2->psql('postgres', $call);
is($rc, 0, 'the retried add_node succeeds') or diag $err;
like($err, qr/resuming the unfinished add of node "n2"/, 'the retry resumes');
is($n2->safe_psql('postgres', q{SELECT count(*) FROM spock.add_node_status WHERE state <> 'done'}),
    '0', 'every step done');

spock_wait_replicating($n2, 'sub_n1_n2');
spock_wait_replicating($n1, 'sub_n2_n1');
$n1->safe_psql('postgres', "UPDATE items SET v = 'from n1' WHERE id <= 10");
$n2->safe_psql('postgres', "INSERT INTO items VALUES (5000, 'from n2')");
$n2->safe_psql('postgres', "UPDATE owned SET v = 'from n2' WHERE id <= 5");
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
for my $t ('items', 'owned') {
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
