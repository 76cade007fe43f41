# Per-table apply counters (spock.get_channel_stats(), channel_table_stats,
# channel_summary_stats) between two live nodes: inserts, updates, deletes (as deletes, not as
# updates like Spock 5) and conflicts per subscription and table; spock.stats_max_entries
# (what happens when the table is full); spock.reset_channel_stats(); spock.channel_counters =
# off. Then lag_tracker: the provider writes WAL that is not replicated after the last
# replicated commit, and the subscriber's progress row must never show negative lag bytes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SpockTest;

my $n1 = spock_node('chst_n1', extension => 1);
my $n2 = spock_node('chst_n2', extension => 1, extra => "spock.stats_max_entries = 2\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE a (id int PRIMARY KEY, v int);
        CREATE TABLE b (id int PRIMARY KEY, v int);
        CREATE TABLE c (id int PRIMARY KEY, v int);
        CREATE TABLE not_replicated (id int, pad text);
        SELECT spock.repset_add_table('default', t) FROM unnest('{a,b,c}'::regclass[]) t;
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2');
spock_subscribe($n1, $n2, 'sub_n2_n1');

sub stats {
    my ($node, $table) = @_;
    return $node->safe_psql('postgres', qq{
        SELECT sub_name || ' ' || n_tup_ins || ' ' || n_tup_upd || ' ' || n_tup_del || ' '
               || n_conflict || ' ' || n_dca
        FROM spock.channel_table_stats WHERE table_name = '$table'});
}

# Each statement is a remote transaction of its own.
$n1->safe_psql('postgres', "INSERT INTO a VALUES ($_, 0)") for 1 .. 5;
$n1->safe_psql('postgres', 'UPDATE a SET v = 1 WHERE id <= 3');
$n1->safe_psql('postgres', 'DELETE FROM a WHERE id IN (4, 5)');
$n1->safe_psql('postgres', 'INSERT INTO b VALUES (1, 0), (2, 0)');
spock_wait_caught_up($n1);
is(stats($n2, 'a'), 'sub_n1_n2 5 3 2 0 0', 'n2: inserts, updates and deletes of a, deletes as deletes');
is(stats($n2, 'b'), 'sub_n1_n2 2 0 0 0 0', 'n2: inserts of b');
is($n2->safe_psql('postgres', q{SELECT sub_name || ' ' || n_tup_ins || ' ' || n_tup_upd || ' '
        || n_tup_del || ' ' || n_conflict FROM spock.channel_summary_stats}),
    'sub_n1_n2 7 3 2 0', 'n2: the summary adds the tables up');
is($n1->safe_psql('postgres', 'SELECT count(*) FROM spock.channel_table_stats'), '0',
    'n1 applied nothing, so it has no rows');

# Conflicts are counted on the table they happen on: both nodes write key 100 at once.
$n2->safe_psql('postgres', "SELECT spock.sub_disable('sub_n1_n2', true)");
$n1->safe_psql('postgres', 'INSERT INTO a VALUES (100, 1)');
$n2->safe_psql('postgres', 'INSERT INTO a VALUES (100, 2)');
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n2', true)");
spock_wait_replicating($n2, 'sub_n1_n2');
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
is(stats($n2, 'a'), 'sub_n1_n2 6 3 2 1 0', 'n2: the insert_exists on a is counted with the insert');
is(stats($n1, 'a'), 'sub_n2_n1 1 0 0 1 0', 'n1: so is its own');

# n2's table holds 2 entries (a, b): changes to c are not counted, with one WARNING in the
# log, and get_channel_stats() says how many were left out.
my $offset = -s $n2->logfile;
$n1->safe_psql('postgres', 'INSERT INTO c VALUES (1, 0)');
$n1->safe_psql('postgres', 'INSERT INTO c VALUES (2, 0)');
spock_wait_caught_up($n1);
is(stats($n2, 'c'), '', 'n2: c is not tracked, the table being full');
ok($n2->wait_for_log(qr/WARNING:  spock channel statistics are full/, $offset),
    'n2: the apply worker warned that the table is full');
my $log = substr(slurp_file($n2->logfile), $offset);
is(scalar(() = $log =~ /channel statistics are full/g), 1, 'n2: ... once');
my ($rc, $out, $err) = $n2->psql('postgres', 'SELECT count(*) FROM spock.get_channel_stats()');
like($err, qr/WARNING:  2 applied changes were not counted: the channel statistics table is full/,
    'get_channel_stats() says how many changes were not counted');
is($out, '2', 'and still returns the entries it has');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM c'), '2', 'the rows themselves were applied');

# A reset empties the table; new entries are made again.
$n2->safe_psql('postgres', 'SELECT spock.reset_channel_stats()');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM spock.channel_table_stats'), '0', 'reset empties it');
$n1->safe_psql('postgres', 'INSERT INTO c VALUES (3, 0)');
spock_wait_caught_up($n1);
is(stats($n2, 'c'), 'sub_n1_n2 1 0 0 0 0', 'after the reset c is tracked');
($rc, $out, $err) = $n2->psql('postgres', 'SELECT count(*) FROM spock.get_channel_stats()');
unlike($err, qr/not counted/, 'and nothing is reported as left out');

# spock.channel_counters = off (takes effect when the worker starts): nothing is counted.
$n2->safe_psql('postgres', 'ALTER SYSTEM SET spock.channel_counters = off');
$n2->reload;
$n2->safe_psql('postgres', "SELECT spock.sub_disable('sub_n1_n2', true)");
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n2', true)");
spock_wait_replicating($n2, 'sub_n1_n2');
$n1->safe_psql('postgres', 'INSERT INTO c VALUES (4, 0)');
$n1->safe_psql('postgres', 'UPDATE a SET v = 5');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM a WHERE v = 5'), '4', 'changes are applied');
is(stats($n2, 'c'), 'sub_n1_n2 1 0 0 0 0', 'but with channel_counters off not counted');
is(stats($n2, 'a'), '', 'not even a new entry');

# lag_tracker: after the last replicated commit n1 writes WAL nobody replicates. The worker
# then writes the caught-up position (updated_by_decode = false); the last commit must not be
# written again after it, with an insert position behind remote_lsn (negative lag bytes).
$n1->safe_psql('postgres', 'INSERT INTO b VALUES (3, 0)');
spock_wait_caught_up($n1);
$n1->safe_psql('postgres',
    "INSERT INTO not_replicated SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g");
my $bad = '';
my $idle_seen = 0;
my $until = time() + 8;
my $idle_deadline = time() + 60;
while (time() < ($idle_seen ? $until : $idle_deadline)) {
    my $row = $n2->safe_psql('postgres', q{
        SELECT updated_by_decode, remote_insert_lsn >= remote_lsn,
               (SELECT min(replication_lag_bytes) FROM spock.lag_tracker)
        FROM spock.progress});
    my ($by_decode, $ordered, $bytes) = split /\|/, $row;
    $bad .= "$row\n" if $ordered ne 't' || (defined $bytes && $bytes < 0);
    if (!$idle_seen && $by_decode eq 'f') {
        $idle_seen = 1;
        $until = time() + 4;    # a few more writes of the progress row (once a second)
    }
    usleep(100_000);
}
ok($idle_seen, 'n2 wrote its caught-up position to spock.progress');
is($bad, '', 'the progress row never had an insert position behind remote_lsn, lag bytes >= 0');

done_testing();
