# The schema dump of a structure sync is a private file: by default in <data directory>/
# pg_spock/sync (mode 0700), created with O_EXCL and mode 0600 under a name nobody can
# predict, and removed afterwards. A spock.temp_directory that others could tamper with is
# refused.
use strict;
use warnings;
use File::stat;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use SpockTest;

my $n1 = spock_node('priv_n1', extension => 1);
my $n2 = spock_node('priv_n2', extension => 1, extra => "spock.restart_delay_default = 200\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
$n1->safe_psql('postgres', q{
    CREATE TABLE t (id int PRIMARY KEY, v text);
    INSERT INTO t VALUES (1, 'one');
    SELECT spock.repset_add_table('default', 't');
});

# A directory anyone may write to, without the sticky bit: refused.
my $open_dir = PostgreSQL::Test::Utils::tempdir();
chmod 0777, $open_dir or die;
$n2->append_conf('postgresql.conf', "spock.temp_directory = '$open_dir'\n");
$n2->reload;
spock_subscribe($n2, $n1, 'sub_priv', 'synchronize_structure := true, synchronize_data := true',
    nowait => 1);
my $seen = 0;
for (1 .. 300) {
    if (slurp_file($n2->logfile) =~
        /directory "\Q$open_dir\E" is not safe for spock's private files.*?\n.*?DETAIL:  Group or others may write to it and it is not sticky\./s)
    {
        $seen = 1;
        last;
    }
    usleep(100_000);
}
ok($seen, 'a world-writable, non-sticky spock.temp_directory is refused');
opendir(my $dh, $open_dir) or die;
my @left = grep { !/^\.\.?$/ } readdir($dh);
closedir($dh);
is(scalar(@left), 0, 'nothing written there') or diag("@left");

# Back to the default: the private directory in the data directory.
$n2->adjust_conf('postgresql.conf', 'spock.temp_directory', "''");
$n2->reload;
spock_wait_replicating($n2, 'sub_priv');
is($n2->safe_psql('postgres', 'SELECT v FROM t'), 'one', 'structure and data synchronised');
my $dir = $n2->data_dir . '/pg_spock/sync';
ok(-d $dir && !-l $dir, 'pg_spock/sync exists');
is(sprintf('%04o', stat($n2->data_dir . '/pg_spock')->mode & 07777), '0700', 'pg_spock is 0700');
is(sprintf('%04o', stat($dir)->mode & 07777), '0700', 'pg_spock/sync is 0700');
opendir($dh, $dir) or die;
@left = grep { !/^\.\.?$/ } readdir($dh);
closedir($dh);
is(scalar(@left), 0, 'the dump file was removed') or diag("@left");
my $log = slurp_file($n2->logfile);
unlike($log, qr{/tmp/spock-\d+\.dump}, 'no predictable dump name in /tmp');

# A symbolic link in place of the private directory is refused.
$n2->safe_psql('postgres', "SELECT spock.sub_drop('sub_priv')");
$n2->safe_psql('postgres', 'DROP TABLE t');
rmdir $dir or die "rmdir $dir: $!";
my $elsewhere = PostgreSQL::Test::Utils::tempdir();
symlink($elsewhere, $dir) or die "symlink: $!";
my $offset = -s $n2->logfile;
spock_subscribe($n2, $n1, 'sub_priv2', 'synchronize_structure := true, synchronize_data := true',
    nowait => 1);
$seen = 0;
for (1 .. 300) {
    if (slurp_file($n2->logfile, $offset) =~ /\Q$dir\E" is not safe .*?\n.*?DETAIL:  It is a symbolic link\./s) {
        $seen = 1;
        last;
    }
    usleep(100_000);
}
ok($seen, 'a symbolic link in place of pg_spock/sync is refused');

$n1->stop;
$n2->stop;
done_testing();
