#!/usr/bin/env bash
# W3 backlog drain: the subscription paused (disabled) while W3_XACTS pgbench TPC-B-like
# transactions (default 20,000; BENCH_SIZE=full: 200,000) run on the provider from 8 clients,
# then resumed. Figures: transactions applied per second while draining (from resume until a
# marker committed after the load is visible: the apply ceiling), and the maximum sustainable
# TPS, transactions / (load time + drain time). Checks the pgbench tables on both sides.
# BENCH_PARALLEL="1 2 4" runs spock with 1, 2 and 4 apply processes (spock, spock-p2,
# spock-p4; spock.parallel_apply_workers) next to native and pglogical in the same run.
set -euo pipefail
source "$(dirname "$0")/systems.sh"
W3_XACTS=${W3_XACTS:-$(sb_size 20000 200000)}
W3_CLIENTS=${W3_CLIENTS:-8}

w3() {
    sb_pgbench_init
    # shellcheck disable=SC2086
    sb_subscribe $SB_PGBENCH_TABLES
    sb_pause
    local per=$((W3_XACTS / W3_CLIENTS)) n t0 load ms tps
    n=$((per * W3_CLIENTS))
    t0=$(now_ms)
    tps=$(sb_pgbench "$work/w3.out" -c "$W3_CLIENTS" -j 2 -t "$per")
    load=$(($(now_ms) - t0))
    sb_mark
    sb_resume
    t0=$(now_ms)
    ms=$(sb_mark_wait "$t0")
    # The apply processes started at the resume: their CPU time is the drain's.
    sb_record W3 "apply CPU (drain)" ms lower "$(sb_apply_cpu_ms)"
    sb_record W3 "provider TPS (load)" tx/s higher "$tps"
    sb_record W3 "drain rate" tx/s higher "$(sb_rate "$n" "$ms")"
    sb_record W3 "max sustainable TPS" tx/s higher "$(sb_rate "$n" $((load + ms)))"
    # shellcheck disable=SC2086
    sb_check $SB_PGBENCH_TABLES
}

sb_init w3
[ "${BENCH_NO_HEADER:-0}" = 1 ] || sb_header
log "W3 backlog drain: $W3_XACTS pgbench TPC-B transactions (scale $SB_PGBENCH_SCALE) while paused"
sb_main W3 w3
