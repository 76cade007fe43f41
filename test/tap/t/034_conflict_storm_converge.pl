# Convergence on a three-node mesh (docs/conflicts.md, "Update versus delete").
#
# 1. Node A inserts rows (200 a second) that node B deletes as soon as they arrive; node C
#    hears from both. First with C's subscription to A held, so that every DELETE from B reaches
#    C before the INSERT from A it deleted (the INSERT must then lose: insert_deleted), then
#    again with nothing held. All three nodes end identical.
# 2. Apply workers racing on C (docs/conflicts.md, "Races between apply workers"): C's two
#    subscriptions are held while A inserts rows in large transactions and B deletes each of
#    them in its own transaction once it has them; then they are let go (at the same moment;
#    then B's first, A's right after, so that A's worker overtakes B's), so that C's worker for
#    B applies the DELETEs while C's worker for A is writing the INSERTs (buffered runs in
#    race_b; row by row in race_s, which an ALWAYS trigger keeps off the buffered path).
#    Whatever the interleaving, C ends with no row, as A and B do.
# 3. A storm: inserts, updates and deletes of 20 hot keys on all three nodes at once for
#    SPOCK_STORM_SECONDS (30 by default). Once every subscription has caught up, the three
#    tables are identical (count and md5 of the ordered rows), and no apply worker restarted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use SpockTest;

my @nodes = map { spock_node("conv_n$_", extension => 1) } 1 .. 3;
my ($na, $nb, $nc) = @nodes;
for my $i (0 .. 2) {
    spock_create_node($nodes[$i], name => 'n' . ($i + 1));
    $nodes[$i]->safe_psql('postgres', q{
        CREATE TABLE q (id bigint PRIMARY KEY, payload text);
        CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL DEFAULT 0, n text);
        CREATE TABLE race_b (id bigint PRIMARY KEY, payload text);
        CREATE TABLE race_s (id bigint PRIMARY KEY, payload text);
        CREATE FUNCTION race_noop() RETURNS trigger LANGUAGE plpgsql AS
            'BEGIN RETURN NEW; END';
        CREATE TRIGGER race_s_row BEFORE INSERT ON race_s FOR EACH ROW EXECUTE FUNCTION race_noop();
        ALTER TABLE race_s ENABLE ALWAYS TRIGGER race_s_row;
        SELECT spock.repset_add_table('default', 'race_b');
        SELECT spock.repset_add_table('default', 'race_s');
        SELECT spock.repset_add_table('default', 'q');
        SELECT spock.repset_add_table('default', 'hot');
    });
}
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($nodes[$s], $nodes[$p], 'sub_n' . ($p + 1) . '_n' . ($s + 1));
    }
}
$na->safe_psql('postgres', 'CREATE SEQUENCE qseq');
my %pids = map { $_->name => $_->safe_psql('postgres',
        "SELECT string_agg(worker_pid::text, ',' ORDER BY worker_subid) "
          . "FROM spock.get_apply_worker_status()") } @nodes;

sub caught_up_all {
    spock_wait_caught_up($_) for @nodes;
}

sub stat_sum {
    my ($node, $col) = @_;
    return $node->safe_psql('postgres', "SELECT sum($col) FROM spock.sub_conflict_stats");
}

my $dir = PostgreSQL::Test::Utils::tempdir;
sub script {
    my ($name, $text) = @_;
    open(my $fh, '>', "$dir/$name.sql") or die;
    print $fh $text;
    close $fh;
    return "$dir/$name.sql";
}
my $ins = script('ins', "INSERT INTO q VALUES (nextval('qseq'), 'from A');\n");
my $del = script('del', "DELETE FROM q;\n");

