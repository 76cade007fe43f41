# Zero-downtime add: a 3-node mesh under continuous writes on all three nodes (distinct rows and
# shared rows updated everywhere); CALL spock.add_node() from n4 while the load runs. Afterwards
# every table is identical on all four nodes and all 12 subscriptions replicate. Then
# spock.remove_node() on n4 leaves n1-n3 identical and replicating with nothing of n4 anywhere.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use SpockTest;

my @nodes = map { spock_node("add_n$_", extension => 1) } 1 .. 4;
my @names = map { "n$_" } 1 .. 4;
my @dsns = map { spock_dsn($_) } @nodes;
for my $i (0 .. 2) {
    spock_create_node($nodes[$i], name => $names[$i]);
    $nodes[$i]->safe_psql('postgres', q{
        CREATE SEQUENCE load_seq;
        CREATE TABLE load (node text, id bigint, v int, PRIMARY KEY (node, id));
        CREATE TABLE shared (id int PRIMARY KEY, v int NOT NULL, by text);
        SELECT spock.repset_add_table('default', 'load');
        SELECT spock.repset_add_table('default', 'shared');
    });
}
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($nodes[$s], $nodes[$p], "sub_$names[$p]_$names[$s]");
    }
}
$nodes[0]->safe_psql('postgres',
    'INSERT INTO shared SELECT g, 0, NULL FROM generate_series(1, 50) g');
# SPOCK_ADD_NODE_ROWS (rows per node, default 20000) scales the data for a measurement.
my $rows = $ENV{SPOCK_ADD_NODE_ROWS} // 20000;
for my $i (0 .. 2) {
    $nodes[$i]->safe_psql('postgres',
        "INSERT INTO load SELECT '$names[$i]', nextval('load_seq'), g FROM generate_series(1, $rows) g");
}
spock_wait_caught_up($_) for @nodes[0 .. 2];

# The load: each node inserts its own rows and updates shared rows that the others update too.
my $dir = PostgreSQL::Test::Utils::tempdir();
for my $i (0 .. 2) {
    open(my $fh, '>', "$dir/load_$names[$i].sql") or die;
    print $fh "\\set sid random(1, 50)\n"
      . "INSERT INTO load VALUES ('$names[$i]', nextval('load_seq'), :sid);\n"
      . "UPDATE shared SET v = v + 1, by = '$names[$i]' WHERE id = :sid;\n";
    close $fh;
}
sub load_round {
    my @runs;
    for my $i (0 .. 2) {
        my ($out, $err) = ('', '');
        my $h = IPC::Run::start(
            ['pgbench', '-n', '-T', '2', '-c', '2', '-R', '100', '-f', "$dir/load_$names[$i].sql",
                '-h', $nodes[$i]->host, '-p', $nodes[$i]->port, 'postgres'],
            '>', \$out, '2>', \$err);
        push @runs, [$h, \$out, \$err];
    }
    my ($failed, $txns) = (0, 0);
    for my $r (@runs) {
        my $ok = $r->[0]->finish;
        $failed++ if !$ok || ${$r->[2]} =~ /ERROR/;
        diag ${$r->[2]} if !$ok;
        my ($n) = ${$r->[1]} =~ /number of transactions actually processed: (\d+)/;
        $txns += $n // 0;
    }
    return ($failed, $txns);
}

# add_node from n4 in the background; load rounds run until it returns.
my ($add_out, $add_err) = ('', '');
my $t0 = time();
my $add = IPC::Run::start(
    ['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-h', $nodes[3]->host, '-p', $nodes[3]->port,
        '-d', 'postgres', '-c',
        "CALL spock.add_node('n1', '$dsns[0]', 'n4', '$dsns[3]', verb := true)"],
    '>', \$add_out, '2>', \$add_err);
