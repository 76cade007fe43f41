# Every spock.conflict_resolution strategy between three live nodes in a mesh. For each
# strategy the nodes are cut off from each other (every subscription disabled), write the same
# rows, and are joined again; then every node must hold the row the strategy names, and
# spock.sub_conflict_stats, spock.resolutions and spock.exception_log must say what happened.
#
# In one round, on table t_<strategy> (base rows written on n1 and replicated first):
#   row 1  updated on n1, then on n2                 (the same row on two nodes)
#   row 2  updated on n1, then n2, then n3           (on three nodes)
#   row 3  inserted on n1, then on n2                (the same key on two nodes)
#   row 4  updated on n1 while n2's copy is frozen   (a local row without commit time)
# Each change is a transaction of its own, committed in that order, so n1's are the oldest.
# The nodes are reused across strategies (ALTER SYSTEM + reload of spock.conflict_resolution).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my %nodes;
for my $n (qw(n1 n2 n3)) {
    $nodes{$n} = spock_node("strat_$n", extension => 1,
        extra => "spock.save_resolutions = on\nspock.exception_behaviour = transdiscard\n");
    spock_create_node($nodes{$n}, name => $n);
}
my @names = qw(n1 n2 n3);
my %short = (last_update_wins => 'lu', first_update_wins => 'fu', keep_local => 'kl',
    apply_remote => 'ar', error => 'er');
my @strategies = qw(last_update_wins first_update_wins keep_local apply_remote error);
for my $n (@names) {
    for my $s (@strategies) {
        $nodes{$n}->safe_psql('postgres', qq{
            CREATE TABLE t_$short{$s} (id int PRIMARY KEY, v text NOT NULL);
            SELECT spock.repset_add_table('default', 't_$short{$s}');
        });
    }
}
my @subs;
for my $p (@names) {
    for my $r (@names) {
        next if $p eq $r;
        spock_subscribe($nodes{$r}, $nodes{$p}, "s_${p}_$r");
        push @subs, [$r, "s_${p}_$r"];
    }
}

sub psql { my ($n, $sql) = @_; return $nodes{$n}->safe_psql('postgres', $sql); }

sub caught_up { spock_wait_caught_up($nodes{$_}) for @names; }

sub set_subs {
    my ($on) = @_;
    for my $s (@subs) {
        my ($n, $name) = @{$s};
        psql($n, $on ? "SELECT spock.sub_enable('$name', true)"
            : "SELECT spock.sub_disable('$name', true)");
    }
    if ($on) {
        spock_wait_replicating($nodes{$_->[0]}, $_->[1]) for @subs;
    }
}

sub value { my ($n, $t, $id) = @_; return psql($n, "SELECT coalesce(v, '-') FROM $t WHERE id = $id"); }

# Sum of a sub_conflict_stats column over the node's subscriptions.
sub cstat { my ($n, $col) = @_; return psql($n, "SELECT sum($col) FROM spock.sub_conflict_stats"); }

sub resolutions {
    my ($n, $t, $type, $res) = @_;
    return psql($n, "SELECT count(*) FROM spock.resolutions WHERE relname = 'public.$t' "
          . "AND conflict_type = '$type' AND conflict_resolution = '$res'");
}

# What each strategy must leave on each node: a value, or a list of values any of which is
# right (where the outcome depends on which remote change arrives first).
my %expect = (
    last_update_wins => {
        1 => { n1 => 'n2', n2 => 'n2', n3 => 'n2' },
        2 => { n1 => 'n3', n2 => 'n3', n3 => 'n3' },
        3 => { n1 => 'n2', n2 => 'n2', n3 => 'n2' },
        4 => { n1 => 'n1', n2 => 'n1', n3 => 'n1' },    # the frozen row is the oldest
    },
    first_update_wins => {
        1 => { n1 => 'n1', n2 => 'n1', n3 => 'n1' },
        2 => { n1 => 'n1', n2 => 'n1', n3 => 'n1' },
        3 => { n1 => 'n1', n2 => 'n1', n3 => 'n1' },
        4 => { n1 => 'n1', n2 => 'base', n3 => 'n1' },  # ... so it wins here
    },
    keep_local => {
        # n3's base row came from n1, so n1's update is no conflict there; n2's is, and loses.
        1 => { n1 => 'n1', n2 => 'n2', n3 => 'n1' },
        2 => { n1 => 'n1', n2 => 'n2', n3 => 'n3' },
        3 => { n1 => 'n1', n2 => 'n2', n3 => [qw(n1 n2)] },
        4 => { n1 => 'n1', n2 => 'base', n3 => 'n1' },
    },
    apply_remote => {
        1 => { n1 => 'n2', n2 => 'n1', n3 => [qw(n1 n2)] },
        2 => { n1 => [qw(n2 n3)], n2 => [qw(n1 n3)], n3 => [qw(n1 n2)] },
        3 => { n1 => 'n2', n2 => 'n1', n3 => [qw(n1 n2)] },
        4 => { n1 => 'n1', n2 => 'n1', n3 => 'n1' },
    },
    # A conflict is an error: the remote transaction fails and is replayed under
    # spock.exception_behaviour = transdiscard, which discards it and logs it.
    error => {
        1 => { n1 => 'n1', n2 => 'n2', n3 => 'n1' },
        2 => { n1 => 'n1', n2 => 'n2', n3 => 'n3' },
        3 => { n1 => 'n1', n2 => 'n2', n3 => [qw(n1 n2)] },
        4 => { n1 => 'n1', n2 => 'base', n3 => 'n1' },
    },
);

