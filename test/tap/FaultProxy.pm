# A fault-injecting TCP proxy for TAP tests: listens on 127.0.0.1:<port> and forwards every
# connection to 127.0.0.1:<target>. It runs in a forked child of the test; the test switches
# its mode at any moment through a control socket pair, and each command returns only once the
# proxy has carried it out:
#
#   my $p = FaultProxy->new(target => $node->port);      # listens on $p->port
#   $p->stall;    # stop forwarding both ways; connections stay open, new ones are accepted
#                 # and left hanging
#   $p->slow(bytes_per_sec => 4096, delay_ms => 200);     # every chunk waits delay_ms, and
#                 # each direction of a connection gets at most bytes_per_sec
#   $p->refuse;   # new connections are closed as soon as they are accepted; current ones go on
#   $p->cut;      # closes every current connection abruptly (RST); the mode does not change
#   $p->pass;     # normal forwarding (also ends stall, slow and refuse)
#   $p->stats;    # "mode=pass conns=2 accepted=7 cut=3 refused=1 bytes=123456"
#   $p->stop;     # ends the proxy and its connections (also done when the object goes away)
#
# Loopback only, no root, core Perl only. The child leaves with POSIX::_exit so that no END
# block of the test (PostgreSQL::Test::Cluster stops its nodes in one) runs in it.
package FaultProxy;

use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use IO::Handle;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC SOL_SOCKET SO_LINGER);
use POSIX ();
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Time::HiRes qw(time);
use Carp;

my $BUF_LIMIT = 256 * 1024;    # stop reading a side while the other's output exceeds this

# new(target => PORT, port => PORT (default: a free one from PostgreSQL::Test::Cluster),
#     name => 'label for diagnostics')
sub new {
    my ($class, %opt) = @_;
    my $target = $opt{target} // croak 'target port needed';
    my $port = $opt{port};
    if (!defined $port) {
        require PostgreSQL::Test::Cluster;
        $port = PostgreSQL::Test::Cluster::get_free_port();
    }
    my $listen = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1', LocalPort => $port, Proto => 'tcp',
        Listen => 64, ReuseAddr => 1) or croak "proxy cannot listen on 127.0.0.1:$port: $!";
    socketpair(my $parent_end, my $child_end, AF_UNIX, SOCK_STREAM, PF_UNSPEC)
      or croak "socketpair: $!";
    $parent_end->autoflush(1);
    $child_end->autoflush(1);
    my $pid = fork() // croak "fork: $!";
    if ($pid == 0) {
        close $parent_end;
        my $rc = 0;
        eval { _serve($listen, $child_end, $target); 1 } or do {
            print STDERR "FaultProxy($port): $@";
            $rc = 1;
        };
        POSIX::_exit($rc);
    }
    close $child_end;
    close $listen;
    my $self = bless { port => $port, target => $target, pid => $pid, ctl => $parent_end,
        name => $opt{name} // "proxy:$port", owner => $$ }, $class;
    $self->_command('ping');
    return $self;
}

sub port { return $_[0]{port} }
sub target { return $_[0]{target} }
sub name { return $_[0]{name} }

sub pass { return $_[0]->_command('pass') }
sub stall { return $_[0]->_command('stall') }
sub refuse { return $_[0]->_command('refuse') }
sub cut { return $_[0]->_command('cut') }
sub stats { return $_[0]->_command('stats') }

sub slow {
    my ($self, %opt) = @_;
    my $rate = $opt{bytes_per_sec} // 8192;
    my $delay = $opt{delay_ms} // 100;
    return $self->_command("slow $rate $delay");
}

sub _command {
    my ($self, $cmd) = @_;
    croak "proxy $self->{name} is stopped" unless $self->{ctl};
    my $ctl = $self->{ctl};
    print $ctl "$cmd\n" or croak "proxy $self->{name}: control write failed: $!";
    my $answer = <$ctl>;
    croak "proxy $self->{name} did not answer '$cmd'" unless defined $answer;
    chomp $answer;
    croak "proxy $self->{name}: $answer" if $answer =~ /^error/;
    return $answer;
}

sub stop {
    my ($self) = @_;
    return unless $self->{ctl} && $self->{owner} == $$;
    my $ctl = $self->{ctl};
    print $ctl "quit\n";
    close $ctl;
    delete $self->{ctl};
    # Wait briefly; if the child does not go, kill it.
    for (1 .. 50) {
        return if waitpid($self->{pid}, POSIX::WNOHANG()) != 0;
        select(undef, undef, undef, 0.05);
    }
    kill 'KILL', $self->{pid};
    waitpid($self->{pid}, 0);
}

sub DESTROY {
    my ($self) = @_;
    local ($@, $!, $?);
    $self->stop if $self->{ctl};
}

# --- the child ----------------------------------------------------------------------------

