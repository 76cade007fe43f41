# Update versus delete on two live nodes replicating both ways (docs/conflicts.md): an UPDATE
# on one node and a DELETE of the same rows on the other, in both orders, end the same on both
# nodes under last_update_wins. The later change wins: a later DELETE removes the row
# everywhere (the UPDATE arriving afterwards is update_deleted and skipped); a later UPDATE
# keeps it everywhere (the older DELETE is delete_exists and loses; the UPDATE that finds no
# row is applied as an INSERT). Then both nodes update, delete and re-insert the same rows at
# the same time without pauses, and must still end identical.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use SpockTest;

my $n1 = spock_node('udc_n1', extension => 1, extra => "spock.save_resolutions = on\n");
my $n2 = spock_node('udc_n2', extension => 1, extra => "spock.save_resolutions = on\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL DEFAULT 0, note text);
        SELECT spock.repset_add_table('default', 't');
    });
    is($node->safe_psql('postgres',
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 't'::regclass "
              . "AND tgname = 'spock_deleted_keys'"),
        '1', $node->name . ': repset_add_table put the DELETE trigger on the table');
}
spock_subscribe($n2, $n1, 'sub_n1_n2');
spock_subscribe($n1, $n2, 'sub_n2_n1');
$n1->safe_psql('postgres', 'INSERT INTO t SELECT g, 0 FROM generate_series(1, 300) g');
spock_wait_caught_up($n1);
is(table_digest($n2, 't'), table_digest($n1, 't'), 'the rows reached n2');

sub pids {
    my ($node) = @_;
    return $node->safe_psql('postgres',
        "SELECT string_agg(worker_pid::text, ',') FROM spock.get_apply_worker_status()");
}

sub stat_of {
    my ($node, $sub, $col) = @_;
    return $node->safe_psql('postgres',
        "SELECT $col FROM spock.sub_conflict_stats WHERE subname = '$sub'");
}

# Holds both directions: each node goes on committing, nothing crosses until release().
sub hold {
    $n2->safe_psql('postgres', "SELECT spock.sub_disable('sub_n1_n2', true)");
    $n1->safe_psql('postgres', "SELECT spock.sub_disable('sub_n2_n1', true)");
    for my $node ($n1, $n2) {
        $node->poll_query_until('postgres',
            'SELECT count(*) = 0 FROM spock.get_apply_worker_status()')
          or die $node->name . ': the apply worker did not stop';
    }
}

sub release {
    $n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_n1_n2', true)");
    $n1->safe_psql('postgres', "SELECT spock.sub_enable('sub_n2_n1', true)");
    spock_wait_replicating($n2, 'sub_n1_n2');
    spock_wait_replicating($n1, 'sub_n2_n1');
    spock_wait_caught_up($n1);
    spock_wait_caught_up($n2);
}

# 1. UPDATE on n1, then a later DELETE of the same rows on n2: the rows go everywhere.
hold();
$n1->safe_psql('postgres', "UPDATE t SET v = 1, note = 'n1' WHERE id BETWEEN 1 AND 20");
$n2->safe_psql('postgres', 'DELETE FROM t WHERE id BETWEEN 1 AND 20');
release();
is($n1->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id BETWEEN 1 AND 20'), '0',
    'later DELETE: the rows are gone on n1');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id BETWEEN 1 AND 20'), '0',
    'later DELETE: the older UPDATE did not bring them back on n2');
is(stat_of($n2, 'sub_n1_n2', 'confl_update_deleted'), '20',
    'n2 counted 20 update_deleted conflicts');
is($n2->safe_psql('postgres', q{
        SELECT conflict_type || ' ' || conflict_resolution || ' ' || count(*) FROM spock.resolutions
        WHERE conflict_type = 'update_deleted' GROUP BY conflict_type, conflict_resolution}),
    'update_deleted skip 20', 'n2: spock.resolutions says the updates were skipped');
is(table_digest($n1, 't'), table_digest($n2, 't'), 'after case 1 the nodes are identical');

# 2. DELETE on n2, then a later UPDATE of the same rows on n1: the rows stay everywhere, with
# the update's values (delete_exists on n1, update_missing applied as INSERT on n2).
hold();
$n2->safe_psql('postgres', 'DELETE FROM t WHERE id BETWEEN 21 AND 40');
$n1->safe_psql('postgres', "UPDATE t SET v = 2, note = 'n1 later' WHERE id BETWEEN 21 AND 40");
release();
is($n1->safe_psql('postgres',
        "SELECT count(*) FROM t WHERE id BETWEEN 21 AND 40 AND v = 2 AND note = 'n1 later'"),
    '20', 'later UPDATE: the rows stay on n1 (the older DELETE lost)');
is($n2->safe_psql('postgres',
        "SELECT count(*) FROM t WHERE id BETWEEN 21 AND 40 AND v = 2 AND note = 'n1 later'"),
    '20', 'later UPDATE: the rows are back on n2 with the update\'s values');
