# Buffered remote INSERTs written as one multi-insert per run (docs/conflicts.md, "Concurrent
# local writers"; docs/performance.md): a local session commits a key after the apply worker
# looked it up and buffered it, so the run's multi-insert collides. The run must be rolled back
# and written again row by row, the collision resolved as insert_exists, nothing lost, no
# replay, no error, and the stream goes on. A run without a collision is one multi-insert.
#
# On n2 a generated column's function (which lies about being immutable) commits, through
# dblink, the key of the row buffered just before, for every tenth key of a remote run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('bc_n1', extension => 1);
my $n2 = spock_node('bc_n2', extension => 1, extra => "log_min_messages = debug1\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    my $dsn = spock_dsn($node);
    $node->safe_psql('postgres', qq{
        CREATE EXTENSION dblink;
        CREATE TABLE armed (on_ boolean NOT NULL);
        INSERT INTO armed VALUES (false);
        CREATE FUNCTION race(id int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS \$\$
        BEGIN
            IF current_setting('session_replication_role') = 'replica'
               AND (SELECT on_ FROM public.armed) AND (id - 1) % 10 = 0 THEN
                PERFORM public.dblink_exec('$dsn', format(
                    'INSERT INTO public.b (id, src) VALUES (%s, %L) ON CONFLICT DO NOTHING',
                    id - 1, 'local'));
            END IF;
            RETURN 0;
        END \$\$;
        CREATE TABLE b (id int PRIMARY KEY, src text NOT NULL,
                        g int GENERATED ALWAYS AS (race(id)) STORED);
        SELECT spock.repset_add_table('default', 'b');
        CREATE TABLE c (id int PRIMARY KEY, src text NOT NULL);
        SELECT spock.repset_add_table('default', 'c');
    });
}
spock_subscribe($n2, $n1, 'sub_n1_n2');

sub stats {
    return $n2->safe_psql('postgres', q{
        SELECT (SELECT count(*) FROM spock.exception_log) || ' '
            || (SELECT sum(xacts_replayed) FROM spock.apply_stats()) || ' '
            || (SELECT max(worker_starts) FROM spock.apply_stats()) || ' '
            || (SELECT sum(apply_error_count) FROM spock.sub_conflict_stats)});
}

sub insert_exists {
    return $n2->safe_psql('postgres',
        'SELECT coalesce(sum(confl_insert_exists), 0) FROM spock.sub_conflict_stats');
}

# A run without collisions: one multi-insert, no collision line.
my $log_at = -s $n2->logfile;
$n1->safe_psql('postgres', "INSERT INTO b (id, src) SELECT g, 'n1' FROM generate_series(1001, 1200) g");
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', "SELECT count(*) FROM b WHERE id > 1000 AND src = 'n1'"), '200',
    'a run without collisions is applied');
my $log = slurp_file($n2->logfile, $log_at);
like($log, qr/wrote 200 buffered rows to relation "b"\n/,
    'it was written as one buffered run');
unlike($log, qr/a key collided in the multi-insert/, 'no collision reported for it');

# A run whose keys 10, 20, ... 100 a local session commits after they were buffered.
$n2->safe_psql('postgres', 'UPDATE armed SET on_ = true');
$log_at = -s $n2->logfile;
$n1->safe_psql('postgres', "INSERT INTO b (id, src) SELECT g, 'n1' FROM generate_series(1, 100) g");
spock_wait_caught_up($n1);
$log = slurp_file($n2->logfile, $log_at);
like($log, qr/a key collided in the multi-insert, the run was written again/,
    'the collision rolled the multi-insert back and the run was written again');
is($n2->safe_psql('postgres', "SELECT count(*) FROM b WHERE id BETWEEN 1 AND 100"), '100',
    'every row of the run is there');
# Row 11 commits key 10, ... row 91 key 90; row 1 commits key 0, which is not in the run.
is($n2->safe_psql('postgres', "SELECT string_agg(id::text, ',' ORDER BY id) FROM b WHERE src = 'local'"),
    '0,10,20,30,40,50,60,70,80,90', 'the keys committed locally during the run are local rows');
cmp_ok(insert_exists(), '>=', 9, 'each collision counted as insert_exists');
is(stats(), '0 0 1 0', 'no exception_log row, no replay, no restart, no apply error');

# The stream goes on: more runs, the next ones of this table written speculatively.
$n2->safe_psql('postgres', 'UPDATE armed SET on_ = false');
$n1->safe_psql('postgres', "INSERT INTO b (id, src) SELECT g, 'n1' FROM generate_series(2001, 2100) g")
;
$n1->safe_psql('postgres', "INSERT INTO b (id, src) VALUES (3000, 'n1')");
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', "SELECT count(*) FROM b WHERE id > 2000"), '101',
    'later transactions are applied');
is(stats(), '0 0 1 0', 'still no exception_log row, replay, restart or error');

# Table c (no earlier collision): rows are buffered without a lookup of their key, so a run
# meets a key that was on n2 before
# (written there locally) in its guarded multi-insert: rolled back, written again, the key
# resolved as insert_exists (the later remote row wins). After that, the table's rows are looked
# up again for a while: the next run's existing key goes the single-row way at once, and the
# run around it is written without a collision.
$n2->safe_psql('postgres', "INSERT INTO c (id, src) SELECT g, 'local' FROM generate_series(5050, 5052) g");
my $ie = insert_exists();
$log_at = -s $n2->logfile;
$n1->safe_psql('postgres', "INSERT INTO c (id, src) SELECT g, 'n1' FROM generate_series(5001, 5200) g");
spock_wait_caught_up($n1);
$log = slurp_file($n2->logfile, $log_at);
like($log, qr/a key collided in the multi-insert, the run was written again/,
    'a key that existed before the run made its multi-insert collide');
is($n2->safe_psql('postgres', "SELECT count(*), count(*) FILTER (WHERE src = 'n1') FROM c WHERE id BETWEEN 5001 AND 5200"),
    '200|200', 'every row of the run is there, the existing keys updated by the later remote rows');
cmp_ok(insert_exists(), '>=', $ie + 3, 'each existing key counted as insert_exists');

$n2->safe_psql('postgres', "INSERT INTO c (id, src) VALUES (5300, 'local')");
$ie = insert_exists();
$log_at = -s $n2->logfile;
$n1->safe_psql('postgres', "INSERT INTO c (id, src) SELECT g, 'n1' FROM generate_series(5201, 5400) g");
spock_wait_caught_up($n1);
$log = slurp_file($n2->logfile, $log_at);
unlike($log, qr/a key collided in the multi-insert/,
    'with lookups on again, the next run with an existing key does not collide');
is($n2->safe_psql('postgres', "SELECT count(*), count(*) FILTER (WHERE src = 'n1') FROM c WHERE id BETWEEN 5201 AND 5400"),
    '200|200', 'every row of that run is there');
is(insert_exists(), $ie + 1, 'its existing key counted as insert_exists');
is(stats(), '0 0 1 0', 'no exception_log row, replay, restart or error for either run');

$_->stop for ($n1, $n2);
done_testing();
