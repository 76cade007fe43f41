# A large transaction interrupted in flight: the provider is stopped immediately, its walsender
# is killed, the subscriber is stopped immediately, and the provider is restarted (fast), each
# while one committed transaction of 300,000 rows is being decoded, sent or applied. The
# transaction must be applied exactly once: the table has no key, so a transaction applied
# twice (or partly) shows up in the count.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use SpockTest;

my $extra = "restart_after_crash = on\nspock.restart_delay_default = 300\n"
  . "spock.restart_delay_on_exception = 300\nwal_sender_timeout = '10s'\n";
my $n1 = spock_node('bigx_n1', extension => 1, extra => $extra);
my $n2 = spock_node('bigx_n2', extension => 1, extra => $extra);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE bulk (batch int NOT NULL, i int NOT NULL, pad text);
        SELECT spock.repset_add_table('default_insert_only', 'bulk');
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2', q{replication_sets := '{default_insert_only}'});

my $rows = 300_000;

# Commits one transaction of $rows rows on n1 and returns the commit LSN.
sub big_transaction {
    my ($batch) = @_;
    $n1->safe_psql('postgres',
        "INSERT INTO bulk SELECT $batch, g, repeat('x', 40) FROM generate_series(1, $rows) g");
    return $n1->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
}

# Waits until batch $batch is in flight: the walsender has read past its start (decoding or
# sending has begun; it is applied in one local transaction, so nothing shows before the
# subscriber commits it) and the subscriber has not committed it yet.
sub wait_in_flight {
    my ($from, $batch) = @_;
    my $deadline = time + 60;
    while (time < $deadline) {
        my $sent = $n1->safe_psql('postgres',
            "SELECT coalesce(bool_or(sent_lsn > '$from'), false) FROM pg_stat_replication");
        my $done = $n2->safe_psql('postgres', "SELECT count(*) > 0 FROM bulk WHERE batch = $batch");
        return 1 if $sent eq 't' && $done eq 'f';
        return 0 if $done eq 't';
        sleep(0.05);
    }
    return 0;
}

sub check_batch {
    my ($batch, $what) = @_;
    spock_wait_replicating($n2, 'sub_n1_n2');
    spock_wait_caught_up($n1);
    is($n2->safe_psql('postgres',
            "SELECT count(*) || ' ' || count(DISTINCT i) FROM bulk WHERE batch = $batch"),
        "$rows $rows", "$what: the transaction applied exactly once");
}

# 1. Immediate stop of the provider while the transaction is being sent.
my $start = $n1->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
big_transaction(1);
ok(wait_in_flight($start, 1), 'provider stop: the transaction is in flight (decoding or sending has begun, not yet applied)')
  or diag 'the transaction was applied before the provider could be stopped';
$n1->stop('immediate');
$n1->start;
check_batch(1, 'provider stopped immediately mid-stream');

# 2. kill -9 of the walsender mid-stream (the provider restarts all its processes).
$start = $n1->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
big_transaction(2);
ok(wait_in_flight($start, 2), 'walsender kill: the transaction is in flight (decoding or sending has begun, not yet applied)');
my $ws = $n1->safe_psql('postgres', 'SELECT pid FROM pg_stat_replication LIMIT 1');
kill 'KILL', $ws if $ws;
$n1->poll_query_until('postgres', 'SELECT true');
check_batch(2, 'walsender killed mid-stream');

# 3. Immediate stop of the subscriber mid-stream.
$start = $n1->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
big_transaction(3);
ok(wait_in_flight($start, 3), 'subscriber stop: the transaction is in flight (decoding or sending has begun, not yet applied)');
$n2->stop('immediate');
$n2->start;
check_batch(3, 'subscriber stopped immediately mid-stream');

# 4. Fast restart of the provider mid-stream (its walsender may finish sending before it goes).
$start = $n1->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
big_transaction(4);
ok(wait_in_flight($start, 4), 'provider fast restart: the transaction is in flight (decoding or sending has begun, not yet applied)');
$n1->restart;
check_batch(4, 'provider restarted (fast) mid-stream');

is($n2->safe_psql('postgres', 'SELECT count(*) FROM bulk'), 4 * $rows, 'nothing else arrived');
is(table_digest($n2, 'bulk', order_by => 'batch, i'), table_digest($n1, 'bulk', order_by => 'batch, i'),
    'identical');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
    'no exception logged');
$n1->stop;
$n2->stop;
done_testing();
