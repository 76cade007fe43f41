# Automatic DDL replication in a three-node mesh (docs/ddl.md "Automatic DDL"), with
# spock.enable_ddl_replication and spock.include_ddl_repset on every node: a CREATE TABLE on n1
# exists on all three nodes, in set default everywhere, and replicates rows written on all three
# at the same time; an ALTER TABLE ... ADD COLUMN under a write load on all three reaches every
# node with no row lost; DROP TABLE drops it everywhere; a temporary table and a table created
# inside a function are not replicated; a DDL that fails on one subscriber is logged in
# spock.exception_log and the stream goes on; ALTERs of one table on n1 and n2 at the same time
# are detected on both (WARNING and spock.schema_change_stats().ddl_schema_mismatches), and on
# n3, which receives the second one written against the older schema.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $conf = "spock.enable_ddl_replication = on\nspock.include_ddl_repset = on\n";
my @nodes = map { spock_node("ad_n$_", extension => 1, extra => $conf) } 1 .. 3;
my ($n1, $n2, $n3) = @nodes;
spock_create_node($nodes[$_], name => 'n' . ($_ + 1)) for 0 .. 2;
for my $s (0 .. 2) {
    for my $p (0 .. 2) {
        next if $s == $p;
        spock_subscribe($nodes[$s], $nodes[$p], 'sub_n' . ($p + 1) . '_n' . ($s + 1));
    }
}

sub catch_up_all {
    for (1 .. 2) {
        spock_wait_caught_up($_) for @nodes;
    }
}

sub wait_table {
    my ($node, $table, $present) = @_;
    my $want = $present ? 'NOT NULL' : 'NULL';
    $node->poll_query_until('postgres', "SELECT to_regclass('$table') IS $want")
      or die $node->name . " never saw $table " . ($present ? 'created' : 'dropped');
}

# --- CREATE TABLE on n1: everywhere, in set default, rows from all three nodes -------------
my (undef, undef, $err) = $n1->psql('postgres',
    'CREATE TABLE ad_t (id bigint PRIMARY KEY, v text)', on_error_die => 1);
like($err, qr/DDL statement replicated/, 'n1: CREATE TABLE reported as replicated');
for my $node (@nodes) {
    wait_table($node, 'public.ad_t', 1);
    is($node->safe_psql('postgres', q{
            SELECT string_agg(s.set_name, ',') FROM spock.replication_set_table t
            JOIN spock.replication_set s USING (set_id) WHERE t.set_reloid = 'ad_t'::regclass}),
        'default', $node->name . ': ad_t exists and is in set default');
}

my $dir = PostgreSQL::Test::Utils::tempdir();
my @scripts;
for my $i (1 .. 3) {
    my $f = "$dir/ins$i.sql";
    open(my $fh, '>', $f) or die $!;
    print $fh "\\set id random(1, 900000000) + $i * 1000000000\n"
      . "INSERT INTO ad_t (id, v) VALUES (:id, 'n$i') "
      . "ON CONFLICT (id) DO NOTHING;\n";
    close $fh;
    push @scripts, $f;
}
my @runs = map { spock_pgbench($nodes[$_], '-T', '5', '-c', '2', '-R', '50', '-f', $scripts[$_]) }
  0 .. 2;
spock_pgbench_finish('insert load', @runs);
catch_up_all();
my $d1 = table_digest($n1, 'ad_t');
ok($n1->safe_psql('postgres', 'SELECT count(DISTINCT v) FROM ad_t') == 3,
    'n1 has rows written on all three nodes');
is(table_digest($_, 'ad_t'), $d1, $_->name . ': same rows as n1') for ($n2, $n3);

# --- ALTER TABLE ADD COLUMN under a write load on all three nodes ----------------------------
my $before = $n1->safe_psql('postgres', 'SELECT count(*) FROM ad_t');
@runs = map { spock_pgbench($nodes[$_], '-T', '10', '-c', '2', '-R', '50', '-f', $scripts[$_]) }
  0 .. 2;
$n1->poll_query_until('postgres', "SELECT count(*) > $before + 100 FROM ad_t")
  or die 'the load did not start';
$n1->safe_psql('postgres', 'ALTER TABLE ad_t ADD COLUMN w int NOT NULL DEFAULT 7');
my $after_alter = $n1->safe_psql('postgres', 'SELECT count(*) FROM ad_t');
$n1->poll_query_until('postgres', "SELECT count(*) > $after_alter + 100 FROM ad_t")
  or die 'the load did not go on after the ALTER';
$n1->safe_psql('postgres', 'UPDATE ad_t SET w = (id % 100)::int WHERE id % 3 = 0');
spock_pgbench_finish('insert load during ALTER', @runs);
catch_up_all();
$d1 = table_digest($n1, 'ad_t');
for my $node ($n2, $n3) {
    is($node->safe_psql('postgres',
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ad_t'::regclass "
              . "AND attname = 'w' AND NOT attisdropped"),
        '1', $node->name . ': the ADD COLUMN ran');
    is(table_digest($node, 'ad_t'), $d1, $node->name . ': same rows and values as n1');
}
is($_->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
    $_->name . ': no exception so far') for @nodes;

