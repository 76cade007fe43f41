# Parallel apply follow-ups (issue 14; docs/architecture.md, "Parallel apply"):
#
# 1. spock.get_parallel_apply_status() lists each parallel apply process of the subscription
#    with its pid, state and the transactions it committed.
# 2. A relation's keys follow the subscriber's indexes, not only the provider's RELATION
#    messages: inserts into a table without any key on the subscriber commute (the processes
#    apply them), its updates are barriers (the leader applies them itself); once the
#    subscriber adds a primary key while the worker runs, its updates go to the processes.
# 3. A transaction that ends the set of processes twice in a row is applied by the leader
#    itself after the restart. A subscriber-only trigger makes two transactions that share no
#    key collide: the first sleeps and then updates a counter row that the second already
#    updated and holds while it waits for its turn to commit, a deadlock that would recur on
#    every restart.
# 4. A transaction that fails only because an earlier one applied at the same time had not
#    committed yet (here a subscriber-only trigger that checks a parent row exists: a key the
#    leader cannot know) is replayed once every earlier transaction committed, so it applies
#    as in serial apply instead of being discarded by exception handling.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('pk_n1', extension => 1);
my $n2 = spock_node('pk_n2', extension => 1, extra => "spock.parallel_apply_workers = 2\n"
      . "deadlock_timeout = 100ms\n"
      . "spock.restart_delay_default = 200\n"
      . "spock.restart_delay_on_exception = 200\n");
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
$n1->safe_psql('postgres', q{
    CREATE TABLE nk (id int PRIMARY KEY, v int NOT NULL);
    CREATE TABLE dl (id int PRIMARY KEY, slow boolean NOT NULL);
    CREATE TABLE tp (id int PRIMARY KEY);
    CREATE TABLE tc (id int PRIMARY KEY, pid int NOT NULL);
    SELECT spock.repset_add_table('default', t) FROM unnest(ARRAY['nk', 'dl', 'tp', 'tc']) t;
});
# On n2, nk has no unique index at all (yet), and dl has the colliding trigger.
$n2->safe_psql('postgres', q{
    CREATE TABLE nk (id int NOT NULL, v int NOT NULL);
    CREATE TABLE dl (id int PRIMARY KEY, slow boolean NOT NULL);
    CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL);
    INSERT INTO counter VALUES (1, 0);
    CREATE FUNCTION dl_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.slow THEN
            PERFORM pg_sleep(0.5);
        END IF;
        UPDATE public.counter SET n = n + 1 WHERE id = 1;
        RETURN NULL;
    END $$;
    CREATE TRIGGER dl_count AFTER INSERT ON dl FOR EACH ROW EXECUTE FUNCTION dl_count();
    ALTER TABLE dl ENABLE ALWAYS TRIGGER dl_count;
    CREATE TABLE tp (id int PRIMARY KEY);
    CREATE TABLE tc (id int PRIMARY KEY, pid int NOT NULL);
    CREATE FUNCTION tp_slow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_sleep(0.3);
        RETURN NULL;
    END $$;
    CREATE TRIGGER tp_slow AFTER INSERT ON tp FOR EACH ROW EXECUTE FUNCTION tp_slow();
    ALTER TABLE tp ENABLE ALWAYS TRIGGER tp_slow;
    CREATE FUNCTION tc_parent() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM public.tp WHERE id = NEW.pid) THEN
            RAISE EXCEPTION 'no parent %', NEW.pid;
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER tc_parent BEFORE INSERT ON tc FOR EACH ROW EXECUTE FUNCTION tc_parent();
    ALTER TABLE tc ENABLE ALWAYS TRIGGER tc_parent;
});
spock_subscribe($n2, $n1, 'sub_pk', 'synchronize_data := false');
my $subid = $n2->safe_psql('postgres',
    "SELECT sub_id FROM spock.subscription WHERE sub_name = 'sub_pk'");

# --- 1. the processes, as the status function shows them -------------------------------------
ok($n2->poll_query_until('postgres', qq{
    SELECT count(*) = 2 AND bool_and(process_pid > 0)
           AND bool_and(process_status IN ('idle', 'waiting', 'applying'))
    FROM spock.get_parallel_apply_status() WHERE worker_subid = $subid}),
    'get_parallel_apply_status() lists both processes');
is($n2->safe_psql('postgres', qq{
    SELECT string_agg(s.process::text, ',' ORDER BY s.process)
    FROM spock.get_parallel_apply_status() s
    JOIN spock.get_apply_worker_status() w ON w.worker_pid = s.worker_pid
    JOIN pg_stat_activity a ON a.pid = s.process_pid
    WHERE a.backend_type = 'spock parallel apply' AND s.worker_subid = $subid}),
    '1,2', 'their pids are the parallel apply processes of the apply worker');

