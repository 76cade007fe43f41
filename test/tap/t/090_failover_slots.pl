# Failover slots (docs/high-availability.md): a primary P with a physical standby S and a
# logical peer N replicating with P both ways. S keeps copies of P's spock slots; with
# spock.pg_standby_slot_names P sends N nothing S lacks. P dies in the middle of a write load on
# P and N, S is promoted, N's subscription is pointed at S, and the load goes on: S and N end up
# identical, every acknowledged row present exactly once. Then: slot filters, drop_extra_slots
# and an unreachable primary on a second standby.
use strict;
use warnings;
use IO::Select;
use IPC::Open3;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SpockTest;

my $extra = <<'CONF';
hot_standby_feedback = on
wal_receiver_status_interval = 1s
spock.failover_slots_naptime = 200
CONF

my $p = spock_node('fo_p', extension => 1, extra => $extra);
my $n = spock_node('fo_n', extension => 1, extra => $extra);
spock_create_node($p, name => 'p');
spock_create_node($n, name => 'n');
for my $node ($p, $n) {
    $node->safe_psql('postgres', q{
        CREATE TABLE fo_pk (id bigint PRIMARY KEY, origin text NOT NULL);
        CREATE TABLE fo_log (id bigint NOT NULL, origin text NOT NULL);
        SELECT spock.repset_add_table('default', 'fo_pk');
        SELECT spock.repset_add_table('default_insert_only', 'fo_log');
    });
}
$p->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('fo_s_slot')");

# init_from_backup copies the backup without its directory modes; pg_basebackup itself keeps
# pg_spock at 0700, which spock insists on (docs/security.md).
sub fix_private_dir {
    my ($node) = @_;
    my $dir = $node->data_dir . '/pg_spock';
    chmod(0700, $dir) or die "chmod $dir: $!" if -d $dir;
}

# S: a streaming copy of P through the physical slot.
$p->backup('bk');
my $s = PostgreSQL::Test::Cluster->new('fo_s');
$s->init_from_backup($p, 'bk', has_streaming => 1);
fix_private_dir($s);
$s->append_conf('postgresql.conf', "primary_slot_name = 'fo_s_slot'\n");
$s->start;

spock_subscribe($n, $p, 'sub_p_n');
spock_subscribe($p, $n, 'sub_n_p');
my $p_slot = $p->safe_psql('postgres',
    "SELECT slot_name FROM pg_replication_slots WHERE plugin = 'spock_output'");
like($p_slot, qr/^spk_/, "P has N's spock slot $p_slot");

# P: acknowledged commits are on S (synchronous standby), and spock's walsenders send N nothing
# S has not flushed.
$p->append_conf('postgresql.conf', <<'CONF');
synchronous_standby_names = '*'
spock.pg_standby_slot_names = 'fo_s_slot'
CONF
$p->reload;

# --- the copy on S ---------------------------------------------------------------------------
ok($s->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = '$p_slot' "
          . "AND slot_type = 'logical' AND plugin = 'spock_output' AND NOT temporary"),
    'S has a persistent copy of P\'s spock slot');
ok($s->safe_psql('postgres', 'SELECT pg_is_in_recovery()') eq 't', 'S is still a standby');
ok($p->poll_query_until('postgres',
        "SELECT catalog_xmin IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'fo_s_slot'"),
    'the copy\'s catalog_xmin reaches P through hot_standby_feedback');

$p->safe_psql('postgres', "INSERT INTO fo_pk VALUES (1, 'p'); INSERT INTO fo_log VALUES (1, 'p')");
spock_wait_caught_up($p);
my $p_confirmed = $p->safe_psql('postgres',
    "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$p_slot'");
ok($s->poll_query_until('postgres',
        "SELECT confirmed_flush_lsn >= '$p_confirmed' FROM pg_replication_slots "
          . "WHERE slot_name = '$p_slot'"),
    'the copy follows the primary slot');
ok($s->safe_psql('postgres',
        "SELECT confirmed_flush_lsn <= pg_last_wal_replay_lsn() FROM pg_replication_slots "
          . "WHERE slot_name = '$p_slot'") eq 't',
    'the copy is not ahead of what S replayed');

