# Soak test: a three-node full mesh under a seeded random schedule of faults, while a client
# on every node commits small transactions of rows with globally unique ids (and now and then
# updates or deletes rows it inserted earlier). Every
# subscription connects to its provider through a FaultProxy, so links can be stalled, slowed,
# refused and cut, and a node can be cut off from both others at once; walsenders, apply
# workers, spock managers and the supervisor are killed with SIGKILL (each such kill makes the
# postmaster restart the whole node), and nodes are restarted in immediate and fast mode. At
# the end every acknowledged row must be on every node exactly once, rows of transactions
# whose outcome is unknown (interrupted by a kill) must be on all nodes or on none, nothing
# else may be there, and the nodes must be identical.
#
#   SPOCK_SOAK_SECONDS  duration of the fault phase (default 40)
#   SPOCK_SOAK_SEED     seed of the fault schedule and of the clients (default: time-based;
#                       printed, so a failing run can be replayed)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Open3;
use IO::Select;
use IO::Handle;
use POSIX ();
use Time::HiRes qw(time sleep);
use FaultProxy;
use SpockTest;

my $seconds = $ENV{SPOCK_SOAK_SECONDS} // 40;
my $seed = $ENV{SPOCK_SOAK_SEED} // (time() ^ $$) % 1000000;
diag "soak: seed $seed, $seconds s of faults (replay with SPOCK_SOAK_SEED=$seed)";
srand($seed);

my $extra = <<'CONF';
listen_addresses = '127.0.0.1'
restart_after_crash = on
wal_sender_timeout = '5s'
wal_receiver_timeout = '5s'
spock.restart_delay_default = 500
spock.restart_delay_on_exception = 500
log_min_messages = info
CONF
my @nodes = map { spock_node("soak_n$_", extension => 1, extra => $extra) } 1 .. 3;
for my $i (0 .. 2) {
    spock_create_node($nodes[$i], name => 'n' . ($i + 1));
    # soak_pk goes through the key-based apply path; soak_log has no key, so a transaction
    # applied twice shows up as duplicate rows instead of being absorbed as a conflict.
    $nodes[$i]->safe_psql('postgres', q{
        CREATE TABLE soak_pk (id bigint PRIMARY KEY, origin int NOT NULL, v text);
        CREATE TABLE soak_log (id bigint NOT NULL, origin int NOT NULL, v text);
        SELECT spock.repset_add_table('default', 'soak_pk');
        SELECT spock.repset_add_table('default_insert_only', 'soak_log');
    });
}

# One proxy per directed link: subscriber s reaches provider p through $proxy{"$p>$s"}.
my %proxy;
my @links;
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        my $link = ($p + 1) . '>' . ($s + 1);
        $proxy{$link} = FaultProxy->new(target => $nodes[$p]->port, name => "n$link");
        push @links, $link;
        my $sub = 'sub_n' . ($p + 1) . '_n' . ($s + 1);
        $nodes[$s]->safe_psql('postgres',
            "SELECT spock.sub_create('$sub', 'host=127.0.0.1 port="
              . $proxy{$link}->port . " dbname=postgres')");
    }
}
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_wait_replicating($nodes[$s], 'sub_n' . ($p + 1) . '_n' . ($s + 1));
    }
}
pass('three-node mesh replicating through six proxies');

# --- clients ---------------------------------------------------------------------------
# One forked process per node runs psql (ON_ERROR_STOP) fed through a pipe. Each transaction
# is one statement followed by "\echo ack first last": the ack line appears only after the
# commit succeeded. The client logs "sent", then "ack" or "lost" (psql died or hung before the
# ack: the outcome is unknown). Ids are node * 10^9 + sequence and never reused.
my $dir = PostgreSQL::Test::Utils::tempdir;
my $stopfile = "$dir/stop";
my @clients;
my $test_pid = $$;
# If the test dies, its clients must not go on writing.
END {
    if (defined $test_pid && $$ == $test_pid) {
        kill 'KILL', $_->{pid} for @clients;
    }
}
for my $i (0 .. 2) {
    my $connstr = $nodes[$i]->connstr('postgres');
    my $log = "$dir/client_n" . ($i + 1) . '.log';
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        my $rc = 0;
        eval { run_client($i + 1, $connstr, $log, $seed); 1 } or do {
            print STDERR "client n" . ($i + 1) . ": $@";
            $rc = 1;
        };
        POSIX::_exit($rc);
    }
    push @clients, { pid => $pid, log => $log, node => $i + 1 };
}

