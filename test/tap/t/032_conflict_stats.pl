# Two live nodes writing the same 20 rows at once: n1 updates them, n2 deletes and re-inserts
# them. Conflicts of several types are counted per subscription in spock.sub_conflict_stats; an
# UPDATE of a row deleted meanwhile is not an error (update_deleted: skipped; update_missing:
# applied as an INSERT when it is the later change); and the server logs hold at most 10
# detailed CONFLICT lines per type and 10 s window, with summary lines for the rest. Then both
# nodes insert the same keys while one subscription is disabled: insert_exists on both sides.
#
# Only n2's sessions insert during the run, but n2's apply worker inserts too (an UPDATE that
# finds no row and is the later change becomes an INSERT): an INSERT applied while a local
# session inserts the same key can fail with a unique violation between the key lookup and the
# insert, and is then replayed (docs/conflicts.md, "Not detected as conflicts"). Such replays
# must apply the transaction in full.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use SpockTest;

my $n1 = spock_node('confl_n1', extension => 1);
my $n2 = spock_node('confl_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
        SELECT spock.repset_add_table('default', 't');
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2');
spock_subscribe($n1, $n2, 'sub_n2_n1');
$n1->safe_psql('postgres', 'INSERT INTO t SELECT g, 0 FROM generate_series(1, 20) g');
spock_wait_caught_up($n1);

is($n1->safe_psql('postgres', 'SELECT subname, apply_error_count, confl_insert_exists,
        confl_update_origin_differs, confl_update_exists, confl_update_missing,
        confl_delete_origin_differs, confl_delete_missing, confl_multiple_unique_conflicts
        FROM spock.sub_conflict_stats'),
    'sub_n2_n1|0|0|0|0|0|0|0|0', 'the view starts at zero');

my $dir = PostgreSQL::Test::Utils::tempdir;
open(my $fh, '>', "$dir/n1.sql") or die;
print $fh "\\set k random(1, 20)\nUPDATE t SET v = v + 1 WHERE id = :k;\n";
close $fh;
open($fh, '>', "$dir/n2.sql") or die;
print $fh "\\set k random(1, 20)\nDELETE FROM t WHERE id = :k;\n"
  . "\\set j random(1, 20)\nINSERT INTO t VALUES (:j, 200) ON CONFLICT DO NOTHING;\n";
close $fh;

my @offsets = (-s $n1->logfile, -s $n2->logfile);
my $seconds = $ENV{SPOCK_CONFLICT_SECONDS} // 12;
spock_pgbench_finish('pgbench',
    map { spock_pgbench($_->[0], '-T', $seconds, '-c', '2', '-f', "$dir/$_->[1].sql") }
      ([$n1, 'n1'], [$n2, 'n2']));
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);

sub stats {
    my ($node) = @_;
    my @v = split /\|/, $node->safe_psql('postgres', q{
        SELECT apply_error_count, confl_insert_exists, confl_update_origin_differs,
               confl_update_exists, confl_update_missing, confl_delete_origin_differs,
               confl_delete_missing, confl_multiple_unique_conflicts
        FROM spock.sub_conflict_stats});
    my %h;
    @h{qw(errors insert_exists update_origin_differs update_exists update_missing
        delete_origin_differs delete_missing multiple_unique_conflicts)} = @v;
    return \%h;
}
my ($s1, $s2) = (stats($n1), stats($n2));
diag 'n1: ' . join(' ', map { "$_=$s1->{$_}" } sort keys %$s1);
diag 'n2: ' . join(' ', map { "$_=$s2->{$_}" } sort keys %$s2);
ok($s2->{update_missing} > 0, "n2 counts updates of rows it deleted as update_missing ($s2->{update_missing})");
ok($s1->{delete_origin_differs} > 0,
    "n1 counts deletes of rows it updated as delete_origin_differs ($s1->{delete_origin_differs})");
ok($s2->{update_origin_differs} > 0,
    "n2 counts updates of rows it re-inserted as update_origin_differs ($s2->{update_origin_differs})");
is($s1->{update_exists} + $s2->{update_exists} + $s1->{multiple_unique_conflicts}
      + $s2->{multiple_unique_conflicts}, 0, 'no key changes, so no update_exists');
for my $node ($n1, $n2) {
    my ($replayed, $applied) = split /\|/, $node->safe_psql('postgres',
        'SELECT xacts_replayed, xacts_applied_on_replay FROM spock.apply_stats()');
    is($applied, $replayed, $node->name . ": every replayed transaction ($replayed) was applied "
          . 'in full on replay (update_missing and update_deleted are not errors)');
    is($node->safe_psql('postgres', 'SELECT apply_error_count FROM spock.sub_conflict_stats'),
        $replayed, $node->name . ': apply_error_count counts those replays');
}
is(table_digest($n1, 't'), table_digest($n2, 't'), 'after the run both nodes are identical');

# n2 logs its update_missing conflicts (n1's delete_origin_differs are only counted, being
# ordinary replication): at most 10 detailed lines per type and 10 s window, and summaries of
# the rest. The summary of the last window comes once it is over, while the worker is idle.
ok($n2->wait_for_log(qr/more conflicts of type update_missing .* were not logged individually/,
        $offsets[1]), 'n2: rate-limit summary lines in the log');
my $i = 0;
for my $node ($n1, $n2) {
    my $log = substr(slurp_file($node->logfile), $offsets[$i++]);
    my @detail = $log =~ /CONFLICT: \w+: remote/g;
    my @summary = $log =~ /CONFLICT: (\d+) more conflicts of type \w+ in the 10 s from/g;
    my $suppressed = 0;
    $suppressed += $_ for @summary;
    # 10 types, one window per 10 s of the run plus one.
    my $windows = int($seconds / 10) + 2;
    ok(@detail <= 10 * 10 * $windows,
        $node->name . ': ' . scalar(@detail) . " detailed CONFLICT lines, $suppressed more summarised");
}
# Every update_missing is in the log, one way or the other, once the last window is over.
my ($detailed, $summarised) = (0, 0);
for (my $tries = 0; $tries < 600; $tries++) {
    my $log2 = substr(slurp_file($n2->logfile), $offsets[1]);
    ($detailed, $summarised) = (scalar(() = $log2 =~ /CONFLICT: update_missing: remote/g), 0);
    $summarised += $_ for $log2 =~ /CONFLICT: (\d+) more conflicts of type update_missing/g;
    last if $detailed + $summarised >= $s2->{update_missing};
    usleep(100_000);
}
is($detailed + $summarised, $s2->{update_missing},
    "n2: $detailed detailed and $summarised summarised update_missing lines, as counted");

# insert_exists: both nodes insert keys 1001..1010 while n2 does not apply; then it does.
my ($e1, $e2) = (stats($n1)->{insert_exists}, stats($n2)->{insert_exists});
my $replays = $n1->safe_psql('postgres', 'SELECT xacts_replayed FROM spock.apply_stats()')
  + $n2->safe_psql('postgres', 'SELECT xacts_replayed FROM spock.apply_stats()');
$n2->safe_psql('postgres', "SELECT spock.sub_disable('sub_n1_n2', true)");
$n1->safe_psql('postgres', 'INSERT INTO t SELECT g, 1 FROM generate_series(1001, 1010) g');
$n2->safe_psql('postgres', 'INSERT INTO t SELECT g, 2 FROM generate_series(1001, 1010) g');
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n2', true)");
spock_wait_replicating($n2, 'sub_n1_n2');
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
($s1, $s2) = (stats($n1), stats($n2));
is($s1->{insert_exists} - $e1, 10, 'n1: ten insert_exists');
is($s2->{insert_exists} - $e2, 10, 'n2: ten insert_exists');
is($n1->safe_psql('postgres', 'SELECT string_agg(v::text, \',\') FROM (SELECT DISTINCT v FROM t WHERE id > 1000) s'),
    $n2->safe_psql('postgres', 'SELECT string_agg(v::text, \',\') FROM (SELECT DISTINCT v FROM t WHERE id > 1000) s'),
    'last_update_wins: both nodes keep the same rows');
is($n1->safe_psql('postgres', 'SELECT xacts_replayed FROM spock.apply_stats()')
      + $n2->safe_psql('postgres', 'SELECT xacts_replayed FROM spock.apply_stats()'), $replays,
    'insert_exists replays nothing');

# Both directions still carry changes.
$n1->safe_psql('postgres', 'INSERT INTO t VALUES (10001, 1)');
$n2->safe_psql('postgres', 'INSERT INTO t VALUES (10002, 2)');
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
is($n1->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id > 10000'), '2', 'n1 has both new rows');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id > 10000'), '2', 'n2 has both new rows');

done_testing();
