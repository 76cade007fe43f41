#!/usr/bin/env bash
# W4 many small transactions: W4_XACTS single-row INSERT transactions (default 20,000;
# BENCH_SIZE=full: 100,000) from W4_CLIENTS clients (default 4), the subscription live.
# Figures: provider TPS, the largest lag while the load ran (bytes, seconds; sampled each
# second), the catch-up time after the load. Checks the table on both sides.
set -euo pipefail
source "$(dirname "$0")/systems.sh"
W4_XACTS=${W4_XACTS:-$(sb_size 20000 100000)}
W4_CLIENTS=${W4_CLIENTS:-4}

w4() {
    sb_both "CREATE TABLE w4 (id bigserial PRIMARY KEY, client int NOT NULL, at timestamptz NOT NULL)"
    sb_subscribe w4
    local f tps lagb lags ms
    f=$(sb_file w4.sql "INSERT INTO w4 (client, at) VALUES (:client_id, now());")
    sb_lag_start
    tps=$(sb_pgbench "$work/w4.out" -c "$W4_CLIENTS" -j 2 -t $((W4_XACTS / W4_CLIENTS)) -f "$f")
    read -r lagb lags < <(sb_lag_stop)
    sb_mark
    ms=$(sb_mark_wait)
    sb_record W4 "provider TPS" tx/s higher "$tps"
    sb_record W4 "max lag bytes" MB lower "$(awk -v b="$lagb" 'BEGIN { printf "%.2f", b / 1048576 }')"
    sb_record W4 "max lag time" s lower "$lags"
    sb_record W4 "catch-up after load" s lower "$(sb_secs "$ms")"
    sb_check w4
}

sb_init w4
[ "${BENCH_NO_HEADER:-0}" = 1 ] || sb_header
log "W4 small transactions: $W4_XACTS single-row inserts from $W4_CLIENTS clients"
sb_main W4 w4
