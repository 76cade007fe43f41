# Sequences in a three-node mesh (docs/sequences.md). A sequence advanced on one node is at
# least as far on the others after spock.sync_seq() and after the manager's periodic sync,
# and never moves backwards on a node that is ahead. Then live: all three nodes insert into
# the same table at the same time with a step/offset key sequence (increment 3, offsets 1, 2,
# 3); the periodic sync moves the sequences forward without breaking the offsets, so no key
# collides and every node ends with the same rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

# n1 also carries a custom spock.* setting and a mistyped real one: both are accepted (the
# prefix is not reserved), and only the typo gets a WARNING naming the real setting.
my @nodes = map {
    spock_node("sq_n$_", extension => 1,
        extra => $_ == 1 ? "spock.my_app_tag = 'blue'\nspock.readonyl = off\n" : '')
} 1 .. 3;
my ($n1, $n2, $n3) = @nodes;
for my $i (0 .. 2) {
    my $offset = $i + 1;
    spock_create_node($nodes[$i], name => "n$offset");
    $nodes[$i]->safe_psql('postgres', qq{
        CREATE SEQUENCE s;
        CREATE SEQUENCE ids INCREMENT 3 START $offset;
        CREATE TABLE t (id bigint PRIMARY KEY DEFAULT nextval('ids'), src text NOT NULL);
        SELECT spock.repset_add_table('default', 't');
        SELECT spock.repset_add_seq('default', 's');
        SELECT spock.repset_add_seq('default', 'ids');
    });
}
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($nodes[$s], $nodes[$p], 'sub_n' . ($p + 1) . '_n' . ($s + 1));
    }
}

ok($n1->log_contains(qr/"spock\.readonyl" is not a spock setting.*\n.*\n.*Did you mean "spock\.readonly"/),
    'a mistyped spock setting in postgresql.conf gets a WARNING naming the real one');
ok(!$n1->log_contains(qr/spock\.my_app_tag/), 'a custom spock.* setting is accepted silently');
is($n1->safe_psql('postgres', 'SHOW spock.my_app_tag'), 'blue', 'the custom setting is kept');

sub last_value {
    my ($node, $seq) = @_;
    return $node->safe_psql('postgres', "SELECT last_value FROM $seq");
}

# --- sync_seq ---------------------------------------------------------------------------
$n1->safe_psql('postgres', 'SELECT nextval(\'s\') FROM generate_series(1, 500)');
is($n1->safe_psql('postgres', "SELECT spock.sync_seq('s')"), 't', 'sync_seq on n1');
is($n1->safe_psql('postgres',
        "SELECT last_value FROM spock.sequence_state WHERE seqoid = 's'::regclass"),
    '1500', 'n1 shipped its last value plus the margin of 1000');
for my $node ($n2, $n3) {
    $node->poll_query_until('postgres', 'SELECT last_value >= 500 FROM s')
      or die $node->name . ' never got the sequence value';
    is(last_value($node, 's'), '1500', $node->name . ': s moved forward to the shipped value');
    cmp_ok($node->safe_psql('postgres', "SELECT nextval('s')"), '>', 500,
        $node->name . ': the next value is beyond every value n1 handed out');
}

# --- never backwards --------------------------------------------------------------------
$n3->safe_psql('postgres', "SELECT setval('s', 100000)");
$n1->safe_psql('postgres', "SELECT nextval('s') FROM generate_series(1, 600)");
$n1->safe_psql('postgres', "SELECT spock.sync_seq('s')");
spock_wait_caught_up($n1);
cmp_ok(last_value($n3, 's'), '>=', 100000, 'n3, ahead of n1, did not move backwards');
cmp_ok(last_value($n2, 's'), '>=', 1600, 'n2 moved to n1\'s new value');

# --- periodic sync ----------------------------------------------------------------------
# Nobody calls sync_seq: n3's manager ships its value because n3 went beyond what it last
# shipped or received.
for my $node ($n1, $n2) {
    $node->poll_query_until('postgres', 'SELECT last_value >= 100000 FROM s')
      or die $node->name . ' never got n3\'s value from the periodic sync';
    pass($node->name . ': n3\'s value arrived through the periodic sync');
}
# A node that only received values ships nothing back: the values settle.
my %settled = map { $_->name => last_value($_, 's') } @nodes;
$n2->safe_psql('postgres', "SELECT nextval('s')");
$n1->poll_query_until('postgres',
    "SELECT last_value > $settled{sq_n1} FROM s")
  or die 'n1 never got n2\'s advance';
pass('n1 got n2\'s advance through the periodic sync');
spock_wait_caught_up($_) for @nodes;
cmp_ok(last_value($n3, 's'), '>=', last_value($n2, 's') - 1,
    'n3 is at least as far as n2 once the sync is through');

# --- live writers with a step/offset scheme ----------------------------------------------
my $script = PostgreSQL::Test::Utils::tempdir() . '/insert.sql';
my @runs;
for my $i (0 .. 2) {
    my $file = "$script.$i";
    open my $fh, '>', $file or die $!;
    print $fh "INSERT INTO t (src) VALUES ('n" . ($i + 1) . "');\n";
    close $fh;
    push @runs, spock_pgbench($nodes[$i], '-T', '6', '-c', '2', '-f', $file);
}
spock_pgbench_finish('concurrent inserts with step/offset keys', @runs);
for (1 .. 2) {
    spock_wait_caught_up($_) for @nodes;
}
my $digest = table_digest($n1, 't');
for my $node ($n2, $n3) {
    is(table_digest($node, 't'), $digest, $node->name . ' has the same rows as n1');
}
is($n1->safe_psql('postgres',
        "SELECT count(*) FROM t WHERE id % 3 <> (substr(src, 2)::int % 3)"),
    '0', 'every key keeps the offset of the node that made it');
for my $node (@nodes) {
    is($node->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
        $node->name . ': no apply errors');
}
# After the periodic sync every node's key sequence is beyond every key in the table.
for my $node (@nodes) {
    ok($node->poll_query_until('postgres',
            'SELECT (SELECT last_value FROM ids) >= (SELECT max(id) - 2 FROM t)'),
        $node->name . ': its key sequence is at least as far as every key in the table')
      or diag join("\n", map {
        $_->name . ': ' . $_->safe_psql('postgres',
            "SELECT (SELECT last_value || ' ' || is_called FROM ids), "
              . "(SELECT last_value FROM spock.sequence_state WHERE seqoid = 'ids'::regclass), "
              . "(SELECT string_agg(src || '=' || m, ',') FROM "
              . "  (SELECT src, max(id) m FROM t GROUP BY src) x), "
              . "(SELECT count(*) FROM spock.queue WHERE message->>'sequence_name' = 'ids')")
    } @nodes);
    my $residue = $node->safe_psql('postgres', "SELECT nextval('ids') % 3");
    my $name = $node->name;
    my ($n) = $name =~ /(\d)$/;
    is($residue, $n % 3, "$name: its key sequence still has its offset after the syncs");
}

done_testing();
