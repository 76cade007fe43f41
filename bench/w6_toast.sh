#!/usr/bin/env bash
# W6 wide rows and TOAST: W6_ROWS rows (default 20,000; BENCH_SIZE=full: 100,000) with a
# W6_WIDTH-byte text column (default 4096, stored out of line: STORAGE EXTERNAL) inserted in
# transactions of 1,000 rows, then a small column of every row updated (1,000 rows per
# transaction); each phase written while the subscription is paused, then drained. Figures:
# rows/s applied in each drain, and the subscriber's WAL per updated row while draining the
# updates (an unchanged TOAST value that is re-sent or rewritten shows as kilobytes per row).
# Checks the table on both sides.
set -euo pipefail
source "$(dirname "$0")/systems.sh"
W6_ROWS=${W6_ROWS:-$(sb_size 20000 100000)}
W6_WIDTH=${W6_WIDTH:-4096}

w6_phase() { # FIGURE SQL: writes SQL while paused, drains, records the drain rate
    local t0 ms w0 w1
    sb_pause
    sb_sql $P "$2"
    sb_mark
    w0=$(sb_sql $S "SELECT pg_current_wal_insert_lsn()")
    sb_resume
    t0=$(now_ms)
    ms=$(sb_mark_wait "$t0")
    w1=$(sb_sql $S "SELECT pg_current_wal_insert_lsn() - '$w0'")
    sb_record W6 "$1 drain rate" rows/s higher "$(sb_rate "$W6_ROWS" "$ms")"
    W6_WAL=$w1
}

w6() {
    sb_both "CREATE TABLE w6 (id bigint PRIMARY KEY, n int NOT NULL, body text NOT NULL);
             ALTER TABLE w6 ALTER COLUMN body SET STORAGE EXTERNAL"
    sb_subscribe w6
    local reps=$(((W6_WIDTH + 31) / 32))
    w6_phase insert "DO \$\$ BEGIN
        FOR b IN 0..($W6_ROWS - 1) / 1000 LOOP
          INSERT INTO w6 SELECT g, 0, left(repeat(md5(g::text), $reps), $W6_WIDTH)
            FROM generate_series(b * 1000 + 1, least((b + 1) * 1000, $W6_ROWS)) g;
          COMMIT;
        END LOOP; END \$\$"
    w6_phase update "DO \$\$ BEGIN
        FOR b IN 0..($W6_ROWS - 1) / 1000 LOOP
          UPDATE w6 SET n = n + 1 WHERE id > b * 1000 AND id <= (b + 1) * 1000;
          COMMIT;
        END LOOP; END \$\$"
    sb_record W6 "update: subscriber WAL per row" bytes lower "$((W6_WAL / W6_ROWS))"
    sb_check w6
}

sb_init w6
[ "${BENCH_NO_HEADER:-0}" = 1 ] || sb_header
log "W6 TOAST: $W6_ROWS rows of $W6_WIDTH bytes, then an update of a small column of each"
sb_main W6 w6
