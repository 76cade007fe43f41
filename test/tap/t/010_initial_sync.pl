# Initial synchronisation of a subscription (reference §7.1): n2, an empty database with only
# spock, gets n1's schema (pg_dump/pg_restore, pre-data then post-data) and the data of the
# subscribed sets (COPY in the slot's exported snapshot), with column lists, row filters,
# partitions and TOAST. spock_test.run_initial_sync runs the synchronisation the way an apply
# worker does, in a background worker outside any transaction.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $dumpdir = PostgreSQL::Test::Utils::tempdir();
my $n1 = spock_node('sync_n1', extension => 1);
my $n2 = spock_node('sync_n2', extension => 1,
    extra => "spock.temp_directory = '$dumpdir'\n");
my $dsn1 = spock_dsn($n1);
my $dsn2 = spock_dsn($n2);
my $slot = 'spk_postgres_n1_sub';

$n1->safe_psql('postgres', "SELECT spock.node_create('n1', '$dsn1')");
$n2->safe_psql('postgres', "SELECT spock.node_create('n2', '$dsn2')");
$n2->safe_psql('postgres', 'CREATE EXTENSION spock_test');

$n1->safe_psql('postgres', q{
    CREATE TABLE plain (id int PRIMARY KEY, v text, n numeric, ts timestamptz, iv interval,
                        f float8, b bytea, arr int[], gen int GENERATED ALWAYS AS (id * 2) STORED);
    INSERT INTO plain (id, v, n, ts, iv, f, b, arr)
        SELECT i, 'v' || i || E'\t"q"\\\\', i * 1.5, '2020-01-01 00:00+00'::timestamptz + i * interval '1 hour',
               i * interval '1 day 2 sec', i / 7.0, decode(md5(i::text), 'hex'), ARRAY[i, NULL]
        FROM generate_series(1, 1000) i;
    CREATE INDEX plain_v_idx ON plain (v);
    CREATE TABLE child (id int PRIMARY KEY, plain_id int NOT NULL REFERENCES plain (id),
                        note text CHECK (note <> ''));
    INSERT INTO child SELECT i, (i % 1000) + 1, 'note ' || i FROM generate_series(1, 500) i;
    CREATE TABLE toasted (id int PRIMARY KEY, big text);
    INSERT INTO toasted
        SELECT i, (SELECT string_agg(md5(i::text || '/' || j::text), '') FROM generate_series(1, 3000) j)
        FROM generate_series(1, 20) i;
    CREATE TABLE parted (id int, region text, amount int, PRIMARY KEY (id, region))
        PARTITION BY LIST (region);
    CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');
    CREATE TABLE parted_us PARTITION OF parted FOR VALUES IN ('us');
    INSERT INTO parted SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, i
        FROM generate_series(1, 300) i;
    CREATE TABLE narrow (id int PRIMARY KEY, a text, secret text DEFAULT 'local default');
    INSERT INTO narrow SELECT i, 'a' || i, 'secret ' || i FROM generate_series(1, 100) i;
    CREATE TABLE filtered (id int PRIMARY KEY, amount int);
    INSERT INTO filtered SELECT i, i FROM generate_series(1, 100) i;
    CREATE TABLE notinset (id int PRIMARY KEY);
    INSERT INTO notinset VALUES (1);
    CREATE SEQUENCE counter START 100;
    SELECT nextval('counter');
    CREATE VIEW plain_view AS SELECT id, v FROM plain;
    CREATE SCHEMA skipme;
    CREATE TABLE skipme.t (id int PRIMARY KEY);
    INSERT INTO skipme.t VALUES (1);

    SELECT spock.repset_add_table('default', 'plain');
    SELECT spock.repset_add_table('default', 'child');
    SELECT spock.repset_add_table('default', 'toasted');
    SELECT spock.repset_add_table('default', 'parted');
    SELECT spock.repset_add_table('default', 'narrow', columns := '{id,a}');
    SELECT spock.repset_add_table('default', 'filtered', row_filter := 'amount > 50');
    SELECT spock.repset_create('extra');
    SELECT spock.repset_add_table('extra', 'filtered', row_filter := 'amount % 2 = 0');
    SELECT spock.repset_add_table('default', 'skipme.t');
    SELECT spock.repset_add_seq('default', 'counter');
    -- What n1 has applied from a third node (id 12345) and from n2: the first is handed on.
    INSERT INTO spock.progress VALUES (49708, 12345, '2024-01-02 03:04:05+00', '0/ABCDEF',
                                       '0/ABCDEF', now(), false),
                                      (49708, 26863, now(), '0/1234', '0/1234', now(), false);
});

$n2->safe_psql('postgres', qq{
    SELECT spock.sub_create('sub', '$dsn1', replication_sets := '{default,extra}',
                            enabled := false, skip_schema := '{skipme}')});

