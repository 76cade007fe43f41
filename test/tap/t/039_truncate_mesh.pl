# TRUNCATE in a three-node mesh (docs/conflicts.md, "TRUNCATE in a mesh"): a TRUNCATE committed
# at T on n1 removes every row committed before T on every node, and keeps every row committed
# after T, whichever order the nodes see them in.
#
# First deterministically: n1 and n2 do not hear from each other while n2 inserts rows, n1
# truncates, and n2 inserts more rows. When the links come back, n1 skips n2's older rows
# (logged once, counted in spock.truncate_horizon.skipped_changes) and applies the newer ones,
# and n2 applies the TRUNCATE as a DELETE of its older rows only (logged). Then live: n2 and n3
# insert continuously while n1 truncates three times. Every node must end with the same rows,
# the same TRUNCATE time, and no apply error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use SpockTest;

my @nodes = map { spock_node("tm_n$_", extension => 1) } 1 .. 3;
my ($n1, $n2, $n3) = @nodes;
for my $i (0 .. 2) {
    spock_create_node($nodes[$i], name => 'n' . ($i + 1));
    $nodes[$i]->safe_psql('postgres', q{
        CREATE TABLE t (id bigint PRIMARY KEY, src text NOT NULL);
        SELECT spock.repset_add_table('default', 't');
    });
}
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($nodes[$s], $nodes[$p], 'sub_n' . ($p + 1) . '_n' . ($s + 1));
    }
}

sub set_sub {
    my ($node, $sub, $on) = @_;
    my $fn = $on ? 'sub_enable' : 'sub_disable';
    $node->safe_psql('postgres', "SELECT spock.$fn('$sub', true)");
    my $want = $on ? 'replicating' : 'disabled';
    $node->poll_query_until('postgres',
        "SELECT status = '$want' FROM spock.sub_show_status('$sub')")
      or die "$sub on " . $node->name . " never became $want";
}

sub catch_up_all {
    for (1 .. 2) {
        spock_wait_caught_up($_) for @nodes;
    }
}

# --- deterministic --------------------------------------------------------------------------
set_sub($n1, 'sub_n2_n1', 0);
set_sub($n2, 'sub_n1_n2', 0);
$n2->safe_psql('postgres',
    "INSERT INTO t SELECT g, 'before' FROM generate_series(1, 200) g");
$n3->poll_query_until('postgres', 'SELECT count(*) = 200 FROM t') or die 'n3 did not get the rows';
my $n1_log = -s $n1->logfile;
my $n2_log = -s $n2->logfile;
$n1->safe_psql('postgres', 'TRUNCATE t');
is($n1->safe_psql('postgres',
        "SELECT truncated_at IS NULL AND origin_node IS NULL FROM spock.truncate_horizon "
          . "WHERE relid = 't'::regclass"),
    't', 'n1 remembers its local TRUNCATE');
$n2->safe_psql('postgres',
    "INSERT INTO t SELECT g, 'after' FROM generate_series(1001, 1100) g");
set_sub($n1, 'sub_n2_n1', 1);
set_sub($n2, 'sub_n1_n2', 1);
catch_up_all();

for my $node (@nodes) {
    my $name = $node->name;
    is($node->safe_psql('postgres',
            "SELECT count(*) || ' ' || count(*) FILTER (WHERE src = 'after') FROM t"),
        '100 100', "$name: exactly the 100 rows written after the TRUNCATE");
}
is($n1->safe_psql('postgres',
        "SELECT skipped_changes FROM spock.truncate_horizon WHERE relid = 't'::regclass"),
    '200', 'n1 counted the 200 remote INSERTs older than its TRUNCATE');
ok($n1->log_contains(qr/skipping remote INSERT on relation public\.t from node \d+: committed before the last TRUNCATE/,
        $n1_log), 'n1 logged the skipped INSERTs');
my $n1_text = slurp_file($n1->logfile, $n1_log);
my @lines = $n1_text =~ /skipping remote INSERT on relation public\.t/g;
is(scalar(@lines), 1, 'once per table and transaction');
ok($n2->log_contains(qr/remote TRUNCATE of relation public\.t from node \d+ applied as a DELETE of 200 rows; 100 rows written after it are kept/,
        $n2_log), 'n2 applied the TRUNCATE as a DELETE of its older rows, and logged it');
my $t1 = $n1->safe_psql('postgres',
    "SELECT coalesce(truncated_at, pg_xact_commit_timestamp(xmin)) FROM spock.truncate_horizon");
for my $node ($n2, $n3) {
    is($node->safe_psql('postgres', 'SELECT truncated_at FROM spock.truncate_horizon'),
        $t1, $node->name . ' remembers the TRUNCATE with its commit time on n1');
}

# --- live: n2 and n3 insert while n1 truncates ------------------------------------------------
my $dir = PostgreSQL::Test::Utils::tempdir;
my @runs;
for my $i (1, 2) {
    my $node = $nodes[$i];
    my $base = ($i + 1) * 100_000_000;
    open(my $fh, '>', "$dir/ins$i.sql") or die;
    print $fh "INSERT INTO t SELECT $base + :client_id * 10000000 + (random() * 9999999)::int, "
      . "'live' FROM generate_series(1, 5) ON CONFLICT DO NOTHING;\n";
    close $fh;
    push @runs,
      spock_pgbench($node, '-T', $ENV{SPOCK_TRUNCATE_SECONDS} // 8, '-c', '2', '-f',
        "$dir/ins$i.sql");
}
my $seen = 0;
for my $round (1 .. 3) {
    # Truncate once rows from both writers have arrived since the last TRUNCATE.
    $n1->poll_query_until('postgres',
        "SELECT count(*) FILTER (WHERE id < 300000000) > 50 "
          . "AND count(*) FILTER (WHERE id >= 300000000) > 50 FROM t")
      or die 'rows from n2 and n3 did not arrive on n1';
    $n1->safe_psql('postgres', 'TRUNCATE t');
}
spock_pgbench_finish('inserts', @runs);
catch_up_all();
my $digest = table_digest($n1, 't');
for my $node (@nodes) {
    my $name = $node->name;
    is(table_digest($node, 't'), $digest, "$name: the same rows as n1 after the live run");
    is($node->safe_psql('postgres', q{
            SELECT (SELECT count(*) FROM spock.exception_log) || ' '
                || (SELECT sum(xacts_replayed) FROM spock.apply_stats())}),
        '0 0', "$name: no exception_log row and no replay");
    is($node->safe_psql('postgres',
            "SELECT coalesce(truncated_at, pg_xact_commit_timestamp(xmin)) FROM spock.truncate_horizon"),
        $n1->safe_psql('postgres',
            "SELECT coalesce(truncated_at, pg_xact_commit_timestamp(xmin)) FROM spock.truncate_horizon"),
        "$name: the same last TRUNCATE time");
}
diag 'live run: ' . $digest . '; skipped on n1: '
  . $n1->safe_psql('postgres', 'SELECT skipped_changes FROM spock.truncate_horizon');

$_->stop for @nodes;
done_testing();
