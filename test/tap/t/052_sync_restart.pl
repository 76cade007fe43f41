# The initial data copy is interrupted (docs/replication.md, "When the apply worker starts"),
# once for each way: kill -9 of the apply worker doing the copy, an immediate stop of the
# subscriber, and the connection to the provider cut by a FaultProxy. Each time the synchronisation must start again (the
# copy is one local transaction, so nothing of it committed) and end with every table
# complete; no table may ever show rows without being marked synchronised (the copy and the
# table's status commit together), and rows written on the provider during the copy arrive
# exactly once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);
use FaultProxy;
use SpockTest;

my $extra = "restart_after_crash = on\nspock.restart_delay_default = 300\n"
  . "spock.restart_delay_on_exception = 300\n";
my $n1 = spock_node('syncr_n1', extension => 1,
    extra => $extra . "listen_addresses = '127.0.0.1'\n");
my $n2 = spock_node('syncr_n2', extension => 1, extra => $extra);
spock_create_node($n1, name => 'n1');
spock_create_node($n2, name => 'n2');
# The subscription reaches the provider through a proxy, so the third round can cut it.
my $proxy = FaultProxy->new(target => $n1->port);
my $dsn1 = 'host=127.0.0.1 port=' . $proxy->port . ' dbname=postgres';
my $rows = 400_000;
for my $node ($n1, $n2) {
    $node->safe_psql('postgres', q{
        CREATE TABLE big (id bigint PRIMARY KEY, pad text);
        CREATE TABLE trail (id bigint NOT NULL, pad text);
        SELECT spock.repset_add_table('default', 'big');
        SELECT spock.repset_add_table('default_insert_only', 'trail');
    });
}
$n1->safe_psql('postgres', qq{
    INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, $rows) g;
    INSERT INTO trail SELECT g, md5(g::text) FROM generate_series(1, $rows) g;
});

