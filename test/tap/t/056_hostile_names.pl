# Names that need quoting everywhere spock builds SQL or commands from them (issue 10): a
# schema, a table and columns whose names hold double quotes, semicolons, spaces, SQL comments
# and non-ASCII letters; node, replication set and subscription names of the same kind. The
# structure and data sync (pg_dump, pg_restore, COPY), INSERT, UPDATE and DELETE, a table
# resync, removing the table from the set and dropping the subscription all work on them, and
# nothing else is touched (a table named like the injected statement survives).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('hostile_n1', extension => 1);
my $n2 = spock_node('hostile_n2', extension => 1);

# Literal text for SQL: single quotes doubled.
sub lit { my $s = shift; $s =~ s/'/''/g; return "'$s'"; }
# An identifier for SQL: double quotes doubled.
sub ident { my $s = shift; $s =~ s/"/""/g; return "\"$s\""; }

my $schema = q{Sch"ema; DROP TABLE victim;--};
my $table = q{Tä"b'le; DELETE FROM victim;--};
my $qt = ident($schema) . '.' . ident($table);
my $col_id = q{i"d};
my $col_v = q{välue; --'};
my $set = q{set"; DROP TABLE victim;--'ü};
my $node1 = q{nöde"1';--};
my $node2 = q{nöde"2';--};
my $bad_sub = q{sub"ß'; DROP TABLE victim;--};
my $sub = 'sub_hostile';

# The table the injected statements aim at; the structure sync copies it to n2 (empty).
$n1->safe_psql('postgres', 'CREATE TABLE victim (x int); INSERT INTO victim VALUES (1)');
$n1->safe_psql('postgres', 'SELECT spock.node_create(' . lit($node1) . ', '
      . lit(spock_dsn($n1)) . ')');
$n2->safe_psql('postgres', 'SELECT spock.node_create(' . lit($node2) . ', '
      . lit(spock_dsn($n2)) . ')');
$n1->safe_psql('postgres', 'CREATE SCHEMA ' . ident($schema) . ";\n"
      . "CREATE TABLE $qt (" . ident($col_id) . ' int PRIMARY KEY, ' . ident($col_v) . " text);\n"
      . "INSERT INTO $qt SELECT g, 'v''' || g FROM generate_series(1, 50) g;\n"
      . 'SELECT spock.repset_create(' . lit($set) . ");\n"
      . 'SELECT spock.repset_add_table(' . lit($set) . ', ' . lit($qt) . ');');
is($n1->safe_psql('postgres', 'SELECT count(*) FROM spock.tables WHERE set_name = '
          . lit($set)), '1', 'the table is in the set');

# Subscription names become slot and origin names, so they are restricted: a clear error.
my ($rc, $out, $err) = $n2->psql('postgres', 'SELECT spock.sub_create(' . lit($bad_sub) . ', '
      . lit(spock_dsn($n1)) . ')');
like($err, qr/invalid subscription name.*\n.*DETAIL:  Subscription names may contain only/,
    'a subscription name that cannot name a slot is refused, saying why');
is($n1->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), '0',
    'and leaves no slot behind');

# Structure and data sync of the table and its schema.
$n2->safe_psql('postgres', 'SELECT spock.sub_create(' . lit($sub) . ', ' . lit(spock_dsn($n1))
      . ', replication_sets := ARRAY[' . lit($set) . '], synchronize_structure := true, '
      . 'synchronize_data := true)');
spock_wait_replicating($n2, $sub);
my $digest = "SELECT count(*) || ' ' || md5(string_agg(" . ident($col_id) . "::text || "
  . ident($col_v) . ", ',' ORDER BY " . ident($col_id) . ")) FROM $qt";
is($n2->safe_psql('postgres', $digest), $n1->safe_psql('postgres', $digest),
    'structure and data synced');
$n2->safe_psql('postgres', 'INSERT INTO victim VALUES (1)');

# Changes replicate.
$n1->safe_psql('postgres', "INSERT INTO $qt VALUES (51, 'new; --''');\n"
      . "UPDATE $qt SET " . ident($col_v) . " = 'upd\"' WHERE " . ident($col_id) . " <= 10;\n"
      . "DELETE FROM $qt WHERE " . ident($col_id) . ' BETWEEN 40 AND 45;');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', $digest), $n1->safe_psql('postgres', $digest),
    'INSERT, UPDATE and DELETE replicated');

# A table resync copies it again.
$n2->safe_psql('postgres', "DELETE FROM $qt WHERE " . ident($col_id) . ' > 20');
$n2->safe_psql('postgres', 'SELECT spock.sub_resync_table(' . lit($sub) . ', ' . lit($qt) . ')');
ok($n2->poll_query_until('postgres', "SELECT ($digest) = " . lit($n1->safe_psql('postgres',
                $digest))), 'sub_resync_table copied the table again');
is($n2->safe_psql('postgres',
        'SELECT count(*) FROM spock.sub_show_table(' . lit($sub) . ', ' . lit($qt) . ')'), '1',
    'sub_show_table finds it');

# Out of the set, then the subscription and the set are dropped; nothing left behind.
$n1->safe_psql('postgres', 'SELECT spock.repset_remove_table(' . lit($set) . ', ' . lit($qt) . ')');
is($n1->safe_psql('postgres', 'SELECT count(*) FROM spock.tables WHERE set_name = '
          . lit($set)), '0', 'the table left the set');
$n2->safe_psql('postgres', 'SELECT spock.sub_drop(' . lit($sub) . ')');
is($n1->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots"), '0',
    'sub_drop removed the slot on the provider');
is($n2->safe_psql('postgres', "SELECT count(*) FROM pg_replication_origin"), '0',
    'and the origin on the subscriber');
$n1->safe_psql('postgres', 'SELECT spock.repset_drop(' . lit($set) . ')');
for my $node ($n1, $n2) {
    is($node->safe_psql('postgres', 'SELECT count(*) FROM victim'), '1',
        'nothing was injected on ' . $node->name);
    $node->safe_psql('postgres', 'SELECT spock.node_drop(' . lit($node == $n1 ? $node1 : $node2)
          . ')');
    is($node->safe_psql('postgres', 'SELECT count(*) FROM spock.node'), '0',
        'node_drop by the hostile name on ' . $node->name);
}

done_testing();
