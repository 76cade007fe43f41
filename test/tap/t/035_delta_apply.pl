# Delta-apply columns on a three-node mesh (docs/conflicts.md, "Delta-apply columns"): a bank
# of 100 accounts whose balance (numeric) and operation count (bigint) are labelled
# 'spock.delta_apply'. All three nodes run deposits and withdrawals on random accounts at the
# same time, without pauses, each also overwriting a plain column (so update_origin_differs
# conflicts are resolved by last-update-wins all the time). Every operation is recorded in a
# local, unreplicated log. Afterwards every node must hold, for every account, the opening
# balance plus the sum of all operations of all nodes, and the count of them: no delta lost or
# applied twice, whoever won the rest of the row. A second table covers NULLs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use SpockTest;

my @nodes = map { spock_node("delta_n$_", extension => 1) } 1 .. 3;
for my $i (0 .. 2) {
    spock_create_node($nodes[$i], name => 'n' . ($i + 1));
    $nodes[$i]->safe_psql('postgres', q{
        CREATE TABLE acct (id int PRIMARY KEY, bal numeric(14,2) NOT NULL,
                           ops bigint NOT NULL DEFAULT 0, note text);
        ALTER TABLE acct REPLICA IDENTITY FULL;
        SECURITY LABEL FOR spock ON COLUMN acct.bal IS 'spock.delta_apply';
        SECURITY LABEL FOR spock ON COLUMN acct.ops IS 'spock.delta_apply';
        INSERT INTO acct SELECT g, 1000.00, 0, NULL FROM generate_series(1, 100) g;
        CREATE TABLE wallet (id int PRIMARY KEY, pts int4, tag text);
        ALTER TABLE wallet REPLICA IDENTITY FULL;
        SECURITY LABEL FOR spock ON COLUMN wallet.pts IS 'spock.delta_apply';
        INSERT INTO wallet VALUES (1, NULL, NULL), (2, 10, NULL), (3, NULL, NULL);
        CREATE TABLE ops_log (id int NOT NULL, cents int NOT NULL);
        SELECT spock.repset_add_table('default', 'acct');
        SELECT spock.repset_add_table('default', 'wallet');
    });
}
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($nodes[$s], $nodes[$p], 'sub_n' . ($p + 1) . '_n' . ($s + 1));
    }
}

# The bank: each transaction moves a random amount (-50.00 .. 50.00) on a random account.
my $dir = PostgreSQL::Test::Utils::tempdir;
open(my $fh, '>', "$dir/bank.sql") or die;
print $fh <<'SQL';
\set k random(1, 100)
\set cents random(-5000, 5000)
BEGIN;
UPDATE acct SET bal = bal + :cents / 100.0, ops = ops + 1, note = :client_id::text WHERE id = :k;
INSERT INTO ops_log VALUES (:k, :cents);
END;
SQL
close $fh;
my $per_client = $ENV{SPOCK_DELTA_TXNS} // 700;
spock_pgbench_finish('bank run',
    map { spock_pgbench($_, '-c', '2', '-t', $per_client, '-f', "$dir/bank.sql") } @nodes);

# NULLs: two nodes add to a NULL balance (NULL counts as 0 once a value exists), a third sets
# another to NULL, and an update of the plain column leaves a NULL alone.
$nodes[0]->safe_psql('postgres', 'UPDATE wallet SET pts = coalesce(pts, 0) + 5 WHERE id = 1');
$nodes[1]->safe_psql('postgres', 'UPDATE wallet SET pts = coalesce(pts, 0) + 7 WHERE id = 1');
$nodes[2]->safe_psql('postgres', 'UPDATE wallet SET pts = NULL WHERE id = 2');
$nodes[2]->safe_psql('postgres', "UPDATE wallet SET tag = 'seen' WHERE id = 3");

for my $node (@nodes) {
    spock_wait_caught_up($node);
}

# What every account must hold: the sum over all nodes' logs.
my (%sum, %count);
my $total_ops = 0;
for my $node (@nodes) {
    for my $line (split /\n/,
        $node->safe_psql('postgres', 'SELECT id, sum(cents), count(*) FROM ops_log GROUP BY id'))
    {
        my ($id, $cents, $n) = split /\|/, $line;
        $sum{$id} += $cents;
        $count{$id} += $n;
        $total_ops += $n;
    }
}
is($total_ops, 3 * 2 * $per_client, 'every operation was logged');
my $expected = join("\n",
    map { sprintf('%d|%d|%d', $_, 100000 + ($sum{$_} // 0), $count{$_} // 0) } 1 .. 100);
my $total_cents = 100 * 100000;
$total_cents += $_ for values %sum;
for my $node (@nodes) {
    my $name = $node->name;
    is($node->safe_psql('postgres',
            'SELECT id, (bal * 100)::bigint, ops FROM acct ORDER BY id'),
        $expected, "$name: every balance is the opening balance plus all operations");
    is($node->safe_psql('postgres', 'SELECT (sum(bal) * 100)::bigint FROM acct'),
        $total_cents, "$name: the bank total is the arithmetic total");
    is($node->safe_psql('postgres', 'SELECT id, pts, tag FROM wallet ORDER BY id'),
        "1|12|\n2||\n3||seen", "$name: NULL rules of delta columns");
    is($node->safe_psql('postgres',
            "SELECT string_agg(status, ',') FROM spock.sub_show_status()"),
        'replicating,replicating', "$name: both subscriptions replicating");
    my $stats = $node->safe_psql('postgres',
        'SELECT sum(xacts_replayed) || \' replayed\' FROM spock.apply_stats()');
    diag "$name: $stats";
}
# The nodes really wrote the same rows at the same time: remote updates met local rows
# written by someone else, and last-update-wins settled the plain column each time.
my $conflicts = 0;
$conflicts += $_->safe_psql('postgres',
    'SELECT sum(confl_update_origin_differs) FROM spock.sub_conflict_stats') for @nodes;
ok($conflicts > 0, "concurrent updates conflicted ($conflicts update_origin_differs)");
# Every delta apply is counted in the channel statistics, per column (n_dca).
for my $node (@nodes) {
    ok($node->safe_psql('postgres',
            "SELECT sum(n_dca) > 0 FROM spock.channel_table_stats WHERE table_name = 'acct'")
          eq 't', $node->name . ': channel_table_stats counts the delta applies (n_dca)');
}
# pg_dump (initial synchronisation's structure copy) keeps the labels, and the restore passes
# the provider's check: the table's REPLICA IDENTITY FULL comes before its labels.
$nodes[0]->safe_psql('postgres', 'CREATE DATABASE restored');
my ($dump_out, $dump_err) = ('', '');
IPC::Run::run(['pg_dump', '--schema-only', '-t', 'acct', '-h', $nodes[0]->host, '-p',
        $nodes[0]->port, 'postgres'],
    '|', ['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-h', $nodes[0]->host, '-p',
        $nodes[0]->port, 'restored'],
    '>', \$dump_out, '2>', \$dump_err)
  or diag $dump_err;
is($nodes[0]->safe_psql('restored',
        "SELECT string_agg(a.attname || '=' || l.label, ',' ORDER BY a.attnum) "
          . 'FROM pg_seclabel l JOIN pg_attribute a ON a.attrelid = l.objoid '
          . "AND a.attnum = l.objsubid WHERE l.provider = 'spock'"),
    'bal=spock.delta_apply,ops=spock.delta_apply', 'pg_dump and restore keep the labels');
$_->stop for @nodes;
done_testing();