# ---------------------------------------------------------------------------------------------
# A cancel while pg_restore runs stops the worker, which kills pg_restore and removes the dump.
# pg_restore is held up by a transaction on n2 that creates a table of the same name.
my $blocker = $n2->background_psql('postgres');
$blocker->query_safe('BEGIN; CREATE TABLE plain (x int)');
my $runner = $n2->background_psql('postgres', on_error_stop => 0);
$runner->query_until(qr/started/,
    "\\echo started\nSELECT spock_test.run_initial_sync('sub', true, true);\n");
ok($n2->poll_query_until('postgres', q{
        SELECT count(*) > 0 FROM pg_stat_activity
        WHERE application_name = 'pg_restore' AND wait_event_type = 'Lock'}),
    'pg_restore started and waits for the blocking transaction');
$n2->safe_psql('postgres', q{
    SELECT pg_cancel_backend(pid) FROM pg_stat_activity
    WHERE query LIKE '%run_initial_sync%' AND backend_type = 'client backend'
      AND pid <> pg_backend_pid()});
ok($n2->poll_query_until('postgres', q{
        SELECT count(*) = 0 FROM pg_stat_activity
        WHERE backend_type = 'spock_test initial sync'}),
    'the synchronisation worker exits after the cancel');
$runner->quit;
like($runner->{stderr}, qr/canceling statement due to user request/, 'the caller was cancelled');
$blocker->query_safe('ROLLBACK');
$blocker->quit;
ok($n2->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'pg_restore'"),
    'the pg_restore session is gone');
is($n2->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname IN ('child', 'plain')"),
    '0', 'pg_restore was killed before it could commit');
opendir(my $dh, $dumpdir) or die;
my @left = grep { !/^\./ } readdir($dh);
closedir($dh);
is(scalar(@left), 0, 'no dump file left behind') or diag("@left");
is($n1->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'"),
    '1', 'the interrupted attempt left its slot on the provider');

# ---------------------------------------------------------------------------------------------
# Full synchronisation: structure and data.
my $lsn = $n2->safe_psql('postgres', "SELECT spock_test.run_initial_sync('sub', true, true)");
like($lsn, qr{^[0-9A-F]+/[0-9A-F]+$}, "returns an LSN ($lsn)");
ok($n2->log_contains(qr/dropping replication slot "$slot" on the provider/),
    'the leftover slot was dropped and created again');
is($n1->safe_psql('postgres',
        "SELECT plugin || ' ' || confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$slot'"),
    "spock_output $lsn", 'the slot exists with plugin spock_output at the returned consistent point');

my %same = (
    plain    => 'SELECT count(*) || md5(string_agg(t::text, \',\' ORDER BY id)) FROM plain t',
    child    => 'SELECT count(*) || md5(string_agg(t::text, \',\' ORDER BY id)) FROM child t',
    toasted  => 'SELECT count(*) || md5(string_agg(t::text, \',\' ORDER BY id)) FROM toasted t',
    parted   => 'SELECT count(*) || md5(string_agg(t::text, \',\' ORDER BY id, region)) FROM parted t',
    parted_eu => 'SELECT count(*) || md5(string_agg(t::text, \',\' ORDER BY id)) FROM parted_eu t',
);
for my $t (sort keys %same) {
    is($n2->safe_psql('postgres', $same{$t}), $n1->safe_psql('postgres', $same{$t}),
        "$t: same rows on both nodes");
}
is($n2->safe_psql('postgres', 'SELECT sum(length(big)) FROM toasted'), 20 * 3000 * 32,
    'toasted values arrived whole');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM plain WHERE gen <> id * 2'), '0',
    'generated column computed locally');
is($n2->safe_psql('postgres',
        "SELECT count(*) || md5(string_agg(id || ':' || a || ':' || secret, ',' ORDER BY id)) FROM narrow"),
    $n1->safe_psql('postgres',
        "SELECT count(*) || md5(string_agg(id || ':' || a || ':local default', ',' ORDER BY id)) FROM narrow"),
    'narrow: only the listed columns copied, the others take local defaults');
is($n2->safe_psql('postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM filtered'),
    $n1->safe_psql('postgres',
        'SELECT string_agg(id::text, \',\' ORDER BY id) FROM filtered WHERE amount > 50 AND amount % 2 = 0'),
    'filtered: rows must pass the filters of both sets');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM notinset'), '0',
    'a table in no subscribed set gets its structure but no rows');

my $indexes = q{SELECT string_agg(indexname || ' ' || indexdef, E'\n' ORDER BY indexname)
                FROM pg_indexes WHERE schemaname = 'public'};
is($n2->safe_psql('postgres', $indexes), $n1->safe_psql('postgres', $indexes),
    'indexes restored (post-data)');
my $constraints = q{SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' ||
                                      pg_get_constraintdef(oid), E'\n' ORDER BY conrelid::regclass::text, conname)
                    FROM pg_constraint WHERE connamespace = 'public'::regnamespace};
is($n2->safe_psql('postgres', $constraints), $n1->safe_psql('postgres', $constraints),
    'primary keys, foreign keys and checks restored');