my ($failed, $txns, $rounds) = (0, 0, 0);
while ($add->pumpable) {
    my ($f, $t) = load_round();
    $failed += $f;
    $txns += $t;
    $rounds++;
    $add->pump_nb;
    last if $rounds > 600;
}
my $add_ok = $add->finish;
my $add_seconds = time() - $t0;
ok($add_ok, 'add_node succeeded under load') or diag $add_err;
diag sprintf('add_node took %.1f s under load (%d load rounds, %d transactions), database %s',
    $add_seconds, $rounds, $txns,
    $nodes[0]->safe_psql('postgres', 'SELECT pg_size_pretty(pg_database_size(current_database()))'));
ok($rounds >= 2, 'the load ran during the add');
is($failed, 0, 'zero client errors during the add');
# A little more load with all four nodes in the mesh.
my ($f2) = load_round();
is($f2, 0, 'zero client errors after the add');

spock_wait_caught_up($_) for @nodes;
spock_wait_caught_up($_) for @nodes;
for my $t (['load', 'node, id'], ['shared', 'id']) {
    my $d = table_digest($nodes[0], $t->[0], order_by => $t->[1]);
    for my $i (1 .. 3) {
        is(table_digest($nodes[$i], $t->[0], order_by => $t->[1]), $d,
            "$t->[0] identical on $names[$i] and n1");
    }
}
my $subs = 0;
for my $i (0 .. 3) {
    $nodes[$i]->poll_query_until('postgres',
        q{SELECT bool_and(status = 'replicating') FROM spock.sub_show_status()})
      or die "subscriptions of $names[$i] are not all replicating";
    $subs += $nodes[$i]->safe_psql('postgres', 'SELECT count(*) FROM spock.sub_show_status()');
}
is($subs, 12, 'all 12 subscriptions replicating');

# n4 is a full member: its own writes reach everyone.
$nodes[3]->safe_psql('postgres', "INSERT INTO load VALUES ('n4', 1, 1)");
spock_wait_caught_up($nodes[3]);
is($_->safe_psql('postgres', "SELECT count(*) FROM load WHERE node = 'n4'"), '1',
    'a write on n4 reached ' . $_->name) for @nodes[0 .. 2];

# remove_node on n4, under load on n1-n3.
my $rm = IPC::Run::start(
    ['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-h', $nodes[3]->host, '-p', $nodes[3]->port,
        '-d', 'postgres', '-c', "CALL spock.remove_node('n4', '$dsns[3]')"],
    '>', \my $rm_out, '2>', \my $rm_err);
($failed) = load_round();
my $rm_ok = $rm->finish;
ok($rm_ok, 'remove_node succeeded') or diag $rm_err;
is($failed, 0, 'zero client errors during the removal');
spock_wait_caught_up($_) for @nodes[0 .. 2];
spock_wait_caught_up($_) for @nodes[0 .. 2];
for my $t (['load', 'node, id'], ['shared', 'id']) {
    my $d = table_digest($nodes[0], $t->[0], order_by => $t->[1]);
    is(table_digest($nodes[$_], $t->[0], order_by => $t->[1]), $d,
        "$t->[0] identical on $names[$_] and n1 after the removal") for 1 .. 2;
}
for my $i (0 .. 2) {
    is($nodes[$i]->safe_psql('postgres',
        q{SELECT count(*) || '/' || count(*) FILTER (WHERE status = 'replicating') FROM spock.sub_show_status()}),
        '2/2', "$names[$i]: its two subscriptions replicate");
    is($nodes[$i]->safe_psql('postgres',
        q{SELECT (SELECT count(*) FROM spock.subscription WHERE sub_name LIKE '%n4%')
          + (SELECT count(*) FROM spock.node WHERE node_name = 'n4')
          + (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE '%n4%')
          + (SELECT count(*) FROM pg_replication_origin WHERE roname LIKE '%n4%')}),
        '0', "$names[$i]: no n4 subscription, node row, slot or origin");
}
is($nodes[3]->safe_psql('postgres',
    q{SELECT (SELECT count(*) FROM spock.node) + (SELECT count(*) FROM pg_replication_slots)
      + (SELECT count(*) FROM pg_replication_origin) + (SELECT count(*) FROM spock.subscription)}),
    '0', 'n4: no node, slot, origin or subscription left');

done_testing();
