# Parallel apply on a three-node mesh (docs/architecture.md, "Parallel apply"): every node
# applies with spock.parallel_apply_workers = 3 and forwards nothing. Clients on all three nodes
# write at the same time: rows only their node inserts (each with a child row under a shared
# parent), updates of hot rows every node updates (conflicts, last update wins), and deletes of
# their own old rows. Once every subscription caught up, the three nodes hold the same rows,
# the same as a serial apply ends with (every insert of every node present once, no deleted row
# back), a sync event from each node is reached only after everything before it, and the
# processes' own origins "<origin>:w<K>" show that the processes applied.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $seconds = $ENV{SPOCK_PARALLEL_SECONDS} // 8;
my @nodes = map {
    spock_node("pm_n$_", extension => 1, extra => "spock.parallel_apply_workers = 3\n")
} 1 .. 3;
for my $i (0 .. 2) {
    my $n = $i + 1;
    spock_create_node($nodes[$i], name => "n$n");
    $nodes[$i]->safe_psql('postgres', qq{
        CREATE TABLE parent (id int PRIMARY KEY, v int NOT NULL);
        CREATE TABLE ev (id bigint PRIMARY KEY, node int NOT NULL, parent_id int REFERENCES parent,
                         note text);
        CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL, by_node int NOT NULL);
        CREATE SEQUENCE evseq START $n INCREMENT 3;
        SELECT spock.repset_add_table('default', t) FROM unnest(ARRAY['parent', 'ev', 'hot']) t;
    });
}
$nodes[0]->safe_psql('postgres', q{
    INSERT INTO parent SELECT g, 0 FROM generate_series(1, 10) g;
    INSERT INTO hot SELECT g, 0, 0 FROM generate_series(1, 10) g;
});
$_->safe_psql('postgres', q{
    INSERT INTO parent SELECT g, 0 FROM generate_series(1, 10) g;
    INSERT INTO hot SELECT g, 0, 0 FROM generate_series(1, 10) g;
}) for @nodes[1, 2];
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($nodes[$s], $nodes[$p], 'sub_n' . ($p + 1) . '_n' . ($s + 1),
            'synchronize_data := false');
    }
}
ok($_->poll_query_until('postgres', q{
    SELECT count(*) = 6 FROM pg_stat_activity WHERE backend_type = 'spock parallel apply'}),
    $_->name . ': two subscriptions with three apply processes each') for @nodes;

my $dir = PostgreSQL::Test::Utils::tempdir;
my %scripts = (
    insert => q{
\set p random(1, 10)
BEGIN;
INSERT INTO ev VALUES (nextval('evseq'), :node, :p, 'x');
INSERT INTO ev VALUES (nextval('evseq'), :node, NULL, 'y');
COMMIT;
},
    hot => q{
\set h random(1, 10)
UPDATE hot SET v = v + 1, by_node = :node WHERE id = :h;
},
    prune => q{
DELETE FROM ev WHERE id IN (SELECT id FROM ev WHERE note = 'y'
    AND node = :node ORDER BY id LIMIT 2);
},
);
my @files;
for my $name (sort keys %scripts) {
    open my $fh, '>', "$dir/$name.sql" or die;
    print $fh $scripts{$name};
    close $fh;
    push @files, '-f', "$dir/$name.sql";
}
# The prune script deletes only rows of its own node: no DELETE meets another node's INSERT.
my @runs = map {
    spock_pgbench($nodes[$_], '-c', '2', '-j', '1', '-T', $seconds, '-D', 'node=' . ($_ + 1),
        @files)
} 0 .. 2;
spock_pgbench_finish('the mesh workload', @runs);
# A sync event (a message outside any transaction) is reached only once everything before it
# is applied: right after the wait, the other nodes hold all of the sender's own rows.
for my $i (0 .. 2) {
    my $n = $i + 1;
    my $lsn = $nodes[$i]->safe_psql('postgres', 'SELECT spock.sync_event()');
    my $own = $nodes[$i]->safe_psql('postgres',
        "SELECT count(*) || ' ' || coalesce(sum(id), 0) FROM ev WHERE node = $n");
    for my $j (grep { $_ != $i } 0 .. 2) {
        is($nodes[$j]->safe_psql('postgres',
                "CALL spock.wait_for_sync_event(NULL, 'n$n', '$lsn', 60)"), 't',
            'n' . ($j + 1) . " reaches n$n\'s sync event");
        is($nodes[$j]->safe_psql('postgres',
                "SELECT count(*) || ' ' || coalesce(sum(id), 0) FROM ev WHERE node = $n"),
            $own, 'n' . ($j + 1) . " has every row of n$n from before its sync event");
    }
}
spock_wait_caught_up($_) for @nodes;
spock_wait_caught_up($_) for @nodes;

for my $t (qw(parent ev hot)) {
    my $d = table_digest($nodes[0], $t);
    is(table_digest($nodes[$_], $t), $d, "$t on n" . ($_ + 1) . ' identical to n1') for 1, 2;
}
# What a serial apply ends with: each node's own rows, as its own node has them.
for my $i (0 .. 2) {
    my $n = $i + 1;
    my $own = $nodes[$i]->safe_psql('postgres',
        "SELECT count(*) || ' ' || coalesce(sum(id), 0) FROM ev WHERE node = $n");
    is($nodes[($i + 1) % 3]->safe_psql('postgres',
            "SELECT count(*) || ' ' || coalesce(sum(id), 0) FROM ev WHERE node = $n"),
        $own, "n$n\'s rows arrived once each, deletes included");
}
for my $node (@nodes) {
    cmp_ok($node->safe_psql('postgres', q{
        SELECT count(*) FROM pg_replication_origin_status
        WHERE external_id ~ ':w[0-9]+$' AND remote_lsn > '0/0'}), '>=', 2,
        $node->name . ': transactions were committed by the parallel apply processes');
    is($node->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
        $node->name . ': no change went to exception handling');
}

$_->stop for @nodes;
done_testing();