is($n2->safe_psql('postgres', q{SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname)
                                FROM pg_class WHERE relname IN ('counter', 'plain_view')}),
    'counter:S,plain_view:v', 'sequence and view restored');
is($n2->safe_psql('postgres', "SELECT count(*) FROM pg_namespace WHERE nspname = 'skipme'"), '0',
    'skip_schema is not restored');

my $roident = $n2->safe_psql('postgres',
    "SELECT roident FROM pg_replication_origin WHERE roname = '$slot'");
is($n2->safe_psql('postgres', q{
        SELECT string_agg(DISTINCT (pg_xact_commit_timestamp_origin(xmin)).roident::text || ' ' ||
                                   extract(epoch FROM pg_xact_commit_timestamp(xmin))::bigint, ',')
        FROM (SELECT xmin FROM plain UNION ALL SELECT xmin FROM parted) t}),
    "$roident 0", 'copied rows carry the subscription origin and the epoch as commit time');
is($n2->safe_psql('postgres', q{
        SELECT string_agg(sync_nspname || '.' || sync_relname || ':' || sync_kind::text || sync_status::text ||
                          ':' || sync_statuslsn, ',' ORDER BY sync_relname)
        FROM spock.local_sync_status WHERE sync_relname IS NOT NULL}),
    join(',', map { "public.$_:fr:$lsn" } qw(child filtered narrow parted plain toasted)),
    'one ready sync status row per copied table');
is($n2->safe_psql('postgres', q{
        SELECT string_agg(node_id || ' ' || remote_node_id || ' ' || remote_lsn, ',')
        FROM spock.progress WHERE remote_node_id = 12345 OR node_id = 49708}),
    '26863 12345 0/ABCDEF', "the provider's progress for third nodes is handed on");
opendir($dh, $dumpdir) or die;
@left = grep { !/^\./ } readdir($dh);
closedir($dh);
is(scalar(@left), 0, 'dump file removed');

# ---------------------------------------------------------------------------------------------
# Running again: the slot is recreated at a later consistent point.
my $lsn2 = $n2->safe_psql('postgres', "SELECT spock_test.run_initial_sync('sub', false, false)");
ok($n2->safe_psql('postgres', "SELECT '$lsn2'::pg_lsn > '$lsn'::pg_lsn") eq 't',
    "a second run returns a later consistent point ($lsn2)");
is($n1->safe_psql('postgres',
        "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$slot'"),
    $lsn2, 'the slot was recreated there');

# ---------------------------------------------------------------------------------------------
# Failures.
my ($rc, $out, $err) = $n2->psql('postgres', "SELECT spock_test.run_initial_sync('sub', true, false)");
like($err, qr/initial synchronisation of subscription "sub": could not restore the pre-data section/,
    'a failing pg_restore fails the synchronisation');
like($err, qr/DETAIL:  pg_restore exited with code 1:.*already exists/s,
    "with pg_restore's output in the detail");
is($n1->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'"),
    '0', 'the slot of a failed attempt is dropped');

($rc, $out, $err) = $n2->psql('postgres', "SELECT spock_test.run_initial_sync('sub', false, true)");
like($err, qr/could not copy the data: duplicate key value violates unique constraint/,
    'copying into tables that have the rows fails');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM plain'), '1000', 'and copies nothing');

# Data only, into emptied tables; a missing table fails the whole copy, atomically.
$n2->safe_psql('postgres', 'TRUNCATE child, plain, toasted, parted, narrow, filtered; DROP TABLE narrow');
($rc, $out, $err) = $n2->psql('postgres', "SELECT spock_test.run_initial_sync('sub', false, true)");
like($err, qr/could not copy the data: table public\.narrow does not exist on the subscriber/,
    'a subscribed table missing locally is an error');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM child'), '0',
    'tables copied before the failure are rolled back');
$n2->safe_psql('postgres', 'CREATE TABLE narrow (id int PRIMARY KEY, a text, extra int DEFAULT 7)');
$n2->safe_psql('postgres', "SELECT spock_test.run_initial_sync('sub', false, true)");
for my $t (sort keys %same) {
    is($n2->safe_psql('postgres', $same{$t}), $n1->safe_psql('postgres', $same{$t}),
        "data only: $t has the same rows again");
}
is($n2->safe_psql('postgres', 'SELECT count(*) FROM narrow WHERE extra = 7'), '100',
    'data only: a table with other local columns is filled by name');

# An unreachable provider: a clear error, with the password masked.
my $host = $n1->host;
$n2->safe_psql('postgres', qq{
    UPDATE spock.node_interface SET if_dsn = 'host=$host port=1 dbname=postgres password=sekrit'
    WHERE if_nodeid = 49708});
($rc, $out, $err) = $n2->psql('postgres', "SELECT spock_test.run_initial_sync('sub', true, true)");
like($err, qr/initial synchronisation of subscription "sub": could not connect to the provider/,
    'an unreachable provider is reported');
like($err, qr/password=\*+/, 'the connection string is in the detail');
unlike($err, qr/sekrit/, 'without the password');

done_testing();
