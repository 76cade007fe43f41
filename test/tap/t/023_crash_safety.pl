# Crash safety: kill -9 of the apply worker and an immediate stop of the subscriber in the
# middle of a stream of 10,000 single-row transactions. Afterwards nothing is lost and nothing
# is applied twice.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('crash_n1', extension => 1);
my $n2 = spock_node('crash_n2', extension => 1,
    extra => "restart_after_crash = on\nspock.restart_delay_default = 500\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    # No key: a transaction applied twice shows as extra rows instead of being absorbed as
    # an insert conflict.
    $node->safe_psql('postgres', q{
        CREATE TABLE events (id int NOT NULL, note text);
        SELECT spock.repset_add_table('default_insert_only', 'events');
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2', q{replication_sets := '{default_insert_only}'});

# 10,000 single-row transactions from pgbench-like psql loops in the background.
# The script is a file, so psql reads it at its own pace while the test goes on.
my $script = $PostgreSQL::Test::Utils::tmp_check . '/events.sql';
open(my $fh, '>', $script) or die $!;
# A short pause every 100 transactions spreads the stream over several seconds, so the
# crashes below land in the middle of it.
for my $i (1 .. 10000) {
    print $fh "INSERT INTO events VALUES ($i, 'e$i');\n";
    print $fh "SELECT pg_sleep(0.05);\n" if $i % 100 == 0;
}
close $fh;
my ($out, $err) = ('', '');
my $h = IPC::Run::start([ 'psql', '-X', '-q', '-d', $n1->connstr('postgres'), '-f', $script ],
    '>', \$out, '2>', \$err);

# Let some arrive, then kill -9 the apply worker.
$n2->poll_query_until('postgres', 'SELECT count(*) > 1000 FROM events');
my $pid = $n2->safe_psql('postgres',
    "SELECT worker_pid FROM spock.get_apply_worker_status()");
ok($pid > 0, 'apply worker running');
kill 'KILL', $pid;

# Wait for recovery and more progress, then stop the subscriber immediately.
$n2->poll_query_until('postgres', 'SELECT count(*) > 4000 FROM events');
$n2->stop('immediate');
$n2->start;

$h->finish;
is($h->result(0), 0, 'all 10,000 transactions committed on n1');
spock_wait_replicating($n2, 'sub_n1_n2');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM events'), '10000', 'nothing lost');
is($n2->safe_psql('postgres', 'SELECT count(DISTINCT id) FROM events'), '10000',
    'nothing applied twice');
is(table_digest($n2, 'events', order_by => 'id'), table_digest($n1, 'events', order_by => 'id'),
    'identical');

$n1->stop;
$n2->stop;
done_testing();
