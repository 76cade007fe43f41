#!/usr/bin/env bash
# W2 OLTP: pgbench TPC-B-like on the provider, W2_CLIENTS clients (default 8) for W2_SECONDS
# (default 20; BENCH_SIZE=full: 60), the subscription live. Figures: provider TPS, the largest
# lag seen while the load ran (bytes and seconds, sampled each second), and the catch-up time
# from the end of the load until the subscriber shows a marker committed right after it.
# Checks the four pgbench tables on both sides.
# BENCH_PARALLEL="1 2 4" runs spock with 1, 2 and 4 apply processes (spock, spock-p2,
# spock-p4; spock.parallel_apply_workers) next to native and pglogical in the same run:
#   PG_CONFIG=... BENCH_PGBENCH_SCALE=10 BENCH_PARALLEL="1 2 4" ROUNDS=2 bench/w2_oltp.sh
set -euo pipefail
source "$(dirname "$0")/systems.sh"
W2_SECONDS=${W2_SECONDS:-$(sb_size 20 60)}
W2_CLIENTS=${W2_CLIENTS:-8}

w2() {
    sb_pgbench_init
    # shellcheck disable=SC2086
    sb_subscribe $SB_PGBENCH_TABLES
    sb_lag_start
    local tps lagb lags ms
    tps=$(sb_pgbench "$work/w2.out" -c "$W2_CLIENTS" -j 2 -T "$W2_SECONDS")
    read -r lagb lags < <(sb_lag_stop)
    sb_mark
    ms=$(sb_mark_wait)
    sb_record W2 "provider TPS" tx/s higher "$tps"
    sb_record W2 "max lag bytes" MB lower "$(awk -v b="$lagb" 'BEGIN { printf "%.2f", b / 1048576 }')"
    sb_record W2 "max lag time" s lower "$lags"
    sb_record W2 "catch-up after load" s lower "$(sb_secs "$ms")"
    # shellcheck disable=SC2086
    sb_check $SB_PGBENCH_TABLES
}

sb_init w2
[ "${BENCH_NO_HEADER:-0}" = 1 ] || sb_header
log "W2 OLTP: pgbench TPC-B, scale $SB_PGBENCH_SCALE, $W2_CLIENTS clients, $W2_SECONDS s"
sb_main W2 w2
