# Remote INSERTs against local sessions inserting the same keys at the same time, on two nodes
# replicating both ways under last_update_wins (docs/conflicts.md, "Concurrent local writers").
#
# First deterministically: on n2, a generated column's function (which lies about being
# immutable) commits a local row with a key through dblink while the apply worker applies a
# remote row, after the worker looked that key up and before it writes it: on the single-row path
# (a table with a replica trigger) the very key being inserted, on the buffered path the key of a
# row already buffered. Then live: pgbench sessions on both nodes insert the same keys at once in
# multi-row and single-row transactions. Every time, the duplicate must be caught as an
# insert_exists conflict and resolved: no apply error, no replay, nothing in
# spock.exception_log, and both nodes identical at the end.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use SpockTest;

my $n1 = spock_node('ci_n1', extension => 1);
my $n2 = spock_node('ci_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    my $dsn = spock_dsn($node);
    $node->safe_psql('postgres', qq{
        CREATE EXTENSION dblink;
        CREATE TABLE race_cfg (armed boolean NOT NULL);
        INSERT INTO race_cfg VALUES (false);
        -- Commits a local row with key \$1 through another session, when armed and called by
        -- the apply worker (session_replication_role = replica).
        CREATE FUNCTION race_insert(tbl text, key int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS \$\$
        BEGIN
            IF current_setting('session_replication_role') = 'replica'
               AND (SELECT armed FROM public.race_cfg) AND key % 10 = 0 THEN
                PERFORM public.dblink_exec('$dsn', format(
                    'INSERT INTO public.%I (id, src) VALUES (%s, %L) ON CONFLICT DO NOTHING',
                    tbl, key, 'local'));
            END IF;
            RETURN 0;
        END \$\$;
        CREATE FUNCTION race_rb(id int) RETURNS int LANGUAGE sql IMMUTABLE
            AS \$\$ SELECT public.race_insert('rb', id - 1) \$\$;
        CREATE FUNCTION race_rs(id int) RETURNS int LANGUAGE sql IMMUTABLE
            AS \$\$ SELECT public.race_insert('rs', id) \$\$;
        CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RETURN NEW; END \$\$;
        CREATE TABLE rb (id int PRIMARY KEY, src text NOT NULL,
                         g int GENERATED ALWAYS AS (race_rb(id)) STORED);
        CREATE TABLE rs (id int PRIMARY KEY, src text NOT NULL,
                         g int GENERATED ALWAYS AS (race_rs(id)) STORED);
        CREATE TRIGGER rs_noop BEFORE INSERT ON rs FOR EACH ROW EXECUTE FUNCTION noop();
        ALTER TABLE rs ENABLE REPLICA TRIGGER rs_noop;
        CREATE TABLE k (id bigint PRIMARY KEY, src text NOT NULL);
        SELECT spock.repset_add_table('default', 'rb');
        SELECT spock.repset_add_table('default', 'rs');
        SELECT spock.repset_add_table('default', 'k');
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2');
spock_subscribe($n1, $n2, 'sub_n2_n1');

sub stats {
    my ($node) = @_;
    return $node->safe_psql('postgres', q{
        SELECT (SELECT count(*) FROM spock.exception_log) || ' '
            || (SELECT sum(xacts_replayed) FROM spock.apply_stats()) || ' '
            || (SELECT max(worker_starts) FROM spock.apply_stats()) || ' '
            || (SELECT sum(apply_error_count) FROM spock.sub_conflict_stats)});
}

sub insert_exists {
    my ($node) = @_;
    return $node->safe_psql('postgres',
        'SELECT sum(confl_insert_exists) FROM spock.sub_conflict_stats');
}

# --- deterministic races on n2 ----------------------------------------------------------------
$n2->safe_psql('postgres', 'UPDATE race_cfg SET armed = true');
$n1->safe_psql('postgres',
    "INSERT INTO rb (id, src) SELECT g, 'n1' FROM generate_series(1, 100) g");
# Another run, where the collision is not on the first rows: row 211 commits key 210.
$n1->safe_psql('postgres',
    "INSERT INTO rb (id, src) SELECT g, 'n1' FROM generate_series(210, 214) g");
$n1->safe_psql('postgres', "INSERT INTO rs (id, src) VALUES ($_, 'n1')") for 1 .. 30;
spock_wait_caught_up($n1);
spock_wait_caught_up($n2);
spock_wait_caught_up($n1);

is(stats($n2), '0 0 1 0', 'n2: no exception_log row, no replay, no restart, no apply error');
is(stats($n1), '0 0 1 0', 'n1: no exception_log row, no replay, no restart, no apply error');
# Row 1 commits key 0 (not in the batch), rows 11, 21, ... 91 the keys 10 ... 90 already
# buffered, row 211 key 210.
is($n2->safe_psql('postgres', "SELECT count(*) FROM rb WHERE src = 'local'"), '11',
    'buffered path: the keys committed locally during the batch are local rows on n2');
is($n2->safe_psql('postgres', "SELECT count(*) FROM rs WHERE src = 'local'"), '3',
    'single-row path: the three keys committed locally during the insert are local rows on n2');
cmp_ok(insert_exists($n2), '>=', 13, 'n2: each race counted as insert_exists');
for my $t ('rb', 'rs') {
    is(table_digest($n1, $t), table_digest($n2, $t), "$t identical on both nodes");
}
$n2->safe_psql('postgres', 'UPDATE race_cfg SET armed = false');

# --- live: both nodes insert the same keys at once --------------------------------------------
# Keys come from the current 100 ms slot, so both nodes (and the apply workers) work on the same
# thousand keys at the same moment.
my $dir = PostgreSQL::Test::Utils::tempdir;
my $slot = q{(extract(epoch FROM clock_timestamp()) * 10)::bigint * 1000};
# n1 commits multi-row and single-row transactions, n2's local sessions single-row ones (two
# sessions inserting overlapping keys in multi-row transactions on one node can deadlock, in
# PostgreSQL itself, whoever they are).
sub script {
    my ($name, $text) = @_;
    open(my $fh, '>', "$dir/$name.sql") or die;
    print $fh $text;
    close $fh;
    return "$dir/$name.sql";
}
my @runs;
for my $node ($n1, $n2) {
    my $src = $node->name;
    my @files = ('-f', script("single_$src", "INSERT INTO k VALUES ($slot + (random() * 999)::int, "
              . "'$src') ON CONFLICT DO NOTHING;\n") . '@2');
    push @files, '-f', script("multi_$src", "INSERT INTO k SELECT $slot + (random() * 999)::int, "
          . "'$src' FROM generate_series(1, 50) ON CONFLICT DO NOTHING;\n") . '@1'
      if $node == $n1;
    push @runs, spock_pgbench($node, '-T', $ENV{SPOCK_RACE_SECONDS} // 6, '-c', '3', @files);
}
spock_pgbench_finish('inserts', @runs);
for (1 .. 2) {
    spock_wait_caught_up($_) for ($n1, $n2);
}
is(stats($n1), '0 0 1 0', 'n1 after the live run: no exception_log row, replay, restart or error');
is(stats($n2), '0 0 1 0', 'n2 after the live run: no exception_log row, replay, restart or error');
cmp_ok(insert_exists($n1) + insert_exists($n2), '>', 26, 'live conflicts counted as insert_exists');
my $d1 = table_digest($n1, 'k');
is(table_digest($n2, 'k'), $d1, 'k identical on both nodes');
diag "k: $d1; insert_exists n1 " . insert_exists($n1) . ', n2 ' . insert_exists($n2);

$_->stop for ($n1, $n2);
done_testing();
