# Helpers for spock's TAP tests: nodes configured the way spock needs.
package SpockTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

our @EXPORT = qw(spock_node spock_settings spock_dsn spock_create_node spock_subscribe
  spock_wait_replicating spock_wait_caught_up table_digest spock_pgbench spock_pgbench_finish);

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

# Creates the spock node of a node's database (named like the node unless given).
sub spock_create_node {
    my ($node, %opt) = @_;
    my $name = $opt{name} // $node->name;
    my $db = $opt{db} // 'postgres';
    my $dsn = spock_dsn($node, $db);
    $node->safe_psql($db, "SELECT spock.node_create('$name', '$dsn')");
    return $name;
}

# Subscribes $sub to $prov with the given sub_create arguments (SQL text, e.g.
# "synchronize_data := true"), and waits until it replicates.
sub spock_subscribe {
    my ($sub, $prov, $name, $args, %opt) = @_;
    my $db = $opt{db} // 'postgres';
    my $dsn = spock_dsn($prov, $db);
    my $extra = defined $args && $args ne '' ? ", $args" : '';
    $sub->safe_psql($db, "SELECT spock.sub_create('$name', '$dsn'$extra)");
    spock_wait_replicating($sub, $name, db => $db) unless $opt{nowait};
}

sub spock_wait_replicating {
    my ($node, $sub, %opt) = @_;
    my $db = $opt{db} // 'postgres';
    $node->poll_query_until($db,
        "SELECT status = 'replicating' FROM spock.sub_show_status('$sub')")
      or die "subscription $sub on " . $node->name . " never reached replicating: "
      . $node->safe_psql($db, "SELECT status FROM spock.sub_show_status('$sub')");
}

# Waits until every spock slot on $prov has confirmed the provider's current WAL position,
# i.e. every subscriber has applied (and flushed) everything committed on $prov so far.
sub spock_wait_caught_up {
    my ($prov, %opt) = @_;
    my $db = $opt{db} // 'postgres';
    my $lsn = $prov->safe_psql($db, 'SELECT pg_current_wal_lsn()');
    $prov->poll_query_until($db,
        "SELECT count(*) = 0 FROM pg_replication_slots WHERE plugin = 'spock_output' "
          . "AND (confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < '$lsn')")
      or die 'subscribers of ' . $prov->name . " did not catch up to $lsn";
}

# count and md5 of a table's rows in key order, to compare nodes.
sub table_digest {
    my ($node, $table, %opt) = @_;
    my $db = $opt{db} // 'postgres';
    my $order = $opt{order_by} // 'id';
    return $node->safe_psql($db,
        "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY $order)), '-') "
          . "FROM $table t");
}

# Starts pgbench (no vacuum) against a node's database postgres in the background, with the
# given arguments (duration, clients, script files ...). Returns a run for
# spock_pgbench_finish().
sub spock_pgbench {
    my ($node, @args) = @_;
    my ($out, $err) = ('', '');
    my $h = IPC::Run::start(
        [ 'pgbench', '-n', @args, '-h', $node->host, '-p', $node->port, 'postgres' ],
        '>', \$out, '2>', \$err);
    return { h => $h, name => $node->name, out => \$out, err => \$err };
}

# Waits for pgbench runs to end: each must have succeeded (one test each, named
# "<what> on <node> ran"). Reports each run's transactions per second. Returns the outputs.
sub spock_pgbench_finish {
    my ($what, @runs) = @_;
    my @outs;
    for my $r (@runs) {
        $r->{h}->finish;
        ok($r->{h}->result == 0, "$what on $r->{name} ran") or diag ${ $r->{err} };
        my ($tps) = ${ $r->{out} } =~ /tps = ([\d.]+)/;
        diag "$r->{name}: " . ($tps // '?') . ' transactions/s';
        push @outs, ${ $r->{out} };
    }
    return @outs;
}

1;
