# The transaction record spills to a full disk (issue 10, docs/exceptions.md): spock.temp_directory
# on a small filesystem (a 16 MB tmpfs that scripts/test.sh mounts when it runs as root; the
# test is skipped, saying so, when there is none). A large transaction that applies cleanly
# is applied without its record, with a WARNING; a large transaction that fails cannot be
# replayed in place, so the worker restarts and receives it again until there is room, and
# then replays it. Nothing is lost and no spill file is left behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $fs = $ENV{SPOCK_SMALL_FS} // '';
plan skip_all => 'no small filesystem: scripts/test.sh mounts one (a tmpfs) only when it runs '
  . 'as root and the machine allows mounting; set SPOCK_SMALL_FS to a small, empty directory '
  . 'of the server\'s user on its own filesystem to run this test'
  unless $fs ne '' && -d $fs && -w $fs;

my $n1 = spock_node('full_n1', extension => 1);
my $n2 = spock_node('full_n2', extension => 1,
    extra => "spock.temp_directory = '$fs'\n"
      . "spock.exception_replay_queue_size = 256kB\n"
      . "spock.exception_behaviour = discard\n"
      . "spock.restart_delay_default = 200\n"
      . "spock.restart_delay_on_exception = 200\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE t (id int PRIMARY KEY, pad text NOT NULL);
        SELECT spock.repset_add_table('default', 't');
    });
}
# A constraint only the subscriber has.
$n2->safe_psql('postgres', 'ALTER TABLE t ADD CONSTRAINT t_id_check CHECK (id <> 130001)');
spock_subscribe($n2, $n1, 'sub_n1_n2');

# Leave about 2 MB free; each large transaction below needs about 8 MB of record.
my $free_kb = sub {
    my $out = `df -Pk '$fs'`;
    my @f = split /\s+/, (split /\n/, $out)[1];
    return $f[3];
};
my $filler = "$fs/filler";
open(my $fh, '>', $filler) or die "cannot write $filler: $!";
my $block = 'x' x 65536;
while ($free_kb->() > 2048) {
    print $fh $block or last;
}
close($fh);
ok($free_kb->() <= 2048, 'the small filesystem is nearly full (' . $free_kb->() . ' kB free)');

my $logstart = -s $n2->logfile;
my $big = sub {
    my ($from, $to) = @_;
    $n1->safe_psql('postgres',
        "INSERT INTO t SELECT g, repeat(md5(g::text), 4) FROM generate_series($from, $to) g");
};

# --- a large transaction that applies cleanly: applied without its record
$big->(1, 60000);
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t'), '60000', 'the clean transaction applied');
my $log = slurp_file($n2->logfile, $logstart);
like($log, qr/is applied without a record for replay/, 'a WARNING says it had no record');
like($log, qr/\[53100\] could not write the replay spill file/,
    'with the full-disk error (53100) in the detail');

# --- a large transaction that fails: it cannot be replayed until there is room
$logstart = -s $n2->logfile;
$big->(100001, 160000);
ok($n2->wait_for_log(qr/cannot be replayed in place: its record was lost/, $logstart),
    'the failed transaction cannot be replayed in place while the disk is full');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t'), '60000', 'and nothing of it applied');

unlink($filler) or die "cannot remove $filler: $!";
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t'), '119999',
    'with room again, the failed transaction was replayed: every row but the refused one');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id = 130001'), '0',
    'the row the subscriber refuses is not there');
is($n2->safe_psql('postgres',
        "SELECT count(*) FROM spock.exception_log WHERE error_message LIKE '[23514] %t_id_check%'"),
    '1', 'exception_log records the refused row');
ok($n2->safe_psql('postgres',
        "SELECT bytes_spilled > 0 FROM spock.apply_stats() WHERE sub_name = 'sub_n1_n2'") eq 't',
    'the replayed transaction spilled');

my @dirs = glob("$fs/spock_replay.*");
is(scalar(@dirs), 1, 'one private spill directory for this server in spock.temp_directory');
my @left = glob("$dirs[0]/*");
is(scalar(@left), 0, 'no spill file left behind');
is((stat($dirs[0]))[2] & 07777, 0700, 'the spill directory is private (0700)');

# Both nodes end with the same rows, the refused one apart.
is($n2->safe_psql('postgres', "SELECT md5(string_agg(id::text || pad, ',' ORDER BY id)) FROM t"),
    $n1->safe_psql('postgres',
        "SELECT md5(string_agg(id::text || pad, ',' ORDER BY id)) FROM t WHERE id <> 130001"),
    'the subscriber has every row of the provider but the refused one');

done_testing();
