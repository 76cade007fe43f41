# A conflict storm on a three-node mesh: every node inserts, updates and deletes the same few
# hot keys at once. Conflicts are resolved (docs/conflicts.md); an apply error that still
# happens (a deadlock with a local multi-row transaction, say) is replayed and handled; no apply
# worker restarts and all six subscriptions keep replicating. This test checks that
# replication never stops; t/034_conflict_storm_converge.pl checks that the nodes end identical.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use SpockTest;

my @nodes = map { spock_node("storm_n$_", extension => 1) } 1 .. 3;
for my $i (0 .. 2) {
    spock_create_node($nodes[$i], name => 'n' . ($i + 1));
    $nodes[$i]->safe_psql('postgres', q{
        CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL DEFAULT 0, n text);
        SELECT spock.repset_add_table('default', 'hot');
    });
}
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($nodes[$s], $nodes[$p], 'sub_n' . ($p + 1) . '_n' . ($s + 1));
    }
}
my %pids = map { $_->name => $_->safe_psql('postgres',
        "SELECT string_agg(worker_pid::text, ',' ORDER BY worker_subid) "
          . "FROM spock.get_apply_worker_status()") } @nodes;

my $dir = PostgreSQL::Test::Utils::tempdir;
my %scripts = (
    upsert => "\\set k random(1, 40)\n"
      . "INSERT INTO hot VALUES (:k, 1, :client_id::text) ON CONFLICT (id) DO UPDATE SET v = hot.v + 1;\n",
    update => "\\set k random(1, 40)\nUPDATE hot SET v = v + 1, n = :client_id::text WHERE id = :k;\n",
    delete => "\\set k random(1, 40)\nDELETE FROM hot WHERE id = :k;\n",
    insert => "\\set k random(1, 40)\nINSERT INTO hot VALUES (:k, 0) ON CONFLICT DO NOTHING;\n",
);
for my $name (keys %scripts) {
    open(my $fh, '>', "$dir/$name.sql") or die;
    print $fh $scripts{$name};
    close $fh;
}
my $seconds = $ENV{SPOCK_STORM_SECONDS} // 10;
spock_pgbench_finish('storm', map {
        spock_pgbench($_, '-T', $seconds, '-c', '2', '-f', "$dir/upsert.sql\@4",
            '-f', "$dir/update.sql\@3", '-f', "$dir/delete.sql\@2", '-f', "$dir/insert.sql\@1")
} @nodes);
# After the storm, one more row from each node must reach every node.
for my $i (0 .. 2) {
    $nodes[$i]->safe_psql('postgres', 'INSERT INTO hot VALUES (' . (1000 + $i) . ', 0)');
}
for my $node (@nodes) {
    spock_wait_caught_up($node);
}
for my $node (@nodes) {
    my $name = $node->name;
    is($node->safe_psql('postgres', 'SELECT count(*) FROM hot WHERE id >= 1000'), '3',
        "$name: the rows written after the storm arrived from every node");
    is($node->safe_psql('postgres',
            "SELECT string_agg(status, ',') FROM spock.sub_show_status()"),
        'replicating,replicating', "$name: both subscriptions replicating");
    is($node->safe_psql('postgres',
            "SELECT string_agg(worker_pid::text, ',' ORDER BY worker_subid) "
              . "FROM spock.get_apply_worker_status()"),
        $pids{$name}, "$name: the same apply worker processes as before the storm");
    is($node->safe_psql('postgres', 'SELECT max(worker_starts) FROM spock.apply_stats()'), '1',
        "$name: no apply worker was restarted");
    my $replayed = $node->safe_psql('postgres',
        'SELECT sum(xacts_replayed) || \' replayed, \' || sum(changes_discarded) || \' changes discarded\' '
          . 'FROM spock.apply_stats()');
    diag "$name: $replayed; digest " . table_digest($node, 'hot');
}
$_->stop for @nodes;
done_testing();
