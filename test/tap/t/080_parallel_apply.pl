# Apply correctness under a concurrent workload that parallel apply must keep right
# (issue 14; docs/architecture.md, "Parallel apply"): six clients on the provider write
# overlapping and independent keys at the same time: parents and children of a foreign key
# (children inserted under a parent while other clients delete the parent with its children),
# swaps of unique values between rows, deletes followed by re-inserts of the same key,
# inserts of keys no one else touches, and inserts into a table with no key at all (which
# commute: no order between them; a keyless table is replicated by an insert-only set). In the middle the subscriber's apply process is killed
# with SIGKILL. The subscriber must end identical to the provider, and nothing may have been
# applied twice: on the subscriber an ALWAYS trigger logs every row applied to `ind`, in the same
# local transaction, and the provider never updates those rows, so a transaction applied twice
# shows as a second log row (an insert_exists resolved as an UPDATE).
#
# The run is repeated with spock.parallel_apply_workers = 1 (serial: the apply worker is
# killed), 2 and 4 (one of the parallel apply processes is killed, not the leader).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use SpockTest;

my @processes = (1, 2, 4);
my $seconds = $ENV{SPOCK_PARALLEL_SECONDS} // 8;

my $n1 = spock_node('pa_n1', extension => 1);
my $n2 = spock_node('pa_n2', extension => 1,
    extra => "restart_after_crash = on\nspock.restart_delay_default = 500\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
my $schema = q{
    CREATE TABLE parent (id int PRIMARY KEY, v int NOT NULL);
    CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent,
                        v int NOT NULL);
    CREATE INDEX ON child (parent_id);
    CREATE TABLE uk (id int PRIMARY KEY, code int NOT NULL UNIQUE);
    CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL);
    CREATE TABLE ind (id bigserial PRIMARY KEY, client int NOT NULL, v int NOT NULL);
    CREATE TABLE hist (client int NOT NULL, v int NOT NULL);
};
$_->safe_psql('postgres', $schema) for ($n1, $n2);
$n1->safe_psql('postgres', q{
    INSERT INTO uk SELECT g, g FROM generate_series(1, 20) g;
    SELECT spock.repset_add_table('default', t) FROM unnest(ARRAY['parent', 'child', 'uk', 'kv', 'ind']) t;
    SELECT spock.repset_add_table('default_insert_only', 'hist');
});
$n2->safe_psql('postgres', 'INSERT INTO uk SELECT g, g FROM generate_series(1, 20) g');
$n2->safe_psql('postgres', q{
    CREATE TABLE ind_log (id bigint NOT NULL, op text NOT NULL);
    CREATE FUNCTION log_ind() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO public.ind_log VALUES (NEW.id, TG_OP);
        RETURN NULL;
    END $$;
    CREATE TRIGGER ind_log AFTER INSERT OR UPDATE ON ind FOR EACH ROW EXECUTE FUNCTION log_ind();
    ALTER TABLE ind ENABLE ALWAYS TRIGGER ind_log;
});
spock_subscribe($n2, $n1, 'sub_pa', 'synchronize_data := false');

# The scripts. Each client locks what it changes in one order, so the provider has no deadlock
# and no constraint error (pgbench would stop the client).
my $dir = tempdir(CLEANUP => 1);
my %scripts = (
    # A child under a parent (the upsert takes the parent's row lock first).
    family => q{
\set p random(1, 40)
\set c random(1, 100000)
BEGIN;
INSERT INTO parent VALUES (:p, 1) ON CONFLICT (id) DO UPDATE SET v = parent.v + 1;
INSERT INTO child VALUES (:c, :p, :client_id) ON CONFLICT (id) DO NOTHING;
COMMIT;
},
    # A parent deleted with its children, then created again at once. The upsert makes sure the
    # row exists to be locked; FOR UPDATE then waits for every transaction that holds it as a
    # parent (KEY SHARE) and keeps new children out until the delete commits.
    orphan => q{
\set p random(1, 40)
BEGIN;
INSERT INTO parent VALUES (:p, 0) ON CONFLICT (id) DO UPDATE SET v = parent.v;
SELECT 1 FROM parent WHERE id = :p FOR UPDATE;
DELETE FROM child WHERE parent_id = :p;
DELETE FROM parent WHERE id = :p;
COMMIT;
INSERT INTO parent VALUES (:p, 0) ON CONFLICT (id) DO NOTHING;
},
    # Two rows swap their unique codes through a value no other row can hold (-id).
    swap => q{
\set a random(1, 20)
\set b 1 + (:a + random(0, 18)) % 20
BEGIN;
SELECT id FROM uk WHERE id IN (:a, :b) ORDER BY id FOR UPDATE;
SELECT code AS ca FROM uk WHERE id = :a \gset
SELECT code AS cb FROM uk WHERE id = :b \gset
UPDATE uk SET code = -id WHERE id = :a;
UPDATE uk SET code = :ca WHERE id = :b;
UPDATE uk SET code = :cb WHERE id = :a;
COMMIT;
},
    # A key deleted and inserted again, in one transaction and in two.
    reinsert => q{
\set k random(1, 30)
BEGIN;
DELETE FROM kv WHERE id = :k;
INSERT INTO kv VALUES (:k, :client_id) ON CONFLICT (id) DO UPDATE SET v = excluded.v;
COMMIT;
DELETE FROM kv WHERE id = :k;
INSERT INTO kv VALUES (:k, -:client_id) ON CONFLICT (id) DO UPDATE SET v = excluded.v;
},
    # A table without any key (as pgbench_history): inserts alone and next to keyed changes.
    keyless => q{
\set k random(1, 5)
INSERT INTO hist VALUES (:client_id, :k);
BEGIN;
UPDATE kv SET v = v + 1 WHERE id = :k;
INSERT INTO hist VALUES (:client_id, :k + 10);
COMMIT;
},
    # Keys nobody else touches.
    independent => q{
INSERT INTO ind (client, v) VALUES (:client_id, 1);
},
);
my @files;
for my $name (sort keys %scripts) {
    my $f = "$dir/$name.sql";
    open my $fh, '>', $f or die "$f: $!";
    print $fh $scripts{$name};
    close $fh;
    push @files, '-f', $f;
}