# One forwarded connection is two halves: $c->{a} is the accepted client socket, $c->{b} the
# socket to the target. out{a} is what waits to be written to a, out{b} to b.
sub _serve {
    my ($listen, $ctl, $target) = @_;
    $SIG{PIPE} = 'IGNORE';
    $listen->blocking(0);
    my $mode = 'pass';
    my ($rate, $delay) = (0, 0);
    my %conns;    # fileno of either socket -> connection
    my %stat = (accepted => 0, cut => 0, refused => 0, bytes => 0);
    my $ctlbuf = '';

    my $abort = sub {    # close a socket with RST
        my ($s) = @_;
        return unless $s;
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
        close $s;
    };
    my $drop = sub {
        my ($c, $hard) = @_;
        for my $side (qw(a b)) {
            my $s = $c->{$side} or next;
            delete $conns{ fileno $s };
            if ($hard) { $abort->($s) } else { close $s }
            $c->{$side} = undef;
        }
    };

    while (1) {
        my $now = time;
        my $rsel = IO::Select->new($listen, $ctl);
        my $wsel = IO::Select->new;
        my $timeout = 0.5;
        for my $c (_unique(\%conns)) {
            for my $side (qw(a b)) {
                my $other = $side eq 'a' ? 'b' : 'a';
                my $s = $c->{$side};
                $wsel->add($s) if length $c->{out}{$side};
                next if $mode eq 'stall';
                next if length $c->{out}{$other} > $BUF_LIMIT;
                if ($mode eq 'slow' && $c->{next}{$side} > $now) {
                    my $wait = $c->{next}{$side} - $now;
                    $timeout = $wait if $wait < $timeout;
                    next;
                }
                $rsel->add($s);
            }
        }
        # In stall mode nothing is written either: bytes already read stay in the buffers.
        $wsel = IO::Select->new if $mode eq 'stall';
        my ($readable, $writable) = IO::Select->select($rsel, $wsel, undef, $timeout);
        $readable //= [];
        $writable //= [];
        for my $s (@$writable) {
            next unless defined fileno $s;
            my $c = $conns{ fileno $s } or next;
            my $side = $c->{a} == $s ? 'a' : 'b';
            my $n = syswrite($s, $c->{out}{$side});
            if (defined $n) {
                substr($c->{out}{$side}, 0, $n) = '';
            } elsif ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) {
                $drop->($c, 0);
            }
        }
        for my $s (@$readable) {
            if ($s == $ctl) {
                my $n = sysread($ctl, $ctlbuf, 4096, length $ctlbuf);
                return if !$n;    # the test went away
                while ($ctlbuf =~ s/^([^\n]*)\n//) {
                    my @w = split ' ', $1;
                    my $cmd = shift(@w) // '';
                    my $reply = 'ok';
                    if ($cmd eq 'pass' || $cmd eq 'stall' || $cmd eq 'refuse') {
                        $mode = $cmd;
                    } elsif ($cmd eq 'slow') {
                        ($rate, $delay) = @w;
                        $mode = 'slow';
                    } elsif ($cmd eq 'cut') {
                        for my $c (_unique(\%conns)) {
                            $drop->($c, 1);
                            $stat{cut}++;
                        }
                    } elsif ($cmd eq 'stats') {
                        $reply = "mode=$mode conns=" . scalar(_unique(\%conns))
                          . " accepted=$stat{accepted} cut=$stat{cut} refused=$stat{refused}"
                          . " bytes=$stat{bytes}";
                    } elsif ($cmd eq 'ping') {
                        $reply = 'pong';
                    } elsif ($cmd eq 'quit') {
                        $drop->($_, 1) for _unique(\%conns);
                        return;
                    } else {
                        $reply = "error: unknown command '$cmd'";
                    }
                    syswrite($ctl, "$reply\n");
                }
                next;
            }
            if ($s == $listen) {
                while (my $a = $listen->accept) {
                    if ($mode eq 'refuse') {
                        $abort->($a);
                        $stat{refused}++;
                        next;
                    }
                    my $b = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $target,
                        Proto => 'tcp');
                    if (!$b) {    # the target is down: the client sees a closed connection
                        $abort->($a);
                        next;
                    }
                    $a->blocking(0);
                    $b->blocking(0);
                    my $c = { a => $a, b => $b, out => { a => '', b => '' },
                        next => { a => 0, b => 0 } };
                    $conns{ fileno $a } = $c;
                    $conns{ fileno $b } = $c;
                    $stat{accepted}++;
                }
                next;
            }
            next unless defined fileno $s;    # dropped earlier in this round
            my $c = $conns{ fileno $s } or next;
            my $side = $c->{a} == $s ? 'a' : 'b';
            my $other = $side eq 'a' ? 'b' : 'a';
            my $max = 65536;
            if ($mode eq 'slow') {
                # At most rate * delay bytes per chunk (at least 1), one chunk per delay.
                $max = int($rate * $delay / 1000) || 1;
                $max = 65536 if $max > 65536;
            }
            my $buf;
            my $n = sysread($s, $buf, $max);
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                $drop->($c, 1);
                next;
            }
            if ($n == 0) {
                # One side closed: pass on what is buffered, then close both.
                my $o = $c->{$other};
                syswrite($o, $c->{out}{$other}) if length $c->{out}{$other};
                $drop->($c, 0);
                next;
            }
            $stat{bytes} += $n;
            $c->{out}{$other} .= $buf;
            $c->{next}{$side} = time + $delay / 1000 if $mode eq 'slow';
        }
    }
}

sub _unique {
    my ($conns) = @_;
    my %seen;
    return grep { !$seen{$_}++ } values %$conns;
}

1;