# Samples n2: a table with rows must be marked synchronised ('r') for the subscription.
# Returns the subscription-level status.
my @violations;
sub sample {
    my ($ret, $o) = $n2->psql('postgres', q{
        SELECT (SELECT count(*) FROM big) || ' ' || (SELECT count(*) FROM trail) || ' '
            || coalesce((SELECT string_agg(sync_relname || '=' || sync_status::text, ','
                                           ORDER BY sync_relname)
                         FROM spock.local_sync_status WHERE sync_relname IS NOT NULL), '-') || ' '
            || coalesce((SELECT sync_status::text FROM spock.local_sync_status
                         WHERE sync_relname IS NULL), '-')});
    return undef if $ret != 0 || !defined $o || $o eq '';
    my ($nbig, $ntrail, $tables, $sub) = split / /, $o;
    my %st = map { split /=/ } grep { $_ ne '-' } split /,/, $tables;
    push @violations, "big has $nbig rows, status " . ($st{big} // 'none')
      if $nbig > 0 && ($st{big} // '') ne 'r';
    push @violations, "trail has $ntrail rows, status " . ($st{trail} // 'none')
      if $ntrail > 0 && ($st{trail} // '') ne 'r';
    return $sub;
}

# Waits until the copy runs: the sync status says 'd' and the provider runs a COPY.
sub wait_copying {
    my $deadline = time + 60;
    while (time < $deadline) {
        my $sub = sample();
        my $copy = $n1->safe_psql('postgres',
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'COPY %TO STDOUT%'");
        return 1 if defined $sub && $sub eq 'd' && $copy eq 't';
        sleep(0.05);
    }
    return 0;
}

my $round = 0;
for my $fault ('kill -9 of the apply worker', 'immediate stop of the subscriber',
    'connection to the provider cut') {
    $round++;
    # Writes on the provider during the copy: 1,500 single-statement transactions into both
    # tables, ids of this round only.
    my $script = $PostgreSQL::Test::Utils::tmp_check . "/writes$round.sql";
    open(my $fh, '>', $script) or die $!;
    for my $i (1 .. 1500) {
        my $id = $round * 10_000_000 + $i;
        print $fh "WITH a AS (INSERT INTO big VALUES ($id, 'w')) INSERT INTO trail VALUES ($id, 'w');\n";
        print $fh "SELECT pg_sleep(0.02);\n" if $i % 20 == 0;
    }
    close $fh;
    my ($out, $err) = ('', '');
    my $writer = IPC::Run::start(
        [ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $n1->connstr('postgres'), '-f',
            $script ],
        '>', \$out, '2>', \$err);

    my $logpos = -s $n2->logfile;
    $n2->safe_psql('postgres',
        "SELECT spock.sub_create('sub_n1_n2', '$dsn1', synchronize_data := true)");
    ok(wait_copying(), "$fault: the copy is under way");
    if ($round == 1) {
        my $pid = $n2->safe_psql('postgres',
            'SELECT worker_pid FROM spock.get_apply_worker_status() WHERE worker_pid > 0');
        kill 'KILL', $pid;
        $n2->poll_query_until('postgres', 'SELECT true');
    } elsif ($round == 2) {
        $n2->stop('immediate');
        $n2->start;
    } else {
        $proxy->cut;
    }

    # The synchronisation must come to an end; give up early if the worker says it cannot.
    my $deadline = time + 120;
    my $status = '';
    my $stuck;
    while (time < $deadline) {
        $status = sample() // '';
        last if $status eq 'r';
        my $log = slurp_file($n2->logfile, $logpos);
        if ($log =~ /(ERROR:  initial synchronisation of subscription "sub_n1_n2" failed during a step that cannot be resumed\n.*DETAIL:  [^\n]*)/) {
            $stuck = $1;
            last;
        }
        sleep(0.1);
    }
    $writer->finish;
    is($writer->result(0), 0, "$fault: all writes committed on the provider") or diag $err;
    if (!is($status, 'r', "$fault: the synchronisation started again and finished")) {
        diag "after the $fault during the copy the subscription stays '$status': "
          . ($stuck // 'no end of the synchronisation within 120 s');
        diag 'provider slots: ' . $n1->safe_psql('postgres',
            "SELECT string_agg(slot_name || ' active=' || active, ', ') FROM pg_replication_slots");
        sample();
        is(scalar(@violations), 0, "$fault: no table showed rows before it was marked synchronised")
          or diag join("\n", @violations[0 .. ($#violations < 10 ? $#violations : 9)]);
        # Start the next round from scratch.
        $n2->safe_psql('postgres', "SELECT spock.sub_drop('sub_n1_n2')");
        $n2->safe_psql('postgres', 'TRUNCATE big, trail');
        $n1->safe_psql('postgres', "DELETE FROM big WHERE id >= $round * 10000000");
        $n1->safe_psql('postgres', "DELETE FROM trail WHERE id >= $round * 10000000");
        next;
    }
    spock_wait_replicating($n2, 'sub_n1_n2');
    spock_wait_caught_up($n1);
    sample();
    is(scalar(@violations), 0, "$fault: no table showed rows before it was marked synchronised")
      or diag join("\n", @violations[0 .. ($#violations < 10 ? $#violations : 9)]);
    is($n2->safe_psql('postgres', 'SELECT count(*) - count(DISTINCT id) FROM trail'), '0',
        "$fault: no row of trail copied or applied twice");
    is(table_digest($n2, 'big'), table_digest($n1, 'big'), "$fault: big identical");
    is(table_digest($n2, 'trail', order_by => 'id, pad'),
        table_digest($n1, 'trail', order_by => 'id, pad'), "$fault: trail identical");
    $n2->safe_psql('postgres', "SELECT spock.sub_drop('sub_n1_n2')");
    $n2->safe_psql('postgres', 'TRUNCATE big, trail');
    @violations = ();
}
$proxy->stop;
$n1->stop;
$n2->stop;
done_testing();
