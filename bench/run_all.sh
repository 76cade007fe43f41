#!/usr/bin/env bash
# The side-by-side benchmark: spock, PostgreSQL's native logical replication (publication /
# subscription) and pglogical (Debian's postgresql-15-pglogical), each on fresh provider /
# subscriber pairs of local instances with the same server settings, ROUNDS rounds (default 2)
# with the order of the systems rotated each round, over six workloads:
#   W1 bench/w1_bulk.sh    one transaction of many rows
#   W2 bench/w2_oltp.sh    pgbench TPC-B-like, 8 clients, live: TPS, lag, catch-up
#   W3 bench/w3_drain.sh   a pgbench TPC-B-like backlog drained: apply ceiling, sustainable TPS
#   W4 bench/w4_small.sh   many single-row transactions from 4 clients, live: lag, catch-up
#   W5 bench/w5_update.sh  single-row UPDATEs by key, drained
#   W6 bench/w6_toast.sh   wide TOASTed rows, then updates of a small column, drained
# and two spock-only workloads the peers have no counterpart for:
#   W7 bench/w7_exceptions.sh  backlogs whose transactions fail on the subscriber (Apply-Replay)
#   W8 bench/w8_add_node.sh    spock.add_node() of a fourth node under load (TAP t/061)
# After every workload each system's tables are compared (row counts and md5 digests on both
# sides); a difference, a crashed server or a subscriber that never catches up
# (BENCH_TIMEOUT, default 900 s) makes the run exit non-zero. No figure is ever judged.
#
#   bench/run_all.sh                       short sizes (under 30 minutes on 2 cores)
#   BENCH_SIZE=full ROUNDS=3 bench/run_all.sh    the sizes of the issue (1,000,000 rows, ...)
#   BENCH_WORKLOADS="w1 w4" W1_ROWS=20000 W4_XACTS=2000 ROUNDS=1 bench/run_all.sh
#
# Other settings: BENCH_SYSTEMS (default "spock native pglogical"), BENCH_PORT_BASE (default
# 5501; two ports), BENCH_OUT (output directory; default a new /tmp/spock-bench-results.*),
# BENCH_EXTRA_CONF (more postgresql.conf lines for every instance), BENCH_PGBENCH_SCALE,
# BENCH_KEEP=1 (keep work directories), BENCH_PARALLEL (e.g. "1 2 4": spock once per number of
# parallel apply processes, as systems spock, spock-p2, spock-p4; the spock-only workloads W7
# and W8 too), and each workload's own sizes (see its header).
# Prints the settings, cores and memory, then one table per workload and all of them at the
# end: median (min-max) per figure and system, and spock / best peer. Writes results.csv (every
# measurement), summary.csv and results.md into BENCH_OUT. PG_CONFIG selects the PostgreSQL
# installation (spock must be installed into it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/systems.sh"

workloads=${BENCH_WORKLOADS:-w1 w2 w3 w4 w5 w6 w7 w8}
BENCH_OUT=${BENCH_OUT:-$(mktemp -d /tmp/spock-bench-results.XXXXXX)}
mkdir -p "$BENCH_OUT"
export BENCH_OUT BENCH_NO_HEADER=1 ROUNDS
bindir=$(pg_bindir)
start=$(date +%s)
sb_header | tee "$BENCH_OUT/header.txt"
echo "sizes: W1_ROWS=${W1_ROWS:-default} W2_SECONDS=${W2_SECONDS:-default} W3_XACTS=${W3_XACTS:-default}" \
    "W4_XACTS=${W4_XACTS:-default} W5_UPDATES=${W5_UPDATES:-default} W6_ROWS=${W6_ROWS:-default}" \
    "(defaults: see each script; BENCH_SIZE=${BENCH_SIZE:-short})" | tee -a "$BENCH_OUT/header.txt"

failed=()
for w in $workloads; do
    script=$(ls "$here/${w}"_*.sh 2>/dev/null | head -1)
    [ -n "$script" ] || die "no workload script for $w"
    if ! "$script"; then failed+=("$w"); fi
done

echo
cat "$BENCH_OUT/header.txt"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); took $(($(date +%s) - start)) s"
sb_report
for f in w7_exceptions.txt w8_add_node.txt; do
    if [ -f "$BENCH_OUT/$f" ]; then
        echo
        echo "== $f (spock only)"
        cat "$BENCH_OUT/$f"
    fi
done
echo
echo "CSV: $BENCH_OUT/results.csv (every measurement), $BENCH_OUT/summary.csv; Markdown: $BENCH_OUT/results.md"
echo "spock / best peer: spock's median over the best other system's median; for 'higher better'"
echo "figures above 1 means spock leads, for 'lower better' figures below 1 means spock leads."
if [ "${#failed[@]}" -gt 0 ]; then
    printf '\n*** CORRECTNESS FAILED in: %s (see %s/failures.txt and logs/) ***\n' "${failed[*]}" "$BENCH_OUT" >&2
    exit 1
fi
echo "all correctness checks passed (row counts and md5 digests equal on both sides, every system, every round)"
