# spock.readonly between live nodes (docs/configuration.md, "Read-only mode"). Under `user` a
# node refuses its own sessions' writes (25006) but keeps applying what the other node writes;
# under `all` its apply worker waits before the next remote transaction, and once the mode is
# lowered it applies everything that was written meanwhile: nothing lost, nothing skipped.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my ($n1, $n2) = map { spock_node("ro_n$_", extension => 1) } 1 .. 2;
for my $node ($n1, $n2) {
    spock_create_node($node);
    $node->safe_psql('postgres', q{
        CREATE TABLE t (id bigint PRIMARY KEY, src text NOT NULL);
        SELECT spock.repset_add_table('default', 't');
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2');
spock_subscribe($n1, $n2, 'sub_n2_n1');

sub set_mode {
    my ($node, $mode) = @_;
    $node->safe_psql('postgres', "ALTER SYSTEM SET spock.readonly = '$mode'");
    $node->reload;
    $node->poll_query_until('postgres', "SELECT current_setting('spock.readonly') = '$mode'")
      or die "spock.readonly never became $mode";
}

# --- user: sessions refused, replication applies ------------------------------------------
set_mode($n2, 'user');
my ($rc, $out, $err) = $n2->psql('postgres', "INSERT INTO t VALUES (0, 'n2')",
    extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($rc, 0, 'n2 refuses a session INSERT under user');
like($err, qr/25006: cannot execute INSERT while spock.readonly is "user"/,
    'with SQLSTATE 25006 and the mode in the message');
# n1 writes while n2 is read-only for users: the rows arrive.
$n1->safe_psql('postgres', "INSERT INTO t SELECT g, 'n1' FROM generate_series(1, 100) g");
$n2->poll_query_until('postgres', 'SELECT count(*) = 100 FROM t')
  or die 'n2 did not apply under user';
pass('n2 applies n1\'s rows under user');

# --- all: the apply worker waits, then applies everything ----------------------------------
my $log_at = -s $n2->logfile;
set_mode($n2, 'all');
# n1 keeps writing, in many transactions, while n2 holds them back.
my $run = spock_pgbench($n1, '-T', '4', '-c', '2', '-f',
    do {
        my $f = PostgreSQL::Test::Utils::tempdir() . '/ins.sql';
        open my $fh, '>', $f or die $!;
        print $fh "INSERT INTO t (id, src) VALUES (1000 + (random() * 1000000000)::bigint, 'n1') "
          . "ON CONFLICT DO NOTHING;\n";
        close $fh;
        $f;
    });
$n2->wait_for_log(qr/apply worker waits: spock.readonly is "all"/, $log_at);
pass('n2\'s apply worker says it waits');
spock_pgbench_finish('inserts on n1 while n2 is read-only for all', $run);
my $n1_count = $n1->safe_psql('postgres', 'SELECT count(*) FROM t');
cmp_ok($n1_count, '>', 100, 'n1 wrote more rows meanwhile');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t'), '100',
    'n2 applied none of them while read-only for all');
($rc, $out, $err) = $n2->psql('postgres', "INSERT INTO t VALUES (0, 'n2')");
isnt($rc, 0, 'n2 still refuses session writes under all');

set_mode($n2, 'off');
spock_wait_caught_up($n1);
is(table_digest($n2, 't'), table_digest($n1, 't'), 'after off, n2 has every row n1 wrote');
ok($n2->log_contains(qr/apply worker resumes: spock.readonly lowered/, $log_at),
    'n2\'s apply worker says it resumed');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
    'no apply errors on n2');
$n2->safe_psql('postgres', "INSERT INTO t VALUES (0, 'n2')");
$n1->poll_query_until('postgres', 'SELECT count(*) = 1 FROM t WHERE id = 0')
  or die 'n2\'s own write did not reach n1';
pass('n2 writes again after off, and n1 gets it');

done_testing();
