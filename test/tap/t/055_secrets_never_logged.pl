# Passwords in connection strings never reach a server log line, an error, a view or
# pg_stat_activity (issue 10, docs/security.md). Two nodes whose replication role logs in with
# a SCRAM password; every DSN spock is given carries a password: node_create, sub_create with a
# structure and data sync (pg_dump and pg_restore run with it), node_add_interface,
# sub_alter_interface, a wrong password, a percent-encoded URI password, a provider that goes
# away while the subscription runs. The servers log at DEBUG1 with log_connections on. Then
# every log line, every error text, spock's views and functions that show DSNs, and
# pg_stat_activity on both nodes are searched for every password.
# User statements are not logged (log_statement = none, log_min_error_statement = panic;
# PostgreSQL's TAP framework turns on log_statement = all), as docs/security.md
# advises: PostgreSQL itself logs the text of a failing statement, and a password typed into
# one would be there, whoever's function it called.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my %secret = (
    node => 'NodePw-71c3e9',
    sub => 'SubPw-4b8d02',
    wrong => 'WrongPw-9e1f77',
    uri => 'UriPw-35aa60',
    iface => 'IfacePw-d4e210',
);
my $conf = "log_min_messages = debug1\nlog_connections = on\nlog_disconnections = on\n"
  . "log_min_error_statement = panic\nlog_statement = none\n"
  . "spock.restart_delay_default = 200\n";
my $n1 = spock_node('sec_n1', extension => 1, extra => $conf);
my $n2 = spock_node('sec_n2', extension => 1, extra => $conf);

# Connections as repl_user need its password; everything else stays trusted.
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        SET password_encryption = 'scram-sha-256';
        CREATE ROLE repl_user LOGIN SUPERUSER REPLICATION PASSWORD 'placeholder';
    });
    my $hba = $node->data_dir . '/pg_hba.conf';
    my $old = slurp_file($hba);
    open(my $fh, '>', $hba) or die $!;
    print $fh "local all repl_user scram-sha-256\n"
      . "local replication repl_user scram-sha-256\n" . $old;
    close($fh);
    $node->reload;
}
$n1->safe_psql('postgres', "ALTER ROLE repl_user PASSWORD '$secret{sub}'");
$n2->safe_psql('postgres', "ALTER ROLE repl_user PASSWORD '$secret{node}'");

sub dsn {
    my ($node, $pw) = @_;
    return spock_dsn($node) . " user=repl_user password=$pw";
}

$n1->safe_psql('postgres', "SELECT spock.node_create('n1', '" . dsn($n1, $secret{sub}) . "')");
$n2->safe_psql('postgres', "SELECT spock.node_create('n2', '" . dsn($n2, $secret{node}) . "')");
$n1->safe_psql('postgres', q{
    CREATE TABLE t (id int PRIMARY KEY, v text);
    INSERT INTO t SELECT g, 'before' FROM generate_series(1, 100) g;
    SELECT spock.repset_add_table('default', 't');
});
# Structure and data sync: pg_dump and pg_restore connect with the password.
$n2->safe_psql('postgres', "SELECT spock.sub_create('sub_n1_n2', '" . dsn($n1, $secret{sub})
      . "', synchronize_structure := true, synchronize_data := true)");
spock_wait_replicating($n2, 'sub_n1_n2');
$n1->safe_psql('postgres', "INSERT INTO t SELECT g, 'after' FROM generate_series(101, 200) g");
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t'), '200', 'replicates with a password DSN');

my @errors;
sub failing {
    my ($node, $sql, $what) = @_;
    my ($rc, $out, $err) = $node->psql('postgres', $sql);
    isnt($rc, 0, "$what fails");
    push @errors, $err;
}
# A wrong password, as a keyword and as a percent-encoded URI parameter.
failing($n2, "SELECT spock.sub_create('sub_wrong', '" . dsn($n1, $secret{wrong}) . "')",
    'sub_create with a wrong password');
my $uri = 'postgresql://repl_user@/postgres?host=' . $n1->host . '&port=' . $n1->port
  . "&pass%77ord=$secret{uri}";
failing($n2, "SELECT spock.sub_create('sub_uri', '$uri')",
    'sub_create with a wrong percent-encoded URI password');
failing($n2, "SELECT spock.node_create('n2', '" . dsn($n2, $secret{wrong}) . "')",
    'a second node_create');

# Another interface, then the subscription moves to it and back.
$n1->safe_psql('postgres',
    "SELECT spock.node_add_interface('n1', 'n1_alt', '" . dsn($n1, $secret{iface}) . "')");
$n2->safe_psql('postgres',
    "SELECT spock.node_add_interface('n1', 'n1_alt', '" . dsn($n1, $secret{iface}) . "')");
$n2->safe_psql('postgres', "SELECT spock.sub_alter_interface('sub_n1_n2', 'n1_alt')");
# The provider goes away while the subscription runs: the worker fails to connect, with the
# wrong interface password, until it is moved back.
$n1->stop('fast');
$n1->start;
my $logstart = -s $n2->logfile;
ok($n2->wait_for_log(qr/could not connect/, $logstart),
    'the apply worker logs its failed connections');
$n2->safe_psql('postgres', "SELECT spock.sub_alter_interface('sub_n1_n2', 'n1')");
spock_wait_replicating($n2, 'sub_n1_n2');
$n1->safe_psql('postgres', "INSERT INTO t VALUES (201, 'back')");
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t'), '201', 'replicates again');

# What spock shows: sub_show_status, the views, and every session's pg_stat_activity entry.
my $shown = '';
$shown .= $n2->safe_psql('postgres', 'SELECT * FROM spock.sub_show_status()') . "\n";
$shown .= $n2->safe_psql('postgres', 'SELECT * FROM spock.sub_show_table(\'sub_n1_n2\', \'t\')')
  . "\n";
for my $node ($n1, $n2) {
    for my $view (qw(spock.lag_tracker spock.tables spock.sub_conflict_stats)) {
        $shown .= $node->safe_psql('postgres', "SELECT * FROM $view") . "\n";
    }
    $shown .= $node->safe_psql('postgres', 'SELECT * FROM spock.apply_stats()') . "\n";
    $shown .= $node->safe_psql('postgres',
        'SELECT * FROM pg_stat_activity WHERE pid <> pg_backend_pid()') . "\n";
    $shown .= $node->safe_psql('postgres', 'SELECT * FROM pg_stat_replication') . "\n";
}
like($shown, qr/password=\*+/, 'DSNs are shown with the password masked');

my $errors = join("\n", @errors);
like($errors, qr/password=\*+/, 'errors show the DSN with the password masked');
my %logs = map { $_->name => slurp_file($_->logfile) } ($n1, $n2);
ok(length($logs{sec_n2}) > 10000, 'the subscriber logged plenty at DEBUG1');
for my $which (sort keys %secret) {
    my $pw = $secret{$which};
    unlike($errors, qr/\Q$pw\E/, "no $which password in an error");
    unlike($shown, qr/\Q$pw\E/, "no $which password in a view, function or pg_stat_activity");
    for my $name (sort keys %logs) {
        my @hits = grep { /\Q$pw\E/ } split /\n/, $logs{$name};
        is(scalar(@hits), 0, "no $which password in the log of $name")
          or diag(join("\n", @hits[0 .. ($#hits < 4 ? $#hits : 4)]));
    }
}

done_testing();
