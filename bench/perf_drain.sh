#!/usr/bin/env bash
# Where the CPU of a backlog drain goes, process by process: run next to bench/w3_drain.sh and
# it waits until the provider (port PROV_PORT) has WAIT_ROWS (default 1000) pgbench_history rows
# and the subscriber (port SUB_PORT) runs its apply worker and, with
# spock.parallel_apply_workers > 1, its parallel apply processes, then records them and
# the provider's (port PROV_PORT) walsender with `perf record -g` for PERF_SECONDS, and prints
# each process's CPU time in that window (user + system from /proc/PID/stat) and the top
# symbols of each (self time). Nothing is started or stopped here.
#
#   BENCH_SYSTEMS=spock BENCH_PARALLEL=2 W3_XACTS=60000 BENCH_PGBENCH_SCALE=10 ROUNDS=1 \
#     BENCH_PORT_BASE=57900 PG_CONFIG=... bench/w3_drain.sh &
#   PROV_PORT=57900 SUB_PORT=57901 PG_CONFIG=... bench/perf_drain.sh
#
# OUT (default /tmp/spock-drain.perf) keeps the perf data; TOP (default 12) symbols per process.
set -euo pipefail
PROV_PORT=${PROV_PORT:-57900}
SUB_PORT=${SUB_PORT:-57901}
PERF_SECONDS=${PERF_SECONDS:-3}
OUT=${OUT:-/tmp/spock-drain.perf}
TOP=${TOP:-12}
BIN=$(dirname "$("${PG_CONFIG:-pg_config}" --bindir)/psql")
q() { "$BIN/psql" -h 127.0.0.1 -p "$1" -U "${PGUSER:-postgres}" -d postgres -XAtq -c "$2" 2>/dev/null || true; }
deadline=$((SECONDS + ${WAIT_SECONDS:-600}))
apply=
while [ $SECONDS -lt $deadline ]; do
    # Busy: the apply worker is reading a stream and (parallel) its processes are not idle.
    apply=$(q "$SUB_PORT" "SELECT string_agg(pid::text || ':' || replace(backend_type, ' ', '_'), ' ')
                           FROM pg_stat_activity
                           WHERE backend_type IN ('spock apply', 'spock parallel apply',
                                                  'logical replication worker', 'pglogical apply')
                             AND state IS DISTINCT FROM 'idle'")
    wal=$(q "$PROV_PORT" "SELECT string_agg(pid::text || ':walsender', ' ') FROM pg_stat_activity
                          WHERE backend_type = 'walsender'")
    # The load ran (the subscription is paused meanwhile), so this is the drain.
    loaded=$(q "$PROV_PORT" "SELECT count(*) >= ${WAIT_ROWS:-1000} FROM pgbench_history")
    [ "$loaded" = t ] && [ -n "$apply" ] && [ -n "$wal" ] && break
    sleep 0.2
done
[ -n "$apply" ] || { echo "no busy apply worker on port $SUB_PORT" >&2; exit 1; }
procs="$apply $wal"
pids=$(for p in $procs; do echo -n "${p%%:*},"; done)
pids=${pids%,}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
declare -A t0
for p in $procs; do t0[${p%%:*}]=$(ticks "${p%%:*}"); done
uptime
perf record -q -F 999 -g -p "$pids" -o "$OUT" -- sleep "$PERF_SECONDS" 2>/dev/null || true
hz=$(getconf CLK_TCK)
echo "CPU in the ${PERF_SECONDS} s window (ms):"
for p in $procs; do
    pid=${p%%:*}
    echo "  $pid ${p#*:}: $(( ($(ticks "$pid") - ${t0[$pid]}) * 1000 / hz ))"
done
for p in $procs; do
    pid=${p%%:*}
    echo "--- top symbols (self) of $pid ${p#*:}"
    perf report -i "$OUT" --pid "$pid" --no-children --sort sym -g none --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -n "$TOP"
done