sub run_client {
    my ($nodeno, $connstr, $logfile, $seed) = @_;
    $SIG{PIPE} = 'IGNORE';
    srand($seed * 10 + $nodeno);
    open(my $log, '>>', $logfile) or die "$logfile: $!";
    $log->autoflush(1);
    my $seq = 0;
    my $mods = 0;
    my $parent = getppid();
    while (!-e $stopfile && getppid() == $parent) {
        my ($in, $out);
        my $psql = open3($in, $out, undef, 'psql', '-X', '-q', '-A', '-t', '-v',
            'ON_ERROR_STOP=1', '-d', $connstr);
        $in->autoflush(1);
        my $buf = '';
        # Waits for the line $want; anything else is logged. False on EOF or timeout.
        my $wait_for = sub {
            my ($want, $timeout) = @_;
            my $deadline = time + $timeout;
            my $sel = IO::Select->new($out);
            while (1) {
                while ($buf =~ s/^([^\n]*)\n//) {
                    return 1 if $1 eq $want;
                    print $log "# $1\n" if $1 ne '';
                }
                my $left = $deadline - time;
                return 0 if $left <= 0;
                next unless $sel->can_read($left);
                my $n = sysread($out, $buf, 65536, length $buf);
                return 0 unless $n;
            }
        };
        if (print($in "\\echo ready\n") && $wait_for->('ready', 30)) {
            while (!-e $stopfile) {
                if ($seq > 0 && rand() < 0.15) {
                    # Now and then: update (and sometimes delete) rows of this node in soak_pk.
                    # Only the node that inserted a row changes it, so there are no conflicts;
                    # the ids may be of rows that do not exist (lost), which changes nothing.
                    my @ids = map { $nodeno * 1_000_000_000 + 1 + int(rand($seq)) } 1 .. 3;
                    $mods++;
                    my $sql = "BEGIN; UPDATE soak_pk SET v = md5(v) WHERE id IN ($ids[0], $ids[1]);";
                    $sql .= " DELETE FROM soak_pk WHERE id = $ids[2];" if rand() < 0.3;
                    $sql .= " COMMIT;\n\\echo mod $mods\n";
                    my $ok = print $in $sql;
                    if ($ok && $wait_for->("mod $mods", 60)) {
                        print $log "mod ack\n";
                    } else {
                        print $log "mod lost\n";
                        last;
                    }
                    next;
                }
                # Mostly 1 to 3 rows; now and then a bigger transaction.
                my $k = rand() < 0.02 ? 200 : 1 + int(rand(3));
                my $first = $nodeno * 1_000_000_000 + $seq + 1;
                my $last = $first + $k - 1;
                $seq += $k;
                my $rows = "SELECT g, $nodeno, md5(g::text) FROM generate_series($first, $last) g";
                print $log "sent $first $last\n";
                my $ok = print $in "WITH a AS (INSERT INTO soak_pk $rows) "
                  . "INSERT INTO soak_log $rows;\n\\echo ack $first $last\n";
                if ($ok && $wait_for->("ack $first $last", 60)) {
                    print $log "ack $first $last\n";
                } else {
                    print $log "lost $first $last\n";
                    last;
                }
                sleep(0.005 + rand(0.01));
            }
        }
        close $in;
        # psql ends on its own at EOF of its input or after losing the connection.
        for (1 .. 100) {
            last if waitpid($psql, POSIX::WNOHANG()) != 0;
            sleep(0.05);
        }
        if (waitpid($psql, POSIX::WNOHANG()) == 0) {
            kill 'KILL', $psql;
            waitpid($psql, 0);
        }
        close $out;
        sleep(0.2) unless -e $stopfile;
    }
}