# Decoding restarts from a slot's restart_lsn by restoring the snapshot serialized there, a file
# the WAL does not carry: the copy brings it along. Writes and checkpoints (each logs the
# running transactions) move P's slot to a point with such a file.
my $snap_sql = "SELECT count(*) FROM pg_replication_slots s JOIN pg_ls_logicalsnapdir() f "
  . "ON f.name = replace(s.restart_lsn::text, '/', '-') || '.snap' WHERE s.slot_name = '$p_slot'";
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
my $have_snap = 0;
for (my $i = 100; time < $deadline; $i++) {
    $p->safe_psql('postgres',
        "INSERT INTO fo_pk VALUES ($i, 'p'); INSERT INTO fo_log VALUES ($i, 'p'); CHECKPOINT");
    spock_wait_caught_up($p);
    if ($p->safe_psql('postgres', $snap_sql) eq '1'
        && $s->safe_psql('postgres',
            "SELECT s.restart_lsn = '"
              . $p->safe_psql('postgres',
                "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = '$p_slot'")
              . "' FROM pg_replication_slots s WHERE s.slot_name = '$p_slot'") eq 't')
    {
        $have_snap = 1;
        last;
    }
}
ok($have_snap, 'P\'s slot and its copy moved to a restart_lsn with a serialized snapshot');
is($s->safe_psql('postgres', $snap_sql), '1', 'S has the snapshot file at its copy\'s restart_lsn');

# --- standby-gated sending -------------------------------------------------------------------
# With S stopped (the commit on P does not wait for it: synchronous_commit = local), N gets
# nothing newer than what S flushed; once S is back, N catches up.
$s->stop('fast');
my $s_flushed = $p->safe_psql('postgres',
    "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'fo_s_slot'");
$p->safe_psql('postgres', "SET synchronous_commit = local; "
      . "INSERT INTO fo_pk VALUES (2, 'p'); INSERT INTO fo_log VALUES (2, 'p')");
ok($p->poll_query_until('postgres',
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'walsender' "
          . "AND wait_event_type = 'Extension'"),
    'P\'s walsender holds the transaction back');
is($n->safe_psql('postgres', 'SELECT count(*) FROM fo_pk WHERE id = 2'), '0',
    'N does not have the row S lacks');
# What N applied from P (its origin for the subscription, named like the slot) is not beyond
# what S flushed. (The slot's confirmed_flush may pass it through keepalives, which carry no
# data.)
is($n->safe_psql('postgres',
        "SELECT remote_lsn <= '$s_flushed' FROM pg_replication_origin_status "
          . "WHERE external_id = '$p_slot'"),
    't', 'N applied nothing beyond what S flushed');
# The other direction: P applies N's transaction, but confirms it to N only once S has the
# local commit; otherwise N's slot would move past a transaction the promoted S would lack.
my $n_slot = $p->safe_psql('postgres',
    "SELECT sub_slot_name FROM spock.subscription WHERE sub_name = 'sub_n_p'");
$n->safe_psql('postgres', "INSERT INTO fo_pk VALUES (3, 'n'); INSERT INTO fo_log VALUES (3, 'n')");
ok($p->poll_query_until('postgres', 'SELECT count(*) = 1 FROM fo_pk WHERE id = 3'),
    'P applies N\'s row while S is down');
my $applied = $p->safe_psql('postgres',
    "SELECT remote_lsn FROM pg_replication_origin_status WHERE external_id = '$n_slot'");
my $t_applied = $n->safe_psql('postgres', 'SELECT now()');
ok($n->poll_query_until('postgres',
        "SELECT reply_time > '$t_applied' FROM pg_stat_replication "
          . "WHERE application_name = '$n_slot'"),
    'P\'s apply worker reported its position since');
is($n->safe_psql('postgres',
        "SELECT confirmed_flush_lsn < '$applied' FROM pg_replication_slots "
          . "WHERE slot_name = '$n_slot'"),
    't', 'P has not confirmed to N what S lacks');
