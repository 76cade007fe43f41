# Helpers for spock's TAP tests: nodes configured the way spock needs.
package SpockTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(spock_node spock_settings spock_dsn);

# The postgresql.conf lines every spock node gets.
sub spock_settings {
    return <<'CONF';
shared_preload_libraries = 'spock'
output_plugin_libraries = 'pgoutput, test_decoding, spock_output'
wal_level = logical
track_commit_timestamp = on
max_replication_slots = 16
max_wal_senders = 16
max_worker_processes = 24
log_min_messages = info
CONF
}

# A libpq connection string for a node's database, free of quotes so it can be embedded in
# SQL string literals.
sub spock_dsn {
    my ($node, $db) = @_;
    return 'host=' . $node->host . ' port=' . $node->port . ' dbname=' . ($db // 'postgres');
}

# Creates, configures and starts a node. Options:
#   extra => 'more postgresql.conf lines'
#   preload => 0 to leave spock out of shared_preload_libraries
#   start => 0 to leave it stopped
#   extension => 1 to CREATE EXTENSION spock in database postgres
sub spock_node {
    my ($name, %opt) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init(allows_streaming => 'logical');
    my $conf = spock_settings();
    $conf =~ s/^shared_preload_libraries.*\n//m if defined $opt{preload} && !$opt{preload};
    $node->append_conf('postgresql.conf', $conf . ($opt{extra} // ''));
    return $node if defined $opt{start} && !$opt{start};
    $node->start;
    $node->safe_psql('postgres', 'CREATE EXTENSION spock') if $opt{extension};
    return $node;
}

1;