sub xacts_by_processes {
    return $n2->safe_psql('postgres', qq{
        SELECT coalesce(sum(xacts_applied), 0) FROM spock.get_parallel_apply_status()
        WHERE worker_subid = $subid});
}

# --- 2. keys follow the subscriber's indexes ---------------------------------------------------
# Inserts into a table with no key at all on the subscriber commute: the processes apply them.
my $before = xacts_by_processes();
$n1->safe_psql('postgres', "INSERT INTO nk VALUES ($_, $_)") for 1 .. 30;
spock_wait_caught_up($n1);
is($n2->safe_psql('postgres', 'SELECT count(*) FROM nk'), '30', 'nk rows arrived');
cmp_ok(xacts_by_processes(), '>', $before,
    'inserts into a table without any key on the subscriber: the processes applied them');
# Its updates are barriers: the leader applies them itself.
$before = xacts_by_processes();
$n1->safe_psql('postgres', "UPDATE nk SET v = v + 100 WHERE id = $_") for 1 .. 10;
spock_wait_caught_up($n1);
is(table_digest($n2, 'nk'), table_digest($n1, 'nk'), 'nk updated identically');
is(xacts_by_processes(), $before,
    'updates of a table without a unique index on the subscriber: the leader applied them');

$n2->safe_psql('postgres', 'ALTER TABLE nk ADD PRIMARY KEY (id)');
$n1->safe_psql('postgres', "UPDATE nk SET v = v + 100 WHERE id = $_") for 11 .. 40;
spock_wait_caught_up($n1);
is(table_digest($n2, 'nk'), table_digest($n1, 'nk'), 'nk identical on both nodes');
cmp_ok(xacts_by_processes(), '>', $before,
    'after the subscriber added a primary key, the processes applied nk updates');

# --- 3. a deadlock that recurs: the leader applies that transaction -----------------------------
my $log_at = -s $n2->logfile;
# Both transactions must reach the subscriber together: hold them back, then let them go.
$n2->safe_psql('postgres', "SELECT spock.sub_disable('sub_pk', true)");
$n2->poll_query_until('postgres',
    "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'spock apply'")
  or die 'the apply worker did not stop';
$n1->safe_psql('postgres', 'INSERT INTO dl VALUES (1, true)');
$n1->safe_psql('postgres', 'INSERT INTO dl VALUES (2, false)');
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_pk', true)");

ok($n2->poll_query_until('postgres', 'SELECT count(*) = 2 FROM dl'),
    'both colliding transactions were applied in the end');
spock_wait_caught_up($n1);
is(table_digest($n2, 'dl'), table_digest($n1, 'dl'), 'dl identical on both nodes');
is($n2->safe_psql('postgres', 'SELECT n FROM counter'), '2',
    'the subscriber-only trigger ran once per applied transaction');
my $log = slurp_file($n2->logfile, $log_at);
my $deadlocks = () = $log =~ /deadlock detected/g;
cmp_ok($deadlocks, '>=', 2, 'the set ended on the deadlock twice');
like($log, qr/applies the transaction ending at \S+ in its apply worker, without parallel apply processes/,
    'then the leader applied the transaction itself');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
    'no change went to exception handling');
$n1->safe_psql('postgres', "INSERT INTO dl VALUES ($_, false)") for 3 .. 10;
spock_wait_caught_up($n1);
is(table_digest($n2, 'dl'), table_digest($n1, 'dl'), 'later transactions flow as before');

# --- 4. a failure that only the order explains: replayed after its turn ------------------------
$n2->safe_psql('postgres', "SELECT spock.sub_disable('sub_pk', true)");
$n2->poll_query_until('postgres',
    "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'spock apply'")
  or die 'the apply worker did not stop';
for my $i (1 .. 3) {
    $n1->safe_psql('postgres', "INSERT INTO tp VALUES ($i)");
    $n1->safe_psql('postgres', "INSERT INTO tc VALUES ($i, $i)");
}
$n2->safe_psql('postgres', "SELECT spock.sub_enable('sub_pk', true)");
spock_wait_caught_up($n1);
is(table_digest($n2, 'tc'), table_digest($n1, 'tc'),
    'children whose check failed before their parent committed: applied after it');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
    'nothing discarded by exception handling');

$_->stop for ($n1, $n2);
done_testing();
