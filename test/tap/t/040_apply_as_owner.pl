# User code on the subscriber (triggers, CHECK constraints, defaults) runs as the table owner
# under SECURITY_RESTRICTED_OPERATION, and settings it changes do not outlive the change being
# applied: an ordinary table owner cannot leave, say, its own search_path behind in the apply
# worker, which runs as a superuser.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('own_n1', extension => 1);
my $n2 = spock_node('own_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE t (id int PRIMARY KEY, v text);
        CREATE TABLE t2 (id int PRIMARY KEY, v text);
        SELECT spock.repset_add_table('default', 't');
        SELECT spock.repset_add_table('default', 't2');
    });
}
# On the subscriber an ordinary role owns the tables, a trigger that records the settings it
# sees and then changes them for the session, and a CHECK constraint that does the same.
$n2->safe_psql('postgres', q{
    CREATE ROLE alice LOGIN;
    GRANT CREATE ON SCHEMA public TO alice;
    CREATE TABLE seen (id int, search_path text, work_mem text, who text, restricted text);
    ALTER TABLE seen OWNER TO alice;
    ALTER TABLE t OWNER TO alice;
    ALTER TABLE t2 OWNER TO alice;
    SET ROLE alice;
    CREATE FUNCTION public.alice_trg() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        r text := 'no';
    BEGIN
        BEGIN
            CREATE TEMP TABLE alice_tmp (x int);
            DROP TABLE alice_tmp;
        EXCEPTION WHEN insufficient_privilege THEN
            r := 'yes';
        END;
        INSERT INTO public.seen VALUES (NEW.id, current_setting('search_path'),
            current_setting('work_mem'), current_user, r);
        PERFORM set_config('search_path', 'alice_schema, pg_catalog', false);
        PERFORM set_config('work_mem', '1234kB', false);
        RETURN NEW;
    END $$;
    CREATE FUNCTION public.alice_check(v text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
    BEGIN
        PERFORM set_config('search_path', 'from_check, pg_catalog', false);
        RETURN true;
    END $$;
    CREATE TRIGGER t_trg BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.alice_trg();
    ALTER TABLE public.t ENABLE ALWAYS TRIGGER t_trg;
    ALTER TABLE public.t2 ADD CONSTRAINT t2_check CHECK (public.alice_check(v));
    RESET ROLE;
});
spock_subscribe($n2, $n1, 'sub_own');

# Two remote transactions: the second must see the worker's own settings, not the ones the
# first one's trigger set.
$n1->safe_psql('postgres', "INSERT INTO t VALUES (1, 'one')");
$n1->safe_psql('postgres', "INSERT INTO t VALUES (2, 'two')");
ok($n2->poll_query_until('postgres', 'SELECT count(*) = 2 FROM seen'), 'both rows applied');
note($n2->safe_psql('postgres', 'SELECT * FROM seen ORDER BY id'));
my $default_path = $n2->safe_psql('postgres',
    "SELECT boot_val FROM pg_settings WHERE name = 'search_path'");
is($n2->safe_psql('postgres', 'SELECT search_path FROM seen WHERE id = 1'), $default_path,
    'first trigger sees the default search_path');
is($n2->safe_psql('postgres', 'SELECT search_path FROM seen WHERE id = 2'), $default_path,
    'search_path set by a trigger does not outlive the change');
isnt($n2->safe_psql('postgres', 'SELECT work_mem FROM seen WHERE id = 2'), '1234kB',
    'work_mem set by a trigger does not outlive the change');
is($n2->safe_psql('postgres', 'SELECT string_agg(DISTINCT who, \',\') FROM seen'), 'alice',
    'triggers run as the table owner');
is($n2->safe_psql('postgres', 'SELECT string_agg(DISTINCT restricted, \',\') FROM seen'), 'yes',
    'triggers run as a security-restricted operation');

# A CHECK constraint on a table without triggers (the buffered insert path) cannot change the
# worker's settings either; the next trigger shows what the worker runs with.
$n1->safe_psql('postgres', "INSERT INTO t2 SELECT g, 'x' FROM generate_series(1, 5) g");
$n1->safe_psql('postgres', "INSERT INTO t VALUES (3, 'three')");
ok($n2->poll_query_until('postgres', 'SELECT count(*) = 1 FROM seen WHERE id = 3'),
    'later changes still apply');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM t2'), '5', 'rows checked by the owner\'s constraint applied');
is($n2->safe_psql('postgres', 'SELECT search_path FROM seen WHERE id = 3'), $default_path,
    'search_path set by a CHECK constraint does not outlive the change');
is(table_digest($n2, 't'), table_digest($n1, 't'), 'tables match');

$n1->stop;
$n2->stop;
done_testing();
