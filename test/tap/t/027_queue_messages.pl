# Queue messages on the subscriber: repset_add_table(..., synchronize_data := true) on the
# provider makes the subscriber copy the table (TABLESYNC), repset_add_seq(...,
# synchronize_data := true) moves the subscriber's sequence forward (SEQUENCE), and a message
# naming a table the subscriber lacks is reported without stopping replication.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('queue_n1', extension => 1);
my $n2 = spock_node('queue_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE t1 (id int PRIMARY KEY, v text);
        CREATE TABLE t2 (id int PRIMARY KEY, v text);
        CREATE SEQUENCE s;
        CREATE SEQUENCE s_ahead;
    });
}
$n1->safe_psql('postgres', q{
    SELECT spock.repset_add_table('default', 't1');
    INSERT INTO t2 SELECT g, 'old ' || g FROM generate_series(1, 300) g;
});
spock_subscribe($n2, $n1, 'sub_n1_n2', q{synchronize_data := true});
$n2->safe_psql('postgres', "SELECT spock.sub_wait_for_sync('sub_n1_n2')");
$n1->safe_psql('postgres', q{INSERT INTO t1 VALUES (1, 'a')});
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t2'), '0', 't2 not replicated yet');

# TABLESYNC: the existing rows are copied, later changes stream.
$n1->safe_psql('postgres',
    q{SELECT spock.repset_add_table('default', 't2', synchronize_data := true)});
$n1->safe_psql('postgres', q{INSERT INTO t2 VALUES (301, 'new')});
my $want = table_digest($n1, 't2');
ok($n2->poll_query_until('postgres',
        q{SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY id)), '-') }
          . q{FROM t2 t}, $want),
    't2 copied to n2 after repset_add_table with synchronize_data');
$n2->safe_psql('postgres', "SELECT spock.table_wait_for_sync('sub_n1_n2', 't2')");
$n1->safe_psql('postgres', q{INSERT INTO t2 VALUES (302, 'later'); UPDATE t2 SET v = 'x' WHERE id = 1});
spock_wait_caught_up($n1);
is(table_digest($n2, 't2'), table_digest($n1, 't2'), 'later changes to t2 stream');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM spock.queue WHERE message_type = \'A\''),
    '1', 'queue row applied on n2');
ok($n2->poll_query_until('postgres',
        q{SELECT status = 'replicating' FROM spock.sub_show_table('sub_n1_n2', 't2')}),
    't2 replicating');

# SEQUENCE: moved forward, never backwards.
$n1->safe_psql('postgres', q{SELECT setval('s', 500); SELECT setval('s_ahead', 100)});
$n2->safe_psql('postgres', q{SELECT setval('s_ahead', 1000)});
$n1->safe_psql('postgres', q{
    SELECT spock.repset_add_seq('default', 's', synchronize_data := true);
    SELECT spock.repset_add_seq('default', 's_ahead', synchronize_data := true);
});
ok($n2->poll_query_until('postgres', q{SELECT last_value >= 500 FROM s}),
    'sequence s moved forward on n2');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT last_value FROM s_ahead'), '1000',
    'a sequence ahead on n2 is not moved backwards');

# A table missing on n2: WARNING, and replication goes on.
my $log_offset = -s $n2->logfile;
$n1->safe_psql('postgres', q{
    CREATE TABLE only_n1 (id int PRIMARY KEY);
    INSERT INTO only_n1 VALUES (1);
    SELECT spock.repset_add_table('default', 'only_n1', synchronize_data := true);
});
$n1->safe_psql('postgres', q{INSERT INTO t1 VALUES (2, 'b')});
spock_wait_caught_up($n1);
ok($n2->wait_for_log(qr/WARNING:.*table public\.only_n1 added to a replication set/,
        $log_offset), 'WARNING names the missing table');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t1'), '2', 'replication goes on');
is($n2->safe_psql('postgres', q{SELECT status FROM spock.sub_show_status('sub_n1_n2')}),
    'replicating', 'subscription still replicating');

done_testing();