# --- temporary objects and DDL inside functions are not replicated --------------------------
(undef, undef, $err) = $n1->psql('postgres', q{
    CREATE TEMP TABLE ad_tmp (id int);
    ALTER TABLE ad_tmp ADD COLUMN v text;
    DO $$ BEGIN CREATE TABLE ad_fn (id int); END $$;
}, on_error_die => 1);
like($err, qr/CREATE TABLE statement will not be replicated.*temporary/s,
    'n1: the temporary table is left out with a WARNING');
like($err, qr/allow_ddl_from_functions/, 'n1: the table created in a DO block is left out');
$n1->safe_psql('postgres', 'CREATE TABLE ad_marker (id int PRIMARY KEY)');
for my $node ($n2, $n3) {
    wait_table($node, 'public.ad_marker', 1);
    is($node->safe_psql('postgres', q{
            SELECT count(*) FROM spock.queue
            WHERE message::text LIKE '%ad_tmp%' OR message::text LIKE '%ad_fn%'}),
        '0', $node->name . ': no queued DDL for the temporary table or the function\'s table');
    is($node->safe_psql('postgres', "SELECT to_regclass('public.ad_fn') IS NULL"), 't',
        $node->name . ': the function\'s table is not there');
}

# --- DROP TABLE everywhere ---------------------------------------------------------------------
$n2->safe_psql('postgres', 'DROP TABLE ad_marker');
wait_table($_, 'public.ad_marker', 0) for @nodes;
pass('DROP TABLE on n2 dropped the table on all nodes');

# --- a DDL that fails on one subscriber ------------------------------------------------------
$n3->safe_psql('postgres',
    'SET spock.enable_ddl_replication = off; CREATE TABLE ad_clash (id int)');
$n1->safe_psql('postgres', 'CREATE TABLE ad_clash (id int PRIMARY KEY, x text)');
$n1->safe_psql('postgres', "INSERT INTO ad_t (id, v) VALUES (-1, 'after clash')");
$n3->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM spock.exception_log WHERE operation = 'DDL'")
  or die 'n3 did not log the failed DDL';
like($n3->safe_psql('postgres', q{
        SELECT ddl_statement || ' | ' || (error_message LIKE '%already exists%')
        FROM spock.exception_log WHERE operation = 'DDL'}),
    qr/^SET search_path TO "\$user", public; CREATE TABLE ad_clash \(id int PRIMARY KEY, x text\) \| true$/,
    'n3 logged the failed DDL with its text and error');
$n3->poll_query_until('postgres', 'SELECT count(*) = 1 FROM ad_t WHERE id = -1')
  or die 'the stream did not go on after the failed DDL';
pass('n3 applies changes after the failed DDL');
wait_table($n2, 'public.ad_clash', 1);
pass('n2 ran the DDL that failed on n3');

# --- concurrent ALTERs of the same table on n1 and n2 ----------------------------------------
$n1->safe_psql('postgres', 'CREATE TABLE ad_cc (id int PRIMARY KEY, v text)');
wait_table($_, 'public.ad_cc', 1) for ($n2, $n3);
catch_up_all();
my $b1 = $n1->background_psql('postgres');
my $b2 = $n2->background_psql('postgres');
# query(), not query_safe(): the INFO of a replicated statement goes to stderr.
sub run_in {
    my ($session, $sql) = @_;
    $session->query($sql);
    die "$sql failed: $session->{stderr}" if $session->{stderr} =~ /ERROR/;
}
run_in($b1, 'BEGIN; ALTER TABLE ad_cc ADD COLUMN from_n1 int');
run_in($b2, 'BEGIN; ALTER TABLE ad_cc ADD COLUMN from_n2 int');
run_in($b1, 'COMMIT');
run_in($b2, 'COMMIT');
$b1->quit;
$b2->quit;
for my $node (@nodes) {
    $node->poll_query_until('postgres', q{
        SELECT count(*) = 2 FROM pg_attribute WHERE attrelid = 'ad_cc'::regclass
        AND attname IN ('from_n1', 'from_n2') AND NOT attisdropped})
      or die $node->name . ' did not get both columns';
}
pass('both concurrent ADD COLUMNs reached every node');
my $detected = 0;
for my $node ($n1, $n2) {
    my $count = $node->safe_psql('postgres',
        'SELECT coalesce(sum(ddl_schema_mismatches), 0) FROM spock.schema_change_stats()');
    my $log = slurp_file($node->logfile);
    my $logged = $log =~ /table public\.ad_cc differs from the provider's before replicated DDL/;
    diag $node->name . ": ddl_schema_mismatches = $count, logged = " . ($logged ? 1 : 0);
    $detected++ if $count > 0 && $logged;
}
is($detected, 2, 'the concurrent ALTERs were detected (counter and log line) on n1 and on n2');
is($n3->safe_psql('postgres',
        "SELECT sum(ddl_schema_mismatches) > 0 FROM spock.schema_change_stats()"),
    't', 'n3, which received both, noticed that the second one was written on another schema');

done_testing();
