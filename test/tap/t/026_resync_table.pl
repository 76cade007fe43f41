# Per-table resynchronisation: spock.sub_resync_table() copies a diverged table again while
# changes keep arriving from the provider (nothing lost, nothing applied twice), and
# spock.sub_alter_sync() copies a table newly added to a replication set.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('resync_n1', extension => 1);
my $n2 = spock_node('resync_n2', extension => 1,
    extra => "restart_after_crash = on\nspock.restart_delay_default = 500\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    # No key: a change applied on top of a copy that already holds it shows as an extra row.
    $node->safe_psql('postgres', q{
        CREATE TABLE events (id int NOT NULL, note text);
        CREATE TABLE accounts (id int PRIMARY KEY, balance int);
        CREATE TABLE later (id int PRIMARY KEY, v text);
    });
}
$n1->safe_psql('postgres', q{
    INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 1000) g;
    INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 100) g;
    INSERT INTO later SELECT g, 'l' || g FROM generate_series(1, 500) g;
    SELECT spock.repset_add_table('default_insert_only', 'events');
    SELECT spock.repset_add_table('default', 'accounts');
});
# apply_delay keeps the worker behind the provider, so that when a copy starts, transactions
# the copy already holds are still on their way to the worker: it must skip their changes to
# the copied table.
spock_subscribe($n2, $n1, 'sub_n1_n2',
    q{replication_sets := '{default,default_insert_only}', synchronize_data := true, }
      . q{apply_delay := '300 milliseconds'});
$n2->safe_psql('postgres', "SELECT spock.sub_wait_for_sync('sub_n1_n2')");
is($n2->safe_psql('postgres', 'SELECT count(*) FROM events'), '1000', 'initial copy');

# Errors.
sub sqlstate_of {
    my ($node, $sql) = @_;
    my ($out, $err) = ('', '');
    $node->psql('postgres', qq{DO \$\$ BEGIN PERFORM $sql; }
          . q{EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'sqlstate %: %', SQLSTATE, SQLERRM; END $$},
        stdout => \$out, stderr => \$err);
    return $err =~ /sqlstate (\w+)/ ? $1 : "none ($err)";
}
is(sqlstate_of($n2, "spock.sub_resync_table('nosuch', 'events')"), '42704',
    'unknown subscription');
is(sqlstate_of($n2, "spock.sub_resync_table('sub_n1_n2', 'later')"), '55000',
    'table not published to the subscription');

# Diverge both tables on n2.
$n2->safe_psql('postgres', q{
    DELETE FROM events WHERE id % 3 = 0;
    INSERT INTO events VALUES (-1, 'local only');
    UPDATE accounts SET balance = 0 WHERE id <= 50;
});
isnt(table_digest($n2, 'events', order_by => 'id, note'),
    table_digest($n1, 'events', order_by => 'id, note'), 'events diverged');

# A request made while the worker is away stays pending; a second one is refused.
$n2->safe_psql('postgres', "SELECT spock.sub_disable('sub_n1_n2', immediate := true)");
$n2->safe_psql('postgres', "SELECT spock.sub_resync_table('sub_n1_n2', 'accounts')");
is($n2->safe_psql('postgres', q{SELECT status FROM spock.sub_show_table('sub_n1_n2', 'accounts')}),
    'sync_init', 'sub_show_table shows the pending copy');
is(sqlstate_of($n2, "spock.sub_resync_table('sub_n1_n2', 'accounts')"), '55000',
    'table already being synchronised');
$n1->safe_psql('postgres', 'UPDATE accounts SET balance = balance + 1 WHERE id % 2 = 0');
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n2', immediate := true)");
$n2->safe_psql('postgres', "SELECT spock.table_wait_for_sync('sub_n1_n2', 'accounts')");
spock_wait_caught_up($n1);
is(table_digest($n2, 'accounts'), table_digest($n1, 'accounts'), 'accounts copied again');
is($n2->safe_psql('postgres', q{SELECT status FROM spock.sub_show_table('sub_n1_n2', 'accounts')}),
    'replicating', 'accounts replicating again');

