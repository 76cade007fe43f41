#!/usr/bin/env bash
# W7 exceptions (spock only): the exception-replay benchmark (bench/exception_replay.sh) at the
# suite's sizes. Native logical replication and pglogical have no counterpart: on the first
# transaction that fails on the subscriber they stop (native retries the same transaction until
# someone intervenes), so there is no figure of theirs to put next to these. The table gives,
# per case, the drain rate of a backlog whose transactions fail on the subscriber next to the
# same backlog when nothing fails (a, b), and of one large transaction replayed from its spill
# file (c); the ratio failing / not failing is the cost of Apply-Replay.
#   Sizes: EXC_XACTS (default 2,000; BENCH_SIZE=full 10,000), EXC_BIG_ROWS (default 50,000;
#   full 200,000). Ports: EXC_PORT_BASE (default BENCH_PORT_BASE + 20).
# Exits non-zero only when a subscriber ends with other rows or counters than the behaviour
# promises (the correctness checks of exception_replay.sh); never on a time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
full=0
[ "${BENCH_SIZE:-short}" = full ] && full=1
export EXC_XACTS=${EXC_XACTS:-$([ $full = 1 ] && echo 10000 || echo 2000)}
export EXC_BIG_ROWS=${EXC_BIG_ROWS:-$([ $full = 1 ] && echo 200000 || echo 50000)}
export EXC_PORT_BASE=${EXC_PORT_BASE:-$((${BENCH_PORT_BASE:-5501} + 20))}
out=${BENCH_OUT:-$(mktemp -d /tmp/spock-bench-results.XXXXXX)}
mkdir -p "$out"
echo "W7 exceptions (spock only): EXC_XACTS=$EXC_XACTS EXC_BIG_ROWS=$EXC_BIG_ROWS" >&2
"$here/exception_replay.sh" | tee "$out/w7_exceptions.txt"
