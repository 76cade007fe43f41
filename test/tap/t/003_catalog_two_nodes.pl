# Two nodes describe a cluster: each creates its node and sets, the second subscribes to the
# first (disabled: no apply worker yet), and both catalogs say what a DBA expects.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $n1 = spock_node('cat_n1', extension => 1);
my $n2 = spock_node('cat_n2', extension => 1);
my $dsn1 = spock_dsn($n1);
my $dsn2 = spock_dsn($n2);

is($n1->safe_psql('postgres', "SELECT spock.node_create('n1', '$dsn1')"), '49708',
    'n1 created with the id its name hashes to');
is($n2->safe_psql('postgres', "SELECT spock.node_create('n2', '$dsn2')"), '26863',
    'n2 created with the id its name hashes to');

$n1->safe_psql('postgres', q{
    CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric);
    CREATE TABLE audit (at timestamptz, note text);
    SELECT spock.repset_create('money', replicate_truncate := false);
    SELECT spock.repset_add_table('money', 'accounts', columns := '{id,balance}',
                                  row_filter := 'balance >= 0');
    SELECT spock.repset_add_table('default_insert_only', 'audit');
});

is($n1->safe_psql('postgres', q{
    SELECT string_agg(set_name || ':' || replicate_insert::int || replicate_update::int ||
                      replicate_delete::int || replicate_truncate::int, ' ' ORDER BY set_name)
    FROM spock.replication_set}),
    'ddl_sql:1000 default:1111 default_insert_only:1001 money:1110',
    'n1: default sets and the new set with their flags');
is($n1->safe_psql('postgres', q{
    SELECT string_agg(relid::regclass || '/' || coalesce(set_name, '-'), ' '
                      ORDER BY relid::regclass::text, set_name)
    FROM spock.tables WHERE nspname = 'public'}),
    'accounts/money audit/default_insert_only', 'n1: spock.tables lists both memberships');

# A table without a key cannot join a set that replicates updates and deletes.
my ($rc, $out, $err) = $n1->psql('postgres',
    "SELECT spock.repset_add_table('default', 'audit')");
like($err, qr/cannot be added to replication set "default"/, 'keyless table refused');

# n2 subscribes to n1, disabled.
my $subid = $n2->safe_psql('postgres', qq{
    SELECT spock.sub_create('sub_n1_n2', '$dsn1', replication_sets := '{money,default_insert_only}',
                            enabled := false)});
is($subid, $n2->safe_psql('postgres', "SELECT hashtext('sub_n1_n2')::oid"),
    'subscription id is the hash of its name');
is($n2->safe_psql('postgres', q{
    SELECT sub_name || ' ' || o.node_name || '->' || t.node_name || ' ' || sub_enabled || ' ' ||
           sub_slot_name || ' ' || array_to_string(sub_replication_sets, ',')
    FROM spock.subscription s JOIN spock.node o ON o.node_id = sub_origin
    JOIN spock.node t ON t.node_id = sub_target}),
    'sub_n1_n2 n1->n2 false spk_postgres_n1_sub_n1_n2 money,default_insert_only',
    'n2: subscription row');
is($n2->safe_psql('postgres', 'SELECT string_agg(node_name, \',\' ORDER BY node_name) FROM spock.node'),
    'n1,n2', 'n2: knows both nodes');
is($n2->safe_psql('postgres', 'SELECT sync_kind::text || sync_status::text FROM spock.local_sync_status'),
    'ir', 'n2: subscription-level sync status is ready');
is($n2->safe_psql('postgres', 'SELECT roname FROM pg_replication_origin'),
    'spk_postgres_n1_sub_n1_n2', 'n2: replication origin named like the slot');
is($n2->safe_psql('postgres', 'SELECT status FROM spock.sub_show_status()'), 'disabled',
    'n2: status disabled');
is($n2->safe_psql('postgres',
        "SELECT remote_lsn FROM spock.progress p JOIN spock.node n ON n.node_id = p.remote_node_id "
          . "WHERE n.node_name = 'n1'"),
    '0/0', 'n2: progress row for n1 at 0/0');

# n1's catalog knows nothing of n2: catalogs are node-local.
is($n1->safe_psql('postgres', 'SELECT string_agg(node_name, \',\') FROM spock.node'), 'n1',
    'n1: only itself');
is($n1->safe_psql('postgres', 'SELECT count(*) FROM spock.subscription'), '0',
    'n1: no subscriptions');

# What the provider reports is what the subscriber stored.
is($n1->safe_psql('postgres', 'SELECT node_id || \' \' || node_name || \' \' || sysid FROM spock.node_info()'),
    '49708 n1 ' . $n1->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()'),
    'n1: node_info');

# Unreachable provider: a connection error with the password masked.
($rc, $out, $err) = $n2->psql('postgres', q{
    SELECT spock.sub_create('sub_bad', 'host=127.0.0.1 port=1 dbname=postgres password=hunter2',
                            enabled := false)});
like($err, qr/could not connect to the node/, 'unreachable provider: clear error');
unlike($err, qr/hunter2/, 'password is masked');

# Dropping the subscription removes it and n1's node row from n2; n1 is untouched.
$n2->safe_psql('postgres', "SELECT spock.sub_drop('sub_n1_n2')");
is($n2->safe_psql('postgres', 'SELECT string_agg(node_name, \',\') FROM spock.node'), 'n2',
    'n2: provider node gone with its last subscription');
is($n2->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_origin'), '0',
    'n2: origin dropped');

# Dropping a table removes it from its sets.
$n1->safe_psql('postgres', 'DROP TABLE accounts');
is($n1->safe_psql('postgres', 'SELECT count(*) FROM spock.replication_set_table'), '1',
    'n1: dropped table left its set');

$n1->stop;
$n2->stop;
done_testing();
