# An apply worker waiting on a provider that does not answer (the link stalls while the worker
# connects) must still stop when asked: a fast stop of the subscriber finishes promptly instead
# of waiting until pg_ctl gives up.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use FaultProxy;
use SpockTest;

my $n1 = spock_node('stall_n1', extension => 1, extra => "listen_addresses = '127.0.0.1'\n");
my $n2 = spock_node('stall_n2', extension => 1,
    extra => "spock.restart_delay_default = 200\nspock.restart_delay_on_exception = 200\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
my $proxy = FaultProxy->new(target => $n1->port);
$n2->safe_psql('postgres', "SELECT spock.sub_create('sub_n1_n2', 'host=127.0.0.1 port="
      . $proxy->port . " dbname=postgres')");
spock_wait_replicating($n2, 'sub_n1_n2');

# Stall the link, then end the worker's connection: its successor connects into the stall.
$proxy->stall;
$proxy->cut;
my $old = $n2->safe_psql('postgres', 'SELECT worker_pid FROM spock.get_apply_worker_status()');
$n2->safe_psql('postgres', "SELECT pg_terminate_backend($old)") if $old;
# Wait until a new worker has opened a connection through the proxy.
my $deadline = time + 30;
while (time < $deadline) {
    last if $proxy->stats =~ /conns=[1-9]/;
    sleep(0.1);
}
like($proxy->stats, qr/conns=[1-9]/, 'a new apply worker is connecting through the stalled link');
sleep(1);

my $t = time;
my $fast = $n2->stop('fast', fail_ok => 1);
my $took = time - $t;
$n2->stop('immediate') unless $fast;
ok($fast && $took < 20, sprintf('fast stop of the subscriber took %.1f s%s', $took,
    $fast ? '' : ' and pg_ctl gave up'));
$proxy->pass;
$proxy->stop;
$n1->stop;
done_testing();