for my $s (@strategies) {
    my $t = "t_$short{$s}";
    for my $n (@names) {
        psql($n, "ALTER SYSTEM SET spock.conflict_resolution = '$s'");
        $nodes{$n}->reload;
        psql($n, 'SELECT spock.reset_sub_conflict_stats()');
    }
    psql('n1', "INSERT INTO $t VALUES (1, 'base'), (2, 'base'), (4, 'base')");
    caught_up();
    # Freeze n2's copy: its row 4 has no commit time any more.
    psql('n2', "VACUUM (FREEZE) $t");
    my %errors_before = map { $_ => cstat($_, 'apply_error_count') } @names;
    is(join(',', map { $errors_before{$_} } @names), '0,0,0', "$s: counters reset");

    set_subs(0);
    psql('n1', "UPDATE $t SET v = 'n1' WHERE id = 1");
    psql('n1', "UPDATE $t SET v = 'n1' WHERE id = 2");
    psql('n1', "INSERT INTO $t VALUES (3, 'n1')");
    psql('n1', "UPDATE $t SET v = 'n1' WHERE id = 4");
    psql('n2', "UPDATE $t SET v = 'n2' WHERE id = 1");
    psql('n2', "UPDATE $t SET v = 'n2' WHERE id = 2");
    psql('n2', "INSERT INTO $t VALUES (3, 'n2')");
    psql('n3', "UPDATE $t SET v = 'n3' WHERE id = 2");
    set_subs(1);
    caught_up();

    for my $id (1 .. 4) {
        for my $n (@names) {
            my $want = $expect{$s}{$id}{$n};
            my $got = value($n, $t, $id);
            if (ref $want) {
                ok((grep { $_ eq $got } @{$want}), "$s: row $id on $n is one of @{$want} ($got)");
            } else {
                is($got, $want, "$s: row $id on $n");
            }
        }
    }

    if ($s eq 'error') {
        # n1: rows 1, 2 (twice), 3 fail; n2: rows 1, 2 (twice), 3, 4; n3: rows 1, 2 (twice), 3.
        my %failed = (n1 => 4, n2 => 5, n3 => 4);
        for my $n (@names) {
            is(cstat($n, 'apply_error_count'), $failed{$n},
                "error: $n replayed $failed{$n} failed transactions");
            is(psql($n, "SELECT count(DISTINCT (remote_origin, remote_commit_ts)) "
                  . "FROM spock.exception_log WHERE table_name = '$t'"),
                $failed{$n}, "error: $n logged each of them in spock.exception_log");
            is(psql($n, "SELECT count(*) FROM spock.resolutions WHERE relname = 'public.$t'"),
                '0', "error: $n records no resolutions");
        }
        next;
    }

    # Every conflict is counted, whoever wins: n1 and n2 meet rows 1, 2 (twice) and 3, and n2
    # also its frozen row 4. n3's count depends on the order of arrival.
    is(cstat('n1', 'confl_update_origin_differs'), 3, "$s: n1 counts 3 update_origin_differs");
    is(cstat('n2', 'confl_update_origin_differs'), 4, "$s: n2 counts 4 update_origin_differs");
    ok(cstat('n3', 'confl_update_origin_differs') >= 3, "$s: n3 counts at least 3");
    is(cstat($_, 'confl_insert_exists'), 1, "$s: $_ counts 1 insert_exists") for @names;
    is(cstat($_, 'apply_error_count'), 0, "$s: nothing failed on $_") for @names;

    # spock.resolutions records an update conflict the local row won, and every insert_exists.
    my %kept = (last_update_wins => [0, 2], first_update_wins => [3, 2],
        keep_local => [3, 4], apply_remote => [0, 0]);
    my %ins = (last_update_wins => ['apply_remote', 'keep_local'],
        first_update_wins => ['keep_local', 'apply_remote'],
        keep_local => ['keep_local', 'keep_local'], apply_remote => ['apply_remote', 'apply_remote']);
    my $i = 0;
    for my $n (qw(n1 n2)) {
        is(resolutions($n, $t, 'update_origin_differs', 'keep_local'), $kept{$s}[$i],
            "$s: $n records $kept{$s}[$i] update conflicts the local row won");
        is(resolutions($n, $t, 'insert_exists', $ins{$s}[$i]), 1,
            "$s: $n records its insert_exists as $ins{$s}[$i]");
        $i++;
    }
}

done_testing();
