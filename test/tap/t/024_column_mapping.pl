# Columns are matched by name: the subscriber's table may have its columns in another order
# and an extra column with a default.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('map_n1', extension => 1);
my $n2 = spock_node('map_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
$n1->safe_psql('postgres', q{
    CREATE TABLE people (id int PRIMARY KEY, name text, born date, score numeric);
    SELECT spock.repset_add_table('default', 'people');
});
$n2->safe_psql('postgres', q{
    CREATE TABLE people (score numeric, extra text DEFAULT 'local default', born date,
                         name text, id int PRIMARY KEY);
});
spock_subscribe($n2, $n1, 'sub_n1_n2');
$n1->safe_psql('postgres', q{
    INSERT INTO people VALUES (1, 'Ada', '1815-12-10', 99.5), (2, 'Alan', '1912-06-23', 98);
    UPDATE people SET score = 100 WHERE id = 1;
    INSERT INTO people VALUES (3, 'Grace', '1906-12-09', NULL);
    DELETE FROM people WHERE id = 2;
});
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT id, name, born, score, extra FROM people ORDER BY id'),
    "1|Ada|1815-12-10|100|local default\n3|Grace|1906-12-09||local default",
    'rows mapped by column name, extra column defaulted');

# A local update of the extra column survives a remote update of other columns.
$n2->safe_psql('postgres', "UPDATE people SET extra = 'kept' WHERE id = 3");
$n1->safe_psql('postgres', "UPDATE people SET score = 1 WHERE id = 3");
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT score, extra FROM people WHERE id = 3'), '1|kept',
    'columns the provider does not have keep their local values');

$n1->stop;
$n2->stop;
done_testing();