sub applied_once {
    return $n2->safe_psql('postgres', q{
        SELECT count(*) || ' ' || count(DISTINCT id) || ' '
            || coalesce(bool_and(op = 'INSERT'), true) || ' ' || (SELECT count(*) FROM ind)
        FROM ind_log});
}

sub apply_pid {
    $n2->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM spock.get_apply_worker_status() WHERE worker_pid > 0")
      or die 'no apply worker on n2';
    return $n2->safe_psql('postgres',
        'SELECT worker_pid FROM spock.get_apply_worker_status() WHERE worker_pid > 0');
}

# The apply process to kill: with parallel apply one of the processes, not the leader.
sub victim_pid {
    my ($np) = @_;
    return apply_pid() if $np == 1;
    return $n2->safe_psql('postgres', q{
        SELECT pid FROM pg_stat_activity WHERE backend_type = 'spock parallel apply'
        ORDER BY pid LIMIT 1});
}

for my $np (@processes) {
    # The setting takes effect at a reload: the apply worker restarts with that many processes.
    $n2->safe_psql('postgres', "ALTER SYSTEM SET spock.parallel_apply_workers = $np");
    $n2->safe_psql('postgres', 'SELECT pg_reload_conf()');
    my $want = $np > 1 ? $np : 0;
    $n2->poll_query_until('postgres', qq{
        SELECT count(*) = $want FROM pg_stat_activity
        WHERE backend_type = 'spock parallel apply'})
      or die "n2 did not start $want parallel apply processes";
    my $run = spock_pgbench($n1, '-c', '6', '-j', '2', '-T', $seconds, @files);
    # Kill the apply process once some of the load has arrived.
    my $before = $n2->safe_psql('postgres', 'SELECT count(*) FROM ind');
    $n2->poll_query_until('postgres', "SELECT count(*) > $before + 200 FROM ind")
      or die 'nothing arrived on n2';
    if ($np > 1) {
        # A process that exits (SIGTERM: no crash) ends the set: the apply worker stops the
        # others, waits for them and restarts them all from the last commit.
        my $gone = victim_pid($np);
        $n2->safe_psql('postgres', "SELECT pg_terminate_backend($gone)");
        ok($n2->poll_query_until('postgres', qq{
            SELECT count(*) = $np AND bool_and(pid <> $gone) FROM pg_stat_activity
            WHERE backend_type = 'spock parallel apply'}),
            "the set restarted after process $gone exited ($np process(es))");
        my $at = $n2->safe_psql('postgres', 'SELECT count(*) FROM ind');
        $n2->poll_query_until('postgres', "SELECT count(*) > $at + 200 FROM ind")
          or die 'nothing arrived on n2 after the restart';
    }
    my $pid = victim_pid($np);
    ok(kill('KILL', $pid), "apply process $pid killed mid-stream ($np process(es))");
    spock_pgbench_finish("the mixed workload ($np process(es))", $run);
    spock_wait_replicating($n2, 'sub_pa');
    spock_wait_caught_up($n1);
    for my $t (qw(parent child uk kv ind)) {
        is(table_digest($n2, $t), table_digest($n1, $t),
            "$t identical on both nodes ($np process(es))");
    }
    is(table_digest($n2, 'hist', order_by => 't::text'),
        table_digest($n1, 'hist', order_by => 't::text'),
        "hist (no key) identical on both nodes ($np process(es))");
    cmp_ok($n1->safe_psql('postgres', 'SELECT count(*) FROM hist'), '>', 0,
        'the keyless table has rows');
    is($n2->safe_psql('postgres', 'SELECT count(DISTINCT code) = 20 FROM uk'), 't',
        'uk still holds codes 1 to 20 once each');
    my $n = $n1->safe_psql('postgres', 'SELECT count(*) FROM ind');
    is(applied_once(), "$n $n true $n", "every row applied once, none twice ($np process(es))");
    is($n2->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
        'no change went to exception handling');
    next if $np == 1;
    # The processes' own origins moved: they, not the leader, committed transactions.
    cmp_ok($n2->safe_psql('postgres', q{
        SELECT count(*) FROM pg_replication_origin_status
        WHERE external_id ~ ':w[0-9]+$' AND remote_lsn > '0/0'}), '>=', 2,
        "parallel apply processes committed transactions ($np process(es))");
    # spock.get_parallel_apply_status() shows the same processes as pg_stat_activity, numbered
    # 1 to N, under the apply worker of the subscription.
    is($n2->safe_psql('postgres', q{
        SELECT string_agg(s.process::text, ',' ORDER BY s.process)
        FROM spock.get_parallel_apply_status() s
        JOIN pg_stat_activity a ON a.pid = s.process_pid
        JOIN spock.get_apply_worker_status() w ON w.worker_pid = s.worker_pid
        WHERE a.backend_type = 'spock parallel apply'}), join(',', 1 .. $np),
        "get_parallel_apply_status() lists the $np processes");
}

$_->stop for ($n1, $n2);
done_testing();