is(stat_of($n1, 'sub_n2_n1', 'confl_delete_exists'), '20', 'n1 counted 20 delete_exists');
is(stat_of($n2, 'sub_n1_n2', 'confl_update_missing'), '20', 'n2 counted 20 update_missing');
is($n1->safe_psql('postgres', q{
        SELECT conflict_type || ' ' || conflict_resolution || ' ' || count(*) FROM spock.resolutions
        WHERE conflict_type = 'delete_exists' GROUP BY conflict_type, conflict_resolution}),
    'delete_exists keep_local 20', 'n1: spock.resolutions says the local rows were kept');
is($n2->safe_psql('postgres', q{
        SELECT conflict_type || ' ' || conflict_resolution || ' ' || count(*) FROM spock.resolutions
        WHERE conflict_type = 'update_missing' GROUP BY conflict_type, conflict_resolution}),
    'update_missing apply_remote 20', 'n2: the updates were applied (as inserts)');
is(table_digest($n1, 't'), table_digest($n2, 't'), 'after case 2 the nodes are identical');

# The record survives a clean restart: n2 deletes rows, is restarted (fast shutdown), and an
# older UPDATE of them from n1 still loses there (update_deleted), as it does on n1.
hold();
$n1->safe_psql('postgres', "UPDATE t SET v = 3, note = 'n1 before restart' WHERE id BETWEEN 201 AND 210");
$n2->safe_psql('postgres', 'DELETE FROM t WHERE id BETWEEN 201 AND 210');
my $before = stat_of($n2, 'sub_n1_n2', 'confl_update_deleted');
$n2->restart;
ok(!-e $n2->data_dir . '/pg_spock/deleted_keys', 'n2: the saved record was loaded and removed');
release();
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id BETWEEN 201 AND 210'), '0',
    'after a restart the older UPDATE still loses on n2');
is(stat_of($n2, 'sub_n1_n2', 'confl_update_deleted'), '10',
    'n2 counted 10 update_deleted after the restart (counters start again at a restart)')
  or diag "before the restart: $before";
is(table_digest($n1, 't'), table_digest($n2, 't'), 'after the restart case the nodes are identical');

# 3. Both nodes at once, no pauses: updates, deletes and re-inserts of the same 60 rows.
my ($pid1, $pid2) = (pids($n1), pids($n2));
my $dir = PostgreSQL::Test::Utils::tempdir;
my %scripts = (
    update => "\\set k random(41, 100)\nUPDATE t SET v = v + 1, note = :client_id::text WHERE id = :k;\n",
    delete => "\\set k random(41, 100)\nDELETE FROM t WHERE id = :k;\n",
    insert => "\\set k random(41, 100)\nINSERT INTO t VALUES (:k, 100) ON CONFLICT DO NOTHING;\n",
);
for my $name (keys %scripts) {
    open(my $fh, '>', "$dir/$name.sql") or die;
    print $fh $scripts{$name};
    close $fh;
}
my $seconds = $ENV{SPOCK_RACE_SECONDS} // 8;
spock_pgbench_finish('pgbench',
    map {
        spock_pgbench($_, '-T', $seconds, '-c', '2', '-f', "$dir/update.sql\@5",
            '-f', "$dir/delete.sql\@3", '-f', "$dir/insert.sql\@2")
    } ($n1, $n2));
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
my ($d1, $d2) = (table_digest($n1, 't'), table_digest($n2, 't'));
is($d1, $d2, 'after the concurrent run the nodes are identical');
if ($d1 ne $d2) {
    for my $node ($n1, $n2) {
        diag $node->name . ': ' . $node->safe_psql('postgres',
            "SELECT string_agg(id || ':' || v || ':' || coalesce(note, '-'), ' ' ORDER BY id) FROM t WHERE id > 40");
    }
}
for my $node ($n1, $n2) {
    diag $node->name . ': ' . $node->safe_psql('postgres', q{
        SELECT 'update_missing ' || sum(confl_update_missing) || ', update_deleted ' ||
               sum(confl_update_deleted) || ', delete_exists ' || sum(confl_delete_exists) ||
               ', insert_deleted ' || sum(confl_insert_deleted) || ', delete_missing ' ||
               sum(confl_delete_missing) FROM spock.sub_conflict_stats});
}
is(pids($n1), $pid1, 'n1: the same apply worker throughout the concurrent run');
is(pids($n2), $pid2, 'n2: the same apply worker throughout the concurrent run');
is($n1->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log')
      + $n2->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'),
    0, 'no apply errors');

# The trigger leaves with the table's last replication set.
$n1->safe_psql('postgres', "SELECT spock.repset_remove_table('default', 't')");
is($n1->safe_psql('postgres',
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 't'::regclass "
          . "AND tgname = 'spock_deleted_keys'"),
    '0', 'repset_remove_table took the trigger away');
$n1->stop;
$n2->stop;
done_testing();
