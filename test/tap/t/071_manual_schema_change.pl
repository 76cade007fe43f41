# Schema changes rolled out by hand, node by node, while two nodes write (docs/ddl.md): a DROP
# COLUMN and then an ADD COLUMN reach the three nodes one at a time. A remote column the local
# table does not have (dropped here, or not added yet) never stops a subscription: NULL values
# are ignored, other values are dropped with a LOG line, both counted in
# spock.schema_change_stats(), and RELATION messages whose columns changed are logged and
# counted. Every subscription keeps replicating and the tables end identical.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my @nodes = map { spock_node("ms_n$_", extension => 1) } 1 .. 3;
my ($n1, $n2, $n3) = @nodes;
for my $i (0 .. 2) {
    spock_create_node($nodes[$i], name => 'n' . ($i + 1));
    $nodes[$i]->safe_psql('postgres', q{
        CREATE TABLE t (id bigint PRIMARY KEY, a int NOT NULL DEFAULT 0, b int DEFAULT 5);
        INSERT INTO t (id) SELECT g FROM generate_series(1, 20) g;
        SELECT spock.repset_add_table('default', 't');
    });
}
my @subs;
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        my $name = 'sub_n' . ($p + 1) . '_n' . ($s + 1);
        spock_subscribe($nodes[$s], $nodes[$p], $name);
        push @subs, [ $nodes[$s], $name ];
    }
}

sub catch_up_all {
    for (1 .. 2) {
        spock_wait_caught_up($_) for @nodes;
    }
}

# Every node has applied a row written on each writer after this point.
my $mark = 0;
sub wait_flowing {
    my ($what) = @_;
    $mark++;
    for my $w ($n1, $n2) {
        my $id = -($mark * 10 + ($w == $n1 ? 1 : 2));
        $w->safe_psql('postgres', "INSERT INTO t (id) VALUES ($id)");
        for my $node (@nodes) {
            $node->poll_query_until('postgres', "SELECT count(*) = 1 FROM t WHERE id = $id")
              or die $node->name . " stopped applying rows from " . $w->name . " ($what)";
        }
    }
    pass("rows flow between all nodes $what");
}

# n1 and n2 insert their own keys and update the same 20 hot rows at the same time.
my $dir = PostgreSQL::Test::Utils::tempdir();
my @runs;
for my $w ([ $n1, 1 ], [ $n2, 2 ]) {
    my ($node, $k) = @$w;
    my $script = "$dir/w$k.sql";
    open(my $fh, '>', $script) or die $!;
    print $fh "\\set id random(${k}000000001, ${k}999999999)\n"
      . "\\set hot random(1, 20)\n"
      . "INSERT INTO t (id, a) VALUES (:id, $k) ON CONFLICT (id) DO NOTHING;\n"
      . "UPDATE t SET a = a + 1 WHERE id = :hot;\n";
    close $fh;
    push @runs, spock_pgbench($node, '-T', '40', '-c', '2', '-R', '60', '-f', $script);
}
$n1->poll_query_until('postgres', "SELECT count(*) > 100 FROM t") or die 'no load';

my %log_at = map { $_->name => -s $_->logfile } @nodes;

# --- DROP COLUMN b, one node at a time: n3, n2, n1 ---------------------------------------------
for my $node ($n3, $n2, $n1) {
    $node->safe_psql('postgres', 'ALTER TABLE t DROP COLUMN b');
    wait_flowing('after DROP COLUMN on ' . $node->name);
}
# --- ADD COLUMN c, one node at a time: n1, n3, n2 ----------------------------------------------
for my $node ($n1, $n3, $n2) {
    $node->safe_psql('postgres', 'ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0');
    wait_flowing('after ADD COLUMN on ' . $node->name);
}
spock_pgbench_finish('writes', @runs);
catch_up_all();

for my $s (@subs) {
    my ($node, $name) = @$s;
    is($node->safe_psql('postgres', "SELECT status FROM spock.sub_show_status('$name')"),
        'replicating', $node->name . ": $name still replicating");
}
my $d1 = table_digest($n1, 't');
is(table_digest($_, 't'), $d1, $_->name . ': same rows as n1') for ($n2, $n3);
is($_->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
    $_->name . ': no change went to exception handling') for @nodes;

# n3 dropped b first: the others' non-NULL b values were dropped there with a log line.
is($n3->safe_psql('postgres',
        'SELECT sum(missing_column_values_dropped) > 0 AND sum(relation_changes) > 0 '
          . 'FROM spock.schema_change_stats()'),
    't', 'n3 counted dropped values and changed RELATION messages');
diag 'n3 schema_change_stats (sub, ddl, relation changes, NULLs ignored, values dropped): '
  . $n3->safe_psql('postgres',
    "SELECT string_agg(concat_ws(' ', sub_name, ddl_applied, relation_changes, "
      . "missing_column_nulls, missing_column_values_dropped), '; ') FROM spock.schema_change_stats()");
ok($n3->log_contains(
        qr/value of remote column "b" dropped: table "public.t" has no such column/,
        $log_at{ $n3->name }),
    'n3 logged the dropped values of b');
ok($n2->log_contains(qr/columns of remote relation "public.t" changed on the provider/,
        $log_at{ $n2->name }),
    'n2 logged the changed RELATION message');

# With spock.missing_column_action = error, such a value goes to exception handling instead.
$n3->safe_psql('postgres', q{
    ALTER SYSTEM SET spock.missing_column_action = 'error';
    ALTER SYSTEM SET spock.exception_behaviour = 'discard';
    SELECT pg_reload_conf();
});
$n1->safe_psql('postgres', 'ALTER TABLE t ADD COLUMN d int');
$n1->safe_psql('postgres', 'INSERT INTO t (id, d) VALUES (-1000, NULL), (-1001, 42)');
$n3->poll_query_until('postgres', 'SELECT count(*) = 1 FROM t WHERE id = -1000')
  or die 'n3 did not apply the row whose missing column is NULL';
$n3->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM spock.exception_log WHERE error_message LIKE '[42703] target relation \"public.t\" is missing replicated column \"d\"%'")
  or die 'n3 did not log the value for the missing column';
is($n3->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id = -1001'), '0',
    'under error, the change with a value for a missing column is left out and logged');

done_testing();
