# Parallel apply and spock.exception_behaviour = sub_disable (docs/architecture.md, "Parallel
# apply"): a remote transaction that fails in one apply process disables the subscription and
# leaves it unapplied; the transactions after it, already handed to other processes, must not
# commit either, or the resume position would pass over it. After the cause is removed and the
# subscription enabled again, every transaction arrives once, the failed one included.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('pd_n1', extension => 1);
my $n2 = spock_node('pd_n2', extension => 1, extra => "spock.parallel_apply_workers = 4\n"
      . "spock.exception_behaviour = 'sub_disable'\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
$_->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)') for ($n1, $n2);
$n1->safe_psql('postgres', "SELECT spock.repset_add_table('default', 't')");
# Only n2 refuses v = -1.
$n2->safe_psql('postgres', 'ALTER TABLE t ADD CONSTRAINT no_minus_one CHECK (v <> -1)');
spock_subscribe($n2, $n1, 'sub_pd', 'synchronize_data := false');
$n2->poll_query_until('postgres', q{
    SELECT count(*) = 4 FROM pg_stat_activity WHERE backend_type = 'spock parallel apply'})
  or die 'no parallel apply processes on n2';

# Independent transactions (they may apply at once), the failing one in the middle.
$n1->safe_psql('postgres', "INSERT INTO t VALUES ($_, $_)") for 1 .. 50;
$n1->safe_psql('postgres', 'INSERT INTO t VALUES (1000, -1)');
$n1->safe_psql('postgres', "INSERT INTO t VALUES ($_, $_)") for 51 .. 100;

ok($n2->poll_query_until('postgres',
        "SELECT NOT sub_enabled FROM spock.subscription WHERE sub_name = 'sub_pd'"),
    'the failed transaction disabled the subscription');
$n2->poll_query_until('postgres', q{
    SELECT count(*) = 0 FROM pg_stat_activity
    WHERE backend_type IN ('spock apply', 'spock parallel apply')})
  or die 'apply processes still running';
is($n2->safe_psql('postgres', 'SELECT count(*), max(id) FROM t'), '50|50',
    'everything before the failed transaction committed, nothing after it');

$n2->safe_psql('postgres', 'ALTER TABLE t DROP CONSTRAINT no_minus_one');
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_pd')");
spock_wait_replicating($n2, 'sub_pd');
spock_wait_caught_up($n1);
is(table_digest($n2, 't'), table_digest($n1, 't'),
    'after enabling again every transaction arrived once, the failed one included');

$_->stop for ($n1, $n2);
done_testing();
