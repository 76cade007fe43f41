#!/usr/bin/env bash
# Small-transaction apply ceiling: XACTS single-row INSERT transactions (default 10,000) are
# written on a provider while the subscriber's apply is stopped, then apply is started again and
# the time until the provider's slot confirms everything is measured. In the same run, on their
# own pairs of local instances, the same backlog is drained by spock, by PostgreSQL's native
# logical replication (publication/subscription) and by pglogical, round after round in turn.
# Prints each round, then per system the mean rate in transactions/s and its ratio to spock's.
# Give PG_CONFIG to pick an installation (e.g. a private copy from scripts/private-pg.sh) to
# compare two builds of spock. Only the row counts on both sides can fail it, never a time.
#
#   XACTS=20000 ROUNDS=2 bench/small_txn_drain.sh
#   SYSTEMS=spock bench/small_txn_drain.sh      # spock alone
#   BENCH_EXTRA_CONF='spock.parallel_apply_workers = 2' ...   # more postgresql.conf lines
set -euo pipefail
source "$(dirname "$0")/lib.sh"

XACTS=${XACTS:-10000}
ROUNDS=${ROUNDS:-1}
SYSTEMS=${SYSTEMS:-spock native pglogical}
BASE_PORT=${BENCH_PORT_BASE:-5491}
bench_init spock-drain

declare -A prov sub total_ms total_cpu
port=$BASE_PORT
for sys in $SYSTEMS; do
    prov[$sys]=$port
    sub[$sys]=$((port + 1))
    port=$((port + 2))
    case $sys in
        spock) preload=spock ;;
        native) preload= ;;
        pglogical) preload=pglogical ;;
        *) die "unknown system $sys (spock, native, pglogical)" ;;
    esac
    for side in p s; do
        if [ $side = p ]; then pt=${prov[$sys]}; else pt=${sub[$sys]}; fi
        bench_start_instance "${sys}_$side" "$pt" "shared_preload_libraries = '$preload'
output_plugin_libraries = 'pgoutput, test_decoding, spock_output, pglogical_output'
${BENCH_EXTRA_CONF:-}"
        psql_at "$pt" "CREATE TABLE t (id bigserial PRIMARY KEY, v int)" >/dev/null
    done
    p=${prov[$sys]} s=${sub[$sys]}
    dsn_p="host=$work port=$p dbname=postgres user=postgres"
    dsn_s="host=$work port=$s dbname=postgres user=postgres"
    case $sys in
        spock)
            psql_at $p "CREATE EXTENSION spock" >/dev/null
            psql_at $s "CREATE EXTENSION spock" >/dev/null
            psql_at $p "SELECT spock.node_create('p', '$dsn_p')" >/dev/null
            psql_at $s "SELECT spock.node_create('s', '$dsn_s')" >/dev/null
            psql_at $p "SELECT spock.repset_add_table('default', 't')" >/dev/null
            psql_at $s "SELECT spock.sub_create('drain', '$dsn_p')" >/dev/null
            until [ "$(psql_at $s "SELECT status FROM spock.sub_show_status('drain')")" = replicating ]; do
                sleep 0.1
            done
            ;;
        native)
            psql_at $p "CREATE PUBLICATION drain FOR TABLE t" >/dev/null
            psql_at $s "CREATE SUBSCRIPTION drain CONNECTION '$dsn_p' PUBLICATION drain" >/dev/null
            until [ "$(psql_at $s "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ]; do
                sleep 0.1
            done
            ;;
        pglogical)
            psql_at $p "CREATE EXTENSION pglogical" >/dev/null
            psql_at $s "CREATE EXTENSION pglogical" >/dev/null
            psql_at $p "SELECT pglogical.create_node('p', '$dsn_p')" >/dev/null
            psql_at $s "SELECT pglogical.create_node('s', '$dsn_s')" >/dev/null
            psql_at $p "SELECT pglogical.replication_set_add_table('default', 't')" >/dev/null
            psql_at $s "SELECT pglogical.create_subscription('drain', '$dsn_p')" >/dev/null
            until [ "$(psql_at $s "SELECT status FROM pglogical.show_subscription_status('drain')")" = replicating ]; do
                sleep 0.1
            done
            ;;
    esac
    total_ms[$sys]=0
    total_cpu[$sys]=0
done

