# One-way replication into an empty database: structure and data are synchronised, then
# changes stream, including toasted values.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('sync_n1', extension => 1);
my $n2 = spock_node('sync_n2', extension => 1);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');

$n1->safe_psql('postgres', q{
    CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2));
    CREATE TABLE docs (id bigint PRIMARY KEY, body text);
    CREATE INDEX docs_body_len ON docs (length(body));
    INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.5 FROM generate_series(1, 1000) g;
    INSERT INTO docs SELECT g, repeat(md5(g::text), 400) FROM generate_series(1, 20) g;
    SELECT spock.repset_add_all_tables('default', '{public}');
});

spock_subscribe($n2, $n1, 'sub_n1_n2',
    'synchronize_structure := true, synchronize_data := true');

$n2->safe_psql('postgres', "SELECT spock.sub_wait_for_sync('sub_n1_n2')");
$n2->safe_psql('postgres', "SELECT spock.table_wait_for_sync('sub_n1_n2', 'accounts')");
is($n2->safe_psql('postgres', q{
        SELECT string_agg(relname || ':' || status, ',' ORDER BY relname)
        FROM (SELECT (spock.sub_show_table('sub_n1_n2', c.oid)).* FROM pg_class c
              WHERE c.relname IN ('accounts', 'docs')) s}),
    'accounts:replicating,docs:replicating', 'per-table sync status');
is(table_digest($n2, 'accounts'), table_digest($n1, 'accounts'), 'accounts copied');
is(table_digest($n2, 'docs'), table_digest($n1, 'docs'), 'toasted docs copied');
is($n2->safe_psql('postgres', "SELECT count(*) FROM pg_indexes WHERE indexname = 'docs_body_len'"),
    '1', 'indexes restored');

# Streaming after the copy.
$n1->safe_psql('postgres', q{
    INSERT INTO accounts SELECT g, 'late ' || g, g FROM generate_series(1001, 1500) g;
    UPDATE accounts SET balance = balance + 1 WHERE id % 7 = 0;
    DELETE FROM accounts WHERE id % 11 = 0;
    UPDATE docs SET body = repeat('x', 50000) WHERE id = 3;
    UPDATE docs SET id = id + 100 WHERE id = 4;
    INSERT INTO docs VALUES (999, repeat(md5('new'), 1000));
});
spock_wait_caught_up($n1);
is(table_digest($n2, 'accounts'), table_digest($n1, 'accounts'), 'accounts stream');
is(table_digest($n2, 'docs'), table_digest($n1, 'docs'), 'toasted updates stream');

# An update that leaves a toasted column alone keeps the subscriber's value.
$n1->safe_psql('postgres', "UPDATE docs SET id = id WHERE id = 5");
$n1->safe_psql('postgres', "ALTER TABLE docs ADD COLUMN note text");
$n2->safe_psql('postgres', "ALTER TABLE docs ADD COLUMN note text");
$n1->safe_psql('postgres', "UPDATE docs SET note = 'touched' WHERE id = 6");
spock_wait_caught_up($n1);
is(table_digest($n2, 'docs'), table_digest($n1, 'docs'), 'unchanged toast kept');

is($n2->safe_psql('postgres', "SELECT status FROM spock.sub_show_status('sub_n1_n2')"),
    'replicating', 'status replicating');
ok($n2->safe_psql('postgres',
        "SELECT count(*) FROM spock.get_apply_worker_status() WHERE worker_status = 'running'") == 1,
    'one apply worker');

$n1->stop;
$n2->stop;
done_testing();
