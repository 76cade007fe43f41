# What a DBA sees when the server is not configured for spock.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

# Without shared_preload_libraries: a clear error, no crash, and the server keeps running.
my $plain = spock_node('plain', preload => 0);
my ($rc, $out, $err) = $plain->psql('postgres', 'CREATE EXTENSION spock');
isnt($rc, 0, 'CREATE EXTENSION fails without preloading');
like($err, qr/spock must be loaded via shared_preload_libraries/, 'error names the problem');
like($err, qr/HINT:.*shared_preload_libraries/, 'hint says what to change');
($rc, $out, $err) = $plain->psql('postgres', 'LOAD \'spock\'');
like($err, qr/spock must be loaded via shared_preload_libraries/, 'LOAD fails the same way');
is($plain->safe_psql('postgres', 'SELECT 1'), '1', 'server still answers');
is($plain->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'spock'"),
    '0', 'nothing left behind');
$plain->stop;

# wal_level and track_commit_timestamp wrong: the server starts, warns in its log, and spock
# can still be installed (node and subscription creation refuse later).
my $misconf = spock_node('misconf',
    extra => "wal_level = replica\ntrack_commit_timestamp = off\n", extension => 1);
my $log = slurp_file($misconf->logfile);
like($log, qr/WARNING:  spock is loaded but the server settings do not allow replication/,
    'startup warning');
like($log, qr/DETAIL:  wal_level must be "logical"\. track_commit_timestamp must be on/,
    'warning lists both settings');
is($misconf->safe_psql('postgres', 'SELECT spock.spock_version()'), '5.1.0',
    'extension works for inspection');
($rc, $out, $err) = $misconf->psql('postgres',
    "SELECT spock.node_create('n1', 'dbname=postgres')");
like($err, qr/server settings do not allow spock replication/, 'node_create refuses');
like($err, qr/DETAIL:  wal_level must be "logical"/, 'and says which settings are wrong');
is($misconf->safe_psql('postgres', 'SELECT count(*) FROM spock.node'), '0',
    'no node was created');
$misconf->stop;

# Typos in spock.* settings are reported instead of being silently ignored. The prefix is not
# reserved (installations keep custom spock.* variables), so the server still starts: a
# WARNING names the closest real setting.
my $typo = spock_node('typo', start => 0);
$typo->append_conf('postgresql.conf',
    "spock.conflict_resolutoin = 'error'\nspock.my_own_variable = 'x'\n");
$typo->start;
my $typo_log = slurp_file($typo->logfile);
like($typo_log,
    qr/WARNING:  "spock\.conflict_resolutoin" is not a spock setting.*\n.*\n.*HINT:  Did you mean "spock\.conflict_resolution"\?/,
    'misspelt setting reported at startup, with the closest real one');
unlike($typo_log, qr/spock\.my_own_variable/, 'a custom variable far from every setting is accepted quietly');
is($typo->safe_psql('postgres', 'SHOW spock.my_own_variable'), 'x', 'and readable');
$typo->stop;

done_testing();
