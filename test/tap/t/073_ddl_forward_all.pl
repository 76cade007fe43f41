# Queued messages in a three-node mesh whose subscriptions all forward every origin
# (forward_origins '{all}', docs/ddl.md): a message queued on n1 reaches n3 from n1 and again
# from n2, which applied and forwards it. Each DDL statement and sequence value acts once per
# node: the repeat is skipped with a LOG line and counted in spock.schema_change_stats(), no
# exception is logged, and a pgbench load on n1 during the DDL arrives whole.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my @nodes = map { spock_node("fa_n$_", extension => 1) } 1 .. 3;
my ($n1, $n2, $n3) = @nodes;
spock_create_node($nodes[$_], name => 'n' . ($_ + 1)) for 0 .. 2;
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($nodes[$s], $nodes[$p], 'sub_n' . ($p + 1) . '_n' . ($s + 1),
            "forward_origins := '{all}'");
    }
}

sub catch_up_all {
    for (1 .. 3) {
        spock_wait_caught_up($_) for @nodes;
    }
}

sub stat_sum {
    my ($node, $column) = @_;
    return $node->safe_psql('postgres',
        "SELECT coalesce(sum($column), 0) FROM spock.schema_change_stats()");
}

# --- CREATE TABLE and CREATE SEQUENCE through replicate_ddl -----------------------------------
$n1->safe_psql('postgres', q{
    SELECT spock.replicate_ddl('CREATE TABLE fa_t (id bigint PRIMARY KEY, v text)');
    SELECT spock.replicate_ddl('CREATE SEQUENCE fa_seq');
});
for my $node (@nodes) {
    $node->poll_query_until('postgres',
        "SELECT to_regclass('public.fa_t') IS NOT NULL AND to_regclass('public.fa_seq') IS NOT NULL")
      or die $node->name . ' never got fa_t and fa_seq';
    $node->safe_psql('postgres', q{
        SELECT spock.repset_add_table('default', 'fa_t');
        SELECT spock.repset_add_seq('default', 'fa_seq');
    });
}

# --- ADD COLUMN while n1 inserts, then a sequence value ---------------------------------------
my $script = PostgreSQL::Test::Utils::tempdir() . '/ins.sql';
open(my $fh, '>', $script) or die $!;
print $fh "\\set id random(1, 900000000)\n"
  . "INSERT INTO fa_t (id, v) VALUES (:id, 'load') ON CONFLICT (id) DO NOTHING;\n";
close $fh;
my $run = spock_pgbench($n1, '-T', '8', '-c', '2', '-R', '100', '-f', $script);
$n1->poll_query_until('postgres', "SELECT count(*) > 100 FROM fa_t")
  or die 'the load did not start';
$n1->safe_psql('postgres',
    "SELECT spock.replicate_ddl('ALTER TABLE fa_t ADD COLUMN w int NOT NULL DEFAULT 7')");
$n1->safe_psql('postgres', "SELECT nextval('fa_seq') FROM generate_series(1, 50)");
$n1->safe_psql('postgres', "SELECT spock.sync_seq('fa_seq')");
spock_pgbench_finish('insert load', $run);
catch_up_all();

# Every slot has confirmed everything its provider wrote, so each of n2 and n3 has received all
# four messages twice by now: from n1, and forwarded by the other one.
is($_->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
    $_->name . ': no exception logged') for @nodes;
for my $node ($n2, $n3) {
    is(stat_sum($node, 'ddl_applied'), '3',
        $node->name . ': each of the three DDL statements ran once');
    ok(stat_sum($node, 'queue_repeats_skipped') >= 4,
        $node->name . ': the forwarded copies of the queued messages were skipped');
}
for my $node ($n2, $n3) {
    my $name = $node->name;
    is($node->safe_psql('postgres',
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'fa_t'::regclass "
              . "AND attname = 'w' AND NOT attisdropped"),
        '1', "$name: the ADD COLUMN ran");
    is($node->safe_psql('postgres', q{
            SELECT count(*) FROM (SELECT 1 FROM spock.queue
                                  GROUP BY queued_at, role, message_type, replication_sets,
                                           message::text HAVING count(*) > 1) d}),
        '0', "$name: every queued message is in spock.queue once");
    ok($node->safe_psql('postgres', "SELECT last_value >= 50 FROM fa_seq") eq 't',
        "$name: the sequence value arrived");
    ok($node->log_contains(qr/spock\.queue DDL statement queued at .* on node \d+ was applied here already; this copy is skipped/),
        "$name: the skipped copy is logged");
}
my $d1 = table_digest($n1, 'fa_t');
is(table_digest($_, 'fa_t'), $d1, $_->name . ': same rows as n1') for ($n2, $n3);

done_testing();
