# Partitions follow their parent (docs/replication.md, "Partitions"): on two nodes replicating
# both ways, with writes going on, a partition created later replicates with no
# repset_add_partition, a detached one stops replicating, an attached table's new rows
# replicate, and the parent's row filter applies to a partition whose columns are numbered
# differently.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('part_n1', extension => 1);
my $n2 = spock_node('part_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
my %start = (part_n1 => 1, part_n2 => 2);
for my $node ($n1, $n2) {
    # Each node numbers its rows apart (odd / even), as the multi-master advice says.
    $node->safe_psql('postgres', qq{
        CREATE SEQUENCE ids START $start{$node->name} INCREMENT 2;
        CREATE TABLE parted (id bigint NOT NULL, region text NOT NULL, v int,
                             PRIMARY KEY (id, region)) PARTITION BY LIST (region);
        CREATE TABLE p_a PARTITION OF parted FOR VALUES IN ('a');
        SELECT spock.repset_add_table('default', 'parted');
        CREATE TABLE filt (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
        CREATE TABLE filt_1 PARTITION OF filt FOR VALUES FROM (0) TO (1000);
        SELECT spock.repset_add_table('default', 'filt', row_filter := 'v > 10');
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2');
spock_subscribe($n1, $n2, 'sub_n2_n1');

# Writes go on on both nodes during the DDL below.
my $dir = PostgreSQL::Test::Utils::tempdir();
open(my $fh, '>', "$dir/ins.sql") or die;
print $fh "INSERT INTO parted VALUES (nextval('ids'), 'a', 1);\n";
close $fh;
my @runs = map { spock_pgbench($_, '-T', '6', '-c', '1', '-f', "$dir/ins.sql") } ($n1, $n2);

# A new partition, the same DDL on both nodes, and no repset call.
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', "CREATE TABLE p_new PARTITION OF parted FOR VALUES IN ('new')");
}
for my $node ($n1, $n2) {
    $node->safe_psql('postgres',
        "INSERT INTO parted SELECT nextval('ids'), 'new', 0 FROM generate_series(1, 100)");
}
# Both nodes update the same rows at the same time.
open($fh, '>', "$dir/upd.sql") or die;
print $fh "UPDATE parted SET v = v + 1 WHERE region = 'new' AND id % 10 = 0;\n";
close $fh;
my @upd = map { spock_pgbench($_, '-t', '20', '-c', '1', '-f', "$dir/upd.sql") } ($n1, $n2);
spock_pgbench_finish('updates of the new partition', @upd);
spock_pgbench_finish('inserts while partitions change', @runs);
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
is(table_digest($n1, 'p_new'), table_digest($n2, 'p_new'),
    'the new partition converges on both nodes');
is($n2->safe_psql('postgres',
        "SELECT count(*) FROM p_new WHERE id % 2 = 1"), '100',
    'rows written on n1 into the new partition reached n2');
is($n1->safe_psql('postgres',
        "SELECT count(*) FROM p_new WHERE id % 2 = 0"), '100',
    'rows written on n2 into the new partition reached n1');
is(table_digest($n1, 'parted', order_by => 'id, region'),
    table_digest($n2, 'parted', order_by => 'id, region'),
    'the whole table converges');
is($n1->safe_psql('postgres',
        "SELECT count(*) FROM spock.replication_set_table WHERE set_reloid = 'p_new'::regclass"),
    '0', 'the new partition has no membership row: it follows its parent');

# DETACH on n1: later writes to the detached table there do not replicate.
$n1->safe_psql('postgres', 'ALTER TABLE parted DETACH PARTITION p_a');
is($n1->safe_psql('postgres',
        "SELECT count(*) FROM spock.replication_set_table WHERE set_reloid = 'p_a'::regclass"),
    '0', 'the detached partition left the set');
$n1->safe_psql('postgres', "INSERT INTO p_a VALUES (-1, 'a', 1)");
$n1->safe_psql('postgres', "INSERT INTO parted VALUES (-3, 'new', 1)");
ok($n2->poll_query_until('postgres', 'SELECT count(*) = 1 FROM p_new WHERE id = -3'),
    'a later write to the parent still replicates');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM p_a WHERE id = -1'), '0',
    'a write to the detached table did not replicate');

# ATTACH of an existing table (columns in another order, one dropped): rows it had stay local,
# rows written after the attach replicate.
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', qq{
        CREATE TABLE p_c (junk int, v int, region text NOT NULL, id bigint NOT NULL);
        ALTER TABLE p_c DROP COLUMN junk;
        INSERT INTO p_c VALUES (5, 'c', -100 - $start{$node->name});
        ALTER TABLE p_c ADD PRIMARY KEY (id, region);
        ALTER TABLE parted ATTACH PARTITION p_c FOR VALUES IN ('c');
    });
}
$n1->safe_psql('postgres', "INSERT INTO parted SELECT nextval('ids'), 'c', 7 FROM generate_series(1, 10)");
$n2->safe_psql('postgres', "INSERT INTO parted SELECT nextval('ids'), 'c', 8 FROM generate_series(1, 10)");
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
is($n2->safe_psql('postgres', "SELECT count(*) FROM p_c WHERE v = 7"), '10',
    'rows written on n1 after the attach reached n2');
is($n1->safe_psql('postgres', "SELECT count(*) FROM p_c WHERE v = 8"), '10',
    'rows written on n2 after the attach reached n1');
is($n2->safe_psql('postgres', "SELECT count(*) FROM p_c WHERE id = -101"), '0',
    'rows the table had before the attach stayed local');

# The parent's row filter applies to a partition attached later, numbered differently.
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE filt_2 (junk text, v int, id int NOT NULL PRIMARY KEY);
        ALTER TABLE filt_2 DROP COLUMN junk;
        ALTER TABLE filt ATTACH PARTITION filt_2 FOR VALUES FROM (1000) TO (2000);
    });
}
$n1->safe_psql('postgres',
    'INSERT INTO filt SELECT g, g % 20 FROM generate_series(1000, 1099) g');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*), min(v) FROM filt_2'), '45|11',
    'only rows passing the parent\'s filter replicated from the new partition');

# repset_remove_partition still takes a partition out, and repset_add_partition puts it back.
is($n1->safe_psql('postgres', "SELECT spock.repset_remove_partition('filt', 'filt_2')"), '1',
    'repset_remove_partition excludes an inherited partition');
$n1->safe_psql('postgres', 'INSERT INTO filt VALUES (1500, 50)');
$n1->safe_psql('postgres', 'INSERT INTO filt VALUES (500, 50)');
ok($n2->poll_query_until('postgres', 'SELECT count(*) = 1 FROM filt_1 WHERE id = 500'),
    'the parent\'s other partition still replicates');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM filt_2 WHERE id = 1500'), '0',
    'the excluded partition does not');
is($n1->safe_psql('postgres', "SELECT spock.repset_add_partition('filt', 'filt_2')"), '1',
    'repset_add_partition adds it back');
$n1->safe_psql('postgres', 'INSERT INTO filt VALUES (1501, 50)');
ok($n2->poll_query_until('postgres', 'SELECT count(*) = 1 FROM filt_2 WHERE id = 1501'),
    'and it replicates again');

done_testing();
