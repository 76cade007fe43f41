# Repair mode end to end: spock.repair_mode(true) by a superuser keeps a transaction's changes
# on the provider; a repair mode message forged with pg_logical_emit_message() by an ordinary
# role does not, so that role cannot hide its changes from subscribers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('repair_n1', extension => 1);
my $n2 = spock_node('repair_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE t (id int PRIMARY KEY, v text);
        SELECT spock.repset_add_table('default', 't');
    });
}
$n1->safe_psql('postgres', q{
    CREATE ROLE mallory LOGIN;
    GRANT INSERT, SELECT ON t TO mallory;
});
spock_subscribe($n2, $n1, 'sub_repair');

# The superuser's repair: row 1 stays on n1.
$n1->safe_psql('postgres', q{
    BEGIN;
    SELECT spock.repair_mode(true);
    INSERT INTO t VALUES (1, 'repaired on n1 only');
    COMMIT;
});
# An ordinary role forges the message (Spock's layout, and one with a made-up tag).
my ($rc, $out, $err) = $n1->psql('postgres', q{
    SET ROLE mallory;
    BEGIN;
    SELECT pg_logical_emit_message(true, 'Spock', '\x01000000'::bytea);
    SELECT pg_logical_emit_message(true, 'Spock',
        '\x01000000'::bytea || decode(repeat('ab', 32), 'hex'));
    INSERT INTO t VALUES (2, 'hidden?');
    COMMIT;
});
is($rc, 0, 'an ordinary role can emit the message') or diag($err);
($rc, $out, $err) = $n1->psql('postgres', 'SET ROLE mallory; SELECT spock.repair_mode(true)');
isnt($rc, 0, 'an ordinary role cannot call spock.repair_mode()');
$n1->safe_psql('postgres', "INSERT INTO t VALUES (3, 'sentinel')");

ok($n2->poll_query_until('postgres', 'SELECT count(*) = 1 FROM t WHERE id = 3'),
    'later changes arrive');
is($n2->safe_psql('postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'), '2,3',
    'the forged message hid nothing; the repair stayed local');
like(slurp_file($n1->logfile),
    qr/ignoring a spock repair mode message not written by spock\.repair_mode\(\)/,
    'the provider logs the forged message');

$n1->stop;
$n2->stop;
done_testing();
