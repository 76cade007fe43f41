# Two nodes with the extension: both load spock, run a supervisor that the postmaster restarts,
# and create logical slots with the spock_output plugin name.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('n1', extension => 1);
my $n2 = spock_node('n2', extension => 1, extra => "restart_after_crash = on\n");

for my $node ($n1, $n2) {
    my $name = $node->name;
    is($node->safe_psql('postgres', 'SELECT spock.spock_version()'), '5.1.0',
        "$name: extension installed");
    is($node->safe_psql('postgres', 'SHOW spock.exception_replay_queue_size'), '4MB',
        "$name: replay queue size default");
    ok($node->poll_query_until('postgres',
            "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'spock supervisor'"),
        "$name: one supervisor running");
}

# The nodes are distinct clusters.
isnt($n1->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()'),
    $n2->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()'),
    'two clusters');

# A terminated supervisor is restarted by the postmaster (bgw_restart_time = 5 s).
my $pid_query = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'spock supervisor'";
my $old_pid = $n1->safe_psql('postgres', $pid_query);
$n1->safe_psql('postgres', "SELECT pg_terminate_backend($old_pid)");
ok($n1->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'spock supervisor' "
          . "AND pid <> $old_pid"),
    'supervisor restarted after termination');

# After a crash of any backend the postmaster reinitialises and the supervisor comes back.
my $backend_pid = $n2->safe_psql('postgres', $pid_query);
kill 'KILL', $backend_pid;
ok($n2->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'spock supervisor' "
          . "AND pid <> $backend_pid"),
    'supervisor back after crash-restart');
is($n2->safe_psql('postgres', 'SELECT spock.spock_version_num()'), '50100',
    'extension usable after crash-restart');

# The spock_output plugin name resolves: the shim loads spock.so and hands over to it, and the
# server's allow list (output_plugin_libraries) accepts it.
$n1->safe_psql('postgres', "SELECT pg_create_logical_replication_slot('s1', 'spock_output')");
is($n1->safe_psql('postgres', "SELECT plugin FROM pg_replication_slots WHERE slot_name = 's1'"),
    'spock_output', 'slot created with the spock_output plugin');
$n1->safe_psql('postgres', q{
    SELECT spock.node_create('n1', 'dbname=postgres');
    CREATE TABLE t (id int PRIMARY KEY);
    SELECT spock.repset_add_table('default', 't');
    INSERT INTO t VALUES (1);
});
is($n1->safe_psql('postgres', q{
        SELECT count(*) FROM pg_logical_slot_get_binary_changes('s1', NULL, NULL,
            'startup_params_format', '1', 'min_proto_version', '3', 'max_proto_version', '4',
            'spock.replication_set_names', 'default')}),
    '7', 'the insert decodes to startup, begin, origin, commit order, relation, insert, commit');
my ($rc, $out, $err) = $n1->psql('postgres', q{
        SELECT count(*) FROM pg_logical_slot_get_binary_changes('s1', NULL, NULL,
            'startup_params_format', '1', 'min_proto_version', '5', 'max_proto_version', '6')});
like($err, qr/protocol/i, 'a subscriber speaking another protocol version is refused');
$n1->safe_psql('postgres', "SELECT pg_drop_replication_slot('s1')");

$n1->stop;
$n2->stop;
done_testing();