my $insert_seconds = $ENV{SPOCK_INSERT_SECONDS} // 4;
for my $held (1, 0) {
    my $what = $held ? 'C held from A' : 'nothing held';
    if ($held) {
        $nc->safe_psql('postgres', "SELECT spock.sub_disable('sub_n1_n3', true)");
        $nc->poll_query_until('postgres',
            'SELECT count(*) = 1 FROM spock.get_apply_worker_status()')
          or die 'sub_n1_n3 did not stop';
    }
    my $before = stat_sum($nc, 'confl_insert_deleted');
    spock_pgbench_finish('pgbench',
        spock_pgbench($na, '-T', $insert_seconds, '-R', '200', '-c', '1', '-f', $ins),
        spock_pgbench($nb, '-T', $insert_seconds + 1, '-R', '50', '-c', '1', '-f', $del));
    # One last delete on B once A's rows have all reached it, so that C's held INSERTs all
    # have a later DELETE.
    my $lsn = $na->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
    $na->poll_query_until('postgres',
        "SELECT confirmed_flush_lsn >= '$lsn' FROM pg_replication_slots "
          . "WHERE slot_name = 'spk_postgres_n1_sub_n1_n2'")
      or die 'B did not catch up with A';
    $nb->safe_psql('postgres', 'DELETE FROM q');
    spock_wait_caught_up($nb);
    if ($held) {
        $nc->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n3', true)");
        spock_wait_replicating($nc, 'sub_n1_n3');
    }
    caught_up_all();
    my @d = map { table_digest($_, 'q') } @nodes;
    is($d[1], $d[0], "$what: B and A have the same rows");
    is($d[2], $d[0], "$what: C and A have the same rows");
    is($nc->safe_psql('postgres', 'SELECT count(*) FROM q'), '0', "$what: C has no row left");
    my $skipped = stat_sum($nc, 'confl_insert_deleted') - $before;
    diag "$what: C skipped $skipped inserts as insert_deleted";
    ok($skipped > 0, "$what: C skipped inserts that B had deleted") if $held;
}

# Apply workers racing on C.
my $race_rows = $ENV{SPOCK_RACE_ROWS} // 3000;
for my $round (1 .. 2) {
    my $base = $round * 1_000_000;
    for my $sub ('sub_n1_n3', 'sub_n2_n3') {
        $nc->safe_psql('postgres', "SELECT spock.sub_disable('$sub', true)");
    }
    $nc->poll_query_until('postgres', 'SELECT count(*) = 0 FROM spock.get_apply_worker_status()')
      or die 'C\'s apply workers did not stop';
    my $before = stat_sum($nc, 'confl_insert_deleted');
    my $before_missing = stat_sum($nc, 'confl_delete_missing');
    # Transactions of 1000 rows each: buffered runs of the largest size on C.
    for my $t (0 .. int(($race_rows - 1) / 1000)) {
        my ($lo, $hi) = ($base + $t * 1000 + 1, $base + ($t + 1) * 1000);
        $hi = $base + $race_rows if $hi > $base + $race_rows;
        $na->safe_psql('postgres',
                "INSERT INTO race_b SELECT g, 'A' FROM generate_series($lo, $hi) g;"
              . "INSERT INTO race_s SELECT g, 'A' FROM generate_series($lo, $hi) g;");
    }
    $nb->poll_query_until('postgres',
        "SELECT (SELECT count(*) FROM race_b) = $race_rows AND (SELECT count(*) FROM race_s) = $race_rows")
      or die 'B did not receive A\'s rows';
    # One transaction per deleted row, in the order A inserted them.
    $nb->safe_psql('postgres', qq{
        DO \$\$
        BEGIN
            FOR i IN ${\ ($base + 1)} .. ${\ ($base + $race_rows)} LOOP
                DELETE FROM race_b WHERE id = i;
                DELETE FROM race_s WHERE id = i;
                COMMIT;
            END LOOP;
        END \$\$;
    });
    if ($round == 1) {
        # Both at once: C's workers for A and for B start together.
        $nc->safe_psql('postgres',
            "SELECT spock.sub_enable('sub_n1_n3', true), spock.sub_enable('sub_n2_n3', true)");
    } else {
        # B's worker first, A's right after: A's worker, much faster with its large
        # transactions, overtakes B's.
        $nc->safe_psql('postgres', "SELECT spock.sub_enable('sub_n2_n3', true)");
        $nc->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n3', true)");
    }
    spock_wait_replicating($nc, $_) for 'sub_n1_n3', 'sub_n2_n3';
    caught_up_all();
    for my $table ('race_b', 'race_s') {
        my @d = map { table_digest($_, $table) } @nodes;
        is($d[1], $d[0], "race round $round: B and A have the same rows in $table");
        is($d[2], $d[0], "race round $round: C and A have the same rows in $table");
        is($nc->safe_psql('postgres', "SELECT count(*) FROM $table"), '0',
            "race round $round: C has no row left in $table");
    }
    diag "race round $round: C counted "
      . (stat_sum($nc, 'confl_insert_deleted') - $before) . ' insert_deleted, '
      . (stat_sum($nc, 'confl_delete_missing') - $before_missing) . ' delete_missing';
}