# --- faults ----------------------------------------------------------------------------
my %count;       # faults injected, by kind
my @pending;     # [time, code, proxy link] to run later (end of a stall, slow or refuse)
my %busy;        # link -> time until which a fault holds it
my %node_quiet;  # node index -> time before which no node-level fault is injected on it

sub node_query {
    my ($node, $sql) = @_;
    my $timed_out;
    my ($ret, $out) = $node->psql('postgres', $sql, timeout => 10, timed_out => \$timed_out);
    return !$timed_out && defined $ret && $ret == 0 ? $out : undef;
}

sub node_kill {
    my ($kind, $i, $sql) = @_;
    my $out = node_query($nodes[$i], $sql);
    return 0 unless defined $out && $out ne '';
    my @pids = split /\n/, $out;
    my $pid = $pids[ int(rand(@pids)) ];
    return 0 unless kill 'KILL', $pid;
    diag sprintf('%6.1f s: %s on n%d (pid %d)', time - $main::t0, $kind, $i + 1, $pid);
    return 1;
}

my %fault = (
    stall => sub {
        my ($link) = @_;
        my $d = 1 + rand(8);
        $proxy{$link}->stall;
        return (1, $d, sub { $proxy{$link}->pass });
    },
    slow => sub {
        my ($link) = @_;
        my $d = 2 + rand(5);
        $proxy{$link}->slow(bytes_per_sec => 2000 + int(rand(30000)),
            delay_ms => 20 + int(rand(300)));
        return (1, $d, sub { $proxy{$link}->pass });
    },
    cut => sub {
        my ($link) = @_;
        $proxy{$link}->cut;
        return (1, 0.5, undef);
    },
    refuse => sub {
        my ($link) = @_;
        my $d = 1 + rand(4);
        $proxy{$link}->refuse;
        $proxy{$link}->cut;
        return (1, $d, sub { $proxy{$link}->pass });
    },
);
my %node_fault = (
    kill_walsender => sub {
        node_kill('kill_walsender', $_[0],
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walsender'");
    },
    kill_apply => sub {
        node_kill('kill_apply', $_[0],
            'SELECT worker_pid FROM spock.get_apply_worker_status() WHERE worker_pid > 0');
    },
    kill_manager => sub {
        node_kill('kill_manager', $_[0],
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'spock manager'");
    },
    kill_supervisor => sub {
        node_kill('kill_supervisor', $_[0],
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'spock supervisor'");
    },
    restart_immediate => sub {
        my ($i) = @_;
        diag sprintf('%6.1f s: restart_immediate of n%d', time - $main::t0, $i + 1);
        $nodes[$i]->stop('immediate');
        $nodes[$i]->start;
        return 1;
    },
    restart_fast => sub {
        my ($i) = @_;
        my $t = time;
        diag sprintf('%6.1f s: restart_fast of n%d', $t - $main::t0, $i + 1);
        # A fast stop waits for the walsenders to hand everything to their subscribers;
        # pg_ctl gives up after 60 s, and then the node is stopped immediately.
        my $fast = $nodes[$i]->stop('fast', fail_ok => 1);
        $nodes[$i]->stop('immediate') unless $fast;
        diag sprintf('         the fast stop of n%d took %.1f s%s', $i + 1, time - $t,
            $fast ? '' : ' and gave up; stopped immediately');
        $nodes[$i]->start;
        return 1;
    },
);
my @link_kinds = (('stall') x 3, ('cut') x 3, ('slow') x 2, ('refuse') x 2, 'isolate');
my @node_kinds = (('kill_walsender') x 2, ('kill_apply') x 2, 'kill_manager', 'kill_supervisor',
    'restart_immediate', 'restart_fast');

sub run_pending {
    my ($all) = @_;
    my $now = time;
    my @keep;
    for my $p (@pending) {
        if ($all || $p->[0] <= $now) { $p->[1]->() } else { push @keep, $p }
    }
    @pending = @keep;
}

$main::t0 = time;
my $end = $main::t0 + $seconds;
while (time < $end) {
    sleep(0.3 + rand(1.2));
    run_pending(0);
    my $now = time;
    if (rand() < 0.6) {
        my @free = grep { ($busy{$_} // 0) <= $now } @links;
        next unless @free;
        my $link = $free[ int(rand(@free)) ];
        my $kind = $link_kinds[ int(rand(@link_kinds)) ];
        if ($kind eq 'isolate') {
            # A partition: every link to and from one node stalls at once.
            my $n = 1 + int(rand(3));
            my @mine = grep { /(^$n>|>$n$)/ } @links;
            next if grep { ($busy{$_} // 0) > $now } @mine;
            my $d = 2 + rand(7);
            $proxy{$_}->stall for @mine;
            $count{isolate}++;
            diag sprintf('%6.1f s: isolate n%d (its four links stalled) for %.1f s',
                $now - $main::t0, $n, $d);
            for my $l (@mine) {
                $busy{$l} = $now + $d;
                push @pending, [ $now + $d, sub { $proxy{$l}->pass } ];
            }
            next;
        }
        my ($done, $d, $undo) = $fault{$kind}->($link);
        next unless $done;
        $count{$kind}++;
        diag sprintf('%6.1f s: %s of link n%s for %.1f s', $now - $main::t0, $kind, $link, $d)
          if $undo;
        diag sprintf('%6.1f s: cut of link n%s', $now - $main::t0, $link) unless $undo;
        $busy{$link} = $now + $d;
        push @pending, [ $now + $d, $undo ] if $undo;
    } else {
        my @free = grep { ($node_quiet{$_} // 0) <= $now } 0 .. 2;
        next unless @free;
        my $i = $free[ int(rand(@free)) ];
        my $kind = $node_kinds[ int(rand(@node_kinds)) ];
        next unless $node_fault{$kind}->($i);
        $count{$kind}++;
        # Let the node come back before it is hit again.
        $node_quiet{$i} = time + 3 + rand(4);
    }
}
run_pending(1);
$_->pass for values %proxy;
my $total = 0;
$total += $_ for values %count;
diag "faults injected: $total ("
  . join(', ', map { "$_ $count{$_}" } sort keys %count) . ')';

# --- settle and check -----------------------------------------------------------------
for my $node (@nodes) {
    $node->poll_query_until('postgres', 'SELECT true')
      or die $node->name . ' does not accept connections';
}
open(my $sf, '>', $stopfile) or die;
close $sf;
for my $c (@clients) {
    waitpid($c->{pid}, 0);
    is($? >> 8, 0, "client on n$c->{node} ended cleanly");
}

for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_wait_replicating($nodes[$s], 'sub_n' . ($p + 1) . '_n' . ($s + 1));
    }
}
spock_wait_caught_up($_) for @nodes;
# Once more: a fault near the end may have left a subscriber reconnecting while its provider's
# slot already looked caught up.
spock_wait_caught_up($_) for @nodes;

# What the clients know: acknowledged ids, and transactions of unknown outcome.
my %acked;
my @unknown;    # [first, last]
my %sent;
my ($n_acked_tx, $n_rows) = (0, 0);
my %n_mods = (ack => 0, lost => 0);
for my $c (@clients) {
    open(my $fh, '<', $c->{log}) or die "$c->{log}: $!";
    while (<$fh>) {
        $n_mods{$1}++ if /^mod (ack|lost)$/;
        next unless /^(sent|ack|lost) (\d+) (\d+)$/;
        my ($what, $first, $last) = ($1, $2, $3);
        if ($what eq 'sent') {
            $sent{$_} = 1 for $first .. $last;
        } elsif ($what eq 'ack') {
            $acked{$_} = 1 for $first .. $last;
            $n_acked_tx++;
        } else {
            push @unknown, [ $first, $last ];
        }
    }
    close $fh;
}
diag sprintf('clients: %d transactions (%d rows) acknowledged, %d of unknown outcome',
    $n_acked_tx, scalar(keys %acked), scalar(@unknown));
diag "clients: $n_mods{ack} update/delete transactions acknowledged, $n_mods{lost} of unknown outcome";
ok($n_acked_tx > 0, 'clients committed transactions');

# id -> number of copies, per node and table.
my %have;
for my $i (0 .. 2) {
    for my $t (qw(soak_pk soak_log)) {
        my $out = $nodes[$i]->safe_psql('postgres',
            "SELECT id || ' ' || count(*) FROM $t GROUP BY id");
        my %h = map { split / / } split /\n/, $out;
        $have{$i}{$t} = \%h;
    }
}
for my $i (0 .. 2) {
    my $name = 'n' . ($i + 1);
    # soak_log is insert-only: exactly the acknowledged rows, and possibly rows of
    # transactions of unknown outcome, each once.
    my $h = $have{$i}{soak_log};
    my @missing = grep { !$h->{$_} } sort { $a <=> $b } keys %acked;
    my @dup = grep { $h->{$_} > 1 } sort { $a <=> $b } keys %$h;
    my @stray = grep { !$sent{$_} } sort { $a <=> $b } keys %$h;
    is(scalar(@missing), 0, "$name.soak_log: every acknowledged row is there")
      or diag "missing on $name.soak_log: @missing[0 .. ($#missing < 20 ? $#missing : 19)]";
    is(scalar(@dup), 0, "$name.soak_log: no row is there twice")
      or diag "twice on $name.soak_log: @dup[0 .. ($#dup < 20 ? $#dup : 19)]";
    is(scalar(@stray), 0, "$name.soak_log: no row that no client sent")
      or diag "stray on $name.soak_log: @stray[0 .. ($#stray < 20 ? $#stray : 19)]";
    # soak_pk gets updates and deletes too: every row of it was inserted with its soak_log
    # row in one transaction, so it must have one.
    my $p = $have{$i}{soak_pk};
    my @orphan = grep { !$h->{$_} } sort { $a <=> $b } keys %$p;
    is(scalar(@orphan), 0, "$name.soak_pk: every row has the soak_log row of its transaction")
      or diag "orphans on $name.soak_pk: @orphan[0 .. ($#orphan < 20 ? $#orphan : 19)]";
}
# A transaction of unknown outcome: all of its rows on every node, or nothing of it anywhere.
my ($unk_present, $unk_absent, @unk_split) = (0, 0);
for my $u (@unknown) {
    my ($first, $last) = @$u;
    my %seen;
    for my $i (0 .. 2) {
        $seen{ $have{$i}{soak_log}{$_} ? 1 : 0 }++ for $first .. $last;
    }
    if (!$seen{0}) { $unk_present++ }
    elsif (!$seen{1}) { $unk_absent++ }
    else { push @unk_split, "$first-$last" }
}
diag "transactions of unknown outcome: $unk_present committed, $unk_absent not";
is(scalar(@unk_split), 0,
    'every transaction of unknown outcome is on all nodes or on none')
  or diag "partly present: @unk_split";

# The nodes agree on everything, including the effect of the updates and deletes.
for my $t (qw(soak_pk soak_log)) {
    my @d = map { table_digest($_, $t, order_by => 'id, origin, v') } @nodes;
    diag "$t: $d[0]";
    is($d[1], $d[0], "$t: n2 identical to n1");
    is($d[2], $d[0], "$t: n3 identical to n1");
}
for my $node (@nodes) {
    my $name = $node->name;
    is($node->safe_psql('postgres',
            "SELECT count(*) FROM spock.resolutions WHERE relname LIKE '%soak%'"),
        '0', "$name: no conflict resolved (a row applied twice would be one)");
    is($node->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
        "$name: no exception logged");
    is($node->safe_psql('postgres',
            "SELECT string_agg(status, ',') FROM spock.sub_show_status()"),
        'replicating,replicating', "$name: both subscriptions replicating");
    diag "$name: apply worker starts "
      . $node->safe_psql('postgres',
        "SELECT string_agg(sub_name || '=' || worker_starts, ' ' ORDER BY sub_name) "
          . 'FROM spock.apply_stats()');
}
for my $link (sort keys %proxy) {
    diag "proxy n$link: " . $proxy{$link}->stats;
    $proxy{$link}->stop;
}
$_->stop for @nodes;
done_testing();
