#!/usr/bin/env bash
# One large transaction, streamed or not: a provider and a subscriber (spock only, local
# instances) for each mode of MODES (default all three), a new pair each time so that none
# decodes another's transaction again:
#   off     the subscriber's spock.stream_in_progress off: the transaction arrives whole
#   spool   streamed, spooled, applied from the spool at the commit (spock.stream_early_apply off)
#   early   streamed and applied early by the stream apply process (both on, the defaults)
# For each: one transaction
# of ROWS inserted rows (default 200,000, each about 250 bytes) on the provider, while samples
# (every 0.2 s) take the WAL the subscription's slot retains (pg_current_wal_lsn() - restart_lsn)
# and the size of the subscriber's spool files, and the private memory (RssAnon) of its apply
# worker and stream apply process; then the provider's spill and stream bytes
# (pg_stat_replication_slots) and the time from the provider's commit to the last row being
# visible on the subscriber. Only row counts can fail it, never a time.
#
#   bench/large_txn.sh                      # 200,000 rows, logical_decoding_work_mem = 16MB
#   ROWS=2000000 LDWM=64MB bench/large_txn.sh
#   MODES="spool early" bench/large_txn.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ROWS=${ROWS:-200000}
LDWM=${LDWM:-16MB}
MODES=${MODES:-off spool early}
BASE_PORT=${BENCH_PORT_BASE:-5495}
bench_init spock-large-txn
# One pair of instances per mode, so that neither run decodes the other's transaction again.
setup_pair() { # MODE PROVIDER_PORT SUBSCRIBER_PORT
    bench_start_instance "prov_$1" "$2" "logical_decoding_work_mem = $LDWM"
    local settings
    case $1 in
        off) settings="spock.stream_in_progress = off" ;;
        spool) settings=$'spock.stream_in_progress = on\nspock.stream_early_apply = off' ;;
        early) settings=$'spock.stream_in_progress = on\nspock.stream_early_apply = on' ;;
        *) die "unknown mode $1 (off, spool, early)" ;;
    esac
    bench_start_instance "sub_$1" "$3" "$settings"
    local dsn_p="host=$work port=$2 dbname=postgres user=postgres"
    local dsn_s="host=$work port=$3 dbname=postgres user=postgres"
    for pt in "$2" "$3"; do
        psql_at "$pt" "CREATE EXTENSION spock" >/dev/null
        psql_at "$pt" "CREATE TABLE big (id bigint PRIMARY KEY, v int, note text)" >/dev/null
    done
    psql_at "$2" "SELECT spock.node_create('p', '$dsn_p')" >/dev/null
    psql_at "$3" "SELECT spock.node_create('s', '$dsn_s')" >/dev/null
    psql_at "$2" "SELECT spock.repset_add_table('default', 'big')" >/dev/null
    psql_at "$3" "SELECT spock.sub_create('large', '$dsn_p')" >/dev/null
    until [ "$(psql_at "$3" "SELECT status FROM spock.sub_show_status('large')")" = replicating ]; do
        sleep 0.1
    done
}

slot_stats() {
    psql_at $p "SELECT s.spill_bytes || ' ' || s.stream_bytes || ' ' || s.stream_txns
        FROM pg_stat_replication_slots s JOIN pg_replication_slots r USING (slot_name)
        WHERE r.plugin = 'spock_output'"
}
retained() {
    psql_at $p "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint
        FROM pg_replication_slots WHERE plugin = 'spock_output'"
}
spool_bytes() {
    psql_at $s "SELECT coalesce(sum((pg_stat_file('pg_spock/replay/' || f)).size), 0)
        FROM pg_ls_dir('pg_spock/replay') f WHERE f LIKE 'stream_sub_%'"
}

# The private memory (RssAnon, kB) of the subscriber's process of a backend type, 0 if none.
anon_kb() {
    local pid
    pid=$(psql_at $s "SELECT pid FROM pg_stat_activity WHERE backend_type = '$1' LIMIT 1")
    if [ -n "$pid" ]; then
        awk '/^RssAnon:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$pid/status" 2>/dev/null ||
            echo 0
    else
        echo 0
    fi
}
sample() {
    k=$(retained); [ "$k" -gt "$max_kept" ] && max_kept=$k
    sp=$(spool_bytes); [ "$sp" -gt "$max_spool" ] && max_spool=$sp
    a=$(anon_kb 'spock apply'); [ "$a" -gt "$max_anon" ] && max_anon=$a
    a=$(anon_kb 'spock stream apply'); [ "$a" -gt "$max_anon_sa" ] && max_anon_sa=$a
    return 0
}

log "one transaction of $ROWS rows; provider logical_decoding_work_mem = $LDWM; $(pg_config_path)"
printf '%-9s %14s %14s %14s %14s %8s %12s %10s %10s\n' streaming "max WAL kept" "spill bytes" \
    "stream bytes" "max spool" "streams" "visible ms" "apply kB" "stream kB"
port=$BASE_PORT
for mode in $MODES; do
    p=$port
    s=$((port + 1))
    port=$((port + 2))
    setup_pair $mode $p $s
    read -r spill0 stream0 streams0 <<<"$(slot_stats)"
    last=$ROWS
    as_pg "$bindir/psql" -X -q -h "$work" -p $p -U postgres -d postgres -c \
        "INSERT INTO big SELECT g, 1, repeat(md5(g::text), 7) FROM generate_series(1, $last) g" &
    txn=$!
    max_kept=0 max_spool=0 max_anon=0 max_anon_sa=0
    while kill -0 $txn 2>/dev/null; do
        sample
        sleep 0.2
    done
    wait $txn
    committed=$(now_ms)
    until [ "$(psql_at $s "SELECT count(*) FROM big WHERE id = $last")" = 1 ]; do
        sample
        sleep 0.05
    done
    visible=$(($(now_ms) - committed))
    read -r spill1 stream1 streams1 <<<"$(slot_stats)"
    printf '%-9s %14d %14d %14d %14d %8d %12d %10d %10d\n' $mode "$max_kept" $((spill1 - spill0)) \
        $((stream1 - stream0)) "$max_spool" $((streams1 - streams0)) "$visible" "$max_anon" \
        "$max_anon_sa"
    n_s=$(psql_at $s "SELECT count(*) FROM big")
    [ "$n_s" = "$ROWS" ] || die "streaming $mode: the subscriber has $n_s rows, not $ROWS"
done
