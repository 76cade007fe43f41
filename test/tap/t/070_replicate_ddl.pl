# spock.replicate_ddl() in a three-node mesh (docs/ddl.md): a table created with it on one node
# exists on all three and replicates; an ALTER TABLE ... ADD COLUMN queued under a pgbench write
# load reaches every node in stream order with no row lost; a DDL that fails on one subscriber
# goes through exception handling (logged in spock.exception_log with its text and role) and
# the stream goes on.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my @nodes = map { spock_node("rd_n$_", extension => 1) } 1 .. 3;
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

# --- a table created with replicate_ddl exists everywhere and replicates ----------------------
$n1->safe_psql('postgres', q{
    CREATE ROLE app_owner;
    GRANT CREATE ON SCHEMA public TO app_owner;
}) ;
$_->safe_psql('postgres', q{
    DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_owner') THEN
            CREATE ROLE app_owner;
        END IF;
    END $$;
    GRANT CREATE ON SCHEMA public TO app_owner;
}) for ($n2, $n3);
$n1->safe_psql('postgres', q{
    SELECT spock.replicate_ddl('CREATE TABLE ddl_t (id bigint PRIMARY KEY, v text)',
                               '{ddl_sql}', 'public', 'app_owner');
});
for my $node (@nodes) {
    $node->poll_query_until('postgres', "SELECT to_regclass('public.ddl_t') IS NOT NULL")
      or die $node->name . ' never got ddl_t';
    is($node->safe_psql('postgres',
            "SELECT relowner::regrole FROM pg_class WHERE oid = 'ddl_t'::regclass"),
        'app_owner', $node->name . ': ddl_t exists, owned by the role given to replicate_ddl');
    $node->safe_psql('postgres', "SELECT spock.repset_add_table('default', 'ddl_t')");
}
$n1->safe_psql('postgres', "INSERT INTO ddl_t SELECT g, 'n1' FROM generate_series(1, 100) g");
$n2->safe_psql('postgres', "INSERT INTO ddl_t SELECT g, 'n2' FROM generate_series(101, 200) g");
catch_up_all();
is($_->safe_psql('postgres', 'SELECT count(*) FROM ddl_t'), '200',
    $_->name . ': rows written on n1 and n2 replicated') for @nodes;

# --- ADD COLUMN under write load --------------------------------------------------------------
my $script = PostgreSQL::Test::Utils::tempdir() . '/ins.sql';
open(my $fh, '>', $script) or die $!;
print $fh "\\set id random(1000, 900000000)\n"
  . "INSERT INTO ddl_t (id, v) VALUES (:id, 'load') ON CONFLICT (id) DO NOTHING;\n";
close $fh;
my $run = spock_pgbench($n1, '-T', '12', '-c', '2', '-R', '100', '-f', $script);
$n1->poll_query_until('postgres', "SELECT count(*) > 300 FROM ddl_t WHERE v = 'load'")
  or die 'the load did not start';
$n1->safe_psql('postgres', q{
    SELECT spock.replicate_ddl('ALTER TABLE ddl_t ADD COLUMN w int NOT NULL DEFAULT 7');
});
my $before_alter = $n1->safe_psql('postgres', 'SELECT count(*) FROM ddl_t');
$n1->poll_query_until('postgres', "SELECT count(*) > $before_alter + 200 FROM ddl_t")
  or die 'the load did not go on after the ALTER';
$n1->safe_psql('postgres', "UPDATE ddl_t SET w = id % 100 WHERE id % 3 = 0");
spock_pgbench_finish('insert load', $run);
catch_up_all();
my $d1 = table_digest($n1, 'ddl_t');
for my $node ($n2, $n3) {
    is($node->safe_psql('postgres',
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ddl_t'::regclass "
              . "AND attname = 'w' AND NOT attisdropped"),
        '1', $node->name . ': the queued ADD COLUMN ran');
    is(table_digest($node, 'ddl_t'), $d1, $node->name . ': same rows and values as n1');
}
for my $node ($n2, $n3) {
    is($node->safe_psql('postgres',
            "SELECT ddl_applied >= 2 FROM spock.schema_change_stats() WHERE sub_name = 'sub_n1_"
              . $node->name =~ s/rd_//r . "'"),
        't', $node->name . ': queued DDL counted');
}
is($_->safe_psql('postgres', 'SELECT count(*) FROM spock.exception_log'), '0',
    $_->name . ': no exception so far') for @nodes;

# --- a DDL that fails on one subscriber -------------------------------------------------------
$n3->safe_psql('postgres', 'CREATE TABLE ddl_clash (id int)');
$n1->safe_psql('postgres', q{
    SELECT spock.replicate_ddl('CREATE TABLE ddl_clash (id int, x text)');
});
$n1->safe_psql('postgres', "INSERT INTO ddl_t (id, v) VALUES (-1, 'after clash')");
$n3->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM spock.exception_log WHERE operation = 'DDL'")
  or die 'n3 did not log the failed DDL';
is($n3->safe_psql('postgres', q{
        SELECT ddl_statement || ' | ' || ddl_user || ' | ' || (error_message LIKE '%already exists%')
        FROM spock.exception_log WHERE operation = 'DDL'}),
    'SET search_path TO "$user", public; CREATE TABLE ddl_clash (id int, x text) | '
      . $n1->safe_psql('postgres', 'SELECT current_user') . ' | true',
    'n3 logged the failed DDL with its text, role and error');
$n3->poll_query_until('postgres', "SELECT count(*) = 1 FROM ddl_t WHERE id = -1")
  or die 'the stream did not go on after the failed DDL';
pass('n3 applies changes after the failed DDL');
is($n3->safe_psql('postgres',
        "SELECT status FROM spock.sub_show_status('sub_n1_n3')"),
    'replicating', 'n3 subscription still replicating');
$n2->poll_query_until('postgres',
    "SELECT count(*) = 2 FROM pg_attribute WHERE attrelid = 'ddl_clash'::regclass AND attnum > 0")
  or die 'n2 did not run the DDL';
pass('n2 ran the DDL that failed on n3');

done_testing();