# The storm.
my %scripts = (
    upsert => "\\set k random(1, 20)\n"
      . "INSERT INTO hot VALUES (:k, 1, :client_id::text) ON CONFLICT (id) DO UPDATE SET v = hot.v + 1, n = 'u' || :client_id;\n",
    update => "\\set k random(1, 20)\nUPDATE hot SET v = v + 1, n = :client_id::text WHERE id = :k;\n",
    delete => "\\set k random(1, 20)\nDELETE FROM hot WHERE id = :k;\n",
    insert => "\\set k random(1, 20)\nINSERT INTO hot VALUES (:k, 0) ON CONFLICT DO NOTHING;\n",
);
script($_, $scripts{$_}) for keys %scripts;
my $seconds = $ENV{SPOCK_STORM_SECONDS} // 30;
spock_pgbench_finish('pgbench', map {
        spock_pgbench($_, '-T', $seconds, '-c', '2', '-f', "$dir/upsert.sql\@3",
            '-f', "$dir/update.sql\@3", '-f', "$dir/delete.sql\@2", '-f', "$dir/insert.sql\@2")
} @nodes);
caught_up_all();
my @d = map { table_digest($_, 'hot') } @nodes;
is($d[1], $d[0], 'storm: n2 and n1 are identical');
is($d[2], $d[0], 'storm: n3 and n1 are identical');
if ($d[1] ne $d[0] || $d[2] ne $d[0]) {
    for my $node (@nodes) {
        diag $node->name . ': ' . $node->safe_psql('postgres',
            "SELECT string_agg(id || ':' || v || ':' || coalesce(n, '-'), ' ' ORDER BY id) FROM hot");
    }
}
for my $node (@nodes) {
    my $name = $node->name;
    diag "$name: " . $node->safe_psql('postgres', q{
        SELECT 'insert_exists ' || sum(confl_insert_exists) || ', update_origin_differs ' ||
               sum(confl_update_origin_differs) || ', update_missing ' ||
               sum(confl_update_missing) || ', update_deleted ' || sum(confl_update_deleted) ||
               ', delete_exists ' || sum(confl_delete_exists) || ', delete_missing ' ||
               sum(confl_delete_missing) || ', insert_deleted ' || sum(confl_insert_deleted) ||
               ', apply errors ' || sum(apply_error_count) FROM spock.sub_conflict_stats});
    is($node->safe_psql('postgres',
            "SELECT string_agg(status, ',') FROM spock.sub_show_status()"),
        'replicating,replicating', "$name: both subscriptions replicating");
    is($node->safe_psql('postgres', 'SELECT max(worker_starts) FROM spock.apply_stats()'),
        $node == $nc ? '4' : '1', "$name: no apply worker restarted by the storm");
}
$_->stop for @nodes;
done_testing();
