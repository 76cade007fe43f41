# The fault-injecting proxy of the TAP tests (FaultProxy.pm) does what each mode says, with a
# psql session going through it to a node listening on 127.0.0.1.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use FaultProxy;
use SpockTest;

my $node = spock_node('proxy_n1', preload => 0, extra => "listen_addresses = '127.0.0.1'\n");
my $proxy = FaultProxy->new(target => $node->port);
my $connstr = 'host=127.0.0.1 port=' . $proxy->port . ' dbname=postgres';

# One-shot queries through the proxy; returns [exit code, stdout, stderr, seconds].
sub via_proxy {
    my ($sql, $timeout) = @_;
    my ($out, $err) = ('', '');
    my $t = time;
    my $h = IPC::Run::start([ 'psql', '-X', '-A', '-t', '-d', $connstr, '-c', $sql ],
        '>', \$out, '2>', \$err, IPC::Run::timeout($timeout // 30));
    my $ok = eval { $h->finish; 1 };
    if (!$ok) {
        $h->kill_kill;
        return [ 'timeout', $out, $err, time - $t ];
    }
    return [ $h->result(0), $out, $err, time - $t ];
}

my $r = via_proxy('SELECT 6 * 7');
is($r->[0] . ':' . $r->[1], "0:42\n", 'pass: a query goes through');

# A session that stays open across the mode changes.
my ($in, $out, $err) = ('', '', '');
my $session = IPC::Run::start([ 'psql', '-X', '-A', '-t', '-d', $connstr ],
    '<', \$in, '>', \$out, '2>', \$err, IPC::Run::timeout(60));
sub ask {
    my ($sql, $want, $secs) = @_;
    $out = '';
    $in .= "$sql\n";
    my $deadline = time + $secs;
    while (time < $deadline) {
        eval { $session->pump_nb; 1 } or return 0;    # psql ended
        return 1 if $out =~ /\Q$want\E/;
        select(undef, undef, undef, 0.05);
    }
    return 0;
}
ok(ask("SELECT 'one';", 'one', 10), 'a session through the proxy answers');

$proxy->stall;
ok(!ask("SELECT 'two';", 'two', 2), 'stall: no answer while stalled');
$r = via_proxy('SELECT 1', 2);
is($r->[0], 'timeout', 'stall: a new connection hangs');
$proxy->pass;
ok(ask('', 'two', 10), 'pass: the stalled query is answered afterwards, on the same session');

$proxy->slow(bytes_per_sec => 2000, delay_ms => 100);
$r = via_proxy("SELECT repeat('x', 4000)", 30);
ok($r->[0] eq '0' && length($r->[1]) > 4000 && $r->[3] > 1.5,
    sprintf('slow: 4 kB take more than 1.5 s at 2 kB/s (%.1f s)', $r->[3]));
$proxy->pass;

$proxy->cut;
ok(!ask("SELECT 'three';", 'three', 3), 'cut: the session gets no answer');
eval { $session->finish };
like($err, qr/server closed the connection|connection to server was lost|terminating/i,
    'cut: psql saw the connection end');

$proxy->refuse;
$r = via_proxy('SELECT 1', 10);
ok($r->[0] ne '0' && $r->[0] ne 'timeout', 'refuse: a new connection fails at once')
  or diag explain $r;
$proxy->pass;
$r = via_proxy('SELECT 1');
is($r->[0], 0, 'pass: connections work again');
like($proxy->stats, qr/mode=pass .*cut=[1-9]\d* refused=1/, 'stats count cuts and refusals')
  or diag $proxy->stats;

$proxy->stop;
$node->stop;
done_testing();