$s->start;
ok($n->poll_query_until('postgres', 'SELECT count(*) = 1 FROM fo_pk WHERE id = 2'),
    'with S back, N catches up');
ok($n->poll_query_until('postgres',
        "SELECT confirmed_flush_lsn >= '$applied' FROM pg_replication_slots "
          . "WHERE slot_name = '$n_slot'"),
    'with S back, P confirms N\'s transaction');

# --- failover under load ---------------------------------------------------------------------
# One forked psql client per node commits one transaction per id (a row in fo_pk and one in
# fo_log, which has no key so a transaction applied twice shows) and logs "sent" before and
# "ack" after the commit returned.
my $dir = PostgreSQL::Test::Utils::tempdir;
my @clients;
my $test_pid = $$;
END {
    if (defined $test_pid && $$ == $test_pid) {
        kill 'KILL', $_->{pid} for @clients;
    }
}

sub start_client {
    my ($node, $tag, $first, $count) = @_;
    my $log = "$dir/client_$tag.log";
    my $connstr = $node->connstr('postgres');
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        $SIG{PIPE} = 'IGNORE';
        open(my $lf, '>>', $log) or die "$log: $!";
        $lf->autoflush(1);
        my ($in, $out);
        my $psql = open3($in, $out, undef, 'psql', '-X', '-q', '-A', '-t', '-v',
            'ON_ERROR_STOP=1', '-d', $connstr);
        $in->autoflush(1);
        my $sel = IO::Select->new($out);
        my $buf = '';
        for my $id ($first .. $first + $count - 1) {
            print $lf "sent $id\n";
            print $in "BEGIN; INSERT INTO fo_pk VALUES ($id, '$tag'); "
              . "INSERT INTO fo_log VALUES ($id, '$tag'); COMMIT;\n\\echo ack $id\n"
              or last;
            my $deadline = time + 60;
            my $acked = 0;
            while (!$acked && time < $deadline) {
                if ($buf =~ s/^ack $id\n//m) { $acked = 1; last; }
                next unless $sel->can_read(1);
                my $r = sysread($out, $buf, 65536, length $buf);
                last if defined $r && $r == 0;
            }
            $acked = 1 if !$acked && $buf =~ s/^ack $id\n//m;
            last unless $acked;
            print $lf "ack $id\n";
        }
        print $lf "done\n";
        POSIX::_exit(0);
    }
    push @clients, { pid => $pid, log => $log, tag => $tag };
    return $log;
}

sub acked_ids {
    my ($log) = @_;
    open(my $fh, '<', $log) or return ([], []);
    my (%sent, %ack);
    while (<$fh>) {
        $sent{$1} = 1 if /^sent (\d+)/;
        $ack{$1} = 1 if /^ack (\d+)/;
    }
    return ([ sort { $a <=> $b } keys %ack ], [ grep { !$ack{$_} } keys %sent ]);
}

sub ack_count {
    my ($log) = @_;
    my ($ack) = acked_ids($log);
    return scalar @$ack;
}

sub wait_acks {
    my ($log, $want) = @_;
    my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
    while (ack_count($log) < $want) {
        die "client log $log: fewer than $want acks" if time > $deadline;
        select(undef, undef, undef, 0.05);
    }
}

my $log_p = start_client($p, 'p', 1_000_000, 100_000);
my $log_n1 = start_client($n, 'n', 2_000_000, 300);
wait_acks($log_p, 150);
wait_acks($log_n1, 150);