apply_off() { # SYSTEM
    local s=${sub[$1]}
    case $1 in
        spock) psql_at $s "SELECT spock.sub_disable('drain', true)" >/dev/null ;;
        native) psql_at $s "ALTER SUBSCRIPTION drain DISABLE" >/dev/null ;;
        pglogical) psql_at $s "SELECT pglogical.alter_subscription_disable('drain', true)" >/dev/null ;;
    esac
    # The backlog must not start draining before the clock does.
    until [ "$(psql_at ${prov[$1]} "SELECT count(*) FROM pg_replication_slots WHERE active")" = 0 ]; do
        sleep 0.05
    done
}

apply_on() { # SYSTEM
    local s=${sub[$1]}
    case $1 in
        spock) psql_at $s "SELECT spock.sub_enable('drain', true)" >/dev/null ;;
        native) psql_at $s "ALTER SUBSCRIPTION drain ENABLE" >/dev/null ;;
        pglogical) psql_at $s "SELECT pglogical.alter_subscription_enable('drain', true)" >/dev/null ;;
    esac
}

echo "INSERT INTO t (v) VALUES (1);" >"$work/insert.sql"
chown postgres: "$work/insert.sql"
spock_version=$(psql_at "${sub[spock]:-}" 'SELECT spock.spock_version()' 2>/dev/null || echo -)
log "$XACTS single-row transactions x $ROUNDS rounds; systems: $SYSTEMS; spock $spock_version from $(pg_config_path)"
for round in $(seq 1 "$ROUNDS"); do
    for sys in $SYSTEMS; do
        p=${prov[$sys]}
        apply_off "$sys"
        as_pg "$bindir/pgbench" -n -h "$work" -p "$p" -U postgres -c 4 -t $((XACTS / 4)) \
            -f "$work/insert.sql" postgres >/dev/null
        # The insert position: pg_current_wal_lsn() is the write position, which lags
        # behind it under synchronous_commit = off (it can be before the last commit).
        lsn=$(psql_at "$p" "SELECT pg_current_wal_insert_lsn()")
        start=$(now_ms)
        apply_on "$sys"
        until [ "$(psql_at "$p" "SELECT bool_and(confirmed_flush_lsn >= '$lsn') FROM pg_replication_slots")" = t ]; do
            sleep 0.02
        done
        ms=$(($(now_ms) - start))
        cpu=0  # the worker started with apply_on, and its parallel apply processes if any
        for pid in $(apply_worker_pid "${sub[$sys]}") $(psql_at "${sub[$sys]}" \
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'spock parallel apply'"); do
            cpu=$((cpu + $(cpu_ms_of "$pid")))
        done
        total_ms[$sys]=$((total_ms[$sys] + ms))
        total_cpu[$sys]=$((total_cpu[$sys] + cpu))
        printf 'round %d %-10s %d transactions drained in %6d ms: %6d transactions/s, apply CPU %5d ms\n' \
            "$round" "$sys" "$XACTS" "$ms" "$((XACTS * 1000 / (ms > 0 ? ms : 1)))" "$cpu"
    done
done

for sys in $SYSTEMS; do
    n_p=$(psql_at "${prov[$sys]}" 'SELECT count(*) FROM t')
    n_s=$(psql_at "${sub[$sys]}" 'SELECT count(*) FROM t')
    [ "$n_p" = "$n_s" ] || die "$sys: provider has $n_p rows, subscriber $n_s"
done

printf '\n%-10s %14s %10s %14s %10s\n' system "transactions/s" "vs spock" "apply CPU ms" "vs spock"
for sys in $SYSTEMS; do
    rate=$(awk -v x="$XACTS" -v r="$ROUNDS" -v ms="${total_ms[$sys]}" \
        'BEGIN { printf "%.0f", x * r / (ms > 0 ? ms / 1000.0 : 0.001) }')
    ratio=-
    if [ -n "${total_ms[spock]:-}" ]; then
        ratio=$(awk -v a="${total_ms[spock]}" -v b="${total_ms[$sys]}" 'BEGIN { printf "%.2fx", b / a }')
    fi
    cpu_ratio=-
    if [ -n "${total_cpu[spock]:-}" ] && [ "${total_cpu[spock]}" -gt 0 ]; then
        cpu_ratio=$(awk -v a="${total_cpu[spock]}" -v b="${total_cpu[$sys]}" 'BEGIN { printf "%.2fx", b / a }')
    fi
    printf '%-10s %14s %10s %14s %10s\n' "$sys" "$rate" "$ratio" "$((total_cpu[$sys] / ROUNDS))" "$cpu_ratio"
done
echo "rows on both sides equal for every system; mean over $ROUNDS round(s)"
echo "(vs spock: the system's drain time, or its apply worker's CPU time per round, divided by"
echo " spock's; above 1 means spock is faster or cheaper)"
