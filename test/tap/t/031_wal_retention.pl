# A subscriber that is gone makes its slot keep WAL on the provider; the provider's manager
# says so in the server log (WARNING with the slot and the amount), and the subscriber, once
# back, catches up with nothing lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('wal_n1', extension => 1, extra => "max_wal_size = 32MB\n");
my $n2 = spock_node('wal_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE t (id int PRIMARY KEY, pad text);
        SELECT spock.repset_add_table('default', 't');
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2');
my $slot = $n1->safe_psql('postgres',
    "SELECT slot_name FROM pg_replication_slots WHERE plugin = 'spock_output'");
$n2->stop;
my $offset = -s $n1->logfile;
$n1->safe_psql('postgres',
    "INSERT INTO t SELECT g, repeat('x', 1000) FROM generate_series(1, 50000) g");
ok($n1->wait_for_log(qr/replication slot "\Q$slot\E" is inactive and retains \d+ MB of WAL/,
        $offset),
    'the provider warns about the inactive slot keeping WAL');
$n2->start;
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t'), '50000',
    'the subscriber catches up once back');
$n1->stop;
$n2->stop;
done_testing();
