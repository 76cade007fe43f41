#!/usr/bin/env bash
# W1 bulk: one transaction inserting W1_ROWS rows (bigint key, int, ~40-character text) on the
# provider. Figure: apply rows/s from the provider's COMMIT to the moment the last row (and the
# marker row written in the same transaction) is visible on the subscriber. Checks that both
# sides hold the same rows. Sizes: W1_ROWS (default 200,000; BENCH_SIZE=full: 1,000,000).
set -euo pipefail
source "$(dirname "$0")/systems.sh"
W1_ROWS=${W1_ROWS:-$(sb_size 200000 1000000)}

w1() {
    sb_both "CREATE TABLE w1 (id bigint PRIMARY KEY, grp int NOT NULL, payload text NOT NULL)"
    sb_subscribe w1
    SB_MARK=$((SB_MARK + 1))
    sb_sql $P "BEGIN;
               INSERT INTO w1 SELECT g, g % 1000, md5(g::text) || '-' || g FROM generate_series(1, $W1_ROWS) g;
               UPDATE bench_mark SET v = $SB_MARK;
               COMMIT"
    local committed ms
    committed=$(now_ms)
    ms=$(sb_mark_wait "$committed")
    sb_record W1 "apply rate" rows/s higher "$(sb_rate "$W1_ROWS" "$ms")"
    sb_record W1 "apply time" s lower "$(sb_secs "$ms")"
    sb_check w1
}

sb_init w1
[ "${BENCH_NO_HEADER:-0}" = 1 ] || sb_header
log "W1 bulk: one transaction of $W1_ROWS rows"
sb_main W1 w1
