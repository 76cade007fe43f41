# A three-node full mesh with writes everywhere, then a cascade n1 -> n2 -> n3 with
# forward_origins = '{all}'.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my @nodes = map { spock_node("mesh_n$_", extension => 1) } 1 .. 3;
for my $i (0 .. 2) {
    spock_create_node($nodes[$i], name => 'n' . ($i + 1));
    $nodes[$i]->safe_psql('postgres', q{
        CREATE TABLE kv (id int PRIMARY KEY, v text, writer text);
        SELECT spock.repset_add_table('default', 'kv');
    });
}
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($nodes[$s], $nodes[$p], 'sub_n' . ($p + 1) . '_n' . ($s + 1));
    }
}
for my $i (0 .. 2) {
    my $base = ($i + 1) * 10000;
    $nodes[$i]->safe_psql('postgres',
        "INSERT INTO kv SELECT $base + g, 'v' || g, 'n" . ($i + 1) . "' FROM generate_series(1, 300) g");
}
$_->safe_psql('postgres', 'SELECT 1') for @nodes;
spock_wait_caught_up($_) for @nodes;
$nodes[0]->safe_psql('postgres', "UPDATE kv SET v = 'changed by n1' WHERE id BETWEEN 20001 AND 20050");
$nodes[1]->safe_psql('postgres', "DELETE FROM kv WHERE id BETWEEN 30001 AND 30020");
$nodes[2]->safe_psql('postgres', "UPDATE kv SET writer = 'n3' WHERE id BETWEEN 10001 AND 10010");
spock_wait_caught_up($_) for @nodes;
spock_wait_caught_up($_) for @nodes;
my $d = table_digest($nodes[0], 'kv');
is(table_digest($nodes[1], 'kv'), $d, 'mesh: n2 equals n1');
is(table_digest($nodes[2], 'kv'), $d, 'mesh: n3 equals n1');
is($nodes[2]->safe_psql('postgres', 'SELECT count(*) FROM kv'), '880', 'mesh: row count');
$_->stop for @nodes;

# Cascade: n2 forwards what it receives from n1 to n3.
my $c1 = spock_node('casc_n1', extension => 1);
my $c2 = spock_node('casc_n2', extension => 1);
my $c3 = spock_node('casc_n3', extension => 1);
spock_create_node($c1, name => 'c1');
spock_create_node($c2, name => 'c2');
spock_create_node($c3, name => 'c3');
for my $node ($c1, $c2, $c3) {
    $node->safe_psql('postgres', q{
        CREATE TABLE chain (id int PRIMARY KEY, hop text);
        SELECT spock.repset_add_table('default', 'chain');
    });
}
spock_subscribe($c2, $c1, 'sub_c1_c2');
spock_subscribe($c3, $c2, 'sub_c2_c3', q{forward_origins := '{all}'});
$c1->safe_psql('postgres', "INSERT INTO chain SELECT g, 'from c1' FROM generate_series(1, 200) g");
$c2->safe_psql('postgres', "INSERT INTO chain SELECT g, 'from c2' FROM generate_series(1001, 1100) g");
spock_wait_caught_up($c1);
spock_wait_caught_up($c2);
is(table_digest($c3, 'chain'), table_digest($c2, 'chain'), 'cascade: c3 has c1 and c2 rows');
is($c3->safe_psql('postgres', 'SELECT count(*) FROM chain'), '300', 'cascade: count');
# The forwarded rows are recorded as coming from c1, under an origin of their own.
my $c1_id = $c1->safe_psql('postgres', 'SELECT node_id FROM spock.node_info()');
like($c3->safe_psql('postgres', q{
        SELECT string_agg(external_id, ',' ORDER BY external_id)
        FROM pg_replication_origin_status}),
    qr/:n$c1_id/, 'cascade: a forwarded origin for c1 exists on c3');
$_->stop for ($c1, $c2, $c3);

# A ring r1 -> r2 -> r3 -> r1 where every subscription forwards all origins: a change goes
# round once and stops at the node it came from (the subscriber tells the provider its node id).
my @ring = map { spock_node("ring_r$_", extension => 1) } 1 .. 3;
for my $i (0 .. 2) {
    spock_create_node($ring[$i], name => 'r' . ($i + 1));
    $ring[$i]->safe_psql('postgres', q{
        CREATE TABLE loop_check (id int PRIMARY KEY, v text);
        SELECT spock.repset_add_table('default', 'loop_check');
    });
}
for my $i (0 .. 2) {
    my $prov = ($i + 2) % 3;    # r1 <- r3, r2 <- r1, r3 <- r2
    spock_subscribe($ring[$i], $ring[$prov], 'sub_ring_' . ($prov + 1) . '_' . ($i + 1),
        q{forward_origins := '{all}'});
}
$ring[0]->safe_psql('postgres', "INSERT INTO loop_check VALUES (1, 'once round')");
ok($ring[2]->poll_query_until('postgres', 'SELECT count(*) = 1 FROM loop_check'),
    'ring: the row reached the last node');
spock_wait_caught_up($_) for @ring;
spock_wait_caught_up($_) for @ring;
for my $node (@ring) {
    ok($node->poll_query_until('postgres',
            "SELECT n_tup_ins = 1 AND n_tup_upd = 0 FROM pg_stat_user_tables "
              . "WHERE relname = 'loop_check'"),
        $node->name . ': wrote the row exactly once, no update came round');
}
$_->stop for @ring;
done_testing();