# P dies in the middle of the load.
$p->stop('immediate');
pass('P stopped immediately under load');
$s->promote;
ok($s->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'), 'S promoted');
ok($s->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = '$p_slot'"),
    'the slot copy survived the promotion');

# N follows S: a new interface of node p and the subscription switched to it.
my $s_dsn = spock_dsn($s);
$n->safe_psql('postgres', "SELECT spock.node_add_interface('p', 'p_on_s', '$s_dsn')");
$n->safe_psql('postgres', "SELECT spock.sub_alter_interface('sub_p_n', 'p_on_s')");
spock_wait_replicating($n, 'sub_p_n');
spock_wait_replicating($s, 'sub_n_p');
pass('both subscriptions replicate after the failover');

# Decoding from the copy is consistent at once at its restart_lsn (no running transactions
# there, or the copied snapshot), so nothing after N's position is skipped.
my ($read_from) = slurp_file($s->logfile)
  =~ /starting logical decoding for slot "$p_slot"\n.*reading WAL from ([0-9A-F\/]+)\./;
ok(defined $read_from, 'N decodes from the copy on S');
like(slurp_file($s->logfile),
    qr/logical decoding found consistent point at \Q$read_from\E\n[^\n]*DETAIL:  (There are no running transactions|Logical decoding will begin using saved snapshot)/,
    'decoding on S is consistent at the copy\'s restart_lsn');
my $log_s = start_client($s, 's', 3_000_000, 200);
my $log_n2 = start_client($n, 'n2', 4_000_000, 200);
for my $c (@clients) {
    waitpid($c->{pid}, 0);
}
@clients = ();
spock_wait_caught_up($s);
spock_wait_caught_up($n);

is(table_digest($s, 'fo_pk'), table_digest($n, 'fo_pk'), 'S and N have the same fo_pk');
is(table_digest($s, 'fo_log', order_by => 'id, origin'),
    table_digest($n, 'fo_log', order_by => 'id, origin'), 'S and N have the same fo_log');
for my $log ($log_p, $log_n1, $log_s, $log_n2) {
    my ($ack, $unknown) = acked_ids($log);
    my ($who) = $log =~ /client_(\w+)\.log$/;
    ok(@$ack > 0, "client $who committed transactions");
    for my $node ($s, $n) {
        my $list = join(',', @$ack) || '0';
        is($node->safe_psql('postgres',
                "SELECT count(*) FROM fo_log WHERE id IN ($list)"),
            scalar(@$ack), $node->name . ": every acknowledged row of client $who exactly once");
    }
    for my $id (@$unknown) {
        my $on_s = $s->safe_psql('postgres', "SELECT count(*) FROM fo_log WHERE id = $id");
        my $on_n = $n->safe_psql('postgres', "SELECT count(*) FROM fo_log WHERE id = $id");
        ok($on_s eq $on_n && $on_s <= 1, "interrupted transaction $id is on both or neither");
    }
}
is($s->safe_psql('postgres', 'SELECT count(*) FROM fo_log'),
    $s->safe_psql('postgres', 'SELECT count(*) FROM fo_pk'), 'no transaction applied twice');

# --- filters, drop_extra_slots, an unreachable primary --------------------------------------
# S is the primary now; S2 is its standby and copies only what its filters name.
$s->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('fo_s2_slot')");
$s->safe_psql('postgres',
    "SELECT pg_create_logical_replication_slot('fo_extra', 'test_decoding')");
$s->backup('bk2');
my $s2 = PostgreSQL::Test::Cluster->new('fo_s2');
$s2->init_from_backup($s, 'bk2', has_streaming => 1);
fix_private_dir($s2);
$s2->append_conf('postgresql.conf', <<'CONF');
primary_slot_name = 'fo_s2_slot'
synchronous_standby_names = ''
spock.pg_standby_slot_names = ''
spock.synchronize_slot_names = 'name_like:spk%'
CONF
$s2->start;
ok($s2->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = '$p_slot'"),
    'name_like: copies the spock slot');
is($s2->safe_psql('postgres',
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'fo_extra'"),
    '0', 'a slot no filter names is not copied');
$s2->append_conf('postgresql.conf', "spock.synchronize_slot_names = 'name_like:spk%, plugin:test_decoding'\n");
$s2->reload;
ok($s2->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = 'fo_extra'"),
    'plugin: copies the test_decoding slot');
$s->safe_psql('postgres', "SELECT pg_drop_replication_slot('fo_extra')");
ok($s2->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM pg_replication_slots WHERE slot_name = 'fo_extra'"),
    'drop_extra_slots drops the copy of a slot the primary dropped');
$s->safe_psql('postgres',
    "SELECT pg_create_logical_replication_slot('fo_kept', 'test_decoding')");
ok($s2->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = 'fo_kept'"),
    'a new primary slot is copied');
# A standby that lags far behind (replay held back): its copy never gets ahead of what it
# replayed, although the primary's slot moves on; once replay resumes it catches up.
$s2->append_conf('postgresql.conf', "recovery_min_apply_delay = '1h'\n");
$s2->reload;
$s2->poll_query_until('postgres', "SELECT setting = '3600000' FROM pg_settings "
      . "WHERE name = 'recovery_min_apply_delay'")
  or die 'recovery_min_apply_delay not reloaded';
for my $i (1 .. 3) {
    $s->safe_psql('postgres',
        "INSERT INTO fo_pk VALUES (2$i, 's'); INSERT INTO fo_log VALUES (2$i, 's')");
}
spock_wait_caught_up($s);
my $s_ahead = $s->safe_psql('postgres',
    "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$p_slot'");
ok($s2->poll_query_until('postgres',
        "SELECT pg_last_wal_receive_lsn() >= '$s_ahead' AND pg_last_wal_replay_lsn() < '$s_ahead'"),
    'S2 received the WAL but holds its replay back');
is($s2->safe_psql('postgres',
        "SELECT confirmed_flush_lsn <= pg_last_wal_replay_lsn() FROM pg_replication_slots "
          . "WHERE slot_name = '$p_slot'"),
    't', 'the lagging standby\'s copy is not ahead of its replay');
$s2->append_conf('postgresql.conf', "recovery_min_apply_delay = 0\n");
$s2->reload;
ok($s2->poll_query_until('postgres',
        "SELECT confirmed_flush_lsn >= '$s_ahead' FROM pg_replication_slots "
          . "WHERE slot_name = '$p_slot'"),
    'with replay resumed the copy catches up');

# An unreachable primary: logged and retried, the worker stays up. The same reload turns
# drop_extra_slots off; the failures in the log show the worker has read both settings.
my $pid = $s2->safe_psql('postgres',
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'spock failover slots'");
ok($pid ne '', 'S2 runs the failover slots worker');
my $offset = -s $s2->logfile;
$s2->append_conf('postgresql.conf', <<'CONF');
spock.primary_dsn = 'host=127.0.0.1 port=1 dbname=postgres'
spock.drop_extra_slots = off
CONF
$s2->reload;
ok($s2->wait_for_log(
        qr/cannot read the primary's slots(?s:.*)cannot read the primary's slots/, $offset),
    'an unreachable primary is logged and retried');
is($s2->safe_psql('postgres',
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'spock failover slots'"),
    $pid, 'the worker did not restart');
ok($s2->safe_psql('postgres', 'SELECT pg_is_in_recovery()') eq 't', 'S2 is still a standby');

# The primary drops fo_kept while S2 cannot see it; once S2 sees the primary again (its copy of
# the spock slot moves on) it keeps fo_kept: drop_extra_slots is off.
$s->safe_psql('postgres', "SELECT pg_drop_replication_slot('fo_kept')");
$s2->append_conf('postgresql.conf', "spock.primary_dsn = '$s_dsn'\n");
$s2->reload;
$s->safe_psql('postgres', "INSERT INTO fo_pk VALUES (10, 's'); INSERT INTO fo_log VALUES (10, 's')");
spock_wait_caught_up($s);
my $s_confirmed = $s->safe_psql('postgres',
    "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$p_slot'");
ok($s2->poll_query_until('postgres',
        "SELECT confirmed_flush_lsn >= '$s_confirmed' FROM pg_replication_slots "
          . "WHERE slot_name = '$p_slot'"),
    'S2 synchronises again once the primary can be reached');
is($s2->safe_psql('postgres',
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'fo_kept'"),
    '1', 'with drop_extra_slots off the copy of a dropped slot stays');
unlike(slurp_file($s2->logfile), qr/terminated by signal/, 'nothing crashed on S2');

$s2->stop;
$s->stop;
$n->stop;
done_testing();