# Resynchronise events while single-row transactions keep arriving from n1.
my $script = $PostgreSQL::Test::Utils::tmp_check . '/resync_events.sql';
open(my $fh, '>', $script) or die $!;
for my $i (1001 .. 11000) {
    print $fh "INSERT INTO events VALUES ($i, 'e$i');\n";
    print $fh "SELECT pg_sleep(0.05);\n" if $i % 50 == 0;
}
close $fh;
my ($out, $err) = ('', '');
my $h = IPC::Run::start([ 'psql', '-X', '-q', '-d', $n1->connstr('postgres'), '-f', $script ],
    '>', \$out, '2>', \$err);
$n2->poll_query_until('postgres', 'SELECT count(*) > 1500 FROM events WHERE id > 1000');
$n2->safe_psql('postgres', "SELECT spock.sub_resync_table('sub_n1_n2', 'events')");
$n2->safe_psql('postgres', "SELECT spock.table_wait_for_sync('sub_n1_n2', 'events')");
# Once more, still in the middle of the stream.
$n2->poll_query_until('postgres', 'SELECT count(*) > 4500 FROM events WHERE id > 1000');
$n2->safe_psql('postgres', "SELECT spock.sub_resync_table('sub_n1_n2', 'events')");
$n2->safe_psql('postgres', "SELECT spock.table_wait_for_sync('sub_n1_n2', 'events')");
# And once more with a kill -9 of the apply worker right after the request: wherever the crash
# lands (before, during or after the copy), the outcome is the same.
$n2->poll_query_until('postgres', 'SELECT count(*) > 7000 FROM events WHERE id > 1000');
my $pid = $n2->safe_psql('postgres', "SELECT worker_pid FROM spock.get_apply_worker_status()");
$n2->safe_psql('postgres', "SELECT spock.sub_resync_table('sub_n1_n2', 'events')");
kill 'KILL', $pid;
$n2->poll_query_until('postgres',
    "SELECT status = 'replicating' FROM spock.sub_show_table('sub_n1_n2', 'events')")
  or die 'events never replicating again after the crash';
$h->finish;
is($h->result(0), 0, 'all inserts committed on n1');
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM events'), '11000', 'nothing lost or doubled');
is($n2->safe_psql('postgres', 'SELECT count(DISTINCT id) FROM events'), '11000',
    'nothing applied twice');
is(table_digest($n2, 'events', order_by => 'id, note'),
    table_digest($n1, 'events', order_by => 'id, note'), 'events identical');
ok($n2->log_contains('copied \d+ rows of table public.events again'), 'copy logged');
ok($n1->poll_query_until('postgres',
        'SELECT count(*) = 0 FROM pg_replication_slots WHERE temporary'),
    'no temporary slot left on the provider');

# Replication of the resynchronised tables goes on.
$n1->safe_psql('postgres', q{
    INSERT INTO events VALUES (6000, 'after');
    UPDATE accounts SET balance = 7 WHERE id = 1;
});
spock_wait_caught_up($n1);
is(table_digest($n2, 'events', order_by => 'id, note'),
    table_digest($n1, 'events', order_by => 'id, note'), 'events replicate after resync');
is(table_digest($n2, 'accounts'), table_digest($n1, 'accounts'),
    'accounts replicate after resync');

# sub_alter_sync copies a table added to a set after the subscription was made.
$n1->safe_psql('postgres', "SELECT spock.repset_add_table('default', 'later')");
$n2->safe_psql('postgres', "SELECT spock.sub_alter_sync('sub_n1_n2')");
$n2->safe_psql('postgres', "SELECT spock.table_wait_for_sync('sub_n1_n2', 'later')");
$n1->safe_psql('postgres', "INSERT INTO later VALUES (501, 'new')");
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM later'), '501', 'new table copied');
is(table_digest($n2, 'later'), table_digest($n1, 'later'), 'new table identical');
is($n2->safe_psql('postgres', q{SELECT sync_kind::text || sync_status::text FROM spock.local_sync_status
    WHERE sync_relname = 'later'}), 'dr', 'status row of the new table');
# Nothing else was copied again.
my $copies = () = slurp_file($n2->logfile) =~ /rows of table public\.accounts again/g;
is($copies, 1, 'sub_alter_sync leaves tables with a status alone');

$n1->stop;
$n2->stop;
done_testing();
