#!/usr/bin/env bash
# W5 update-heavy: W5_UPDATES single-row UPDATEs by primary key (default 100,000;
# BENCH_SIZE=full: 1,000,000) in W5_XACTS transactions (default 1,000; full: 10,000) on a table
# of W5_ROWS rows (default 100,000; full: 1,000,000) that both sides hold, written while the
# subscription is paused; then resumed. Figure: updates applied per second while draining (the
# key lookup path). Checks the table on both sides.
set -euo pipefail
source "$(dirname "$0")/systems.sh"
W5_UPDATES=${W5_UPDATES:-$(sb_size 100000 1000000)}
W5_XACTS=${W5_XACTS:-$(sb_size 1000 10000)}
W5_ROWS=${W5_ROWS:-$(sb_size 100000 1000000)}

w5() {
    local per=$((W5_UPDATES / W5_XACTS)) t0 load ms n
    n=$((per * W5_XACTS))
    sb_both "CREATE TABLE w5 (id bigint PRIMARY KEY, v bigint NOT NULL, pad text NOT NULL);
             INSERT INTO w5 SELECT g, 0, md5(g::text) FROM generate_series(1, $W5_ROWS) g"
    sb_both "VACUUM ANALYZE w5"
    sb_subscribe w5
    sb_pause
    t0=$(now_ms)
    sb_sql $P "DO \$\$ DECLARE n bigint := 0; BEGIN
                 FOR x IN 1..$W5_XACTS LOOP
                   FOR y IN 1..$per LOOP
                     n := n + 1;
                     UPDATE w5 SET v = v + n WHERE id = 1 + (n * 7919) % $W5_ROWS;
                   END LOOP;
                   COMMIT;
                 END LOOP; END \$\$"
    load=$(($(now_ms) - t0))
    sb_mark
    sb_resume
    t0=$(now_ms)
    ms=$(sb_mark_wait "$t0")
    sb_record W5 "provider updates/s (load)" rows/s higher "$(sb_rate "$n" "$load")"
    sb_record W5 "drain rate" updates/s higher "$(sb_rate "$n" "$ms")"
    sb_check w5
}

sb_init w5
[ "${BENCH_NO_HEADER:-0}" = 1 ] || sb_header
log "W5 update-heavy: $W5_UPDATES updates by key in $W5_XACTS transactions on $W5_ROWS rows"
sb_main W5 w5
